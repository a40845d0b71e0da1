//! The fake CloudWatch's read operations for an alarm's data: GetMetricData (points every period across the asked range, from values a test sets), DescribeAlarms and DescribeAlarmHistory (alarms and history a test sets), with per-operation faults.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_smithy_cbor::data::Type;
use aws_smithy_cbor::{Decoder, Encoder};
use aws_smithy_types::DateTime;
use serde_json::{json, Map, Value};

/// An alarm as DescribeAlarms answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAlarm {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: String,
    pub since: SystemTime,
    /// A composite alarm (answered under `CompositeAlarms`).
    pub composite: bool,
}

/// One DescribeAlarmHistory item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeHistoryItem {
    pub alarm: String,
    pub at: SystemTime,
    /// `StateUpdate`, `ConfigurationUpdate`, `Action`.
    pub kind: String,
    pub summary: String,
}

/// What a data operation answers with instead, until cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataFault {
    /// 403 `AccessDenied`.
    AccessDenied,
    /// This status with `InternalServiceError`.
    Status(u16),
    /// Hold the call this long (or until shutdown), then answer 500.
    Hang(Duration),
}

/// One data request, its input as JSON (timestamps as epoch seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct DataRequest {
    pub operation: String,
    pub input: Value,
}

/// What tests set up, and what was asked.
#[derive(Debug, Default)]
pub(crate) struct DataState {
    /// Values per query id, repeated to fill the range; ids not set get 1.0, 2.0, 3.0, ….
    pub(crate) series: BTreeMap<String, Vec<f64>>,
    pub(crate) alarms: Vec<FakeAlarm>,
    pub(crate) history: Vec<FakeHistoryItem>,
    pub(crate) faults: BTreeMap<String, DataFault>,
    pub(crate) requests: Vec<DataRequest>,
}

/// The data operations this module answers.
pub(crate) const DATA_OPERATIONS: [&str; 3] =
    ["GetMetricData", "DescribeAlarms", "DescribeAlarmHistory"];

