//! The only places outside text enters storage-format markup: XML escaping of text and attribute
//! values, removal of characters XML cannot hold, and CDATA sections that survive a `]]>`.

/// Whether XML 1.0 may hold `c`, and we want it: C0 controls other than tab, newline and carriage
/// return are not XML characters at all; C1 controls and DEL are allowed but are never text a
/// person wrote; U+FFFE and U+FFFF are not characters. (Surrogates cannot be a Rust `char`.)
pub(super) fn keeps(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}' => false,
        _ => true,
    }
}

/// Appends `text` to `out` as character data or an attribute value: `& < > " '` become
/// `&amp; &lt; &gt; &quot; &#39;` (XML's own entities and a numeric reference, never an HTML
/// entity such as `&nbsp;`), and characters XML cannot hold are dropped.
pub(super) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if keeps(c) => out.push(c),
            _ => {}
        }
    }
}

/// Appends `text` as one or more CDATA sections whose content reads back as `text` (less the
/// characters XML cannot hold). A `]]>` inside would end the section, so it is split across two:
/// `]]` ends one section and `>` starts the next (`]]]]><![CDATA[>`).
pub(super) fn push_cdata(out: &mut String, text: &str) {
    let clean: String = text.chars().filter(|c| keeps(*c)).collect();
    out.push_str("<![CDATA[");
    out.push_str(&clean.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

/// `href` as a link target if it is an absolute http, https or mailto URL, in its normalised
/// (percent-encoded) form; `None` for anything else (`javascript:`, relative paths, garbage).
pub(super) fn safe_href(href: &str) -> Option<String> {
    let url = url::Url::parse(href.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https" | "mailto") {
        return None;
    }
    if url.scheme() != "mailto" && url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, text);
        out
    }

    fn cdata(text: &str) -> String {
        let mut out = String::new();
        push_cdata(&mut out, text);
        out
    }

    #[test]
    fn the_five_special_characters_become_xml_references() {
        assert_eq!(
            escaped(r#"a & b < c > d " e ' f"#),
            "a &amp; b &lt; c &gt; d &quot; e &#39; f"
        );
        assert_eq!(escaped("&nbsp;"), "&amp;nbsp;");
    }

    #[test]
    fn controls_are_dropped_and_everything_else_kept() {
        assert_eq!(escaped("a\u{0}b\u{1B}[31mc\u{7F}\u{85}d"), "ab[31mcd");
        assert_eq!(escaped("tab\tnl\ncr\r"), "tab\tnl\ncr\r");
        assert_eq!(escaped("\u{FFFE}\u{FFFF}"), "");
        let kept = "🔥 שלום 𝄞 漢字 \u{200F}";
        assert_eq!(escaped(kept), kept);
    }

    #[test]
    fn cdata_splits_its_terminator() {
        assert_eq!(cdata("x"), "<![CDATA[x]]>");
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
        assert_eq!(
            cdata("]]>]]>"),
            "<![CDATA[]]]]><![CDATA[>]]]]><![CDATA[>]]>"
        );
        assert_eq!(cdata("\u{0}"), "<![CDATA[]]>");
    }

    #[test]
    fn only_absolute_web_and_mail_links_are_links() {
        assert_eq!(
            safe_href("https://example.com/a b?q=\"x\"").as_deref(),
            Some("https://example.com/a%20b?q=%22x%22")
        );
        assert_eq!(
            safe_href("mailto:ops@example.com").as_deref(),
            Some("mailto:ops@example.com")
        );
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>",
            "/relative/path",
            "file:///etc/passwd",
            "http://",
            "",
        ] {
            assert_eq!(safe_href(bad), None, "{bad}");
        }
    }
}
