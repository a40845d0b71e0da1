//! Outbound connections: every client the bot builds reaches the outside through here, honouring `Config::proxy`.
//!
//! The proxy settings are read once, with the configuration (`config::ProxySettings`), and
//! every client builder takes them: [`reqwest_builder`] for reqwest (`apps.connections.open`,
//! `response_url`, Confluence, GitHub), [`connector::ProxyConnector`] under slack-morphism's
//! hyper client (the Web API), [`tunnel::dial`] for the Socket Mode WebSocket, and
//! [`aws::http_client`] for every AWS SDK client and the credential providers. They all decide
//! with `ProxySettings::for_url`, so `NO_PROXY` means the same everywhere.

pub mod aws;
pub mod connector;
pub mod tunnel;

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::info;
use url::Url;

use crate::config::{AwsService, Config, Direct, ProxySettings, Route};

/// A reqwest client builder that sends every request the way `proxy` says (its own reading of
/// the proxy variables is replaced, so no client reads the environment again). Never call
/// `.no_proxy()` on it: that would send everything direct.
pub fn reqwest_builder(proxy: &ProxySettings) -> reqwest::ClientBuilder {
    let proxy = Arc::new(proxy.clone());
    let choose = move |url: &Url| {
        proxy
            .for_url(url)
            .map(|server| server.url_with_credentials())
    };
    reqwest::Client::builder().proxy(reqwest::Proxy::custom(choose))
}

/// The proxy variables for a child process that goes out on its own (the AWS CLI), so it takes
/// the same route as the bot's clients: `HTTPS_PROXY`/`HTTP_PROXY` (with their credentials:
/// never log the values) and `NO_PROXY` with the link-local addresses the bot always reaches
/// directly; and with `SSL_CERT_FILE` set, the same trust: `AWS_CA_BUNDLE` (what the CLI reads)
/// and `SSL_CERT_FILE` naming that bundle. Empty when neither is set.
pub fn child_process_env(proxy: &ProxySettings) -> Vec<(&'static str, secrecy::SecretString)> {
    let mut env = Vec::new();
    if let Some(server) = proxy.https_proxy() {
        env.push((
            "HTTPS_PROXY",
            server.url_with_credentials().to_string().into(),
        ));
    }
    if let Some(server) = proxy.http_proxy() {
        env.push((
            "HTTP_PROXY",
            server.url_with_credentials().to_string().into(),
        ));
    }
    if !env.is_empty() {
        let mut no_proxy = proxy.no_proxy().to_env_value();
        if no_proxy != "*" {
            let always_direct = "169.254.169.254,169.254.170.2,fd00:ec2::254";
            no_proxy = if no_proxy.is_empty() {
                always_direct.to_owned()
            } else {
                format!("{no_proxy},{always_direct}")
            };
        }
        env.push(("NO_PROXY", no_proxy.into()));
    }
    if let Some(bundle) = proxy.ca_bundle() {
        let bundle = bundle.display().to_string();
        env.push(("AWS_CA_BUNDLE", bundle.clone().into()));
        env.push(("SSL_CERT_FILE", bundle.into()));
    }
    env
}

