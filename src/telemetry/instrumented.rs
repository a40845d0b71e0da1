//! `Instrumented<T>`: the integrations' traits (`Agent`, `Wiki`, `DeployPipeline`) wrapped so that every call's time and failure reach `IntegrationMetrics`.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;

use super::metrics::{IntegrationMetrics, System};
use crate::integrations::bedrock::{Agent, AgentAnswer, AgentError, AgentRequest};
use crate::integrations::confluence::{PageRef, StorageXml, Wiki, WikiError};
use crate::integrations::github::{
    DeployPipeline, DeploymentRecord, DispatchEvent, DispatchRequest, Dispatched, GitHubError,
    RunProgress, RunSummary,
};

/// A client of an outside system, timed call by call.
pub struct Instrumented<T: ?Sized> {
    inner: Arc<T>,
    metrics: IntegrationMetrics,
}

impl<T: ?Sized> Instrumented<T> {
    pub fn new(inner: Arc<T>, metrics: IntegrationMetrics) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl Agent for Instrumented<dyn Agent> {
    async fn ask(
        &self,
        request: AgentRequest,
        pieces: UnboundedSender<String>,
    ) -> Result<AgentAnswer, AgentError> {
        let call = self.inner.ask(request, pieces);
        self.metrics
            .time(System::Bedrock, self.inner.operation(), call)
            .await
    }

    fn operation(&self) -> &'static str {
        self.inner.operation()
    }
}

#[async_trait]
impl<W: Wiki> Wiki for Instrumented<W> {
    async fn find_page(&self, title: &str) -> Result<Option<PageRef>, WikiError> {
        let call = self.inner.find_page(title);
        self.metrics
            .time(System::Confluence, "find_page", call)
            .await
    }

    async fn get_page(&self, id: &str) -> Result<PageRef, WikiError> {
        let call = self.inner.get_page(id);
        self.metrics
            .time(System::Confluence, "get_page", call)
            .await
    }

    async fn create_page(
        &self,
        title: &str,
        body: &StorageXml,
        parent: Option<&str>,
    ) -> Result<PageRef, WikiError> {
        let call = self.inner.create_page(title, body, parent);
        self.metrics
            .time(System::Confluence, "create_page", call)
            .await
    }

    async fn update_page(
        &self,
        id: &str,
        title: &str,
        body: &StorageXml,
    ) -> Result<PageRef, WikiError> {
        let call = self.inner.update_page(id, title, body);
        self.metrics
            .time(System::Confluence, "update_page", call)
            .await
    }
}

#[async_trait]
impl<P: DeployPipeline> DeployPipeline for Instrumented<P> {
    async fn dispatch(&self, request: &DispatchRequest) -> Result<Dispatched, GitHubError> {
        let call = self.inner.dispatch(request);
        self.metrics.time(System::GitHub, "dispatch", call).await
    }

    async fn find_run(
        &self,
        request_id: &str,
        event: DispatchEvent,
        since: OffsetDateTime,
    ) -> Result<Option<RunSummary>, GitHubError> {
        let call = self.inner.find_run(request_id, event, since);
        self.metrics.time(System::GitHub, "find_run", call).await
    }

    async fn run_progress(&self, run_id: u64) -> Result<RunProgress, GitHubError> {
        let call = self.inner.run_progress(run_id);
        self.metrics
            .time(System::GitHub, "run_progress", call)
            .await
    }

    async fn deployments(
        &self,
        environment: &str,
        limit: u8,
    ) -> Result<Vec<DeploymentRecord>, GitHubError> {
        let call = self.inner.deployments(environment, limit);
        self.metrics.time(System::GitHub, "deployments", call).await
    }
}
