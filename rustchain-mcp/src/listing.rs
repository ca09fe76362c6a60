//! `tools/list`: the tools a client may call, as MCP describes them.
//!
//! Built once per server, when first needed (not at start-up, so the first
//! reply does not wait for every tool's schema), from the registry's tools
//! as their manifests describe them: every tool the policy
//! does not deny (tools it asks about are listed; a person approves each
//! call), in name order, so pages and their cursors are stable. A cursor is
//! the last name of the page before, hex-encoded: opaque to the client, and
//! still meaningful if the server restarts with another tool set.
//!
//! A server that defers (`[discovery] defer = true`, `mcp serve --defer`)
//! shows a subset of the same list: the always-loaded tools, `tool_search`,
//! and the tools a search found in this session. The subset is taken from
//! the policy-filtered list, so deferral can hide a tool but never show
//! one the policy denies.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use rustchain_tools::policy::{Discovery, Verdict};
use rustchain_tools::search::TOOL_SEARCH;
use rustchain_tools::{Annotations, Executor, Tool as LinkedTool};
use serde_json::{Map, Value, json};

/// The property that carries a non-object result where a revision requires
/// an object (`{"result": 42}`).
pub(crate) const WRAPPED_RESULT: &str = "result";

/// One listed tool, in both shapes the revisions need.
struct Entry {
    /// For the 2026-07-28 revision: the output schema as the tool declares it.
    tool: Tool,
    /// For the handshake revisions, whose `outputSchema` must be an object:
    /// a non-object output is described wrapped in `{"result": ...}`.
    legacy: Tool,
    /// Whether the output is wrapped for the handshake revisions.
    wraps_output: bool,
    /// Whether a deferring server lists it from the start.
    always_loaded: bool,
}

/// Every tool the policy lets a client see, in name order.
pub(crate) struct Listing {
    entries: Vec<Entry>,
}

/// The page after the tools a cursor names.
pub(crate) struct Page {
    pub(crate) tools: Vec<Tool>,
    pub(crate) next_cursor: Option<String>,
}

/// A cursor this server did not hand out.
#[derive(Debug)]
pub(crate) struct BadCursor;

impl Listing {
    /// The tools `executor`'s policy does not deny; those `discovery` loads
    /// from the start (and `tool_search`) marked as always loaded.
    pub(crate) fn of(executor: &Executor, discovery: &Discovery) -> Listing {
        let policy = executor.policy();
        let mut entries: Vec<Entry> = executor
            .registry()
            .tools()
            .filter(|tool| policy.decide_tool(tool.descriptor()).verdict != Verdict::Deny)
            .map(|tool| {
                let name = tool.name();
                let always = name == TOOL_SEARCH || discovery.always_loaded(name);
                entry(tool, always)
            })
            .collect();
        entries.sort_by(|a, b| a.tool.name.cmp(&b.tool.name));
        Listing { entries }
    }

    /// Whether `name` is listed and its output is wrapped for the handshake revisions.
    pub(crate) fn wraps_output(&self, name: &str) -> bool {
        self.find(name)
            .is_ok_and(|at| self.entries[at].wraps_output)
    }

    /// Whether `name` is listed (the policy does not deny it).
    pub(crate) fn lists(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Whether `name` is listed from the start by a deferring server.
    pub(crate) fn always_loaded(&self, name: &str) -> bool {
        self.find(name)
            .is_ok_and(|at| self.entries[at].always_loaded)
    }

    /// Up to `size` of the tools `shown` keeps, after `cursor` (from the
    /// first without one), in the shape `legacy` or the 2026-07-28
    /// revision wants.
    pub(crate) fn page(
        &self,
        cursor: Option<&str>,
        size: usize,
        legacy: bool,
        shown: impl Fn(&str, bool) -> bool,
    ) -> Result<Page, BadCursor> {
        let start = match cursor {
            None => 0,
            Some(cursor) => {
                let after = decode_cursor(cursor).ok_or(BadCursor)?;
                // The first name after the cursor's, whether or not that one is still listed.
                self.find(&after).map_or_else(|at| at, |at| at + 1)
            }
        };
        let mut visible = self.entries[start..]
            .iter()
            .filter(|entry| shown(&entry.tool.name, entry.always_loaded));
        let page: Vec<&Entry> = visible.by_ref().take(size.max(1)).collect();
        let more = visible.next().is_some();
        let next_cursor = page
            .last()
            .filter(|_| more)
            .map(|last| encode_cursor(&last.tool.name));
        let tools = page
            .into_iter()
            .map(|entry| {
                if legacy {
                    entry.legacy.clone()
                } else {
                    entry.tool.clone()
                }
            })
            .collect();
        Ok(Page { tools, next_cursor })
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|entry| entry.tool.name.as_ref().cmp(name))
    }
}

