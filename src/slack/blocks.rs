//! Render the bot's `Message` model as slack-morphism Block Kit content.

use slack_morphism::prelude::*;

use super::message::{Block, Button, ButtonStyle, ImageSource, Message, Mrkdwn, PostId, Standing};

/// Slack's hard limits that rendering enforces.
pub const MAX_SECTION_CHARS: usize = 3000;
pub const MAX_BLOCKS: usize = 50;
const MAX_HEADER_CHARS: usize = 150;
/// Slack's limit on an image block's `alt_text`.
const MAX_IMAGE_ALT_CHARS: usize = 2000;
const MAX_TEXT_CHARS: usize = 3000;
/// Slack's cap on the Markdown of all `markdown` blocks in one message.
pub const MAX_MARKDOWN_CHARS: usize = 12_000;

/// The `event_type` of the metadata that carries a post's client-side id ([`PostId`]).
pub const POST_EVENT_TYPE: &str = "chatops_post";
/// The `event_payload` key of that id.
pub const POST_ID_KEY: &str = "id";
/// The `event_type` of a placeholder the bot will replace ([`Standing::Placeholder`]).
pub const PLACEHOLDER_EVENT_TYPE: &str = "chatops_placeholder";
/// The `event_type` of the final text written over a placeholder ([`Standing::Final`]).
pub const FINAL_EVENT_TYPE: &str = "chatops_final";

/// Block Kit content for `chat.postMessage`/`chat.update`/`chat.postEphemeral`.
/// With an accent colour the blocks go into one attachment, the only way Slack draws a colour bar.
/// A [`PostId`] goes into the message's metadata, which users do not see; so does a
/// [`Standing`] other than plain, when there is no post id.
pub fn content(message: &Message) -> SlackMessageContent {
    let content = look(message);
    let marker = |event_type: &str| {
        SlackMessageMetadata::new(event_type.to_owned()).with_event_payload(Default::default())
    };
    match (&message.post_id, message.standing) {
        (Some(post_id), _) => content.with_metadata(metadata(post_id)),
        (None, Standing::Plain) => content,
        (None, Standing::Placeholder) => content.with_metadata(marker(PLACEHOLDER_EVENT_TYPE)),
        (None, Standing::Final) => content.with_metadata(marker(FINAL_EVENT_TYPE)),
    }
}

/// `{"event_type":"chatops_post","event_payload":{"id":"…"}}`.
pub fn metadata(post_id: &PostId) -> SlackMessageMetadata {
    SlackMessageMetadata::new(POST_EVENT_TYPE.to_owned())
        .with_event_payload([(POST_ID_KEY.to_owned(), post_id.id.clone())].into())
}

/// Whether `metadata` is the one [`metadata`] renders for the client-side id `id`.
pub fn carries_post_id(metadata: &SlackMessageMetadata, id: &str) -> bool {
    metadata.event_type == POST_EVENT_TYPE
        && metadata
            .event_payload
            .as_ref()
            .and_then(|payload| payload.get(POST_ID_KEY))
            .is_some_and(|found| found == id)
}

fn look(message: &Message) -> SlackMessageContent {
    let blocks: Vec<SlackBlock> = message.blocks.iter().take(MAX_BLOCKS).map(block).collect();
    let text = truncate(&message.text, MAX_TEXT_CHARS);
    match message.accent {
        None => SlackMessageContent::new()
            .with_text(text)
            .with_blocks(blocks),
        Some(accent) => SlackMessageContent::new()
            .with_text(text.clone())
            .with_attachments(vec![SlackMessageAttachment::new()
                .with_color(accent.0.to_owned())
                .with_fallback(text)
                .with_blocks(blocks)]),
    }
}

/// The same content as JSON, for `response_url` posts and `chatops-bot render`.
pub fn to_json(message: &Message) -> serde_json::Value {
    serde_json::to_value(content(message)).unwrap_or_default()
}

fn block(block: &Block) -> SlackBlock {
    match block {
        Block::Header(text) => SlackHeaderBlock::new(pt!(truncate(text, MAX_HEADER_CHARS))).into(),
        Block::Section { text, fields } => {
            let section = SlackSectionBlock::new().with_text(markdown(text));
            if fields.is_empty() {
                section.into()
            } else {
                section
                    .with_fields(fields.iter().take(10).map(markdown).collect())
                    .into()
            }
        }
        Block::Context(items) => SlackContextBlock::new(
            items
                .iter()
                .take(10)
                .map(|m| {
                    let text = SlackBlockMarkDownText::new(truncate(m.as_str(), 2000));
                    SlackContextBlockElement::MarkDown(text.with_verbatim(true))
                })
                .collect(),
        )
        .into(),
        Block::Divider => SlackDividerBlock::new().into(),
        Block::Actions(buttons) => {
            SlackActionsBlock::new(buttons.iter().take(25).map(button).collect()).into()
        }
        Block::Markdown(text) => SlackMarkdownBlock::new(truncate(text, MAX_MARKDOWN_CHARS)).into(),
        Block::Image { source, alt } => {
            let source = match source {
                ImageSource::Url(url) => url.clone().into(),
                ImageSource::SlackFile(file) => SlackImageUrlOrFile::SlackFile {
                    slack_file: SlackFileId(file.0.clone()).into(),
                },
            };
            SlackImageBlock::new(source, truncate(alt, MAX_IMAGE_ALT_CHARS)).into()
        }
    }
}

