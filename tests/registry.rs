//! The registry: what is linked, in what order, and how names are found.

use my_tools as _;
use rustchain::search::discover;
use rustchain::{
    Annotations, Invoke, ParamInfo, Registry, SourceLocation, ToolContext, ToolDescriptor,
    ToolError, ToolOutput, ToolQuery,
};
use rustchain_builtin as _;

#[test]
fn linked_tools_are_found_by_exact_name() {
    let registry = Registry::global();
    let add = registry
        .get("add")
        .expect("`add` is linked through `use my_tools as _`");
    assert_eq!(add.name(), "add");
    assert!(registry.get("Add").is_none());
    assert!(registry.get("add ").is_none());
    assert!(registry.get("").is_none());
    assert!(registry.get("text_stats").is_some());
}

#[test]
fn iteration_is_ordered_by_name() {
    let names: Vec<&str> = Registry::global().tools().map(|t| t.name()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let examples: Vec<&str> = Registry::global()
        .tools()
        .filter(|t| t.descriptor().source.crate_name == "my-tools")
        .map(|t| t.name())
        .collect();
    assert_eq!(
        examples,
        [
            "add",
            "get_weather",
            "path_length",
            "read_note",
            "slow_echo"
        ]
    );
    assert!(
        names.contains(&"text_stats") && names.contains(&"time_now"),
        "{names:?}"
    );
}

#[test]
fn a_descriptor_records_where_the_tool_was_defined_and_what_it_declared() {
    let descriptor = Registry::global().get("get_weather").unwrap().descriptor();
    assert_eq!(descriptor.source.crate_name, "my-tools");
    assert_eq!(descriptor.source.crate_version, "0.1.0");
    assert!(
        descriptor.source.file.ends_with("my-tools/src/lib.rs"),
        "{}",
        descriptor.source.file
    );
    assert_eq!(descriptor.source.module_path, "my_tools");
    assert!(descriptor.source.line > 1);
    assert_eq!(descriptor.annotations.read_only, Some(true));
    assert_eq!(descriptor.annotations.open_world, Some(true));
    assert_eq!(descriptor.annotations.destructive, None);
    assert_eq!(descriptor.tags, ["weather"]);
    assert!(descriptor.permissions.is_empty());
    assert!(!descriptor.invoke.is_async());

    let slow = Registry::global().get("slow_echo").unwrap().descriptor();
    assert!(slow.invoke.is_async());
    assert_eq!(slow.timeout, Some(std::time::Duration::from_secs(2)));
}

fn empty_schema() -> rustchain::__private::Schema {
    rustchain::__private::Schema::default()
}

fn empty_input_schema(_: &'static [ParamInfo]) -> rustchain::__private::Schema {
    empty_schema()
}

fn nothing(_: &ToolContext, _: &str) -> Result<ToolOutput, ToolError> {
    ToolOutput::encode(&())
}

fn descriptor(name: &'static str, file: &'static str, line: u32) -> ToolDescriptor {
    static PARAMS: [ParamInfo; 0] = [];
    ToolDescriptor {
        name,
        title: None,
        description: "A hand-written test tool.",
        annotations: Annotations::NONE,
        tags: &[],
        permissions: &[],
        timeout: None,
        params: &PARAMS,
        source: SourceLocation {
            crate_name: "tests",
            crate_version: "0.0.0",
            module_path: "registry",
            file,
            line,
        },
        input_schema: empty_input_schema,
        output_schema: empty_schema,
        invoke: Invoke::Sync(nothing),
    }
}

#[test]
fn two_tools_with_one_name_are_refused_naming_both_definitions() {
    let tools: &'static [ToolDescriptor] = Box::leak(Box::new([
        descriptor("search", "crate_a/src/lib.rs", 10),
        descriptor("other", "crate_c/src/lib.rs", 1),
        descriptor("search", "crate_b/src/lib.rs", 20),
    ]));
    let err = Registry::build(tools.iter()).unwrap_err();
    assert_eq!(err.name, "search");
    let message = err.to_string();
    assert!(message.contains("crate_a/src/lib.rs:10"), "{message}");
    assert!(message.contains("crate_b/src/lib.rs:20"), "{message}");
    assert!(message.contains("rename one"), "{message}");
}

