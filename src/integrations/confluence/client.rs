//! `ConfluenceWiki`: the real `Wiki`, on Cloud (REST v2) or Data Center (REST v1) as configured;
//! each operation, its retries and its re-reads run within `confluence.timeout`.

use async_trait::async_trait;
use tokio::time::Instant;

use super::cloud::CloudApi;
use super::datacenter;
use super::error::{WikiError, WikiTarget};
use super::http::{Auth, Http, RetryBackoff};
use super::storage::StorageXml;
use super::{PageRef, Wiki};
use crate::config::{ConfluenceConfig, ConfluenceFlavor};

/// Most read-then-write rounds of one update before a version conflict is given up.
pub const MAX_UPDATE_ATTEMPTS: u32 = 4;

/// One Confluence site and space, as `[confluence]` names them.
pub struct ConfluenceWiki {
    http: Http,
    api: Api,
    parent_id: Option<String>,
}

enum Api {
    Cloud(CloudApi),
    DataCenter,
}

impl ConfluenceWiki {
    /// A client for `config`: Basic auth (user and API token) on Cloud, the personal access
    /// token as Bearer on Data Center. Fails only if Cloud has no user (the config check
    /// prevents that) or the HTTP client cannot be built.
    pub fn new(config: &ConfluenceConfig) -> anyhow::Result<Self> {
        let (auth, api) = match config.flavor {
            ConfluenceFlavor::Cloud => {
                let user = config.user.clone().ok_or_else(|| {
                    anyhow::anyhow!("confluence.user is required when confluence.flavor is cloud")
                })?;
                let auth = Auth::Basic {
                    user,
                    token: config.api_token.clone(),
                };
                (auth, Api::Cloud(CloudApi::new()))
            }
            ConfluenceFlavor::DataCenter => {
                (Auth::Bearer(config.api_token.clone()), Api::DataCenter)
            }
        };
        let target = WikiTarget {
            site: config.api_root().to_owned(),
            space_key: config.space_key.clone(),
            user: config.user.clone(),
            personal_access_token: config.flavor == ConfluenceFlavor::DataCenter,
        };
        let http = Http::new(config.api_root().to_owned(), auth, target, config.timeout)?;
        Ok(Self {
            http,
            api,
            parent_id: config.parent_id.clone(),
        })
    }

    /// The same client with another retry schedule for 429 and 503.
    pub fn with_backoff(mut self, backoff: RetryBackoff) -> Self {
        self.http.backoff = backoff;
        self
    }

    /// The site, space and user this client writes as, for messages.
    pub fn target(&self) -> &WikiTarget {
        &self.http.target
    }

    /// Reads the configured space (`check --live`) and returns its id: Cloud looks it up by key
    /// (`GET /api/v2/spaces?keys=KEY`, kept as the page calls keep it), Data Center reads
    /// `GET /rest/api/space/KEY`. A 401 is `Unauthorized`; a missing space `NotFound`.
    pub async fn space_id(&self) -> Result<String, WikiError> {
        let deadline = self.http.deadline();
        match &self.api {
            Api::Cloud(cloud) => cloud
                .space_id(&self.http, deadline)
                .await
                .map(str::to_owned),
            Api::DataCenter => datacenter::space_id(&self.http, deadline).await,
        }
    }

    async fn get_within(&self, id: &str, deadline: Instant) -> Result<PageRef, WikiError> {
        match &self.api {
            Api::Cloud(cloud) => cloud.get_page(&self.http, id, deadline).await,
            Api::DataCenter => datacenter::get_page(&self.http, id, deadline).await,
        }
    }

    async fn put_within(
        &self,
        id: &str,
        title: &str,
        body: &StorageXml,
        version: u32,
        deadline: Instant,
    ) -> Result<PageRef, WikiError> {
        match &self.api {
            Api::Cloud(cloud) => {
                cloud
                    .put_page(&self.http, id, title, body, version, deadline)
                    .await
            }
            Api::DataCenter => {
                datacenter::put_page(&self.http, id, title, body, version, deadline).await
            }
        }
    }
}

#[async_trait]
impl Wiki for ConfluenceWiki {
    async fn find_page(&self, title: &str) -> Result<Option<PageRef>, WikiError> {
        let deadline = self.http.deadline();
        match &self.api {
            Api::Cloud(cloud) => cloud.find_page(&self.http, title, deadline).await,
            Api::DataCenter => datacenter::find_page(&self.http, title, deadline).await,
        }
    }

    async fn get_page(&self, id: &str) -> Result<PageRef, WikiError> {
        self.get_within(id, self.http.deadline()).await
    }

    async fn create_page(
        &self,
        title: &str,
        body: &StorageXml,
        parent: Option<&str>,
    ) -> Result<PageRef, WikiError> {
        let deadline = self.http.deadline();
        let parent = parent.or(self.parent_id.as_deref());
        match &self.api {
            Api::Cloud(cloud) => {
                cloud
                    .create_page(&self.http, title, body, parent, deadline)
                    .await
            }
            Api::DataCenter => {
                datacenter::create_page(&self.http, title, body, parent, deadline).await
            }
        }
    }

    async fn update_page(
        &self,
        id: &str,
        title: &str,
        body: &StorageXml,
    ) -> Result<PageRef, WikiError> {
        let deadline = self.http.deadline();
        let mut attempt = 1;
        loop {
            let current = self.get_within(id, deadline).await?;
            let next = current.version.saturating_add(1);
            match self.put_within(id, title, body, next, deadline).await {
                Err(WikiError::VersionConflict { page_id, .. }) => {
                    if attempt >= MAX_UPDATE_ATTEMPTS {
                        return Err(WikiError::VersionConflict {
                            page_id,
                            attempts: attempt,
                        });
                    }
                    tracing::info!(
                        page_id = id,
                        version = next,
                        attempt,
                        "Confluence page changed while updating it; reading it again"
                    );
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }
}
