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

/// The levels a bare `log.level` directive may name.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

fn check_level(level: String) -> Result<String, String> {
    if level.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    // A bare word is a *target* to EnvFilter, so a typo such as "verbose" would silently turn
    // every other log line off. Bare words must be levels; targets are written `target=level`.
    if let Some(word) = level.split(',').map(str::trim).find(|d| {
        !d.is_empty()
            && !d.contains(['=', '['])
            && !LEVELS.contains(&d.to_ascii_lowercase().as_str())
    }) {
        return Err(format!(
            "{word:?} is not a level (one of {}); to filter by target write \"{word}=debug\"",
            LEVELS.join(", ")
        ));
    }
    match EnvFilter::builder().parse(&level) {
        Ok(_) => Ok(level),
        Err(error) => Err(format!(
            "not a valid log filter ({error}), got {level:?}; try \"info\" or \"info,chatops_bot=debug\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::check_level;

    #[test]
    fn levels_and_target_directives_pass_and_bare_words_that_are_not_levels_fail() {
        for ok in [
            "info",
            "WARN",
            "info,chatops_bot=debug",
            "warn,hyper=off",
            "chatops_bot[run]=debug",
        ] {
            assert!(check_level(ok.to_owned()).is_ok(), "{ok}");
        }
        let error = check_level("verbose".to_owned()).unwrap_err();
        assert!(error.contains("\"verbose\" is not a level"), "{error}");
        assert!(check_level("info,chatops_bot".to_owned()).is_err());
    }
}
