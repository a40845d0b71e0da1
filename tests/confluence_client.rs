//! `ConfluenceWiki` (the real reqwest client) against the sandbox's fake Confluence over
//! loopback, in both flavours: pages created, found, read and updated; title clashes, version
//! conflicts, throttling, a hung server, refused credentials and hostile content.

use std::time::Duration;

use chatops_bot::config::{ConfluenceConfig, ConfluenceFlavor};
use chatops_bot::integrations::confluence::storage::{Document, Inline, StatusColour};
use chatops_bot::integrations::confluence::{
    ConfluenceWiki, RetryBackoff, StorageXml, Wiki, WikiError, MAX_UPDATE_ATTEMPTS,
};
use chatops_bot::secrets::Secret;
use chatops_sandbox::confluence::{FakeConfluence, WikiFault, WikiFlavor};
use tokio::time::Instant;

const FLAVORS: [ConfluenceFlavor; 2] = [ConfluenceFlavor::Cloud, ConfluenceFlavor::DataCenter];

fn config(fake: &FakeConfluence, flavor: ConfluenceFlavor) -> ConfluenceConfig {
    let (user, token) = match flavor {
        ConfluenceFlavor::Cloud => (Some(fake.user()), fake.api_token()),
        ConfluenceFlavor::DataCenter => (None, fake.personal_access_token()),
    };
    ConfluenceConfig {
        base_url: format!("{}/", fake.base_url())
            .parse()
            .expect("the fake's URL parses"),
        user,
        api_token: Secret::from(token),
        space_key: "OPS".into(),
        parent_id: None,
        flavor,
        timeout: Duration::from_secs(15),
    }
}

fn wiki(config: &ConfluenceConfig) -> ConfluenceWiki {
    ConfluenceWiki::new(config)
        .expect("the client builds")
        .with_backoff(RetryBackoff {
            first: Duration::from_millis(20),
            max: Duration::from_millis(100),
            max_attempts: 5,
        })
}

async fn fake_with_ops() -> FakeConfluence {
    let fake = FakeConfluence::start().await.expect("the fake starts");
    fake.add_space("OPS");
    fake
}

fn body(text: &str) -> StorageXml {
    let mut page = Document::new();
    page.heading(2, "Summary").text(text);
    page.finish()
}

fn wiki_flavor(flavor: ConfluenceFlavor) -> WikiFlavor {
    match flavor {
        ConfluenceFlavor::Cloud => WikiFlavor::Cloud,
        ConfluenceFlavor::DataCenter => WikiFlavor::DataCenter,
    }
}

#[tokio::test]
async fn a_page_is_created_found_read_and_updated_to_version_2_in_both_flavours() {
    for flavor in FLAVORS {
        let fake = fake_with_ops().await;
        let wiki = wiki(&config(&fake, flavor));
        let title = "[INCIDENT] checkout-api-5xx — 2026-12-06 14:05 UTC";
        assert_eq!(wiki.find_page(title).await.unwrap(), None, "{flavor:?}");
        let created = wiki.create_page(title, &body("first"), None).await.unwrap();
        assert_eq!((created.title.as_str(), created.version), (title, 1));
        assert!(
            created.url.starts_with(&fake.base_url()) && created.url.contains(&created.id),
            "{flavor:?}: {}",
            created.url
        );
        let found = wiki.find_page(title).await.unwrap();
        assert_eq!(found.as_ref(), Some(&created), "{flavor:?}");
        assert_eq!(wiki.get_page(&created.id).await.unwrap(), created);
        let updated = wiki
            .update_page(&created.id, title, &body("second"))
            .await
            .unwrap();
        assert_eq!(
            (updated.id.as_str(), updated.version),
            (created.id.as_str(), 2)
        );
        let kept = fake.page(&created.id).expect("the fake keeps the page");
        assert_eq!(kept.version, 2);
        assert!(kept.body.contains("second") && !kept.body.contains("first"));
        assert_eq!(fake.pages().len(), 1, "{flavor:?}: no duplicate page");
        let requests = fake.requests();
        assert!(requests
            .iter()
            .all(|request| request.authorized && request.flavor == wiki_flavor(flavor)));
        if flavor == ConfluenceFlavor::Cloud {
            let lookups = requests
                .iter()
                .filter(|request| request.path == "/wiki/api/v2/spaces")
                .count();
            assert_eq!(lookups, 1, "the space id is looked up once and cached");
        }
        fake.shutdown().await;
    }
}

