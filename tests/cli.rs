//! The `rustchain` command line: listing, showing, schemas, calls and search,
//! their `--json` shapes and their exit codes.
//!
//! Most tests run the CLI in-process through `rustchain::cli::run_from` over the
//! tools of `my-tools` (`add`, `get_weather`, `path_length`, `slow_echo`) and
//! the built-ins (`text_stats`, `time_now`, the file, HTTP and command tools);
//! the last ones run the real `rustchain` binary (package `rustchain-cli`),
//! which links only the built-ins, in a scratch working directory of its own.
//!
//! Files (policies, trails, keys) live in scratch folders under
//! `CARGO_TARGET_TMPDIR`. In-process tests always name their policy and
//! trail, or pass `--no-audit`: the working directory is shared by every test.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;

use my_tools as _;
use rustchain_builtin as _;
use serde_json::{Value, json};

/// What one run of the CLI printed, and how it ended.
#[derive(Debug)]
struct Run {
    code: ExitCode,
    out: String,
    err: String,
}

impl Run {
    /// Asserts the exit status, showing both streams when it is not `code`.
    fn expect_code(self, code: u8) -> Self {
        assert_eq!(
            self.code,
            ExitCode::from(code),
            "unexpected exit status for {self:#?}"
        );
        self
    }

    /// stdout parsed as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.out)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}):\n{}", self.out))
    }
}

/// Runs the CLI with `args` (after the program name) and `stdin` as piped input.
fn cli_with_stdin(args: &[&str], stdin: &mut dyn Read) -> Run {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("rustchain").chain(args.iter().copied());
    let code = rustchain::cli::run_from(argv, stdin, &mut out, &mut err);
    Run {
        code,
        out: String::from_utf8(out).expect("stdout is UTF-8"),
        err: String::from_utf8(err).expect("stderr is UTF-8"),
    }
}

fn cli(args: &[&str]) -> Run {
    cli_with_stdin(args, &mut io::empty())
}

/// A scratch folder under the target directory, removed when dropped.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cli-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a scratch folder")
}

/// Writes `text` to `dir/name`; returns the path as the CLI takes it.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the file is written");
    utf8(&path)
}

fn utf8(path: &Path) -> String {
    path.to_str().expect("scratch paths are UTF-8").to_owned()
}

/// The records of an audit trail, parsed.
fn records(trail: &str) -> Vec<Value> {
    std::fs::read_to_string(trail)
        .expect("the trail exists")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is a JSON record"))
        .collect()
}

/// A scratch folder with a policy and the path of a trail (not yet created).
struct Setup {
    dir: tempfile::TempDir,
    policy: String,
    trail: String,
}

impl Setup {
    fn new(policy: &str) -> Setup {
        let dir = scratch();
        let policy = write(dir.path(), "rustchain.toml", policy);
        let trail = utf8(&dir.path().join("audit.jsonl"));
        Setup { dir, policy, trail }
    }

    /// The CLI with `--policy` and `--audit` naming this setup's files.
    fn cli(&self, args: &[&str]) -> Run {
        self.cli_with_stdin(args, &mut io::empty())
    }

    fn cli_with_stdin(&self, args: &[&str], stdin: &mut dyn Read) -> Run {
        let prefix = [
            "--policy",
            self.policy.as_str(),
            "--audit",
            self.trail.as_str(),
        ];
        let argv: Vec<&str> = prefix.iter().chain(args).copied().collect();
        cli_with_stdin(&argv, stdin)
    }
}

/// An empty policy file: nothing granted, so only tools that declare no
/// permissions run, whatever the working directory holds.
fn empty_policy() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-empty-policy.toml");
        std::fs::write(&path, "").expect("the empty policy is written");
        path.to_str().expect("a UTF-8 path").to_owned()
    })
}

/// `tools call ARGS...` under the empty policy, recording nothing: a call's
/// own behaviour, apart from policy and audit.
fn call_with_stdin(args: &[&str], stdin: &mut dyn Read) -> Run {
    let prefix = ["--no-audit", "--policy", empty_policy(), "tools", "call"];
    let argv: Vec<&str> = prefix.iter().chain(args).copied().collect();
    cli_with_stdin(&argv, stdin)
}

fn call(args: &[&str]) -> Run {
    call_with_stdin(args, &mut io::empty())
}

/// The tools of `my-tools`, and two built-ins that are always there; other
/// built-ins come and go as the built-in crate grows.
const SOME_TOOLS: [&str; 6] = [
    "add",
    "get_weather",
    "path_length",
    "slow_echo",
    "text_stats",
    "time_now",
];

