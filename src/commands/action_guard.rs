//! The AWS CLI guardrails as custom actions ask them (`custom_actions::Guardrails`).
//! Interim rules until `@bot aws`'s guardrails module lands; then this delegates to it.

use crate::custom_actions::Guardrails;

/// Longest argv element.
const MAX_ARG_CHARS: usize = 1024;
const REJECTED_FLAGS: &[&str] = &[
    "--endpoint-url",
    "--profile",
    "--cli-input-json",
    "--cli-input-yaml",
    "--cli-binary-format",
    "--debug",
    "--ca-bundle",
    "--no-verify-ssl",
    "--output",
];
const DENIED: &[(&str, &str)] = &[
    ("secretsmanager", "get-secret-value"),
    ("secretsmanager", "batch-get-secret-value"),
    ("kms", "decrypt"),
    ("kms", "generate-data-key"),
    ("s3api", "get-object"),
    ("lambda", "get-function"),
    ("ecr", "get-login-password"),
    ("ecr", "get-authorization-token"),
    ("sts", "get-session-token"),
    ("sts", "assume-role"),
    ("sts", "get-federation-token"),
    ("iam", "get-credential-report"),
    ("rds", "generate-db-auth-token"),
    ("eks", "get-token"),
    ("ec2", "get-password-data"),
];
const READ_ONLY: &[&str] = &[
    "describe-", "list-", "get-", "lookup-", "search-", "filter-", "batch-get-",
];

/// The guardrails of `@bot aws`, for actions.
pub struct AwsGuardrails;

impl Guardrails for AwsGuardrails {
    fn value_problem(&self, value: &str) -> Option<String> {
        if value.chars().count() > MAX_ARG_CHARS {
            return Some(format!("longer than {MAX_ARG_CHARS} characters"));
        }
        let bad = value.chars().find(|c| {
            matches!(c, ';' | '|' | '&' | '$' | '`' | '>' | '<') || c.is_control()
        });
        bad.map(|c| format!("it contains {c:?}, a shell or control character"))
    }

    fn command_problem(&self, args: &[String]) -> Option<String> {
        for arg in args {
            let flag = arg.split('=').next().unwrap_or_default();
            if REJECTED_FLAGS.contains(&flag) {
                return Some(format!("{flag} is never allowed"));
            }
            if arg.contains("file://") || arg.contains("fileb://") {
                return Some("file:// and fileb:// are never allowed".into());
            }
        }
        let (service, operation) = (args.first()?.as_str(), args.get(1)?.as_str());
        let denied = DENIED
            .iter()
            .any(|(s, o)| *s == service && operation.starts_with(o))
            || (service == "cognito-idp" && operation.starts_with("admin-"))
            || (service == "ssm"
                && operation.starts_with("get-parameter")
                && args.iter().any(|a| a == "--with-decryption"));
        denied.then(|| format!("{service} {operation} is on the denylist (it can reveal secrets or data)"))
    }

    fn is_read_only(&self, _service: &str, operation: &str) -> bool {
        READ_ONLY.iter().any(|prefix| operation.starts_with(prefix))
    }
}
