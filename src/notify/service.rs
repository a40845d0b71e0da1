//! Wiring of the alarm pipeline: SQS pollers, the card keeper and the nudge loop, under one stop token.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::consumer::{Consumer, ConsumerSettings, StopSignals};
use super::graphs::{self, GraphQueue, GraphWorkers};
use super::lifecycle::{CardKeeper, LifecycleSettings};
use super::pollers::{self, PollerSettings};
use super::queue_depth::QueueDepths;
use super::sqs::{sdk_config, SqsQueue};
use super::storm::StormSettings;
use crate::alarms::action_offers::ActionOffers;
use crate::alarms::routing::Routes;
use crate::config::{AwsService, Config};
use crate::deploys::suspect::SuspectDeploys;
use crate::health::{start_of_utc_day, Health};
use crate::integrations::cloudwatch::CloudWatchGraphs;
use crate::slack::messenger::Messenger;
use crate::store::cards::CardStore;
use crate::store::Blocking;
use crate::telemetry::latency::Latencies;
use crate::telemetry::metrics::Metrics;

/// The running pipeline.
pub struct AlarmService {
    pub keeper: Arc<CardKeeper>,
    tasks: JoinSet<()>,
    signals: StopSignals,
}

/// Room left after a long poll is abandoned at the deadline, to hand back what pollers hold.
const HAND_BACK_RESERVE: Duration = Duration::from_secs(2);

/// Start the pipeline if `alarms.queue_url` is set. Tasks stop when `stop` is cancelled.
/// `suspects` (deploys on): cards of alarms that fire just after a deploy offer a rollback.
/// The pollers report their receives to `health`; each delivery's latencies go to `latencies`.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    config: &Config,
    slack: Arc<dyn Messenger>,
    store: Arc<dyn CardStore>,
    suspects: Option<Arc<SuspectDeploys>>,
    stop: CancellationToken,
    health: Arc<Health>,
    latencies: Latencies,
    metrics: Arc<Metrics>,
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
    let endpoint = config.aws.endpoint(AwsService::Sqs);
    let aws = sdk_config(region, endpoint, &config.proxy).await;
    let queue = Arc::new(SqsQueue::new(&aws, queue_url.as_str()));
    let routes = Routes::new(alarms)
        .context("Invalid alarm routes")?
        .with_actions(ActionOffers::new(&config.actions));
    let settings = LifecycleSettings {
        reopen_window: alarms.reopen_window,
        bedrock_enabled: config.bedrock.is_some(),
        reporting_enabled: config.confluence.is_some(),
        storm: StormSettings {
            threshold: alarms.storm_threshold,
            window: alarms.storm_window,
            max_duration: alarms.storm_max_duration,
        },
    };
    // The systemd status counts the day's alarms, the ones before a restart included.
    let now = SystemTime::now();
    let today = Blocking::new(store.clone())
        .run(move |store| store.notifications_delivered_since(start_of_utc_day(now)))
        .await
        .context("Failed to read today's alarm count from the store")?;
    health.count_delivered(today, now);
    let keeper = CardKeeper::new(
        slack.clone(),
        Blocking::new(store),
        routes,
        settings,
        suspects,
    )?
    .with_latencies(latencies)
    .with_metrics(metrics.alarms.clone());
    let (keeper, graph_jobs) = match alarms.graphs {
        true => {
            let (queue, jobs) = GraphQueue::new(alarms.graph_period);
            (Arc::new(keeper.with_graphs(queue)), Some(jobs))
        }
        false => {
            info!("alarms.graphs is false: alarm cards get no metric graphs.");
            (Arc::new(keeper), None)
        }
    };
    let consumer = Arc::new(
        Consumer::new(
            queue,
            keeper.clone(),
            ConsumerSettings {
                wait: alarms.receive_wait,
                visibility: alarms.visibility_timeout,
                batch: 10,
            },
        )
        .with_health(health.clone())
        .with_metrics(metrics.alarms.clone()),
    );
    let signals = StopSignals {
        stop: stop.clone(),
        ..StopSignals::default()
    };
    let mut tasks = JoinSet::new();
    let pollers = PollerSettings {
        pollers: alarms.pollers,
        max_in_flight: alarms.max_in_flight,
        linger: alarms.receive_linger,
    };
    pollers::spawn(consumer, pollers, &signals, &mut tasks);
    health.pollers_started();
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
    if let Some(jobs) = graph_jobs {
        let proxy = &config.proxy;
        let sdk = crate::egress::aws::aws_config_loader(region, proxy)
            .load()
            .await;
        let endpoint = config.aws.endpoint(AwsService::CloudWatch);
        let renderer = Arc::new(CloudWatchGraphs::new(&sdk, endpoint, alarms.graph_timeout));
        let workers = GraphWorkers::new(keeper.clone(), renderer, slack);
        tasks.spawn(graphs::run(Arc::new(workers), jobs, stop.clone()));
    }
    if config.metrics.is_some() {
        let depths = QueueDepths::new(&aws, queue_url.as_str(), metrics.alarms.clone());
        tasks.spawn(depths.run(stop.clone()));
    }
    info!(queue = %queue_url, pollers = alarms.pollers, "Alarm pipeline started.");
    Ok(Some(AlarmService {
        keeper,
        tasks,
        signals,
    }))
}

impl AlarmService {
    /// After `stop`: wait for the pollers. Batches being handled get until `work_until`, then
    /// what is unfinished is handed back; a running long poll is let return (its messages handed
    /// back) until shortly before `deadline`. Whatever still runs at `deadline` is aborted.
    pub async fn finish(mut self, work_until: Instant, deadline: Instant) {
        let signals = self.signals.clone();
        let receive_until = deadline
            .checked_sub(HAND_BACK_RESERVE)
            .unwrap_or(deadline)
            .max(work_until.min(deadline));
        let tasks = &mut self.tasks;
        let drained = tokio::time::timeout_at(deadline, async {
            let give_up_work = tokio::time::sleep_until(work_until);
            let give_up_receive = tokio::time::sleep_until(receive_until);
            tokio::pin!(give_up_work, give_up_receive);
            loop {
                tokio::select! {
                    joined = tasks.join_next() => if joined.is_none() { break },
                    _ = &mut give_up_work, if !signals.abandon_work.is_cancelled() => {
                        signals.abandon_work.cancel();
                    }
                    _ = &mut give_up_receive, if !signals.abandon_receive.is_cancelled() => {
                        signals.abandon_receive.cancel();
                    }
                }
            }
        })
        .await;
        if drained.is_err() {
            error!("Alarm pollers did not finish by the shutdown deadline; their messages come back after the visibility timeout.");
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