#[test]
fn a_registry_of_a_hundred_thousand_tools_finds_each_one() {
    let names: Vec<&'static str> = (0..100_000)
        .map(|i| &*Box::leak(format!("tool_{i:06}").into_boxed_str()))
        .collect();
    let tools: &'static [ToolDescriptor] = Box::leak(
        names
            .iter()
            .rev()
            .map(|name| descriptor(name, "gen.rs", 1))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let registry = Registry::build(tools.iter()).unwrap();
    assert_eq!(registry.len(), 100_000);
    for name in &names {
        assert_eq!(registry.get(name).map(|t| t.name()), Some(*name));
    }
    assert!(registry.get("tool_100000").is_none());
    assert!(registry.get("tool_").is_none());
    let first: Vec<&str> = registry.tools().take(2).map(|t| t.name()).collect();
    assert_eq!(first, ["tool_000000", "tool_000001"]);
}

#[test]
fn an_empty_registry_finds_nothing() {
    let registry = Registry::build(std::iter::empty()).unwrap();
    assert!(registry.is_empty());
    assert!(registry.get("add").is_none());
}

#[test]
fn discover_ranks_name_matches_first_and_ties_by_name() {
    let registry = Registry::global();
    let found: Vec<&str> = discover(registry, &ToolQuery::text("add"))
        .iter()
        .map(|m| m.tool.name())
        .collect();
    assert_eq!(found.first(), Some(&"add"), "{found:?}");

    let math: Vec<&str> = discover(registry, &ToolQuery::default().with_tag("math"))
        .iter()
        .map(|m| m.tool.name())
        .collect();
    assert_eq!(math, ["add", "path_length"]);

    let weather = discover(registry, &ToolQuery::text("weather city"));
    assert_eq!(weather[0].tool.name(), "get_weather");

    assert!(discover(registry, &ToolQuery::text("zebra")).is_empty());
}

#[test]
fn discover_filters_by_annotation_and_limit() {
    let registry = Registry::global();
    let read_only = discover(registry, &ToolQuery::default().read_only(true));
    assert!(
        read_only
            .iter()
            .all(|m| m.tool.descriptor().annotations.read_only == Some(true))
    );
    assert!(read_only.iter().any(|m| m.tool.name() == "add"));
    assert!(!read_only.iter().any(|m| m.tool.name() == "slow_echo"));

    let limited = discover(
        registry,
        &ToolQuery {
            limit: Some(2),
            ..ToolQuery::default()
        },
    );
    assert_eq!(limited.len(), 2);
    let again = discover(
        registry,
        &ToolQuery {
            limit: Some(2),
            ..ToolQuery::default()
        },
    );
    let names = |found: &[rustchain::ToolMatch<'_>]| {
        found.iter().map(|m| m.tool.name()).collect::<Vec<_>>()
    };
    assert_eq!(names(&limited), names(&again), "results are deterministic");
}

// ---- ranked search (rustchain::search) ----

fn first_found(query: &str) -> Option<&'static str> {
    discover(Registry::global(), &ToolQuery::text(query))
        .first()
        .map(|found| found.tool.name())
}

#[test]
fn requests_written_as_people_write_them_find_the_tool() {
    for (query, tool) in [
        ("statistics", "text_stats"),
        ("how many words are in this text?", "text_stats"),
        ("What time is it now?", "time_now"),
        ("delete a file", "fs_delete"),
        ("run a program", "cmd_run"),
        ("list the files in a folder", "fs_list"),
        ("send an HTTP request", "http_request"),
        ("the weather in Oslo", "get_weather"),
        ("search file contents for text", "fs_search"),
    ] {
        assert_eq!(first_found(query), Some(tool), "{query:?}");
    }
}

#[test]
fn a_typo_still_finds_the_tool_and_filters_still_filter() {
    assert_eq!(first_found("wether"), Some("get_weather"));
    assert_eq!(first_found("delte file"), Some("fs_delete"));
    let read_only = discover(
        Registry::global(),
        &ToolQuery::text("delete a file").read_only(true),
    );
    assert!(
        read_only.iter().all(|m| m.tool.name() != "fs_delete"),
        "{:?}",
        read_only.iter().map(|m| m.tool.name()).collect::<Vec<_>>()
    );
    let fs_only = discover(Registry::global(), &ToolQuery::text("text").with_tag("fs"));
    assert!(
        fs_only
            .iter()
            .all(|m| m.tool.descriptor().tags.contains(&"fs"))
    );
    assert!(!fs_only.is_empty());
}
