//! The `[aws_commands]` section: read-only `@bot aws <service> <operation> …` through the AWS CLI, per channel. The section absent means the command is off.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::aws::{AwsConfig, AwsService};
use super::table::{show_duration, Table};
use super::vocabulary::looks_like_region_code;

/// Default of `aws_commands.timeout`.
pub const DEFAULT_CLI_TIMEOUT: Duration = Duration::from_secs(15);
const TIMEOUT_MAX: Duration = Duration::from_secs(120);
/// The operations a listed channel may run when its entry has no `allow`.
pub const DEFAULT_ALLOW: [&str; 7] = [
    "* describe-*",
    "* list-*",
    "* get-*",
    "* lookup-*",
    "* search-*",
    "* filter-*",
    "* batch-get-*",
];

/// `[aws_commands]`, once read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsCommandsConfig {
    /// `role_arn`: the IAM role every command runs as, assumed with STS AssumeRole.
    pub role_arn: String,
    /// `cli`: the `aws` executable (AWS CLI v2); `None` means the first `aws` on `PATH` at start-up.
    pub cli: Option<PathBuf>,
    /// `region`: the region of a command without `--region`; `aws.region` by default.
    pub region: String,
    /// `timeout`: a command still running after this long is killed; 1s..=2m, 15s by default.
    pub timeout: Duration,
    /// Where STS is reached: `aws.endpoints.sts`, else `aws.endpoint_url`; `None`: STS's own.
    pub sts_endpoint: Option<Url>,
    /// `[[aws_commands.channels]]`: the only channels where commands run.
    pub channels: Vec<AwsChannel>,
}

/// One `[[aws_commands.channels]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsChannel {
    /// `channel`: a channel id (`C…`, `G…`, or a DM's `D…`).
    pub channel: String,
    /// `allow`: `service operation` globs replacing the default allowlist in this channel.
    pub allow: Option<Vec<OperationGlob>>,
}

impl AwsCommandsConfig {
    /// Reads a present `[aws_commands]` table.
    pub(crate) fn read(table: &mut Table, aws: Option<&AwsConfig>) -> Option<Self> {
        let role_arn = table.string("role_arn", check_role_arn).optional();
        let cli = table.string("cli", check_cli).optional();
        let region = table.string("region", check_region).optional();
        let timeout = table
            .duration("timeout", check_timeout)
            .or(DEFAULT_CLI_TIMEOUT);
        let channels = table.tables("channels", read_channel).or(Vec::new());
        let role_arn = match role_arn? {
            Some(arn) => arn,
            None => {
                table.report(
                    "role_arn",
                    "is required when [aws_commands] is set: the IAM role commands run as",
                );
                return None;
            }
        };
        let region = match (region?, aws.and_then(|aws| aws.region.clone())) {
            (Some(region), _) | (None, Some(region)) => region,
            (None, None) => {
                table.report(
                    "region",
                    "is required when [aws_commands] is set and aws.region is not",
                );
                return None;
            }
        };
        let channels: Option<Vec<AwsChannel>> = channels?.into_iter().collect();
        Some(Self {
            role_arn,
            cli: cli?,
            region,
            timeout: timeout?,
            sts_endpoint: aws.and_then(|aws| aws.endpoint(AwsService::Sts).cloned()),
            channels: channels?,
        })
    }

    /// The entry for `channel`, if commands may run there.
    pub fn channel(&self, channel: &str) -> Option<&AwsChannel> {
        self.channels.iter().find(|entry| entry.channel == channel)
    }
}

fn read_channel(table: &mut Table, _index: usize) -> Option<AwsChannel> {
    let channel = table.string("channel", check_channel_id).optional();
    let allow = table.string_list("allow", OperationGlob::parse).optional();
    let Some(channel) = channel? else {
        table.report(
            "channel",
            "is required: the channel id (C…) where commands may run",
        );
        return None;
    };
    Some(AwsChannel {
        channel,
        allow: allow?,
    })
}

