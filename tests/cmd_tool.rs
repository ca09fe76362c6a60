//! `cmd_run` under a policy: no shell, granted programs only, denied flags,
//! a filtered environment, process-group kill, capped output, Landlock.
//!
//! Each hostile call ends in a typed error, has no side effect (a marker
//! file it would create stays absent, a program that does not exist is
//! refused rather than failing to start), and leaves a record of the refusal
//! in the audit trail.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustchain::{ErrorKind, Executor, Policy, Registry, ToolContext, ToolError};
use rustchain_builtin as _;
use rustchain_tools::exec::MemoryAudit;
use serde_json::{Value, json};

/// An executor under a policy granting `programs` (TOML `[[programs]]`
/// entries), with `work` as its read and write root, and its audit trail.
struct Setup {
    executor: Executor,
    audit: Arc<MemoryAudit>,
    work: tempfile::TempDir,
}

const PROGRAMS: &str = r#"
[[programs]]
path = "/bin/echo"

[[programs]]
path = "/usr/bin/env"

[[programs]]
path = "/bin/cat"

[[programs]]
path = "/usr/bin/yes"

[[programs]]
path = "/nonexistent/git"
deny_flags = ["-c", "--exec-path", "--config-env"]

[[programs]]
path = "/usr/bin/find"
deny_flags = ["-exec", "-execdir", "-ok", "-okdir", "-delete"]

[[programs]]
path = "/usr/bin/tar"
deny_flags = ["--checkpoint-action", "--to-command", "--use-compress-program", "-I"]
"#;

/// `/bin/sh`, granted only where a test needs a shell to start a group.
const SHELL: &str = "[[programs]]\npath = \"/bin/sh\"\n";

fn setup_with(programs: &str, extra: &str) -> Setup {
    let work = tempfile::tempdir().expect("a temporary folder");
    let root = work.path().canonicalize().expect("the folder exists");
    let text = format!(
        r#"
default = "deny"
[tools]
allow = ["cmd_run"]
[fs]
read = [{root:?}]
write = [{root:?}]
[env]
allow = ["LANG", "RUSTCHAIN_CMD_TEST", "LD_PRELOAD"]
{extra}
{programs}
"#
    );
    let policy = Policy::from_toml(&text, "<cmd test>", Path::new("/")).expect("a valid policy");
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .audit(audit.clone())
        .build()
        .expect("the policy has no failing examples");
    Setup {
        executor,
        audit,
        work,
    }
}

fn setup() -> Setup {
    setup_with(PROGRAMS, "")
}

impl Setup {
    fn call(&self, args: Value) -> Result<Value, ToolError> {
        self.executor
            .call_value_blocking("cmd_run", &args, ToolContext::new())
            .map(|out| out.to_value())
    }

    fn run(&self, args: Value) -> Value {
        self.call(args.clone())
            .unwrap_or_else(|err| panic!("{args} should run: {err}"))
    }

    fn root(&self) -> PathBuf {
        self.work.path().canonicalize().expect("the folder exists")
    }

    fn marker(&self) -> PathBuf {
        self.root().join("marker")
    }

    /// The guard refused the call: a `denied` error and a deny decision.
    fn refused_by_policy(&self, args: Value) -> ToolError {
        let err = self
            .call(args.clone())
            .expect_err("the call should be refused");
        assert_eq!(err.kind(), ErrorKind::Denied, "{args}: {err}");
        let events = self.audit.events();
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == "decision" && e["decision"] == "deny"),
            "no deny decision recorded for {args}: {events:#?}"
        );
        assert!(
            !events.iter().any(|e| e["decision"] == "allow"),
            "{events:#?}"
        );
        err
    }

    /// A denied flag: the `#[run(args)]` guard refuses the call before the
    /// body runs, naming the program's `deny_flags` rule in a deny decision.
    fn refused_by_tool(&self, args: Value) -> ToolError {
        let err = self.refused_by_policy(args);
        assert!(err.message().contains("denies the flag"), "{err}");
        err
    }
}

#[test]
fn a_program_that_is_not_granted_is_refused() {
    let s = setup();
    let err = s.refused_by_policy(json!({"program": "/bin/sh", "args": ["-c", "id"]}));
    assert!(err.message().contains("not a granted program"), "{err}");
    let touch = format!("touch {}", s.marker().display());
    s.refused_by_policy(json!({"program": "/bin/sh", "args": ["-c", touch]}));
    assert!(!s.marker().exists());
}

#[test]
fn relative_programs_are_refused_without_a_path_lookup() {
    for program in ["echo", "bin/echo", "./echo", "../bin/echo", ""] {
        let s = setup();
        let err = s.refused_by_policy(json!({"program": program, "args": ["hi"]}));
        assert!(!err.message().is_empty());
    }
}

