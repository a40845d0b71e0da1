//! Tests of the writer's pure pieces: links and message rendering.

use super::*;
use crate::slack::answer::inert::ZERO_WIDTH_SPACE as Z;

#[test]
fn links_render_as_markdown_sources_and_stay_inert() {
    let links = [
        Link {
            label: "Runbook: high CPU".into(),
            url: "https://wiki.example/runbooks/cpu".into(),
        },
        Link {
            label: "same again".into(),
            url: "https://wiki.example/runbooks/cpu".into(),
        },
        Link {
            label: "evil](javascript:alert(1)) <!here>".into(),
            url: "https://docs.example/a (b)".into(),
        },
        Link {
            label: "no scheme".into(),
            url: "javascript:alert(1)".into(),
        },
    ];
    let markdown = links_markdown(&links);
    assert_eq!(
        markdown,
        format!(
            "**Sources**\n- [Runbook: high CPU](https://wiki.example/runbooks/cpu)\n\
             - [evil\\](javascript:alert(1)) <{Z}!here>](https://docs.example/a%20%28b%29)"
        )
    );
    assert_eq!(links_markdown(&[]), "");
}

#[test]
fn a_part_becomes_one_markdown_block_with_an_escaped_preview() {
    let message = markdown_message("# Cause\n\n<\u{200B}!here> **CPU** & more", Standing::Final);
    assert_eq!(
        message.blocks,
        vec![Block::Markdown(
            "# Cause\n\n<\u{200B}!here> **CPU** & more".into()
        )]
    );
    assert_eq!(
        message.text,
        "# Cause  &lt;\u{200B}!here&gt; **CPU** &amp; more"
    );
    let json = crate::slack::blocks::to_json(&message);
    assert_eq!(json["blocks"][0]["type"], "markdown");
    assert_eq!(json["metadata"]["event_type"], "chatops_final");
}
