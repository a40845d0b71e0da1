//! Suspect deploys: an alarm that goes into ALARM on a route linked to an environment within
//! `deploy.suspect_window` after a successful deploy there points at that deploy, and its card
//! offers a rollback to the version before it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::alarm_links::RollbackOffer;
use crate::config::DeployConfig;
use crate::store::deploys::{DeployAction, DeployStore};
use crate::store::Blocking;

/// Which environments each alarm route is linked to, and the window that makes a deploy suspect.
pub struct SuspectDeploys {
    environments_by_route: HashMap<String, Vec<String>>,
    window: Duration,
    store: Blocking<dyn DeployStore>,
}

impl SuspectDeploys {
    pub fn new(config: &DeployConfig, store: Blocking<dyn DeployStore>) -> Self {
        let mut environments_by_route: HashMap<String, Vec<String>> = HashMap::new();
        for (name, env) in &config.environments {
            for route in &env.alarm_routes {
                environments_by_route
                    .entry(route.clone())
                    .or_default()
                    .push(name.clone());
            }
        }
        Self {
            environments_by_route,
            window: config.suspect_window,
            store,
        }
    }

    /// The environments `route` is linked to (no I/O: the alarm pipeline asks on every card).
    pub fn environments_of(&self, route: &str) -> &[String] {
        self.environments_by_route
            .get(route)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The rollback an alarm on `route` that began firing at `since` offers: the first linked
    /// environment whose last success (a deploy, not a rollback) finished at or before `since`,
    /// no longer than the window before it, with an earlier successful version to go back to.
    pub async fn offer(
        &self,
        route: &str,
        since: SystemTime,
    ) -> anyhow::Result<Option<RollbackOffer>> {
        if self.window.is_zero() {
            return Ok(None);
        }
        for environment in self.environments_of(route) {
            let env = environment.clone();
            let successes = self.store.run(move |s| s.last_successes(&env)).await?;
            let (Some(current), Some(previous)) = (successes.current, successes.previous) else {
                continue;
            };
            // An alarm after a rollback does not point back at the version just left behind.
            if current.action == DeployAction::Rollback {
                continue;
            }
            let finished = current.updated_at;
            let suspect = finished <= since
                && since
                    .duration_since(finished)
                    .is_ok_and(|after| after <= self.window);
            if suspect {
                return Ok(Some(RollbackOffer {
                    environment: environment.clone(),
                    to_version: previous.effective_version().to_owned(),
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{Config, Purpose};
    use crate::store::deploys::{DeployState, NewDeployRequest, StateChange};
    use crate::store::SqliteStore;

    const MINUTE: Duration = Duration::from_secs(60);

    /// Now to the millisecond, as the store keeps times.
    fn now() -> SystemTime {
        let since_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        SystemTime::UNIX_EPOCH + Duration::from_millis(since_epoch.as_millis() as u64)
    }

    fn config() -> DeployConfig {
        let text = r#"
[alarms]
default_channel = "C0ALERTS01"
[[alarms.route]]
name = "checkout"
channels = ["C0ALERTS01"]
[alarms.route.match]
name = "checkout-*"

[deploy]
default_environment = "prod"
suspect_window = "30m"
[deploy.environments.prod]
alarm_routes = ["checkout"]
[deploy.environments.staging]

[github]
owner = "acme"
repo = "app"
token = "github_pat_test"
"#;
        Config::load_from_str(
            "inline",
            text,
            Vec::<(String, String)>::new(),
            Purpose::Manifest,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .deploy
        .unwrap()
    }

    /// prod's successes: (action, version, finished), oldest first.
    fn suspects(successes: &[(DeployAction, &str, SystemTime)]) -> SuspectDeploys {
        let successes: Vec<(DeployAction, String, SystemTime)> = successes
            .iter()
            .map(|(a, v, t)| (*a, v.to_string(), *t))
            .collect();
        // The store blocks: seeded on a thread of its own, read through `Blocking`.
        let store = std::thread::spawn(move || seeded(&successes))
            .join()
            .unwrap();
        let store: Arc<dyn DeployStore> = Arc::new(store);
        SuspectDeploys::new(&config(), Blocking::new(store))
    }

    fn seeded(successes: &[(DeployAction, String, SystemTime)]) -> SqliteStore {
        let store = SqliteStore::in_memory().unwrap();
        for (n, (action, version, finished)) in successes.iter().enumerate() {
            let id = format!("request-{n}");
            let new = NewDeployRequest {
                request_id: id.clone(),
                environment: "prod".into(),
                action: *action,
                version: version.clone(),
                requested_by: "U0ALICE123".into(),
                channel: "C0DEPLOYS1".into(),
                approvals_needed: 0,
                state: DeployState::Approved,
                created_at: *finished - 5 * MINUTE,
                expires_at: *finished + 25 * MINUTE,
            };
            store.create_request(&new).unwrap();
            let change = StateChange {
                at: *finished,
                decided_by: None,
            };
            let moved = store
                .transition(
                    &id,
                    &[DeployState::Approved],
                    DeployState::Succeeded,
                    change,
                )
                .unwrap();
            assert!(moved);
        }
        store
    }

    #[tokio::test]
    async fn an_alarm_soon_after_a_deploy_offers_the_version_before_it() {
        let now = now();
        let deploys = suspects(&[
            (DeployAction::Deploy, "v1.2.2", now - 300 * MINUTE),
            (DeployAction::Deploy, "v1.2.3", now - 10 * MINUTE),
        ]);
        assert_eq!(deploys.environments_of("checkout"), ["prod".to_owned()]);
        assert!(deploys.environments_of("search").is_empty());
        let offer = deploys.offer("checkout", now).await.unwrap();
        assert_eq!(
            offer,
            Some(RollbackOffer {
                environment: "prod".into(),
                to_version: "v1.2.2".into()
            })
        );
        // At the window's far edge, still; past it, and before the deploy finished, not.
        let edge = now - 10 * MINUTE + 30 * MINUTE;
        assert!(deploys.offer("checkout", edge).await.unwrap().is_some());
        let late = edge + Duration::from_secs(1);
        assert_eq!(deploys.offer("checkout", late).await.unwrap(), None);
        let before = now - 11 * MINUTE;
        assert_eq!(deploys.offer("checkout", before).await.unwrap(), None);
        assert_eq!(deploys.offer("search", now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn nothing_is_offered_without_an_earlier_version_or_after_a_rollback() {
        let now = now();
        let only = suspects(&[(DeployAction::Deploy, "v1.0.0", now - MINUTE)]);
        assert_eq!(only.offer("checkout", now).await.unwrap(), None);
        let rolled_back = suspects(&[
            (DeployAction::Deploy, "v1.2.2", now - 300 * MINUTE),
            (DeployAction::Deploy, "v1.2.3", now - 60 * MINUTE),
            (DeployAction::Rollback, "v1.2.2", now - MINUTE),
        ]);
        assert_eq!(rolled_back.offer("checkout", now).await.unwrap(), None);
    }
}