#[test]
fn shell_syntax_reaches_echo_literally() {
    let s = setup();
    let hostile = [
        "; rm -rf /",
        "$(id)",
        "`id`",
        "&& touch marker",
        "| cat",
        "*",
        "$HOME",
    ];
    let out = s.run(json!({"program": "/bin/echo", "args": hostile, "cwd": s.root()}));
    assert_eq!(out["stdout"], format!("{}\n", hostile.join(" ")));
    assert_eq!(out["exit_code"], 0);
    assert!(!s.marker().exists());
}

#[test]
fn git_config_flags_are_refused_before_anything_starts() {
    let s = setup();
    // The program does not exist: a refusal, not a failure to start, proves
    // the check came first.
    for args in [
        json!(["-c", "core.pager=touch marker", "log"]),
        json!(["-ccore.pager=x", "log"]),
        json!(["--exec-path=/tmp", "status"]),
        json!(["--config-env", "core.pager=EVIL"]),
    ] {
        let err = s.refused_by_tool(json!({"program": "/nonexistent/git", "args": args}));
        assert!(err.message().contains("the policy denies"), "{err}");
    }
}

#[test]
fn find_exec_is_refused_and_runs_nothing() {
    let s = setup();
    let root = s.root();
    let marker = s.marker();
    for flag in ["-exec", "-execdir", "--exec", "-exe"] {
        s.refused_by_tool(json!({
            "program": "/usr/bin/find",
            "args": [root, flag, "/usr/bin/touch", marker, ";"],
        }));
    }
    assert!(!marker.exists());
    // Without a denied flag, find runs.
    let out = s.run(json!({"program": "/usr/bin/find", "args": [root, "-maxdepth", "0"]}));
    assert_eq!(out["exit_code"], 0, "{out}");
}

#[test]
fn tar_checkpoint_action_is_refused_in_every_spelling() {
    let s = setup();
    let exec = format!("exec=touch {}", s.marker().display());
    for args in [
        json!([
            "-cf",
            "/dev/null",
            format!("--checkpoint-action={exec}"),
            "."
        ]),
        json!(["-cf", "/dev/null", "--checkpoint-action", exec, "."]),
        json!(["-cf", "/dev/null", format!("--checkpoint-act={exec}"), "."]),
        json!(["-cf", "/dev/null", "-Itouch", "."]),
    ] {
        s.refused_by_tool(json!({"program": "/usr/bin/tar", "args": args, "cwd": s.root()}));
    }
    assert!(!s.marker().exists());
}

#[test]
fn ld_preload_is_refused_even_though_the_policy_grants_it() {
    let s = setup();
    let err = s.refused_by_policy(json!({
        "program": "/usr/bin/env",
        "env": {"LD_PRELOAD": "/tmp/evil.so"},
    }));
    assert!(err.message().contains("LD_PRELOAD"), "{err}");
    for name in [
        "ld_preload",
        "LD_LIBRARY_PATH",
        "BASH_ENV",
        "PYTHONPATH",
        "GIT_SSH_COMMAND",
    ] {
        let s = setup();
        s.refused_by_policy(json!({"program": "/usr/bin/env", "env": {name: "x"}}));
    }
}

#[test]
fn a_variable_the_policy_does_not_grant_is_refused() {
    let s = setup();
    let err = s.refused_by_policy(json!({"program": "/usr/bin/env", "env": {"HOME": "/root"}}));
    assert!(err.message().contains("not granted"), "{err}");
}

#[test]
fn env_shows_only_the_granted_variables() {
    let s = setup();
    let out = s.run(json!({
        "program": "/usr/bin/env",
        "env": {"RUSTCHAIN_CMD_TEST": "visible"},
    }));
    let stdout = out["stdout"].as_str().expect("text");
    let names: Vec<&str> = stdout
        .lines()
        .map(|line| line.split('=').next().unwrap_or_default())
        .collect();
    assert!(stdout.contains("RUSTCHAIN_CMD_TEST=visible\n"), "{stdout}");
    for name in &names {
        assert!(
            ["LANG", "RUSTCHAIN_CMD_TEST"].contains(name),
            "{name} leaked into the child: {stdout}"
        );
    }
    // This test process has PATH and cargo's variables; none got through.
    assert!(std::env::var_os("PATH").is_some());
    assert!(!names.contains(&"PATH"));
}

#[test]
fn a_working_directory_outside_the_roots_is_refused() {
    let s = setup();
    s.refused_by_policy(json!({"program": "/bin/echo", "cwd": "/etc"}));
    let s = setup();
    let climb = s.root().join("..").join("..");
    s.refused_by_policy(json!({"program": "/bin/echo", "cwd": climb}));
}

