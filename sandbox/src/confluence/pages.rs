//! The fake's wiki: spaces and pages with Confluence's rules (well-formed storage bodies, one
//! title per space, each update exactly the next version), independent of either REST flavour.

use std::collections::BTreeMap;

/// A page as the fake keeps it; tests read these back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakePage {
    /// Digits, as Confluence's ids.
    pub id: String,
    pub space_key: String,
    pub title: String,
    pub version: u32,
    /// The storage-format body exactly as last written.
    pub body: String,
    pub parent_id: Option<String>,
}

/// Why the fake refused a write, before it is put in one flavour's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The body is not well-formed XML (Confluence: "Error parsing xhtml").
    BadStorage(String),
    TitleTaken {
        title: String,
        space_key: String,
    },
    EmptyTitle,
    NoSpace(String),
    NoPage(String),
    NoParent(String),
    /// The version sent is not the current one + 1.
    StaleVersion {
        current: u32,
    },
}

/// Spaces by key (with their ids) and pages by id.
pub(crate) struct PageStore {
    spaces: BTreeMap<String, String>,
    pages: BTreeMap<u64, FakePage>,
    next_page: u64,
    next_space: u64,
}

impl PageStore {
    pub(crate) fn new() -> Self {
        Self {
            spaces: BTreeMap::new(),
            pages: BTreeMap::new(),
            next_page: 65_537,
            next_space: 98_306,
        }
    }

    /// Adds a space (if new) and returns its id.
    pub(crate) fn add_space(&mut self, key: &str) -> String {
        if let Some(id) = self.spaces.get(key) {
            return id.clone();
        }
        let id = self.next_space.to_string();
        self.next_space += 1;
        self.spaces.insert(key.to_owned(), id.clone());
        id
    }

    pub(crate) fn space_id(&self, key: &str) -> Option<&str> {
        self.spaces.get(key).map(String::as_str)
    }

    pub(crate) fn space_key_of_id(&self, id: &str) -> Option<&str> {
        self.spaces
            .iter()
            .find(|(_, space_id)| *space_id == id)
            .map(|(key, _)| key.as_str())
    }

    pub(crate) fn page(&self, id: &str) -> Option<&FakePage> {
        self.pages.get(&id.parse::<u64>().ok()?)
    }

    pub(crate) fn pages(&self) -> Vec<FakePage> {
        self.pages.values().cloned().collect()
    }

    /// Pages in `space_key` titled exactly `title` (`None`: every page of the space).
    pub(crate) fn find(&self, space_key: &str, title: Option<&str>) -> Vec<FakePage> {
        self.pages
            .values()
            .filter(|page| page.space_key == space_key)
            .filter(|page| title.is_none_or(|title| page.title == title))
            .cloned()
            .collect()
    }

    pub(crate) fn create(
        &mut self,
        space_key: &str,
        title: &str,
        body: &str,
        parent_id: Option<&str>,
    ) -> Result<FakePage, Refusal> {
        if !self.spaces.contains_key(space_key) {
            return Err(Refusal::NoSpace(space_key.to_owned()));
        }
        if let Some(parent) = parent_id {
            if self
                .page(parent)
                .is_none_or(|page| page.space_key != space_key)
            {
                return Err(Refusal::NoParent(parent.to_owned()));
            }
        }
        self.check_title(space_key, title, None)?;
        check_storage(body)?;
        let id = self.next_page;
        self.next_page += 1;
        let page = FakePage {
            id: id.to_string(),
            space_key: space_key.to_owned(),
            title: title.to_owned(),
            version: 1,
            body: body.to_owned(),
            parent_id: parent_id.map(str::to_owned),
        };
        self.pages.insert(id, page.clone());
        Ok(page)
    }

    /// Writes `version` of page `id`; it must be exactly the current version + 1.
    pub(crate) fn update(
        &mut self,
        id: &str,
        title: &str,
        body: &str,
        version: u32,
    ) -> Result<FakePage, Refusal> {
        let Some(current) = self.page(id).cloned() else {
            return Err(Refusal::NoPage(id.to_owned()));
        };
        if version != current.version + 1 {
            return Err(Refusal::StaleVersion {
                current: current.version,
            });
        }
        self.check_title(&current.space_key, title, Some(id))?;
        check_storage(body)?;
        let page = self.pages.get_mut(&id.parse::<u64>().unwrap_or_default());
        let page = page.ok_or_else(|| Refusal::NoPage(id.to_owned()))?;
        page.title = title.to_owned();
        page.body = body.to_owned();
        page.version = version;
        Ok(page.clone())
    }

    /// Someone else edits page `id`: its version goes up by one, its body stays.
    pub(crate) fn bump_version(&mut self, id: &str) -> Option<u32> {
        let page = self.pages.get_mut(&id.parse::<u64>().ok()?)?;
        page.version += 1;
        Some(page.version)
    }

    fn check_title(
        &self,
        space_key: &str,
        title: &str,
        except: Option<&str>,
    ) -> Result<(), Refusal> {
        if title.trim().is_empty() {
            return Err(Refusal::EmptyTitle);
        }
        let taken = self.pages.values().any(|page| {
            page.space_key == space_key && page.title == title && Some(page.id.as_str()) != except
        });
        if taken {
            Err(Refusal::TitleTaken {
                title: title.to_owned(),
                space_key: space_key.to_owned(),
            })
        } else {
            Ok(())
        }
    }
}

/// The namespaces of Confluence's `ac:` and `ri:` prefixes.
const AC_NAMESPACE: &str = "http://atlassian.com/content";
const RI_NAMESPACE: &str = "http://atlassian.com/resource/identifier";

/// Parses `body` the way Confluence does: XHTML with the `ac:`/`ri:` prefixes bound, and no
/// entities beyond XML's own (so `&nbsp;` is an error, as in Confluence's storage format).
pub fn check_storage(body: &str) -> Result<(), String> {
    let wrapped = format!(
        "<storage-body xmlns:ac=\"{AC_NAMESPACE}\" xmlns:ri=\"{RI_NAMESPACE}\">{body}</storage-body>"
    );
    roxmltree::Document::parse(&wrapped)
        .map(|_| ())
        .map_err(|error| format!("Error parsing xhtml: {error}"))
}

impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Refusal::BadStorage(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confluences_rules_hold() {
        let mut store = PageStore::new();
        store.add_space("OPS");
        let page = store.create("OPS", "Incident", "<p>a</p>", None).unwrap();
        assert_eq!(page.version, 1);
        assert_eq!(
            store.create("OPS", "Incident", "<p>b</p>", None),
            Err(Refusal::TitleTaken {
                title: "Incident".into(),
                space_key: "OPS".into()
            })
        );
        assert!(matches!(
            store.create("OPS", "Other", "<p>&nbsp;</p>", None),
            Err(Refusal::BadStorage(_))
        ));
        assert!(matches!(
            store.create("OPS", "Other", "<p><b></p></b>", None),
            Err(Refusal::BadStorage(_))
        ));
        assert_eq!(
            store.update(&page.id, "Incident", "<p>c</p>", 3),
            Err(Refusal::StaleVersion { current: 1 })
        );
        let updated = store.update(&page.id, "Incident", "<p>c</p>", 2).unwrap();
        assert_eq!((updated.version, updated.body.as_str()), (2, "<p>c</p>"));
        assert_eq!(
            store.create("NOPE", "x", "<p/>", None),
            Err(Refusal::NoSpace("NOPE".into()))
        );
    }
}
