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

/// `/bin/sh`, granted only where a test needs a shell to start a group,
/// with the two programs those tests let it start.
const SHELL: &str = "[[programs]]\npath = \"/bin/sh\"\nhelpers = [\"/bin/sleep\", \"/bin/cat\"]\n";

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
    let (executor, audit) = executor_for(&text, "<cmd test>", Path::new("/"));
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
/// `pids` (as its own PID namespace numbers them), then waits on them. Each
/// sleeper sleeps a duration unique to the test (`300.<nanos>`), so the
/// processes can be found from outside the namespace by their command line.
fn sleepers(token: &str) -> String {
    format!(
        "echo $$ > pids; /bin/sleep {token} & echo $! >> pids; /bin/sleep {token} & echo $! >> pids; wait"
    )
}

/// A sleep duration no other test uses.
fn unique_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("300.{nanos:09}{}", std::process::id() % 1000)
}

/// The shell wrote its three pids: it and both sleepers started.
fn started(root: &Path) -> bool {
    std::fs::read_to_string(root.join("pids")).is_ok_and(|t| t.lines().count() == 3)
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

/// Live processes (seen from this namespace) whose command line holds `token`.
fn holding(token: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|&pid| pid != me && running(pid))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).contains(token))
        })
        .collect()
}

/// Nothing that holds `token` is left running (SIGKILL is delivered at
/// once, but a process takes a moment to die).
fn assert_gone(token: &str) {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until && !holding(token).is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(holding(token), Vec::<i32>::new(), "still running");
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let s = setup_with(SHELL, "");
    let token = unique_token();
    let begun = Instant::now();
    let out = s.run(json!({
        "program": "/bin/sh",
        "args": ["-c", sleepers(&token)],
        "cwd": s.root(),
        "timeout_ms": 1000,
    }));
    assert!(begun.elapsed() < Duration::from_secs(5));
    assert_eq!(out["timed_out"], true, "{out}");
    assert_eq!(out["signal_name"], "SIGKILL");
    assert!(started(&s.root()));
    assert_gone(&token);
}

#[test]
fn the_calls_own_timeout_is_an_error_and_kills_the_whole_group() {
    let s = setup_with(SHELL, "[limits.tool.cmd_run]\ntimeout = \"1s\"\n");
    let token = unique_token();
    let begun = Instant::now();
    let err = s
        .call(json!({"program": "/bin/sh", "args": ["-c", sleepers(&token)], "cwd": s.root()}))
        .expect_err("the call times out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(begun.elapsed() < Duration::from_secs(5));
    assert!(started(&s.root()));
    assert_gone(&token);
}

#[test]
fn cancelling_the_call_kills_the_whole_group() {
    let s = setup_with(SHELL, "");
    let token = rustchain::CancellationToken::new();
    let sleep = unique_token();
    let root = s.root();
    let canceller = {
        let (token, root) = (token.clone(), root.clone());
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(5);
            while Instant::now() < until && !started(&root) {
                std::thread::sleep(Duration::from_millis(10));
            }
            token.cancel();
        })
    };
    let err = s
        .executor
        .call_value_blocking(
            "cmd_run",
            &json!({"program": "/bin/sh", "args": ["-c", sleepers(&sleep)], "cwd": root}),
            ToolContext::new().with_cancellation(token),
        )
        .expect_err("the call is cancelled");
    canceller.join().expect("the canceller ran");
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(started(&root));
    assert_gone(&sleep);
}

