//! Outbound proxies: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, read once with the configuration.
//!
//! Each variable may be upper or lower case (upper wins when both are set). `HTTPS_PROXY` is
//! the proxy for `https://` and `wss://` targets (Slack, AWS), `HTTP_PROXY` for `http://` and
//! `ws://` ones, and `ALL_PROXY` stands in for whichever of the two is unset. A proxy is
//! `http://[user:password@]host[:port]` (a missing scheme means `http://`, a missing port 80);
//! secure targets go through a `CONNECT` tunnel, so TLS runs end to end. `NO_PROXY` (see
//! [`NoProxy`]) names the hosts reached directly; link-local addresses (the instance metadata
//! service 169.254.169.254 and fd00:ec2::254, ECS's 169.254.170.2) are always reached directly.
//! The password never appears in `Debug`, `Display`, logs or problems. `SSL_CERT_FILE`, which
//! the bot's TLS reads as its whole trust store (an inspecting proxy's CA with the public ones),
//! is kept too, so the AWS CLI it runs trusts the same certificates.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use super::errors::ConfigProblem;
use super::no_proxy::NoProxy;

const HTTPS_VARIABLES: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const HTTP_VARIABLES: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const ALL_VARIABLES: [&str; 2] = ["ALL_PROXY", "all_proxy"];
const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];
const CA_BUNDLE_VARIABLE: &str = "SSL_CERT_FILE";
/// The instance metadata service's IPv6 address, fd00:ec2::254.
const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// The outbound proxies. `Default` is none: every connection is direct.
#[derive(Clone, Debug, Default)]
pub struct ProxySettings {
    https: Option<ProxyServer>,
    http: Option<ProxyServer>,
    no_proxy: NoProxy,
    /// `SSL_CERT_FILE`: the certificates every TLS connection is verified against.
    ca_bundle: Option<PathBuf>,
}

/// One HTTP proxy server.
#[derive(Clone)]
pub struct ProxyServer {
    /// A name or an IP address, IPv6 without brackets.
    host: String,
    port: u16,
    credentials: Option<Credentials>,
    /// The variable it came from, for log lines.
    variable: &'static str,
}

#[derive(Clone)]
struct Credentials {
    user: String,
    password: SecretString,
}

/// How one target is reached.
#[derive(Clone, Copy, Debug)]
pub enum Route<'a> {
    Proxy(&'a ProxyServer),
    Direct(Direct),
}

/// Why a target is reached directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direct {
    /// No proxy is set for its scheme.
    NoProxySet,
    /// `NO_PROXY` names it.
    Exempt,
    /// A link-local address (the instance metadata service), never proxied.
    LinkLocal,
}

impl ProxySettings {
    /// Reads the proxy variables from `env`; every unreadable one is a problem keyed by its name.
    pub fn from_env_vars<'a>(
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let env: Vec<(&str, &str)> = env
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .collect();
        let first = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                env.iter()
                    .find(|(var, _)| *var == name)
                    .map(|(_, value)| (name, *value))
            })
        };
        let mut problems = Vec::new();
        let mut server = |names| {
            let (variable, raw) = first(names).or_else(|| first(ALL_VARIABLES))?;
            match ProxyServer::parse(variable, raw) {
                Ok(server) => Some(server),
                Err(message) => {
                    problems.push(ConfigProblem::new(variable, message));
                    None
                }
            }
        };
        let https = server(HTTPS_VARIABLES);
        let http = server(HTTP_VARIABLES);
        let no_proxy = match first(NO_PROXY_VARIABLES) {
            None => NoProxy::default(),
            Some((variable, raw)) => NoProxy::parse(raw).unwrap_or_else(|message| {
                problems.push(ConfigProblem::new(variable, message));
                NoProxy::default()
            }),
        };
        let ca_bundle = env
            .iter()
            .find(|(var, _)| *var == CA_BUNDLE_VARIABLE)
            .map(|(_, value)| PathBuf::from(value));
        if let Some(path) = &ca_bundle {
            if !path.is_file() {
                problems.push(ConfigProblem::new(
                    CA_BUNDLE_VARIABLE,
                    format!(
                        "{} is not a readable file: it must name a PEM bundle of every CA the \
                         bot should trust (an inspecting proxy's with the public ones)",
                        path.display()
                    ),
                ));
            }
        }
        if problems.is_empty() {
            Ok(Self {
                https,
                http,
                no_proxy,
                ca_bundle,
            })
        } else {
            Err(problems)
        }
    }

    /// No proxy at all.
    pub fn is_off(&self) -> bool {
        self.https.is_none() && self.http.is_none()
    }

    /// The proxy for `https://` and `wss://` targets.
    pub fn https_proxy(&self) -> Option<&ProxyServer> {
        self.https.as_ref()
    }

    /// The proxy for `http://` and `ws://` targets.
    pub fn http_proxy(&self) -> Option<&ProxyServer> {
        self.http.as_ref()
    }

    /// `SSL_CERT_FILE`, when set: the bundle TLS connections are verified against.
    pub fn ca_bundle(&self) -> Option<&std::path::Path> {
        self.ca_bundle.as_deref()
    }

    /// `NO_PROXY`, as read.
    pub fn no_proxy(&self) -> &NoProxy {
        &self.no_proxy
    }

    /// The proxy `url` goes through, or `None` when it is reached directly.
    pub fn for_url(&self, url: &Url) -> Option<&ProxyServer> {
        match self.route(url) {
            Route::Proxy(server) => Some(server),
            Route::Direct(_) => None,
        }
    }

    /// How `url` is reached: through which proxy, or directly and why.
    pub fn route(&self, url: &Url) -> Route<'_> {
        let server = match url.scheme() {
            "https" | "wss" => self.https.as_ref(),
            _ => self.http.as_ref(),
        };
        let Some(server) = server else {
            return Route::Direct(Direct::NoProxySet);
        };
        let port = url.port_or_known_default().unwrap_or(80);
        match url.host() {
            Some(Host::Ipv4(ip)) if is_link_local(ip.into()) => Route::Direct(Direct::LinkLocal),
            Some(Host::Ipv6(ip)) if is_link_local(ip.into()) => Route::Direct(Direct::LinkLocal),
            Some(Host::Domain(name)) if self.no_proxy.matches(name, port) => {
                Route::Direct(Direct::Exempt)
            }
            Some(Host::Ipv4(ip)) if self.no_proxy.matches(&ip.to_string(), port) => {
                Route::Direct(Direct::Exempt)
            }
            Some(Host::Ipv6(ip)) if self.no_proxy.matches(&ip.to_string(), port) => {
                Route::Direct(Direct::Exempt)
            }
            _ => Route::Proxy(server),
        }
    }
}

