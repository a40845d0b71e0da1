//! A scaled-down benchmark run: many envelopes over two connections, acked at once by the client.

mod support;

use std::time::{Duration, Instant};

use chatops_sandbox::slack::{envelopes, FakeSlack, FakeSlackOptions, Target};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{connect, Ws};
use tokio_tungstenite::tungstenite::Message;

/// Envelopes in this run (the real bench sends 20,000; SANDBOX_THROUGHPUT_N overrides).
const DEFAULT_ENVELOPES: usize = 2_000;

/// Acks every envelope as soon as it is read, until `count` acks are sent.
async fn acking_client(mut ws: Ws, count: usize) -> anyhow::Result<usize> {
    let mut acked = 0;
    while acked < count {
        let Some(message) = tokio::time::timeout(Duration::from_secs(20), ws.next()).await? else {
            break;
        };
        if let Message::Text(text) = message? {
            let frame: Value = serde_json::from_str(text.as_str())?;
            if let Some(id) = frame["envelope_id"].as_str() {
                ws.send(Message::text(json!({ "envelope_id": id }).to_string()))
                    .await?;
                acked += 1;
            }
        }
    }
    Ok(acked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_envelopes_are_acked_with_latencies() -> anyhow::Result<()> {
    let total = std::env::var("SANDBOX_THROUGHPUT_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_ENVELOPES);
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let (first, _) = connect(&slack).await?;
    let (second, _) = connect(&slack).await?;
    slack
        .wait_for_connections(2, Duration::from_secs(5))
        .await?;
    let clients = [
        tokio::spawn(acking_client(first, total / 2)),
        tokio::spawn(acking_client(second, total - total / 2)),
    ];
    let build_started = Instant::now();
    let batch: Vec<_> = (0..total)
        .map(|i| envelopes::app_mention("C1", "U1", &format!("<@U0BOT> status {i}")))
        .collect();
    println!("built {total} envelopes in {:?}", build_started.elapsed());
    let started = Instant::now();
    for envelope in batch {
        slack.send(Target::Any, envelope).await?;
    }
    let queued = started.elapsed();
    slack.wait_for_acks(total, Duration::from_secs(60)).await?;
    let elapsed = started.elapsed();
    let mut latencies = slack.ack_latencies();
    assert_eq!(latencies.len(), total);
    latencies.sort();
    let p99 = latencies[total * 99 / 100];
    println!(
        "{total} envelopes: queued in {queued:?}, all acked in {elapsed:?}, p50 {:?}, p99 {p99:?}",
        latencies[total / 2]
    );
    for client in clients {
        assert!(client.await?? > 0);
    }
    slack.shutdown().await;
    Ok(())
}
