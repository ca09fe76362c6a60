//! `tool_search`: a model finds the tools it needs among many, so an agent
//! can offer a handful of tools plus this one instead of every definition.

use rustchain_macros::tool;
use rustchain_tools::exec::Running;
use rustchain_tools::policy::Verdict;
use rustchain_tools::search::discover;
use rustchain_tools::{Registry, ToolContext, ToolQuery};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// The most results one search returns.
const MAX_RESULTS: u32 = 50;

/// One tool found, best match first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FoundTool {
    /// The tool's name, to call it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// How well it matched (higher is better).
    pub score: f64,
    /// Its input schema, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
}

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
    let registry = running.map_or_else(Registry::global, |running| running.registry);
    let limit = limit.unwrap_or(5).clamp(1, MAX_RESULTS) as usize;
    let found = discover(registry, &ToolQuery::text(query));
    found
        .into_iter()
        .filter(|found| found.tool.name() != "tool_search")
        // Never reveal a tool the policy would refuse.
        .filter(|found| {
            running.is_none_or(|running| {
                running.policy.decide_tool(found.tool.descriptor()).verdict != Verdict::Deny
            })
        })
        .take(limit)
        .map(|found| FoundTool {
            name: found.tool.name().to_owned(),
            description: found.tool.descriptor().description.to_owned(),
            score: f64::from(found.score) / 1000.0,
            input_schema: include_schema
                .unwrap_or(false)
                .then(|| found.tool.input_schema().as_value().clone()),
        })
        .collect()
}
