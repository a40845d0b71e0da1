//! Suspect deploys: an alarm that goes into ALARM on a route linked to an environment within
//! `deploy.suspect_window` after a successful deploy there points at that deploy, and its card
//! offers a rollback to the version before it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::alarm_links::RollbackOffer;
use crate::config::DeployConfig;
use crate::store::deploys::DeployStore;
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
    /// environment whose last success finished at or before `since`, no longer than the window
    /// before it, with an earlier successful version to go back to.
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