/// Logs, once at start-up, which proxy each outside system is reached through (or that it is
/// reached directly, and why). Credentials are never shown.
pub fn log_routes(config: &Config) {
    let proxy = &config.proxy;
    if proxy.is_off() {
        info!("No outbound proxy (HTTPS_PROXY, HTTP_PROXY and ALL_PROXY are unset): every connection is direct.");
        return;
    }
    let mut routes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (what, url) in targets(config) {
        let route = match proxy.route(&url) {
            Route::Proxy(server) => format!("proxy {server} from {}", server.variable()),
            Route::Direct(Direct::Exempt) => "direct (NO_PROXY)".to_owned(),
            Route::Direct(Direct::LinkLocal) => "direct (link-local)".to_owned(),
            Route::Direct(Direct::NoProxySet) => {
                format!("direct (no proxy set for {}://)", url.scheme())
            }
        };
        let target = format!(
            "{what} ({}:{})",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        routes.entry(route).or_default().push(target);
    }
    for (route, targets) in routes {
        info!(route = %route, targets = %targets.join(", "), "Outbound connections.");
    }
}

/// What the bot connects to with this configuration, named for the log.
pub fn targets(config: &Config) -> Vec<(&'static str, Url)> {
    let api = &config.slack.api_url;
    let mut targets = vec![("Slack Web API", api.clone())];
    targets.extend(socket_mode_url(api).map(|url| ("Slack Socket Mode", url)));
    if config.alarms.queue_url.is_some() {
        targets.extend(
            config
                .aws
                .effective_endpoint(AwsService::Sqs)
                .map(|url| ("SQS", url)),
        );
    }
    if let Some(bedrock) = &config.bedrock {
        let url = bedrock.endpoint_url.clone().or_else(|| {
            let label = bedrock.backend.service().endpoint_label();
            Url::parse(&format!(
                "https://{label}.{}.amazonaws.com/",
                bedrock.region
            ))
            .ok()
        });
        targets.extend(url.map(|url| ("Bedrock", url)));
    }
    if let Some(confluence) = &config.confluence {
        targets.push(("Confluence", confluence.base_url.clone()));
    }
    if let (Some(_), Some(github)) = (&config.deploy, &config.github) {
        targets.push(("GitHub", github.api_url.clone()));
    }
    targets
}

/// Where Socket Mode connects, as far as it is known before `apps.connections.open` answers:
/// Slack's `wss-primary.slack.com`, or the Web API's host with the WebSocket scheme.
fn socket_mode_url(api: &Url) -> Option<Url> {
    let scheme = if api.scheme() == "https" { "wss" } else { "ws" };
    let host = match api.host_str()? {
        "slack.com" => "wss-primary.slack.com",
        other => other,
    };
    Url::parse(&format!("{scheme}://{host}/")).ok()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        let proxy = ProxySettings::from_env_vars(vars.iter().copied()).unwrap();
        child_process_env(&proxy)
            .into_iter()
            .map(|(name, value)| (name, value.expose_secret().to_owned()))
            .collect()
    }

    #[test]
    fn a_child_process_goes_out_the_bots_way() {
        assert!(env_of(&[]).is_empty(), "no proxy, no variables");
        let env = env_of(&[
            ("HTTPS_PROXY", "http://user:p%40ss@proxy.internal:3128"),
            ("no_proxy", ".example.com, 10.0.0.0/8,[::1]:8443"),
        ]);
        assert_eq!(
            env,
            [
                (
                    "HTTPS_PROXY",
                    "http://user:p%40ss@proxy.internal:3128/".to_owned()
                ),
                (
                    "NO_PROXY",
                    "example.com,10.0.0.0/8,[::1]:8443,169.254.169.254,169.254.170.2,fd00:ec2::254"
                        .to_owned()
                ),
            ]
        );
        let env = env_of(&[("ALL_PROXY", "proxy:8080"), ("NO_PROXY", "*")]);
        assert_eq!(
            env,
            [
                ("HTTPS_PROXY", "http://proxy:8080/".to_owned()),
                ("HTTP_PROXY", "http://proxy:8080/".to_owned()),
                ("NO_PROXY", "*".to_owned()),
            ]
        );
    }

    #[test]
    fn a_child_process_trusts_what_the_bot_trusts() {
        let bundle = tempfile::NamedTempFile::new().unwrap();
        let path = bundle.path().display().to_string();
        let env = env_of(&[("SSL_CERT_FILE", path.as_str())]);
        assert_eq!(
            env,
            [("AWS_CA_BUNDLE", path.clone()), ("SSL_CERT_FILE", path)],
            "without a proxy too"
        );
        let missing = ProxySettings::from_env_vars([("SSL_CERT_FILE", "/nonexistent/ca.pem")])
            .expect_err("a bundle that is not there");
        assert_eq!(missing.len(), 1);
        let shown = missing[0].to_string();
        assert!(
            shown.contains("SSL_CERT_FILE") && shown.contains("/nonexistent/ca.pem"),
            "{shown}"
        );
    }
}