#[test]
fn a_program_runs_in_its_working_directory() {
    let s = setup();
    std::fs::write(s.root().join("note.txt"), "in the root").expect("write");
    let out = s.run(json!({"program": "/bin/cat", "args": ["note.txt"], "cwd": s.root()}));
    assert_eq!(out["stdout"], "in the root", "{out}");
}

#[test]
fn a_non_zero_exit_is_a_result_with_stderr_apart() {
    let s = setup_with(SHELL, "");
    let out = s.run(json!({
        "program": "/bin/sh",
        "args": ["-c", "echo out; echo err >&2; exit 3"],
    }));
    assert_eq!(out["exit_code"], 3);
    assert_eq!(out["signal"], Value::Null);
    assert_eq!(out["stdout"], "out\n");
    assert_eq!(out["stderr"], "err\n");
    assert_eq!(out["timed_out"], false);
}

#[test]
fn a_signal_that_ends_the_program_is_reported() {
    let s = setup_with(SHELL, "");
    let out = s.run(json!({"program": "/bin/sh", "args": ["-c", "kill -TERM $$"]}));
    assert_eq!(out["exit_code"], Value::Null, "{out}");
    assert_eq!(out["signal"], 15);
    assert_eq!(out["signal_name"], "SIGTERM");
}

/// A shell that writes its pid and its two background sleepers' pids to
/// `pids`, then waits on them.
const SLEEPERS: &str =
    "echo $$ > pids; /bin/sleep 300 & echo $! >> pids; /bin/sleep 300 & echo $! >> pids; wait";

fn pids(root: &Path) -> Vec<i32> {
    let text = std::fs::read_to_string(root.join("pids")).expect("the shell wrote its pids");
    let pids: Vec<i32> = text
        .lines()
        .map(|l| l.trim().parse().expect("a pid"))
        .collect();
    assert_eq!(pids.len(), 3, "{text}");
    pids
}

/// Whether `pid` is running: it exists and is not a zombie waiting for a
/// parent to reap it (this sandbox's init does not reap orphans).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            !matches!(state, Some("Z" | "X"))
        }
    }
}

/// Live processes whose process group is `group`.
fn group_members(group: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let fields: Vec<&str> = stat
                    .rsplit(')')
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect();
                // After the name: state, ppid, pgrp.
                fields.get(2) == Some(&group.to_string().as_str())
                    && !matches!(fields.first(), Some(&"Z" | &"X"))
            })
        })
        .collect()
}

fn assert_group_gone(pids: &[i32]) {
    let leader = pids[0];
    // SIGKILL is delivered at once but a process takes a moment to die.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until
        && (pids.iter().any(|&p| running(p)) || !group_members(leader).is_empty())
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &pid in pids {
        assert!(!running(pid), "process {pid} of the group is still running");
    }
    assert_eq!(group_members(leader), Vec::<i32>::new());
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let s = setup_with(SHELL, "");
    let started = Instant::now();
    let out = s.run(json!({
        "program": "/bin/sh",
        "args": ["-c", SLEEPERS],
        "cwd": s.root(),
        "timeout_ms": 1000,
    }));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out["timed_out"], true, "{out}");
    assert_eq!(out["signal_name"], "SIGKILL");
    assert_group_gone(&pids(&s.root()));
}

#[test]
fn the_calls_own_timeout_is_an_error_and_kills_the_whole_group() {
    let s = setup_with(SHELL, "[limits.tool.cmd_run]\ntimeout = \"1s\"\n");
    let started = Instant::now();
    let err = s
        .call(json!({"program": "/bin/sh", "args": ["-c", SLEEPERS], "cwd": s.root()}))
        .expect_err("the call times out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_group_gone(&pids(&s.root()));
}

#[test]
fn cancelling_the_call_kills_the_whole_group() {
    let s = setup_with(SHELL, "");
    let token = rustchain::CancellationToken::new();
    let root = s.root();
    let canceller = {
        let (token, pids) = (token.clone(), root.join("pids"));
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(5);
            while Instant::now() < until
                && std::fs::read_to_string(&pids).map_or(0, |t| t.lines().count()) < 3
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            token.cancel();
        })
    };
    let err = s
        .executor
        .call_value_blocking(
            "cmd_run",
            &json!({"program": "/bin/sh", "args": ["-c", SLEEPERS], "cwd": root}),
            ToolContext::new().with_cancellation(token),
        )
        .expect_err("the call is cancelled");
    canceller.join().expect("the canceller ran");
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert_group_gone(&pids(&root));
}

