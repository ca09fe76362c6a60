//! The `json-schema` format: the canonical input schema, unchanged.
//!
//! It is what the registry builds from the tool's signature: JSON Schema
//! 2020-12 (`$schema` names the dialect), an object with one described
//! property per parameter, every object closed unless it is a map, shared
//! types under `$defs`. Every other format is a transform of it.

use serde_json::Value;

use crate::ToolManifest;

/// The canonical input schema of `tool`.
///
/// ```
/// use rustchain_tools::{Registry, ToolManifest, formats::json_schema};
///
/// for tool in Registry::global().tools() {
///     let manifest = ToolManifest::of(tool);
///     assert_eq!(&json_schema::definition(&manifest), tool.input_schema().as_value());
/// }
/// ```
pub fn definition(tool: &ToolManifest) -> Value {
    tool.input_schema.as_value().clone()
}
