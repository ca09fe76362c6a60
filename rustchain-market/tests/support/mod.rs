//! Packages and indexes for the tests.

#![allow(dead_code)]

use rustchain_market::{CrateMetadata, Package, PackageTool, Quality, TestOutcome};
use rustchain_tools::manifest::schema_digest;
use rustchain_tools::{Manifest, ToolManifest};
use serde_json::{Value, json};

/// A tool manifest: `name` with the given input schema properties (all
/// required unless listed in `optional`), output schema `output`, and
/// permissions (`[{"kind": "net", "param": "url"}]`).
pub fn tool(
    name: &str,
    properties: Value,
    optional: &[&str],
    output: Value,
    permissions: Value,
) -> ToolManifest {
    let required: Vec<&String> = properties
        .as_object()
        .expect("properties are an object")
        .keys()
        .filter(|key| !optional.contains(&key.as_str()))
        .collect();
    let params: Vec<Value> = properties
        .as_object()
        .expect("an object")
        .iter()
        .map(|(key, schema)| json!({"name": key, "description": schema["description"].as_str().unwrap_or(""), "required": !optional.contains(&key.as_str())}))
        .collect();
    let mut manifest: ToolManifest = serde_json::from_value(json!({
        "format": 1, "name": name, "title": null, "description": format!("Does {name}."),
        "annotations": {}, "tags": ["text"], "params": params, "permissions": permissions,
        "timeout_ms": null, "async": false,
        "source": {"crate": "t", "version": "0.1.0", "module": "t", "file": "src/lib.rs", "line": 1},
        "input_schema": {"type": "object", "properties": properties, "required": required, "additionalProperties": false},
        "input_schema_digest": "", "output_schema": output, "output_schema_digest": ""
    }))
    .expect("a tool manifest");
    manifest.input_schema_digest = schema_digest(&manifest.input_schema);
    manifest.output_schema_digest = schema_digest(&manifest.output_schema);
    manifest
}

/// A one-parameter pure tool: `text: string` to a string.
pub fn simple(name: &str) -> ToolManifest {
    tool(
        name,
        json!({"text": {"type": "string", "description": "The text."}}),
        &[],
        json!({"type": "string"}),
        json!([]),
    )
}

/// Package `name` at `version` of `tools`.
pub fn package(name: &str, version: &str, tools: Vec<ToolManifest>) -> Package {
    let manifest = Manifest::new(tools);
    Package {
        metadata: CrateMetadata {
            name: name.to_owned(),
            version: version.to_owned(),
            description: Some(format!("The {name} tools.")),
            license: Some("MIT".to_owned()),
            authors: vec![],
            repository: None,
        },
        tools: manifest.tools.iter().map(PackageTool::of).collect(),
        quality: Quality::of(&manifest, TestOutcome::NotRun),
    }
}
