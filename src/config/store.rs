//! The `[store]` section: where the bot keeps its state on disk, and for how long.

use std::path::PathBuf;
use std::time::Duration;

use super::table::{show_duration, Table};

/// Shortest `store.retention`: cards resolved within the last hour may still reopen.
pub const MIN_RETENTION: Duration = Duration::from_secs(60 * 60);

/// `[store]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// `store.path`: the SQLite database file, relative to the working directory unless absolute.
    pub path: PathBuf,
    /// `store.retention`: resolved cards (with their history) and closed storm digests older
    /// than this are pruned. At least 1h.
    pub retention: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./chatops-bot.db"),
            retention: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

impl StoreConfig {
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let defaults = Self::default();
        let path = table.string("path", check_path).or(defaults.path);
        let retention = table
            .duration("retention", check_retention)
            .or(defaults.retention);
        Some(Self {
            path: path?,
            retention: retention?,
        })
    }
}

fn check_path(path: String) -> Result<PathBuf, String> {
    if path.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(PathBuf::from(path))
    }
}

fn check_retention(retention: Duration) -> Result<Duration, String> {
    if retention < MIN_RETENTION {
        Err(format!(
            "must be at least 1h (resolved cards may still reopen), got {}",
            show_duration(retention)
        ))
    } else {
        Ok(retention)
    }
}