#[test]
fn background_processes_die_with_the_program() {
    let s = setup_with(SHELL, "");
    let script =
        "echo $$ > pids; /bin/sleep 300 & echo $! >> pids; /bin/sleep 300 & echo $! >> pids";
    let out = s.run(json!({"program": "/bin/sh", "args": ["-c", script], "cwd": s.root()}));
    assert_eq!(out["exit_code"], 0, "{out}");
    assert_group_gone(&pids(&s.root()));
}

#[test]
fn yes_is_capped_without_deadlock() {
    let s = setup();
    let started = Instant::now();
    let out = s.run(json!({"program": "/usr/bin/yes", "max_output_bytes": 1000}));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out["stdout"], "y\n".repeat(500));
    assert_eq!(out["stdout_truncated"], true);
    assert!(
        out["stdout_bytes_seen"].as_u64().expect("a count") > 1000,
        "{out}"
    );
    assert_eq!(out["output_flooded"], true);
    assert_eq!(out["signal_name"], "SIGKILL");
    assert_eq!(out["stderr"], "");
    assert_eq!(out["stderr_truncated"], false);
}

#[test]
fn output_past_the_cap_is_counted_and_the_program_finishes() {
    let s = setup_with(SHELL, "");
    // 200,000 bytes: past the cap, well short of the flood limit.
    let out = s.run(json!({
        "program": "/bin/sh",
        "args": ["-c", "i=0; while [ $i -lt 20000 ]; do echo 123456789; i=$((i+1)); done; exit 4"],
        "max_output_bytes": 100,
    }));
    assert_eq!(out["exit_code"], 4, "{out}");
    assert_eq!(out["stdout_bytes_seen"], 200_000);
    assert_eq!(out["stdout"].as_str().map(str::len), Some(100));
    assert_eq!(out["output_flooded"], false);
}

#[test]
fn a_nul_byte_in_an_argument_is_refused_by_the_guard() {
    let s = setup();
    let err = s.refused_by_policy(json!({"program": "/bin/echo", "args": ["ok", "a\u{0}b"]}));
    assert!(err.message().contains("NUL"), "{err}");
}

#[test]
fn oversized_caps_and_zero_timeouts_are_refused() {
    let s = setup();
    for args in [
        json!({"program": "/bin/echo", "max_output_bytes": 1u64 << 30}),
        json!({"program": "/bin/echo", "timeout_ms": 0}),
    ] {
        let err = s.call(args.clone()).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidArguments, "{args}: {err}");
        assert!(err.path().is_some(), "{err}");
    }
}

#[test]
fn landlock_confines_the_program_to_the_roots_when_the_kernel_has_it() {
    let s = setup_with(SHELL, "");
    let outside = tempfile::tempdir().expect("a second folder");
    std::fs::write(outside.path().join("secret"), "outside the roots").expect("write");
    let secret = outside.path().join("secret");
    let out = s.run(json!({
        "program": "/bin/sh",
        "args": ["-c", "echo written > made.txt; /bin/cat \"$1\"", "sh", secret],
        "cwd": s.root(),
    }));
    // Writing in a write root works either way.
    assert_eq!(
        std::fs::read_to_string(s.root().join("made.txt"))
            .ok()
            .as_deref(),
        Some("written\n"),
        "{out}"
    );
    match out["landlock"].as_str() {
        Some("full" | "partial") => {
            assert!(out["stdout"].as_str().is_some_and(str::is_empty), "{out}");
            assert!(
                out["stderr"]
                    .as_str()
                    .is_some_and(|e| e.contains("Permission denied")),
                "{out}"
            );
        }
        Some("not_supported") => {
            eprintln!("this kernel has no Landlock: the program is not confined");
            assert_eq!(out["stdout"], "outside the roots");
        }
        other => panic!("unexpected landlock status {other:?}"),
    }
}

#[test]
fn the_descriptor_declares_what_the_tool_touches() {
    let tool = Registry::global()
        .get("cmd_run")
        .expect("cmd_run is linked");
    let descriptor = tool.descriptor();
    let params: Vec<&str> = descriptor.permissions.iter().map(|p| p.param).collect();
    assert_eq!(params, ["program", "args", "cwd", "env"]);
    assert_eq!(descriptor.annotations.destructive, Some(true));
    assert_eq!(descriptor.annotations.open_world, Some(true));
    assert!(descriptor.timeout.is_some());
}

#[test]
fn explain_agrees_with_the_call_when_the_tool_refuses_a_value_itself() {
    let s = setup();
    let args = json!({"program": "/bin/echo", "env": {"LD_PRELOAD": "/tmp/evil.so"}}).to_string();
    let explained = s.executor.explain("cmd_run", &args);
    assert_eq!(
        explained.verdict,
        rustchain::policy::Verdict::Deny,
        "{explained:?}"
    );
    assert!(s.audit.events().is_empty(), "explain records nothing");
}
