//! Collections: a named, versioned list of packages (each with a semver
//! requirement), published, signed and chained like a package, in files of
//! their own under `collections/` (the same prefix layout).
//!
//! Publishing a collection refuses the same version twice or a lower one,
//! and a member that has no trusted, unyanked version matching its
//! requirement in the index.

use serde::{Deserialize, Serialize};

use crate::error::{MarketError, MarketErrorKind};
use crate::index::Index;
use crate::package::is_package_name;

/// One member of a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The package's name.
    pub name: String,
    /// A semver requirement (`^1.2`, `=0.3.1`, `*`).
    pub req: String,
}

impl Member {
    /// Reads `NAME` (any version) or `NAME@REQ`.
    pub fn parse(text: &str) -> Result<Member, MarketError> {
        let (name, req) = text.split_once('@').unwrap_or((text, "*"));
        if !is_package_name(name) {
            return Err(MarketError::new(
                MarketErrorKind::Invalid,
                format!("`{text}`: `{name}` is not a package name"),
            ));
        }
        semver::VersionReq::parse(req).map_err(|err| {
            MarketError::new(
                MarketErrorKind::Invalid,
                format!("`{text}`: `{req}` is not a version requirement like ^1.2: {err}"),
            )
        })?;
        Ok(Member {
            name: name.to_owned(),
            req: req.to_owned(),
        })
    }
}

/// One version of a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// The collection's name (a package name's rules).
    pub name: String,
    /// Its version (semver).
    pub version: String,
    /// What it gathers, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its members, in the order given.
    pub packages: Vec<Member>,
}

/// A collection found by [`search`].
#[derive(Debug, Clone, Serialize)]
pub struct CollectionHit {
    /// The collection's name.
    pub name: String,
    /// Its latest trusted version.
    pub version: String,
    /// Its description.
    pub description: Option<String>,
    /// Its members' names.
    pub packages: Vec<String>,
    /// Relevance: 3 per word in the name, 2 per word naming a member, 1 per description word it starts.
    pub relevance: u32,
}

/// Every collection matching `words` (all when empty), most relevant first.
pub fn search(index: &Index, words: &str) -> Result<Vec<CollectionHit>, MarketError> {
    let words: Vec<String> = words
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut hits = Vec::new();
    for name in index.collections()? {
        let Some(latest) = index.read_collection(&name)?.latest_collection() else {
            continue;
        };
        let mut relevance = 0;
        for word in &words {
            if latest.name.to_lowercase().contains(word.as_str()) {
                relevance += 3;
            }
            if latest
                .packages
                .iter()
                .any(|m| m.name.to_lowercase().contains(word.as_str()))
            {
                relevance += 2;
            }
            if latest
                .description
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w.starts_with(word.as_str()))
            {
                relevance += 1;
            }
        }
        if !words.is_empty() && relevance == 0 {
            continue;
        }
        hits.push(CollectionHit {
            name: latest.name.clone(),
            version: latest.version.clone(),
            description: latest.description.clone(),
            packages: latest.packages.iter().map(|m| m.name.clone()).collect(),
            relevance,
        });
    }
    hits.sort_by(|a, b| {
        b.relevance
            .cmp(&a.relevance)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(hits)
}
