//! Every document the writer can produce is parsed as XML; hostile text must come out as the
//! same text, in the same element structure as harmless text.

use super::*;

/// Text that would break or inject markup if it were pasted in.
const HOSTILE: &[&str] = &[
    "</ac:structured-macro>",
    "</ac:plain-text-body></ac:structured-macro><p>escaped</p>",
    "]]>",
    "]]]]>]]>",
    "<![CDATA[ x ]]>",
    "<script>alert(1)</script>",
    "&nbsp;",
    "&amp;&lt;&#0;&#x0;&bogus;",
    "\" onmouseover=\"alert(1)",
    "' onclick='alert(1)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<ac:structured-macro ac:name=\"html\"><ac:plain-text-body><![CDATA[<script>]]>",
    "🔥🚨 4-byte: 𝄞 𠜎 😀",
    "RTL: שלום עולם مرحبا \u{202E}evil\u{202C}",
    "controls: \u{0}\u{1}\u{8}\u{B}\u{C}\u{1B}[31m\u{7F}\u{85}\u{FFFE}\u{FFFF}",
    "tabs\tand\nnewlines",
    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]>&e;",
    "",
];

/// `text` as an XML parser reads it back: unwanted characters gone, line ends normalised.
fn read_back(text: &str) -> String {
    let kept: String = text.chars().filter(|c| escape::keeps(*c)).collect();
    kept.replace("\r\n", "\n").replace('\r', "\n")
}

/// Parses `xml` the way Confluence would, or fails the test with the document.
fn parse(xml: &StorageXml) -> roxmltree::Document<'static> {
    let wrapped: &'static str = Box::leak(xml.standalone_xml().into_boxed_str());
    roxmltree::Document::parse(wrapped)
        .unwrap_or_else(|error| panic!("not well-formed XML ({error}):\n{}", xml.as_str()))
}

/// Every element's qualified name, in document order.
fn structure(document: &roxmltree::Document) -> Vec<String> {
    document
        .descendants()
        .filter(|node| node.is_element())
        .map(|node| {
            let tag = node.tag_name();
            let attributes: Vec<String> = node
                .attributes()
                .map(|attribute| attribute.name().to_owned())
                .collect();
            format!(
                "{}:{}{attributes:?}",
                tag.namespace().unwrap_or_default(),
                tag.name()
            )
        })
        .collect()
}

fn text_of(node: roxmltree::Node) -> String {
    node.descendants()
        .filter(|child| child.is_text())
        .filter_map(|child| child.text())
        .collect()
}

fn elements<'a>(
    document: &'a roxmltree::Document<'a>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'a>> + 'a {
    document
        .descendants()
        .filter(move |node| node.is_element() && node.tag_name().name() == name)
}

/// Outside CDATA sections, every `&` starts one of the references the writer uses (XML's own
/// entities and `&#39;`), never an HTML entity such as `&nbsp;`.
fn assert_only_xml_references(xml: &str) {
    let mut outside = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<![CDATA[") {
        outside.push_str(&rest[..start]);
        let end = rest[start..].find("]]>").expect("a CDATA section ends") + start + 3;
        rest = &rest[end..];
    }
    outside.push_str(rest);
    for (at, _) in outside.match_indices('&') {
        let reference = &outside[at..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|known| reference.starts_with(known)),
            "an entity other than XML's own was written at {at}: {xml}"
        );
    }
}

/// A document that puts `text` in every place the writer takes outside text.
fn everything_with(text: &str) -> StorageXml {
    let mut page = Document::new();
    page.heading(1, text)
        .text(text)
        .paragraph(&[
            Inline::text(text),
            Inline::strong(text),
            Inline::LineBreak,
            Inline::link("https://example.com/?q=1&r=2", text),
            Inline::status(StatusColour::Yellow, text),
        ])
        .bullet_list(&[vec![Inline::text(text)], vec![Inline::strong(text)]])
        .table(
            &["Key", text],
            &[vec![vec![Inline::text(text)], vec![Inline::strong(text)]]],
        )
        .code(Some("bash"), text);
    page.finish()
}

