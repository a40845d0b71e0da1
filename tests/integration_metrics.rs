//! `Instrumented` clients against a fake Confluence over loopback: every call timed by system and operation, failures counted, in the registry's text.

use std::sync::Arc;
use std::time::Duration;

use chatops_bot::config::{ConfluenceConfig, ConfluenceFlavor};
use chatops_bot::integrations::confluence::storage::Document;
use chatops_bot::integrations::confluence::{ConfluenceWiki, Wiki};
use chatops_bot::secrets::Secret;
use chatops_bot::telemetry::instrumented::Instrumented;
use chatops_bot::telemetry::metrics::{Metrics, System};
use chatops_sandbox::confluence::FakeConfluence;

/// The value of the sample line `series`, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().unwrap())
    })
}

#[tokio::test]
async fn confluence_calls_are_timed_and_their_failures_counted() {
    let fake = FakeConfluence::start().await.expect("the fake starts");
    fake.add_space("OPS");
    let config = ConfluenceConfig {
        base_url: format!("{}/", fake.base_url()).parse().unwrap(),
        user: Some(fake.user()),
        api_token: Secret::from(fake.api_token()),
        space_key: "OPS".into(),
        parent_id: None,
        flavor: ConfluenceFlavor::Cloud,
        timeout: Duration::from_secs(15),
    };
    let metrics = Metrics::default();
    let client = ConfluenceWiki::new(&config, &Default::default()).unwrap();
    let wiki = Instrumented::new(Arc::new(client), metrics.integrations.clone());

    let mut page = Document::new();
    page.heading(2, "Summary").text("It broke.");
    let created = wiki
        .create_page("Incident 1", &page.finish(), None)
        .await
        .unwrap();
    assert_eq!(
        wiki.find_page("Incident 1").await.unwrap().map(|p| p.id),
        Some(created.id)
    );
    assert!(wiki.get_page("424242").await.is_err(), "no such page");

    let text = metrics.encode();
    let series = |name: &str, operation: &str| {
        format!("{name}{{system=\"confluence\",operation=\"{operation}\"}}")
    };
    for (operation, calls, errors) in [
        ("create_page", 1.0, None),
        ("find_page", 1.0, None),
        ("get_page", 1.0, Some(1.0)),
    ] {
        let count = series("chatops_integration_request_seconds_count", operation);
        assert_eq!(sample(&text, &count), Some(calls), "{count} in\n{text}");
        let failed = series("chatops_integration_errors_total", operation);
        assert_eq!(sample(&text, &failed), errors, "{failed} in\n{text}");
    }
    assert_eq!(
        metrics.integrations.errors(System::Confluence, "get_page"),
        1
    );
}
