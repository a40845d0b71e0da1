//! Which operations may run: the denylist (operations that hand out secrets, credentials or data), which always wins, then a channel's allowlist (`describe-*`, `list-*`, … by default). Pure.
//!
//! docs/aws-commands.md lists both; tests/fixtures/aws_commands/guardrails.txt checks them
//! operation by operation.

use std::sync::OnceLock;

use crate::config::{wildcard, OperationGlob, DEFAULT_ALLOW};

use super::command::AwsCommand;
use super::refusal::Refusal;

/// When a denylist entry applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only with this option (or an abbreviation of it), such as `--with-decryption`.
    WithFlag(&'static str),
    /// Unless this option is given, such as glue's `--hide-password`.
    WithoutFlag(&'static str),
}

/// One denylist entry: `service` and `operation` are `*`/`?` patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    pub service: &'static str,
    pub operation: &'static str,
    pub when: When,
    pub why: &'static str,
}

const SECRET: &str = "it returns a secret value";
const CREDENTIALS: &str = "it hands out credentials or a token";
const DATA: &str = "it returns stored data, not a resource's description";
const CODE_URL: &str = "it returns a pre-signed URL to download code or content";
const CLI_LOCAL: &str = "it reads or changes the CLI's own configuration and credentials";

const fn deny(service: &'static str, operation: &'static str, why: &'static str) -> Denied {
    Denied {
        service,
        operation,
        when: When::Always,
        why,
    }
}

const fn deny_with(
    service: &'static str,
    operation: &'static str,
    flag: &'static str,
    why: &'static str,
) -> Denied {
    Denied {
        service,
        operation,
        when: When::WithFlag(flag),
        why,
    }
}

/// The denylist. It wins over every allowlist, the channels' own included.
pub const DENYLIST: &[Denied] = &[
    // The CLI's own commands: credentials and configuration on the bot's machine.
    deny("configure", "*", CLI_LOCAL),
    deny("history", "*", CLI_LOCAL),
    deny("login", "*", CLI_LOCAL),
    deny("logout", "*", CLI_LOCAL),
    deny("sso", "*", CREDENTIALS),
    deny("sso-oidc", "*", CREDENTIALS),
    // Secrets.
    deny("secretsmanager", "get-secret-value", SECRET),
    deny("secretsmanager", "batch-get-secret-value", SECRET),
    deny_with("ssm", "get-parameter", "--with-decryption", SECRET),
    deny_with("ssm", "get-parameters", "--with-decryption", SECRET),
    deny_with("ssm", "get-parameters-by-path", "--with-decryption", SECRET),
    deny_with("ssm", "get-parameter-history", "--with-decryption", SECRET),
    deny("kms", "decrypt", SECRET),
    deny("kms", "generate-data-key*", SECRET),
    deny("kms", "generate-random", SECRET),
    deny("kms", "get-parameters-for-import", CREDENTIALS),
    deny("ec2", "get-password-data", SECRET),
    deny("lightsail", "get-*access-details", CREDENTIALS),
    deny(
        "lightsail",
        "get-relational-database-master-user-password",
        SECRET,
    ),
    deny("glue", "get-connection", SECRET).when(When::WithoutFlag("--hide-password")),
    deny("glue", "get-connections", SECRET).when(When::WithoutFlag("--hide-password")),
    deny_with("apigateway", "get-api-key", "--include-value", SECRET),
    deny_with("apigateway", "get-api-keys", "--include-values", SECRET),
    deny("appsync", "list-api-keys", SECRET),
    deny("iam", "get-credential-report", CREDENTIALS),
    // Credentials and tokens.
    deny("sts", "get-session-token", CREDENTIALS),
    deny("sts", "assume-role*", CREDENTIALS),
    deny("sts", "assume-root", CREDENTIALS),
    deny("sts", "get-federation-token", CREDENTIALS),
    deny("sts", "get-web-identity-token", CREDENTIALS),
    deny("sts", "get-delegated-access-token", CREDENTIALS),
    deny("*", "get-federation-token", CREDENTIALS),
    deny("ecr", "get-login-password", CREDENTIALS),
    deny("ecr", "get-authorization-token", CREDENTIALS),
    deny("ecr-public", "get-login-password", CREDENTIALS),
    deny("ecr-public", "get-authorization-token", CREDENTIALS),
    deny("codeartifact", "get-authorization-token", CREDENTIALS),
    deny("codeartifact", "login", CREDENTIALS),
    deny("eks", "get-token", CREDENTIALS),
    deny("rds", "generate-db-auth-token", CREDENTIALS),
    deny("redshift", "get-cluster-credentials*", CREDENTIALS),
    deny("redshift-serverless", "get-credentials", CREDENTIALS),
    deny("cognito-idp", "admin-*", CREDENTIALS),
    deny(
        "cognito-identity",
        "get-credentials-for-identity",
        CREDENTIALS,
    ),
    deny("cognito-identity", "get-open-id-token*", CREDENTIALS),
    deny("cognito-identity", "get-id", CREDENTIALS),
    deny("gamelift", "get-instance-access", CREDENTIALS),
    deny("gamelift", "get-compute-access", CREDENTIALS),
    deny("gamelift", "get-compute-auth-token", CREDENTIALS),
    deny("ec2", "get-console-output", DATA),
    deny("ec2", "get-console-screenshot", DATA),
    // Data and content.
    deny("s3api", "get-object", DATA),
    deny("s3api", "get-object-torrent", DATA),
    deny("s3", "cp", DATA),
    deny("s3", "sync", DATA),
    deny("s3", "presign", CODE_URL),
    deny("lambda", "get-function", CODE_URL),
    deny("lambda", "get-layer-version", CODE_URL),
    deny("lambda", "get-layer-version-by-arn", CODE_URL),
    deny("ecr", "get-download-url-for-layer", CODE_URL),
    deny("codeartifact", "get-package-version-asset", DATA),
    deny("codecommit", "get-blob", DATA),
    deny("codecommit", "get-file", DATA),
    deny("codecommit", "get-folder", DATA),
    deny("dynamodb", "get-item", DATA),
    deny("dynamodb", "batch-get-item", DATA),
    deny("kinesis", "get-records", DATA),
    deny("kinesis", "get-shard-iterator", DATA),
    deny("athena", "get-query-results", DATA),
    deny("glacier", "get-job-output", DATA),
    deny("mediastore-data", "get-object", DATA),
    deny("appconfigdata", "get-latest-configuration", DATA),
    deny("appconfig", "get-configuration", DATA),
    deny("appconfig", "get-hosted-configuration-version", DATA),
];

