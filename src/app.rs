//! Wiring: build the store, clients and router from the config, run until shutdown, drain.

mod agent;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::context::Context;
use crate::deploys::alarm_links::FiringAlarms;
use crate::deploys::suspect::SuspectDeploys;
use crate::deploys::Deploys;
use crate::health::{Health, HealthLimits};
use crate::integrations::bedrock::Agent;
use crate::integrations::confluence::ConfluenceWiki;
use crate::integrations::github::{DispatchSettings, GitHubDeploys};
use crate::notify;
use crate::reporting::service::Reporter;
use crate::reporting::summary::SUMMARY_TIMEOUT;
use crate::router::Router;
use crate::secrets::Secret;
use crate::slack::auth_watch::{AuthWatch, Refusal};
use crate::slack::messenger::{BotIdentity, Messenger, SlackMessenger};
use crate::slack::pacing::ChannelPacer;
use crate::slack::socket::connection::ConnectionSettings;
use crate::slack::socket::dispatch::Dispatcher;
use crate::slack::socket::opener::ConnectionOpener;
use crate::slack::socket::{ClientSettings, SocketModeClient, SocketModeError};
use crate::stats::LatencyStats;
use crate::store::answers::AnswerLog;
use crate::store::deploys::DeployStore;
use crate::store::latencies::LatencySketches;
use crate::store::reports::ReportPages;
use crate::store::{unblock, Blocking, SqliteStore, Store, StoreLedger, EVENT_ID_RETENTION};
use crate::telemetry::endpoint;
use crate::telemetry::instrumented::Instrumented;
use crate::telemetry::latency::{Latencies, LatencySink};
use crate::telemetry::metrics::Metrics;

/// Why the daemon stopped other than by a clean shutdown.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Slack refused a token or disabled Socket Mode. Not worth restarting.
    #[error("Slack refused the bot: {code}. Check slack.app_token / slack.bot_token and that Socket Mode is enabled for the app.")]
    SlackRefused { code: String },
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Room past the handlers' grace or the longest long poll, whichever ends later, to hand back
/// what was received, close the sockets and the store, and exit.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(5);

/// The longest a stop takes, from SIGTERM (or a refused token) to exit:
/// `max(slack.socket.shutdown_grace, alarms.receive_wait) + 5 s`, 25 s with the defaults.
/// systemd's `TimeoutStopSec` must be above it.
pub fn shutdown_deadline(config: &Config) -> Duration {
    let long_poll = if config.alarms.enabled() {
        config.alarms.receive_wait
    } else {
        Duration::ZERO
    };
    config.slack.socket.shutdown_grace.max(long_poll) + SHUTDOWN_MARGIN
}