/// Asserts `listed` is sorted, without duplicates, and holds every one of `SOME_TOOLS`.
fn assert_all_tools(listed: &[&str]) {
    assert!(
        listed.windows(2).all(|pair| pair[0] < pair[1]),
        "sorted by name, each once: {listed:?}"
    );
    for name in SOME_TOOLS {
        assert!(listed.contains(&name), "{name} in {listed:?}");
    }
}

/// The tool called `name` in a JSON array of tools.
fn tool<'a>(tools: &'a Value, name: &str) -> &'a Value {
    tools
        .as_array()
        .expect("a JSON array of tools")
        .iter()
        .find(|tool| tool["name"] == name)
        .unwrap_or_else(|| panic!("no tool {name} in {tools}"))
}

fn names(tools: &Value) -> Vec<&str> {
    tools
        .as_array()
        .expect("a JSON array of tools")
        .iter()
        .map(|tool| tool["name"].as_str().expect("every tool has a name"))
        .collect()
}

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
    let run = cli(&["tools", "search", "nothing-like-this"]).expect_code(0);
    assert_eq!(run.out, "");
    assert!(run.err.contains("no tool matches"), "{}", run.err);

    let run = cli(&["tools", "search", "nothing-like-this", "--json"]).expect_code(0);
    assert_eq!(run.json(), json!([]));
}

// ---- usage ----

#[test]
fn usage_errors_exit_2_on_stderr() {
    let run = cli(&["tools", "frobnicate"]).expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.starts_with("error:"), "{}", run.err);

    cli(&["tools", "list", "--no-such-flag"]).expect_code(2);
    cli(&["tools", "search", "--limit", "many"]).expect_code(2);
    cli(&[]).expect_code(2);
}

#[test]
fn help_goes_to_stdout_with_examples_and_exit_codes() {
    let run = cli(&["--help"]).expect_code(0);
    assert_eq!(run.err, "");
    assert!(run.out.contains("Exit codes:"), "{}", run.out);
    assert!(run.out.contains("2  bad usage"), "{}", run.out);

    let run = cli(&["tools", "call", "--help"]).expect_code(0);
    assert!(run.out.contains("Examples:"), "{}", run.out);
    assert!(run.out.contains("--args"), "{}", run.out);
}

// ---- tools call under a policy, recorded in a trail ----

#[test]
fn an_allowed_call_leaves_a_decision_and_a_result_that_verify_as_intact() {
    let setup = Setup::new("[tools]\nallow = [\"add\"]\n");
    let run = setup.cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#]);
    assert_eq!(run.expect_code(0).out, "3\n");

    let records = records(&setup.trail);
    assert_eq!(records.len(), 2, "{records:#?}");
    let (decision, result) = (&records[0], &records[1]);
    assert_eq!(decision["kind"], "decision");
    assert_eq!(decision["decision"], "allow");
    assert!(
        decision["decision.rule"]
            .as_str()
            .is_some_and(|rule| rule.starts_with("tools.allow \"add\"")),
        "{decision}"
    );
    assert_eq!(result["kind"], "result");
    assert_eq!(result["outcome"], "ok");
    assert_eq!(
        decision["gen_ai.tool.call.id"],
        result["gen_ai.tool.call.id"]
    );
    assert!(
        decision["gen_ai.tool.call.id"]
            .as_str()
            .is_some_and(|id| id.len() == 36 && id.as_bytes()[14] == b'7'),
        "a UUID v7, unique across processes sharing the trail: {decision}"
    );

    let run = cli(&["audit", "verify", &setup.trail]).expect_code(0);
    let summary = run.out.lines().last().unwrap_or_default();
    assert!(summary.contains(": intact: 2 lines"), "{}", run.out);
    let report = cli(&["audit", "verify", &setup.trail, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["status"], "intact");
    assert_eq!(report["last_seq"], 2);
    assert_eq!(report["findings"], json!([]));
}

#[test]
fn a_given_call_id_is_the_one_recorded() {
    let setup = Setup::new("");
    setup
        .cli(&[
            "tools",
            "call",
            "add",
            "-a",
            r#"{"a": 1, "b": 1}"#,
            "--call-id",
            "call_42",
        ])
        .expect_code(0);
    for record in records(&setup.trail) {
        assert_eq!(record["gen_ai.tool.call.id"], "call_42");
    }
}

#[test]
fn a_denied_call_exits_1_with_kind_denied_and_leaves_one_record() {
    let setup = Setup::new("[tools]\ndeny = [\"add\"]\n");
    let report = setup
        .cli(&[
            "tools",
            "call",
            "add",
            "--args",
            r#"{"a": 1, "b": 2}"#,
            "--json",
        ])
        .expect_code(1)
        .json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["kind"], "denied");
    let message = report["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("tools.deny \"add\"") && message.contains("rustchain.toml:2"),
        "the rule and its place: {message}"
    );

    let records = records(&setup.trail);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["decision"], "deny");

    let run = setup.cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#]);
    assert!(
        run.expect_code(1).err.starts_with("error[denied]: "),
        "people get the kind on stderr"
    );
}