impl Denied {
    const fn when(mut self, when: When) -> Self {
        self.when = when;
        self
    }

    /// Whether this entry refuses `command`.
    pub fn applies_to(&self, command: &AwsCommand) -> bool {
        wildcard(self.service, command.service())
            && wildcard(self.operation, command.operation())
            && match self.when {
                When::Always => true,
                When::WithFlag(flag) => command.has_flag(flag),
                When::WithoutFlag(flag) => !command.args().iter().any(|arg| arg == flag),
            }
    }

    /// The entry as docs/aws-commands.md shows it.
    pub fn shown(&self) -> String {
        let base = format!("{} {}", self.service, self.operation);
        match self.when {
            When::Always => base,
            When::WithFlag(flag) => format!("{base} {flag}"),
            When::WithoutFlag(flag) => format!("{base} (without {flag})"),
        }
    }
}

/// The first denylist entry that refuses `command`.
pub fn denial(command: &AwsCommand) -> Option<&'static Denied> {
    DENYLIST.iter().find(|entry| entry.applies_to(command))
}

/// The allowlist of a channel entry without `allow`.
pub fn default_allowlist() -> &'static [OperationGlob] {
    static DEFAULT: OnceLock<Vec<OperationGlob>> = OnceLock::new();
    DEFAULT.get_or_init(|| {
        DEFAULT_ALLOW
            .iter()
            .map(|glob| OperationGlob::parse((*glob).to_owned()).expect("the default globs parse"))
            .collect()
    })
}

/// Whether `command` may run where `allow` is the allowlist (`None`: the default one). The
/// denylist is asked first and wins.
pub fn permit(command: &AwsCommand, allow: Option<&[OperationGlob]>) -> Result<(), Refusal> {
    if let Some(entry) = denial(command) {
        return Err(Refusal::Denied {
            service: command.service().to_owned(),
            operation: command.operation().to_owned(),
            why: entry.why,
        });
    }
    let allow = allow.unwrap_or(default_allowlist());
    if allow
        .iter()
        .any(|glob| glob.matches(command.service(), command.operation()))
    {
        return Ok(());
    }
    let allowed = allow
        .iter()
        .map(|glob| format!("`{glob}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Refusal::NotAllowed {
        service: command.service().to_owned(),
        operation: command.operation().to_owned(),
        allowed: if allowed.is_empty() {
            "nothing".into()
        } else {
            allowed
        },
    })
}
