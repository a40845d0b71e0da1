//! A strict reader of OpenMetrics text, and a bare HTTP/1.1 GET over loopback: what a scraper sees.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One answer: status, headers (lower-case names) and body.
pub struct Answer {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// `GET path` with `Connection: close`, read to the end (bounded).
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        String::from_utf8(raw).unwrap()
    };
    let text = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path} took over 5s"));
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Every sample of an OpenMetrics text, by series (`name{labels}` as written). Panics on any
/// line that is not `# HELP`, `# TYPE`, `# UNIT`, a sample of a declared family, or the final
/// `# EOF`.
pub fn parse(text: &str) -> BTreeMap<String, f64> {
    assert!(text.ends_with("# EOF\n"), "no final # EOF:\n{text}");
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if *line == "# EOF" {
            assert_eq!(i, lines.len() - 1, "# EOF before the end");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (keyword, name) = (words.next().unwrap(), words.next().unwrap_or(""));
            assert!(is_name(name), "bad family name in {line:?}");
            match keyword {
                "TYPE" => {
                    let kind = words.next().unwrap_or("");
                    assert!(
                        ["counter", "gauge", "histogram", "info", "unknown"].contains(&kind),
                        "{line:?}"
                    );
                    families.insert(name.to_owned(), kind.to_owned());
                }
                "HELP" | "UNIT" => assert!(words.next().is_some_and(|w| !w.is_empty()), "{line:?}"),
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            number => number
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(is_name(name), "bad metric name in {line:?}");
        if let Some(labels) = series.strip_prefix(name) {
            check_labels(labels, line);
        }
        let family = ["_total", "_bucket", "_count", "_sum", "_created", ""]
            .iter()
            .find_map(|suffix| families.get_key_value(name.strip_suffix(suffix)?))
            .unwrap_or_else(|| panic!("{line:?} belongs to no declared family"));
        assert!(
            family.1 != "counter" || name.ends_with("_total") || name.ends_with("_created"),
            "a counter sample without _total: {line:?}"
        );
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "{series} twice"
        );
    }
    samples
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `{a="x",b="y"}` (or nothing).
fn check_labels(labels: &str, line: &str) {
    if labels.is_empty() {
        return;
    }
    let inner = labels
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("bad labels in {line:?}"));
    for pair in inner.split("\",").map(|p| p.trim_end_matches('"')) {
        let (key, value) = pair
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad label {pair:?} in {line:?}"));
        assert!(is_name(key), "bad label name {key:?} in {line:?}");
        assert!(!value.contains('"') && !value.contains('\n'), "{line:?}");
    }
}

/// The sum of every sample of `name` whose labels contain each of `labels` (`key="value"`).
pub fn total(samples: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            series.split('{').next() == Some(name) && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, value)| value)
        .sum()
}
