//! Unreachable routes: flagged ones (checked against every fixture too) and ones that must not
//! be flagged, each with a notification that reaches it.

use chatops_bot::alarms::{Notification, NotificationKind};
use chatops_bot::config::unreachable_routes;
use chatops_bot::config::{AlarmsConfig, Config, Purpose, RouteConfig, RouteMatch};

use super::{alarm_named, fixture_names, notification, routes, DEFAULT_CHANNEL};

/// A `[alarms.route.match]` written as `key=value` pairs; `attr.NAME=value` is an attribute.
fn criteria(pairs: &[(&str, &str)]) -> RouteMatch {
    let mut criteria = RouteMatch::default();
    for (key, value) in pairs {
        let value = value.to_string();
        match *key {
            "name" => criteria.name = Some(value),
            "account" => criteria.account = Some(value),
            "region" => criteria.region = Some(value),
            "kind" => criteria.kind = Some(value.parse::<NotificationKind>().unwrap()),
            "state" => criteria.state = Some(value),
            other => {
                let name = other.strip_prefix("attr.").expect("a known key");
                criteria.attributes.insert(name.to_owned(), value);
            }
        }
    }
    criteria
}

/// Routes named r0, r1, … with the given criteria, to channel #rN.
fn config_of(routes: &[&[(&str, &str)]]) -> AlarmsConfig {
    AlarmsConfig {
        default_channel: Some(DEFAULT_CHANNEL.to_owned()),
        routes: routes
            .iter()
            .enumerate()
            .map(|(index, pairs)| RouteConfig {
                name: format!("r{index}"),
                channels: vec![format!("#r{index}")],
                mention: None,
                runbook: None,
                criteria: criteria(pairs),
            })
            .collect(),
        ..AlarmsConfig::default()
    }
}

/// Routes of which exactly `flagged` (index, message part) can never match.
struct Reach {
    what: &'static str,
    routes: &'static [&'static [(&'static str, &'static str)]],
    flagged: &'static [(usize, &'static str)],
}

const SHADOWED_BY_0: &str = "can never match: alarms.route[0] (\"r0\") comes first";

const FLAGGED: &[Reach] = &[
    Reach {
        what: "an empty match takes everything after it",
        routes: &[&[], &[("kind", "alarm")], &[("name", "x")]],
        flagged: &[(1, SHADOWED_BY_0), (2, SHADOWED_BY_0)],
    },
    Reach {
        what: "name \"*\" and \"**\" match every name",
        routes: &[&[("name", "*")], &[("kind", "alarm")], &[("name", "**")]],
        flagged: &[(1, SHADOWED_BY_0), (2, SHADOWED_BY_0)],
    },
    Reach {
        what: "an earlier glob that matches the later literal name, fewer criteria",
        routes: &[
            &[("name", "payments-*"), ("kind", "alarm")],
            &[
                ("name", "payments-api"),
                ("kind", "alarm"),
                ("state", "ALARM"),
                ("attr.team", "payments"),
            ],
        ],
        flagged: &[(1, SHADOWED_BY_0)],
    },
    Reach {
        what: "a prefix glob covers a longer prefix glob",
        routes: &[&[("name", "payments-*")], &[("name", "payments-api-*")]],
        flagged: &[(1, SHADOWED_BY_0)],
    },
    Reach {
        what: "states compare ignoring case; attribute subsets",
        routes: &[
            &[("state", "alarm"), ("attr.team", "payments")],
            &[
                ("state", "ALARM"),
                ("kind", "alarm"),
                ("attr.team", "payments"),
                ("attr.env", "prod"),
            ],
        ],
        flagged: &[(1, SHADOWED_BY_0)],
    },
    Reach {
        what: "an identical route",
        routes: &[
            &[("account", "123456789012"), ("region", "eu-west-1")],
            &[("region", "eu-west-1"), ("account", "123456789012")],
        ],
        flagged: &[(1, SHADOWED_BY_0)],
    },
    Reach {
        what: "kinds that never have the state",
        routes: &[
            &[("kind", "custom"), ("state", "ALARM")],
            &[("kind", "other"), ("state", "FAILED")],
            &[("kind", "pipeline"), ("state", "ok")],
            &[("kind", "alarm"), ("state", "FAILED")],
        ],
        flagged: &[
            (0, "kind \"custom\" has no state"),
            (1, "kind \"other\" has no state"),
            (2, "never the alarm state OK"),
            (3, "never \"FAILED\""),
        ],
    },
    Reach {
        what: "shadowing by a later-than-first route",
        routes: &[
            &[("kind", "pipeline")],
            &[("region", "eu-west-1")],
            &[("region", "eu-west-1"), ("kind", "alarm")],
        ],
        flagged: &[(2, "alarms.route[1] (\"r1\") comes first")],
    },
];

