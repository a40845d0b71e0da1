//! The JSON both REST APIs answer with, as far as the bot reads it: a page's id, title, version
//! and links (Cloud v2 and Data Center v1 agree on these names), lists of them, and spaces.

use serde::{Deserialize, Deserializer};

use super::error::WikiError;
use super::PageRef;

/// A page as either API returns it.
#[derive(Debug, Deserialize)]
pub(super) struct WirePage {
    #[serde(deserialize_with = "id_text")]
    pub(super) id: String,
    pub(super) title: String,
    pub(super) version: Option<WireVersion>,
    #[serde(rename = "_links", default)]
    pub(super) links: WireLinks,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireVersion {
    pub(super) number: u32,
}

/// `_links`: `webui` is relative to `base` (`/spaces/OPS/pages/123/Title` on Cloud,
/// `/display/OPS/Title` or `/pages/viewpage.action?pageId=123` on Data Center).
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireLinks {
    pub(super) webui: Option<String>,
    pub(super) base: Option<String>,
}

/// A page of results (`GET /api/v2/pages`, `GET /api/v2/spaces`, `GET /rest/api/content`).
/// Items carry no `_links.base`; the list does.
#[derive(Debug, Deserialize)]
pub(super) struct WireList<T> {
    pub(super) results: Vec<T>,
    #[serde(rename = "_links", default)]
    pub(super) links: WireLinks,
}

/// A space (`GET /api/v2/spaces?keys=KEY`).
#[derive(Debug, Deserialize)]
pub(super) struct WireSpace {
    #[serde(deserialize_with = "id_text")]
    pub(super) id: String,
    pub(super) key: String,
}

impl WirePage {
    /// The page's reference. Its web URL is `webui` under the page's own `base`, else `base`
    /// (the list's), else `site`; without `webui`, the `viewpage.action` URL both flavours serve.
    /// `version_if_absent` covers answers that leave the version out; `None` makes that an error.
    pub(super) fn into_ref(
        self,
        base: Option<&str>,
        site: &str,
        version_if_absent: Option<u32>,
    ) -> Result<PageRef, WikiError> {
        let version = match (self.version, version_if_absent) {
            (Some(version), _) => version.number,
            (None, Some(version)) => version,
            (None, None) => {
                return Err(WikiError::BadResponse {
                    detail: format!("page {} came without its version", self.id),
                })
            }
        };
        let base = self
            .links
            .base
            .as_deref()
            .or(base)
            .unwrap_or(site)
            .trim_end_matches('/');
        let url = match self.links.webui.as_deref() {
            Some(webui) if webui.starts_with("https://") || webui.starts_with("http://") => {
                webui.to_owned()
            }
            Some(webui) if webui.starts_with('/') => format!("{base}{webui}"),
            Some(webui) => format!("{base}/{webui}"),
            None => format!("{base}/pages/viewpage.action?pageId={}", self.id),
        };
        Ok(PageRef {
            id: self.id,
            title: self.title,
            version,
            url,
        })
    }
}

/// An id given as a string (Cloud v2, Data Center content) or a number (some space ids).
fn id_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "https://example.atlassian.net/wiki";

    #[test]
    fn a_cloud_page_links_to_its_web_view() {
        let page: WirePage = serde_json::from_str(
            r#"{"id":"123","status":"current","title":"Release notes","spaceId":"98306",
                "version":{"number":7,"createdAt":"2026-10-01T09:30:00.000Z"},
                "_links":{"webui":"/spaces/ENG/pages/123/Release+notes",
                          "editui":"/pages/resumedraft.action?draftId=123",
                          "base":"https://example.atlassian.net/wiki"}}"#,
        )
        .unwrap();
        let page = page.into_ref(None, SITE, None).unwrap();
        assert_eq!(
            page,
            PageRef {
                id: "123".into(),
                title: "Release notes".into(),
                version: 7,
                url: "https://example.atlassian.net/wiki/spaces/ENG/pages/123/Release+notes".into(),
            }
        );
    }

    #[test]
    fn list_items_take_the_lists_base_and_numbers_are_ids_too() {
        let list: WireList<WirePage> = serde_json::from_str(
            r#"{"results":[{"id":456,"type":"page","title":"Runbook","version":{"number":3},
                "_links":{"webui":"/display/OPS/Runbook"}}],
                "_links":{"base":"https://wiki.example.com/confluence","context":"/confluence"}}"#,
        )
        .unwrap();
        let base = list.links.base;
        let page = list.results.into_iter().next().unwrap();
        let page = page.into_ref(base.as_deref(), SITE, None).unwrap();
        assert_eq!(page.id, "456");
        assert_eq!(
            page.url,
            "https://wiki.example.com/confluence/display/OPS/Runbook"
        );
    }

    #[test]
    fn a_page_without_links_or_version_is_handled() {
        let page: WirePage = serde_json::from_str(r#"{"id":"9","title":"T"}"#).unwrap();
        let missing = serde_json::from_str::<WirePage>(r#"{"id":"9","title":"T"}"#)
            .unwrap()
            .into_ref(None, SITE, None);
        assert!(matches!(missing, Err(WikiError::BadResponse { .. })));
        let page = page.into_ref(None, SITE, Some(1)).unwrap();
        assert_eq!(page.version, 1);
        assert_eq!(page.url, format!("{SITE}/pages/viewpage.action?pageId=9"));
    }
}