#[test]
fn background_processes_die_with_the_program() {
    let s = setup_with(SHELL, "");
    let token = unique_token();
    let script = sleepers(&token).replace("; wait", "");
    let out = s.run(json!({"program": "/bin/sh", "args": ["-c", script], "cwd": s.root()}));
    assert_eq!(out["exit_code"], 0, "{out}");
    assert!(started(&s.root()));
    assert_gone(&token);
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

// The kernel sandbox: each attack of issue 8 that a granted program's child
// could make, refused by the kernel rather than by argument checks.

/// An executor under `policy` (TOML), with `base` as the policy's folder.
fn setup_policy(policy: &str, base: &Path) -> (Executor, Arc<MemoryAudit>) {
    let text = format!("default = \"deny\"\n[tools]\nallow = [\"cmd_run\"]\n{policy}");
    executor_for(&text, "<sandbox test>", base)
}

/// An executor under the policy `text` (named `origin` in its rules, with
/// `base` as its folder), recording into memory.
fn executor_for(text: &str, origin: &str, base: &Path) -> (Executor, Arc<MemoryAudit>) {
    let policy = Policy::from_toml(text, origin, base).expect("a valid policy");
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .audit(audit.clone())
        .build()
        .expect("the policy has no failing examples");
    (executor, audit)
}

fn call_with(executor: &Executor, args: Value) -> Result<Value, ToolError> {
    executor
        .call_value_blocking("cmd_run", &args, ToolContext::new())
        .map(|out| out.to_value())
}

#[test]
fn env_cannot_execute_a_shell() {
    let s = setup();
    let touch = format!("echo pwned > {}", s.marker().display());
    let out = s.run(json!({
        "program": "/usr/bin/env",
        "args": ["/bin/sh", "-c", touch],
        "cwd": s.root(),
    }));
    assert_ne!(out["exit_code"], 0, "{out}");
    assert!(
        out["stderr"]
            .as_str()
            .is_some_and(|e| e.contains("Permission denied")),
        "{out}"
    );
    assert!(!s.marker().exists(), "the shell ran: {out}");
}

#[test]
fn a_shell_runs_its_helpers_and_nothing_else() {
    let s = setup_with(SHELL, "");
    let out = s.run(json!({
        "program": "/bin/sh",
        "args": ["-c", "/bin/cat /dev/null && echo cat-ran; /usr/bin/id || echo id-refused"],
        "cwd": s.root(),
    }));
    assert_eq!(out["stdout"], "cat-ran\nid-refused\n", "{out}");
}

#[test]
fn ld_preload_in_envs_arguments_is_refused_and_recorded() {
    let helpers = "[[programs]]\npath = \"/usr/bin/env\"\nhelpers = [\"/bin/echo\"]\n";
    for args in [
        json!(["LD_PRELOAD=/tmp/evil.so", "/bin/echo", "hi"]),
        json!(["-i", "LD_AUDIT=/tmp/evil.so", "/bin/echo"]),
        json!(["-S", "LD_PRELOAD=/tmp/evil.so /bin/echo hi"]),
        json!(["BASH_ENV=/tmp/x", "/bin/echo"]),
    ] {
        let s = setup_with(helpers, "");
        let err = s.refused_by_policy(json!({"program": "/usr/bin/env", "args": args}));
        assert!(err.message().contains("loads code"), "{err}");
    }
    // A plain variable through env's arguments is fine.
    let s = setup_with(helpers, "");
    let out = s.run(json!({"program": "/usr/bin/env", "args": ["A=1", "/bin/echo", "hi"]}));
    assert_eq!(out["stdout"], "hi\n", "{out}");
}

/// Builds a library whose constructor creates `marker`, or `None` without a C compiler.
fn evil_library(dir: &Path, marker: &Path) -> Option<PathBuf> {
    let source = dir.join("evil.c");
    let library = dir.join("evil.so");
    std::fs::write(
        &source,
        format!(
            "#include <fcntl.h>\n__attribute__((constructor)) static void pwn(void) {{ open({:?}, O_CREAT | O_WRONLY, 0644); }}\n",
            marker.display().to_string()
        ),
    )
    .expect("write the source");
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .ok()?;
    built.success().then_some(library)
}

#[test]
fn a_library_the_program_could_write_is_never_loaded() {
    let s = setup_with(SHELL.replace("\"/bin/cat\"", "\"/bin/echo\"").as_str(), "");
    let Some(library) = evil_library(&s.root(), &s.marker()) else {
        eprintln!("no C compiler here: the library cannot be built");
        return;
    };
    // The argument filter cannot read shell quoting: the kernel must stop it.
    let script = format!("export LD_PRE\"\"LOAD={}; /bin/echo hi", library.display());
    let out = s.run(json!({"program": "/bin/sh", "args": ["-c", script], "cwd": s.root()}));
    assert_eq!(out["stdout"], "hi\n", "{out}");
    assert!(!s.marker().exists(), "the library's constructor ran: {out}");
}

#[test]
fn a_setsid_grandchild_does_not_outlive_the_call() {
    let program =
        "[[programs]]\npath = \"/bin/sh\"\nhelpers = [\"/usr/bin/setsid\", \"/bin/sleep\"]\n";
    let s = setup_with(program, "");
    let token = unique_token();
    let script = format!("/usr/bin/setsid /bin/sleep {token} > /dev/null 2>&1 & echo started");
    let begun = Instant::now();
    let out = s.run(json!({"program": "/bin/sh", "args": ["-c", script], "cwd": s.root()}));
    assert_eq!(out["stdout"], "started\n", "{out}");
    assert!(begun.elapsed() < Duration::from_secs(5), "{out}");
    assert_eq!(out["isolated"], true, "{out}");
    assert_gone(&token);
}

#[test]
fn a_child_cannot_connect_to_an_ungranted_loopback_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("an address").port();
    let s = setup_with("[[programs]]\npath = \"/bin/bash\"\n", "");
    let script = format!("echo hello > /dev/tcp/127.0.0.1/{port} && echo connected");
    let out = s.run(json!({"program": "/bin/bash", "args": ["-c", script], "cwd": s.root()}));
    assert_ne!(out["stdout"], "connected\n", "{out}");
    // Bounded: a connection would have been made before the call returned.
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        match listener.accept() {
            Ok((_, peer)) => panic!("the child connected from {peer}: {out}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

// A program granted hosts: its own network namespace whose only way out is
// the executor's proxy, which checks each target as `http_request` checks a
// hop. Loopback only; every wait bounded.

/// A loopback HTTP server answering every request with `body`, counting
/// the connections it accepts, for as long as the test holds it.
struct Upstream {
    port: u16,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Upstream {
    fn start(body: &'static str) -> Upstream {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("an address").port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (count, stopped) = (Arc::clone(&accepted), Arc::clone(&stop));
        std::thread::spawn(move || {
            // Bounded: a test holds a server for seconds, never a minute.
            let until = Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::Relaxed) && Instant::now() < until {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                count.fetch_add(1, Ordering::Relaxed);
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && matches!(stream.read(&mut byte), Ok(1)) {
                    head.push(byte[0]);
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Upstream {
            port,
            accepted,
            stop,
        }
    }

    fn connections(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn curl_installed() -> bool {
    let here = Path::new("/usr/bin/curl").exists();
    if !here {
        eprintln!("no /usr/bin/curl on this machine: the curl cases are skipped");
    }
    here
}

/// The proxy's deny decisions recorded so far, as (rule, reason).
fn proxy_refusals(audit: &MemoryAudit) -> Vec<(String, String)> {
    audit
        .events()
        .iter()
        .filter(|e| e["kind"] == "decision" && e["decision"] == "deny")
        .filter(|e| {
            e["decision.rule"]
                .as_str()
                .is_some_and(|r| r.contains("cmd_run proxy"))
        })
        .map(|e| {
            (
                e["decision.rule"].as_str().unwrap_or_default().to_owned(),
                e["decision.reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_program_granted_one_host_reaches_it_through_the_proxy_and_nothing_else() {
    if !curl_installed() {
        return;
    }
    let granted = Upstream::start("hello from the granted host");
    let other = Upstream::start("should never be seen");
    let program = format!(
        "[[programs]]\npath = \"/usr/bin/curl\"\nhosts = [\"127.0.0.1:{}\"]\n",
        granted.port
    );
    let s = setup_with(&program, "");
    let curl = |args: Vec<String>| {
        let mut all = vec!["-sS".to_owned(), "--max-time".to_owned(), "5".to_owned()];
        all.extend(args);
        s.run(json!({"program": "/usr/bin/curl", "args": all, "cwd": s.root()}))
    };
    // Plain HTTP in absolute form, then the same through a CONNECT tunnel.
    let url = format!("http://127.0.0.1:{}/", granted.port);
    for args in [vec![url.clone()], vec!["--proxytunnel".to_owned(), url]] {
        let out = curl(args);
        assert_eq!(out["stdout"], "hello from the granted host", "{out}");
        assert_eq!(out["exit_code"], 0, "{out}");
    }
    assert_eq!(granted.connections(), 2);
    // Another port of the same address: refused by the proxy, either way.
    let url = format!("http://127.0.0.1:{}/", other.port);
    let out = curl(vec![
        "-o".into(),
        "/dev/null".into(),
        "-w".into(),
        "%{http_code}".into(),
        url.clone(),
    ]);
    assert_eq!(out["stdout"], "403", "{out}");
    let out = curl(vec!["--proxytunnel".into(), url]);
    assert_ne!(out["exit_code"], 0, "{out}");
    assert!(
        out["stderr"].as_str().is_some_and(|e| e.contains("403")),
        "{out}"
    );
    assert_eq!(other.connections(), 0, "the ungranted port was reached");
    let refusals = proxy_refusals(&s.audit);
    assert_eq!(refusals.len(), 2, "{refusals:#?}");
    for (rule, reason) in &refusals {
        assert!(rule.contains("/usr/bin/curl"), "{rule}");
        assert!(
            reason.contains(&format!("127.0.0.1:{}", other.port)),
            "{reason}"
        );
    }
    // The summary no longer says the kernel leaves it the host's network.
    let summary = s.executor.policy().summary().join("\n");
    assert!(
        summary.contains("through the executor's proxy"),
        "{summary}"
    );
}

/// A bash script run with `hosts` granted: `$PROXY` is the proxy's port,
/// read from `HTTP_PROXY` as the executor set it.
fn bash_with_hosts(hosts: &[String], extra: &str, script: &str) -> (Setup, Value) {
    let hosts: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    let program = format!(
        "[[programs]]\npath = \"/bin/bash\"\nhosts = [{}]\n",
        hosts.join(", ")
    );
    let s = setup_with(&program, extra);
    let script = format!("PROXY=${{HTTP_PROXY##*:}}\n{script}");
    let out = s.run(json!({"program": "/bin/bash", "args": ["-c", script], "cwd": s.root()}));
    (s, out)
}

/// A bash script that sends `head` to the proxy and prints its status line.
fn ask_proxy(head: &str) -> String {
    format!(
        "exec 3<>/dev/tcp/127.0.0.1/$PROXY || exit 9\nprintf '{head}' >&3\nread -r -t 5 line <&3\necho \"${{line%$'\\r'}}\"\n"
    )
}

#[test]
fn a_program_granted_hosts_cannot_connect_directly_even_to_them() {
    let granted = Upstream::start("granted");
    let other = Upstream::start("other");
    let script = format!(
        "echo x > /dev/tcp/127.0.0.1/{} && echo reached-granted\necho x > /dev/tcp/127.0.0.1/{} && echo reached-other\necho done",
        granted.port, other.port
    );
    let (_s, out) = bash_with_hosts(&[format!("127.0.0.1:{}", granted.port)], "", &script);
    assert_eq!(out["stdout"], "done\n", "{out}");
    // Bounded: a connection would have been made before the call returned.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(granted.connections() + other.connections(), 0, "{out}");
}

#[test]
fn connect_to_an_ip_literal_not_granted_is_refused_in_every_encoding() {
    let granted = Upstream::start("granted");
    let other = Upstream::start("other");
    let mut script = String::new();
    let targets = [
        format!("127.0.0.1:{}", other.port),
        format!("2130706433:{}", other.port),
        format!("0x7f.1:{}", other.port),
        format!("[::ffff:127.0.0.1]:{}", other.port),
        "10.0.0.1:443".to_owned(),
        "169.254.169.254:80".to_owned(),
    ];
    for target in &targets {
        script.push_str(&ask_proxy(&format!(
            "CONNECT {target} HTTP/1.1\\r\\n\\r\\n"
        )));
    }
    script.push_str(&ask_proxy(&format!(
        "CONNECT 127.0.0.1:{} HTTP/1.1\\r\\n\\r\\n",
        granted.port
    )));
    let (s, out) = bash_with_hosts(&[format!("127.0.0.1:{}", granted.port)], "", &script);
    let lines: Vec<&str> = out["stdout"].as_str().unwrap_or_default().lines().collect();
    assert_eq!(lines.len(), targets.len() + 1, "{out}");
    for line in &lines[..targets.len()] {
        assert_eq!(*line, "HTTP/1.1 403 Forbidden", "{out}");
    }
    assert_eq!(
        lines[targets.len()],
        "HTTP/1.1 200 Connection established",
        "{out}"
    );
    assert_eq!(other.connections(), 0);
    assert_eq!(proxy_refusals(&s.audit).len(), targets.len());
}

#[test]
fn a_granted_name_that_resolves_into_a_denied_range_is_refused() {
    let up = Upstream::start("local");
    let head = format!("CONNECT localhost:{} HTTP/1.1\\r\\n\\r\\n", up.port);
    // Granted by name and by address, but `[net] deny` covers the address
    // the name resolves to.
    let (s, out) = bash_with_hosts(
        &[
            format!("localhost:{}", up.port),
            format!("127.0.0.1:{}", up.port),
        ],
        "[net]\ndeny = [\"127.0.0.0/8\"]\n",
        &ask_proxy(&head),
    );
    assert_eq!(out["stdout"], "HTTP/1.1 403 Forbidden\n", "{out}");
    let refusals = proxy_refusals(&s.audit);
    assert!(
        refusals
            .iter()
            .any(|(_, reason)| reason.contains("127.0.0.0/8")),
        "{refusals:#?}"
    );
    // Granted by name only: a loopback answer needs a grant of its address.
    let (s, out) = bash_with_hosts(&[format!("localhost:{}", up.port)], "", &ask_proxy(&head));
    assert_eq!(out["stdout"], "HTTP/1.1 403 Forbidden\n", "{out}");
    let refusals = proxy_refusals(&s.audit);
    assert!(
        refusals
            .iter()
            .any(|(_, reason)| reason.contains("loopback")),
        "{refusals:#?}"
    );
    assert_eq!(up.connections(), 0);
}

#[test]
fn the_proxy_variables_are_the_executors_and_a_models_are_refused() {
    let program = "[[programs]]\npath = \"/usr/bin/env\"\nhosts = [\"127.0.0.1:9\"]\n";
    let policy =
        format!("[env]\nallow = [\"HTTPS_PROXY\", \"NO_PROXY\", \"all_proxy\"]\n{program}");
    let (executor, audit) = setup_policy(&policy, Path::new("/"));
    let out = call_with(&executor, json!({"program": "/usr/bin/env"})).expect("env runs");
    let stdout = out["stdout"].as_str().unwrap_or_default();
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        assert!(
            stdout.contains(&format!("{name}=http://127.0.0.1:3128\n")),
            "{name}: {out}"
        );
    }
    assert!(!stdout.to_ascii_uppercase().contains("NO_PROXY"), "{out}");
    for (name, value) in [
        ("HTTPS_PROXY", "http://127.0.0.1:1"),
        ("NO_PROXY", "*"),
        ("all_proxy", "socks5://x"),
    ] {
        let err = call_with(
            &executor,
            json!({"program": "/usr/bin/env", "env": {name: value}}),
        )
        .expect_err("a model's proxy variable is refused");
        assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
        assert!(err.message().contains("set by the executor"), "{err}");
    }
    let denials = audit
        .events()
        .iter()
        .filter(|e| e["kind"] == "decision" && e["decision"] == "deny")
        .count();
    assert_eq!(denials, 3);
}

#[test]
fn the_proxy_and_its_connections_end_when_the_call_ends() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    let held = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the proxy connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("a timeout");
        let mut rest = Vec::new();
        // EOF, not a timeout: the proxy closed its side.
        let read = stream.read_to_end(&mut rest);
        (read.map_err(|e| e.kind()), Instant::now())
    });
    // The program opens a tunnel and keeps it open past its own timeout.
    let script = format!(
        "{}read -r -t 5 blank <&3\nread -r -t 30 more <&3\n",
        ask_proxy(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1\\r\\n\\r\\n"))
    );
    let program = format!("[[programs]]\npath = \"/bin/bash\"\nhosts = [\"127.0.0.1:{port}\"]\n");
    let s = setup_with(&program, "");
    let script = format!("PROXY=${{HTTP_PROXY##*:}}\n{script}");
    let out = s.run(json!({
        "program": "/bin/bash",
        "args": ["-c", script],
        "timeout_ms": 1500,
    }));
    let returned = Instant::now();
    assert_eq!(out["timed_out"], true, "{out}");
    assert_eq!(
        out["stdout"], "HTTP/1.1 200 Connection established\n",
        "{out}"
    );
    let (read, closed) = held.join().expect("the server thread");
    assert_eq!(read, Ok(0), "{out}");
    assert!(
        closed <= returned + Duration::from_secs(2),
        "closed long after the call"
    );
}

/// The attack-5 layout: `W` read, `W/out` write, `deny = ["secrets/**",
/// "out/secrets/**"]` (anchored at `W`, the policy's folder): one denied
/// folder in the read root, one in the write root.
struct Layered {
    executor: Executor,
    audit: Arc<MemoryAudit>,
    work: PathBuf,
    _dir: tempfile::TempDir,
}

fn layered(programs: &str) -> Layered {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let work = dir.path().canonicalize().expect("the folder exists");
    for folder in ["secrets", "out", "out/secrets"] {
        std::fs::create_dir_all(work.join(folder)).expect("mkdir");
    }
    std::fs::write(work.join("secrets/key"), "top secret").expect("write");
    std::fs::write(work.join("out/secrets/k"), "secret in out").expect("write");
    std::fs::write(work.join("out/x.txt"), "write-only content").expect("write");
    std::fs::write(work.join("notes.txt"), "readable").expect("write");
    let policy = format!(
        "[fs]\nread = [{work:?}]\nwrite = [{:?}]\ndeny = [\"secrets/**\", \"out/secrets/**\"]\n{programs}",
        work.join("out")
    );
    let (executor, audit) = setup_policy(&policy, &work);
    Layered {
        executor,
        audit,
        work,
        _dir: dir,
    }
}

#[test]
fn a_granted_program_cannot_read_denied_files() {
    let l = layered("[[programs]]\npath = \"/bin/cat\"\n");
    let cat = |file: &str| {
        call_with(
            &l.executor,
            json!({"program": "/bin/cat", "args": [file], "cwd": l.work}),
        )
        .unwrap_or_else(|err| panic!("cat {file} should run: {err}"))
    };
    let readable = cat("notes.txt");
    assert_eq!(readable["stdout"], "readable", "{readable}");
    // `out` lies in the read root: readable, as fs_read would allow.
    assert_eq!(cat("out/x.txt")["stdout"], "write-only content");
    for file in ["secrets/key", "out/secrets/k"] {
        let out = cat(file);
        assert_ne!(out["exit_code"], 0, "{file}: {out}");
        assert_eq!(out["stdout"], "", "{file} was read: {out}");
    }
    assert!(l.audit.events().iter().all(|e| e["decision"] != "deny"));
}

#[test]
fn a_deny_glob_the_sandbox_cannot_mask_refuses_the_run() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let work = dir.path().canonicalize().expect("the folder exists");
    let policy = format!(
        "[fs]\nread = [{work:?}]\nwrite = [{work:?}]\ndeny = [\"**/.env\"]\n[[programs]]\npath = \"/bin/echo\"\n"
    );
    let (executor, audit) = setup_policy(&policy, &work);
    let err = call_with(
        &executor,
        json!({"program": "/bin/echo", "args": ["hi"], "cwd": work}),
    )
    .expect_err("the run is refused");
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(err.message().contains("**/.env"), "{err}");
    assert!(err.message().contains("weaker"), "{err}");
    let events = audit.events();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "result" && e.to_string().contains("denied")),
        "{events:#?}"
    );
    // Accepting weaker confinement runs it, and says so in the summary.
    let weaker = policy.replace(
        "path = \"/bin/echo\"\n",
        "path = \"/bin/echo\"\nconfinement = \"weaker\"\n",
    );
    let (executor, _) = setup_policy(&weaker, &work);
    let out = call_with(
        &executor,
        json!({"program": "/bin/echo", "args": ["hi"], "cwd": work}),
    )
    .expect("weaker confinement runs");
    assert_eq!(out["stdout"], "hi\n");
    let summary = executor.policy().summary().join("\n");
    assert!(summary.contains("accepts weaker confinement"), "{summary}");
}

#[test]
fn a_write_only_root_is_writable_but_not_readable() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let work = dir.path().canonicalize().expect("the folder exists");
    for folder in ["in", "out"] {
        std::fs::create_dir(work.join(folder)).expect("mkdir");
    }
    std::fs::write(work.join("out/x.txt"), "write-only content").expect("write");
    let policy = format!(
        "[fs]\nread = [{:?}]\nwrite = [{:?}]\n{SHELL}",
        work.join("in"),
        work.join("out")
    );
    let (executor, _) = setup_policy(&policy, &work);
    let out = call_with(
        &executor,
        json!({
            "program": "/bin/sh",
            "args": ["-c", "echo made > ../out/new.txt; /bin/cat ../out/x.txt"],
            "cwd": work.join("in"),
        }),
    )
    .expect("the shell runs");
    assert_eq!(
        std::fs::read_to_string(work.join("out/new.txt"))
            .ok()
            .as_deref(),
        Some("made\n"),
        "{out}"
    );
    assert_eq!(out["stdout"], "", "the write-only file was read: {out}");
    assert!(
        out["stderr"]
            .as_str()
            .is_some_and(|e| e.contains("Permission denied")),
        "{out}"
    );
}

#[test]
fn a_program_cannot_flood_the_trail_with_refusals() {
    let up = Upstream::start("granted");
    let one = ask_proxy("CONNECT 10.0.0.1:443 HTTP/1.1\\r\\n\\r\\n");
    let script = format!("for i in $(seq 1 40); do\n{one}done\n");
    let program = format!(
        "[[programs]]\npath = \"/bin/bash\"\nhelpers = [\"/usr/bin/seq\"]\nhosts = [\"127.0.0.1:{}\"]\n",
        up.port
    );
    let s = setup_with(&program, "");
    let script = format!("PROXY=${{HTTP_PROXY##*:}}\n{script}");
    let out = s.run(json!({"program": "/bin/bash", "args": ["-c", script], "cwd": s.root()}));
    let answered = out["stdout"].as_str().unwrap_or_default().lines();
    assert_eq!(
        answered
            .filter(|line| *line == "HTTP/1.1 403 Forbidden")
            .count(),
        40,
        "{out}"
    );
    let refusals = proxy_refusals(&s.audit);
    assert_eq!(refusals.len(), 32, "at most 32 recorded");
    assert!(
        refusals[31].1.contains("further refusals"),
        "{:?}",
        refusals[31]
    );
    assert!(!refusals[30].1.contains("further refusals"));
}

// ---------------------------------------------------------------------------
// `allow_args`: the only argument forms a program may be given.

/// An executor whose policy starts with `programs` on its second line, so a
/// rule's line is the line within `programs` plus one, with `work` as its
/// read and write root.
fn allow_args_setup(programs: &str) -> Setup {
    let work = tempfile::tempdir().expect("a temporary folder");
    let root = work.path().canonicalize().expect("the folder exists");
    let text = format!(
        "default = \"deny\"\n{programs}\n[tools]\nallow = [\"cmd_run\"]\n[fs]\nread = [{root:?}]\nwrite = [{root:?}]\n"
    );
    let (executor, audit) = executor_for(&text, "<args test>", Path::new("/"));
    Setup {
        executor,
        audit,
        work,
    }
}

/// The `FILE:LINE` of the first line of `programs` holding `needle`, as
/// [`allow_args_setup`] places it.
fn place_of(programs: &str, needle: &str) -> String {
    let line = programs
        .lines()
        .position(|line| line.contains(needle))
        .expect("the needle is in the text");
    format!("<args test>:{}", line + 2)
}

impl Setup {
    /// Refused by an `allow_args` rule: a `denied` error and one record, a
    /// deny decision naming `rule` (the guard refused it: nothing ran).
    fn refused_by_allow_args(&self, args: Value, rule: &str) -> ToolError {
        let before = self.audit.events().len();
        let err = self
            .call(args.clone())
            .expect_err("the call should be refused");
        assert_eq!(err.kind(), ErrorKind::Denied, "{args}: {err}");
        assert!(
            err.message().contains("allowed argument form"),
            "{args}: {err}"
        );
        let events = self.audit.events();
        let new = &events[before..];
        assert_eq!(new.len(), 1, "one record per refusal: {new:#?}");
        assert_eq!(new[0]["kind"], "decision", "{new:#?}");
        assert_eq!(new[0]["decision"], "deny", "{new:#?}");
        assert_eq!(new[0]["decision.rule"], rule, "{args}: {new:#?}");
        err
    }
}

const GIT_FORMS: &str = r#"[[programs]]
path = "/nonexistent/git"
allow_args = ["status", "log **", "diff --stat **", "show *"]
deny_flags = ["-c", "--exec-path", "--output"]
"#;

#[test]
fn arguments_outside_the_allowed_forms_are_refused_before_anything_starts() {
    let s = allow_args_setup(GIT_FORMS);
    let rule = format!(
        "programs \"/nonexistent/git\" ({}) allow_args ({})",
        place_of(GIT_FORMS, "path"),
        place_of(GIT_FORMS, "allow_args")
    );
    // The program does not exist: a refusal, not a failure to start,
    // proves the check came first.
    let many: Vec<String> = std::iter::once("status".to_owned())
        .chain(std::iter::repeat_n("x".to_owned(), 10_000))
        .collect();
    for args in [
        json!([]),
        json!(["push", "--force"]),
        json!(["status", "--upload-pack=touch marker"]),
        json!(["status; rm -rf /"]),
        json!(["status", ";", "rm"]),
        json!(["status with spaces"]),
        json!(["status "]),
        json!([" status"]),
        json!(["Status"]),
        json!(["STATUS"]),
        json!(["ѕtatus"]),         // Cyrillic `ѕ`
        json!(["status\u{200b}"]), // a zero-width space
        json!(["ｓｔａｔｕｓ"]),   // fullwidth letters
        json!(["--", "status"]),
        json!(["-C", "/", "status"]),
        json!(["--git-dir=/tmp/evil", "status"]),
        json!(["status", "--"]),
        json!([""]),
        json!(["status", ""]),
        json!(["diff", "--stat=100"]),
        json!(["diff", "--sta"]),
        json!(["diff --stat"]),
        json!(["diff", "HEAD", "--stat"]),
        json!(["show"]),
        json!(["show", "HEAD", "--stat"]),
        json!(many),
    ] {
        s.refused_by_allow_args(json!({"program": "/nonexistent/git", "args": args}), &rule);
    }
    // No `args` at all is a call without arguments: no form allows it.
    s.refused_by_allow_args(json!({"program": "/nonexistent/git"}), &rule);
}

#[test]
fn denied_flags_still_apply_inside_an_allowed_form() {
    let s = allow_args_setup(GIT_FORMS);
    let path = place_of(GIT_FORMS, "path");
    for (args, flag) in [
        (json!(["log", "-c", "core.pager=touch marker"]), "-c"),
        (json!(["log", "--exec-path=/tmp"]), "--exec-path"),
        (json!(["status", "--exec=touch marker"]), "--exec-path"),
        (json!(["log", "--", "--output=/tmp/x"]), "--output"),
        (json!(["show", "--output=/tmp/x"]), "--output"),
        (json!(["diff", "--stat", "--out", "/tmp/x"]), "--output"),
    ] {
        let err = s.refused_by_tool(json!({"program": "/nonexistent/git", "args": args}));
        assert!(err.message().contains(flag), "{err}");
        let events = s.audit.events();
        let last = events.last().expect("a record");
        assert_eq!(
            last["decision.rule"],
            format!("programs \"/nonexistent/git\" ({path}) deny_flags {flag:?}")
        );
    }
}

const ECHO_FORMS: &str = r#"[[programs]]
path = "/bin/echo"
allow_args = [
  "status",
  "log **",
  "show *",
]

[[programs]]
path = "/usr/bin/touch"
allow_args = []
"#;

#[test]
fn a_granted_form_runs_exactly_what_it_says_and_nothing_more() {
    let s = allow_args_setup(ECHO_FORMS);
    for (args, stdout, form) in [
        (json!(["status"]), "status\n", "status"),
        (json!(["log"]), "log\n", "log **"),
        (
            json!(["log", "a b", "", "--", "-x"]),
            "log a b  -- -x\n",
            "log **",
        ),
        (json!(["show", "HEAD"]), "show HEAD\n", "show *"),
        (json!(["show", "-n"]), "show -n\n", "show *"),
    ] {
        let call = json!({"program": "/bin/echo", "args": args, "cwd": s.root()});
        // A run records the tool rule only; explain names the form that allows it.
        let explained = s.executor.explain("cmd_run", &call.to_string());
        assert!(
            explained
                .decisions
                .iter()
                .any(|d| d.rule.ends_with(&format!("allow_args {form:?}"))),
            "{explained:?}"
        );
        let out = s.run(call);
        assert_eq!(out["stdout"], stdout, "{args}: {out}");
    }
    let rule = format!(
        "programs \"/bin/echo\" ({}) allow_args ({})",
        place_of(ECHO_FORMS, "/bin/echo"),
        place_of(ECHO_FORMS, "allow_args = [")
    );
    // One word more or less than a form is outside it.
    for args in [
        json!(["status", "x"]),
        json!(["show"]),
        json!(["show", "a", "b"]),
        json!(["log=x"]),
        json!(["-n", "log"]),
    ] {
        s.refused_by_allow_args(json!({"program": "/bin/echo", "args": args}), &rule);
    }
    // `allow_args = []`: touch runs without arguments (and fails: no file
    // named), and with any argument it is refused without creating it.
    let touch_rule = format!(
        "programs \"/usr/bin/touch\" ({}) allow_args ({})",
        place_of(ECHO_FORMS, "/usr/bin/touch"),
        place_of(ECHO_FORMS, "allow_args = []")
    );
    let marker = s.marker();
    for args in [json!([marker]), json!(["--", marker]), json!([""])] {
        s.refused_by_allow_args(
            json!({"program": "/usr/bin/touch", "args": args, "cwd": s.root()}),
            &touch_rule,
        );
    }
    assert!(!marker.exists());
    let out = s.run(json!({"program": "/usr/bin/touch", "cwd": s.root()}));
    assert_ne!(out["exit_code"], 0, "touch without a file fails: {out}");
}

#[test]
fn explain_names_the_allow_args_rule_the_call_is_refused_by() {
    let s = allow_args_setup(GIT_FORMS);
    let args = json!({"program": "/nonexistent/git", "args": ["push"]}).to_string();
    let explained = s.executor.explain("cmd_run", &args);
    assert_eq!(explained.verdict, rustchain::policy::Verdict::Deny);
    let deciding = explained.deciding().expect("a deciding rule");
    assert!(
        deciding.rule.ends_with(&format!(
            "allow_args ({})",
            place_of(GIT_FORMS, "allow_args")
        )),
        "{explained:?}"
    );
    let args = json!({"program": "/nonexistent/git", "args": ["log", "-1"]}).to_string();
    let explained = s.executor.explain("cmd_run", &args);
    assert!(
        explained
            .decisions
            .iter()
            .any(|d| d.rule.ends_with("allow_args \"log **\"")),
        "{explained:?}"
    );
    assert!(s.audit.events().is_empty(), "explain records nothing");
}

/// `cwd` is reached as the file tools reach a folder (Known gaps 15): from
/// the root's handle, so what the guard cannot judge (a file, a missing
/// folder) is refused by the tool before anything starts, and a root named
/// through a symlinked alias runs in the root itself.
#[test]
fn cwd_is_a_folder_reached_from_its_root() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let base = dir.path().canonicalize().expect("the folder exists");
    let work = base.join("work");
    std::fs::create_dir_all(work.join("sub")).expect("mkdir");
    std::fs::write(work.join("file.txt"), "a file").expect("write");
    std::os::unix::fs::symlink(&work, base.join("alias")).expect("link");
    let policy = format!("[fs]\nread = [{work:?}]\n[[programs]]\npath = \"/bin/pwd\"\n");
    let (executor, audit) = setup_policy(&policy, &work);
    let pwd = |cwd: &Path| {
        call_with(
            &executor,
            json!({"program": "/bin/pwd", "args": ["-P"], "cwd": cwd}),
        )
    };

    let out = pwd(&work.join("sub")).expect("runs in a folder of the root");
    assert_eq!(out["stdout"], format!("{}\n", work.join("sub").display()));
    let out = pwd(&base.join("alias/sub")).expect("runs through the alias");
    assert_eq!(out["stdout"], format!("{}\n", work.join("sub").display()));

    let err = pwd(&work.join("file.txt")).expect_err("a file is no working directory");
    assert_eq!(err.kind(), ErrorKind::InvalidArguments, "{err}");
    assert_eq!(err.path(), Some("cwd"), "{err}");
    let err = pwd(&work.join("missing")).expect_err("a missing folder");
    assert_eq!(err.kind(), ErrorKind::Failed, "{err}");
    assert!(err.message().contains("does not exist"), "{err}");
    let results: Vec<_> = audit
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "result")
        .map(|e| e["error.type"].clone())
        .collect();
    assert_eq!(
        results,
        [
            json!(null),
            json!(null),
            json!("invalid_arguments"),
            json!("failed")
        ],
        "each refusal is on record"
    );
}
