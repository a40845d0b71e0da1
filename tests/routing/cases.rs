//! The routing table: fixture notifications against route configs, with the decision expected.

use chatops_bot::alarms::routing::RouteDecision;

use super::{alarms_config, notification, routes, DEFAULT_CHANNEL};

/// One routing case: `fixture` routed by `routes` gives `route`/`channels`/`mention`/`runbook`.
struct Case {
    what: &'static str,
    fixture: &'static str,
    routes: &'static str,
    route: Option<&'static str>,
    channels: &'static [&'static str],
    mention: Option<&'static str>,
    runbook: Option<&'static str>,
}

const TO_DEFAULT: &[&str] = &[DEFAULT_CHANNEL];

const CASES: &[Case] = &[
    Case {
        what: "no routes: the default channel",
        fixture: "alarm_sns_single_metric_alarm",
        routes: "",
        route: None,
        channels: TO_DEFAULT,
        mention: None,
        runbook: None,
    },
    Case {
        what: "kind, name glob, account, region and state all hold",
        fixture: "alarm_sns_single_metric_alarm",
        routes: r##"
            [[alarms.route]]
            name = "checkout"
            channels = ["C0CHECKOUT", "#checkout-oncall"]
            mention = "S0CHECKOUT"
            runbook = "https://wiki.example.com/runbooks/{kind}/{name}?account={account}&region={region}&state={state}"
            [alarms.route.match]
            name = "checkout-*"
            account = "210987654321"
            region = "eu-central-1"
            kind = "alarm"
            state = "ALARM"
        "##,
        route: Some("checkout"),
        channels: &["C0CHECKOUT", "#checkout-oncall"],
        mention: Some("S0CHECKOUT"),
        runbook: Some("https://wiki.example.com/runbooks/alarm/checkout-db-cpu?account=210987654321&region=eu-central-1&state=ALARM"),
    },
    Case {
        what: "one criterion failing (region) sends it to the default",
        fixture: "alarm_sns_single_metric_alarm",
        routes: r##"
            [[alarms.route]]
            channels = ["#checkout"]
            [alarms.route.match]
            name = "checkout-*"
            region = "eu-west-1"
        "##,
        route: None,
        channels: TO_DEFAULT,
        mention: None,
        runbook: None,
    },
    Case {
        what: "first match wins even when a later route is more specific",
        fixture: "alarm_sns_single_metric_alarm",
        routes: r##"
            [[alarms.route]]
            name = "all of 210987654321"
            channels = ["#team-a"]
            [alarms.route.match]
            account = "210987654321"

            [[alarms.route]]
            name = "checkout db"
            channels = ["#checkout-db"]
            [alarms.route.match]
            name = "checkout-db-*"
        "##,
        route: Some("all of 210987654321"),
        channels: &["#team-a"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "a route that does not match is skipped for the next",
        fixture: "alarm_sns_single_metric_ok",
        routes: r##"
            [[alarms.route]]
            channels = ["#paging"]
            [alarms.route.match]
            state = "ALARM"

            [[alarms.route]]
            channels = ["#recoveries"]
            [alarms.route.match]
            kind = "alarm"
        "##,
        route: Some("route #1"),
        channels: &["#recoveries"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "state is compared ignoring case",
        fixture: "pipeline_codedeploy_failure_sns",
        routes: r##"
            [[alarms.route]]
            channels = ["#deploys"]
            [alarms.route.match]
            kind = "pipeline"
            state = "failure"
        "##,
        route: Some("route #0"),
        channels: &["#deploys"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "a CloudTrail error code is its state",
        fixture: "cloudtrail_s3_deleteobject_denied_sns",
        routes: r##"
            [[alarms.route]]
            name = "denied"
            channels = ["#security"]
            [alarms.route.match]
            kind = "cloudtrail"
            state = "AccessDenied"
        "##,
        route: Some("denied"),
        channels: &["#security"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "a state criterion never holds for a notification without a state",
        fixture: "cloudtrail_s3_putobject",
        routes: r##"
            [[alarms.route]]
            channels = ["#security"]
            [alarms.route.match]
            state = "AccessDenied"
        "##,
        route: None,
        channels: TO_DEFAULT,
        mention: None,
        runbook: None,
    },
    Case {
        what: "SNS envelope MessageAttributes are matched",
        fixture: "alarm_eventbridge_metric_math_sns",
        routes: r##"
            [[alarms.route]]
            name = "payments by attribute"
            channels = ["#payments"]
            [alarms.route.match]
            attributes = { route = "payments" }
        "##,
        route: Some("payments by attribute"),
        channels: &["#payments"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "attribute values are compared exactly (case too)",
        fixture: "alarm_eventbridge_metric_math_sns",
        routes: r##"
            [[alarms.route]]
            channels = ["#payments"]
            [alarms.route.match]
            attributes = { route = "Payments" }
        "##,
        route: None,
        channels: TO_DEFAULT,
        mention: None,
        runbook: None,
    },
    Case {
        what: "raw-delivery SQS attributes are matched, all of them",
        fixture: "alarm_raw_no_arn",
        routes: r##"
            [[alarms.route]]
            name = "prod warnings"
            channels = ["#prod"]
            [alarms.route.match]
            attributes = { severity = "warning", env = "prod" }

            [[alarms.route]]
            name = "staging warnings"
            channels = ["#staging"]
            [alarms.route.match]
            attributes = { severity = "warning", env = "staging" }
        "##,
        route: Some("staging warnings"),
        channels: &["#staging"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "a missing attribute does not match",
        fixture: "alarm_sns_single_metric_alarm",
        routes: r##"
            [[alarms.route]]
            channels = ["#payments"]
            [alarms.route.match]
            attributes = { route = "payments" }
        "##,
        route: None,
        channels: TO_DEFAULT,
        mention: None,
        runbook: None,
    },
    Case {
        what: "raw custom notification routed by its SQS attribute",
        fixture: "custom_chatbot_raw_minimal",
        routes: r##"
            [[alarms.route]]
            name = "backups"
            channels = ["#backups"]
            [alarms.route.match]
            kind = "custom"
            attributes = { channel = "backups" }
        "##,
        route: Some("backups"),
        channels: &["#backups"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "a custom notification's account comes from its SNS topic",
        fixture: "custom_chatbot_sns",
        routes: r##"
            [[alarms.route]]
            channels = ["#team-a"]
            [alarms.route.match]
            account = "210987654321"
            region = "eu-central-1"
        "##,
        route: Some("route #0"),
        channels: &["#team-a"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "an account criterion never holds when the notification has no account",
        fixture: "custom_chatbot_raw_minimal",
        routes: r##"
            [[alarms.route]]
            channels = ["#team-a"]
            [alarms.route.match]
            account = "210987654321"
        "##,
        route: None,
        channels: TO_DEFAULT,
        mention: None,
        runbook: None,
    },
    Case {
        what: "name globs see the SNS subject of other notifications, unicode included",
        fixture: "other_unicode_sns",
        routes: r##"
            [[alarms.route]]
            channels = ["#backups"]
            [alarms.route.match]
            name = "Backup *"

            [[alarms.route]]
            name = "fire"
            channels = ["#fire"]
            [alarms.route.match]
            name = "🔥 Ü*subject"
        "##,
        route: Some("fire"),
        channels: &["#fire"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "name globs are case-sensitive",
        fixture: "other_plain_text_sns",
        routes: r##"
            [[alarms.route]]
            channels = ["#backups"]
            [alarms.route.match]
            name = "backup *"
        "##,
        route: None,
        channels: TO_DEFAULT,
        mention: None,
        runbook: None,
    },
    Case {
        what: "\"*\" matches an empty name; \"?*\" does not",
        fixture: "custom_chatbot_raw_minimal",
        routes: r##"
            [[alarms.route]]
            channels = ["#named"]
            [alarms.route.match]
            name = "?*"

            [[alarms.route]]
            channels = ["#anything"]
            [alarms.route.match]
            name = "*"
        "##,
        route: Some("route #1"),
        channels: &["#anything"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "alternatives and classes in globs",
        fixture: "pipeline_codebuild_build_failed",
        routes: r##"
            [[alarms.route]]
            channels = ["#builds"]
            [alarms.route.match]
            name = "{billing,ingest}-[a-z]*"
            kind = "pipeline"
        "##,
        route: Some("route #0"),
        channels: &["#builds"],
        mention: None,
        runbook: None,
    },
    Case {
        what: "runbook values with spaces are URL-encoded; missing values are empty",
        fixture: "alarm_lambda_action_spaced",
        routes: r##"
            [[alarms.route]]
            channels = ["#edge"]
            runbook = "https://wiki.example.com/runbooks/{name}?state={state}"
        "##,
        route: Some("route #0"),
        channels: &["#edge"],
        mention: None,
        runbook: Some("https://wiki.example.com/runbooks/edge%20cache%20hit%20ratio?state=ALARM"),
    },
    Case {
        what: "runbook placeholders the notification has no value for expand to nothing",
        fixture: "custom_chatbot_raw_minimal",
        routes: r##"
            [[alarms.route]]
            channels = ["#custom"]
            runbook = "https://wiki.example.com/{kind}/{account}/{region}?state={state}"
        "##,
        route: Some("route #0"),
        channels: &["#custom"],
        mention: None,
        runbook: Some("https://wiki.example.com/custom//?state="),
    },
];

#[test]
fn each_case_routes_its_fixture_as_expected() {
    let mut failures = Vec::new();
    for case in CASES {
        let config = alarms_config(case.routes);
        let decision = routes(&config).route(&notification(case.fixture));
        let expected = RouteDecision {
            route: case.route.map(str::to_owned),
            channels: case.channels.iter().map(|c| c.to_string()).collect(),
            mention: case.mention.map(str::to_owned),
            runbook_url: case.runbook.map(str::to_owned),
            actions: vec![],
        };
        if decision != expected {
            failures.push(format!(
                "{} ({}):\n  expected {expected:?}\n  got      {decision:?}",
                case.what, case.fixture
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
