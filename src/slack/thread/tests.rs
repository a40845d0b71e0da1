//! Unit tests of the transcript's pure half: what is kept, names, participants, permalinks.

use std::collections::HashMap;

use super::*;
use crate::slack::interaction::TeamId;

fn me() -> BotIdentity {
    BotIdentity {
        user_id: UserId("U0BOT".into()),
        name: "chatops".into(),
        team: "Acme".into(),
        team_id: TeamId("T1".into()),
        bot_id: Some("B0BOT".into()),
        team_url: Some("https://acme.slack.com/".into()),
    }
}

fn message(ts: &str, user: Option<&str>, text: &str) -> ThreadMessage {
    ThreadMessage {
        ts: MessageTs(ts.into()),
        user: user.map(|u| UserId(u.into())),
        bot_id: None,
        bot_name: None,
        text: text.into(),
        subtype: None,
        event_type: None,
    }
}

fn own(ts: &str, text: &str, event_type: Option<&str>) -> ThreadMessage {
    ThreadMessage {
        bot_id: Some("B0BOT".into()),
        event_type: event_type.map(str::to_owned),
        ..message(ts, Some("U0BOT"), text)
    }
}

#[test]
fn placeholders_and_joins_go_cards_answers_and_people_stay() {
    let read = ThreadRead {
        messages: vec![
            own(
                "1700000000.000100",
                "🚨 ALARM api-5xx",
                Some("chatops_post"),
            ),
            message(
                "1700000060.000200",
                Some("U1"),
                "looking <@U2> &amp; <!here>",
            ),
            own(
                "1700000070.000300",
                "🤖 Asking the agent…",
                Some("chatops_placeholder"),
            ),
            own(
                "1700000080.000400",
                "The cause is a deploy.",
                Some("chatops_final"),
            ),
            ThreadMessage {
                subtype: Some("channel_join".into()),
                ..message("1700000090.000500", Some("U3"), "<@U3> has joined")
            },
            ThreadMessage {
                bot_id: Some("B9".into()),
                bot_name: Some("deploy-bot".into()),
                subtype: Some("bot_message".into()),
                ..message("1700000100.000600", None, "rolled back")
            },
            message("1700000110.000700", Some("U1"), "thanks"),
        ],
        cut: false,
        calls: 1,
    };
    let names: HashMap<String, String> = [("U1", "ann"), ("U2", "bob")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let root = MessageTs("1700000000.000100".into());
    let channel = ChannelId("C0OPS".into());
    let link = "https://acme.slack.com/archives/C0OPS/p1700000000000100";
    let t = transcript(read, &me(), &channel, &root, link, &names);
    let texts: Vec<(&str, &str)> = t
        .messages
        .iter()
        .map(|m| (m.author.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            ("chatops", "🚨 ALARM api-5xx"),
            ("ann", "looking @bob & @here"),
            ("chatops", "The cause is a deploy."),
            ("deploy-bot", "rolled back"),
            ("ann", "thanks"),
        ]
    );
    assert_eq!(t.left_out, 2, "the placeholder and the join");
    assert!(t.messages[0].is_own && t.messages[0].is_bot);
    assert!(t.messages[3].is_bot && !t.messages[3].is_own);
    assert_eq!(
        t.participants,
        [Participant {
            user: UserId("U1".into()),
            name: "ann".into(),
            messages: 2
        }]
    );
    assert_eq!(t.messages[0].permalink, link);
    assert_eq!(
        t.messages[1].permalink,
        "https://acme.slack.com/archives/C0OPS/p1700000060000200?thread_ts=1700000000.000100&cid=C0OPS"
    );
    assert_eq!(
        t.messages[1].time,
        time::macros::datetime!(2023-11-14 22:14:20.0002 UTC)
    );
}

#[test]
fn names_are_looked_up_for_authors_and_mentions_once_each_never_for_the_bot() {
    let read = ThreadRead {
        messages: vec![
            own("1.1", "card <@U9>", None),
            message("1.2", Some("U1"), "<@U2> <@U0BOT> <@U1>"),
            message("1.3", Some("U2"), "ok"),
            own("1.4", "placeholder <@U7>", Some("chatops_placeholder")),
        ],
        cut: false,
        calls: 1,
    };
    let wanted: Vec<String> = users_to_name(&read, &me())
        .into_iter()
        .map(|u| u.0)
        .collect();
    assert_eq!(wanted, ["U9", "U1", "U2"]);
}
