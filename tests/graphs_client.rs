//! `CloudWatchGraphs` (the real aws-sdk-cloudwatch client, RPC v2 CBOR) against the sandbox's fake
//! CloudWatch over loopback: the PNG, the request as sent, AccessDenied, an error status, a hang.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use chatops_bot::integrations::cloudwatch::{
    CloudWatchGraphs, GraphError, GraphRequest, MetricGraphs, PNG_SIGNATURE,
};
use chatops_sandbox::cloudwatch::{FakeCloudWatch, GraphFault};

const WIDGET: &str = r#"{"metrics":[["AWS/EC2","CPUUtilization","InstanceId","i-0abc"]],"start":"-PT3H","region":"eu-west-1"}"#;

fn graphs(fake: &FakeCloudWatch, timeout: Duration) -> CloudWatchGraphs {
    let credentials = Credentials::new("AKIDSANDBOX", "sandbox-secret", None, None, "tests");
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build();
    let endpoint: url::Url = fake.endpoint_url().parse().expect("the fake's URL parses");
    CloudWatchGraphs::new(&sdk, Some(&endpoint), timeout)
}

fn request(widget: &str) -> GraphRequest {
    GraphRequest {
        metric_widget: widget.to_owned(),
    }
}

#[tokio::test]
async fn a_widget_comes_back_as_a_png_and_the_fake_saw_it_as_sent() {
    let fake = FakeCloudWatch::start().await.unwrap();
    let png = graphs(&fake, Duration::from_secs(10))
        .render(&request(WIDGET))
        .await
        .expect("the fake draws the graph");
    assert!(png.0.starts_with(&PNG_SIGNATURE));
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].operation, "GetMetricWidgetImage");
    assert_eq!(requests[0].metric_widget.as_deref(), Some(WIDGET));
    assert_eq!(requests[0].output_format.as_deref(), Some("png"));
    assert_eq!(requests[0].status, 200);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_widget_that_is_not_json_is_refused_by_the_fake_as_cloudwatch_does() {
    let fake = FakeCloudWatch::start().await.unwrap();
    let error = graphs(&fake, Duration::from_secs(10))
        .render(&request("{not json"))
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, GraphError::Failed { detail } if detail.contains("InvalidParameterValue")),
        "{error:?}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn access_denied_is_its_own_error_naming_the_iam_action() {
    let fake = FakeCloudWatch::start().await.unwrap();
    fake.set_fault(Some(GraphFault::AccessDenied));
    let error = graphs(&fake, Duration::from_secs(10))
        .render(&request(WIDGET))
        .await
        .expect_err("denied");
    assert!(
        matches!(error, GraphError::AccessDenied { .. }),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .contains("cloudwatch:GetMetricWidgetImage"));
    assert_eq!(fake.requests().len(), 1, "a denial is not retried");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_server_error_fails_after_one_retry() {
    let fake = FakeCloudWatch::start().await.unwrap();
    fake.set_fault(Some(GraphFault::Status(500)));
    let error = graphs(&fake, Duration::from_secs(10))
        .render(&request(WIDGET))
        .await
        .expect_err("failed");
    assert!(matches!(error, GraphError::Failed { .. }), "{error:?}");
    assert_eq!(fake.requests().len(), 2, "one attempt and one retry");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_hung_call_ends_at_the_timeout() {
    let fake = FakeCloudWatch::start().await.unwrap();
    fake.set_fault(Some(GraphFault::Hang(Duration::from_secs(60))));
    let started = Instant::now();
    let error = graphs(&fake, Duration::from_millis(500))
        .render(&request(WIDGET))
        .await
        .expect_err("timed out");
    assert!(matches!(error, GraphError::TimedOut(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    fake.shutdown().await;
}
