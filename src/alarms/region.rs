//! AWS region codes, their console display names, and ARN splitting.

use crate::config::looks_like_region_code;

/// Region code and the display name CloudWatch puts in the alarm `Region` field.
const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "US East (N. Virginia)"),
    ("us-east-2", "US East (Ohio)"),
    ("us-west-1", "US West (N. California)"),
    ("us-west-2", "US West (Oregon)"),
    ("af-south-1", "Africa (Cape Town)"),
    ("ap-east-1", "Asia Pacific (Hong Kong)"),
    ("ap-east-2", "Asia Pacific (Taipei)"),
    ("ap-south-1", "Asia Pacific (Mumbai)"),
    ("ap-south-2", "Asia Pacific (Hyderabad)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ap-northeast-2", "Asia Pacific (Seoul)"),
    ("ap-northeast-3", "Asia Pacific (Osaka)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
    ("ap-southeast-2", "Asia Pacific (Sydney)"),
    ("ap-southeast-3", "Asia Pacific (Jakarta)"),
    ("ap-southeast-4", "Asia Pacific (Melbourne)"),
    ("ap-southeast-5", "Asia Pacific (Malaysia)"),
    ("ap-southeast-6", "Asia Pacific (New Zealand)"),
    ("ap-southeast-7", "Asia Pacific (Thailand)"),
    ("ca-central-1", "Canada (Central)"),
    ("ca-west-1", "Canada West (Calgary)"),
    ("eu-central-1", "Europe (Frankfurt)"),
    ("eu-central-2", "Europe (Zurich)"),
    ("eu-west-1", "Europe (Ireland)"),
    ("eu-west-2", "Europe (London)"),
    ("eu-west-3", "Europe (Paris)"),
    ("eu-south-1", "Europe (Milan)"),
    ("eu-south-2", "Europe (Spain)"),
    ("eu-north-1", "Europe (Stockholm)"),
    ("il-central-1", "Israel (Tel Aviv)"),
    ("me-south-1", "Middle East (Bahrain)"),
    ("me-central-1", "Middle East (UAE)"),
    ("mx-central-1", "Mexico (Central)"),
    ("sa-east-1", "South America (Sao Paulo)"),
    ("us-gov-east-1", "AWS GovCloud (US-East)"),
    ("us-gov-west-1", "AWS GovCloud (US-West)"),
    ("cn-north-1", "China (Beijing)"),
    ("cn-northwest-1", "China (Ningxia)"),
];

/// Older or alternative display names seen in alarm payloads.
const ALIASES: &[(&str, &str)] = &[
    ("aws govcloud (us)", "us-gov-west-1"),
    ("south america (são paulo)", "sa-east-1"),
];

/// Maps a display name such as `"Asia Pacific (Seoul)"` (or the older `"EU (Ireland)"`) to its
/// region code. Case and surrounding whitespace are ignored.
pub fn region_code_from_name(name: &str) -> Option<&'static str> {
    let wanted = name.trim().to_lowercase();
    let wanted = match wanted.strip_prefix("eu (") {
        Some(rest) => format!("europe ({rest}"),
        None => wanted,
    };
    REGIONS
        .iter()
        .find(|(_, display)| display.to_lowercase() == wanted)
        .map(|(code, _)| *code)
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| *alias == wanted)
                .map(|(_, code)| *code)
        })
}

/// The console display name of a region code, e.g. `"eu-west-1"` → `"Europe (Ireland)"`.
pub fn region_display_name(code: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(known, _)| *known == code.trim())
        .map(|(_, display)| *display)
}

/// The pieces of an ARN, borrowed from its text. Whitespace around the partition, service,
/// region and account is dropped (some published payloads have `us-east-1: 111122223333`); the
/// resource is kept verbatim because alarm names may contain spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> Arn<'a> {
    pub(crate) fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.trim().splitn(6, ':');
        let prefix = parts.next()?.trim();
        let arn = Arn {
            partition: parts.next()?.trim(),
            service: parts.next()?.trim(),
            region: parts.next()?.trim(),
            account: parts.next()?.trim(),
            resource: parts.next()?,
        };
        let well_formed = prefix == "arn" && !arn.partition.is_empty() && !arn.service.is_empty();
        well_formed.then_some(arn)
    }

    /// The ARN text with the stray whitespace removed.
    pub(crate) fn normalized(&self) -> String {
        let Arn {
            partition,
            service,
            region,
            account,
            resource,
        } = self;
        format!("arn:{partition}:{service}:{region}:{account}:{resource}")
    }

    /// The region code, when the region field looks like one (`REGION` placeholders do not).
    pub(crate) fn region_code(&self) -> Option<&'a str> {
        looks_like_region_code(self.region).then_some(self.region)
    }

    /// The account id, when it is all digits.
    pub(crate) fn account_id(&self) -> Option<&'a str> {
        let is_account =
            !self.account.is_empty() && self.account.chars().all(|c| c.is_ascii_digit());
        is_account.then_some(self.account)
    }

    /// The alarm name of a CloudWatch alarm ARN (`…:alarm:NAME`).
    pub(crate) fn alarm_name(&self) -> Option<&'a str> {
        if self.service != "cloudwatch" {
            return None;
        }
        self.resource
            .strip_prefix("alarm:")
            .filter(|name| !name.is_empty())
    }
}

