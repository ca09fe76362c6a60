//! The manifests of `tools list --json`, `tools show --json` and
//! `tools search --json`, read back against the linked descriptors.

use serde_json::Value;

use super::{assert_all_tools, cli, names, tool};

// ---- manifests (`tools list --json`, `tools show --json`) ----

/// The descriptor of a linked tool, to compare the CLI's manifests against.
fn descriptor(name: &str) -> &'static rustchain::ToolDescriptor {
    rustchain::Registry::global()
        .get(name)
        .unwrap_or_else(|| panic!("{name} is linked"))
        .descriptor()
}

#[test]
fn list_json_reads_back_as_the_manifest_of_every_linked_tool() {
    let run = cli(&["tools", "list", "--json"]).expect_code(0);
    let manifest = rustchain::Manifest::from_json(&run.out)
        .unwrap_or_else(|err| panic!("{} ({}): {}", err, err.kind(), run.out));
    assert_eq!(manifest.format, rustchain::manifest::FORMAT);
    assert_eq!(
        manifest,
        rustchain::Manifest::of(rustchain::Registry::global())
    );
    let listed: Vec<&str> = manifest.tools.iter().map(|t| t.name.as_str()).collect();
    assert_all_tools(&listed);
    assert_eq!(manifest.tools.len(), rustchain::Registry::global().len());

    for tool in &manifest.tools {
        let d = descriptor(&tool.name);
        let permissions: Vec<(rustchain::PermissionKind, &str)> = tool
            .permissions
            .iter()
            .map(|p| (p.kind, p.param.as_str()))
            .collect();
        let declared: Vec<(rustchain::PermissionKind, &str)> =
            d.permissions.iter().map(|p| (p.kind, p.param)).collect();
        assert_eq!(permissions, declared, "{}", tool.name);
        assert_eq!(tool.annotations, d.annotations, "{}", tool.name);
        assert_eq!(tool.tags, d.tags, "{}", tool.name);
        assert_eq!(tool.source.crate_name, d.source.crate_name, "{}", tool.name);
        assert_eq!(
            tool.source.crate_version, d.source.crate_version,
            "{}",
            tool.name
        );
        assert_eq!(tool.is_async, d.invoke.is_async(), "{}", tool.name);
        assert_eq!(tool.timeout(), d.timeout, "{}", tool.name);
    }

    let fs_read = manifest.get("fs_read").expect("a built-in");
    assert_eq!(fs_read.permissions.len(), 1);
    assert_eq!(
        fs_read.permissions[0].kind,
        rustchain::PermissionKind::FsRead
    );
    assert_eq!(fs_read.permissions[0].param, "path");
    assert_eq!(fs_read.source.crate_name, "rustchain-builtin");
    assert_eq!(fs_read.annotations.read_only, Some(true));
}

#[test]
fn every_schema_digest_in_the_listing_is_the_digest_of_the_printed_schema() {
    let listing = cli(&["tools", "list", "--json"]).expect_code(0).json();
    let inputs = cli(&["tools", "schema", "--all"]).expect_code(0).json();
    let outputs = cli(&["tools", "schema", "--all", "--output"])
        .expect_code(0)
        .json();
    let digest = |schema: &Value| {
        let schema: schemars::Schema = serde_json::from_value(schema.clone()).expect("a schema");
        rustchain::manifest::schema_digest(&schema)
    };
    let tools = listing["tools"].as_array().expect("an array of tools");
    for tool in tools {
        let name = tool["name"].as_str().expect("a name");
        assert_eq!(tool["input_schema"], inputs[name], "{name}");
        assert_eq!(tool["output_schema"], outputs[name], "{name}");
        assert_eq!(tool["input_schema_digest"], digest(&inputs[name]), "{name}");
        assert_eq!(
            tool["output_schema_digest"],
            digest(&outputs[name]),
            "{name}"
        );
    }
    let distinct: std::collections::BTreeSet<&str> = tools
        .iter()
        .filter_map(|tool| tool["input_schema_digest"].as_str())
        .collect();
    assert!(
        distinct.len() > tools.len() / 2,
        "tools with different parameters have different digests: {distinct:?}"
    );
}

#[test]
fn list_json_compact_leaves_out_the_schemas_but_keeps_their_digests() {
    let full = cli(&["tools", "list", "--json"]).expect_code(0).json();
    let compact = cli(&["tools", "list", "--json", "--compact"])
        .expect_code(0)
        .json();
    assert_eq!(compact["format"], 1);
    assert_eq!(names(&compact["tools"]), names(&full["tools"]));
    let add = tool(&compact["tools"], "add");
    assert!(add.get("input_schema").is_none(), "{add}");
    assert!(add.get("output_schema").is_none(), "{add}");
    let mut without_schemas = tool(&full["tools"], "add").clone();
    if let Some(object) = without_schemas.as_object_mut() {
        object.remove("input_schema");
        object.remove("output_schema");
    }
    assert_eq!(add, &without_schemas);

    let text = cli(&["tools", "list", "--compact"]).expect_code(0);
    assert!(
        text.out.starts_with("NAME "),
        "without --json it is the table"
    );
}

#[test]
fn show_json_reads_back_as_one_tool_manifest() {
    let run = cli(&["tools", "show", "fs_write", "--json"]).expect_code(0);
    let manifest = rustchain::ToolManifest::from_json(&run.out)
        .unwrap_or_else(|err| panic!("{err}: {}", run.out));
    let tool = rustchain::Registry::global()
        .get("fs_write")
        .expect("a built-in");
    assert_eq!(manifest, rustchain::ToolManifest::of(tool));
    assert_eq!(&manifest.input_schema, tool.input_schema());
    assert!(
        manifest
            .permissions
            .iter()
            .any(|p| p.kind == rustchain::PermissionKind::FsWrite && p.param == "path"),
        "{:?}",
        manifest.permissions
    );

    // An edited schema no longer matches the digest the CLI printed.
    let mut edited = run.json();
    edited["input_schema"]["additionalProperties"] = true.into();
    let err = rustchain::ToolManifest::from_json(&edited.to_string()).expect_err("edited");
    assert_eq!(
        err.kind(),
        rustchain::manifest::ManifestErrorKind::DigestMismatch
    );
}

#[test]
fn search_json_lists_compact_manifests_with_a_score() {
    let found = cli(&["tools", "search", "add", "--json"])
        .expect_code(0)
        .json();
    let add = &found[0];
    assert_eq!(add["name"], "add");
    assert_eq!(add["format"], 1);
    assert!(
        add["score"].as_u64().is_some_and(|score| score > 0),
        "{add}"
    );
    assert!(add.get("input_schema").is_none(), "{add}");
    let listed = cli(&["tools", "list", "--json"]).json();
    assert_eq!(
        add["input_schema_digest"],
        tool(&listed["tools"], "add")["input_schema_digest"]
    );
}