#[test]
fn a_tool_that_needs_a_grant_is_denied_by_the_empty_policy() {
    let report = call(&["fs_read", "--args", r#"{"path": "Cargo.toml"}"#, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["error"]["kind"], "denied", "{report}");
}

#[test]
fn ask_rules_deny_when_nobody_can_answer() {
    let setup = Setup::new("[tools]\nask = [\"add\"]\n");
    let report = setup
        .cli(&[
            "tools",
            "call",
            "add",
            "--args",
            r#"{"a": 1, "b": 2}"#,
            "--json",
        ])
        .expect_code(1)
        .json();
    assert_eq!(report["error"]["kind"], "denied");
    assert!(
        report["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no approver")),
        "{report}"
    );
    assert_eq!(records(&setup.trail)[0]["decision"], "ask_denied");
}

#[test]
fn a_policy_that_does_not_load_runs_nothing_and_exits_2() {
    let failing = "[tools]\nallow = [\"add\"]\n\n[[examples]]\ntool = \"add\"\nargs = { a = 1, b = 2 }\nexpect = \"deny\"\n";
    let setup = Setup::new(failing);
    let run = setup
        .cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#])
        .expect_code(2);
    assert_eq!(run.out, "");
    assert!(
        run.err.starts_with(&format!(
            "error: {}:5: the example calling `add`",
            setup.policy
        )),
        "{}",
        run.err
    );
    assert!(run.err.contains("nothing was run"), "{}", run.err);
    assert!(
        !Path::new(&setup.trail).exists(),
        "a refused policy leaves no trail behind"
    );

    let setup = Setup::new("[tool]\nallow = [\"add\"]\n");
    let run = setup.cli(&["tools", "call", "add"]).expect_code(2);
    assert!(
        run.err.contains("rustchain.toml:1: unknown field `tool`"),
        "{}",
        run.err
    );

    let dir = scratch();
    let missing = utf8(&dir.path().join("missing.toml"));
    let run = cli(&["--no-audit", "--policy", &missing, "tools", "call", "add"]).expect_code(2);
    assert!(
        run.err.contains("missing.toml"),
        "a named policy must exist: {}",
        run.err
    );
}

#[test]
fn a_trail_that_cannot_be_opened_refuses_the_call_with_status_2() {
    let dir = scratch();
    let trail = utf8(&dir.path().join("no-such-folder").join("audit.jsonl"));
    let run = cli(&[
        "--policy",
        empty_policy(),
        "--audit",
        &trail,
        "tools",
        "call",
        "add",
        "--args",
        r#"{"a": 1, "b": 2}"#,
    ])
    .expect_code(2);
    assert_eq!(run.out, "", "the tool did not run");
    assert!(run.err.contains("does not exist"), "{}", run.err);
}

#[test]
fn no_audit_conflicts_with_a_named_trail() {
    let run = cli(&["--no-audit", "--audit", "x.jsonl", "tools", "list"]).expect_code(2);
    assert!(run.err.contains("--no-audit"), "{}", run.err);
}

// ---- policy check ----

#[test]
fn policy_check_summarises_a_good_file() {
    let dir = scratch();
    let policy = write(
        dir.path(),
        "good.toml",
        "[tools]\nallow = [\"add\"]\ndeny = [\"path_*\"]\n\n[[examples]]\ntool = \"path_length\"\nargs = { points = [] }\nexpect = \"deny\"\n",
    );
    let run = cli(&["policy", "check", &policy]).expect_code(0);
    assert!(
        run.out
            .starts_with(&format!("{policy}: the policy loads\n")),
        "{}",
        run.out
    );
    assert!(run.out.contains("\n  tools allow: add\n"), "{}", run.out);
    assert!(run.out.contains("\n  tools deny: path_*\n"), "{}", run.out);
    assert!(run.out.ends_with("1 example passed\n"), "{}", run.out);

    let report = cli(&["policy", "check", &policy, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["examples"], 1);
    assert!(
        report["summary"]
            .as_array()
            .is_some_and(|lines| lines.contains(&json!("tools allow: add"))),
        "{report}"
    );

    // Without FILE, the global --policy is checked.
    let run = cli(&["--policy", &policy, "policy", "check"]).expect_code(0);
    assert!(run.out.contains("tools deny: path_*"), "{}", run.out);
}

#[test]
fn policy_check_names_the_line_of_a_failing_example() {
    let dir = scratch();
    let policy = write(
        dir.path(),
        "failing.toml",
        "[tools]\nallow = [\"add\"]\n\n[[examples]]\ntool = \"add\"\nargs = { a = 1, b = 2 }\nexpect = \"deny\"\n",
    );
    let run = cli(&["policy", "check", &policy]).expect_code(2);
    assert_eq!(run.out, "");
    assert!(
        run.err.starts_with(&format!("error: {policy}:5: ")),
        "{}",
        run.err
    );
    assert!(
        run.err.contains("expects deny but gets allow"),
        "{}",
        run.err
    );

    let report = cli(&["policy", "check", &policy, "--json"])
        .expect_code(2)
        .json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["line"], 5);
    assert_eq!(report["error"]["file"], policy.as_str());
}

#[test]
fn policy_check_refuses_an_unknown_key_with_its_line() {
    let dir = scratch();
    let policy = write(
        dir.path(),
        "typo.toml",
        "[tools]\nallow = [\"add\"]\nalow = [\"get_weather\"]\n",
    );
    let run = cli(&["policy", "check", &policy]).expect_code(2);
    assert!(
        run.err
            .contains(&format!("{policy}:3: unknown field `alow`")),
        "{}",
        run.err
    );
}

#[test]
fn policy_check_of_a_named_file_that_is_missing_exits_2() {
    let dir = scratch();
    let missing = utf8(&dir.path().join("missing.toml"));
    let run = cli(&["policy", "check", &missing]).expect_code(2);
    assert!(run.err.contains("cannot read the policy"), "{}", run.err);
}

// ---- policy explain ----

#[test]
fn policy_explain_shows_the_deciding_rule() {
    let setup = Setup::new("[tools]\nallow = [\"add\"]\ndeny = [\"path_*\"]\n");
    let run = setup
        .cli(&[
            "policy",
            "explain",
            "path_length",
            "--args",
            r#"{"points": []}"#,
        ])
        .expect_code(0);
    let mut lines = run.out.lines();
    assert_eq!(lines.next(), Some("verdict: deny"), "{}", run.out);
    assert_eq!(
        lines.next(),
        Some(format!("rule: tools.deny \"path_*\" ({}:3)", setup.policy).as_str()),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("reason: the policy denies `path_length`"),
        "{}",
        run.out
    );

    let explanation = setup
        .cli(&[
            "policy",
            "explain",
            "add",
            "--args",
            r#"{"a": 1, "b": 2}"#,
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(explanation["verdict"], "allow");
    assert!(
        explanation["decisions"][0]["rule"]
            .as_str()
            .is_some_and(|rule| rule.starts_with("tools.allow \"add\"")),
        "{explanation}"
    );
    assert_eq!(explanation["error"], Value::Null);
    assert!(
        !Path::new(&setup.trail).exists(),
        "explaining runs nothing and records nothing"
    );
}

#[test]
fn policy_explain_judges_each_guarded_value() {
    let setup = Setup::new("");
    let explanation = setup
        .cli_with_stdin(
            &["policy", "explain", "fs_read", "--json"],
            &mut r#"{"path": "/etc/passwd"}"#.as_bytes(),
        )
        .expect_code(0)
        .json();
    assert_eq!(explanation["verdict"], "deny");
    let decisions = explanation["decisions"].as_array().expect("decisions");
    assert_eq!(
        decisions.len(),
        2,
        "the tool's rule, then the path: {explanation}"
    );
    assert_eq!(decisions[0]["verdict"], "allow");
    assert_eq!(decisions[1]["verdict"], "deny");
    assert!(
        decisions[1]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("/etc/passwd")),
        "{explanation}"
    );
}

#[test]
fn policy_explain_needs_a_known_tool_and_valid_arguments() {
    let setup = Setup::new("");
    let run = setup.cli(&["policy", "explain", "ad"]).expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.contains("did you mean `add`"), "{}", run.err);

    let run = setup
        .cli(&[
            "policy",
            "explain",
            "add",
            "--args",
            r#"{"a": "one"}"#,
            "--json",
        ])
        .expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.contains("cannot be judged"), "{}", run.err);
    assert!(run.err.contains("argument `a`"), "{}", run.err);
}

