//! 📝 Reporting and `@bot report`, end to end: the real bot in-process against the fake Slack
//! (Socket Mode, Web API, threads), the fake SQS (the alarm card), the fake InvokeAgent (the
//! summary) and the fake Confluence (Cloud v2 or Data Center v1) over loopback.

mod support;

use std::time::Duration;

use chatops_sandbox::bedrock::{AgentScript, FakeBedrock};
use chatops_sandbox::confluence::{FakeConfluence, FakePage, WikiFault};
use chatops_sandbox::slack::{envelopes, Seed, Target};
use support::alarm_sandbox::{AlarmSandbox, CHANNEL};

const SECOND: Duration = Duration::from_secs(1);
const FIRED: &str = "2026-11-23T13:53:39.351+0000";
const ARN_PREFIX: &str = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:";
const SUMMARY: &str = "What happened\nThe checkout API returned 5xx after a deploy.\nImpact\n- 3% of checkouts failed";

#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    Cloud,
    DataCenter,
}

struct Rig {
    s: AlarmSandbox,
    wiki: FakeConfluence,
    agent: Option<FakeBedrock>,
    cards: usize,
}

impl Rig {
    async fn start(flavor: Flavor, with_agent: bool) -> Rig {
        let wiki = FakeConfluence::start().await.unwrap();
        wiki.add_space("OPS");
        let confluence = match flavor {
            Flavor::Cloud => format!(
                "[confluence]\nbase_url = \"{}\"\nuser = \"{}\"\napi_token = \"{}\"\nspace_key = \"OPS\"\ntimeout = \"5s\"\n",
                wiki.base_url(),
                wiki.user(),
                wiki.api_token()
            ),
            Flavor::DataCenter => format!(
                "[confluence]\nbase_url = \"{}\"\napi_token = \"{}\"\nspace_key = \"OPS\"\nflavor = \"datacenter\"\ntimeout = \"5s\"\n",
                wiki.base_url(),
                wiki.personal_access_token()
            ),
        };
        let agent = if with_agent {
            let agent = FakeBedrock::start().await.unwrap();
            agent.set_default_script(AgentScript::answer_in_pieces(SUMMARY, 3, Duration::ZERO));
            Some(agent)
        } else {
            None
        };
        let bedrock = agent
            .as_ref()
            .map(|a| {
                format!(
                    "[bedrock]\nagent_id = \"AGENT1\"\nagent_alias_id = \"ALIAS1\"\nendpoint_url = \"{}\"\n",
                    a.endpoint_url()
                )
            })
            .unwrap_or_default();
        let extra = format!("unwatched_nudge = \"0s\"\n\n{bedrock}\n{confluence}");
        let s = AlarmSandbox::start(&extra, &[]).await;
        Rig {
            s,
            wiki,
            agent,
            cards: 0,
        }
    }

    /// Publishes a firing alarm and returns its card's ts, once the card is recorded.
    async fn card(&mut self, name: &str) -> String {
        let card = self.s.publish_firing(name, FIRED).await;
        assert!(
            card.params.to_string().contains("alarm.report"),
            "the card shows 📝 Reporting when [confluence] is set"
        );
        self.cards += 1;
        self.s
            .sqs
            .wait_for_deleted(&self.s.queue, self.cards, 10 * SECOND)
            .await
            .unwrap();
        card.response["ts"].as_str().unwrap().to_owned()
    }

    async fn click(&self, root: &str, name: &str) {
        let value = format!("{ARN_PREFIX}{name}");
        self.s
            .slack
            .send(
                Target::Any,
                envelopes::block_actions(CHANNEL, "U0ALICE", root, "alarm.report", &value),
            )
            .await
            .unwrap();
    }