/// A `service operation` pattern such as `ec2 describe-*` or `* list-*`: `*` is any run of
/// characters, `?` any one; both words lower-case letters, digits and `-`.
#[derive(Clone, PartialEq, Eq)]
pub struct OperationGlob {
    service: String,
    operation: String,
}

impl OperationGlob {
    /// Reads `service operation`; the message says what a pattern looks like.
    pub fn parse(text: String) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let allowed = |word: &str| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-*?".contains(c))
        };
        match words.as_slice() {
            [service, operation] if allowed(service) && allowed(operation) => Ok(Self {
                service: (*service).to_owned(),
                operation: (*operation).to_owned(),
            }),
            _ => Err(format!(
                "must be \"<service> <operation>\" in lower case, with * and ? as wildcards \
                 (such as \"ec2 describe-*\" or \"* list-*\"), got {text:?}"
            )),
        }
    }

    /// Whether `service` and `operation` both match.
    pub fn matches(&self, service: &str, operation: &str) -> bool {
        wildcard(&self.service, service) && wildcard(&self.operation, operation)
    }
}

impl fmt::Display for OperationGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service, self.operation)
    }
}

impl fmt::Debug for OperationGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OperationGlob({self})")
    }
}

/// `*` and `?` matching over characters, whole text.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*` (linear in practice).
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn check_role_arn(arn: String) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len();
    if ok {
        Ok(arn)
    } else {
        Err(format!(
            "must be an IAM role ARN such as \"arn:aws:iam::123456789012:role/chatops-readonly\", got {arn:?}"
        ))
    }
}

fn check_cli(path: String) -> Result<PathBuf, String> {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(format!(
            "must be an absolute path to the aws executable (such as /usr/local/bin/aws), got {:?}",
            path.display().to_string()
        ))
    }
}

fn check_region(region: String) -> Result<String, String> {
    if looks_like_region_code(&region) {
        Ok(region)
    } else {
        Err(format!(
            "must be a region code such as \"eu-west-1\", got {region:?}"
        ))
    }
}

fn check_timeout(timeout: Duration) -> Result<Duration, String> {
    if (Duration::from_secs(1)..=TIMEOUT_MAX).contains(&timeout) {
        Ok(timeout)
    } else {
        Err(format!(
            "must be between 1s and {}, got {}",
            show_duration(TIMEOUT_MAX),
            show_duration(timeout)
        ))
    }
}

/// A channel id as Slack sends it with a mention: `C…`, `G…` or `D…`, upper-case letters and
/// digits, at least 9 long. (A `#name` is not enough: a mention carries only the id.)
fn check_channel_id(id: String) -> Result<String, String> {
    let mut chars = id.chars();
    let ok = matches!(chars.next(), Some('C' | 'G' | 'D'))
        && id.len() >= 9
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(id)
    } else {
        Err(format!(
            "must be a channel id such as \"C0123ABCD\" (in Slack: the channel's details, at the bottom), got {id:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_words() {
        assert!(wildcard("describe-*", "describe-instances"));
        assert!(wildcard("*", ""));
        assert!(wildcard(
            "get-*-access-details",
            "get-instance-access-details"
        ));
        assert!(!wildcard(
            "get-*-access-details",
            "get-instance-access-detail"
        ));
        assert!(wildcard("generate-data-key*", "generate-data-key"));
        assert!(wildcard("ec?", "ec2"));
        assert!(!wildcard("ec2", "ec2-instance-connect"));
        assert!(!wildcard("list-*", "xlist-users"));
        assert!(wildcard("*a*b*", "xxaxxbxx"));
    }

    #[test]
    fn operation_globs_read_two_words() {
        let glob = OperationGlob::parse("ec2 describe-*".into()).unwrap();
        assert!(glob.matches("ec2", "describe-instances"));
        assert!(!glob.matches("rds", "describe-db-instances"));
        assert_eq!(glob.to_string(), "ec2 describe-*");
        for bad in [
            "ec2",
            "ec2 describe-* x",
            "EC2 describe-*",
            "ec2 describe_x",
            "",
        ] {
            assert!(OperationGlob::parse(bad.into()).is_err(), "{bad}");
        }
    }
}
