//! Unit tests for the card helpers: escaping, cutting, links, times, conditions, notes, digest.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use time::macros::datetime;

use super::builder::{cap_blocks, overflow_message, Cut};
use super::text::{clip, link, width};
use super::*;
use crate::alarms::{parse_sqs_message, AlarmState, NotificationKind};
use crate::slack::message::{Block, Mrkdwn};

/// A raw-delivery CloudWatch SNS alarm message.
fn alarm(name: &str, reason: &str, state: &str, region: &str) -> Notification {
    let body = json!({
        "AlarmName": name,
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "OldStateValue": "OK",
        "NewStateReason": reason,
        "StateChangeTime": "2024-03-11T13:53:39.351+0000",
        "Region": region,
        "Trigger": {
            "MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "Statistic": "AVERAGE",
            "Dimensions": [{"name": "InstanceId", "value": "i-0abc"}],
            "Period": 300, "EvaluationPeriods": 3, "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 80.0
        }
    });
    parse_sqs_message(&body.to_string(), &BTreeMap::new())
}

fn section_texts(message: &Message) -> Vec<&str> {
    message
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Section { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn aws_text_is_neutralised_and_broadcasts_are_broken() {
    assert_eq!(
        plain_text("a\u{202e}b\u{2066}c\u{0}d\n\te\u{200b}🔥"),
        "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\n\te\u{200b}🔥"
    );
    assert_eq!(
        mrkdwn_plain("hi @Channel and @here, mail a@example.com"),
        "hi @\u{2060}Channel and @\u{2060}here, mail a@example.com"
    );
    assert_eq!(
        text::esc("<!channel> & <http://x|y>"),
        "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
    );
}

#[test]
fn clip_keeps_short_text_and_cuts_long_text_visibly_within_budget() {
    assert_eq!(clip("a < b", 100), ("a &lt; b".to_owned(), false));
    let long = "word & ".repeat(1000);
    let (shown, cut) = clip(&long, 500);
    assert!(cut);
    assert!(width(&shown) <= 500, "{}", width(&shown));
    assert!(shown.ends_with(FULL_TEXT_IN_THREAD));
    let body = shown.trim_end_matches(FULL_TEXT_IN_THREAD);
    assert!(
        body.ends_with("&amp;") || body.ends_with("word"),
        "{body:?}"
    );
    // Emoji count double (UTF-16) so the cut never exceeds Slack's count either way.
    let (shown, _) = clip(&"🔥".repeat(400), 300);
    assert!(width(&shown) <= 300);
}

#[test]
fn links_encode_what_would_break_them_and_escape_labels() {
    assert_eq!(
        link("https://wiki.example/run book|x>y?a=1&b=2", "Run <book>"),
        "<https://wiki.example/run%20book%7Cx%3Ey?a=1&amp;b=2|Run &lt;book&gt;>"
    );
    assert_eq!(
        link("javascript:alert(1)", "Runbook"),
        "Runbook: `javascript:alert(1)`"
    );
}

#[test]
fn mentions_only_for_slack_shaped_ids() {
    assert!(is_user_id("U024BE7LH") && is_user_id("W0123ABC"));
    assert!(!is_user_id("u024") && !is_user_id("U") && !is_user_id("U12 3") && !is_user_id("S123"));
    assert_eq!(text::user_mention("U024BE7LH"), "<@U024BE7LH>");
    assert_eq!(text::user_mention("<!channel>"), "&lt;!channel&gt;");
    assert_eq!(text::group_mention("S0123ABCD"), "<!subteam^S0123ABCD>");
    assert_eq!(text::group_mention("here>"), "@here&gt;");
    let many: Vec<String> = (0..25).map(|i| format!("U{i:03}")).collect();
    let list = text::watcher_list(&many, 20);
    assert!(
        list.starts_with("<@U000>, <@U001>") && list.ends_with(" and 5 more"),
        "{list}"
    );
}

#[test]
fn durations_periods_and_times() {
    let cases = [
        (0, "0s"),
        (45, "45s"),
        (720, "12m"),
        (725, "12m 5s"),
        (3720, "1h 2m"),
        (90_000, "1d 1h"),
    ];
    for (secs, text) in cases {
        assert_eq!(format_duration(Duration::from_secs(secs)), text);
    }
    let periods = [
        (60, "1m"),
        (300, "5m"),
        (3600, "1h"),
        (86_400, "1d"),
        (10, "10s"),
        (90, "90s"),
    ];
    for (secs, text) in periods {
        assert_eq!(text::format_period(secs), text);
    }
    let at = datetime!(2024-03-11 15:53:39.351 +02:00);
    assert_eq!(format_time(at), "2024-03-11 13:53:39 UTC");
    assert_eq!(format_clock(at), "13:53:39 UTC");
}

#[test]
fn console_links_per_partition_and_kind() {
    let n = alarm("<!channel> cpu|high", "r", "ALARM", "EU (Ireland)");
    assert_eq!(
        console_url(&n).as_deref(),
        Some("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/%3C%21channel%3E%20cpu%7Chigh")
    );
    let china = alarm("a", "r", "ALARM", "China (Beijing)");
    assert!(console_url(&china)
        .is_some_and(|url| url
            .starts_with("https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#")));
    let gov = alarm("a", "r", "ALARM", "AWS GovCloud (US-East)");
    assert!(console_url(&gov)
        .is_some_and(|url| url.starts_with("https://console.amazonaws-us-gov.com/")));
    let nowhere = alarm("a", "r", "ALARM", "EXAMPLE");
    assert_eq!(console_url(&nowhere), None);
}

#[test]
fn single_metric_condition_reads_like_the_console() {
    let n = alarm("cpu", "r", "ALARM", "US East (Ohio)");
    let condition = &n.as_alarm().expect("alarm").condition;
    assert_eq!(
        condition::summary(condition).as_deref(),
        Some("CPUUtilization > 80 for 3×5m (Average, AWS/EC2, InstanceId=i-0abc)")
    );
}

#[test]
fn overflow_splits_into_sections_and_counts_what_does_not_fit() {
    let text = "line & more\n".repeat(1000);
    let cuts = [Cut {
        label: "Reason".into(),
        text: text.clone(),
        code: false,
    }];
    let message = overflow_message("x", &cuts);
    let sections = section_texts(&message);
    assert!(sections.len() > 2);
    assert!(sections.iter().all(|s| width(s) <= 3000));
    assert_eq!(sections[1..].concat(), crate::slack::message::escape(&text));

    let huge = "x".repeat(250_000);
    let cuts = [Cut {
        label: "Reason".into(),
        text: huge,
        code: true,
    }];
    let message = overflow_message("x", &cuts);
    let sections = section_texts(&message);
    assert_eq!(sections.len(), MAX_OVERFLOW_SECTIONS);
    let shown: usize = sections[1..sections.len() - 1]
        .iter()
        .map(|s| {
            s.trim_start_matches("```\n")
                .trim_end_matches("\n```")
                .len()
        })
        .sum();
    let last = sections.last().expect("a last section");
    assert!(
        last.contains(&format!("{} more characters omitted", 250_000 - shown)),
        "{last}"
    );
}

#[test]
fn blocks_are_capped_keeping_the_last() {
    let blocks: Vec<Block> = (0..60)
        .map(|_| Block::Divider)
        .chain([Block::Actions(vec![])])
        .collect();
    let capped = cap_blocks(blocks);
    assert_eq!(capped.len(), 50);
    assert!(matches!(capped.last(), Some(Block::Actions(_))));
    assert!(
        matches!(&capped[48], Block::Context(items) if items[0].as_str().contains("12 more blocks"))
    );
}

#[test]
fn long_header_is_cut_to_150_and_kept_for_the_thread() {
    let n = alarm(&"N".repeat(300), "r", "ALARM", "US East (Ohio)");
    let rendered = card(&n, &CardState::default(), &CardOptions::default());
    let Some(Block::Header(header)) = rendered.message.blocks.first() else {
        panic!("header first");
    };
    assert_eq!(
        width(header),
        MAX_HEADER_CHARS,
        "counted in UTF-16 units, 🔴 is two"
    );
    assert!(header.ends_with('…'));
    let overflow = rendered.overflow.expect("overflow");
    assert!(section_texts(&overflow)
        .iter()
        .any(|s| *s == "N".repeat(300)));
}

#[test]
fn transition_notes_say_what_changed() {
    let firing = alarm("cpu", "went <up> & up", "ALARM", "US East (Ohio)");
    let note = transition_note(&firing, Some(AlarmState::Ok), &CardState::default()).message;
    assert_eq!(
        section_texts(&note),
        ["🔴 *OK → ALARM* at 13:53:39 UTC: went &lt;up&gt; &amp; up"]
    );
    let resolved = alarm("cpu", "fine", "OK", "US East (Ohio)");
    let state = CardState {
        resolved_after: Some(Duration::from_secs(725)),
        ..CardState::default()
    };
    let note = transition_note(&resolved, Some(AlarmState::Alarm), &state);
    assert!(note.overflow.is_none(), "nothing was cut");
    let note = note.message;
    assert_eq!(
        section_texts(&note),
        ["✅ *ALARM → OK* at 13:53:39 UTC, resolved after 12m 5s: fine"]
    );
    let huge = alarm("cpu", &"y".repeat(10_000), "ALARM", "US East (Ohio)");
    let rendered = transition_note(&huge, None, &CardState::default());
    let text = section_texts(&rendered.message)[0];
    assert!(width(text) <= 3000 && text.contains("more characters, full text in thread"));
    let full = rendered.overflow.expect("the cut reason, in full");
    let full_text: String = section_texts(&full).concat();
    assert_eq!(
        full_text.matches('y').count(),
        10_000,
        "every character of the reason"
    );
}

#[test]
fn watch_notes_and_nudges() {
    let note = watch_note("U1ABC", true, &["U1ABC".into(), "bad id".into()]);
    assert_eq!(
        section_texts(&note),
        ["👀 <@U1ABC> is watching this.\nWatching: <@U1ABC>, bad id"]
    );
    let note = watch_note("U1ABC", false, &[]);
    assert_eq!(
        section_texts(&note),
        ["🙈 <@U1ABC> stopped watching. Nobody is watching now."]
    );
    let nudge = nudge(Some("S0123ABCD"), Duration::from_secs(900));
    assert_eq!(
        section_texts(&nudge),
        ["⏰ <!subteam^S0123ABCD> Nobody has pressed 👀 *Watching* for 15m. Is anyone looking at this?"]
    );
    let plain = super::nudge(None, Duration::from_secs(60));
    assert!(!section_texts(&plain)[0].contains('<'));
}

/// The buttons of a card: (action_id, label).
fn buttons_of(message: &Message) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for block in &message.blocks {
        if let Block::Actions(buttons) = block {
            found.extend(
                buttons
                    .iter()
                    .map(|b| (b.action_id.clone(), b.label.clone())),
            );
        }
    }
    found
}

#[test]
fn roll_back_shows_only_on_a_firing_alarm_with_a_version_to_go_back_to() {
    let offering = CardOptions {
        rollback_to: Some("v1.2.2".into()),
        ..CardOptions::default()
    };
    let firing = alarm("checkout-5xx", "up", "ALARM", "EU (Ireland)");
    let shown = buttons_of(&card(&firing, &CardState::default(), &offering).message);
    assert_eq!(
        shown.last(),
        Some(&(
            "alarm.rollback".to_owned(),
            "⏪ Roll back to v1.2.2".to_owned()
        ))
    );
    let without =
        buttons_of(&card(&firing, &CardState::default(), &CardOptions::default()).message);
    assert!(
        without.iter().all(|(id, _)| id != "alarm.rollback"),
        "{without:?}"
    );
    for state in ["OK", "INSUFFICIENT_DATA"] {
        let calm = alarm("checkout-5xx", "down", state, "EU (Ireland)");
        let shown = buttons_of(&card(&calm, &CardState::default(), &offering).message);
        assert!(
            shown.iter().all(|(id, _)| id != "alarm.rollback"),
            "{state}: {shown:?}"
        );
    }
}

#[test]
fn digest_counts_worst_first_and_moves_long_lists_to_the_thread() {
    let line = |name: &str, state: &str, kind| DigestLine {
        name: name.into(),
        state: state.into(),
        at: Some(datetime!(2024-03-11 13:53:39 UTC)),
        kind,
    };
    let lines = [
        line("db <!here>", "OK", NotificationKind::Alarm),
        line("cpu", "ALARM", NotificationKind::Alarm),
        line("web", "FAILED", NotificationKind::Pipeline),
        line("mem", "alarm", NotificationKind::Alarm),
    ];
    let rendered = digest(&lines, Duration::from_secs(300));
    let texts = section_texts(&rendered.message);
    assert_eq!(texts[0], "🔴 *ALARM* 2  ·  ❌ *FAILED* 1  ·  ✅ *OK* 1");
    assert!(texts[1].starts_with("✅ db &lt;!here&gt; — OK at 13:53:39 UTC\n🔴 cpu — ALARM"));
    assert!(texts[1].contains("❌ web — FAILED at 13:53:39 UTC (pipeline)"));
    assert_eq!(rendered.message.accent, Some(RED));
    assert!(rendered.overflow.is_none());

    let many: Vec<DigestLine> = (0..400)
        .map(|i| line(&format!("alarm-{i}"), "ALARM", NotificationKind::Alarm))
        .collect();
    let rendered = digest(&many, Duration::from_secs(300));
    assert!(rendered.message.blocks.len() <= 50);
    assert!(section_texts(&rendered.message)
        .iter()
        .all(|s| width(s) <= 3000));
    let shown = section_texts(&rendered.message)
        .iter()
        .map(|s| s.matches("alarm-").count())
        .sum::<usize>();
    assert_eq!(shown, 100);
    let overflow = rendered.overflow.expect("full list in thread");
    assert!(section_texts(&overflow)
        .concat()
        .contains("alarm-399 — ALARM"));
    let note =
        Mrkdwn::trusted("… and 300 more: the full list goes to the thread when the storm ends.");
    assert!(rendered
        .message
        .blocks
        .contains(&Block::Context(vec![note])));
}

#[test]
fn a_test_alarm_says_so_and_pages_nobody() {
    let paging = CardOptions {
        mention: Some("S0123ABCD".into()),
        ..CardOptions::default()
    };
    let real = alarm("checkout-5xx", "up", "ALARM", "EU (Ireland)");
    let mut test = real.clone();
    test.attributes
        .insert(crate::alarms::TEST_ALARM_ATTRIBUTE.into(), "1".into());
    assert!(test.is_test() && !real.is_test());

    let real_card = card(&real, &CardState::default(), &paging).message;
    assert!(format!("{real_card:?}").contains("<!subteam^S0123ABCD>"));
    assert!(!format!("{real_card:?}").contains("Test alarm"));

    let test_card = card(&test, &CardState::default(), &paging).message;
    let shown = format!("{test_card:?}");
    assert!(!shown.contains("subteam"), "{shown}");
    assert!(shown.contains(super::alarm::TEST_ALARM_NOTE), "{shown}");
}