#[test]
fn routes_that_can_never_match_are_flagged() {
    for case in FLAGGED {
        let config = config_of(case.routes);
        let problems = unreachable_routes(&config);
        let found: Vec<(String, String)> = problems
            .iter()
            .map(|problem| (problem.key.clone(), problem.message.clone()))
            .collect();
        let matches = found.len() == case.flagged.len()
            && found
                .iter()
                .zip(case.flagged)
                .all(|((key, message), (index, part))| {
                    key == &format!("alarms.route[{index}]") && message.contains(part)
                });
        assert!(
            matches,
            "{}: expected {:?}, got {found:#?}",
            case.what, case.flagged
        );
        // Empirically too: no fixture ever reaches a flagged route.
        let routes = routes(&config);
        for fixture in fixture_names() {
            let decision = routes.route(&notification(&fixture));
            for (index, _) in case.flagged {
                assert_ne!(
                    decision.route,
                    Some(format!("r{index}")),
                    "{}: {fixture}",
                    case.what
                );
            }
        }
    }
}

#[test]
fn an_uncompilable_glob_is_reported_at_its_key() {
    let config = config_of(&[&[("name", "[payments")], &[("kind", "alarm")]]);
    let problems = unreachable_routes(&config);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "alarms.route[0].match.name");
    assert!(
        problems[0].message.contains("not a valid glob"),
        "{problems:?}"
    );
}

/// Routes that must NOT be flagged, each with a notification that proves the last route
/// reachable: it is routed there.
struct Reachable {
    what: &'static str,
    routes: &'static [&'static [(&'static str, &'static str)]],
    witness: fn() -> Notification,
}

const REACHABLE: &[Reachable] = &[
    Reachable {
        what: "a state on the earlier route leaves the other states",
        routes: &[
            &[("kind", "alarm"), ("state", "ALARM")],
            &[("kind", "alarm")],
        ],
        witness: || notification("alarm_sns_single_metric_ok"),
    },
    Reachable {
        what: "a shorter prefix glob after a longer one",
        routes: &[&[("name", "checkout-*")], &[("name", "check*")]],
        witness: || alarm_named("check-the-queue"),
    },
    Reachable {
        what: "a glob with ? does not cover a wider glob",
        routes: &[&[("name", "payments-?")], &[("name", "payments-*")]],
        witness: || notification("alarm_eventbridge_metric_math_sns"),
    },
    Reachable {
        what: "a literal name that the earlier glob matches, but the earlier has a state",
        routes: &[
            &[("name", "*-cpu"), ("state", "OK")],
            &[("name", "checkout-db-cpu")],
        ],
        witness: || notification("alarm_sns_single_metric_alarm"),
    },
    Reachable {
        what: "an earlier attribute criterion leaves notifications without it",
        routes: &[&[("attr.route", "payments")], &[("kind", "alarm")]],
        witness: || notification("alarm_sns_single_metric_alarm"),
    },
    Reachable {
        what: "different accounts",
        routes: &[
            &[("account", "210987654321")],
            &[("account", "318273645501")],
        ],
        witness: || notification("alarm_eventbridge_metric"),
    },
    Reachable {
        what: "different pipeline statuses",
        routes: &[
            &[("kind", "pipeline"), ("state", "FAILED")],
            &[("kind", "pipeline"), ("state", "failure")],
        ],
        witness: || notification("pipeline_codedeploy_failure_sns"),
    },
    Reachable {
        what: "CloudTrail error codes are open-ended",
        routes: &[&[("kind", "cloudtrail"), ("state", "AccessDenied")]],
        witness: || notification("cloudtrail_s3_deleteobject_denied_sns"),
    },
    Reachable {
        what: "a route that never matches shadows nothing",
        routes: &[
            &[("kind", "custom"), ("state", "ALARM")],
            &[("kind", "custom")],
        ],
        witness: || notification("custom_chatbot_raw_minimal"),
    },
    Reachable {
        what: "an earlier region leaves other regions",
        routes: &[&[("region", "eu-central-1")], &[("kind", "other")]],
        witness: || notification("other_plain_text_sns"),
    },
];

#[test]
fn routes_that_can_match_are_not_flagged() {
    for case in REACHABLE {
        let config = config_of(case.routes);
        let last = case.routes.len() - 1;
        let problems = unreachable_routes(&config);
        let last_key = format!("alarms.route[{last}]");
        assert!(
            problems.iter().all(|problem| problem.key != last_key),
            "{}: {problems:?}",
            case.what
        );
        let decision = routes(&config).route(&(case.witness)());
        assert_eq!(decision.route, Some(format!("r{last}")), "{}", case.what);
    }
}

#[test]
fn loading_reports_unreachable_routes_with_the_other_problems() {
    let text = r##"
        [alarms]
        default_channel = "#default"

        [[alarms.route]]
        channels = ["#all"]

        [[alarms.route]]
        channels = ["#payments"]
        [alarms.route.match]
        kind = "alrm"

        [[alarms.route]]
        channels = ["#never"]
        [alarms.route.match]
        kind = "alarm"
    "##;
    let errors = Config::load_from_str("routes.toml", text, Vec::new(), Purpose::Manifest)
        .expect_err("an unreachable route is a configuration error");
    let shown: Vec<String> = errors.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "alarms.route[1].match.kind: unknown kind \"alrm\" (alarm, pipeline, cloudtrail, custom, other)",
            "alarms.route[2]: can never match: alarms.route[0] (\"route #0\") comes first and matches everything this route would",
        ]
    );
}
