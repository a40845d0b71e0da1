//! The rendered Slack app manifest: valid against Slack's official schema, and the right content.

use std::path::Path;

use chatops_bot::config::{Config, Purpose};
use chatops_bot::slack::manifest;
use jsonschema::Validator;
use serde_json::{json, Value};

fn schema_validator() -> Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slack-manifest.schema.json");
    let text = std::fs::read_to_string(&path).expect("the schema fixture is readable");
    let schema: Value = serde_json::from_str(&text).expect("the schema fixture is JSON");
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

fn schema_errors(validator: &Validator, manifest: &Value) -> Vec<String> {
    validator
        .iter_errors(manifest)
        .map(|error| format!("{}: {error}", error.instance_path))
        .collect()
}

fn load_config(toml: &str) -> Config {
    Config::load_from_str("inline.toml", toml, Vec::new(), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"))
}

/// `[deploy]` with one environment and the `[github]` it needs (as tests/config/deploy.rs's
/// `with_github`): deploys are on.
const DEPLOYS_ON: &str = "[deploy.environments.dev]\n\n[github]\nowner = \"acme\"\nrepo = \"app\"\ntoken = \"github_pat_test\"\n";

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {value}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("expected a string, got {item}"))
        })
        .collect()
}

#[test]
fn the_default_manifest_is_valid_against_the_official_schema() {
    let validator = schema_validator();
    let manifest = manifest::render(&Config::default());
    let errors = schema_errors(&validator, &manifest);
    assert!(errors.is_empty(), "{errors:#?}\n{manifest:#}");
}

#[test]
fn the_longest_allowed_name_and_prefix_still_give_a_valid_manifest() {
    let validator = schema_validator();
    let name = "N".repeat(35);
    let prefix = "p".repeat(20);
    let config = load_config(&format!(
        "[slack]\napp_name = \"{name}\"\ncommand_prefix = \"{prefix}\"\n{DEPLOYS_ON}"
    ));
    let manifest = manifest::render(&config);
    let errors = schema_errors(&validator, &manifest);
    assert!(errors.is_empty(), "{errors:#?}");
    // The longest command fits Slack's 32-character limit too (the schema checks it).
    let longest = format!("/{prefix}-rollback");
    assert!(command_names(&manifest).contains(&longest.as_str()));
}

/// The `command` of every slash command in `manifest`, in order.
fn command_names(manifest: &Value) -> Vec<&str> {
    manifest["features"]["slash_commands"]
        .as_array()
        .expect("slash_commands is an array")
        .iter()
        .map(|command| command["command"].as_str().expect("a command names itself"))
        .collect()
}

