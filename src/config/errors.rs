//! Configuration problems: every one that was found, each named by its full dotted key path.

use std::fmt;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Full dotted key path such as `slack.socket.ping_interval`; empty for a problem with the
    /// file as a whole (missing, unreadable, not TOML).
    pub key: String,
    /// What is wrong. Never contains a token.
    pub message: String,
}

impl ConfigProblem {
    /// A problem with one key.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }

    /// A problem with the configuration file as a whole.
    pub fn whole_file(message: impl Into<String>) -> Self {
        Self::new("", message)
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Every problem found while loading one configuration file and its environment overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The configuration file as the caller named it.
    pub file: String,
    /// All problems, in the order the keys are read; never empty.
    pub problems: Vec<ConfigProblem>,
}

impl ConfigErrors {
    /// The problem reported for `key`, if any.
    pub fn problem(&self, key: &str) -> Option<&ConfigProblem> {
        self.problems.iter().find(|problem| problem.key == key)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        let plural = if count == 1 { "" } else { "s" };
        write!(f, "{count} problem{plural} in {}:", self.file)?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
