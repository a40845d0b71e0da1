//! The alarm's own data in the agent's prompt, end to end: the real bot in-process against the
//! fake Slack, SQS, Bedrock and CloudWatch (GetMetricData, DescribeAlarms, DescribeAlarmHistory in
//! RPC v2 CBOR, through the real aws-sdk-cloudwatch client), for each Bedrock backend.

mod support;

use std::time::{Duration, Instant, SystemTime};

use chatops_sandbox::bedrock::FakeBedrock;
use chatops_sandbox::cloudwatch::{DataFault, FakeCloudWatch, FakeHistoryItem};
use chatops_sandbox::slack::{envelopes, Target};
use support::alarm_sandbox::{AlarmSandbox, CHANNEL};
use support::backends::BackendKind;

const SECOND: Duration = Duration::from_secs(1);
const FIRED: &str = "2026-11-23T13:53:39.351+0000";
const ARN_PREFIX: &str = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:";

struct Rig {
    s: AlarmSandbox,
    agent: FakeBedrock,
}

impl Rig {
    /// The bot with alarm cards and the agent; the sandbox's fake CloudWatch (graphs off) is
    /// where the alarm's data comes from.
    async fn start(kind: BackendKind) -> Rig {
        let agent = FakeBedrock::start().await.unwrap();
        kind.prepare(&agent);
        let extra = format!(
            "unwatched_nudge = \"0s\"\n\n[bedrock]\n{}endpoint_url = \"{}\"\n",
            kind.toml(),
            agent.endpoint_url(),
        );
        let s = AlarmSandbox::start(&extra, &[]).await;
        Rig { s, agent }
    }

    fn cloudwatch(&self) -> &FakeCloudWatch {
        &self.s.cloudwatch
    }

    /// Publishes a firing alarm, waits for its card, clicks 🤖 on it and returns the prompt the
    /// agent got, with the time from the click to the agent's call.
    async fn ask_about(&self, name: &str) -> (String, Duration) {
        let card = self.s.publish_firing(name, FIRED).await;
        let root = card.response["ts"].as_str().unwrap().to_owned();
        self.s
            .sqs
            .wait_for_deleted(&self.s.queue, 1, 10 * SECOND)
            .await
            .unwrap();
        let clicked = Instant::now();
        let value = format!("{ARN_PREFIX}{name}");
        self.s
            .slack
            .send(
                Target::Any,
                envelopes::block_actions(CHANNEL, "U0ALICE", &root, "alarm.bedrock", &value),
            )
            .await
            .unwrap();
        let invocations = self
            .agent
            .wait_for_invocations(1, 15 * SECOND)
            .await
            .unwrap();
        (invocations[0].input_text.clone(), clicked.elapsed())
    }
}

each_backend!(the_alarms_datapoints_and_history_reach_the_prompt);
async fn the_alarms_datapoints_and_history_reach_the_prompt(kind: BackendKind) {
    let rig = Rig::start(kind).await;
    let cloudwatch = rig.cloudwatch();
    cloudwatch.set_series("m1", vec![42.5, 97.25, 12.0]);
    cloudwatch.add_history(FakeHistoryItem {
        alarm: "HighCPU".into(),
        at: SystemTime::now() - 600 * SECOND,
        kind: "StateUpdate".into(),
        summary: "Alarm updated from OK to ALARM".into(),
    });
    let (prompt, _) = rig.ask_about("HighCPU").await;

    assert!(
        prompt.contains("Metric data (last 3 hours, UTC, one point per 300 s"),
        "{prompt}"
    );
    assert!(prompt.contains("CPUUtilization [m1]:"), "{prompt}");
    let points: Vec<&str> = prompt
        .lines()
        .filter(|l| l.len() > 6 && l.as_bytes()[2] == b':' && l.as_bytes()[5] == b' ')
        .collect();
    assert!(
        (35..=37).contains(&points.len()),
        "3 hours at 300 s is 36 points: {points:?}"
    );
    assert!(points.iter().any(|l| l.ends_with(" 97.25")), "{points:?}");
    assert!(
        prompt.contains("UTC StateUpdate: Alarm updated from OK to ALARM"),
        "{prompt}"
    );
    assert!(
        prompt.find("Metric data").unwrap() < prompt.find("Question:").unwrap(),
        "the data goes before the question"
    );

    // What was asked of CloudWatch: the alarm's metric, its statistic and period, 3 hours.
    let requests = rig.cloudwatch().data_requests();
    let data = requests
        .iter()
        .find(|r| r.operation == "GetMetricData")
        .expect("GetMetricData was called");
    let query = &data.input["MetricDataQueries"][0];
    assert_eq!(query["MetricStat"]["Metric"]["Namespace"], "AWS/EC2");
    assert_eq!(
        query["MetricStat"]["Metric"]["MetricName"],
        "CPUUtilization"
    );
    assert_eq!(
        query["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
        "i-0abc"
    );
    assert_eq!(query["MetricStat"]["Stat"], "Average");
    assert_eq!(query["MetricStat"]["Period"], 300);
    let span = data.input["EndTime"].as_f64().unwrap() - data.input["StartTime"].as_f64().unwrap();
    assert!((span - 3.0 * 3600.0).abs() < 1.0, "{span}");
    let history = requests
        .iter()
        .find(|r| r.operation == "DescribeAlarmHistory")
        .expect("DescribeAlarmHistory was called");
    assert_eq!(history.input["AlarmName"], "HighCPU");
    assert_eq!(history.input["MaxRecords"], 10);
    rig.s.bot.stop().await.unwrap();
}

each_backend!(a_cloudwatch_that_hangs_or_refuses_does_not_hold_the_answer);
async fn a_cloudwatch_that_hangs_or_refuses_does_not_hold_the_answer(kind: BackendKind) {
    let rig = Rig::start(kind).await;
    let cloudwatch = rig.cloudwatch();
    cloudwatch.set_data_fault("GetMetricData", Some(DataFault::Hang(60 * SECOND)));
    cloudwatch.set_data_fault("DescribeAlarmHistory", Some(DataFault::AccessDenied));
    let (prompt, waited) = rig.ask_about("SlowCloudWatch").await;

    assert!(
        waited < 6 * SECOND,
        "the agent was asked {waited:?} after the click: CloudWatch held it past the 2 s budget"
    );
    assert!(
        prompt.contains(
            "Metric data (last 3 hours): not available (GetMetricData did not answer within 2s)"
        ),
        "{prompt}"
    );
    assert!(
        prompt.contains(
            "Alarm history: not available (access denied: the bot's role needs cloudwatch:DescribeAlarmHistory)"
        ),
        "{prompt}"
    );
    assert!(
        prompt.contains("Alarm name: SlowCloudWatch"),
        "the rest is there: {prompt}"
    );
    rig.s.bot.stop().await.unwrap();
}
