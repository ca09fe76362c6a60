//! `tools schema --format`: provider definitions from the command line, the
//! same as the library gives, with warnings on stderr.

use rustchain::formats::anthropic::{ToolSearch, deferred_definitions};
use rustchain::formats::{Format, FormatOptions, tool_definition};
use rustchain::policy::Discovery;
use rustchain::{Manifest, Registry, ToolManifest};
use serde_json::Value;

use super::cli;

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON on stdout")
}

#[test]
fn one_tool_in_each_format_is_what_the_library_gives() {
    let manifest = ToolManifest::of(Registry::global().get("get_weather").expect("linked"));
    for format in Format::ALL {
        let run = cli(&[
            "tools",
            "schema",
            "get_weather",
            "--format",
            format.as_str(),
        ]);
        assert_eq!(
            run.code,
            std::process::ExitCode::SUCCESS,
            "{format}: {}",
            run.err
        );
        let expected = tool_definition(&manifest, format, &FormatOptions::default()).value;
        assert_eq!(json(&run.out), expected, "{format}");
    }
}

#[test]
fn all_tools_are_a_list_with_a_warning_for_each_tool_that_cannot_be_strict() {
    let run = cli(&[
        "tools",
        "schema",
        "--all",
        "--format",
        "openai-strict",
        "--responses",
    ]);
    assert_eq!(run.code, std::process::ExitCode::SUCCESS, "{}", run.err);
    let listed = json(&run.out);
    let names: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|tool| {
            tool["name"]
                .as_str()
                .expect("a flat Responses tool has a name")
        })
        .collect();
    super::assert_all_tools(&names);
    let not_strict: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .filter(|tool| tool["strict"] == false)
        .map(|tool| tool["name"].as_str().unwrap_or_default())
        .collect();
    assert!(not_strict.contains(&"http_request"), "{not_strict:?}");
    for name in &not_strict {
        assert!(
            run.err
                .contains(&format!("warning: `{name}`: cannot be strict")),
            "{name}: {}",
            run.err
        );
    }
    assert_eq!(run.err.lines().count(), not_strict.len(), "{}", run.err);
}

#[test]
fn flags_that_do_not_fit_the_format_and_unknown_formats_are_usage_errors() {
    for args in [
        &["tools", "schema", "add", "--format", "openai", "--output"][..],
        &[
            "tools",
            "schema",
            "add",
            "--format",
            "anthropic",
            "--responses",
        ],
        &["tools", "schema", "add", "--format", "openai", "--openapi"],
        &["tools", "schema", "add", "--format", "openapi"],
    ] {
        let run = cli(args);
        assert_eq!(run.code, std::process::ExitCode::from(2), "{args:?}");
        assert!(run.out.is_empty(), "{args:?}: {}", run.out);
        assert!(run.err.contains("error"), "{args:?}: {}", run.err);
    }
    let run = cli(&["tools", "schema", "add", "--format", "gemini", "--openapi"]);
    assert_eq!(json(&run.out)["parameters"]["type"], "OBJECT");
}

#[test]
fn deferred_anthropic_tools_are_what_the_library_gives() {
    let run = cli(&[
        "tools",
        "schema",
        "--all",
        "--format",
        "anthropic",
        "--defer",
        "--always",
        "text_*",
        "--tool-search",
        "regex",
    ]);
    assert_eq!(run.code, std::process::ExitCode::SUCCESS, "{}", run.err);
    let discovery = Discovery::deferred(["text_*"]).expect("valid globs");
    let expected = deferred_definitions(
        &Manifest::of(Registry::global()),
        &discovery,
        ToolSearch::Regex,
    );
    assert_eq!(json(&run.out), Value::Array(expected));
    for args in [
        &["tools", "schema", "--all", "--format", "openai", "--defer"][..],
        &["tools", "schema", "add", "--format", "anthropic", "--defer"],
        &[
            "tools",
            "schema",
            "--all",
            "--format",
            "anthropic",
            "--always",
            "x",
        ],
        &[
            "tools",
            "schema",
            "--all",
            "--format",
            "anthropic",
            "--defer",
            "--always",
            "[",
        ],
    ] {
        let run = cli(args);
        assert_eq!(run.code, std::process::ExitCode::from(2), "{args:?}");
        assert!(run.out.is_empty(), "{args:?}: {}", run.out);
    }
}
