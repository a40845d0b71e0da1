//! Proxies from the environment and `[aws.endpoints]`: which variable wins, what NO_PROXY exempts, where each AWS client goes.

use chatops_bot::config::{AwsService, Config, Direct, NoProxy, ProxySettings, Purpose, Route};
use secrecy::ExposeSecret;
use url::Url;

use super::env;

fn settings(vars: &[(&str, &str)]) -> ProxySettings {
    ProxySettings::from_env_vars(vars.iter().copied())
        .unwrap_or_else(|problems| panic!("{problems:?}"))
}

fn via(settings: &ProxySettings, url: &str) -> Option<String> {
    let url = Url::parse(url).unwrap();
    settings.for_url(&url).map(|server| server.authority())
}

/// Whether `NO_PROXY=list` sends `url` directly.
fn exempt(list: &str, url: &str) -> bool {
    let proxy = settings(&[
        ("HTTPS_PROXY", "proxy:3128"),
        ("HTTP_PROXY", "proxy:3128"),
        ("NO_PROXY", list),
    ]);
    via(&proxy, url).is_none()
}

#[test]
fn without_variables_everything_is_direct() {
    let proxy = settings(&[("PATH", "/usr/bin")]);
    assert!(proxy.is_off());
    assert_eq!(via(&proxy, "https://slack.com/api/"), None);
    let config = Config::load_from_str("inline", "", env(&[]), Purpose::Manifest).unwrap();
    assert!(config.proxy.is_off());
}

#[test]
fn each_scheme_takes_its_own_variable_and_all_proxy_fills_in() {
    let proxy = settings(&[
        ("HTTPS_PROXY", "http://secure-proxy:3128"),
        ("http_proxy", "plain-proxy:8080"),
    ]);
    assert_eq!(
        via(&proxy, "https://slack.com/api/").as_deref(),
        Some("secure-proxy:3128")
    );
    assert_eq!(
        via(&proxy, "wss://wss-primary.slack.com/link").as_deref(),
        Some("secure-proxy:3128")
    );
    assert_eq!(
        via(&proxy, "http://wiki.corp/").as_deref(),
        Some("plain-proxy:8080")
    );
    assert_eq!(
        via(&proxy, "ws://127.0.0.1:9000/").as_deref(),
        Some("plain-proxy:8080")
    );

    let only_https = settings(&[("https_proxy", "http://proxy:3128")]);
    assert_eq!(
        via(&only_https, "http://sqs.local:4566/"),
        None,
        "no HTTP_PROXY: http:// goes direct"
    );
    let url = Url::parse("http://sqs.local:4566/").unwrap();
    assert!(matches!(
        only_https.route(&url),
        Route::Direct(Direct::NoProxySet)
    ));

    let all = settings(&[
        ("ALL_PROXY", "http://all:3128"),
        ("HTTP_PROXY", "http://plain:80"),
    ]);
    assert_eq!(via(&all, "https://slack.com/").as_deref(), Some("all:3128"));
    assert_eq!(via(&all, "http://slack.com/").as_deref(), Some("plain:80"));
}

#[test]
fn upper_case_wins_and_an_empty_variable_counts_as_unset() {
    let proxy = settings(&[
        ("https_proxy", "http://lower:1"),
        ("HTTPS_PROXY", "http://upper:2"),
    ]);
    assert_eq!(
        via(&proxy, "https://slack.com/").as_deref(),
        Some("upper:2")
    );
    assert_eq!(proxy.https_proxy().unwrap().variable(), "HTTPS_PROXY");
    let proxy = settings(&[("HTTPS_PROXY", ""), ("https_proxy", "http://lower:1")]);
    assert_eq!(
        via(&proxy, "https://slack.com/").as_deref(),
        Some("lower:1")
    );
}

#[test]
fn credentials_are_decoded_for_use_and_never_shown() {
    let proxy = settings(&[(
        "HTTPS_PROXY",
        "http://chat%20ops:p%40ss%3Aw0rd@proxy.corp:3128/",
    )]);
    let server = proxy.https_proxy().unwrap();
    let (user, password) = server.credentials().unwrap();
    assert_eq!(user, "chat ops");
    assert_eq!(password.expose_secret(), "p@ss:w0rd");
    assert_eq!(
        server.to_string(),
        "http://proxy.corp:3128 (with credentials)"
    );
    let debug = format!("{proxy:?}");
    assert!(!debug.contains("w0rd"), "{debug}");
    assert_eq!(
        server.url_with_credentials().as_str(),
        "http://chat%20ops:p%40ss%3Aw0rd@proxy.corp:3128/"
    );
    let url = server.url_with_credentials();
    assert_eq!(
        url.password(),
        Some("p%40ss%3Aw0rd"),
        "percent-encoded for URL takers"
    );
}

