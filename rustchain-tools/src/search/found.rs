//! What `tool_search` answers: the tools that fit a request, best first,
//! among those the policy lets run.
//!
//! The built-in `tool_search` (in `rustchain-builtin`) and the run-time one
//! the MCP server registers when it defers listing ([`search_tool`]) are
//! the same search through [`find_tools`], so a model sees one tool
//! whichever program serves it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::discover;
use crate::exec::Running;
use crate::policy::Verdict;
use crate::registered::{FnTool, ToolExecutor, ToolSpec};
use crate::{Annotations, ErrorKind, Policy, Registry, ToolContext, ToolError, ToolQuery};

/// The name of the tool a model searches the others with.
pub const TOOL_SEARCH: &str = "tool_search";

/// How many tools one search returns unless asked otherwise.
pub const DEFAULT_RESULTS: usize = 5;

/// The most tools one search returns.
pub const MAX_RESULTS: usize = 50;

/// One tool found, best match first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FoundTool {
    /// The tool's name, to call it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// How well it matched (higher is better).
    pub score: f64,
    /// Its input schema, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
}

/// The best `limit` tools of `registry` for `query` (at least one, at most
/// [`MAX_RESULTS`]), leaving out `tool_search` itself and, when a `policy`
/// is given, every tool it denies: a search never reveals a tool the
/// policy would refuse.
///
/// ```
/// use rustchain_tools::search::find_tools;
/// use rustchain_tools::{Policy, Registry};
///
/// let policy = Policy::default();
/// let found = find_tools(Registry::global(), Some(&policy), "count words", 5, false);
/// assert!(found.len() <= 5);
/// assert!(found.windows(2).all(|pair| pair[0].score >= pair[1].score));
/// ```
pub fn find_tools(
    registry: &Registry,
    policy: Option<&Policy>,
    query: &str,
    limit: usize,
    include_schema: bool,
) -> Vec<FoundTool> {
    let limit = limit.clamp(1, MAX_RESULTS);
    discover(registry, &ToolQuery::text(query))
        .into_iter()
        .filter(|found| found.tool.name() != TOOL_SEARCH)
        .filter(|found| {
            policy.is_none_or(|policy| {
                policy.decide_tool(found.tool.descriptor()).verdict != Verdict::Deny
            })
        })
        .take(limit)
        .map(|found| FoundTool {
            name: found.tool.name().to_owned(),
            description: found.tool.descriptor().description.to_owned(),
            score: f64::from(found.score) / 1000.0,
            input_schema: include_schema.then(|| found.tool.input_schema().as_value().clone()),
        })
        .collect()
}

/// `tool_search` as a run-time tool, for a program that does not link the
/// built-in one: the MCP server registers it when it defers listing. It
/// searches the registry and policy of the executor that runs it.
///
/// ```
/// use rustchain_tools::Registry;
/// use rustchain_tools::search::{TOOL_SEARCH, search_tool};
///
/// let registry = Box::leak(Box::new(Registry::build([]).unwrap()));
/// registry.register_tool(search_tool()).expect("no other tool_search");
/// assert!(registry.get(TOOL_SEARCH).is_some());
/// ```
pub fn search_tool() -> Box<dyn ToolExecutor> {
    let spec = ToolSpec::new(
        TOOL_SEARCH,
        "Finds the tools that fit a request, best match first: describe what you want done in words, then call the tool found by its name. Only tools the policy lets run are returned.",
    )
    .input_schema(input_schema())
    .and_then(|spec| spec.output_schema(output_schema()))
    .expect("the schemas are fixed object schemas")
    .annotations(Annotations {
        read_only: Some(true),
        idempotent: Some(true),
        ..Annotations::NONE
    })
    .tags(["discovery"]);
    Box::new(FnTool::new(spec, run))
}

/// The arguments the built-in `tool_search` takes, as its macro derives them.
fn input_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "description": "What the tool should do, in plain words (\"count the words in a text\")."
            },
            "limit": {
                "type": ["integer", "null"],
                "format": "uint32",
                "minimum": 0,
                "description": "How many tools to return: 5 unless given, at most 50."
            },
            "include_schema": {
                "type": ["boolean", "null"],
                "description": "Also return each tool's input schema, to call it without another lookup."
            }
        },
        "required": ["query"],
        "additionalProperties": false
    })
}

fn output_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Vec<FoundTool>))
        .expect("a schema serializes to JSON")
}

/// The run-time tool's body: the arguments checked, then [`find_tools`]
/// under the running executor's policy.
fn run(ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Args {
        query: String,
        limit: Option<u32>,
        include_schema: Option<bool>,
    }
    let args: Args = serde_json::from_value(args)
        .map_err(|err| ToolError::new(ErrorKind::InvalidArguments, err.to_string()))?;
    let running = Running::of(ctx);
    let registry = running.map_or_else(Registry::global, |running| running.registry);
    let found = find_tools(
        registry,
        running.map(|running| running.policy),
        &args.query,
        args.limit.map_or(DEFAULT_RESULTS, |limit| limit as usize),
        args.include_schema.unwrap_or(false),
    );
    serde_json::to_value(found).map_err(|err| ToolError::new(ErrorKind::Failed, err.to_string()))
}
