//! The `[log]` section: log line format and level filter.

use tracing_subscriber::EnvFilter;

use super::table::Table;

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// `log.format`: "text" or "json".
    pub format: LogFormat,
    /// `log.level`: an `EnvFilter` directive such as "info" or "info,chatops_bot=debug".
    pub level: String,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::default(),
            level: "info".to_owned(),
        }
    }
}

impl LogConfig {
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let defaults = Self::default();
        let format = table.string("format", parse_format).or(defaults.format);
        let level = table.string("level", check_level).or(defaults.level);
        Some(Self {
            format: format?,
            level: level?,
        })
    }
}

fn parse_format(format: String) -> Result<LogFormat, String> {
    match format.as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("must be \"text\" or \"json\", got {format:?}")),
    }
}

fn check_level(level: String) -> Result<String, String> {
    if level.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    match EnvFilter::builder().parse(&level) {
        Ok(_) => Ok(level),
        Err(error) => Err(format!(
            "not a valid log filter ({error}), got {level:?}; try \"info\" or \"info,chatops_bot=debug\""
        )),
    }
}
