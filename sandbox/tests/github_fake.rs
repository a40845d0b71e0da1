//! The fake GitHub's own rules, driven with raw HTTP: credentials (token, App JWTs and their
//! time rules, installation tokens), GitHub's dispatch body limits as 422s, unknown repositories
//! as 404, and the shape of what it answers.

use std::time::{SystemTime, UNIX_EPOCH};

use chatops_sandbox::github::{
    AuthKind, FakeGitHub, FAKE_APP_ID, FAKE_INSTALLATION_ID, TEST_APP_PRIVATE_KEY,
    TEST_OTHER_PRIVATE_KEY,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

fn jwt(key: &str, iat_offset: i64, lifetime: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({"iat": now + iat_offset, "exp": now + iat_offset + lifetime,
                        "iss": FAKE_APP_ID});
    let key = EncodingKey::from_rsa_pem(key.as_bytes()).expect("the test key parses");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signs")
}

async fn post(fake: &FakeGitHub, path: &str, bearer: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", fake.api_url()))
        .bearer_auth(bearer)
        .header("user-agent", "github-fake-test")
        .json(body)
        .send()
        .await
        .expect("the fake answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn app_jwts_follow_githubs_rules_and_mint_installation_tokens() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let mint = format!("/app/installations/{FAKE_INSTALLATION_ID}/access_tokens");
    let good = jwt(TEST_APP_PRIVATE_KEY, -60, 600);
    let (status, body) = post(&fake, &mint, &good, &json!({})).await;
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().expect("a token").to_owned();
    assert!(body["expires_at"]
        .as_str()
        .is_some_and(|at| at.ends_with('Z')));

    for refused in [
        jwt(TEST_OTHER_PRIVATE_KEY, -60, 600),
        jwt(TEST_APP_PRIVATE_KEY, -60, 700),
        jwt(TEST_APP_PRIVATE_KEY, -1200, 600),
    ] {
        let (status, body) = post(&fake, &mint, &refused, &json!({})).await;
        assert_eq!(status, 401, "{body}");
        assert!(body["message"].is_string() && body["documentation_url"].is_string());
    }
    assert_eq!(fake.token_mints(), 1);

    let dispatch = json!({"event_type": "dev_deploy", "client_payload": {"version": "v1"}});
    let (status, _) = post(&fake, "/repos/acme/app/dispatches", &token, &dispatch).await;
    assert_eq!(status, 204);
    fake.expire_installation_tokens();
    let (status, body) = post(&fake, "/repos/acme/app/dispatches", &token, &dispatch).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Bad credentials"))
    );
    let (status, _) = post(&fake, "/repos/acme/app/dispatches", &good, &dispatch).await;
    assert_eq!(status, 401, "a JWT is not an installation token");
    let auths: Vec<AuthKind> = fake.requests().iter().map(|r| r.auth).collect();
    assert_eq!(auths[0], AuthKind::Jwt);
    assert_eq!(
        auths[auths.len() - 3..],
        [AuthKind::Installation, AuthKind::Refused, AuthKind::Jwt]
    );
}

#[tokio::test]
async fn dispatch_bodies_past_githubs_limits_are_422() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let token = fake.token();
    let eleven: serde_json::Map<String, Value> =
        (0..11).map(|n| (format!("k{n}"), json!("v"))).collect();
    let repository = "/repos/acme/app/dispatches";
    let workflow = "/repos/acme/app/actions/workflows/deploy.yml/dispatches";
    let cases = [
        (repository, json!({"event_type": "", "client_payload": {}})),
        (repository, json!({"event_type": "e".repeat(101)})),
        (
            repository,
            json!({"event_type": "dev_deploy", "client_payload": eleven}),
        ),
        (
            repository,
            json!({"event_type": "dev_deploy", "client_payload": {"v": "x".repeat(70_000)}}),
        ),
        (workflow, json!({"inputs": {"version": "v1"}})),
        (workflow, json!({"ref": "main", "inputs": {"count": 3}})),
        (
            workflow,
            json!({"ref": "main", "inputs": {}, "unknown": true}),
        ),
    ];
    for (path, body) in &cases {
        let (status, answer) = post(&fake, path, &token, body).await;
        assert_eq!(status, 422, "{path} {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Invalid request") || m.contains("64 KB")),
            "{answer}"
        );
    }
    assert!(fake.runs().is_empty());
    let (status, _) = post(
        &fake,
        "/repos/acme/other/dispatches",
        &token,
        &json!({"event_type": "x"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = post(&fake, repository, "wrong", &json!({"event_type": "x"})).await;
    assert_eq!(status, 401);
    let anonymous = reqwest::Client::new()
        .post(format!("{}{repository}", fake.api_url()))
        .bearer_auth(&token)
        .json(&json!({"event_type": "x"}))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(
        anonymous.status().as_u16(),
        403,
        "GitHub needs a User-Agent"
    );
    let ok = json!({"ref": "main", "inputs": {"version": "v2", "environment": "prod",
                    "request_id": "r-1"}, "return_run_details": true});
    let (status, answer) = post(&fake, workflow, &token, &ok).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["workflow_run_id"].as_u64(), Some(fake.runs()[0].id));
    assert_eq!(fake.runs()[0].display_title, "Deploy v2 to prod [r-1]");
}
