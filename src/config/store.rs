//! The `[store]` section: where the bot keeps its state on disk.

use std::path::PathBuf;

use super::table::Table;

/// `[store]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// `store.path`: the SQLite database file, relative to the working directory unless absolute.
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./chatops-bot.db"),
        }
    }
}

impl StoreConfig {
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let path = table.string("path", check_path).or(Self::default().path);
        Some(Self { path: path? })
    }
}

fn check_path(path: String) -> Result<PathBuf, String> {
    if path.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(PathBuf::from(path))
    }
}