#[test]
fn a_proxy_without_a_port_uses_80_and_ipv6_proxies_keep_brackets() {
    let proxy = settings(&[
        ("HTTPS_PROXY", "http://proxy.corp"),
        ("HTTP_PROXY", "http://[fd00::5]:3128"),
    ]);
    assert_eq!(
        via(&proxy, "https://slack.com/").as_deref(),
        Some("proxy.corp:80")
    );
    assert_eq!(
        via(&proxy, "http://slack.com/").as_deref(),
        Some("[fd00::5]:3128")
    );
    assert_eq!(proxy.http_proxy().unwrap().host(), "fd00::5");
}

#[test]
fn no_proxy_names_a_host_and_every_name_under_it() {
    for list in [
        "corp.example",
        ".corp.example",
        "*.corp.example",
        "CORP.example.",
    ] {
        assert!(exempt(list, "https://wiki.corp.example/"), "{list}");
        assert!(exempt(list, "https://a.b.corp.example/"), "{list}");
        assert!(exempt(list, "https://corp.example/"), "{list}");
        assert!(exempt(list, "https://Wiki.Corp.Example./"), "{list}");
        assert!(!exempt(list, "https://notcorp.example/"), "{list}");
        assert!(!exempt(list, "https://corp.example.org/"), "{list}");
    }
    assert!(!exempt("", "https://slack.com/"));
    assert!(!exempt("slack.com.evil", "https://slack.com/"));
}

#[test]
fn no_proxy_star_exempts_everything() {
    assert!(exempt("*", "https://slack.com/"));
    assert!(exempt("wiki.corp, *", "http://10.1.2.3:8080/"));
    assert!(
        NoProxy::parse("*x.example").is_err(),
        "only a lone * is a wildcard"
    );
}

#[test]
fn no_proxy_ports_limit_an_entry_to_one_port() {
    assert!(exempt("wiki.corp:8443", "https://wiki.corp:8443/"));
    assert!(!exempt("wiki.corp:8443", "https://wiki.corp/"));
    assert!(
        exempt("wiki.corp:443", "https://wiki.corp/"),
        "the scheme's default port counts"
    );
    assert!(exempt("10.0.0.7:4566", "http://10.0.0.7:4566/"));
    assert!(!exempt("10.0.0.7:4566", "http://10.0.0.7:4567/"));
    assert!(exempt("[fd00::7]:443", "https://[fd00::7]/"));
    assert!(!exempt("[fd00::7]:443", "https://[fd00::7]:8443/"));
}

#[test]
fn no_proxy_matches_addresses_and_networks_but_resolves_no_name() {
    assert!(exempt("10.0.0.7", "http://10.0.0.7:4566/"));
    assert!(!exempt("10.0.0.7", "http://10.0.0.8/"));
    assert!(exempt("10.0.0.0/8", "https://10.200.3.4/"));
    assert!(!exempt("10.0.0.0/8", "https://11.0.0.1/"));
    assert!(exempt("0.0.0.0/0", "https://1.2.3.4/"));
    assert!(exempt("::1", "http://[::1]:8080/"));
    assert!(exempt("[::1]", "http://[::1]:8080/"));
    assert!(exempt("fd00::/8", "https://[fd12::1]/"));
    assert!(!exempt("fd00::/8", "https://[fe12::1]/"));
    assert!(
        !exempt("10.0.0.0/8", "https://localhost/"),
        "names are not resolved"
    );
    assert!(
        !exempt("localhost", "https://127.0.0.1/"),
        "addresses are not named"
    );
}

#[test]
fn the_instance_metadata_service_is_always_direct() {
    let proxy = settings(&[("HTTP_PROXY", "proxy:3128"), ("HTTPS_PROXY", "proxy:3128")]);
    for url in [
        "http://169.254.169.254/latest/api/token",
        "http://169.254.170.2/v2/credentials/x",
        "http://[fd00:ec2::254]/latest/meta-data/",
    ] {
        let parsed = Url::parse(url).unwrap();
        assert!(
            matches!(proxy.route(&parsed), Route::Direct(Direct::LinkLocal)),
            "{url}"
        );
    }
    assert_eq!(
        via(&proxy, "https://sts.eu-west-1.amazonaws.com/").as_deref(),
        Some("proxy:3128")
    );
}