/// A successful answer's CBOR body, or (status, code, message).
pub(crate) type Answer = Result<Vec<u8>, (u16, &'static str, String)>;

/// Records the request and answers it from `state` (faults other than hangs applied).
pub(crate) fn answer(state: &mut DataState, operation: &str, body: &[u8]) -> Answer {
    let input = read_value(&mut Decoder::new(body)).unwrap_or(Value::Null);
    state.requests.push(DataRequest {
        operation: operation.to_owned(),
        input: input.clone(),
    });
    match state.faults.get(operation) {
        Some(DataFault::AccessDenied) => {
            return Err((
                403,
                "AccessDenied",
                format!("not authorized to perform: cloudwatch:{operation}"),
            ))
        }
        Some(DataFault::Status(status)) => {
            return Err((
                *status,
                "InternalServiceError",
                "the fake failed on purpose".into(),
            ))
        }
        Some(DataFault::Hang(_)) => {
            return Err((
                500,
                "InternalServiceError",
                "the fake held this call".into(),
            ))
        }
        None => {}
    }
    let mut encoder = Encoder::new(Vec::new());
    match operation {
        "GetMetricData" => metric_data(state, &input, &mut encoder)?,
        "DescribeAlarms" => describe_alarms(state, &input, &mut encoder),
        _ => describe_history(state, &input, &mut encoder),
    }
    Ok(encoder.into_writer())
}

fn metric_data(
    state: &DataState,
    input: &Value,
    encoder: &mut Encoder,
) -> Result<(), (u16, &'static str, String)> {
    let invalid = |m: &str| (400, "InvalidParameterValue", m.to_owned());
    let queries = input["MetricDataQueries"]
        .as_array()
        .ok_or_else(|| invalid("MetricDataQueries is required"))?;
    let (Some(start), Some(end)) = (input["StartTime"].as_f64(), input["EndTime"].as_f64()) else {
        return Err(invalid("StartTime and EndTime are required"));
    };
    if queries.is_empty() || queries.len() > 500 || start >= end {
        return Err(invalid("1 to 500 queries and StartTime before EndTime"));
    }
    let returned: Vec<&Value> = queries
        .iter()
        .filter(|q| q["ReturnData"].as_bool().unwrap_or(true))
        .collect();
    encoder
        .begin_map()
        .str("MetricDataResults")
        .array(returned.len());
    for query in returned {
        let id = query["Id"].as_str().unwrap_or_default();
        let period = query["MetricStat"]["Period"]
            .as_f64()
            .or(query["Period"].as_f64())
            .filter(|p| *p >= 1.0)
            .ok_or_else(|| invalid("every query needs a period"))?;
        let label = query["Label"]
            .as_str()
            .or(query["MetricStat"]["Metric"]["MetricName"].as_str())
            .unwrap_or(id);
        let first = (start / period).ceil() * period;
        let times: Vec<f64> = (0..)
            .map(|i| first + f64::from(i) * period)
            .take_while(|t| *t < end)
            .take(100_800)
            .collect();
        let values: Vec<f64> = match state.series.get(id) {
            Some(set) if !set.is_empty() => (0..times.len()).map(|i| set[i % set.len()]).collect(),
            _ => (1..=times.len()).map(|i| i as f64).collect(),
        };
        encoder
            .begin_map()
            .str("Id")
            .str(id)
            .str("Label")
            .str(label);
        encoder.str("Timestamps").array(times.len());
        for t in &times {
            encoder.timestamp(&DateTime::from_secs_f64(*t));
        }
        encoder.str("Values").array(values.len());
        for v in &values {
            encoder.double(*v);
        }
        encoder.str("StatusCode").str("Complete").end();
    }
    encoder.end();
    Ok(())
}

fn describe_alarms(state: &DataState, input: &Value, encoder: &mut Encoder) {
    let names: Vec<&str> = input["AlarmNames"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let asked = |a: &&FakeAlarm| names.is_empty() || names.contains(&a.name.as_str());
    let (composite, metric): (Vec<&FakeAlarm>, Vec<&FakeAlarm>) =
        state.alarms.iter().filter(asked).partition(|a| a.composite);
    encoder.begin_map();
    for (key, list) in [("MetricAlarms", metric), ("CompositeAlarms", composite)] {
        encoder.str(key).array(list.len());
        for alarm in list {
            encoder
                .begin_map()
                .str("AlarmName")
                .str(&alarm.name)
                .str("StateValue")
                .str(&alarm.state)
                .str("StateReason")
                .str(&alarm.reason)
                .str("StateUpdatedTimestamp")
                .timestamp(&DateTime::from(alarm.since))
                .end();
        }
    }
    encoder.end();
}

fn describe_history(state: &DataState, input: &Value, encoder: &mut Encoder) {
    let name = input["AlarmName"].as_str().unwrap_or_default();
    let max = input["MaxRecords"].as_u64().unwrap_or(100) as usize;
    let mut items: Vec<&FakeHistoryItem> =
        state.history.iter().filter(|h| h.alarm == name).collect();
    items.sort_by_key(|h| std::cmp::Reverse(h.at));
    items.truncate(max);
    encoder
        .begin_map()
        .str("AlarmHistoryItems")
        .array(items.len());
    for item in items {
        encoder
            .begin_map()
            .str("AlarmName")
            .str(&item.alarm)
            .str("Timestamp")
            .timestamp(&DateTime::from(item.at))
            .str("HistoryItemType")
            .str(&item.kind)
            .str("HistorySummary")
            .str(&item.summary)
            .end();
    }
    encoder.end();
}

/// Any CBOR value as JSON: timestamps (tag 1) as epoch seconds, blobs as their length.
fn read_value(d: &mut Decoder) -> Option<Value> {
    Some(match d.datatype().ok()? {
        Type::Bool => json!(d.boolean().ok()?),
        Type::Null | Type::Undefined => {
            d.skip().ok()?;
            Value::Null
        }
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int => json!(d.long().ok()?),
        Type::F16 | Type::F32 | Type::F64 => json!(d.double().ok()?),
        Type::Tag => {
            let at = d.timestamp().ok()?;
            json!(at.secs() as f64 + f64::from(at.subsec_nanos()) / 1e9)
        }
        Type::String | Type::StringIndef => json!(d.string().ok()?),
        Type::Bytes | Type::BytesIndef => json!(d.blob().ok()?.into_inner().len()),
        Type::Array | Type::ArrayIndef => {
            let mut list = Vec::new();
            match d.list().ok()? {
                Some(n) => {
                    for _ in 0..n {
                        list.push(read_value(d)?);
                    }
                }
                None => {
                    while d.datatype().ok()? != Type::Break {
                        list.push(read_value(d)?);
                    }
                    d.skip().ok()?;
                }
            }
            Value::Array(list)
        }
        Type::Map | Type::MapIndef => {
            let mut map = Map::new();
            let pair = |d: &mut Decoder, map: &mut Map<String, Value>| -> Option<()> {
                let key = d.string().ok()?;
                map.insert(key, read_value(d)?);
                Some(())
            };
            match d.map().ok()? {
                Some(n) => {
                    for _ in 0..n {
                        pair(d, &mut map)?;
                    }
                }
                None => {
                    while d.datatype().ok()? != Type::Break {
                        pair(d, &mut map)?;
                    }
                    d.skip().ok()?;
                }
            }
            Value::Object(map)
        }
        _ => return None,
    })
}