/// Region code: the ARN's region, else the display name mapped to a code, else the given text.
pub(crate) fn resolve_region(arn: Option<&Arn>, region: Option<&str>) -> String {
    if let Some(code) = arn.and_then(Arn::region_code) {
        return code.to_string();
    }
    let Some(region) = region.map(str::trim).filter(|region| !region.is_empty()) else {
        return String::new();
    };
    if looks_like_region_code(region) {
        return region.to_string();
    }
    region_code_from_name(region)
        .map(str::to_string)
        .unwrap_or_else(|| region.to_string())
}

/// The ARN to keep: the normalised form when it parses, else the trimmed text.
pub(crate) fn arn_text(arn: Option<&Arn>, raw: Option<&str>) -> Option<String> {
    match arn {
        Some(arn) => Some(arn.normalized()),
        None => raw
            .map(str::trim)
            .filter(|raw| !raw.is_empty())
            .map(str::to_string),
    }
}

/// Removes stray whitespace from an ARN's fields, leaving unparseable text trimmed.
pub(crate) fn normalize_arn(raw: &str) -> String {
    match Arn::parse(raw) {
        Some(arn) => arn.normalized(),
        None => raw.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_map_to_codes() {
        assert_eq!(
            region_code_from_name("Asia Pacific (Seoul)"),
            Some("ap-northeast-2")
        );
        assert_eq!(region_code_from_name("US East (Ohio)"), Some("us-east-2"));
        assert_eq!(
            region_code_from_name(" us east (n. virginia) "),
            Some("us-east-1")
        );
        assert_eq!(region_code_from_name("EU (Ireland)"), Some("eu-west-1"));
        assert_eq!(
            region_code_from_name("Europe (Frankfurt)"),
            Some("eu-central-1")
        );
        assert_eq!(
            region_code_from_name("South America (São Paulo)"),
            Some("sa-east-1")
        );
        assert_eq!(region_code_from_name("EXAMPLE"), None);
        assert_eq!(region_code_from_name(""), None);
    }

    #[test]
    fn codes_map_back_to_display_names() {
        for (code, _) in REGIONS {
            let display = region_display_name(code).expect("every code has a name");
            assert_eq!(region_code_from_name(display), Some(*code));
            assert!(looks_like_region_code(code), "{code}");
        }
        assert_eq!(region_display_name("xx-nowhere-9"), None);
    }

    #[test]
    fn arn_with_stray_spaces_is_normalised() {
        let arn = Arn::parse("arn:aws:cloudwatch:us-east-1: 111122223333:alarm:My alarm: p99")
            .expect("valid ARN");
        assert_eq!(
            arn.normalized(),
            "arn:aws:cloudwatch:us-east-1:111122223333:alarm:My alarm: p99"
        );
        assert_eq!(arn.region_code(), Some("us-east-1"));
        assert_eq!(arn.account_id(), Some("111122223333"));
        assert_eq!(arn.alarm_name(), Some("My alarm: p99"));
    }

    #[test]
    fn placeholder_and_broken_arns() {
        let placeholder = Arn::parse("arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE")
            .expect("well-formed");
        assert_eq!(placeholder.region_code(), None);
        assert_eq!(placeholder.account_id(), None);
        assert_eq!(placeholder.alarm_name(), Some("EXAMPLE"));
        assert_eq!(Arn::parse("arn:aws:sns:EXAMPLE"), None);
        assert_eq!(Arn::parse("not an arn"), None);
        assert_eq!(Arn::parse(""), None);
    }

    #[test]
    fn region_resolution_order() {
        let arn = Arn::parse("arn:aws:cloudwatch:eu-west-2:210987654321:alarm:a");
        assert_eq!(
            resolve_region(arn.as_ref(), Some("US East (Ohio)")),
            "eu-west-2"
        );
        assert_eq!(resolve_region(None, Some("US East (Ohio)")), "us-east-2");
        let placeholder = Arn::parse("arn:aws:cloudwatch:REGION:ACCOUNT:alarm:a");
        assert_eq!(
            resolve_region(placeholder.as_ref(), Some("Asia Pacific (Tokyo)")),
            "ap-northeast-1"
        );
        assert_eq!(resolve_region(None, Some("ca-central-1")), "ca-central-1");
        assert_eq!(resolve_region(None, Some("EXAMPLE")), "EXAMPLE");
        assert_eq!(resolve_region(None, None), "");
    }
}
