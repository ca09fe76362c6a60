//! The `rustchain` command line: listing, showing, schemas, calls and search,
//! their `--json` shapes and their exit codes.
//!
//! Most tests run the CLI in-process through `rustchain::cli::run_from` over the
//! tools of `my-tools` (`add`, `get_weather`, `path_length`, `slow_echo`) and
//! the built-ins (`text_stats`, `time_now`, the file, HTTP and command tools);
//! those of `binary` run the real `rustchain` binary (package `rustchain-cli`),
//! which links only the built-ins, in a scratch working directory of its own.
//!
//! One module per command: `tools` (list, show, schema, call, search),
//! `guarded_calls` (`tools call` under a policy, into a trail), `policy`
//! (check, explain), `audit` (verify, report), `usage` (usage errors, help),
//! `manifests` (the `--json` manifests) and `binary`. The helpers they share
//! are here.
//!
//! Files (policies, trails, keys) live in scratch folders under
//! `CARGO_TARGET_TMPDIR`. In-process tests always name their policy and
//! trail, or pass `--no-audit`: the working directory is shared by every test.

use std::io::{self, Read};
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use my_tools as _;
use rustchain_builtin as _;
use serde_json::Value;

mod audit;
mod binary;
mod guarded_calls;
mod manifests;
mod policy;
mod tools;
mod usage;

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
