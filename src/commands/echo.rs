//! `@bot echo [text]` and `/<prefix>-echo [text]`: a liveness probe that answers with the text, the bot's version, its uptime and its Socket Mode connections.

use std::time::Duration;

use crate::context::Context;
use crate::health::seconds;
use crate::slack::message::{Message, Mrkdwn};

/// The longest echoed text, in characters; longer text is cut, and says so.
const MAX_ECHO: usize = 300;

/// The reply, as of now.
pub fn message(ctx: &Context, text: &str) -> Message {
    let health = &ctx.health;
    render(
        text,
        health.uptime(),
        health.connections_up(),
        health.limits().connections,
    )
}

/// The echo (escaped: `<!channel>` comes back as text, never as a mention), then one line of
/// facts: "chatops-bot 0.1.0 · up 3h 2m 5s · 2/2 Slack connections".
pub fn render(text: &str, uptime: Duration, up: usize, wanted: usize) -> Message {
    let text: String = text.trim().chars().filter(|c| !c.is_control()).collect();
    let mut reply = Mrkdwn::trusted("🏓 ");
    if text.is_empty() {
        reply.push("pong");
    } else {
        let cut: String = text.chars().take(MAX_ECHO).collect();
        reply.push_escaped(&cut);
        if cut.len() < text.len() {
            reply.push(" … (cut)");
        }
    }
    reply.push(&format!(
        "\n`chatops-bot {}` · up {} · {up}/{wanted} Slack connections",
        env!("CARGO_PKG_VERSION"),
        seconds(uptime)
    ));
    Message::markdown(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(message: &Message) -> String {
        message.text.clone()
    }

    #[test]
    fn the_text_comes_back_escaped_with_the_facts() {
        let reply = render(
            "  hello <!channel> & <@U0ALICE>\n",
            Duration::from_secs(3 * 3600 + 125),
            2,
            2,
        );
        assert_eq!(
            shown(&reply),
            format!(
                "🏓 hello &lt;!channel&gt; &amp; &lt;@U0ALICE&gt;\n`chatops-bot {}` · up 3h 2m 5s · 2/2 Slack connections",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn no_text_is_a_pong_and_long_text_is_cut() {
        let pong = render("", Duration::ZERO, 1, 2);
        assert!(shown(&pong).starts_with("🏓 pong\n"), "{}", shown(&pong));
        assert!(shown(&pong).ends_with("up 0s · 1/2 Slack connections"));
        let long = render(&"é".repeat(1_000), Duration::ZERO, 1, 1);
        assert_eq!(shown(&long).matches('é').count(), MAX_ECHO);
        assert!(shown(&long).contains(" … (cut)"));
        let odd = render("a\u{0}b\u{7}c", Duration::ZERO, 1, 1);
        assert!(shown(&odd).starts_with("🏓 abc\n"), "{}", shown(&odd));
    }
}