#[tokio::test]
async fn pages_go_under_the_given_or_configured_parent() {
    for flavor in FLAVORS {
        let fake = fake_with_ops().await;
        let parent = fake.seed_page("OPS", "Incidents", "<p/>").unwrap();
        let other = fake.seed_page("OPS", "Other parent", "<p/>").unwrap();
        let mut config = config(&fake, flavor);
        config.parent_id = Some(parent.id.clone());
        let wiki = wiki(&config);
        let under_configured = wiki.create_page("A", &body("a"), None).await.unwrap();
        let under_given = wiki
            .create_page("B", &body("b"), Some(&other.id))
            .await
            .unwrap();
        let parent_of = |id: &str| fake.page(id).unwrap().parent_id;
        assert_eq!(parent_of(&under_configured.id), Some(parent.id.clone()));
        assert_eq!(parent_of(&under_given.id), Some(other.id.clone()));
        fake.shutdown().await;
    }
}

#[tokio::test]
async fn a_title_clash_is_title_taken_and_the_page_can_then_be_found() {
    for flavor in FLAVORS {
        let fake = fake_with_ops().await;
        let existing = fake
            .seed_page("OPS", "[INCIDENT] db", "<p>theirs</p>")
            .unwrap();
        let wiki = wiki(&config(&fake, flavor));
        let error = wiki
            .create_page("[INCIDENT] db", &body("ours"), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, WikiError::TitleTaken { title, space_key }
                if title == "[INCIDENT] db" && space_key == "OPS"),
            "{flavor:?}: {error:?}"
        );
        assert_eq!(
            error.human_message(),
            "a page titled \"[INCIDENT] db\" already exists in space OPS"
        );
        let found = wiki.find_page("[INCIDENT] db").await.unwrap().unwrap();
        assert_eq!(found.id, existing.id);
        assert_eq!(fake.page(&existing.id).unwrap().body, "<p>theirs</p>");
        fake.shutdown().await;
    }
}

#[tokio::test]
async fn a_version_conflict_is_read_again_and_retried_within_bounds() {
    for flavor in FLAVORS {
        let fake = fake_with_ops().await;
        let wiki = wiki(&config(&fake, flavor));
        let page = wiki.create_page("T", &body("v1"), None).await.unwrap();
        fake.conflict_next_puts(1);
        let updated = wiki.update_page(&page.id, "T", &body("v3")).await.unwrap();
        assert_eq!(
            updated.version, 3,
            "{flavor:?}: someone else wrote version 2"
        );
        let puts = |fake: &FakeConfluence| {
            fake.requests()
                .iter()
                .filter(|request| request.method == "PUT")
                .map(|request| request.status)
                .collect::<Vec<_>>()
        };
        assert_eq!(puts(&fake), [409, 200], "{flavor:?}");
        fake.conflict_next_puts(100);
        let error = wiki
            .update_page(&page.id, "T", &body("v?"))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, WikiError::VersionConflict { attempts, .. }
                if *attempts == MAX_UPDATE_ATTEMPTS),
            "{flavor:?}: {error:?}"
        );
        assert_eq!(puts(&fake).len(), 2 + MAX_UPDATE_ATTEMPTS as usize);
        fake.shutdown().await;
    }
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after_and_a_503_with_backoff() {
    let fake = fake_with_ops().await;
    let wiki = wiki(&config(&fake, ConfluenceFlavor::Cloud));
    fake.push_fault(WikiFault::throttled(1, 1));
    let page = wiki.create_page("T", &body("x"), None).await.unwrap();
    let requests = fake.requests();
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200, 200],
        "the space lookup was throttled, then it and the create went through"
    );
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured: retried after {waited:?}"
    );
    fake.push_fault(WikiFault::status(503, 2));
    let read = wiki.get_page(&page.id).await.unwrap();
    assert_eq!(read.id, page.id);
    let statuses: Vec<u16> = fake.requests()[3..].iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
    fake.shutdown().await;
}

