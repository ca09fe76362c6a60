//! Finding packages in an index: by words, ranked by relevance and quality,
//! filtered by permissions, tags and the worst security finding.
//!
//! Relevance counts, for each query word, 3 when the package name contains
//! it, 3 when a tool name does, 2 when a tag equals it, and 1 when a word
//! of a description starts with it. The rank is the relevance times
//! (1 + quality / 100), so of two equally relevant packages the better one
//! comes first; ties go by name. Only trusted, unyanked versions are
//! searched (the latest of each package); a package with untrusted lines
//! says so.

use rustchain_tools::scan::Severity;
use serde::Serialize;

use crate::error::MarketError;
use crate::index::Index;
use crate::package::Package;

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Words; empty matches every package.
    pub words: String,
    /// Only packages whose permission kinds are all among these (`none`
    /// alone: packages that touch nothing); empty for no limit.
    pub permissions: Vec<String>,
    /// Only packages with a tool carrying each of these tags.
    pub tags: Vec<String>,
    /// Only packages whose worst security finding is at most this; `None`
    /// in the option for no limit; `Some(None)` for no finding at all.
    pub max_severity: Option<Option<Severity>>,
}

/// One package found.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// The package's name.
    pub name: String,
    /// Its latest trusted, unyanked version.
    pub version: String,
    /// Its description.
    pub description: Option<String>,
    /// Its tools' names.
    pub tools: Vec<String>,
    /// Its permission kinds.
    pub permissions: Vec<String>,
    /// Its quality score.
    pub quality: u32,
    /// The relevance to the words.
    pub relevance: u32,
    /// How many lines of its file are untrusted (0 when it verifies).
    pub untrusted_lines: usize,
    /// The mean of its raters' scores (1-5), `None` when unrated.
    pub rating: Option<f64>,
    /// How many raters.
    pub ratings: usize,
}

/// Every package of `index` that matches `query`, best first.
pub fn search(index: &Index, query: &Query) -> Result<Vec<Hit>, MarketError> {
    let words: Vec<String> = query
        .words
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut hits = Vec::new();
    for name in index.packages()? {
        let log = index.read(&name)?;
        let untrusted_lines = log.untrusted().count();
        let Some(latest) = log.latest() else {
            continue;
        };
        let package = &latest.package;
        if !passes_filters(package, query) {
            continue;
        }
        let relevance = relevance(package, &words);
        if !words.is_empty() && relevance == 0 {
            continue;
        }
        let ratings = index.ratings(&name)?;
        hits.push(Hit {
            name: log.name.clone(),
            version: latest.version.to_string(),
            description: package.metadata.description.clone(),
            tools: package.tools.iter().map(|t| t.name.clone()).collect(),
            permissions: package.quality.permissions.clone(),
            quality: package.quality.score,
            relevance,
            untrusted_lines,
            rating: ratings.average,
            ratings: ratings.count,
        });
    }
    hits.sort_by(|a, b| rank(b).cmp(&rank(a)).then_with(|| a.name.cmp(&b.name)));
    Ok(hits)
}

fn rank(hit: &Hit) -> u32 {
    // relevance × (1 + quality/100), in hundredths.
    hit.relevance.max(1) * (100 + hit.quality)
}

fn passes_filters(package: &Package, query: &Query) -> bool {
    let quality = &package.quality;
    let permissions_ok = query.permissions.is_empty()
        || quality
            .permissions
            .iter()
            .all(|kind| query.permissions.iter().any(|allowed| allowed == kind));
    let tags_ok = query.tags.iter().all(|tag| {
        package
            .tools
            .iter()
            .any(|t| t.tags.iter().any(|own| own.eq_ignore_ascii_case(tag)))
    });
    let severity_ok = match query.max_severity {
        None => true,
        Some(limit) => quality.findings.worst() <= limit,
    };
    permissions_ok && tags_ok && severity_ok
}

fn relevance(package: &Package, words: &[String]) -> u32 {
    let name = package.metadata.name.to_lowercase();
    let mut descriptions: Vec<String> = package
        .metadata
        .description
        .iter()
        .map(|d| d.to_lowercase())
        .collect();
    descriptions.extend(package.tools.iter().map(|t| t.description.to_lowercase()));
    let mut score = 0;
    for word in words {
        if name.contains(word.as_str()) {
            score += 3;
        }
        if package
            .tools
            .iter()
            .any(|t| t.name.to_lowercase().contains(word.as_str()))
        {
            score += 3;
        }
        if package
            .tools
            .iter()
            .any(|t| t.tags.iter().any(|tag| tag.eq_ignore_ascii_case(word)))
        {
            score += 2;
        }
        if descriptions.iter().any(|d| {
            d.split(|c: char| !c.is_alphanumeric())
                .any(|w| w.starts_with(word.as_str()))
        }) {
            score += 1;
        }
    }
    score
}
