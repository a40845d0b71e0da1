//! Fixture tests for `alarms::parse_sqs_message`: each body in tests/fixtures/alarms must match
//! its `.expected` summary (`UPDATE_EXPECT=1` rewrites them); plus targeted behaviour checks.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chatops_bot::alarms::{
    content_id, describe, parse_sqs_message, Alarm, AlarmCondition, AlarmSource, AlarmState,
    ChildAlarm, Delivery, Notification, NotificationKind, PipelineEvent, PipelineOrigin,
    PipelineOutcome, PipelineService, TextFormat, TreatMissingData,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::macros::datetime;

/// Fewer bodies than this means the fixture directory was not found or was emptied.
const MIN_FIXTURES: usize = 40;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alarms")
}

/// Fixture names: every `NAME.json` or `NAME.txt` body (`NAME.attrs.json` holds attributes).
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .expect("fixture directory exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|file| !file.ends_with(".attrs.json"))
        .filter_map(|file| {
            file.strip_suffix(".json")
                .or_else(|| file.strip_suffix(".txt"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn body(name: &str) -> String {
    let dir = fixtures_dir();
    let json = dir.join(format!("{name}.json"));
    let path = if json.exists() {
        json
    } else {
        dir.join(format!("{name}.txt"))
    };
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

fn sqs_attributes(name: &str) -> BTreeMap<String, String> {
    let path = fixtures_dir().join(format!("{name}.attrs.json"));
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{} is not a string map: {error}", path.display())),
        Err(_) => BTreeMap::new(),
    }
}

fn parse_fixture(name: &str) -> Notification {
    parse_sqs_message(&body(name), &sqs_attributes(name))
}

/// Compares the fixture's summary with `NAME.expected`, or rewrites it when `UPDATE_EXPECT=1`.
fn check(name: &str) -> Result<(), String> {
    let actual = describe(&parse_fixture(name));
    let path = fixtures_dir().join(format!("{name}.expected"));
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        fs::write(&path, &actual).map_err(|error| format!("{name}: writing: {error}"))?;
        return Ok(());
    }
    let expected = fs::read_to_string(&path).map_err(|error| {
        format!(
            "{name}: no {} ({error}); run with UPDATE_EXPECT=1",
            path.display()
        )
    })?;
    if expected == actual {
        return Ok(());
    }
    let first_difference = expected
        .lines()
        .zip(actual.lines())
        .enumerate()
        .find(|(_, (want, got))| want != got)
        .map(|(index, (want, got))| {
            format!("line {}:\n  expected: {want}\n  actual:   {got}", index + 1)
        })
        .unwrap_or_else(|| "one summary is a prefix of the other".to_string());
    Err(format!(
        "{name}: summary differs from {name}.expected, {first_difference}"
    ))
}

fn alarm(notification: &Notification) -> &Alarm {
    notification
        .as_alarm()
        .unwrap_or_else(|| panic!("expected an alarm, got {:?}", notification.kind()))
}

/// The `Message` string inside an SNS envelope fixture.
fn envelope_message(name: &str) -> String {
    let envelope: Value = serde_json::from_str(&body(name)).expect("envelope fixture is JSON");
    envelope["Message"]
        .as_str()
        .expect("Message is a string")
        .to_string()
}

#[test]
fn every_fixture_matches_its_expected_summary() {
    let names = fixture_names();
    assert!(
        names.len() >= MIN_FIXTURES,
        "only {} fixtures found",
        names.len()
    );
    let failures: Vec<String> = names.iter().filter_map(|name| check(name).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_expected_file_belongs_to_a_fixture() {
    let names = fixture_names();
    let orphans: Vec<String> = fs::read_dir(fixtures_dir())
        .expect("fixture directory exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|file| file.strip_suffix(".expected").map(str::to_string))
        .filter(|name| !names.contains(name))
        .collect();
    assert!(
        orphans.is_empty(),
        "expected files without a body: {orphans:?}"
    );
}

#[test]
fn fixture_prefix_names_the_kind() {
    for name in fixture_names() {
        let prefix = name.split('_').next().unwrap_or_default();
        let kind = match prefix {
            "alarm" => NotificationKind::Alarm,
            "pipeline" | "codestar" => NotificationKind::Pipeline,
            "cloudtrail" => NotificationKind::CloudTrail,
            "custom" => NotificationKind::Custom,
            "other" => NotificationKind::Other,
            unknown => panic!("fixture {name} has an unknown prefix {unknown:?}"),
        };
        assert_eq!(parse_fixture(&name).kind(), kind, "{name}");
    }
}

#[test]
fn alarm_key_is_stable_across_transitions() {
    let firing = parse_fixture("alarm_sns_single_metric_alarm");
    let cleared = parse_fixture("alarm_sns_single_metric_ok");
    assert_eq!(alarm(&firing).state, AlarmState::Alarm);
    assert_eq!(alarm(&cleared).state, AlarmState::Ok);
    assert_eq!(alarm(&firing).key(), alarm(&cleared).key());
    assert_eq!(
        alarm(&firing).key().as_str(),
        "arn:aws:cloudwatch:eu-central-1:210987654321:alarm:checkout-db-cpu"
    );
    assert_ne!(firing.message_id, cleared.message_id);

    let composite = parse_fixture("alarm_sns_composite");
    let composite_ok = parse_fixture("alarm_sns_composite_no_children");
    assert_eq!(alarm(&composite).key(), alarm(&composite_ok).key());
    assert_ne!(alarm(&composite).key(), alarm(&firing).key());
}

#[test]
fn alarm_key_without_arn_is_account_region_name() {
    let notification = parse_fixture("alarm_raw_no_arn");
    let alarm = alarm(&notification);
    assert_eq!(alarm.arn, None);
    assert_eq!(
        alarm.region, "eu-north-1",
        "EU (Stockholm) maps to its code"
    );
    assert_eq!(
        alarm.key().as_str(),
        "602938475610/eu-north-1/batch-export-duration"
    );
}

#[test]
fn raw_body_gets_a_deterministic_sha256_id() {
    let raw = body("pipeline_codepipeline_failed");
    let first = parse_sqs_message(&raw, &BTreeMap::new());
    let again = parse_sqs_message(&raw, &BTreeMap::new());
    let independent = format!("sha256:{:x}", Sha256::digest(raw.as_bytes()));
    assert_eq!(first.delivery, Delivery::Raw);
    assert_eq!(first.message_id, independent);
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(content_id(&raw), independent);
    let changed = parse_sqs_message(&raw.replacen("FAILED", "FAILEd", 1), &BTreeMap::new());
    assert_ne!(changed.message_id, first.message_id);
    assert_eq!(
        parse_sqs_message("", &BTreeMap::new()).message_id,
        content_id("")
    );
}

#[test]
fn envelope_keeps_the_sns_message_id_and_metadata() {
    let notification = parse_fixture("alarm_sns_single_metric_alarm");
    assert_eq!(
        notification.message_id,
        "5e0f6a43-9d2b-5c11-8e07-31a4c2b7d901"
    );
    assert_eq!(
        notification.delivery,
        Delivery::SnsEnvelope {
            message_type: "Notification".to_string()
        }
    );
    assert_eq!(
        notification.published_at,
        Some(datetime!(2024-03-11 08:15:02.164 UTC))
    );
    assert_eq!(notification.attribute("severity"), Some("critical"));
    assert_eq!(notification.attribute("retry"), Some("3"));
    assert_eq!(notification.attribute("blob"), Some("AAECAw=="));
}

#[test]
fn envelope_attributes_overlay_sqs_attributes() {
    let sqs = BTreeMap::from([
        ("severity".to_string(), "low".to_string()),
        ("queue-only".to_string(), "kept".to_string()),
    ]);
    let notification = parse_sqs_message(&body("alarm_sns_single_metric_alarm"), &sqs);
    assert_eq!(notification.attribute("severity"), Some("critical"));
    assert_eq!(notification.attribute("queue-only"), Some("kept"));
    let raw = parse_fixture("alarm_raw_no_arn");
    assert_eq!(raw.attribute("env"), Some("staging"));
}

#[test]
fn envelope_and_raw_delivery_give_the_same_event() {
    for name in [
        "alarm_sns_single_metric_alarm",
        "alarm_sns_metric_math",
        "alarm_sns_anomaly_band",
        "alarm_sns_composite",
        "alarm_eventbridge_metric_math_sns",
        "pipeline_codedeploy_failure_sns",
        "codestar_action_failed_sns",
        "cloudtrail_s3_deleteobject_denied_sns",
        "custom_chatbot_sns",
    ] {
        let enveloped = parse_fixture(name);
        let raw = parse_sqs_message(&envelope_message(name), &BTreeMap::new());
        assert_eq!(raw.delivery, Delivery::Raw, "{name}");
        assert_eq!(raw.event, enveloped.event, "{name}");
        assert_ne!(enveloped.kind(), NotificationKind::Other, "{name}");
    }
}

#[test]
fn cloudwatch_quirks_are_normalised() {
    let firing = parse_fixture("alarm_sns_single_metric_alarm");
    let firing = alarm(&firing);
    assert_eq!(
        firing.region, "eu-central-1",
        "code from the ARN, not the display name"
    );
    assert_eq!(
        firing.changed_at,
        Some(datetime!(2024-03-11 08:15:02.118 UTC))
    );
    let AlarmCondition::SingleMetric(single) = &firing.condition else {
        panic!("single metric expected, got {:?}", firing.condition);
    };
    let missing = Some(TreatMissingData::Missing);
    assert_eq!(
        (single.threshold, &single.evaluation.treat_missing_data),
        (Some(85.0), &missing)
    );

    let cleared = parse_fixture("alarm_sns_single_metric_ok");
    let cleared = alarm(&cleared);
    assert_eq!(cleared.description, None);
    assert!(matches!(&cleared.condition, AlarmCondition::SingleMetric(s) if s.unit.is_none()));

    let band = parse_fixture("alarm_sns_anomaly_band");
    let AlarmCondition::AnomalyDetection(anomaly) = &alarm(&band).condition else {
        panic!("anomaly detection expected");
    };
    assert_eq!(anomaly.threshold_metric_id.as_deref(), Some("ad1"));
    assert_eq!(anomaly.band_width, Some(3.0));
    assert_eq!(alarm(&band).condition.threshold(), None);

    let spaced = parse_fixture("alarm_lambda_action_spaced");
    let spaced = alarm(&spaced);
    assert_eq!(spaced.source, AlarmSource::LambdaAction);
    assert_eq!(
        spaced.changed_at,
        Some(datetime!(2024-02-19 07:41:12.004 UTC))
    );
    let arn = "arn:aws:cloudwatch:ca-central-1:318273645501:alarm:edge cache hit ratio";
    assert_eq!(spaced.arn.as_deref(), Some(arn));
    assert_eq!(spaced.condition.threshold(), Some(75.0), "from reasonData");
}

#[test]
fn composite_children_and_suppression() {
    let composite = parse_fixture("alarm_sns_composite");
    let AlarmCondition::Composite(condition) = &alarm(&composite).condition else {
        panic!("composite expected");
    };
    let names: Vec<&str> = condition
        .triggering_children
        .iter()
        .map(ChildAlarm::name)
        .collect();
    assert_eq!(names, ["storefront-5xx", "storefront latency p90"]);
    assert_eq!(alarm(&composite).description, None, "empty description");

    let suppressed = parse_fixture("alarm_eventbridge_composite_suppressed");
    let suppressed = alarm(&suppressed);
    assert_eq!(suppressed.source, AlarmSource::EventBridge);
    let by = suppressed
        .actions_suppressed
        .as_ref()
        .map(|s| s.by.as_str());
    assert_eq!(by, Some("Alarm"));
    let AlarmCondition::Composite(condition) = &suppressed.condition else {
        panic!("composite expected");
    };
    assert_eq!(condition.triggering_children.len(), 1);
    let suppressor = condition.actions_suppressor.as_ref().expect("suppressor");
    assert_eq!(suppressor.alarm, "maintenance-window");
}

#[test]
fn pipelines_from_eventbridge_and_codestar() {
    let failed = parse_fixture("codestar_pipeline_failed");
    let pipeline = failed.as_pipeline().expect("pipeline");
    assert_eq!(pipeline.service, PipelineService::CodePipeline);
    assert!(matches!(
        pipeline.origin,
        PipelineOrigin::CodeStarNotification { .. }
    ));
    assert_eq!(pipeline.outcome(), PipelineOutcome::Failed);
    assert_eq!(pipeline.failed_actions.len(), 2);
    assert_eq!(
        (failed.name(), failed.state_label()),
        ("web-release".to_string(), Some("FAILED"))
    );

    let build = parse_fixture("pipeline_codebuild_build_failed");
    let summary = build
        .as_pipeline()
        .and_then(|p| p.summary.clone())
        .unwrap_or_default();
    assert!(summary.contains("exit status 2"), "{summary}");

    let deploy = parse_fixture("pipeline_codedeploy_failure_sns");
    let outcome = deploy.as_pipeline().map(PipelineEvent::outcome);
    assert_eq!(outcome, Some(PipelineOutcome::Failed));
}

#[test]
fn api_calls_summarise_the_request() {
    let put = parse_fixture("cloudtrail_s3_putobject");
    let call = put.as_api_call().expect("api call");
    assert_eq!(call.bucket(), Some("acme-prod-invoices"));
    assert_eq!(call.object_key(), Some("exports/2024/07/22/run 17.csv"));
    assert_eq!(
        call.identity.display_name(),
        "github-deployer/gh-actions-7781"
    );
    assert_eq!(put.state_label(), None);

    let denied = parse_fixture("cloudtrail_s3_deleteobject_denied_sns");
    assert_eq!(denied.state_label(), Some("AccessDenied"));
    let federated = parse_fixture("cloudtrail_federated_user");
    let kind = federated
        .as_api_call()
        .map(|c| c.identity.identity_type.clone());
    assert_eq!(kind.as_deref(), Some("FederatedUser"));
}

#[test]
fn custom_notification_fields() {
    let notification = parse_fixture("custom_chatbot_sns");
    let custom = notification.as_custom().expect("custom");
    assert_eq!(custom.thread_id.as_deref(), Some("INC-20240311-payments"));
    assert_eq!(custom.next_steps.len(), 2);
    let budget = custom.additional_context.get("budget_ms");
    assert_eq!(
        budget.map(String::as_str),
        Some("800"),
        "numbers become text"
    );
    assert_eq!(
        notification.account(),
        Some("210987654321"),
        "the topic's account"
    );
    assert_eq!(notification.name(), "PaymentsLatency");
}

#[test]
fn hostile_text_is_kept_exactly() {
    let mentions = parse_fixture("other_mentions_raw");
    let other = mentions.as_other().expect("other");
    assert_eq!(other.text, body("other_mentions_raw"));
    assert_eq!(other.format, TextFormat::Plain);

    for name in ["other_unicode_sns", "other_plain_text_sns"] {
        let notification = parse_fixture(name);
        assert_eq!(
            notification.as_other().map(|o| o.text.clone()),
            Some(envelope_message(name)),
            "{name}"
        );
    }
    let unicode = parse_fixture("other_unicode_sns");
    assert!(unicode
        .as_other()
        .is_some_and(|o| o.text.contains('\u{0}') && o.text.contains('\u{200f}')));

    let broken = parse_fixture("other_broken_json");
    assert_eq!(
        broken.as_other().map(|o| o.text.as_str()),
        Some(body("other_broken_json").as_str())
    );
    let nested = parse_fixture("other_deeply_nested");
    assert_eq!(nested.as_other().map(|o| o.format), Some(TextFormat::Plain));
}

#[test]
fn unknown_json_is_pretty_printed_without_losing_anything() {
    let notification = parse_fixture("other_unknown_json_sns");
    let other = notification.as_other().expect("other");
    assert_eq!(other.format, TextFormat::Json);
    assert!(other.text.contains('\n'));
    let original: Value =
        serde_json::from_str(&envelope_message("other_unknown_json_sns")).expect("json");
    let pretty: Value = serde_json::from_str(&other.text).expect("still json");
    assert_eq!(pretty, original);
    assert!(
        other.text.find("zeta") < other.text.find("alpha"),
        "key order is kept"
    );
}