/// What is broken, and how.
type Breakage = (&'static str, fn(&mut Value));

#[test]
fn the_schema_rejects_broken_manifests() {
    let validator = schema_validator();
    let valid = manifest::render(&Config::default());
    let breakages: [Breakage; 5] = [
        ("socket_mode_enabled as a string", |m| {
            m["settings"]["socket_mode_enabled"] = json!("yes")
        }),
        ("an unknown top-level key", |m| m["colour"] = json!("blue")),
        ("a 36-character name", |m| {
            m["display_information"]["name"] = json!("N".repeat(36))
        }),
        ("a command without its slash", |m| {
            m["features"]["slash_commands"][0]["command"] = json!("platform-help")
        }),
        ("interactivity without is_enabled", |m| {
            m["settings"]["interactivity"] = json!({})
        }),
    ];
    for (what, breakage) in breakages {
        let mut broken = valid.clone();
        breakage(&mut broken);
        assert!(
            !validator.is_valid(&broken),
            "{what} should fail validation"
        );
    }
}

#[test]
fn scopes_and_events_are_exactly_what_the_bot_uses() {
    let manifest = manifest::render(&Config::default());
    let mut scopes = strings(&manifest["oauth_config"]["scopes"]["bot"]);
    scopes.sort_unstable();
    assert_eq!(
        scopes,
        [
            "app_mentions:read",
            "channels:history",
            "chat:write",
            "chat:write.public",
            "commands",
            "files:write",
            "groups:history",
            "im:history",
            "usergroups:read",
            "users:read",
        ]
    );
    let mut events = strings(&manifest["settings"]["event_subscriptions"]["bot_events"]);
    events.sort_unstable();
    assert_eq!(
        events,
        [
            "app_mention",
            "message.channels",
            "message.groups",
            "message.im"
        ]
    );
}

#[test]
fn it_is_a_socket_mode_app_with_no_request_urls() {
    let manifest = manifest::render(&Config::default());
    let settings = &manifest["settings"];
    assert_eq!(settings["socket_mode_enabled"], json!(true));
    assert_eq!(settings["interactivity"]["is_enabled"], json!(true));
    assert_eq!(settings["org_deploy_enabled"], json!(false));
    assert_eq!(settings["token_rotation_enabled"], json!(false));
    assert_eq!(
        manifest["_metadata"],
        json!({"major_version": 1, "minor_version": 1})
    );
    let text = manifest.to_string();
    assert!(!text.contains("request_url"), "{text}");
    assert!(!text.contains("\"url\""), "{text}");
}

#[test]
fn name_and_commands_come_from_the_config() {
    let config = load_config("[slack]\napp_name = \"Ops Helper\"\ncommand_prefix = \"ops\"\n");
    let manifest = manifest::render(&config);
    assert_eq!(manifest["display_information"]["name"], json!("Ops Helper"));
    assert_eq!(
        manifest["features"]["bot_user"]["display_name"],
        json!("Ops Helper")
    );
    assert_eq!(
        manifest["features"]["bot_user"]["always_online"],
        json!(true)
    );
    let commands = manifest["features"]["slash_commands"]
        .as_array()
        .expect("slash_commands is an array");
    let specs = config.slash_commands();
    assert_eq!(commands.len(), specs.len());
    for (command, spec) in commands.iter().zip(&specs) {
        let mut expected = json!({
            "command": spec.name,
            "description": spec.description,
            "should_escape": false,
        });
        if !spec.usage_hint.is_empty() {
            expected["usage_hint"] = json!(spec.usage_hint);
        }
        assert_eq!(command, &expected);
    }
    assert_eq!(commands[0]["command"], json!("/ops-help"));
    assert_eq!(commands[1]["command"], json!("/ops-stats"));
    assert_eq!(commands[2]["command"], json!("/ops-echo"));
}

#[test]
fn with_deploys_on_the_three_deploy_commands_follow_the_prefix_and_the_manifest_validates() {
    let validator = schema_validator();
    let config = load_config(&format!("[slack]\ncommand_prefix = \"ops\"\n{DEPLOYS_ON}"));
    let manifest = manifest::render(&config);
    let errors = schema_errors(&validator, &manifest);
    assert!(errors.is_empty(), "{errors:#?}\n{manifest:#}");
    assert_eq!(
        command_names(&manifest),
        [
            "/ops-help",
            "/ops-stats",
            "/ops-echo",
            "/ops-deploy",
            "/ops-status",
            "/ops-rollback"
        ]
    );
    let deploy_commands = &manifest["features"]["slash_commands"].as_array().unwrap()[3..];
    let hints: Vec<&str> = deploy_commands
        .iter()
        .map(|command| command["usage_hint"].as_str().unwrap())
        .collect();
    assert_eq!(
        hints,
        [
            "[version] [to <env>]",
            "[env] | audit [n]",
            "[env] [to <version>]"
        ]
    );
    for command in deploy_commands {
        let description = command["description"].as_str().unwrap();
        assert!(!description.is_empty(), "{command}");
        assert_eq!(command["should_escape"], json!(false));
    }
}

#[test]
fn without_deploy_only_help_stats_and_echo_are_registered() {
    let github_alone = "[github]\nowner = \"acme\"\nrepo = \"app\"\ntoken = \"github_pat_test\"\n";
    for toml in ["[slack]\ncommand_prefix = \"ops\"\n", github_alone] {
        let config = load_config(toml);
        assert!(config.deploy.is_none(), "{toml}");
        let manifest = manifest::render(&config);
        let names = command_names(&manifest);
        assert_eq!(names.len(), 3, "{toml}: {names:?}");
        assert!(names[0].ends_with("-help"), "{toml}: {names:?}");
        assert!(names[1].ends_with("-stats"), "{toml}: {names:?}");
        assert!(names[2].ends_with("-echo"), "{toml}: {names:?}");
    }
    assert_eq!(
        command_names(&manifest::render(&Config::default())),
        ["/platform-help", "/platform-stats", "/platform-echo"]
    );
}

/// Every `src/` file but the manifest itself, which names every method in its scope table.
fn source_outside_the_manifest() -> String {
    fn walk(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("slack/manifest.rs")
            {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut text = String::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut text,
    );
    text
}

/// Whether `need` holds: the method is called (its name is quoted in src/, as every Web API call
/// names its method), the event is subscribed, or slash commands are registered.
fn is_met(need: manifest::ScopeNeed, source: &str, manifest: &Value) -> bool {
    match need {
        manifest::ScopeNeed::Method(method) => source.contains(&format!("\"{method}\"")),
        manifest::ScopeNeed::Event(event) => manifest::BOT_EVENTS.contains(&event),
        manifest::ScopeNeed::SlashCommands => manifest["features"]["slash_commands"]
            .as_array()
            .is_some_and(|commands| !commands.is_empty()),
    }
}

#[test]
fn every_scope_in_the_manifest_is_used_by_the_code() {
    let source = source_outside_the_manifest();
    let manifest = manifest::render(&Config::default());
    let mut listed: Vec<&str> = manifest::SCOPE_NEEDS.iter().map(|(s, _)| *s).collect();
    let mut asked = strings(&manifest["oauth_config"]["scopes"]["bot"]);
    listed.sort_unstable();
    asked.sort_unstable();
    assert_eq!(asked, listed, "every scope asked for says what needs it");
    let unused: Vec<&str> = manifest::SCOPE_NEEDS
        .iter()
        .filter(|(_, needs)| !needs.iter().any(|n| is_met(*n, &source, &manifest)))
        .map(|(scope, _)| *scope)
        .collect();
    assert!(unused.is_empty(), "scopes nothing uses: {unused:?}");
}

#[test]
fn the_scope_check_notices_an_unused_scope() {
    // What reactions:write and a home tab would have needed: neither is called.
    let source = source_outside_the_manifest();
    let manifest = manifest::render(&Config::default());
    for method in ["reactions.add", "views.publish"] {
        assert!(!is_met(
            manifest::ScopeNeed::Method(method),
            &source,
            &manifest
        ));
    }
    assert!(is_met(
        manifest::ScopeNeed::Method("chat.postMessage"),
        &source,
        &manifest
    ));
    assert!(!is_met(
        manifest::ScopeNeed::Event("reaction_added"),
        &source,
        &manifest
    ));
}

/// An envelope fixture for each subscribed event.
const EVENT_FIXTURES: &[(&str, &str)] = &[
    ("app_mention", "app_mention"),
    ("message.channels", "thread_message"),
    ("message.groups", "thread_message_private_channel"),
    ("message.im", "direct_message"),
];

#[test]
fn every_subscribed_event_reaches_a_handler() {
    use chatops_bot::slack::inbound::{parse_payload, Inbound};
    use chatops_bot::slack::socket::frame::Frame;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slack/envelopes");
    for event in manifest::BOT_EVENTS {
        let fixture = EVENT_FIXTURES
            .iter()
            .find(|(e, _)| e == event)
            .unwrap_or_else(|| panic!("no fixture for the subscribed event {event}"))
            .1;
        let text = std::fs::read_to_string(dir.join(format!("{fixture}.json"))).unwrap();
        let Ok(Frame::Envelope(envelope)) = Frame::parse(&text) else {
            panic!("{fixture}.json is not an envelope");
        };
        let parsed = parse_payload(&envelope.kind, envelope.payload.as_deref().map(|p| p.get()));
        assert!(
            matches!(parsed, Ok(Inbound::Interaction { .. })),
            "{event} ({fixture}.json) reaches no handler: {parsed:?}"
        );
    }
}