#[test]
fn a_no_proxy_list_parses_on_its_own() {
    let list = NoProxy::parse(" a.example , b.example  10.0.0.0/8,,").unwrap();
    assert!(list.matches("x.a.example", 443));
    assert!(list.matches("b.example", 80));
    assert!(list.matches("10.9.9.9", 1));
    assert!(!list.matches("c.example", 443));
    assert!(NoProxy::parse("").unwrap().is_empty());
    let error = NoProxy::parse("ok.example,bad/host,a:b").unwrap_err();
    assert!(error.contains("\"bad/host\", \"a:b\""), "{error}");
}

#[test]
fn a_service_endpoint_wins_over_the_global_one() {
    let text = "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:4566\"\n\n\
                [aws.endpoints]\nsqs = \"https://vpce-0a1.sqs.eu-west-1.vpce.amazonaws.com\"\n";
    let config = Config::load_from_str("inline", text, env(&[]), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let endpoint = |service| config.aws.endpoint(service).map(Url::as_str);
    assert_eq!(
        endpoint(AwsService::Sqs),
        Some("https://vpce-0a1.sqs.eu-west-1.vpce.amazonaws.com/")
    );
    assert_eq!(endpoint(AwsService::Sns), Some("http://127.0.0.1:4566/"));
    assert_eq!(
        endpoint(AwsService::SecretsManager),
        Some("http://127.0.0.1:4566/")
    );
}

#[test]
fn without_overrides_each_service_has_its_regional_endpoint() {
    let text = "[aws]\nregion = \"eu-west-1\"\n";
    let vars = [(
        "CHATOPS_AWS__ENDPOINTS__BEDROCK_AGENT_RUNTIME",
        "https://vpce-b.example",
    )];
    let config = Config::load_from_str("inline", text, env(&vars), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(config.aws.endpoint(AwsService::Sqs), None);
    let effective = |service| {
        config
            .aws
            .effective_endpoint(service)
            .map(|url| url.to_string())
    };
    assert_eq!(
        effective(AwsService::Sqs).as_deref(),
        Some("https://sqs.eu-west-1.amazonaws.com/")
    );
    assert_eq!(
        effective(AwsService::BedrockAgent).as_deref(),
        Some("https://bedrock-agent.eu-west-1.amazonaws.com/")
    );
    assert_eq!(
        effective(AwsService::BedrockAgentRuntime).as_deref(),
        Some("https://vpce-b.example/")
    );
}

#[test]
fn the_agent_takes_the_bedrock_runtime_endpoint_unless_its_own_is_set() {
    let base = "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:4566\"\n\n\
                [aws.endpoints]\nbedrock_agent_runtime = \"https://vpce-b.example\"\n\n\
                [bedrock]\nagent_id = \"A1\"\nagent_alias_id = \"TSTALIASID\"\n";
    let load = |text: &str| {
        Config::load_from_str("inline", text, env(&[]), Purpose::Manifest)
            .unwrap_or_else(|errors| panic!("{errors}"))
    };
    let bedrock = load(base).bedrock.unwrap();
    assert_eq!(
        bedrock.endpoint_url.unwrap().as_str(),
        "https://vpce-b.example/"
    );
    let own = format!("{base}endpoint_url = \"http://127.0.0.1:4567\"\n");
    let bedrock = load(&own).bedrock.unwrap();
    assert_eq!(
        bedrock.endpoint_url.unwrap().as_str(),
        "http://127.0.0.1:4567/"
    );
}

#[test]
fn a_region_mismatch_is_allowed_when_sqs_has_its_own_endpoint() {
    let text = "[aws]\nregion = \"eu-west-1\"\n\n[aws.endpoints]\nsqs = \"http://127.0.0.1:4566\"\n\n\
                [alarms]\nqueue_url = \"https://sqs.us-east-1.amazonaws.com/123456789012/chatops-alarms\"\ndefault_channel = \"C0ALERTS01\"\n";
    if let Err(errors) = Config::load_from_str("inline", text, env(&[]), Purpose::Manifest) {
        panic!("{errors}");
    }
}

#[test]
fn the_commented_aws_example_in_bot_toml_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text.find("# [aws]").expect("bot.toml documents [aws]");
    let end = start
        + text[start..]
            .find("# [alarms]")
            .expect("[alarms] follows [aws]");
    let example: String = text[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|rest| rest.starts_with('[') || rest.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = Config::load_from_str("bot.toml example", &example, env(&[]), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{example}\n{errors}"));
    let sqs = config
        .aws
        .endpoint(AwsService::Sqs)
        .expect("the example sets sqs");
    assert!(
        sqs.as_str().contains(".sqs.eu-west-1.vpce.amazonaws.com"),
        "{sqs}"
    );
    assert_eq!(
        config.aws.endpoint(AwsService::Sns).map(Url::as_str),
        Some("http://127.0.0.1:4566/"),
        "sns falls back to endpoint_url"
    );
}
