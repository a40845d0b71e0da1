//! The AWS SDK's HTTP client: each request through the proxy `ProxySettings` picks for its URL, or direct.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{tls, Connector};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tracing::warn;
use url::Url;

use crate::config::{ProxyServer, ProxySettings};

/// An `aws_config` loader for `region` whose every client, the credential providers' included,
/// uses [`http_client`]. The SDK then never reads the proxy variables itself.
pub fn aws_config_loader(region: &str, proxy: &ProxySettings) -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .http_client(http_client(proxy))
}

/// The SDK's own hyper/rustls client, one connection pool per route: direct, through the
/// HTTPS proxy, through the HTTP proxy. The route is chosen per request from its URL with the
/// same rules as every other client (`ProxySettings::for_url`: `NO_PROXY`, link-local direct).
pub fn http_client(proxy: &ProxySettings) -> SharedHttpClient {
    SharedHttpClient::new(RoutingClient {
        proxy: Arc::new(proxy.clone()),
        connectors: Mutex::new(HashMap::new()),
    })
}

/// Connectors are built per (connect timeout, read timeout), as the SDK's own client does.
type SettingsKey = (Option<Duration>, Option<Duration>);

#[derive(Debug)]
struct RoutingClient {
    proxy: Arc<ProxySettings>,
    connectors: Mutex<HashMap<SettingsKey, SharedHttpConnector>>,
}

impl HttpClient for RoutingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        connectors
            .entry(key)
            .or_insert_with(|| {
                let build = |server: Option<&ProxyServer>| connector(settings, components, server);
                if self.proxy.is_off() {
                    return build(None);
                }
                SharedHttpConnector::new(RoutingConnector {
                    proxy: self.proxy.clone(),
                    direct: build(None),
                    via_https: self.proxy.https_proxy().map(|s| build(Some(s))),
                    via_http: self.proxy.http_proxy().map(|s| build(Some(s))),
                })
            })
            .clone()
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("hyper", Some(Cow::Borrowed("1.x"))))
    }
}

/// The SDK's connector (rustls with aws-lc, as its default client), direct or through `server`.
fn connector(
    settings: &HttpConnectorSettings,
    components: &RuntimeComponents,
    server: Option<&ProxyServer>,
) -> SharedHttpConnector {
    let proxy_config = match server {
        None => ProxyConfig::disabled(),
        Some(server) => ProxyConfig::all(server.url_with_credentials().as_str()).unwrap_or_else(
            |error| {
                // Cannot happen: the URL was parsed from a valid proxy variable.
                warn!(proxy = %server, error = %error, "AWS clients cannot use the proxy; going direct.");
                ProxyConfig::disabled()
            },
        ),
    };
    let mut builder = Connector::builder()
        .connector_settings(settings.clone())
        .proxy_config(proxy_config);
    builder.set_sleep_impl(components.sleep_impl());
    SharedHttpConnector::new(
        builder
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build(),
    )
}

#[derive(Debug)]
struct RoutingConnector {
    proxy: Arc<ProxySettings>,
    direct: SharedHttpConnector,
    via_https: Option<SharedHttpConnector>,
    via_http: Option<SharedHttpConnector>,
}

impl HttpConnector for RoutingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let via = Url::parse(request.uri())
            .ok()
            .filter(|url| self.proxy.for_url(url).is_some())
            .and_then(|url| match url.scheme() {
                "https" | "wss" => self.via_https.as_ref(),
                _ => self.via_http.as_ref(),
            });
        via.unwrap_or(&self.direct).call(request)
    }
}

/// What `aws-secretsmanager:` references are fetched from when the bot loads its config: AWS
/// Secrets Manager at the target the config names, reached through `proxy` like every client.
pub fn secrets_manager(
    proxy: ProxySettings,
) -> impl FnOnce(crate::secrets::AwsTarget) -> Arc<dyn crate::secrets::SecretStore> + Send {
    move |target| {
        Arc::new(crate::secrets::SecretsManagerStore::new(
            target,
            http_client(&proxy),
        ))
    }
}
