//! `tool_search`: a model finds the tools it needs among many, so an agent
//! can offer a handful of tools plus this one instead of every definition.
//!
//! The search itself is the runtime's ([`find_tools`]), shared with the
//! run-time `tool_search` the MCP server registers in programs that do not
//! link this crate.

use rustchain_macros::tool;
use rustchain_tools::ToolContext;
use rustchain_tools::exec::Running;
use rustchain_tools::search::{DEFAULT_RESULTS, find_tools};

pub use rustchain_tools::search::FoundTool;

/// Finds the tools that fit a request, best match first: describe what you
/// want done in words, then call the tool found by its name. Only tools the
/// policy lets run are returned.
#[tool(crate = "rustchain_tools", read_only, idempotent, tags("discovery"))]
pub fn tool_search(
    /// What the tool should do, in plain words ("count the words in a text").
    query: String,
    /// How many tools to return: 5 unless given, at most 50.
    limit: Option<u32>,
    /// Also return each tool's input schema, to call it without another lookup.
    include_schema: Option<bool>,
    ctx: &ToolContext,
) -> Vec<FoundTool> {
    let running = Running::of(ctx);
    let registry = running.map_or_else(rustchain_tools::Registry::global, |running| {
        running.registry
    });
    find_tools(
        registry,
        // Never reveal a tool the policy would refuse.
        running.map(|running| running.policy),
        &query,
        limit.map_or(DEFAULT_RESULTS, |limit| limit as usize),
        include_schema.unwrap_or(false),
    )
}
