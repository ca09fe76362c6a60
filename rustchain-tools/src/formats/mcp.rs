//! The MCP `Tool` object (`mcp`), as `tools/list` lists a tool.
//!
//! From the MCP specification (2025-06-18 and later) and the Python SDK's
//! `mcp.types.Tool`: `{"name", "title"?, "description", "inputSchema",
//! "outputSchema"?, "annotations"?}`.
//!
//! - `inputSchema` is the canonical input schema as it is: MCP's default
//!   dialect is JSON Schema 2020-12, its root is an object, and `$schema`
//!   may name the dialect.
//! - `outputSchema` must describe an object too, since `structuredContent`
//!   is one. An output schema whose root is an object is given as it is;
//!   any other output (a number, a string, a list) is wrapped as
//!   `{"result": VALUE}`, and the schema says so ([`wraps_output`],
//!   [`structured_content`]), with its `$defs` kept at the root.
//! - `annotations` holds the tool's hints (`readOnlyHint`,
//!   `destructiveHint`, `idempotentHint`, `openWorldHint`), left out when
//!   the author gave none; `title` is the tool's own, at the top level.

use serde_json::{Map, Value, json};

use crate::ToolManifest;

/// The key a non-object output is wrapped under in `structuredContent`.
pub const RESULT_KEY: &str = "result";

/// The MCP `Tool` object of `tool`.
///
/// ```
/// use rustchain_tools::formats::mcp;
/// use rustchain_tools::{Registry, ToolManifest};
///
/// for tool in Registry::global().tools() {
///     let listed = mcp::definition(&ToolManifest::of(tool));
///     assert_eq!(listed["inputSchema"]["type"], "object");
///     assert_eq!(listed["outputSchema"]["type"], "object");
/// }
/// ```
pub fn definition(tool: &ToolManifest) -> Value {
    let mut listed = Map::new();
    listed.insert("name".into(), tool.name.clone().into());
    if let Some(title) = &tool.title {
        listed.insert("title".into(), title.clone().into());
    }
    listed.insert("description".into(), tool.description.clone().into());
    listed.insert("inputSchema".into(), tool.input_schema.as_value().clone());
    listed.insert("outputSchema".into(), output_schema(tool));
    let annotations = serde_json::to_value(tool.annotations)
        .expect("annotations are four optional booleans, always JSON");
    if annotations
        .as_object()
        .is_some_and(|hints| !hints.is_empty())
    {
        listed.insert("annotations".into(), annotations);
    }
    Value::Object(listed)
}

/// Whether `tool`'s output is wrapped as `{"result": VALUE}` in
/// `structuredContent`: it is whenever its schema's root is not an object.
pub fn wraps_output(tool: &ToolManifest) -> bool {
    tool.output_schema
        .as_value()
        .get("type")
        .and_then(Value::as_str)
        != Some("object")
}

/// The `structuredContent` of an output `value` of `tool`: the value
/// itself, or `{"result": value}` when [`wraps_output`].
///
/// ```
/// use rustchain_tools::formats::mcp;
/// use rustchain_tools::{Registry, ToolManifest};
///
/// if let Some(tool) = Registry::global().tools().find(|tool| tool.output_schema().get("type") != Some(&"object".into())) {
///     let manifest = ToolManifest::of(tool);
///     assert_eq!(mcp::structured_content(&manifest, 3.into()), serde_json::json!({"result": 3}));
/// }
/// ```
pub fn structured_content(tool: &ToolManifest, value: Value) -> Value {
    if wraps_output(tool) {
        json!({ RESULT_KEY: value })
    } else {
        value
    }
}

/// The output schema as an object schema, wrapped when [`wraps_output`].
fn output_schema(tool: &ToolManifest) -> Value {
    let schema = tool.output_schema.as_value().clone();
    if !wraps_output(tool) {
        return schema;
    }
    let mut inner = match schema {
        Value::Object(inner) => inner,
        // `true`: any value at all.
        other => return wrapper(Map::new(), other),
    };
    let dialect = inner.shift_remove("$schema");
    // References point at `#/$defs/...`, so the definitions stay at the root.
    let definitions = inner.shift_remove("$defs");
    let mut root = Map::new();
    if let Some(dialect) = dialect {
        root.insert("$schema".into(), dialect);
    }
    if let Some(definitions) = definitions {
        root.insert("$defs".into(), definitions);
    }
    wrapper(root, Value::Object(inner))
}

fn wrapper(mut root: Map<String, Value>, inner: Value) -> Value {
    root.insert("type".into(), "object".into());
    root.insert("properties".into(), json!({ RESULT_KEY: inner }));
    root.insert("required".into(), json!([RESULT_KEY]));
    root.insert("additionalProperties".into(), false.into());
    Value::Object(root)
}
