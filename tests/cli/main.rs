//! The `rustchain` command line: listing, showing, schemas, calls and search,
//! their `--json` shapes and their exit codes.
//!
//! Most tests run the CLI in-process through `rustchain::cli::run_from` over the
//! tools of `my-tools` (`add`, `get_weather`, `path_length`, `slow_echo`) and
//! the built-ins (`text_stats`, `time_now`, the file, HTTP and command tools).
//! The tests of the real `rustchain` binary are its package's own
//! (`rustchain-cli/tests/binary.rs`, where cargo builds the binary for them).
//!
//! One module per command: `tools` (list, show, schema, call, search),
//! `guarded_calls` (`tools call` under a policy, into a trail), `policy`
//! (check, explain), `audit` (verify, report), `lock` (`tools lock`, `tools docs`), `scan` (`tools security-scan`), `market` (`tools publish`, `market ...`), `usage` (usage errors, help),
//! `manifests` (the `--json` manifests). The helpers they share are here and
//! in `tests/support/run.rs`.
//!
//! Files (policies, trails, keys) live in scratch folders under
//! `CARGO_TARGET_TMPDIR`. In-process tests always name their policy and
//! trail, or pass `--no-audit`: the working directory is shared by every test.

use std::io::{self, Read};
use std::path::Path;
use std::sync::OnceLock;

use my_tools as _;
use rustchain_builtin as _;
use serde_json::Value;

use run::{Run, records, scratch, utf8, write};

#[path = "../support/run.rs"]
mod run;

mod audit;
mod formats;
mod guarded_calls;
mod lock;
mod manifests;
mod market;
mod mission;
mod policy;
mod scan;
mod tools;
mod usage;

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
