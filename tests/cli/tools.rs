//! `tools list`, `tools show`, `tools schema`, `tools call` and `tools search`:
//! what each prints, in text and as JSON, and its exit codes.

use std::io::{self, Read};

use serde_json::{Value, json};

use super::{assert_all_tools, call, call_with_stdin, cli, names, tool};

// ---- tools list ----

#[test]
fn list_prints_an_aligned_table_sorted_by_name() {
    let run = cli(&["tools", "list"]).expect_code(0);
    assert_eq!(run.err, "");
    let lines: Vec<&str> = run.out.lines().collect();
    assert!(lines[0].starts_with("NAME "), "{}", run.out);
    let listed: Vec<&str> = lines[1..]
        .iter()
        .map(|line| line.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_all_tools(&listed);
    // The description column starts at the same place on every line.
    let column = lines[0].find("DESCRIPTION").expect("a DESCRIPTION header");
    let tags = lines[0].find("TAGS").expect("a TAGS header");
    let add = lines
        .iter()
        .find(|l| l.starts_with("add "))
        .expect("an add row");
    assert!(
        add[column..].starts_with("Adds two integers.  "),
        "{}",
        run.out
    );
    assert_eq!(&add[tags..], "math", "{}", run.out);
    let path = lines
        .iter()
        .find(|l| l.starts_with("path_length "))
        .expect("a path_length row");
    assert!(
        path[column..].starts_with("Measures the length"),
        "{}",
        run.out
    );
    assert_eq!(&path[tags..], "math, geometry", "{}", run.out);
}

#[test]
fn list_json_describes_every_tool() {
    let run = cli(&["tools", "list", "--json"]).expect_code(0);
    assert_eq!(run.err, "");
    let listing = run.json();
    assert_eq!(listing["format"], 1);
    let tools = &listing["tools"];
    assert_all_tools(&names(tools));

    let add = tool(tools, "add");
    assert_eq!(add["title"], Value::Null);
    assert_eq!(add["description"], "Adds two integers.");
    assert_eq!(
        add["annotations"],
        json!({"readOnlyHint": true, "idempotentHint": true})
    );
    assert_eq!(add["tags"], json!(["math"]));
    assert_eq!(
        add["params"],
        json!([
            {"name": "a", "description": "The first addend.", "required": true},
            {"name": "b", "description": "The second addend.", "required": true},
        ])
    );
    assert_eq!(add["timeout_ms"], Value::Null);
    assert_eq!(add["async"], false);
    assert_eq!(add["source"]["crate"], "my-tools");
    assert_eq!(add["source"]["version"], "0.1.0");
    assert!(add["source"]["file"].as_str().unwrap().ends_with("lib.rs"));
    assert!(add["source"]["line"].as_u64().unwrap() > 0);
    assert_eq!(
        add["input_schema"]["required"],
        json!(["a", "b"]),
        "the listing carries the schemas"
    );
    assert_eq!(add["output_schema"]["type"], "integer");

    let weather = tool(tools, "get_weather");
    assert_eq!(weather["title"], "Get weather");
    assert_eq!(weather["params"][1]["name"], "units");
    assert_eq!(weather["params"][1]["required"], false);

    let slow = tool(tools, "slow_echo");
    assert_eq!(slow["timeout_ms"], 2000);
    assert_eq!(slow["async"], true);
    assert_eq!(slow["source"]["crate"], "my-tools");

    assert_eq!(
        tool(tools, "text_stats")["source"]["crate"],
        "rustchain-builtin"
    );
}

#[test]
fn json_is_the_same_before_or_after_the_command() {
    let after = cli(&["tools", "list", "--json"]).expect_code(0);
    let before = cli(&["--json", "tools", "list"]).expect_code(0);
    assert_eq!(before.out, after.out);
}

// ---- tools show ----

#[test]
fn show_tells_people_everything_about_a_tool() {
    let run = cli(&["tools", "show", "get_weather"]).expect_code(0);
    assert_eq!(run.err, "");
    let out = &run.out;
    assert!(out.starts_with("get_weather (Get weather)\n"), "{out}");
    assert!(out.contains("Reports the weather for a city"), "{out}");
    let city = out
        .lines()
        .find(|l| l.trim_start().starts_with("city "))
        .expect("a city line");
    assert!(
        city.contains("string")
            && city.contains("required")
            && city.contains("The city, like \"Oslo\"."),
        "{city}"
    );
    let units = out
        .lines()
        .find(|l| l.trim_start().starts_with("units "))
        .expect("a units line");
    assert!(
        units.contains("Units") && units.contains("optional"),
        "{units}"
    );
    assert!(out.contains("read-only, open-world"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Tags:") && l.ends_with("weather")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("Timeout:") && l.ends_with("none")),
        "{out}"
    );
    assert!(out.contains("my-tools 0.1.0"), "{out}");
    assert!(out.contains("lib.rs:"), "{out}");
}

#[test]
fn show_gives_the_timeout_and_async_of_a_tool() {
    let out = cli(&["tools", "show", "slow_echo"]).expect_code(0).out;
    assert!(
        out.lines()
            .any(|l| l.starts_with("Timeout:") && l.ends_with("2s")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("Runs:") && l.contains("async")),
        "{out}"
    );
}

#[test]
fn show_json_is_the_tools_entry_in_the_listing() {
    let run = cli(&["tools", "show", "add", "--json"]).expect_code(0);
    let shown = run.json();
    let listed = cli(&["tools", "list", "--json"]).json()["tools"][0].clone();
    assert_eq!(listed["name"], "add");
    assert_eq!(shown, listed);
    assert_eq!(shown["input_schema"]["type"], "object");
    assert_eq!(shown["input_schema"]["required"], json!(["a", "b"]));
    assert_eq!(shown["output_schema"]["type"], "integer");
}

#[test]
fn show_of_an_unknown_tool_exits_2_and_suggests_close_names() {
    let run = cli(&["tools", "show", "ad"]).expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.contains("no tool named `ad`"), "{}", run.err);
    assert!(run.err.contains("did you mean `add`"), "{}", run.err);
    assert!(run.err.contains("tools list"), "{}", run.err);

    let run = cli(&["tools", "show", "weather"]).expect_code(2);
    assert!(
        run.err.contains("`get_weather`"),
        "a name containing the query is suggested: {}",
        run.err
    );

    let run = cli(&["tools", "show", "--json", "zzzzzzzz"]).expect_code(2);
    assert_eq!(
        run.out, "",
        "an unknown tool prints no result, even with --json"
    );
    assert!(!run.err.contains("did you mean"), "{}", run.err);
}

// ---- tools schema ----

#[test]
fn schema_prints_the_input_schema_as_json() {
    let run = cli(&["tools", "schema", "add"]).expect_code(0);
    let schema = run.json();
    assert_eq!(schema["type"], "object");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["required"], json!(["a", "b"]));
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["properties"]["a"]["description"],
        "The first addend."
    );
    assert!(
        run.out.contains("\n  \"type\": \"object\""),
        "pretty-printed: {}",
        run.out
    );
}

