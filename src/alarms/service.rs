//! Wiring of the alarm pipeline: SQS pollers, the card keeper and the nudge loop, under one stop token.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::consumer::{Consumer, ConsumerSettings};
use super::lifecycle::{CardKeeper, LifecycleSettings};
use super::routing::Routes;
use super::sqs::{sdk_config, SqsQueue, MAX_WAIT};
use super::storm::StormSettings;
use crate::config::Config;
use crate::slack::messenger::Messenger;
use crate::store::cards::CardStore;

/// The running pipeline.
pub struct AlarmService {
    pub keeper: Arc<CardKeeper>,
    tasks: JoinSet<()>,
}

/// Start the pipeline if `alarms.queue_url` is set. Tasks stop when `stop` is cancelled.
pub async fn start(
    config: &Config,
    slack: Arc<dyn Messenger>,
    store: Arc<dyn CardStore>,
    stop: CancellationToken,
) -> anyhow::Result<Option<AlarmService>> {
    let alarms = &config.alarms;
    let Some(queue_url) = &alarms.queue_url else {
        info!("alarms.queue_url is not set: the alarm pipeline is off.");
        return Ok(None);
    };
    let region = config
        .aws
        .region
        .as_deref()
        .context("aws.region is not set")?;
    let aws = sdk_config(region, config.aws.endpoint_url.as_ref()).await;
    let queue = Arc::new(SqsQueue::new(&aws, queue_url.as_str()));
    let routes = Routes::new(alarms).context("Invalid alarm routes")?;
    let settings = LifecycleSettings {
        reopen_window: alarms.reopen_window,
        bedrock_enabled: false,
        reporting_enabled: false,
        storm: StormSettings {
            threshold: alarms.storm_threshold,
            window: alarms.storm_window,
            max_duration: alarms.storm_max_duration,
        },
    };
    let keeper = Arc::new(CardKeeper::new(slack, store, routes, settings)?);
    let consumer = Arc::new(Consumer::new(
        queue,
        keeper.clone(),
        ConsumerSettings {
            wait: MAX_WAIT,
            visibility: alarms.visibility_timeout,
            batch: 10,
        },
    ));
    let mut tasks = JoinSet::new();
    for _ in 0..alarms.pollers.max(1) {
        tasks.spawn(consumer.clone().run(stop.clone()));
    }
    if let Some(after) = alarms.unwatched_nudge {
        tasks.spawn(nudge_loop(keeper.clone(), after, stop.clone()));
    }
    if alarms.storm_threshold > 0 {
        tasks.spawn(storm_loop(
            keeper.clone(),
            alarms.storm_window,
            stop.clone(),
        ));
    }
    info!(queue = %queue_url, pollers = alarms.pollers, "Alarm pipeline started.");
    Ok(Some(AlarmService { keeper, tasks }))
}

impl AlarmService {
    /// Wait (bounded) for the pollers to finish the batches they hold after `stop` was cancelled.
    pub async fn finish(mut self, limit: Duration) {
        let drained = tokio::time::timeout(limit, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            error!(
                ?limit,
                "Alarm pollers did not finish in time; their messages stay in SQS and come back."
            );
            self.tasks.abort_all();
        }
    }
}

async fn nudge_loop(keeper: Arc<CardKeeper>, after: Duration, stop: CancellationToken) {
    let every = (after / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = keeper.nudge_unwatched(after).await {
                    error!(error = format!("{e:#}"), "Failed to nudge unwatched alarms.");
                }
            }
        }
    }
}

/// Close storm digests once their storm is over.
async fn storm_loop(keeper: Arc<CardKeeper>, window: Duration, stop: CancellationToken) {
    let every = (window / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = keeper.close_quiet_storms().await {
                    error!(error = format!("{e:#}"), "Failed to close quiet storm digests.");
                }
            }
        }
    }
}
