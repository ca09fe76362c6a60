//! What a tool search asks for and what it finds; the ranker itself is the
//! runtime's (`rustchain_tools::search`), so a tool crate compiles no index.

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
    /// What the tool should do, in words: ranked against names, titles,
    /// tags, descriptions and parameters.
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
    /// Higher is better (the relevance in thousandths); 0 when the query has no text.
    pub score: u32,
}