#[test]
fn schema_output_prints_the_result_schema() {
    let schema = cli(&["tools", "schema", "text_stats", "--output"])
        .expect_code(0)
        .json();
    assert_eq!(schema["type"], "object");
    assert!(schema["properties"]["words"].is_object(), "{schema}");
}

#[test]
fn schema_all_maps_every_tool_to_its_input_schema() {
    let all = cli(&["tools", "schema", "--all"]).expect_code(0).json();
    let object = all.as_object().expect("an object keyed by tool name");
    assert_all_tools(&object.keys().map(String::as_str).collect::<Vec<_>>());
    for (name, schema) in object {
        assert_eq!(schema["type"], "object", "{name}");
    }
    assert_eq!(all["path_length"]["required"], json!(["points"]));
}

#[test]
fn schema_needs_a_known_name_or_all() {
    let run = cli(&["tools", "schema", "nope"]).expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.contains("no tool named `nope`"), "{}", run.err);

    let run = cli(&["tools", "schema"]).expect_code(2);
    assert!(run.err.contains("NAME"), "{}", run.err);
    cli(&["tools", "schema", "add", "--all"]).expect_code(2);
}

// ---- tools call ----

#[test]
fn call_prints_the_result_pretty_on_stdout() {
    let run = call(&["add", "--args", r#"{"a": 1, "b": 2}"#]).expect_code(0);
    assert_eq!(run.out, "3\n");
    assert_eq!(run.err, "");

    let run = call(&["get_weather", "-a", r#"{"city": "Oslo"}"#]).expect_code(0);
    assert_eq!(
        run.json(),
        json!({"city": "Oslo", "temperature": 4.0, "units": "celsius"})
    );
    assert!(
        run.out.starts_with("{\n  \"city\": \"Oslo\""),
        "{}",
        run.out
    );
}

#[test]
fn call_json_wraps_the_result() {
    let run = call(&["add", "--args", r#"{"a": 40, "b": 2}"#, "--json"]).expect_code(0);
    assert_eq!(run.json(), json!({"ok": true, "output": 42}));
    assert_eq!(run.err, "");
}

#[test]
fn call_runs_async_tools_and_takes_a_call_id() {
    let run = call(&[
        "slow_echo",
        "--args",
        r#"{"message": "hi", "delay_ms": 1}"#,
        "--call-id",
        "call_7",
    ])
    .expect_code(0);
    assert_eq!(run.out, "\"hi\"\n");
}

#[test]
fn invalid_arguments_exit_1_with_the_kind_and_path_on_stderr() {
    let run = call(&["add", "--args", r#"{"a": 1, "b": "x"}"#]).expect_code(1);
    assert_eq!(run.out, "", "stdout carries only results");
    let mut lines = run.err.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("error[invalid_arguments]: "),
        "{}",
        run.err
    );
    assert!(first.contains("argument `b`"), "{}", run.err);
    assert_eq!(lines.next(), Some("  at: b"), "{}", run.err);
}

#[test]
fn invalid_arguments_with_json_are_an_error_object_on_stdout() {
    let run = call(&["add", "--json", "--args", r#"{"a": 1}"#]).expect_code(1);
    assert_eq!(run.err, "");
    let report = run.json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["kind"], "invalid_arguments");
    assert_eq!(report["error"]["path"], "b");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing required argument `b`"),
        "{report}"
    );
}

#[test]
fn malformed_json_in_args_is_invalid_arguments() {
    let run = call(&["add", "--args", r#"{"a": 1,"#]).expect_code(1);
    assert!(
        run.err.starts_with("error[invalid_arguments]: "),
        "{}",
        run.err
    );

    let report = call(&["add", "--args", "{a: 1}", "--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["error"]["kind"], "invalid_arguments");
    assert_eq!(
        report["error"]["path"],
        serde_json::Value::Null,
        "the arguments as a whole"
    );
}

#[test]
fn a_tool_that_fails_exits_1_with_its_message() {
    let run = call(&["get_weather", "--args", r#"{"city": " "}"#]).expect_code(1);
    assert_eq!(
        run.err,
        "error[failed]: the city is empty; name a city such as \"Oslo\"\n"
    );

    let report = call(&["get_weather", "--args", r#"{"city": ""}"#, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["error"]["kind"], "failed");
    assert_eq!(report["error"]["path"], Value::Null);
}

#[test]
fn calling_an_unknown_tool_exits_1_with_not_found() {
    let run = call(&["ad", "--args", "{}"]).expect_code(1);
    assert!(run.err.starts_with("error[not_found]: "), "{}", run.err);
    assert!(run.err.contains("`add`"), "{}", run.err);

    let report = call(&["nope", "--json"]).expect_code(1).json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["kind"], "not_found");
}

#[test]
fn arguments_come_from_stdin_when_args_is_absent_or_dash() {
    let mut stdin = r#"{"a": 5, "b": 6}"#.as_bytes();
    let run = call_with_stdin(&["add"], &mut stdin).expect_code(0);
    assert_eq!(run.out, "11\n");

    let mut stdin = r#"{"a": -1, "b": 1}"#.as_bytes();
    let run = call_with_stdin(&["add", "--args", "-"], &mut stdin).expect_code(0);
    assert_eq!(run.out, "0\n");

    // --args wins over stdin.
    let mut stdin = r#"{"a": 5, "b": 6}"#.as_bytes();
    let run = call_with_stdin(&["add", "--args", r#"{"a": 1, "b": 1}"#], &mut stdin);
    assert_eq!(run.expect_code(0).out, "2\n");
}

#[test]
fn empty_stdin_means_no_arguments() {
    let run = call(&["time_now"]).expect_code(0);
    assert!(
        run.json().as_u64().is_some_and(|ms| ms > 1_600_000_000_000),
        "{}",
        run.out
    );

    let mut stdin = " \n".as_bytes();
    let report = call_with_stdin(&["add", "--json"], &mut stdin)
        .expect_code(1)
        .json();
    assert_eq!(report["error"]["path"], "a", "{report}");
}

#[test]
fn oversized_stdin_is_refused_by_the_argument_limit() {
    // Two-byte characters, so the cut at the limit splits one.
    let text = format!(r#"{{"text": "{}"}}"#, "é".repeat(1 << 20));
    let report = call_with_stdin(&["text_stats", "--json"], &mut text.as_bytes())
        .expect_code(1)
        .json();
    assert_eq!(report["error"]["kind"], "invalid_arguments");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit"),
        "{report}"
    );
}

#[test]
fn unreadable_stdin_is_a_usage_error() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("device gone"))
        }
    }
    let run = call_with_stdin(&["add"], &mut Broken).expect_code(2);
    assert_eq!(run.out, "");
    assert!(
        run.err
            .contains("could not read the arguments from stdin: device gone"),
        "{}",
        run.err
    );

    let mut not_utf8: &[u8] = b"{\"text\": \"\xff\"}";
    let run = call_with_stdin(&["text_stats", "--args", "-"], &mut not_utf8).expect_code(2);
    assert!(run.err.contains("not UTF-8"), "{}", run.err);
}

// ---- tools search ----

#[test]
fn search_ranks_a_name_match_first() {
    let found = cli(&["tools", "search", "add", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(names(&found).first(), Some(&"add"));
    assert!(found[0]["score"].as_u64().unwrap() > 0);
    assert_eq!(found[0]["description"], "Adds two integers.");

    let run = cli(&["tools", "search", "add"]).expect_code(0);
    let first_row = run.out.lines().nth(1).unwrap_or_default();
    assert!(first_row.starts_with("add "), "{}", run.out);
}

#[test]
fn search_filters_by_tag_read_only_and_limit() {
    let math = cli(&["tools", "search", "--tag", "math", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(names(&math), ["add", "path_length"]);

    let read_only = cli(&["tools", "search", "--read-only", "--json"])
        .expect_code(0)
        .json();
    assert!(!names(&read_only).contains(&"slow_echo"), "{read_only}");
    assert!(names(&read_only).contains(&"text_stats"), "{read_only}");

    let limited = cli(&["tools", "search", "-t", "math", "--limit", "1", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(names(&limited), ["add"]);
}

#[test]
fn search_without_a_match_is_not_an_error() {
    let run = cli(&["tools", "search", "zebra quartz"]).expect_code(0);
    assert_eq!(run.out, "");
    assert!(run.err.contains("no tool matches"), "{}", run.err);

    let run = cli(&["tools", "search", "zebra quartz", "--json"]).expect_code(0);
    assert_eq!(run.json(), json!([]));
}
