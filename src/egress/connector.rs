//! `ProxyConnector`: a hyper connector that tunnels through the configured proxy, else connects directly.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;
use url::Url;

use super::tunnel;
use crate::config::ProxySettings;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The TCP side of a hyper client (TLS goes on top, e.g. `hyper_rustls::HttpsConnector`): a
/// target `ProxySettings` sends through a proxy gets a `CONNECT` tunnel (for `http://` targets
/// too, so proxy credentials are always sent the same way), any other is connected directly by
/// hyper's own `HttpConnector`. Connecting, tunnel included, is bounded by `connect_timeout`.
#[derive(Clone)]
pub struct ProxyConnector {
    direct: HttpConnector,
    proxy: Arc<ProxySettings>,
    connect_timeout: Duration,
}

impl ProxyConnector {
    pub fn new(proxy: &ProxySettings, connect_timeout: Duration) -> Self {
        let mut direct = HttpConnector::new();
        direct.enforce_http(false);
        direct.set_nodelay(true);
        direct.set_connect_timeout(Some(connect_timeout));
        Self {
            direct,
            proxy: Arc::new(proxy.clone()),
            connect_timeout,
        }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let url = Url::parse(&uri.to_string()).ok();
        let server = url
            .as_ref()
            .and_then(|url| self.proxy.for_url(url))
            .cloned();
        let (Some(url), Some(server)) = (url, server) else {
            let connecting = self.direct.call(uri);
            return Box::pin(async move { connecting.await.map_err(Into::into) });
        };
        let limit = self.connect_timeout;
        Box::pin(async move {
            let (host, port) = tunnel::host_and_port(&url)?;
            let authority = tunnel::authority(&host, port);
            let stream = tokio::time::timeout(limit, tunnel::tunnel(&server, &authority))
                .await
                .map_err(|_| {
                    format!("no tunnel to {authority} through proxy {server} within {limit:?}")
                })??;
            Ok(TokioIo::new(stream))
        })
    }
}
