//! Anthropic Messages API tools (`anthropic`) and `tool_use` blocks.
//!
//! Definitions, as the Messages API and the `anthropic` SDK's `ToolParam`
//! give them: `{"name", "description", "input_schema"}`.
//!
//! - `name` matches `^[a-zA-Z0-9_-]{1,128}$`, which every tool name does.
//! - `input_schema` is a JSON Schema object (root `type: "object"`), here
//!   the input schema without `$schema`, and:
//!   - nullable values as `anyOf` rather than type lists: every
//!     `"type": [..., "null"]` becomes an `anyOf` with one branch per type,
//!     each with the keywords that apply to it. The SDK's `transform_schema`
//!     (what it applies to schemas for strict tools and structured outputs)
//!     refuses type lists outright.
//!   - a value of any type (a `serde_json::Value`, written `true` or with
//!     only a description) becomes an `anyOf` of the six JSON types, since
//!     the same transform refuses a schema that names no type. A map's
//!     `additionalProperties: true` keeps its meaning and its form.
//!   - everything else is kept (Anthropic reads full JSON Schema in
//!     `input_schema`).
//!
//! Tool calls are `{"type": "tool_use", "id", "name", "input"}` content
//! blocks whose `input` is an object. Results are `{"type": "tool_result",
//! "tool_use_id", "content"}` blocks, with `"is_error": true` when the call
//! failed (the SDK's `ToolResultBlockParam`).
//!
//! A request with many tools can defer them ([`deferred_definitions`]):
//! every tool but the always-loaded ones carries `defer_loading: true`, and
//! Anthropic's own tool-search server tool ([`ToolSearch`]: BM25 or regex,
//! the `tool_search_tool_*_20251119` types of the SDK's `ToolUnionParam`)
//! comes last, so the model loads a definition only once its search finds
//! the tool.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value, json};

use super::calls::{self, CallFormatError, Provider, ToolCall, error_text, output_text};
use super::{parameters_of, walk};
use crate::policy::Discovery;
use crate::{Manifest, ToolError, ToolManifest, ToolOutput};

/// The Anthropic tool definition of `tool`.
///
/// ```
/// use rustchain_tools::formats::anthropic;
/// use rustchain_tools::{Registry, ToolManifest};
///
/// for tool in Registry::global().tools() {
///     let definition = anthropic::definition(&ToolManifest::of(tool));
///     assert_eq!(definition["input_schema"]["type"], "object");
/// }
/// ```
pub fn definition(tool: &ToolManifest) -> Value {
    json!({
        "name": tool.name,
        "description": tool.description,
        "input_schema": input_schema(parameters_of(tool)),
    })
}

/// Anthropic's server-side tool search, which finds deferred tools for the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ToolSearch {
    /// Natural-language queries ranked by BM25 (`tool_search_tool_bm25_20251119`).
    #[default]
    Bm25,
    /// Regular expressions the model writes (`tool_search_tool_regex_20251119`).
    Regex,
}

impl ToolSearch {
    /// The server tool's `type`, versioned.
    pub const fn tool_type(self) -> &'static str {
        match self {
            ToolSearch::Bm25 => "tool_search_tool_bm25_20251119",
            ToolSearch::Regex => "tool_search_tool_regex_20251119",
        }
    }

    /// The server tool's `name`, which the API fixes.
    pub const fn name(self) -> &'static str {
        match self {
            ToolSearch::Bm25 => "tool_search_tool_bm25",
            ToolSearch::Regex => "tool_search_tool_regex",
        }
    }

    /// Its entry in a request's `tools`.
    ///
    /// ```
    /// use rustchain_tools::formats::anthropic::ToolSearch;
    ///
    /// assert_eq!(
    ///     ToolSearch::Regex.definition(),
    ///     serde_json::json!({"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"})
    /// );
    /// ```
    pub fn definition(self) -> Value {
        json!({"type": self.tool_type(), "name": self.name()})
    }
}

impl fmt::Display for ToolSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ToolSearch::Bm25 => "bm25",
            ToolSearch::Regex => "regex",
        })
    }
}

impl FromStr for ToolSearch {
    type Err = String;

    /// `bm25` or `regex`.
    fn from_str(name: &str) -> Result<ToolSearch, String> {
        match name {
            "bm25" => Ok(ToolSearch::Bm25),
            "regex" => Ok(ToolSearch::Regex),
            other => Err(format!(
                "unknown tool search `{other}`; Anthropic's are bm25 and regex"
            )),
        }
    }
}

