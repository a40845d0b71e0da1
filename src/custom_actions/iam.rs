//! The IAM action an AWS CLI command needs, for `iam simulate-principal-policy`: the CLI's
//! service name mapped to its IAM prefix (the exceptions listed), the operation kebab → Pascal.
//! Pure.

/// CLI service names whose IAM prefix differs.
const SERVICE_PREFIXES: &[(&str, &str)] = &[
    ("s3api", "s3"),
    ("s3", "s3"),
    ("s3control", "s3"),
    ("elbv2", "elasticloadbalancing"),
    ("elb", "elasticloadbalancing"),
    ("configservice", "config"),
    ("stepfunctions", "states"),
    ("logs", "logs"),
    ("ecr-public", "ecr-public"),
    ("cognito-idp", "cognito-idp"),
    ("application-autoscaling", "application-autoscaling"),
    ("opensearch", "es"),
    ("es", "es"),
    ("sesv2", "ses"),
    ("emr", "elasticmapreduce"),
    ("apigateway", "apigateway"),
    ("apigatewayv2", "apigateway"),
    ("lex-models", "lex"),
    ("lexv2-models", "lex"),
    ("resourcegroupstaggingapi", "tag"),
    ("docdb", "rds"),
    ("neptune", "rds"),
    ("iot-data", "iot"),
    ("sso-admin", "sso"),
    ("mediastore-data", "mediastore"),
    ("deploy", "codedeploy"),
];

/// Operations whose IAM action is not the plain Pascal-case of the CLI name.
const OPERATION_EXCEPTIONS: &[(&str, &str, &str)] = &[
    ("lambda", "invoke", "InvokeFunction"),
    ("s3api", "list-objects-v2", "ListBucket"),
    ("s3api", "list-objects", "ListBucket"),
    ("s3api", "head-object", "GetObject"),
    ("s3api", "head-bucket", "ListBucket"),
];

/// `autoscaling set-desired-capacity` → `autoscaling:SetDesiredCapacity`.
pub fn iam_action(service: &str, operation: &str) -> String {
    let prefix = SERVICE_PREFIXES
        .iter()
        .find(|(cli, _)| *cli == service)
        .map_or(service, |(_, iam)| iam);
    let name = OPERATION_EXCEPTIONS
        .iter()
        .find(|(s, o, _)| *s == service && *o == operation)
        .map_or_else(|| pascal(operation), |(_, _, iam)| (*iam).to_owned());
    format!("{prefix}:{name}")
}

/// `set-desired-capacity` → `SetDesiredCapacity`.
fn pascal(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::iam_action;

    #[test]
    fn cli_names_map_to_iam_actions() {
        let cases = [
            (
                "autoscaling",
                "set-desired-capacity",
                "autoscaling:SetDesiredCapacity",
            ),
            ("ec2", "reboot-instances", "ec2:RebootInstances"),
            ("s3api", "put-bucket-policy", "s3:PutBucketPolicy"),
            ("s3api", "list-objects-v2", "s3:ListBucket"),
            (
                "elbv2",
                "describe-target-health",
                "elasticloadbalancing:DescribeTargetHealth",
            ),
            ("stepfunctions", "start-execution", "states:StartExecution"),
            ("lambda", "invoke", "lambda:InvokeFunction"),
            ("ecs", "update-service", "ecs:UpdateService"),
            (
                "configservice",
                "start-config-rules-evaluation",
                "config:StartConfigRulesEvaluation",
            ),
            ("emr", "list-clusters", "elasticmapreduce:ListClusters"),
            ("opensearch", "describe-domain", "es:DescribeDomain"),
        ];
        for (service, operation, iam) in cases {
            assert_eq!(iam_action(service, operation), iam, "{service} {operation}");
        }
    }
}