// ---- audit verify ----

/// A trail of two allowed calls to `add`: four records.
fn trail_of_two_calls() -> Setup {
    let setup = Setup::new("");
    for _ in 0..2 {
        setup
            .cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#])
            .expect_code(0);
    }
    assert_eq!(records(&setup.trail).len(), 4);
    setup
}

#[test]
fn verify_names_a_record_changed_by_one_byte_and_exits_1() {
    let setup = trail_of_two_calls();
    let text = std::fs::read_to_string(&setup.trail).expect("the trail");
    let at = text
        .find("\"outcome\":\"ok\"")
        .expect("the first result record")
        + 12;
    let mut bytes = text.into_bytes();
    bytes[at] = b'K';
    std::fs::write(&setup.trail, bytes).expect("the trail is edited");

    let run = cli(&["audit", "verify", &setup.trail]).expect_code(1);
    let first = run.out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("tampered: line 2 (record 2): record_modified: "),
        "{}",
        run.out
    );
    assert!(run.out.contains(": tampered: "), "{}", run.out);

    let report = cli(&["audit", "verify", &setup.trail, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["status"], "tampered");
    assert_eq!(report["findings"][0]["kind"], "record_modified");
    assert_eq!(report["findings"][0]["seq"], 2);
    assert_eq!(report["findings"][0]["severity"], "tampered");
}

