//! The report file on disk: each benchmark owns a section between two HTML comment markers and
//! rewrites only that section, keeping the rest of the file.

use std::path::Path;

use anyhow::Context as _;

/// The report file as it is now; empty when it does not exist yet.
pub fn read_report(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Prints `section` when `out` is `-`; otherwise rewrites `out`'s section between `begin` and
/// `end` (appending it when there is none) and keeps the rest of the file.
pub fn publish_section(out: &str, begin: &str, end: &str, section: &str) -> anyhow::Result<()> {
    if out == "-" {
        println!("{section}");
        return Ok(());
    }
    let path = Path::new(out);
    let old = read_report(path)?;
    std::fs::write(path, replace_or_append(&old, begin, end, section))
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// `section` between the markers `begin` and `end`, each on its own line.
pub fn marked(begin: &str, end: &str, section: &str) -> String {
    format!("{begin}\n{}\n{end}\n", section.trim_end())
}

/// `old` with everything from `begin` to `end` (markers included) replaced by `section` between
/// the same markers; `None` when `old` lacks `begin` or has no `end` after it.
pub fn replace_marked(old: &str, begin: &str, end: &str, section: &str) -> Option<String> {
    let start = old.find(begin)?;
    let end_at = start + old[start..].find(end)?;
    let after = old[end_at + end.len()..].strip_prefix('\n');
    let after = after.unwrap_or(&old[end_at + end.len()..]);
    Some(format!(
        "{}{}{after}",
        &old[..start],
        marked(begin, end, section)
    ))
}

/// `old` with the section between `begin` and `end` replaced by `section`, or with it appended
/// (after a blank line) when `old` has none.
pub fn replace_or_append(old: &str, begin: &str, end: &str, section: &str) -> String {
    if let Some(updated) = replace_marked(old, begin, end, section) {
        return updated;
    }
    let ours = marked(begin, end, section);
    if old.trim().is_empty() {
        ours
    } else {
        format!("{}\n\n{ours}", old.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marked_section_is_replaced() {
        let old = "intro\n<!-- a:begin -->\nold\n<!-- a:end -->\nkept\n";
        let new = replace_marked(old, "<!-- a:begin -->", "<!-- a:end -->", "new\n");
        assert_eq!(
            new.as_deref(),
            Some("intro\n<!-- a:begin -->\nnew\n<!-- a:end -->\nkept\n")
        );
        assert_eq!(
            replace_marked("no markers", "<!-- a:begin -->", "<!-- a:end -->", "x"),
            None
        );
        assert_eq!(
            replace_marked(
                "<!-- a:end --> <!-- a:begin -->",
                "<!-- a:begin -->",
                "<!-- a:end -->",
                "x"
            ),
            None,
            "an end marker before the begin marker does not count"
        );
    }

    #[test]
    fn a_missing_report_reads_as_empty() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        assert_eq!(read_report(&dir.path().join("none.md"))?, "");
        assert!(
            read_report(dir.path()).is_err(),
            "a directory is not a report"
        );
        Ok(())
    }
}
