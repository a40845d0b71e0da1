//! Architecture invariants from ARCHITECTURE.md, checked over the source tree.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn offenders(pred: impl Fn(&Path, &str) -> bool) -> Vec<String> {
    rust_files(&src())
        .into_iter()
        .filter(|p| pred(p, &std::fs::read_to_string(p).unwrap()))
        .map(|p| p.strip_prefix(src()).unwrap().display().to_string())
        .collect()
}

#[test]
fn only_slack_knows_slack_morphism_and_tungstenite() {
    let bad = offenders(|path, text| {
        !path.starts_with(src().join("slack"))
            && (text.contains("slack_morphism") || text.contains("tokio_tungstenite"))
    });
    assert!(bad.is_empty(), "outside src/slack: {bad:?}");
}

#[test]
fn handlers_never_touch_raw_json_or_spawn() {
    let handler_dirs = ["commands", "actions", "router.rs"];
    let bad = offenders(|path, text| {
        handler_dirs.iter().any(|d| path.starts_with(src().join(d)))
            && (text.contains("serde_json::Value") || text.contains("tokio::spawn"))
    });
    assert!(
        bad.is_empty(),
        "handlers with raw JSON or tokio::spawn: {bad:?}"
    );
}

#[test]
fn every_module_has_a_doc_line_and_stays_short() {
    let undocumented = offenders(|_, text| !text.trim_start().starts_with("//!"));
    assert!(undocumented.is_empty(), "no //! doc line: {undocumented:?}");
    let long = offenders(|_, text| text.lines().count() > 500);
    assert!(long.is_empty(), "over 500 lines: {long:?}");
}

#[test]
fn the_router_has_no_catch_all() {
    let router = std::fs::read_to_string(src().join("router.rs")).unwrap();
    assert!(
        !router.contains("_ =>"),
        "the router's match must stay exhaustive"
    );
}