/// Run the daemon until `shutdown` resolves or Slack refuses a token: stop taking work, let
/// handlers and long polls finish, hand back unhandled alarms, exit within `shutdown_deadline`.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let (app_token, bot_token) = tokens(&config)?;
    crate::egress::log_routes(&config);
    let path = config.store.path.clone();
    let store: Arc<SqliteStore> = Arc::new(unblock(move || SqliteStore::open(&path)).await?);
    let stop = CancellationToken::new();
    // Under systemd: READY once every part is up, STATUS, the watchdog, STOPPING on `stop`.
    let health = Arc::new(Health::new(HealthLimits::from_config(&config)));
    let systemd = tokio::spawn(crate::systemd::supervise(health.clone(), stop.clone()));
    let metrics = Arc::new(Metrics::default());
    let endpoint = endpoint::start(&config, metrics.clone(), health.clone(), stop.clone()).await?;
    let refusal = Refusal::new(stop.clone());
    let slack = slack_messenger(&config, &bot_token, &refusal, &metrics)?;
    tokio::pin!(shutdown);
    let bot = tokio::select! {
        bot = identify(&*slack) => bot?,
        () = &mut shutdown => {
            // auth.test may retry for a while; nothing else has started yet.
            info!("Stopped while starting.");
            stop.cancel();
            let _ = tokio::join!(systemd, endpoint);
            return Ok(());
        }
    };
    info!(bot_user = %bot.user_id, team = %bot.team, "Authenticated with Slack.");

    // The latencies measured go to every sink: the stats sketches behind `@bot stats`, and the
    // Prometheus histograms.
    let stats = LatencyStats::new(Blocking::new(store.clone() as Arc<dyn LatencySketches>));
    let latencies = Latencies::new(vec![
        stats.clone() as Arc<dyn LatencySink>,
        metrics.clone() as Arc<dyn LatencySink>,
    ]);
    let agent = agent::agent(&config, &metrics).await;
    let conversations =
        agent::conversations(&config, agent.clone(), slack.clone(), &store, &latencies).await?;
    let suspects = suspect_deploys(&config, &store);
    let alarms = notify::service::start(
        &config,
        slack.clone(),
        store.clone(),
        suspects.clone(),
        stop.clone(),
        health.clone(),
        latencies.clone(),
        metrics.clone(),
    )
    .await?;
    let cards = alarms
        .as_ref()
        .map(|a| a.keeper.clone() as Arc<dyn crate::context::AlarmCards>);
    let links = alarms
        .as_ref()
        .map(|a| a.keeper.clone() as Arc<dyn crate::reporting::facts::ReportLinks>);
    let reports = reports(&config, agent, slack.clone(), &bot, &store, links, &metrics)?;
    let firing = alarms
        .as_ref()
        .map(|a| a.keeper.clone() as Arc<dyn FiringAlarms>);
    let deploys = deploys(
        &config,
        slack.clone(),
        &store,
        firing,
        suspects,
        stop.clone(),
        &metrics,
    )
    .await?;
    let ctx = Arc::new(Context {
        slack,
        store: Blocking::new(store.clone()),
        bot,
        commands: config.slack.command_names(),
        alarms: cards,
        conversations: conversations.clone(),
        reports,
        deploys: deploys.clone(),
        stats: stats.clone(),
        health: health.clone(),
    });
    let socket = &config.slack.socket;
    let dispatcher = Dispatcher::new(
        Arc::new(Router::new(ctx)),
        Arc::new(StoreLedger::new(store.clone())?),
        crate::slack::socket::dispatch::DispatchLimits {
            max_handlers: socket.max_handlers,
            max_queued: socket.max_queued,
        },
        metrics.clone(),
    )
    .with_latencies(latencies);
    let settings = ClientSettings {
        connections: config.slack.connections as usize,
        stagger: socket.stagger,
        backoff_max: socket.backoff_max,
        connection: ConnectionSettings {
            ping_interval: socket.ping_interval,
            pong_timeout: socket.pong_timeout,
            idle_timeout: socket.idle_timeout,
            close_timeout: socket.close_timeout,
            hello_timeout: socket.idle_timeout,
            proxy: config.proxy.clone(),
        },
    };
    let opener = ConnectionOpener::new(
        &config.slack.api_url,
        app_token,
        config.slack.request_timeout,
        &config.proxy,
    )?;
    let client = SocketModeClient::new(opener, settings, dispatcher.clone()).with_health(health);

    tokio::spawn(crate::store::retention::prune_loop(
        Blocking::new(store.clone()),
        config.store.retention,
        stop.clone(),
    ));
    tokio::spawn(prune_event_ids(Blocking::new(store), stop.clone()));
    tokio::spawn(metrics.clone().log_every_minute(stop.clone()));
    tokio::spawn(stats.clone().flush_loop(stop.clone()));

    let client = client.run(stop.clone().cancelled_owned());
    tokio::pin!(client);
    let socket_ended = tokio::select! {
        ended = &mut client => Some(ended), // Slack refused the app token for good
        _ = stop.cancelled() => None,       // a Web API call found the bot token refused
        _ = &mut shutdown => None,
    };
    stop.cancel();
    // One deadline for everything from here: handlers get the grace, long polls their wait.
    let started = Instant::now();
    let grace_end = started + socket.shutdown_grace;
    let deadline = started + shutdown_deadline(&config);
    info!(deadline = ?shutdown_deadline(&config), "Stopping: no new work; in-flight work gets the grace.");
    let sockets = async {
        let ended = match socket_ended {
            Some(ended) => ended,
            None => match tokio::time::timeout_at(deadline, &mut client).await {
                Ok(ended) => ended,
                Err(_) => {
                    error!("Socket Mode connections did not close by the shutdown deadline.");
                    Ok(())
                }
            },
        };
        let grace = grace_end.saturating_duration_since(Instant::now());
        let abandoned = dispatcher.drain(grace).await;
        if abandoned > 0 {
            warn!(abandoned, grace = ?socket.shutdown_grace, "Handlers still running at shutdown were abandoned.");
        }
        ended
    };
    let pollers = async {
        if let Some(alarms) = alarms {
            alarms.finish(grace_end, deadline).await;
        }
    };
    let answers = async {
        if let Some(conversations) = &conversations {
            let grace = grace_end.saturating_duration_since(Instant::now());
            conversations.stop(grace).await;
        }
    };
    let tracking = async {
        if let Some(deploys) = &deploys {
            let grace = grace_end.saturating_duration_since(Instant::now());
            deploys.stop(grace).await;
        }
    };
    let (ended, (), (), (), _, _) =
        tokio::join!(sockets, pollers, answers, tracking, systemd, endpoint);
    stats.flush_at_stop().await; // every latency is recorded by now
    info!(metrics = ?metrics.snapshot(), elapsed = ?started.elapsed(), "Stopped.");
    if let Some(code) = refusal.code() {
        return Err(RunError::SlackRefused { code });
    }
    ended.map_err(|e| match e {
        SocketModeError::Fatal { code } => RunError::SlackRefused { code },
        thread @ SocketModeError::Thread(_) => RunError::Failed(thread.into()),
    })
}

