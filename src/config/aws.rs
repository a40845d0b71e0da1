//! The `[aws]` section: the region, an endpoint override for every AWS client, and per-service ones.

use std::collections::BTreeMap;

use url::Url;

use super::vocabulary::looks_like_region_code;

use super::alarms::AlarmsConfig;
use super::table::Table;

/// `[aws]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsConfig {
    /// `aws.region`: the region code every AWS client uses. When `alarms.queue_url` is set and
    /// this is not, loading fills it in from the queue URL's host (`sqs.<region>.amazonaws.com`).
    pub region: Option<String>,
    /// `aws.endpoint_url`: replaces the endpoint of every AWS client (VPC endpoints, LocalStack,
    /// moto, tests). http or https.
    pub endpoint_url: Option<Url>,
    /// `[aws.endpoints]`: one service's endpoint (a VPC interface endpoint without private DNS),
    /// which wins over `endpoint_url` for that service. Read it through [`AwsConfig::endpoint`].
    pub endpoints: BTreeMap<AwsService, Url>,
}

/// The AWS services the bot calls, each with its key in `[aws.endpoints]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AwsService {
    /// The alarm queue.
    Sqs,
    /// `test-alarm` publishes to the alarm topic.
    Sns,
    /// `aws-secretsmanager:` references in the configuration.
    SecretsManager,
    /// InvokeAgent: the agent's answers.
    BedrockAgentRuntime,
    /// The agent's control plane (GetAgentAlias), for `check --live`.
    BedrockAgent,
    /// AssumeRole for `[aws_commands]`' role.
    Sts,
    /// ConverseStream: the `model` backend's answers.
    BedrockRuntime,
    /// InvokeAgentRuntime: the `agentcore` backend's answers.
    BedrockAgentCore,
    /// GetMetricWidgetImage: the metric graphs on alarm cards.
    CloudWatch,
}

impl AwsService {
    pub const ALL: [AwsService; 9] = [
        AwsService::Sqs,
        AwsService::Sns,
        AwsService::SecretsManager,
        AwsService::BedrockAgentRuntime,
        AwsService::BedrockAgent,
        AwsService::Sts,
        AwsService::BedrockRuntime,
        AwsService::BedrockAgentCore,
        AwsService::CloudWatch,
    ];

    /// Its key in `[aws.endpoints]`.
    pub fn key(self) -> &'static str {
        match self {
            AwsService::Sqs => "sqs",
            AwsService::Sns => "sns",
            AwsService::SecretsManager => "secretsmanager",
            AwsService::BedrockAgentRuntime => "bedrock_agent_runtime",
            AwsService::BedrockAgent => "bedrock_agent",
            AwsService::Sts => "sts",
            AwsService::BedrockRuntime => "bedrock_runtime",
            AwsService::BedrockAgentCore => "bedrock_agentcore",
            AwsService::CloudWatch => "cloudwatch",
        }
    }

    /// The first label of its public endpoint, `https://<label>.<region>.amazonaws.com`, which is
    /// also the service name of its VPC interface endpoint (`com.amazonaws.<region>.<label>`).
    pub fn endpoint_label(self) -> &'static str {
        match self {
            AwsService::Sqs => "sqs",
            AwsService::Sns => "sns",
            AwsService::SecretsManager => "secretsmanager",
            AwsService::BedrockAgentRuntime => "bedrock-agent-runtime",
            AwsService::BedrockAgent => "bedrock-agent",
            AwsService::Sts => "sts",
            AwsService::BedrockRuntime => "bedrock-runtime",
            AwsService::BedrockAgentCore => "bedrock-agentcore",
            AwsService::CloudWatch => "monitoring",
        }
    }
}

