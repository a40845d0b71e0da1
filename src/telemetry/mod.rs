//! Logging setup, the daemon's metrics and their endpoint, and the latencies it measures.

pub mod endpoint;
pub mod instrumented;
pub mod latency;
pub mod metrics;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// How log lines look where stderr goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogStyle {
    /// Colours: only on a terminal.
    pub ansi: bool,
    /// A timestamp on each line: not when journald, which stamps every line itself, reads stderr.
    pub timestamps: bool,
}

impl LogStyle {
    /// `journal_stream` is `$JOURNAL_STREAM` ("device:inode" of the stream systemd connected to
    /// journald); `stderr` is stderr's (device, inode). Stderr is that stream only when both agree
    /// (a child whose stderr was redirected inherits the variable but not the stream).
    pub fn decide(
        stderr_is_terminal: bool,
        journal_stream: Option<&str>,
        stderr: Option<(u64, u64)>,
    ) -> Self {
        let to_journal = match (journal_stream.and_then(parse_journal_stream), stderr) {
            (Some(journal), Some(stderr)) => journal == stderr,
            _ => false,
        };
        Self {
            ansi: stderr_is_terminal && !to_journal,
            timestamps: !to_journal,
        }
    }

    /// The style for this process's stderr.
    pub fn of_stderr() -> Self {
        let journal_stream = std::env::var("JOURNAL_STREAM").ok();
        Self::decide(
            std::io::stderr().is_terminal(),
            journal_stream.as_deref(),
            stderr_device_and_inode(),
        )
    }
}

fn parse_journal_stream(value: &str) -> Option<(u64, u64)> {
    let (device, inode) = value.trim().split_once(':')?;
    Some((device.parse().ok()?, inode.parse().ok()?))
}

fn stderr_device_and_inode() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let metadata = std::fs::File::from(fd).metadata().ok()?;
    Some((metadata.dev(), metadata.ino()))
}

/// Install the global subscriber: `RUST_LOG` wins over `log.level`; logs go to stderr (journald).
/// Text lines have no colours off a terminal and no timestamps under journald; JSON lines are
/// one object each, with the fields of the spans they were logged in (the card key of an
/// alarm, the envelope and event id of an interaction).
pub fn init(config: &LogConfig) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    install(filter, config.format, LogStyle::of_stderr());
}

/// Logging for commands that run before a config is loaded.
pub fn init_default() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    install(filter, LogFormat::Text, LogStyle::of_stderr());
}

fn install(filter: EnvFilter, format: LogFormat, style: LogStyle) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(style.ansi);
    let _ = match (format, style.timestamps) {
        (LogFormat::Json, true) => builder.json().flatten_event(true).try_init(),
        (LogFormat::Json, false) => builder.json().flatten_event(true).without_time().try_init(),
        (LogFormat::Text, true) => builder.try_init(),
        (LogFormat::Text, false) => builder.without_time().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::LogStyle;

    #[test]
    fn colours_only_on_a_terminal_and_timestamps_only_off_the_journal() {
        let terminal = LogStyle::decide(true, None, Some((1, 2)));
        assert_eq!(
            terminal,
            LogStyle {
                ansi: true,
                timestamps: true
            }
        );
        let file = LogStyle::decide(false, None, Some((1, 2)));
        assert_eq!(
            file,
            LogStyle {
                ansi: false,
                timestamps: true
            }
        );
        let journal = LogStyle::decide(false, Some("1:2"), Some((1, 2)));
        assert_eq!(
            journal,
            LogStyle {
                ansi: false,
                timestamps: false
            }
        );
    }

    #[test]
    fn an_inherited_journal_stream_that_is_not_stderr_changes_nothing() {
        let redirected = LogStyle::decide(false, Some("1:2"), Some((1, 3)));
        assert_eq!(
            redirected,
            LogStyle {
                ansi: false,
                timestamps: true
            }
        );
        let garbled = LogStyle::decide(false, Some("journal"), Some((1, 2)));
        assert!(garbled.timestamps);
    }
}