/// Incident reports to Confluence, when `[confluence]` is set.
fn reports(
    config: &Config,
    agent: Option<Arc<dyn Agent>>,
    slack: Arc<dyn Messenger>,
    bot: &BotIdentity,
    store: &Arc<SqliteStore>,
    links: Option<Arc<dyn crate::reporting::facts::ReportLinks>>,
    metrics: &Metrics,
) -> anyhow::Result<Option<Arc<Reporter>>> {
    let Some(confluence) = &config.confluence else {
        info!("[confluence] is not set: incident reports are off.");
        return Ok(None);
    };
    let wiki = ConfluenceWiki::new(confluence, &config.proxy)
        .context("Failed to build the Confluence client")?;
    let pages: Arc<dyn ReportPages> = store.clone();
    let answers: Arc<dyn AnswerLog> = store.clone();
    info!(base_url = %confluence.base_url, space = %confluence.space_key, flavor = ?confluence.flavor, "Incident reports to Confluence on.");
    Ok(Some(Arc::new(Reporter::new(
        slack,
        bot.clone(),
        Arc::new(Instrumented::new(
            Arc::new(wiki),
            metrics.integrations.clone(),
        )),
        agent,
        Blocking::new(pages),
        Blocking::new(answers),
        confluence.parent_id.clone(),
        links,
        SUMMARY_TIMEOUT,
    ))))
}

/// Which deploys a firing alarm points at, when deploys are on: shared by the alarm cards
/// (⏪ Roll back) and the deploy flow (the button's click).
fn suspect_deploys(config: &Config, store: &Arc<SqliteStore>) -> Option<Arc<SuspectDeploys>> {
    let (Some(deploy), Some(_)) = (&config.deploy, &config.github) else {
        return None;
    };
    let requests: Arc<dyn DeployStore> = store.clone();
    Some(Arc::new(SuspectDeploys::new(
        deploy,
        Blocking::new(requests),
    )))
}

/// Deploys through GitHub Actions, when `[deploy]` (and so `[github]`) is set: requests in
/// flight when the bot last stopped are resumed.
async fn deploys(
    config: &Config,
    slack: Arc<dyn Messenger>,
    store: &Arc<SqliteStore>,
    firing: Option<Arc<dyn FiringAlarms>>,
    suspects: Option<Arc<SuspectDeploys>>,
    stop: CancellationToken,
    metrics: &Metrics,
) -> anyhow::Result<Option<Arc<Deploys>>> {
    let (Some(deploy), Some(github), Some(suspects)) = (&config.deploy, &config.github, suspects)
    else {
        info!("[deploy] is not set: deploys are off.");
        return Ok(None);
    };
    let settings = DispatchSettings {
        event_type: deploy.event_type.clone(),
        workflow: deploy.workflow.as_ref().map(|w| w.file.clone()),
        git_ref: deploy.workflow.as_ref().map(|w| w.git_ref.clone()),
    };
    let pipeline = GitHubDeploys::new(github, settings, &config.proxy)
        .context("Failed to build the GitHub client")?;
    let requests: Arc<dyn DeployStore> = store.clone();
    let repo = format!("{}/{}", github.owner, github.repo);
    let deploys = Deploys::new(
        deploy.clone(),
        config.slack.command_names(),
        slack,
        Arc::new(Instrumented::new(
            Arc::new(pipeline),
            metrics.integrations.clone(),
        )),
        Blocking::new(requests),
        firing,
        suspects,
        repo.clone(),
        stop.child_token(),
    );
    deploys
        .start()
        .await
        .context("Failed to resume the deploy requests in flight")?;
    info!(
        repo,
        environments = deploy.environments.len(),
        "Deploys through GitHub Actions on."
    );
    Ok(Some(deploys))
}