#[tokio::test]
async fn throttling_past_the_timeout_gives_up_at_once_as_throttled() {
    let fake = fake_with_ops().await;
    let mut config = config(&fake, ConfluenceFlavor::DataCenter);
    config.timeout = Duration::from_secs(3);
    let wiki = wiki(&config);
    fake.push_fault(WikiFault::throttled(1, 60));
    let started = Instant::now();
    let error = tokio::time::timeout(Duration::from_secs(30), wiki.find_page("T"))
        .await
        .expect("it waited out Retry-After: 60")
        .unwrap_err();
    assert!(
        matches!(
            error,
            WikiError::Throttled {
                status: 429,
                attempts: 1
            }
        ),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it waited out Retry-After"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_answers_is_cut_by_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let fake = fake_with_ops().await;
    for flavor in FLAVORS {
        let mut config = config(&fake, flavor);
        config.base_url = format!("http://{addr}/wiki").parse().unwrap();
        config.timeout = Duration::from_secs(1);
        let wiki = wiki(&config);
        let started = Instant::now();
        let page = body("x");
        let call = wiki.create_page("T", &page, None);
        let error = tokio::time::timeout(Duration::from_secs(30), call)
            .await
            .expect("the call was not cut by confluence.timeout")
            .unwrap_err();
        assert!(
            matches!(error, WikiError::Timeout { .. }),
            "{flavor:?}: {error:?}"
        );
        assert_eq!(
            error.human_message(),
            "Confluence did not answer within 1 s"
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "not cut: {:?}",
            started.elapsed()
        );
    }
    holder.abort();
    fake.shutdown().await;
}

#[tokio::test]
async fn refused_credentials_missing_rights_and_missing_things_say_what_to_check() {
    let fake = fake_with_ops().await;
    let mut bad_cloud = config(&fake, ConfluenceFlavor::Cloud);
    bad_cloud.api_token = Secret::from("wrong-token-value".to_owned());
    let error = wiki(&bad_cloud).find_page("T").await.unwrap_err();
    assert!(matches!(error, WikiError::Unauthorized { .. }), "{error:?}");
    let line = error.human_message();
    assert!(
        line.starts_with("Confluence rejected the API token of bot@example.com (401)"),
        "{line}"
    );
    assert!(!line.contains("wrong-token-value"), "{line}");
    let mut bad_datacenter = config(&fake, ConfluenceFlavor::DataCenter);
    bad_datacenter.api_token = Secret::from("wrong-pat".to_owned());
    let line = wiki(&bad_datacenter)
        .find_page("T")
        .await
        .unwrap_err()
        .human_message();
    assert!(
        line.starts_with("Confluence rejected the personal access token (401)"),
        "{line}"
    );

    fake.deny_writes(true);
    let cloud = wiki(&config(&fake, ConfluenceFlavor::Cloud));
    let error = cloud.create_page("T", &body("x"), None).await.unwrap_err();
    assert!(matches!(error, WikiError::Forbidden { .. }), "{error:?}");
    assert!(
        error
            .human_message()
            .starts_with("user bot@example.com may not add pages in space OPS (403)"),
        "{}",
        error.human_message()
    );
    fake.deny_writes(false);

    let mut elsewhere = config(&fake, ConfluenceFlavor::Cloud);
    elsewhere.space_key = "NOPE".into();
    let error = wiki(&elsewhere).find_page("T").await.unwrap_err();
    assert_eq!(
        error.human_message(),
        "space NOPE not found, or user bot@example.com may not read it"
    );
    for flavor in FLAVORS {
        let error = wiki(&config(&fake, flavor))
            .get_page("424242")
            .await
            .unwrap_err();
        assert!(
            matches!(error, WikiError::NotFound { .. }),
            "{flavor:?}: {error:?}"
        );
        assert!(
            error
                .human_message()
                .starts_with("page 424242 not found, or "),
            "{}",
            error.human_message()
        );
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn hostile_content_round_trips_as_inert_text() {
    let hostile = [
        "</ac:structured-macro><script>alert(1)</script>",
        "]]> &nbsp; <![CDATA[",
        "\" onmouseover=\"x' '",
        "🔥 𝄞 שלום مرحبا \u{202E}",
        "bell\u{7}escape\u{1B}[31m",
    ];
    for flavor in FLAVORS {
        let fake = fake_with_ops().await;
        let wiki = wiki(&config(&fake, flavor));
        let mut page = Document::new();
        for text in hostile {
            page.heading(3, text)
                .paragraph(&[
                    Inline::strong(text),
                    Inline::link("javascript:alert(1)", text),
                    Inline::status(StatusColour::Red, text),
                ])
                .table(&["Field", text], &[vec![vec![Inline::text(text)]]])
                .code(Some("text"), text);
        }
        let title = "[INCIDENT] </title> & \"quotes\" 🔥";
        let created = wiki.create_page(title, &page.finish(), None).await.unwrap();
        let kept = fake.page(&created.id).unwrap();
        assert_eq!(kept.title, title);
        let wrapped = format!(
            "<root xmlns:ac=\"http://atlassian.com/content\" \
             xmlns:ri=\"http://atlassian.com/resource/identifier\">{}</root>",
            kept.body
        );
        let document = roxmltree::Document::parse(&wrapped)
            .unwrap_or_else(|error| panic!("{flavor:?}: stored body is not XML ({error})"));
        let elements: Vec<&str> = document
            .descendants()
            .filter(|node| node.is_element())
            .map(|node| node.tag_name().name())
            .collect();
        assert!(
            !elements.contains(&"script") && !elements.contains(&"a"),
            "{elements:?}"
        );
        let text: String = document
            .descendants()
            .filter_map(|node| node.is_text().then(|| node.text()).flatten())
            .collect();
        for piece in [
            "</ac:structured-macro><script>alert(1)</script>",
            "]]> &nbsp; <![CDATA[",
        ] {
            assert!(
                text.contains(piece),
                "{flavor:?}: {piece:?} not kept as text"
            );
        }
        assert!(text.contains("bellescape[31m"), "controls are dropped");
        assert!(text.contains("🔥 𝄞 שלום مرحبا"));
        fake.shutdown().await;
    }
}