#[test]
fn verify_warns_of_a_torn_last_line_with_status_2_and_the_next_call_recovers() {
    let setup = trail_of_two_calls();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&setup.trail)
        .expect("the trail opens");
    io::Write::write_all(&mut file, br#"{"seq":5,"ts":"2026-"#).expect("a torn write");
    drop(file);

    let run = cli(&["audit", "verify", &setup.trail]).expect_code(2);
    assert!(
        run.out.starts_with("warning: line 5: torn_tail: "),
        "{}",
        run.out
    );
    assert!(run.out.contains(": warnings: "), "{}", run.out);

    // Opening the trail cuts the torn end and says so; then it verifies.
    let run = setup
        .cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#])
        .expect_code(0);
    assert!(run.err.contains("torn write"), "{}", run.err);
    let report = cli(&["audit", "verify", &setup.trail, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["recoveries"], 1);
}

#[test]
fn verify_exits_5_when_it_cannot_verify() {
    let dir = scratch();
    let missing = utf8(&dir.path().join("missing.jsonl"));
    let run = cli(&["audit", "verify", &missing]).expect_code(5);
    assert_eq!(run.out, "");
    assert!(run.err.contains("missing.jsonl"), "{}", run.err);

    // Its own bad usage is 5 too, never the 2 of "warnings only".
    cli(&["audit", "verify", "--no-such-flag"]).expect_code(5);
    cli(&["audit", "verify", "a.jsonl", "b.jsonl"]).expect_code(5);

    let setup = trail_of_two_calls();
    let key = write(setup.dir.path(), "bad.pub", "not a key\n");
    let run = cli(&["audit", "verify", &setup.trail, "--key", &key]).expect_code(5);
    assert!(run.err.contains("bad.pub"), "{}", run.err);
}

#[test]
fn signed_checkpoints_verify_against_the_generated_key() {
    let setup = Setup::new("");
    let key = utf8(&setup.dir.path().join("audit.key"));
    let run = cli(&["audit", "keygen", "--out", &key]).expect_code(0);
    assert!(run.out.contains("audit.key.pub"), "{}", run.out);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("the key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the signing key is its owner's alone");
    }
    let run = cli(&["audit", "keygen", "--out", &key]).expect_code(2);
    assert!(run.err.contains("already exists"), "{}", run.err);

    for _ in 0..2 {
        setup
            .cli(&[
                "--audit-key",
                &key,
                "--checkpoint-every",
                "2",
                "tools",
                "call",
                "add",
                "--args",
                r#"{"a": 1, "b": 2}"#,
            ])
            .expect_code(0);
    }
    let public = format!("{key}.pub");
    let report = cli(&["audit", "verify", &setup.trail, "--key", &public, "--json"])
        .expect_code(0)
        .json();
    assert!(
        report["checkpoints"].as_u64().is_some_and(|n| n >= 1),
        "{report}"
    );
    assert!(report["signed_through"].as_u64().is_some(), "{report}");

    // A key that did not sign the checkpoints finds them bad.
    let other = utf8(&setup.dir.path().join("other.key"));
    cli(&["audit", "keygen", "--out", &other]).expect_code(0);
    let report = cli(&[
        "audit",
        "verify",
        &setup.trail,
        "--key",
        &format!("{other}.pub"),
        "--json",
    ])
    .expect_code(1)
    .json();
    assert_eq!(report["findings"][0]["kind"], "bad_signature", "{report}");
}

