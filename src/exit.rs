//! The process exit statuses, documented for systemd's `RestartPreventExitStatus=`.

/// Clean shutdown (SIGTERM/SIGINT), or a command that succeeded.
pub const OK: u8 = 0;
/// A failure that a restart may fix (Slack unreachable at startup, store I/O error…).
pub const FAILURE: u8 = 1;
/// Bad command-line usage (clap's own status).
pub const USAGE: u8 = 2;
/// Slack refused the tokens or disabled Socket Mode (`invalid_auth`, `not_authed`, `account_inactive`,
/// `team_disabled`, `link_disabled`…): restarting cannot help. sysexits' EX_NOPERM.
pub const SLACK_REFUSED: u8 = 77;
/// The configuration is invalid. sysexits' EX_CONFIG.
pub const CONFIG: u8 = 78;
