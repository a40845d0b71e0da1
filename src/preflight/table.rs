//! The report of `check --live` as text: one aligned row per probe, the fix under each ✗ and ⚠,
//! and a closing count. Pure.

use std::fmt::Write as _;
use std::time::Duration;

use super::{show_duration, ProbeResult, Status};

/// The rows as a table, then `3 ok · 1 warning · 1 failed · 2 not checked (1.2 s)`.
pub fn render(rows: &[ProbeResult], elapsed: Duration) -> String {
    let width = rows
        .iter()
        .map(|row| row.what.chars().count())
        .max()
        .unwrap_or(0);
    // Symbol, two spaces, the name padded to `width`, two spaces.
    let indent = " ".repeat(2 + 1 + 2 + width + 2);
    let mut out = String::new();
    for row in rows {
        let mut lines = row.detail.lines();
        let first = lines.next().unwrap_or("");
        let pad = width - row.what.chars().count();
        let _ = writeln!(
            out,
            "  {}  {}{}  {first}",
            row.status.symbol(),
            row.what,
            " ".repeat(pad)
        );
        for line in lines {
            let _ = writeln!(out, "{indent}{line}");
        }
        if let Some(fix) = &row.fix {
            let _ = writeln!(out, "{indent}fix: {fix}");
        }
    }
    let count = |status| rows.iter().filter(|row| row.status == status).count();
    let mut parts = vec![format!("{} ok", count(Status::Ok))];
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let warnings = count(Status::Warn);
    if warnings > 0 {
        parts.push(plural(warnings, "warning", "warnings"));
    }
    let failures = count(Status::Fail);
    if failures > 0 {
        parts.push(format!("{failures} failed"));
    }
    let skipped = count(Status::Skipped);
    if skipped > 0 {
        parts.push(format!("{skipped} not checked"));
    }
    let _ = writeln!(out, "\n{} ({})", parts.join(" · "), show_duration(elapsed));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_align_and_fixes_sit_under_their_row() {
        let rows = vec![
            ProbeResult::ok("Slack bot token", "@bot in Sandbox"),
            ProbeResult::warn(
                "SQS dead-letter queue",
                "no dead-letter queue",
                Some("set a redrive policy".into()),
            ),
            ProbeResult::fail("GitHub", "acme/app not found\n(404)", "check github.repo"),
            ProbeResult::not_configured("Confluence", "[confluence]"),
        ];
        let text = render(&rows, Duration::from_millis(1500));
        let expected = "  \u{2713}  Slack bot token        @bot in Sandbox
  \u{26a0}  SQS dead-letter queue  no dead-letter queue
                            fix: set a redrive policy
  \u{2717}  GitHub                 acme/app not found
                            (404)
                            fix: check github.repo
  \u{2013}  Confluence             not configured ([confluence] is absent)

1 ok · 1 warning · 1 failed · 1 not checked (1.5 s)
";
        assert_eq!(text, expected);
        let all_good = render(&rows[..1], Duration::from_millis(40));
        assert!(all_good.ends_with("\n1 ok (40 ms)\n"), "{all_good}");
    }
}
