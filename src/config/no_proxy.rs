//! `NO_PROXY`: the hosts reached directly though a proxy is set (curl's rules, plus optional ports).
//!
//! Entries are separated by commas or spaces. `*` alone exempts everything. `example.com`,
//! `.example.com` and `*.example.com` all mean that name and every name under it. An IP address
//! matches only that address written as the host (no name is resolved), `10.0.0.0/8` any address
//! in the network, and `[::1]` or `::1` an IPv6 address. `host:port` (and `[v6]:port`) limits an
//! entry to one port. Names compare without case and without a trailing dot.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A parsed `NO_PROXY` list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    /// `*`: every host is reached directly.
    everything: bool,
    rules: Vec<Rule>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    host: HostRule,
    /// `None`: any port.
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostRule {
    /// A name and every name under it: lower case, without leading or trailing dots.
    Domain(String),
    Address(IpAddr),
    Network {
        base: IpAddr,
        prefix: u8,
    },
}

impl NoProxy {
    /// Parses a `NO_PROXY` value. The error names every entry that could not be read.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut parsed = Self::default();
        let mut unreadable = Vec::new();
        for entry in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
        {
            if entry == "*" {
                parsed.everything = true;
                continue;
            }
            match parse_entry(entry) {
                Some(rule) => parsed.rules.push(rule),
                None => unreadable.push(format!("{entry:?}")),
            }
        }
        if unreadable.is_empty() {
            Ok(parsed)
        } else {
            Err(format!(
                "cannot read {}: each entry is a host name or domain (example.com, \
                 .example.com), an IP address, a network (10.0.0.0/8) or *, optionally \
                 with :port",
                unreadable.join(", ")
            ))
        }
    }

    /// No entries at all.
    pub fn is_empty(&self) -> bool {
        !self.everything && self.rules.is_empty()
    }

    /// The list written back as a `NO_PROXY` value (for a child process such as the AWS CLI):
    /// `*`, names, addresses, `base/prefix` networks, each with its `:port` when it had one.
    pub fn to_env_value(&self) -> String {
        if self.everything {
            return "*".to_owned();
        }
        let entries: Vec<String> = self
            .rules
            .iter()
            .map(|rule| {
                let host = match &rule.host {
                    HostRule::Domain(name) => name.clone(),
                    HostRule::Address(IpAddr::V6(v6)) if rule.port.is_some() => format!("[{v6}]"),
                    HostRule::Address(address) => address.to_string(),
                    HostRule::Network { base, prefix } => format!("{base}/{prefix}"),
                };
                match rule.port {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            })
            .collect();
        entries.join(",")
    }

    /// Whether `host` (a name, or an IP address, IPv6 with or without brackets) on `port` is
    /// to be reached directly.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.everything {
            return true;
        }
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let address = host.parse::<IpAddr>().ok();
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        self.rules.iter().any(|rule| {
            rule.port.is_none_or(|p| p == port)
                && match (&rule.host, address) {
                    (HostRule::Domain(domain), None) => is_within(&name, domain),
                    (HostRule::Address(rule), Some(address)) => *rule == address,
                    (HostRule::Network { base, prefix }, Some(address)) => {
                        in_network(address, *base, *prefix)
                    }
                    _ => false,
                }
        })
    }
}

/// `name` is `domain` or a name under it.
fn is_within(name: &str, domain: &str) -> bool {
    name == domain
        || name
            .strip_suffix(domain)
            .is_some_and(|head| head.ends_with('.'))
}

fn in_network(address: IpAddr, base: IpAddr, prefix: u8) -> bool {
    match (address, base) {
        (IpAddr::V4(address), IpAddr::V4(base)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(address) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(address), IpAddr::V6(base)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(address) & mask == u128::from(base) & mask
        }
        _ => false,
    }
}

fn parse_entry(entry: &str) -> Option<Rule> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let address: Ipv6Addr = address.parse().ok()?;
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':')?.parse().ok()?),
        };
        return Some(Rule {
            host: HostRule::Address(address.into()),
            port,
        });
    }
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(Rule {
            host: HostRule::Address(address),
            port: None,
        });
    }
    if let Some((base, prefix)) = entry.split_once('/') {
        let base: IpAddr = base.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let longest = if base.is_ipv4() { 32 } else { 128 };
        return (prefix <= longest).then_some(Rule {
            host: HostRule::Network { base, prefix },
            port: None,
        });
    }
    let (name, port) = match entry.rsplit_once(':') {
        Some((name, port)) => (name, Some(port.parse::<u16>().ok()?)),
        None => (entry, None),
    };
    if let Ok(address) = name.parse::<Ipv4Addr>() {
        return Some(Rule {
            host: HostRule::Address(address.into()),
            port,
        });
    }
    let name = name
        .strip_prefix("*.")
        .or_else(|| name.strip_prefix('.'))
        .unwrap_or(name)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let readable = !name.is_empty() && name.split('.').all(is_label);
    readable.then_some(Rule {
        host: HostRule::Domain(name),
        port,
    })
}

fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
