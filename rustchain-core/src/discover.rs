//! Finding tools by text, tag and annotation: ranked and deterministic.

use crate::Registry;
use crate::registry::Tool;

/// What to look for among the tools.
///
/// ```
/// use rustchain_core::ToolQuery;
/// let query = ToolQuery::text("read file").with_tag("fs").read_only(true);
/// assert_eq!(query.tags, vec!["fs".to_owned()]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolQuery {
    /// Words to match against name, title, description and tags (all must match somewhere).
    pub text: String,
    /// Tags every result must carry.
    pub tags: Vec<String>,
    /// Keep only tools whose read-only hint is this.
    pub read_only: Option<bool>,
    /// Keep only tools whose destructive hint is this.
    pub destructive: Option<bool>,
    /// Keep only tools whose idempotent hint is this.
    pub idempotent: Option<bool>,
    /// Keep only tools whose open-world hint is this.
    pub open_world: Option<bool>,
    /// At most this many results (all when `None`).
    pub limit: Option<usize>,
}

impl ToolQuery {
    /// A query matching `text`.
    pub fn text(text: impl Into<String>) -> Self {
        ToolQuery {
            text: text.into(),
            ..ToolQuery::default()
        }
    }

    /// Also require `tag`.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Only tools whose read-only hint is `read_only`.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = Some(read_only);
        self
    }
}

/// One search result and how well it matched.
#[derive(Debug, Clone, Copy)]
pub struct ToolMatch<'r> {
    /// The tool found.
    pub tool: Tool<'r>,
    /// Higher is better; 0 when the query has no text.
    pub score: u32,
}

// How much a word found in each field counts: a name match says most.
const NAME_EXACT: u32 = 100;
const NAME: u32 = 20;
const TAG: u32 = 10;
const TITLE: u32 = 8;
const DESCRIPTION: u32 = 3;

impl Registry {
    /// Tools matching `query`, best first; ties ordered by name.
    pub fn discover(&self, query: &ToolQuery) -> Vec<ToolMatch<'_>> {
        let words: Vec<String> = query
            .text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let mut found: Vec<ToolMatch<'_>> = self
            .tools()
            .filter(|tool| passes_filters(tool, query))
            .filter_map(|tool| {
                score(&tool, &query.text, &words).map(|score| ToolMatch { tool, score })
            })
            .collect();
        // `tools()` is already in name order and the sort is stable.
        found.sort_by_key(|found| std::cmp::Reverse(found.score));
        if let Some(limit) = query.limit {
            found.truncate(limit);
        }
        found
    }
}

fn passes_filters(tool: &Tool<'_>, query: &ToolQuery) -> bool {
    let d = tool.descriptor();
    let hint =
        |wanted: Option<bool>, actual: Option<bool>| wanted.is_none_or(|w| actual == Some(w));
    query
        .tags
        .iter()
        .all(|tag| d.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
        && hint(query.read_only, d.annotations.read_only)
        && hint(query.destructive, d.annotations.destructive)
        && hint(query.idempotent, d.annotations.idempotent)
        && hint(query.open_world, d.annotations.open_world)
}

/// The tool's score, or `None` when some word matches nowhere.
fn score(tool: &Tool<'_>, text: &str, words: &[String]) -> Option<u32> {
    let d = tool.descriptor();
    let name = d.name.to_lowercase();
    let title = d.title.unwrap_or_default().to_lowercase();
    let description = d.description.to_lowercase();
    let mut total = if name == text.trim().to_lowercase() {
        NAME_EXACT
    } else {
        0
    };
    for word in words {
        let mut points = 0;
        if name.contains(word.as_str()) {
            points += NAME;
        }
        if d.tags
            .iter()
            .any(|t| t.to_lowercase().contains(word.as_str()))
        {
            points += TAG;
        }
        if title.contains(word.as_str()) {
            points += TITLE;
        }
        if description.contains(word.as_str()) {
            points += DESCRIPTION;
        }
        if points == 0 {
            return None;
        }
        total += points;
    }
    Some(total)
}