/// `verbatim`: Slack must not auto-link bare URLs, channel names or `@here` in text from outside;
/// the bot's own links and mentions are explicit `<…>` markup and still render.
fn markdown(text: &Mrkdwn) -> SlackBlockText {
    let text = truncate(text.as_str(), MAX_SECTION_CHARS);
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text).with_verbatim(true))
}

fn button(b: &Button) -> SlackActionBlockElement {
    let mut element = SlackBlockButtonElement::new(pt!(truncate(&b.label, 75)))
        .with_action_id(b.action_id.clone().into());
    if let Some(value) = &b.value {
        element = element.with_value(value.clone());
    }
    if let Some(style) = b.style {
        element = element.with_style(match style {
            ButtonStyle::Primary => SlackBlockButtonStyle::Primary,
            ButtonStyle::Danger => SlackBlockButtonStyle::Danger,
        });
    }
    SlackActionBlockElement::Button(element)
}

/// Cut at a char boundary, marking the cut visibly. Callers that can say more (e.g. "full text in
/// thread") cut earlier themselves; this is the last line of defence against Slack's hard limits.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::message::FileId;

    #[test]
    fn renders_block_kit_json_and_respects_limits() {
        let long = "x".repeat(5000);
        let message = Message {
            text: "fallback".into(),
            blocks: vec![
                Block::Header("Title".into()),
                Block::Section {
                    text: Mrkdwn::escaped(&long),
                    fields: vec![],
                },
                Block::Actions(vec![Button {
                    label: "👀 Watching".into(),
                    action_id: "watch".into(),
                    value: Some("v".into()),
                    style: Some(ButtonStyle::Primary),
                }]),
                Block::Image {
                    source: ImageSource::Url(
                        url::Url::parse("https://media.example/ship-it.gif").unwrap(),
                    ),
                    alt: "a".repeat(3000),
                },
                Block::Image {
                    source: ImageSource::SlackFile(FileId("F0GRAPH".into())),
                    alt: "graph".into(),
                },
            ],
            accent: None,
            post_id: None,
            standing: Standing::Plain,
        };
        let json = to_json(&message);
        assert_eq!(json["blocks"][3]["type"], "image");
        assert_eq!(
            json["blocks"][3]["image_url"],
            "https://media.example/ship-it.gif"
        );
        let alt = json["blocks"][3]["alt_text"].as_str().unwrap();
        assert_eq!(alt.chars().count(), MAX_IMAGE_ALT_CHARS);
        // An uploaded file: `slack_file` with its id, and no `image_url` beside it.
        assert_eq!(json["blocks"][4]["slack_file"]["id"], "F0GRAPH");
        assert!(json["blocks"][4].get("image_url").is_none());
        assert_eq!(json["blocks"][0]["type"], "header");
        let section = json["blocks"][1]["text"]["text"].as_str().unwrap();
        assert_eq!(section.chars().count(), MAX_SECTION_CHARS);
        assert!(section.ends_with('…'));
        assert_eq!(json["blocks"][2]["elements"][0]["action_id"], "watch");
        assert_eq!(json["blocks"][2]["elements"][0]["style"], "primary");
        let red = Message {
            accent: Some(crate::slack::message::Accent("#d62728")),
            ..message
        };
        let json = to_json(&red);
        assert_eq!(json["attachments"][0]["color"], "#d62728");
        assert_eq!(json["attachments"][0]["blocks"][0]["type"], "header");
        assert!(json.get("blocks").is_none());
        assert!(json.get("metadata").is_none(), "no id, no metadata");
    }

    #[test]
    fn a_post_id_is_rendered_as_invisible_metadata_and_found_again() {
        let post_id = PostId {
            id: "0f3c-msg/C0ALERTS01/card".into(),
            earlier_attempt: None,
        };
        let message = Message::markdown(Mrkdwn::trusted("hello")).with_post_id(post_id.clone());
        let json = to_json(&message);
        assert_eq!(
            json["metadata"],
            serde_json::json!({
                "event_type": "chatops_post",
                "event_payload": {"id": "0f3c-msg/C0ALERTS01/card"}
            })
        );
        assert_eq!(json["text"], "hello", "the visible content is unchanged");
        let echoed: SlackMessageMetadata =
            serde_json::from_value(json["metadata"].clone()).unwrap();
        assert!(carries_post_id(&echoed, &post_id.id));
        assert!(!carries_post_id(&echoed, "0f3c-msg/C0ALERTS01/card-full"));
        let other_app = SlackMessageMetadata::new("deploy".into())
            .with_event_payload([("id".to_owned(), post_id.id.clone())].into());
        assert!(!carries_post_id(&other_app, &post_id.id));
    }

    #[test]
    fn a_placeholder_and_its_final_text_are_marked_in_metadata() {
        let message = Message::markdown(Mrkdwn::trusted("🤖 asking…"));
        let placeholder = to_json(&message.clone().with_standing(Standing::Placeholder));
        assert_eq!(
            placeholder["metadata"]["event_type"],
            PLACEHOLDER_EVENT_TYPE
        );
        let last = to_json(&message.clone().with_standing(Standing::Final));
        assert_eq!(last["metadata"]["event_type"], FINAL_EVENT_TYPE);
        let post_id = PostId {
            id: "p".into(),
            earlier_attempt: None,
        };
        let both = to_json(
            &message
                .with_standing(Standing::Placeholder)
                .with_post_id(post_id),
        );
        assert_eq!(
            both["metadata"]["event_type"], POST_EVENT_TYPE,
            "a post id wins"
        );
    }
}
