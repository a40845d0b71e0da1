//! The `[aws]` section: the region and an optional endpoint override for every AWS client.

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
}

impl AwsConfig {
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let region = table.string("region", check_region).optional();
        let endpoint_url = table.string("endpoint_url", parse_endpoint_url).optional();
        Some(Self {
            region: region?,
            endpoint_url: endpoint_url?,
        })
    }

    /// Settles the region once `[alarms]` is known: taken from the queue URL when not given,
    /// required when the URL does not name one, and it must agree with the URL when both do
    /// (unless `endpoint_url` sends every request elsewhere anyway). Problems go to `root`.
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
            (Some(given), Some(region)) if given != region && self.endpoint_url.is_none() => root
                .report(
                    "aws.region",
                    format!(
                        "is {given:?} but alarms.queue_url is a queue in {region:?}; \
                         SQS only finds a queue through its own region's endpoint"
                    ),
                ),
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