    /// The thread's `nth` report outcome (1-based), once the placeholder was replaced.
    async fn outcome(&self, root: &str, nth: usize) -> String {
        for _ in 0..300 {
            let notes: Vec<String> = self
                .s
                .slack
                .thread_texts(CHANNEL, root)
                .into_iter()
                .filter(|t| t.contains("Incident report") || t.contains("incident report failed"))
                .collect();
            if notes.len() >= nth {
                return notes[nth - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no report outcome {nth} in thread {root} within 30 s: {:?}",
            self.s.slack.thread_texts(CHANNEL, root)
        );
    }

    fn only_page(&self) -> FakePage {
        let pages = self.wiki.pages();
        assert_eq!(pages.len(), 1, "{pages:?}");
        pages.into_iter().next().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_creates_the_report_and_a_second_click_updates_the_same_page() {
    let mut rig = Rig::start(Flavor::Cloud, true).await;
    let root = rig.card("checkout-api-5xx").await;
    rig.s.slack.seed_messages(
        CHANNEL,
        Some(&root),
        [
            Seed::user(
                "U0ALICE",
                "Looking at <https://grafana.example/d/1|the dashboard> now",
            ),
            Seed::user("U0BOB", "Rolled back v1.2.3 &amp; errors dropped"),
        ],
    );
    rig.click(&root, "checkout-api-5xx").await;
    let first = rig.outcome(&root, 1).await;
    assert!(first.contains("Incident report created"), "{first}");
    let page = rig.only_page();
    assert!(
        page.title.starts_with("[INCIDENT] checkout-api-5xx — "),
        "{}",
        page.title
    );
    assert!(first.contains(&page.title.replace('&', "&amp;")) || first.contains("[INCIDENT]"));
    assert_eq!(page.version, 1);
    for section in [
        "Summary",
        "Alarm details",
        "Timeline",
        "Participants and watchers",
        "analyses",
        "Links",
        "Last synced",
    ] {
        assert!(
            page.body.contains(section),
            "missing {section}: {}",
            page.body
        );
    }
    assert!(page
        .body
        .contains("The checkout API returned 5xx after a deploy."));
    assert!(
        page.body
            .contains("Rolled back v1.2.3 &amp; errors dropped"),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"https://grafana.example/d/1\""));
    assert!(
        page.body.contains("ac:name=\"status\""),
        "the state is a status lozenge"
    );
    // The card shows the report (and keeps showing it).
    let card = rig
        .s
        .top_level()
        .into_iter()
        .find(|m| m.ts == root)
        .unwrap();
    let card_text = format!("{:?}{:?}", card.blocks, card.attachments);
    assert!(card_text.contains("Incident report"), "{card_text}");
    assert!(card_text.contains("/pages/"), "{card_text}");
    let agent = rig.agent.as_ref().unwrap();
    let asked = agent.invocations();
    assert_eq!(asked.len(), 1);
    assert!(asked[0]
        .input_text
        .contains("Rolled back v1.2.3 & errors dropped"));

    rig.s.slack.seed_messages(
        CHANNEL,
        Some(&root),
        [Seed::user("U0ALICE", "Postmortem on Monday")],
    );
    rig.click(&root, "checkout-api-5xx").await;
    let second = rig.outcome(&root, 2).await;
    assert!(second.contains("Incident report updated"), "{second}");
    let page = rig.only_page();
    assert_eq!(page.version, 2, "the same page, one version up");
    assert!(page.body.contains("Postmortem on Monday"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_agent_the_page_is_still_made_and_says_why_there_is_no_summary() {
    let mut rig = Rig::start(Flavor::Cloud, false).await;
    let root = rig.card("db-cpu").await;
    rig.click(&root, "db-cpu").await;
    assert!(rig.outcome(&root, 1).await.contains("created"));
    let page = rig.only_page();
    assert!(page.body.contains("No summary"), "{}", page.body);
    assert!(page.body.contains("not configured"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_agent_still_gives_a_page_with_the_reason() {
    let mut rig = Rig::start(Flavor::Cloud, true).await;
    rig.agent
        .as_ref()
        .unwrap()
        .set_default_script(AgentScript::http_error(
            500,
            "InternalServerException",
            "boom",
        ));
    let root = rig.card("db-cpu").await;
    rig.click(&root, "db-cpu").await;
    assert!(rig.outcome(&root, 1).await.contains("created"));
    let page = rig.only_page();
    assert!(page.body.contains("No summary"), "{}", page.body);
    assert!(page.body.contains("the agent failed"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_taken_by_another_page_gets_a_suffix() {
    let mut rig = Rig::start(Flavor::Cloud, false).await;
    let root = rig.card("disk-full").await;
    // Someone else's page already has the title the report would take: the alarm's name and
    // the thread's start (the card's ts) in UTC.
    let secs: f64 = root.parse().unwrap();
    let at = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap();
    let minute = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let title_from_ts = format!("[INCIDENT] disk-full — {} UTC", at.format(&minute).unwrap());
    rig.wiki
        .seed_page("OPS", &title_from_ts, "<p>someone else's notes</p>")
        .unwrap();
    rig.click(&root, "disk-full").await;
    let outcome = rig.outcome(&root, 1).await;
    assert!(outcome.contains("created"), "{outcome}");
    let ours = rig
        .wiki
        .page_titled("OPS", &format!("{title_from_ts} (2)"))
        .expect("the report took the next free title");
    assert!(ours.body.contains("Alarm details"));
    let theirs = rig.wiki.page_titled("OPS", &title_from_ts).unwrap();
    assert_eq!(theirs.version, 1, "the other page is left alone");
    assert!(theirs.body.contains("someone else"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_throttling_is_waited_out_and_a_refusal_is_told_then_retried() {
    let mut rig = Rig::start(Flavor::Cloud, false).await;
    let root = rig.card("api-latency").await;
    rig.wiki.push_fault(WikiFault::throttled(1, 1));
    rig.click(&root, "api-latency").await;
    assert!(rig.outcome(&root, 1).await.contains("created"));
    assert_eq!(rig.wiki.pages().len(), 1);

    let root = rig.card("api-errors").await;
    rig.wiki.deny_writes(true);
    rig.click(&root, "api-errors").await;
    let failed = rig.outcome(&root, 1).await;
    assert!(
        failed.contains("failed") && failed.contains("try again"),
        "{failed}"
    );
    assert_eq!(rig.wiki.pages().len(), 1, "nothing was created");
    rig.wiki.deny_writes(false);
    rig.click(&root, "api-errors").await;
    assert!(rig.outcome(&root, 2).await.contains("created"));
    assert_eq!(rig.wiki.pages().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_thread_content_is_inert_text_on_the_page() {
    let mut rig = Rig::start(Flavor::Cloud, false).await;
    let root = rig.card("hostile").await;
    let hostile =
        "</ac:structured-macro>]]><script>alert(1)</script> &amp;nbsp; <!channel> שלום 🔥 𝕏";
    rig.s
        .slack
        .seed_messages(CHANNEL, Some(&root), [Seed::user("U0EVE", hostile)]);
    rig.click(&root, "hostile").await;
    assert!(rig.outcome(&root, 1).await.contains("created"));
    // The fake refuses bodies that are not well-formed XML, as Confluence does: it was accepted.
    let page = rig.only_page();
    assert!(
        page.body
            .contains("&lt;/ac:structured-macro&gt;]]&gt;&lt;script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>"));
    assert!(
        !page.body.contains("&nbsp;"),
        "no HTML entities are written"
    );
    assert!(page.body.contains("שלום 🔥 𝕏"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_message_thread_is_read_in_pages_and_mention_report_works_on_data_center() {
    let mut rig = Rig::start(Flavor::DataCenter, false).await;
    let root = rig.card("queue-depth").await;
    let seeds =
        (0..500).map(|i| Seed::user(["U0ALICE", "U0BOB", "U0CAROL"][i % 3], format!("step {i}")));
    rig.s.slack.seed_messages(CHANNEL, Some(&root), seeds);
    rig.s
        .slack
        .send(
            Target::Any,
            envelopes::app_mention_in_thread(CHANNEL, "U0BOB", "<@U0BOT> report", &root),
        )
        .await
        .unwrap();
    assert!(rig.outcome(&root, 1).await.contains("created"));
    let page = rig.only_page();
    assert!(
        page.body.contains("step 0<") && page.body.contains("step 499<"),
        "every message is on the page"
    );
    let replies = rig.s.slack.calls_to("conversations.replies").len();
    assert_eq!(replies, 3, "500 messages and the card: 3 pages of 200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_two_clicks_still_updates_the_same_page() {
    let mut rig = Rig::start(Flavor::Cloud, true).await;
    let root = rig.card("orders-latency").await;
    rig.s.slack.seed_messages(
        CHANNEL,
        Some(&root),
        [Seed::user("U0ALICE", "Before the restart")],
    );
    rig.click(&root, "orders-latency").await;
    assert!(rig.outcome(&root, 1).await.contains("created"));
    let first = rig.only_page();

    rig.s = rig.s.restart().await;
    rig.s.slack.seed_messages(
        CHANNEL,
        Some(&root),
        [Seed::user("U0BOB", "After the restart")],
    );
    rig.click(&root, "orders-latency").await;
    let second = rig.outcome(&root, 2).await;
    assert!(second.contains("Incident report updated"), "{second}");
    let page = rig.only_page();
    assert_eq!(page.id, first.id, "the page the store remembered");
    assert_eq!(page.version, 2);
    assert!(page.body.contains("Before the restart") && page.body.contains("After the restart"));
    assert_eq!(
        rig.wiki.pages().len(),
        1,
        "no second page after the restart"
    );
}