/// The Anthropic definitions of every tool in `manifest` for a request
/// that defers them: each tool `discovery` does not load from the start
/// carries `defer_loading: true`, and `search`'s server tool comes last.
///
/// ```
/// use rustchain_tools::formats::anthropic::{ToolSearch, deferred_definitions};
/// use rustchain_tools::policy::Discovery;
/// use rustchain_tools::{Manifest, Registry};
///
/// let discovery = Discovery::deferred(["text_*"]).expect("valid globs");
/// let tools = deferred_definitions(&Manifest::of(Registry::global()), &discovery, ToolSearch::Bm25);
/// let search = tools.last().expect("the search tool at least");
/// assert_eq!(search["type"], "tool_search_tool_bm25_20251119");
/// for tool in &tools[..tools.len() - 1] {
///     let always = tool["name"].as_str().is_some_and(|name| name.starts_with("text_"));
///     assert_eq!(tool.get("defer_loading").is_some(), !always);
/// }
/// ```
pub fn deferred_definitions(
    manifest: &Manifest,
    discovery: &Discovery,
    search: ToolSearch,
) -> Vec<Value> {
    manifest
        .tools
        .iter()
        .map(|tool| {
            let mut definition = definition(tool);
            if !discovery.always_loaded(&tool.name)
                && let Value::Object(fields) = &mut definition
            {
                fields.insert("defer_loading".into(), Value::Bool(true));
            }
            definition
        })
        .chain(std::iter::once(search.definition()))
        .collect()
}

/// `parameters` with type lists as `anyOf` and untyped values typed.
fn input_schema(mut parameters: Value) -> Value {
    walk::post_order(&mut parameters, "", &mut |node, path| {
        // `additionalProperties: true` says "any extra key", not "any value here".
        if node == &Value::Bool(true) && !path.ends_with("/additionalProperties") {
            *node = Value::Object(Map::new());
        }
        if let Value::Object(object) = node
            && !walk::is_typed(object)
            && !path.ends_with("/additionalProperties")
        {
            let any: Vec<Value> = ["object", "array", "string", "number", "boolean", "null"]
                .iter()
                .map(|ty| json!({"type": ty}))
                .collect();
            object.insert("anyOf".into(), Value::Array(any));
        }
        walk::split_type_list(node, |_| true);
    });
    parameters
}

const TOOL_USE: &str = "an Anthropic tool_use block";

/// One `tool_use` content block.
pub(crate) fn parse_call(item: &Value) -> Result<ToolCall, CallFormatError> {
    let block = calls::object(item, TOOL_USE)?;
    calls::expect_type(block, "tool_use", TOOL_USE)?;
    Ok(ToolCall {
        id: Some(calls::string_field(block, "id", TOOL_USE)?),
        name: calls::string_field(block, "name", TOOL_USE)?,
        arguments: calls::arguments_text(block.get("input")),
    })
}

/// The `tool_use` blocks of an assistant message or of its `content` list.
pub(crate) fn calls_in(turn: &Value) -> Result<Vec<ToolCall>, CallFormatError> {
    let blocks = match turn {
        Value::Object(message) => match message.get("content") {
            // A plain-text message has no tool calls.
            None | Some(Value::String(_)) => return Ok(Vec::new()),
            Some(content) => calls::list(content, "the `content` of an Anthropic message")?,
        },
        other => calls::list(other, "an Anthropic message's content")?,
    };
    blocks
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("tool_use"))
        .map(parse_call)
        .collect()
}

/// The `tool_result` block that answers a `tool_use` block.
pub(crate) fn result(
    call: &ToolCall,
    outcome: &Result<ToolOutput, ToolError>,
) -> Result<Value, CallFormatError> {
    let id = calls::required_id(call, Provider::Anthropic)?;
    Ok(match outcome {
        Ok(output) => {
            json!({"type": "tool_result", "tool_use_id": id, "content": output_text(output)})
        }
        Err(err) => json!({
            "type": "tool_result", "tool_use_id": id, "content": error_text(err), "is_error": true
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::input_schema;
    use serde_json::json;

    #[test]
    fn nullable_values_are_any_of_and_untyped_ones_get_every_type() {
        let schema = input_schema(json!({
            "type": "object",
            "properties": {
                "n": {"type": ["integer", "null"], "minimum": 0, "description": "N."},
                "json": {"description": "Any JSON."},
                "free": {"type": "object", "additionalProperties": true},
                "list": {"type": "array", "items": true}
            }
        }));
        let properties = &schema["properties"];
        assert_eq!(
            properties["n"],
            json!({"description": "N.", "anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]})
        );
        assert_eq!(
            properties["json"]["anyOf"].as_array().map(Vec::len),
            Some(6)
        );
        assert_eq!(properties["json"]["description"], "Any JSON.");
        assert_eq!(properties["free"]["additionalProperties"], true);
        assert_eq!(
            properties["list"]["items"]["anyOf"]
                .as_array()
                .map(Vec::len),
            Some(6)
        );
    }
}