// ---- audit report ----

#[test]
fn report_json_counts_calls_denials_and_errors_per_tool() {
    let setup = Setup::new("[tools]\ndeny = [\"path_length\"]\n");
    let calls: [(&str, &str, u8); 4] = [
        ("add", r#"{"a": 1, "b": 2}"#, 0),
        ("add", r#"{"a": 3, "b": 4}"#, 0),
        ("get_weather", r#"{"city": " "}"#, 1),
        ("path_length", r#"{"points": []}"#, 1),
    ];
    for (tool, args, code) in calls {
        setup
            .cli(&["tools", "call", tool, "--args", args])
            .expect_code(code);
    }

    let report = cli(&["audit", "report", &setup.trail, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["records"], 7, "{report}");
    let usage = |name: &str| {
        report["tools"]
            .as_array()
            .and_then(|tools| tools.iter().find(|usage| usage["tool"] == name))
            .unwrap_or_else(|| panic!("no usage of {name} in {report}"))
    };
    let add = usage("add");
    assert_eq!(
        (
            &add["calls"],
            &add["denials"],
            &add["errors"],
            &add["timeouts"]
        ),
        (&json!(2), &json!(0), &json!(0), &json!(0))
    );
    assert!(
        add["p50_ms"].is_number() && add["p99_ms"].is_number(),
        "{add}"
    );
    let weather = usage("get_weather");
    assert_eq!(
        (&weather["calls"], &weather["errors"]),
        (&json!(1), &json!(1))
    );
    let path = usage("path_length");
    assert_eq!((&path["calls"], &path["denials"]), (&json!(1), &json!(1)));
    assert_eq!(path["p50_ms"], Value::Null, "a denied call has no duration");

    let recent = cli(&["audit", "report", &setup.trail, "--since", "1h", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(recent["records"], 7);
    assert!(recent["since"].is_string(), "{recent}");

    let run = cli(&["audit", "report", &setup.trail, "--since", "5m"]).expect_code(0);
    let header = run.out.lines().next().unwrap_or_default();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "TOOL", "CALLS", "DENIALS", "ERRORS", "TIMEOUTS", "P50", "P95", "P99"
        ]
    );
    assert!(
        run.out.ends_with(": 7 records in the last 5m\n"),
        "{}",
        run.out
    );
}

#[test]
fn report_since_takes_a_number_and_a_unit() {
    let setup = trail_of_two_calls();
    for since in ["30s", "5m", "2h", "1d"] {
        cli(&["audit", "report", &setup.trail, "--since", since]).expect_code(0);
    }
    let run = cli(&["audit", "report", &setup.trail, "--since", "forever"]).expect_code(2);
    assert!(run.err.contains("30s, 5m, 2h, 1d"), "{}", run.err);
}

// ---- help ----

#[test]
fn verify_help_documents_its_own_exit_codes() {
    let run = cli(&["audit", "verify", "--help"]).expect_code(0);
    for line in [
        "0  intact",
        "1  tampered",
        "2  warnings only",
        "5  the trail could not be verified",
    ] {
        assert!(run.out.contains(line), "{line}: {}", run.out);
    }
    let run = cli(&["--help"]).expect_code(0);
    assert!(
        run.out.contains("`audit verify` has its own"),
        "{}",
        run.out
    );
    for command in [
        &["policy", "check"][..],
        &["policy", "explain"],
        &["audit", "report"],
        &["audit", "keygen"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let run = cli(&args).expect_code(0);
        assert!(run.out.contains("Examples:"), "{command:?}: {}", run.out);
    }
}

// ---- the real binary ----

/// The stock `rustchain` binary. It belongs to the package `rustchain-cli`, so
/// cargo gives this package's tests no `CARGO_BIN_EXE_rustchain`; it builds it
/// beside them, in `<target>/<profile>/`, whenever both packages are tested
/// (`cargo test --workspace`, or `cargo test` at the root). A run of this
/// package alone (`-p rustchain`) uses whatever binary the last such build left.
fn stock_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // <target>/<profile>/deps/cli-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test runs from <target>/<profile>/deps");
    let binary = profile_dir.join(format!("rustchain{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo test --workspace`, or `cargo build -p rustchain-cli` first",
        binary.display()
    );
    binary
}

/// Runs the stock `rustchain` binary (built-in tools only) in its own scratch
/// working directory, with `stdin` piped in.
fn binary(args: &[&str], stdin: &str) -> Run {
    binary_in(scratch().path(), &[], args, stdin)
}

/// `stderr` without the note a first call prints about the trail it created
/// (each `binary` run has a fresh state directory, so it always creates one).
fn without_trail_note(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| !line.starts_with("note: created the audit trail "))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Runs the stock `rustchain` binary in `dir`, with the environment
/// variables `env` (and no inherited RUSTCHAIN_*) and `stdin` piped in.
fn binary_in(dir: &Path, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(stock_binary())
        .args(args)
        .current_dir(dir)
        .env_remove("RUSTCHAIN_POLICY")
        .env_remove("RUSTCHAIN_AUDIT")
        // The default trail of a run without a policy file goes to the
        // user's state directory: keep it in the scratch folder.
        .env("XDG_STATE_HOME", dir.join(".state"))
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the rustchain binary starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    pipe.write_all(stdin.as_bytes())
        .expect("stdin takes the input");
    drop(pipe);
    let output = child
        .wait_with_output()
        .expect("the rustchain binary finishes");
    let code = output
        .status
        .code()
        .expect("the binary exits, not killed by a signal");
    Run {
        code: ExitCode::from(u8::try_from(code).expect("an exit code fits in a byte")),
        out: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        err: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

#[test]
fn the_binary_lists_the_builtin_tools() {
    let run = binary(&["tools", "list"], "").expect_code(0);
    assert_eq!(run.err, "");
    let listed: Vec<&str> = run
        .out
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        listed.windows(2).all(|pair| pair[0] < pair[1]),
        "{listed:?}"
    );
    assert!(
        listed.contains(&"text_stats") && listed.contains(&"time_now"),
        "{listed:?}"
    );

    // my-tools is not linked into the stock binary.
    assert!(!listed.contains(&"add"), "{listed:?}");
    let run = binary(&["tools", "show", "add"], "").expect_code(2);
    assert!(run.err.contains("no tool named `add`"), "{}", run.err);
}

#[test]
fn the_binary_calls_a_tool_with_arguments_from_args_or_stdin() {
    let run = binary(
        &[
            "tools",
            "call",
            "text_stats",
            "--args",
            r#"{"text": "one two\nthree"}"#,
        ],
        "",
    )
    .expect_code(0);
    assert_eq!(run.json(), json!({"chars": 13, "words": 3, "lines": 2}));
    assert_eq!(without_trail_note(&run.err), "");

    let run = binary(
        &["tools", "call", "text_stats", "--json"],
        r#"{"text": "a b"}"#,
    )
    .expect_code(0);
    assert_eq!(
        run.json(),
        json!({"ok": true, "output": {"chars": 3, "words": 2, "lines": 1}})
    );
}

#[test]
fn the_binary_reports_bad_json_with_exit_1() {
    let run = binary(
        &["tools", "call", "text_stats", "--args", "{\"text\": "],
        "",
    )
    .expect_code(1);
    assert_eq!(run.out, "");
    assert!(
        without_trail_note(&run.err).starts_with("error[invalid_arguments]: "),
        "{}",
        run.err
    );

    let run = binary(&["tools", "call", "text_stats", "--json"], "not json").expect_code(1);
    assert_eq!(run.json()["error"]["kind"], "invalid_arguments");
    assert_eq!(without_trail_note(&run.err), "");
}

#[test]
fn the_binary_rejects_bad_usage_with_exit_2() {
    let run = binary(&["tools", "call"], "").expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.contains("<NAME>"), "{}", run.err);
}

#[test]
fn the_binary_uses_the_policy_and_trail_in_its_working_directory() {
    let dir = scratch();
    write(
        dir.path(),
        "rustchain.toml",
        "[tools]\ndeny = [\"time_now\"]\n",
    );
    let run = |args: &[&str]| binary_in(dir.path(), &[], args, "");
    let call = [
        "tools",
        "call",
        "text_stats",
        "--args",
        r#"{"text": "a b"}"#,
    ];

    let first = run(&call).expect_code(0);
    assert_eq!(
        first.err,
        "note: created the audit trail .rustchain/audit.jsonl; every call is recorded there\n",
        "the first call says where the new trail is"
    );
    let trail = utf8(&dir.path().join(".rustchain/audit.jsonl"));
    assert_eq!(
        records(&trail).len(),
        2,
        "created beside the policy by the first call"
    );
    assert_eq!(run(&call).expect_code(0).err, "", "said once");
    assert_eq!(records(&trail).len(), 4);
    let denied = run(&["tools", "call", "time_now", "--json"])
        .expect_code(1)
        .json();
    assert_eq!(denied["error"]["kind"], "denied");
    assert_eq!(records(&trail).len(), 5);

    let verified = run(&["audit", "verify"]).expect_code(0);
    assert!(
        verified
            .out
            .starts_with(".rustchain/audit.jsonl: intact: 5 lines"),
        "{}",
        verified.out
    );
    let report = run(&["audit", "report", "--json"]).expect_code(0).json();
    let time = report["tools"]
        .as_array()
        .and_then(|tools| tools.iter().find(|usage| usage["tool"] == "time_now"))
        .expect("time_now is in the report");
    assert_eq!(time["denials"], 1);
    let checked = run(&["policy", "check"]).expect_code(0);
    assert!(
        checked
            .out
            .starts_with("rustchain.toml: the policy loads\n"),
        "{}",
        checked.out
    );
    assert!(
        checked.out.contains("tools deny: time_now"),
        "{}",
        checked.out
    );
}

#[test]
fn the_binary_without_a_policy_file_grants_nothing_and_says_so() {
    let dir = scratch();
    let run = binary_in(dir.path(), &[], &["policy", "check"], "").expect_code(0);
    assert!(
        run.err.contains("rustchain.toml does not exist"),
        "{}",
        run.err
    );
    assert!(run.out.contains("0 examples passed"), "{}", run.out);

    let run = binary_in(
        dir.path(),
        &[],
        &["tools", "call", "fs_list", "--json"],
        r#"{"path": "."}"#,
    );
    let run = run.expect_code(1);
    assert_eq!(run.json()["error"]["kind"], "denied");
    // With no policy file, the trail goes to the user's state directory,
    // never into whatever directory the command ran in.
    let trail = dir.path().join(".state/rustchain/audit.jsonl");
    assert!(
        run.err.contains(&format!(
            "note: created the audit trail {}",
            trail.display()
        )),
        "{}",
        run.err
    );
    assert_eq!(records(&utf8(&trail)).len(), 1);
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list the working directory")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert_eq!(
        entries,
        [".state"],
        "nothing else is created where the command ran"
    );
}

#[test]
fn the_binary_with_no_audit_writes_nothing() {
    let dir = scratch();
    let run = binary_in(
        dir.path(),
        &[],
        &[
            "--no-audit",
            "tools",
            "call",
            "text_stats",
            "--args",
            r#"{"text": "a"}"#,
        ],
        "",
    );
    run.expect_code(0);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the folder")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_binary_reads_the_policy_and_trail_from_the_environment() {
    let dir = scratch();
    let policy = write(dir.path(), "env.toml", "[tools]\ndeny = [\"text_stats\"]\n");
    let trail = utf8(&dir.path().join("env-audit.jsonl"));
    let env = [
        ("RUSTCHAIN_POLICY", policy.as_str()),
        ("RUSTCHAIN_AUDIT", trail.as_str()),
    ];
    let run = binary_in(
        dir.path(),
        &env,
        &["tools", "call", "text_stats", "--json"],
        "{}",
    );
    assert_eq!(run.expect_code(1).json()["error"]["kind"], "denied");
    assert_eq!(records(&trail).len(), 1);

    // A policy named in the environment must exist, as one named by --policy.
    let missing = utf8(&dir.path().join("missing.toml"));
    let env = [("RUSTCHAIN_POLICY", missing.as_str())];
    let run = binary_in(dir.path(), &env, &["tools", "call", "time_now"], "").expect_code(2);
    assert!(run.err.contains("missing.toml"), "{}", run.err);
}

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