/// The entry of `linked`: what its manifest ([`rustchain_tools::ToolManifest`])
/// says of it, read from the tool itself (the manifest's schema digests,
/// parameters and source are not listed, so not computed).
fn entry(linked: LinkedTool<'_>, always_loaded: bool) -> Entry {
    let descriptor = linked.descriptor();
    let input = object_or_empty(linked.input_schema().as_value());
    let output = object_or_empty(linked.output_schema().as_value());
    let wraps_output = output.get("type") != Some(&Value::from("object"));
    let mut tool = Tool::new_with_raw(
        descriptor.name.to_owned(),
        Some(descriptor.description.to_owned().into()),
        Arc::new(input),
    );
    if let Some(title) = descriptor.title {
        tool = tool.with_title(title.to_owned());
    }
    if descriptor.annotations != Annotations::NONE || descriptor.title.is_some() {
        tool = tool.with_annotations(annotations(descriptor.annotations, descriptor.title));
    }
    let legacy_output = if wraps_output {
        wrapped(&output)
    } else {
        output.clone()
    };
    Entry {
        legacy: tool.clone().with_raw_output_schema(Arc::new(legacy_output)),
        tool: tool.with_raw_output_schema(Arc::new(output)),
        wraps_output,
        always_loaded,
    }
}

/// A schema as an object: the `true` schema (any value) is `{}`.
fn object_or_empty(schema: &Value) -> JsonObject {
    match schema {
        Value::Object(object) => object.clone(),
        _ => JsonObject::new(),
    }
}

/// `{"type": "object", "properties": {"result": schema}, ...}`, with the
/// dialect and the definitions kept at the root, where `$ref`s point.
pub(crate) fn wrapped(schema: &JsonObject) -> JsonObject {
    let mut inner = schema.clone();
    let dialect = inner.remove("$schema");
    let definitions = inner.remove("$defs");
    let mut root = Map::new();
    if let Some(dialect) = dialect {
        root.insert("$schema".into(), dialect);
    }
    root.insert("type".into(), "object".into());
    root.insert(
        "properties".into(),
        json!({ WRAPPED_RESULT: Value::Object(inner) }),
    );
    root.insert("required".into(), json!([WRAPPED_RESULT]));
    root.insert("additionalProperties".into(), false.into());
    if let Some(definitions) = definitions {
        root.insert("$defs".into(), definitions);
    }
    root
}

/// The tool's hints; the title is repeated here for clients older than
/// 2025-06-18, which read it only from the annotations.
fn annotations(hints: Annotations, title: Option<&str>) -> ToolAnnotations {
    ToolAnnotations::from_raw(
        title.map(str::to_owned),
        hints.read_only,
        hints.destructive,
        hints.idempotent,
        hints.open_world,
    )
}

fn encode_cursor(name: &str) -> String {
    name.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Option<String> {
    if !cursor.len().is_multiple_of(2) || cursor.len() > 256 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(cursor.get(at..at + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_foreign_text_is_refused() {
        let cursor = encode_cursor("fs_read");
        assert_eq!(decode_cursor(&cursor).as_deref(), Some("fs_read"));
        for foreign in ["xyz", "abc", "zz", "ff", "Ω0"] {
            assert_eq!(decode_cursor(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn a_wrapped_schema_keeps_its_definitions_at_the_root() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "array",
            "items": {"$ref": "#/$defs/Point"},
            "$defs": {"Point": {"type": "object"}}
        });
        let wrapped = Value::Object(wrapped(schema.as_object().expect("an object")));
        assert_eq!(wrapped["type"], "object");
        assert_eq!(wrapped["required"], json!(["result"]));
        assert_eq!(
            wrapped["properties"]["result"],
            json!({"type": "array", "items": {"$ref": "#/$defs/Point"}})
        );
        assert_eq!(wrapped["$defs"]["Point"]["type"], "object");
        assert_eq!(
            wrapped["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
    }
}
