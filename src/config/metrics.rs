//! The `[metrics]` section: where Prometheus metrics and `/healthz` are served. The section absent means no listener at all.

use std::net::SocketAddr;

use super::table::Table;

/// Default of `metrics.listen`.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// `[metrics]`: the one port the bot may listen on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    /// `metrics.listen`: an IP address and port ("127.0.0.1:9464"; port 0 picks a free one).
    pub listen: SocketAddr,
    /// `metrics.allow_remote`: listening on an address other than loopback is refused unless
    /// this is true (the endpoint has no authentication).
    pub allow_remote: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_METRICS_LISTEN.parse().expect("a valid address"),
            allow_remote: false,
        }
    }
}

impl MetricsConfig {
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let defaults = Self::default();
        let listen = table.string("listen", parse_listen).or(defaults.listen);
        let allow_remote = table.boolean("allow_remote").or(defaults.allow_remote);
        let (listen, allow_remote) = (listen?, allow_remote?);
        if !allow_remote && !listen.ip().is_loopback() {
            table.report(
                "listen",
                format!(
                    "{listen} is not a loopback address and the endpoint has no authentication; \
                     listen on 127.0.0.1 (or ::1), or set metrics.allow_remote = true"
                ),
            );
            return None;
        }
        Some(Self {
            listen,
            allow_remote,
        })
    }
}

fn parse_listen(listen: String) -> Result<SocketAddr, String> {
    listen.trim().parse().map_err(|_| {
        format!(
            "must be an IP address and port such as \"{DEFAULT_METRICS_LISTEN}\" or \"[::1]:9464\", \
             got {listen:?}"
        )
    })
}