impl AwsConfig {
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let region = table.string("region", check_region).optional();
        let endpoint_url = table.string("endpoint_url", parse_endpoint_url).optional();
        let endpoints = table.section("endpoints", read_endpoints);
        Some(Self {
            region: region?,
            endpoint_url: endpoint_url?,
            endpoints: endpoints?,
        })
    }

    /// Where `service`'s client sends its requests: `aws.endpoints.<service>`, else
    /// `aws.endpoint_url`; `None` means the SDK's own regional endpoint.
    pub fn endpoint(&self, service: AwsService) -> Option<&Url> {
        self.endpoints.get(&service).or(self.endpoint_url.as_ref())
    }

    /// The URL `service` is reached at: [`AwsConfig::endpoint`], else its public regional one
    /// (`None` without a region). For telling where traffic goes, not for building clients.
    pub fn effective_endpoint(&self, service: AwsService) -> Option<Url> {
        if let Some(url) = self.endpoint(service) {
            return Some(url.clone());
        }
        let region = self.region.as_deref()?;
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let label = service.endpoint_label();
        Url::parse(&format!("https://{label}.{region}.{suffix}/")).ok()
    }

    /// Settles the region once `[alarms]` is known: taken from the queue URL when not given,
    /// required when the URL does not name one, and it must agree with the URL when both do
    /// (unless an SQS endpoint, `aws.endpoints.sqs` or `aws.endpoint_url`, sends every request
    /// elsewhere anyway). Problems go to `root`.
    pub(crate) fn settle_region(&mut self, alarms: &AlarmsConfig, root: &mut Table) {
        let Some(queue_url) = &alarms.queue_url else {
            return;
        };
        let from_url = region_of_queue_url(queue_url);
        match (&self.region, from_url) {
            (None, Some(region)) => self.region = Some(region.to_owned()),
            (None, None) => root.report(
                "aws.region",
                format!(
                    "is required when alarms.queue_url is set and its host does not name a \
                     region (only sqs.<region>.amazonaws.com does), got {}",
                    queue_url.host_str().unwrap_or_default()
                ),
            ),
            (Some(given), Some(region))
                if given != region && self.endpoint(AwsService::Sqs).is_none() =>
            {
                root.report(
                    "aws.region",
                    format!(
                        "is {given:?} but alarms.queue_url is a queue in {region:?}; \
                         SQS only finds a queue through its own region's endpoint"
                    ),
                )
            }
            (Some(_), _) => {}
        }
    }
}

/// The region code in an SQS queue URL's host: `sqs.<region>.amazonaws.com` (also `.com.cn`,
/// VPC endpoint names `vpce-….sqs.<region>.vpce.amazonaws.com`, and the legacy
/// `<region>.queue.amazonaws.com`). `None` for any other host.
pub fn region_of_queue_url(url: &Url) -> Option<&str> {
    let host = url.host_str()?;
    let labels: Vec<&str> = host.split('.').collect();
    let is_aws = host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
    if !is_aws {
        return None;
    }
    let after_sqs = labels
        .windows(2)
        .find(|pair| pair[0] == "sqs")
        .map(|pair| pair[1]);
    let before_queue = labels
        .windows(2)
        .find(|pair| pair[1] == "queue")
        .map(|pair| pair[0]);
    after_sqs
        .or(before_queue)
        .filter(|label| looks_like_region_code(label))
}

/// `[aws.endpoints]`: a URL per service key; an unknown key is reported by the table.
fn read_endpoints(table: &mut Table) -> Option<BTreeMap<AwsService, Url>> {
    let mut endpoints = BTreeMap::new();
    let mut valid = true;
    for service in AwsService::ALL {
        match table.string(service.key(), parse_endpoint_url).optional() {
            Some(Some(url)) => {
                endpoints.insert(service, url);
            }
            Some(None) => {}
            None => valid = false,
        }
    }
    valid.then_some(endpoints)
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

pub(crate) fn parse_endpoint_url(raw: String) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("not a URL ({error}): {raw:?}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must be an http or https URL, got {raw:?}"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("must not have a query or fragment, got {raw:?}"));
    }
    Ok(url)
}
