//! Confluence storage format (XHTML with `ac:` macros), built by a small typed writer: outside
//! text only ever enters through escaping, so no input can open or close an element.
//!
//! ```
//! use chatops_bot::integrations::confluence::storage::{Document, Inline, StatusColour};
//! let mut page = Document::new();
//! page.heading(2, "Summary <script>")
//!     .paragraph(&[Inline::strong("State: "), Inline::status(StatusColour::Red, "ALARM")])
//!     .code(Some("text"), "log line ]]> more");
//! let xml = page.finish();
//! assert!(xml.as_str().starts_with("<h2>Summary &lt;script&gt;</h2>"));
//! ```

mod escape;
#[cfg(test)]
mod tests;

use escape::{push_cdata, push_escaped, safe_href};

/// A finished storage-format body, well-formed by construction. Only [`Document::finish`] makes
/// one, so a page body can never be a string pasted together elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageXml(String);

impl StorageXml {
    /// The markup, as sent to Confluence (`body.storage.value`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The body as a standalone XML document: wrapped in one root element that declares the
    /// `ac:` and `ri:` namespaces, so any XML parser can check it the way Confluence does.
    pub fn standalone_xml(&self) -> String {
        wrap_for_parsing(&self.0)
    }
}

/// The namespace Confluence's `ac:` prefix stands for.
pub const AC_NAMESPACE: &str = "http://atlassian.com/content";
/// The namespace Confluence's `ri:` prefix stands for.
pub const RI_NAMESPACE: &str = "http://atlassian.com/resource/identifier";

/// `fragment` (a storage body) inside a root element declaring the `ac:` and `ri:` namespaces.
pub fn wrap_for_parsing(fragment: &str) -> String {
    format!(
        "<storage-body xmlns:ac=\"{AC_NAMESPACE}\" xmlns:ri=\"{RI_NAMESPACE}\">{fragment}</storage-body>"
    )
}

/// Colours of the `status` macro (the lozenge Confluence draws).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusColour {
    Grey,
    Red,
    Yellow,
    Green,
    Blue,
}

impl StatusColour {
    /// The macro's `colour` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grey => "Grey",
            Self::Red => "Red",
            Self::Yellow => "Yellow",
            Self::Green => "Green",
            Self::Blue => "Blue",
        }
    }
}

/// A piece of a paragraph, list item or table cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// Bold text.
    Strong(String),
    /// A link. Only an absolute http, https or mailto `href` becomes one; any other is written
    /// as plain text (the label, or the href itself when the label is empty).
    Link { href: String, label: String },
    /// A `status` macro lozenge.
    Status { colour: StatusColour, title: String },
    /// A line break (`<br/>`).
    LineBreak,
}

impl Inline {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    pub fn strong(text: impl Into<String>) -> Self {
        Self::Strong(text.into())
    }

    pub fn link(href: impl Into<String>, label: impl Into<String>) -> Self {
        Self::Link {
            href: href.into(),
            label: label.into(),
        }
    }

    pub fn status(colour: StatusColour, title: impl Into<String>) -> Self {
        Self::Status {
            colour,
            title: title.into(),
        }
    }
}

/// A storage-format document being written, block by block.
#[derive(Clone, Debug, Default)]
pub struct Document {
    out: String,
}

impl Document {
    pub fn new() -> Self {
        Self::default()
    }

    /// `<hN>` with `level` clamped to 1..=6.
    pub fn heading(&mut self, level: u8, text: &str) -> &mut Self {
        let level = level.clamp(1, 6);
        self.out.push_str(&format!("<h{level}>"));
        push_escaped(&mut self.out, text);
        self.out.push_str(&format!("</h{level}>"));
        self
    }

    /// A paragraph of inline pieces.
    pub fn paragraph(&mut self, inlines: &[Inline]) -> &mut Self {
        self.out.push_str("<p>");
        self.push_inlines(inlines);
        self.out.push_str("</p>");
        self
    }

    /// A paragraph of plain text.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.paragraph(&[Inline::text(text)])
    }

    /// A bullet list, one item per entry.
    pub fn bullet_list(&mut self, items: &[Vec<Inline>]) -> &mut Self {
        self.out.push_str("<ul>");
        for item in items {
            self.out.push_str("<li>");
            self.push_inlines(item);
            self.out.push_str("</li>");
        }
        self.out.push_str("</ul>");
        self
    }

    /// A table with a header row. Rows shorter than the header are padded with empty cells, so
    /// the table stays rectangular; longer ones keep their cells.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<Vec<Inline>>]) -> &mut Self {
        self.out.push_str("<table><tbody><tr>");
        for title in header {
            self.out.push_str("<th>");
            push_escaped(&mut self.out, title);
            self.out.push_str("</th>");
        }
        self.out.push_str("</tr>");
        for row in rows {
            self.out.push_str("<tr>");
            for cell in row {
                self.out.push_str("<td>");
                self.push_inlines(cell);
                self.out.push_str("</td>");
            }
            for _ in row.len()..header.len() {
                self.out.push_str("<td></td>");
            }
            self.out.push_str("</tr>");
        }
        self.out.push_str("</tbody></table>");
        self
    }

    /// A `code` macro: `text` verbatim in a CDATA body. `language` is kept only if it looks like
    /// a language name (letters, digits, `+ # - _`, at most 30); otherwise the macro has none.
    pub fn code(&mut self, language: Option<&str>, text: &str) -> &mut Self {
        self.out
            .push_str(r#"<ac:structured-macro ac:name="code" ac:schema-version="1">"#);
        if let Some(language) = language.filter(|name| is_language_name(name)) {
            self.push_parameter("language", language);
        }
        self.out.push_str("<ac:plain-text-body>");
        push_cdata(&mut self.out, text);
        self.out
            .push_str("</ac:plain-text-body></ac:structured-macro>");
        self
    }

    /// The document so far, finished.
    pub fn finish(&self) -> StorageXml {
        StorageXml(self.out.clone())
    }

    fn push_inlines(&mut self, inlines: &[Inline]) {
        for inline in inlines {
            match inline {
                Inline::Text(text) => push_escaped(&mut self.out, text),
                Inline::Strong(text) => {
                    self.out.push_str("<strong>");
                    push_escaped(&mut self.out, text);
                    self.out.push_str("</strong>");
                }
                Inline::Link { href, label } => self.push_link(href, label),
                Inline::Status { colour, title } => self.push_status(*colour, title),
                Inline::LineBreak => self.out.push_str("<br/>"),
            }
        }
    }

    fn push_link(&mut self, href: &str, label: &str) {
        let shown = if label.trim().is_empty() { href } else { label };
        match safe_href(href) {
            Some(target) => {
                self.out.push_str("<a href=\"");
                push_escaped(&mut self.out, &target);
                self.out.push_str("\">");
                push_escaped(&mut self.out, shown);
                self.out.push_str("</a>");
            }
            None => push_escaped(&mut self.out, shown),
        }
    }

    fn push_status(&mut self, colour: StatusColour, title: &str) {
        self.out
            .push_str(r#"<ac:structured-macro ac:name="status" ac:schema-version="1">"#);
        self.push_parameter("colour", colour.as_str());
        self.push_parameter("title", title);
        self.out.push_str("</ac:structured-macro>");
    }

    fn push_parameter(&mut self, name: &str, value: &str) {
        self.out.push_str("<ac:parameter ac:name=\"");
        push_escaped(&mut self.out, name);
        self.out.push_str("\">");
        push_escaped(&mut self.out, value);
        self.out.push_str("</ac:parameter>");
    }
}

fn is_language_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 30
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_'))
}