#[test]
fn hostile_text_is_inert_everywhere_it_can_go() {
    let harmless = structure(&parse(&everything_with("x")));
    for text in HOSTILE {
        let xml = everything_with(text);
        let document = parse(&xml);
        assert_eq!(
            structure(&document),
            harmless,
            "{text:?} changed the element structure:\n{}",
            xml.as_str()
        );
        let expected = read_back(text);
        let heading = elements(&document, "h1").next().unwrap();
        assert_eq!(text_of(heading), expected, "heading of {text:?}");
        let strong = elements(&document, "strong").next().unwrap();
        assert_eq!(text_of(strong), expected, "strong of {text:?}");
        let link = elements(&document, "a").next().unwrap();
        if !text.trim().is_empty() {
            assert_eq!(text_of(link), expected, "link label of {text:?}");
        }
        let header = elements(&document, "th").nth(1).unwrap();
        assert_eq!(text_of(header), expected, "table header of {text:?}");
        let status_title = elements(&document, "parameter")
            .find(|node| node.attributes().any(|a| a.value() == "title"))
            .unwrap();
        assert_eq!(text_of(status_title), expected, "status title of {text:?}");
        let code = elements(&document, "plain-text-body").next().unwrap();
        assert_eq!(text_of(code), expected, "code body of {text:?}");
        assert_only_xml_references(xml.as_str());
    }
}

#[test]
fn hostile_links_and_languages_become_text_or_go() {
    for href in [
        "javascript:alert(1)",
        "\" onclick=\"x",
        "/wiki/relative",
        "data:text/html,<script>",
    ] {
        let mut page = Document::new();
        page.paragraph(&[Inline::link(href, "")]);
        let xml = page.finish();
        let document = parse(&xml);
        assert_eq!(
            elements(&document, "a").count(),
            0,
            "{href:?} became a link"
        );
        let paragraph = elements(&document, "p").next().unwrap();
        assert_eq!(text_of(paragraph), href, "{href:?} is shown as text");
    }
    let mut page = Document::new();
    page.paragraph(&[Inline::link("https://x.example/\"><script>", "label")]);
    let document = parse(&page.finish());
    let link = elements(&document, "a").next().unwrap();
    assert_eq!(
        link.attribute("href"),
        Some("https://x.example/%22%3E%3Cscript%3E")
    );
    for language in ["\"><script>", "a b", "x]]>", ""] {
        let mut page = Document::new();
        page.code(Some(language), "body");
        let document = parse(&page.finish());
        assert_eq!(
            elements(&document, "parameter").count(),
            0,
            "{language:?} became a language"
        );
    }
}

#[test]
fn macros_have_the_shape_confluence_expects() {
    let mut page = Document::new();
    page.code(Some("python"), "print('hi')")
        .paragraph(&[Inline::status(StatusColour::Green, "OK")]);
    let xml = page.finish();
    assert_eq!(
        xml.as_str(),
        "<ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\">\
         <ac:parameter ac:name=\"language\">python</ac:parameter>\
         <ac:plain-text-body><![CDATA[print('hi')]]></ac:plain-text-body>\
         </ac:structured-macro>\
         <p><ac:structured-macro ac:name=\"status\" ac:schema-version=\"1\">\
         <ac:parameter ac:name=\"colour\">Green</ac:parameter>\
         <ac:parameter ac:name=\"title\">OK</ac:parameter>\
         </ac:structured-macro></p>"
    );
    let document = parse(&xml);
    let code = elements(&document, "structured-macro").next().unwrap();
    assert_eq!(code.tag_name().namespace(), Some(AC_NAMESPACE));
    assert_eq!(code.attribute((AC_NAMESPACE, "name")), Some("code"));
}

#[test]
fn tables_stay_rectangular_and_headings_stay_in_range() {
    let mut page = Document::new();
    page.heading(0, "low")
        .heading(9, "high")
        .table(&["A", "B", "C"], &[vec![vec![Inline::text("only one")]]]);
    let xml = page.finish();
    let document = parse(&xml);
    assert_eq!(elements(&document, "h1").count(), 1);
    assert_eq!(elements(&document, "h6").count(), 1);
    assert_eq!(elements(&document, "td").count(), 3);
}

/// A small deterministic generator, so a failure names a seed that reproduces it.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_mixtures_of_dangerous_pieces_always_parse() {
    let pieces = [
        "<",
        ">",
        "&",
        "\"",
        "'",
        "]]>",
        "]",
        "]]",
        "<![CDATA[",
        "</p>",
        "&nbsp;",
        "\u{0}",
        "\u{1F}",
        "\u{FFFF}",
        "🔥",
        "ש",
        "\r",
        "\n",
        "a",
        " ",
        "</ac:structured-macro>",
        "&#",
    ];
    for seed in 1..=300u64 {
        let mut random = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let length = (random.next() % 40) as usize;
        let text: String = (0..length)
            .map(|_| pieces[(random.next() % pieces.len() as u64) as usize])
            .collect();
        let xml = everything_with(&text);
        let document = parse(&xml);
        let code = elements(&document, "plain-text-body").next().unwrap();
        assert_eq!(text_of(code), read_back(&text), "seed {seed}: {text:?}");
    }
}
