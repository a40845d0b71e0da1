//! A small AWS Query-protocol client for moto (CloudFormation, IAM), with no SDK crate: form
//! POSTs whose Authorization header names the service and region, which is all moto reads of it
//! (it checks no signature); XML answers read with roxmltree.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context};

pub const CLOUDFORMATION: Api = Api {
    service: "cloudformation",
    version: "2010-05-15",
};
pub const IAM: Api = Api {
    service: "iam",
    version: "2010-05-08",
};

/// One Query API: the service name moto routes by, and the API version.
#[derive(Clone, Copy)]
pub struct Api {
    service: &'static str,
    version: &'static str,
}

pub struct Query {
    http: reqwest::Client,
    endpoint: String,
}

impl Query {
    pub fn new(endpoint: &str) -> anyhow::Result<Self> {
        // Loopback only: no proxy from the environment.
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .context("an HTTP client")?;
        Ok(Self {
            http,
            endpoint: format!("{}/", endpoint.trim_end_matches('/')),
        })
    }

    /// Calls `action` with `params`; the answer's XML, or an error with moto's status and body.
    pub async fn call(
        &self,
        api: Api,
        region: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> anyhow::Result<String> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", api.version);
        for (name, value) in params {
            form.append_pair(name, value);
        }
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{}/aws4_request, \
             SignedHeaders=host, Signature=0",
            api.service
        );
        let response = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", authorization)
            .body(form.finish())
            .send()
            .await
            .with_context(|| format!("moto {action}"))?;
        let status = response.status();
        let body = response.text().await.context("reading moto's answer")?;
        if !status.is_success() {
            bail!("moto {action}: {status}: {body}");
        }
        Ok(body)
    }
}

/// The text of every element named `tag`, in document order.
pub fn texts(xml: &str, tag: &str) -> anyhow::Result<Vec<String>> {
    let document = roxmltree::Document::parse(xml).context("moto's XML")?;
    Ok(document
        .descendants()
        .filter(|node| node.has_tag_name(tag))
        .map(|node| node.text().unwrap_or_default().to_owned())
        .collect())
}

/// The one element named `tag`.
pub fn text(xml: &str, tag: &str) -> anyhow::Result<String> {
    let mut found = texts(xml, tag)?;
    match found.len() {
        1 => Ok(found.remove(0)),
        n => bail!("{n} <{tag}> elements in {xml}"),
    }
}

/// A stack's outputs from a DescribeStacks answer: OutputKey → OutputValue.
pub fn outputs(xml: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let document = roxmltree::Document::parse(xml).context("moto's XML")?;
    let child = |member: roxmltree::Node, tag: &str| {
        member
            .children()
            .find(|n| n.has_tag_name(tag))
            .map(|n| n.text().unwrap_or_default().to_owned())
    };
    Ok(document
        .descendants()
        .filter(|node| node.has_tag_name("member"))
        .filter_map(|member| Some((child(member, "OutputKey")?, child(member, "OutputValue")?)))
        .collect())
}
