//! The stock `rustchain` binary, which links only the built-ins, run in a
//! scratch working directory of its own.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use serde_json::json;

#[path = "../../tests/support/run.rs"]
mod run;

use run::{Run, records, scratch, utf8, write};

// ---- the real binary ----

/// The stock `rustchain` binary, built by cargo for this package's tests.
fn stock_binary() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_rustchain"))
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

// ---- audit tail --follow (a live process: only the real binary can show it) ----

#[test]
fn tail_follow_prints_records_as_calls_append_them() {
    use std::io::{BufRead, BufReader};
    let dir = scratch();
    let trail = utf8(&dir.path().join("calls.jsonl"));
    binary_in(
        dir.path(),
        &[],
        &[
            "--audit",
            &trail,
            "tools",
            "call",
            "text_stats",
            "--args",
            r#"{"text": "one"}"#,
        ],
        "",
    )
    .expect_code(0);
    let mut follower = Command::new(stock_binary())
        .args(["audit", "tail", "-n", "1", "--follow", &trail])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the rustchain binary starts");
    let mut lines = BufReader::new(follower.stdout.take().expect("stdout is piped")).lines();
    let mut next = || {
        lines
            .next()
            .expect("a line before the follower ends")
            .expect("stdout is UTF-8")
    };
    // The last record already there, then the two of a new call.
    assert!(next().contains("result      text_stats"));
    binary_in(
        dir.path(),
        &[],
        &[
            "--audit",
            &trail,
            "tools",
            "call",
            "text_stats",
            "--args",
            r#"{"text": "two"}"#,
            "--call-id",
            "followed-1",
        ],
        "",
    )
    .expect_code(0);
    let decision = next();
    let result = next();
    follower.kill().expect("the follower stops");
    let _ = follower.wait();
    assert!(
        decision.contains("decision") && decision.contains("followed-1"),
        "{decision}"
    );
    assert!(
        result.contains("result") && result.contains("followed-1  ok in"),
        "{result}"
    );
}

#[path = "../../tests/support/elf.rs"]
mod elf;

/// The stock binary is linked with the layout of the code `mcp serve`
/// runs (R-451).
#[test]
fn the_code_mcp_serve_runs_is_laid_out_together() {
    elf::assert_hot_text_layout(&stock_binary());
}
