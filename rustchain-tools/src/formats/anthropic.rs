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

use serde_json::{Map, Value, json};

use super::calls::{self, CallFormatError, Provider, ToolCall, error_text, output_text};
use super::{parameters_of, walk};
use crate::{ToolError, ToolManifest, ToolOutput};

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