/// The Web API client, paced per channel unless `slack.channel_interval` is zero.
/// Every call goes through `AuthWatch`: a refused bot token is fetched again once (a rotation),
/// and stops the daemon when that brings no new value.
fn slack_messenger(
    config: &Config,
    bot_token: &Secret,
    refusal: &Refusal,
    metrics: &Metrics,
) -> anyhow::Result<Arc<dyn Messenger>> {
    let slack = &config.slack;
    let client = SlackMessenger::new(
        &slack.api_url,
        bot_token,
        slack.request_timeout,
        &config.proxy,
    )
    .context("Failed to build the Slack client")?
    .with_metrics(metrics.slack_api.clone());
    let (interval, burst) = (slack.channel_interval, slack.channel_burst);
    let client = if interval.is_zero() {
        info!("slack.channel_interval is 0s: messages are not paced per channel.");
        client
    } else {
        client.with_channel_pacer(ChannelPacer::new(interval, burst))
    };
    Ok(Arc::new(AuthWatch::new(
        Arc::new(client),
        refusal.clone(),
        bot_token.clone(),
    )))
}

fn tokens(config: &Config) -> anyhow::Result<(Secret, Secret)> {
    let app = config
        .slack
        .app_token
        .clone()
        .context("slack.app_token is not set (or SLACK_APP_TOKEN)")?;
    let bot = config
        .slack
        .bot_token
        .clone()
        .context("slack.bot_token is not set (or SLACK_BOT_TOKEN)")?;
    Ok((app, bot))
}

/// `auth.test`, retried briefly: Slack may be unreachable for a moment at boot.
async fn identify(slack: &dyn Messenger) -> Result<crate::slack::messenger::BotIdentity, RunError> {
    const ATTEMPTS: u32 = 5;
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        let e = match slack.identity().await {
            Ok(identity) => return Ok(identity),
            Err(e) => e,
        };
        if let crate::slack::messenger::SlackApiError::Rejected { code, .. } = &e {
            if e.is_auth_failure() {
                return Err(RunError::SlackRefused { code: code.clone() });
            }
        }
        if attempt == ATTEMPTS {
            return Err(anyhow::Error::new(e)
                .context("Slack's auth.test kept failing")
                .into());
        }
        warn!(
            attempt,
            error = format!("{:#}", anyhow::Error::new(e)),
            "auth.test failed; retrying."
        );
        tokio::time::sleep(delay).await;
        delay *= 2;
        attempt += 1;
    }
}

async fn prune_event_ids(store: Blocking<SqliteStore>, stop: CancellationToken) {
    use crate::store::cards::CardStore;
    let mut every = tokio::time::interval(Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        let events_cutoff = SystemTime::now() - EVENT_ID_RETENTION;
        let pruned = store.run(move |store| store.forget_events_before(events_cutoff));
        if let Err(e) = pruned.await {
            error!(error = format!("{e:#}"), "Failed to prune old event ids.");
        }
        // SQS keeps a message at most 14 days; older delivery records can never match.
        let deliveries_cutoff = SystemTime::now() - Duration::from_secs(15 * 24 * 3600);
        let pruned = store.run(move |store| store.forget_deliveries_before(deliveries_cutoff));
        if let Err(e) = pruned.await {
            error!(
                error = format!("{e:#}"),
                "Failed to prune old delivery records."
            );
        }
    }
}