/// 169.254.0.0/16, fe80::/10 and EC2's fd00:ec2::254: instance metadata and ECS credentials.
fn is_link_local(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80 || v6 == EC2_METADATA_V6,
    }
}

impl ProxyServer {
    /// Parses one proxy variable's value; the message never quotes credentials.
    fn parse(variable: &'static str, raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let with_scheme = if raw.contains("://") {
            raw.to_owned()
        } else {
            format!("http://{raw}")
        };
        let shown = without_credentials(&with_scheme);
        let url = Url::parse(&with_scheme)
            .map_err(|error| format!("not a proxy URL ({error}): {shown}"))?;
        match url.scheme() {
            "http" => {}
            "https" => {
                return Err(format!(
                    "{shown}: a proxy reached over TLS is not supported; use http://host:port \
                     (traffic to Slack and AWS stays TLS inside the tunnel)"
                ))
            }
            other => {
                return Err(format!(
                    "{shown}: {other}:// proxies are not supported; use http://host:port"
                ))
            }
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{shown}: must be http://host:port, without a path"));
        }
        let host = match url.host() {
            Some(Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(format!("{shown}: names no host")),
        };
        let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
        let credentials =
            (!url.username().is_empty() || url.password().is_some()).then(|| Credentials {
                user: decode(url.username()),
                password: SecretString::from(decode(url.password().unwrap_or_default())),
            });
        Ok(Self {
            host,
            port: url.port_or_known_default().unwrap_or(80),
            credentials,
            variable,
        })
    }

    /// The host: a name or an IP address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` (`[v6]:port`).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The variable it was read from, such as `HTTPS_PROXY`.
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// The user and password for `Proxy-Authorization: Basic`, when the URL had them.
    pub fn credentials(&self) -> Option<(&str, &SecretString)> {
        self.credentials
            .as_ref()
            .map(|credentials| (credentials.user.as_str(), &credentials.password))
    }

    /// `http://user:password@host:port`, percent-encoded, for clients that take a proxy URL.
    /// It holds the password: never log it.
    pub fn url_with_credentials(&self) -> Url {
        let mut url = self.url();
        if let Some(credentials) = &self.credentials {
            let _ = url.set_username(&credentials.user);
            let _ = url.set_password(Some(credentials.password.expose_secret()));
        }
        url
    }

    /// `http://host:port`, without credentials.
    pub fn url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.authority()))
            .expect("a host and port read from a URL make a URL")
    }
}

impl fmt::Display for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.authority())?;
        if self.credentials.is_some() {
            f.write_str(" (with credentials)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} from {}", self.variable)
    }
}

/// `scheme://user:password@host…` as `scheme://***@host…`.
fn without_credentials(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    match raw[start..].rfind('@') {
        Some(at) => format!("{}***@{}", &raw[..start], &raw[start + at + 1..]),
        None => raw.to_owned(),
    }
}
