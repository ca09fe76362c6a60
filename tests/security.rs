//! Hostile arguments a model could send, and the executor's answer to each:
//! a typed error, the tool's body never reached, and exactly one audit record
//! of the refusal. Then approval, rate limits and budgets, the records of an
//! allowed call, many calls at once, and the generated code's fail-closed path.

use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustchain::audit::{AuditError, AuditErrorKind};
use rustchain::exec::{ApprovalRequest, AuditSink, CallEvent, CallEventKind, MemoryAudit};
use rustchain::policy::Policy;
use rustchain::{ErrorKind, Executor, Invoke, Registry, ToolContext, tool};
use serde_json::Value;

#[path = "support/child.rs"]
mod child;
mod support;
use support::{Sandbox, unique_call_id};

// ---------------------------------------------------------------------------
// The tools under test. Each body notes its call id, so a test can prove that
// a refused call never reached it even while other tests run in parallel.

static RAN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn ran(ctx: &ToolContext) {
    RAN.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(ctx.call_id().to_owned());
}

fn runs_of(call_id: &str) -> usize {
    RAN.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|id| *id == call_id)
        .count()
}

/// Reads a text file.
#[tool]
fn read_file(
    /// The file to read.
    #[fs(read)]
    path: String,
    ctx: &ToolContext,
) -> Result<String, String> {
    ran(ctx);
    fs::read_to_string(&path).map_err(|err| err.to_string())
}

/// Reads a text file if one is named.
#[tool]
fn maybe_read(
    /// The file to read, if any.
    #[fs(read)]
    path: Option<String>,
    ctx: &ToolContext,
) -> Result<Option<String>, String> {
    ran(ctx);
    path.map(|path| fs::read_to_string(path).map_err(|err| err.to_string()))
        .transpose()
}

/// Writes a text file.
#[tool]
fn write_file(
    /// The file to write.
    #[fs(write)]
    path: String,
    /// What to write.
    text: String,
    ctx: &ToolContext,
) -> Result<(), String> {
    ran(ctx);
    fs::write(&path, text).map_err(|err| err.to_string())
}

/// Fetches a URL (here: only echoes it).
#[tool]
fn fetch(
    /// The URL or host.
    #[net]
    url: String,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    url
}

/// Fetches a URL, asynchronously (here: only echoes it).
#[tool]
async fn fetch_async(
    /// The URL or host.
    #[net]
    url: String,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    url
}

/// Runs a program (here: only echoes the command line).
#[tool]
fn run_program(
    /// The program, by absolute path.
    #[run]
    program: String,
    /// Its arguments.
    args: Vec<String>,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    format!("{program} {}", args.join(" "))
}

/// Reads an environment variable (here: only echoes its name).
#[tool]
fn read_var(
    /// The variable's name.
    #[env]
    name: String,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    name
}

/// Returns `n` (a pure tool).
#[tool]
fn count(
    /// A whole number.
    n: u32,
    ctx: &ToolContext,
) -> u32 {
    ran(ctx);
    n
}

/// Returns `x` (a pure tool).
#[tool]
fn measure(
    /// A number.
    x: f64,
    ctx: &ToolContext,
) -> f64 {
    ran(ctx);
    x
}

/// A pure tool no policy rule names.
#[tool]
fn unnamed(ctx: &ToolContext) -> u32 {
    ran(ctx);
    7
}

/// Reads several text files.
#[tool]
fn read_all(
    /// The files to read.
    #[fs(read)]
    paths: Vec<String>,
    ctx: &ToolContext,
) -> Result<Vec<String>, String> {
    ran(ctx);
    paths
        .iter()
        .map(|path| fs::read_to_string(path).map_err(|err| err.to_string()))
        .collect()
}

/// Logs in (here: only says who).
#[tool]
fn login(
    /// The user.
    user: String,
    /// The password.
    password: String,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    let _ = password;
    user
}

/// Panics: a broken tool.
#[tool]
fn explode(ctx: &ToolContext) -> u32 {
    ran(ctx);
    panic!("the tool broke")
}

/// Sleeps, with a short timeout of its own.
#[tool(timeout = "50ms")]
async fn nap(
    /// How long, in milliseconds.
    ms: u64,
    ctx: &ToolContext,
) -> u64 {
    ran(ctx);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Fails with a message of `n` bytes.
#[tool]
fn fail_loudly(
    /// How long the message is.
    n: usize,
) -> Result<u32, String> {
    Err("x".repeat(n))
}

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MOST_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Waits a little, counting how many calls wait at once.
#[tool]
async fn busy(
    /// How long, in milliseconds.
    ms: u64,
) -> u64 {
    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    ms
}

// ---------------------------------------------------------------------------
// A policy and an executor over a `support::Sandbox` (tests/support/).

const POLICY: &str = r#"
default = "deny"

[tools]
allow = ["read_file", "read_all", "maybe_read", "write_file", "fetch", "fetch_async", "run_program", "read_var", "count", "measure"]

[fs]
read = ["data"]
write = ["out"]
deny = ["data/secrets/**", "**/.env"]

[net]
allow = ["api.example.com"]

[[programs]]
path = "/bin/echo"

[env]
allow = ["LANG"]

[limits]
max_argument_bytes = 4096
"#;

struct Setup {
    sandbox: Sandbox,
    executor: Executor,
    audit: Arc<MemoryAudit>,
}

fn setup(policy: &str) -> Setup {
    let sandbox = Sandbox::new();
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .policy(sandbox.policy(policy).expect("a valid policy"))
        .audit(audit.clone())
        .build()
        .expect("no failing examples");
    Setup {
        sandbox,
        executor,
        audit,
    }
}

/// The one audit record a refusal must leave.
#[derive(Debug, Clone, Copy)]
enum Record {
    /// A decision record with this `decision`.
    Decision(&'static str),
    /// A result record (no decision was reached) with this `error.type`.
    Result(&'static str),
}

impl Record {
    fn check(self, event: &Value) -> Result<(), String> {
        let ok = match self {
            Record::Decision(decision) => {
                event["kind"] == "decision" && event["decision"] == decision
            }
            Record::Result(error) => {
                event["kind"] == "result"
                    && event["outcome"] == "error"
                    && event["error.type"] == error
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!("expected a {self:?} record, got {event}"))
        }
    }
}

const DENIED: (ErrorKind, Record) = (ErrorKind::Denied, Record::Decision("deny"));
const INVALID: (ErrorKind, Record) = (
    ErrorKind::InvalidArguments,
    Record::Result("invalid_arguments"),
);

/// Calls `tool` and checks the refusal: the error's kind, the body never
/// reached, and exactly one new audit record of the expected kind, carrying
/// this call's id. Returns what went wrong, if anything.
fn refusal(
    setup: &Setup,
    label: &str,
    tool: &str,
    args: &str,
    (kind, record): (ErrorKind, Record),
) -> Result<(), String> {
    let before = setup.audit.events().len();
    let call_id = unique_call_id(label);
    let result =
        setup
            .executor
            .call_blocking(tool, args, ToolContext::new().with_call_id(&call_id));
    let events = setup.audit.events();
    let new = &events[before..];
    let mut problems = Vec::new();
    match &result {
        Err(err) if err.kind() == kind => {}
        other => problems.push(format!("expected a {kind} error, got {other:?}")),
    }
    if runs_of(&call_id) != 0 {
        problems.push("the body ran".to_owned());
    }
    match new {
        [event] => {
            if let Err(problem) = record.check(event) {
                problems.push(problem);
            }
            if event["gen_ai.tool.call.id"] != call_id.as_str() {
                problems.push(format!("the record names another call: {event}"));
            }
        }
        _ => problems.push(format!("{} records: {new:?}", new.len())),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{label}: {}", problems.join("; ")))
    }
}

/// Runs every case against one executor; reports every failing case at once.
fn refuse_all(setup: &Setup, cases: &[(&str, &str, String, (ErrorKind, Record))]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(label, tool, args, expect)| refusal(setup, label, tool, args, *expect).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} hostile calls were not refused as they should be:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn path(value: &str) -> String {
    serde_json::json!({ "path": value }).to_string()
}

fn url(value: &str) -> String {
    serde_json::json!({ "url": value }).to_string()
}

fn program(value: &str) -> String {
    serde_json::json!({ "program": value, "args": ["hi"] }).to_string()
}

fn name(value: &str) -> String {
    serde_json::json!({ "name": value }).to_string()
}

// ---------------------------------------------------------------------------
// Arguments that do not decode: refused before any decision, one result record.

#[rustfmt::skip]
#[test]
fn malformed_arguments_are_refused_with_one_record() {
    let setup = setup(POLICY);
    let notes = setup.sandbox.fill("{root}/data/notes.txt");
    let deep = |open: &str, close: &str| {
        format!(
            r#"{{"n": {}1{}}}"#,
            open.repeat(10_000),
            close.repeat(10_000)
        )
    };
    let cases = vec![
        ("over the size limit (padding)", "count", format!(r#"{{"n": 1}}{}"#, " ".repeat(5000)), INVALID),
        ("over the size limit (a long path)", "read_file", path(&"a".repeat(5000)), INVALID),
        ("nested 10,000 deep (arrays)", "count", deep("[", "]"), INVALID),
        ("nested 10,000 deep (objects)", "count", deep(r#"{"a":"#, "}"), INVALID),
        ("nested 10,000 deep (the whole text)", "count", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)), INVALID),
        ("an unknown field", "count", r#"{"n": 1, "m": 2}"#.to_owned(), INVALID),
        ("an unknown field beside a path", "read_file", format!(r#"{{"path": "{notes}", "mode": "r"}}"#), INVALID),
        ("a guarded name in another case", "read_file", r#"{"Path": "/etc/passwd"}"#.to_owned(), INVALID),
        ("duplicate keys, bad one last", "read_file", format!(r#"{{"path": "{notes}", "path": "../x"}}"#), INVALID),
        ("duplicate keys, bad one first", "read_file", format!(r#"{{"path": "../x", "path": "{notes}"}}"#), INVALID),
        ("a string for a number", "count", r#"{"n": "10"}"#.to_owned(), INVALID),
        ("a float for an integer", "count", r#"{"n": 1.0}"#.to_owned(), INVALID),
        ("a negative for an unsigned", "count", r#"{"n": -1}"#.to_owned(), INVALID),
        ("an integer overflow", "count", r#"{"n": 4294967296}"#.to_owned(), INVALID),
        ("a number out of range", "measure", r#"{"x": 1e400}"#.to_owned(), INVALID),
        ("null for a required argument", "count", r#"{"n": null}"#.to_owned(), INVALID),
        ("a missing argument", "read_file", "{}".to_owned(), INVALID),
        ("a list for a path", "read_file", r#"{"path": ["/etc/passwd"]}"#.to_owned(), INVALID),
        ("an object for a path", "read_file", r#"{"path": {"$ref": "/etc/passwd"}}"#.to_owned(), INVALID),
        ("a string for a list", "run_program", r#"{"program": "/bin/echo", "args": "-n"}"#.to_owned(), INVALID),
        ("a lone surrogate", "read_file", r#"{"path": "\ud800"}"#.to_owned(), INVALID),
        ("an array, not an object", "count", "[1]".to_owned(), INVALID),
        ("a string, not an object", "count", r#""n""#.to_owned(), INVALID),
        ("truncated text", "count", r#"{"n": 1"#.to_owned(), INVALID),
        ("two objects", "count", r#"{"n": 1} {"n": 2}"#.to_owned(), INVALID),
        ("trailing text", "count", r#"{"n": 1}x"#.to_owned(), INVALID),
    ];
    refuse_all(&setup, &cases);
}

#[test]
fn a_tool_that_is_not_linked_or_not_named_is_refused_with_one_record() {
    let setup = setup(POLICY);
    let long = "x".repeat(10_000);
    let cases = vec![
        (
            "a tool the policy does not name",
            "unnamed",
            "{}".to_owned(),
            DENIED,
        ),
        (
            "no such tool",
            "no_such_tool",
            "{}".to_owned(),
            (ErrorKind::NotFound, Record::Result("not_found")),
        ),
        (
            "a 10,000-character name",
            long.as_str(),
            "{}".to_owned(),
            (ErrorKind::NotFound, Record::Result("not_found")),
        ),
    ];
    refuse_all(&setup, &cases);
    let last = setup.audit.events().pop().expect("records");
    let recorded = last["gen_ai.tool.name"].as_str().expect("a name");
    assert!(
        recorded.len() <= 64,
        "the record bounds the name: {recorded:?}"
    );
}

// ---------------------------------------------------------------------------
// Values the policy does not grant: one `deny` decision record each.

#[rustfmt::skip]
#[test]
fn paths_outside_every_root_are_denied() {
    let setup = setup(POLICY);
    let fill = |text: &str| setup.sandbox.fill(text);
    let cases = vec![
        ("../../etc/passwd", "read_file", path("../../etc/passwd"), DENIED),
        ("/etc/passwd", "read_file", path("/etc/passwd"), DENIED),
        ("//etc/passwd", "read_file", path("//etc/passwd"), DENIED),
        ("/proc/self/environ", "read_file", path("/proc/self/environ"), DENIED),
        ("~/.ssh/id_rsa", "read_file", path("~/.ssh/id_rsa"), DENIED),
        ("sub/../secrets/key (relative)", "read_file", path("sub/../secrets/key"), DENIED),
        ("root/sub/../secrets/key", "read_file", path(&fill("{root}/data/sub/../secrets/key")), DENIED),
        ("root/secrets/key", "read_file", path(&fill("{root}/data/secrets/key")), DENIED),
        ("root/app/.env", "read_file", path(&fill("{root}/data/app/.env")), DENIED),
        ("root/../outside", "read_file", path(&fill("{root}/data/../outside/secret.txt")), DENIED),
        ("a folder link out of the root", "read_file", path(&fill("{root}/data/link_out/secret.txt")), DENIED),
        ("a file link out of the root", "read_file", path(&fill("{root}/data/link_out_file")), DENIED),
        ("an empty path", "read_file", path(""), DENIED),
        ("a NUL byte in a path", "read_file", path(&fill("{root}/data/notes.txt\0.png")), DENIED),
        ("an optional path outside", "maybe_read", path("/etc/passwd"), DENIED),
        ("write to a read root", "write_file", serde_json::json!({"path": fill("{root}/data/notes.txt"), "text": "x"}).to_string(), DENIED),
        ("write out of the write root", "write_file", serde_json::json!({"path": fill("{root}/out/../outside/x"), "text": "x"}).to_string(), DENIED),
        ("write to /tmp", "write_file", serde_json::json!({"path": "/tmp/rustchain-security-escape", "text": "x"}).to_string(), DENIED),
    ];
    refuse_all(&setup, &cases);
    assert_eq!(
        fs::read_to_string(setup.sandbox.root.join("data/notes.txt")).expect("notes"),
        "notes",
        "nothing was written"
    );
}

/// Set in the child process of `a_relative_path_inside_a_root_meets_the_deny_globs`.
const RELATIVE_CHILD: &str = "RUSTCHAIN_SECURITY_RELATIVE_CHILD";

/// The relative case above resolves against this binary's working
/// directory, outside every root, so it is denied as outside. In a child
/// process (this binary, one test) whose working directory is the `data`
/// root, relative paths land inside it, and the guard's deny globs judge
/// them; changing the working directory here would move every other
/// test's relative paths.
#[test]
fn a_relative_path_inside_a_root_meets_the_deny_globs() {
    child::run_child_test("relative_paths_child_process", RELATIVE_CHILD);
}

/// The child of `a_relative_path_inside_a_root_meets_the_deny_globs`; does
/// nothing in an ordinary run.
#[test]
fn relative_paths_child_process() {
    if std::env::var_os(RELATIVE_CHILD).is_none() {
        return;
    }
    let setup = setup(POLICY);
    let data = setup.sandbox.root.join("data");
    std::env::set_current_dir(&data).expect("the root is a folder");
    for (written, glob, file) in [
        ("secrets/key", "data/secrets/**", "secrets/key"),
        ("sub/../secrets/key", "data/secrets/**", "secrets/key"),
        ("./app/.env", "**/.env", "app/.env"),
    ] {
        refuse_all(&setup, &[(written, "read_file", path(written), DENIED)]);
        // The denial is the glob's, for the path inside the root.
        let events = setup.audit.events();
        let record = events.last().expect("the denial's record");
        let rule = record["decision.rule"].as_str().unwrap_or_default();
        assert!(
            rule.starts_with(&format!("fs.deny {glob:?}")),
            "{written}: {record}"
        );
        let reason = record["decision.reason"].as_str().unwrap_or_default();
        let resolved = data.join(file).display().to_string();
        assert!(
            reason.contains(&format!("{resolved} matches a denied pattern")),
            "{written}: {record}"
        );
    }
    for written in ["notes.txt", "sub/../notes.txt"] {
        let read = setup
            .executor
            .call_blocking("read_file", &path(written), ToolContext::new())
            .expect("a relative path inside the root under no deny glob");
        assert_eq!(read.to_value(), "notes", "{written}");
    }
    refuse_all(
        &setup,
        &[(
            "../outside (relative)",
            "read_file",
            path("../outside/secret.txt"),
            DENIED,
        )],
    );
    let events = setup.audit.events();
    let reason = events.last().expect("the denial's record")["decision.reason"].to_string();
    assert!(!reason.contains("denied pattern"), "{reason}");
}

#[test]
fn hosts_not_granted_are_denied_in_every_encoding() {
    let setup = setup(POLICY);
    let mut cases = Vec::new();
    for host in [
        "https://evil.net/",
        "http://api.example.com/",
        "https://api.example.com.evil.net/",
        "https://api.example.com@evil.net/",
        "https://evil.net#@api.example.com",
        "https://evil.net\\@api.example.com/",
        "gopher://api.example.com/",
        "file:///etc/passwd",
        "https://127.0.0.1/",
        "2130706433",
        "0x7f.1",
        "127.1",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://[::ffff:7f00:1]/",
        "https://%31%32%37.0.0.1/",
        "localhost",
        "https://[::1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://api.example.com\0.evil.net/",
        "api.example.com\n.evil.net",
        "",
    ] {
        cases.push((host, "fetch", url(host), DENIED));
    }
    cases.push((
        "async: 2130706433",
        "fetch_async",
        url("2130706433"),
        DENIED,
    ));
    cases.push((
        "async: evil.net",
        "fetch_async",
        url("https://evil.net/"),
        DENIED,
    ));
    refuse_all(&setup, &cases);
}

#[test]
fn programs_not_granted_are_denied() {
    let setup = setup(POLICY);
    let cases: Vec<_> = [
        "sh",
        "echo",
        "bin/ls",
        "./echo",
        "/bin/sh",
        "/bin/echo/../sh",
        "/bin/echo ",
        "/bin/echo\0",
        "",
    ]
    .into_iter()
    .map(|p| (p, "run_program", program(p), DENIED))
    .collect();
    refuse_all(&setup, &cases);
}

#[test]
fn environment_variables_not_granted_are_denied() {
    let setup = setup(POLICY);
    let cases: Vec<_> = ["PATH", "AWS_SECRET_ACCESS_KEY", "lang", "LANG\0", ""]
        .into_iter()
        .map(|v| (v, "read_var", name(v), DENIED))
        .collect();
    refuse_all(&setup, &cases);
}

/// The same checks pass the same calls when the values are granted, so the
/// refusals above are not refusals of everything.
#[test]
fn granted_values_pass_and_write_a_decision_then_a_result() {
    let setup = setup(POLICY);
    let notes = setup.sandbox.fill("{root}/data/notes.txt");
    let calls = [
        ("read_file", path(&notes), Value::from("notes")),
        ("maybe_read", "{}".to_owned(), Value::Null),
        (
            "fetch",
            url("https://api.example.com/v1"),
            Value::from("https://api.example.com/v1"),
        ),
        (
            "run_program",
            program("/bin/echo"),
            Value::from("/bin/echo hi"),
        ),
        ("read_var", name("LANG"), Value::from("LANG")),
        ("count", r#"{"n": 3}"#.to_owned(), Value::from(3)),
    ];
    for (tool, args, expected) in calls {
        let before = setup.audit.events().len();
        let call_id = unique_call_id(tool);
        let output = setup
            .executor
            .call_blocking(tool, &args, ToolContext::new().with_call_id(&call_id))
            .unwrap_or_else(|err| panic!("{tool} {args}: {err}"));
        assert_eq!(output.to_value(), expected, "{tool}");
        assert_eq!(runs_of(&call_id), 1, "{tool}: the body ran once");
        let events = setup.audit.events();
        let [decision, result] = &events[before..] else {
            panic!("{tool}: expected two records, got {:?}", &events[before..]);
        };
        assert_eq!(decision["kind"], "decision", "{decision}");
        assert_eq!(decision["decision"], "allow", "{decision}");
        assert_eq!(decision["gen_ai.tool.call.id"], call_id.as_str());
        assert_eq!(decision["args.bytes"], args.len());
        assert_eq!(result["kind"], "result", "{result}");
        assert_eq!(result["outcome"], "ok", "{result}");
        assert_eq!(result["error.type"], Value::Null, "{result}");
        assert_eq!(result["gen_ai.tool.call.id"], call_id.as_str());
        assert_eq!(result["output.bytes"], output.as_json().len());
    }
}

#[test]
fn one_bad_path_in_a_list_denies_the_whole_call() {
    let setup = setup(POLICY);
    let notes = setup.sandbox.fill("{root}/data/notes.txt");
    let secret = setup.sandbox.fill("{root}/data/secrets/key");
    let cases = vec![
        (
            "last",
            "read_all",
            serde_json::json!({"paths": [notes, notes, "/etc/passwd"]}).to_string(),
            DENIED,
        ),
        (
            "first",
            "read_all",
            serde_json::json!({"paths": [secret, notes]}).to_string(),
            DENIED,
        ),
        (
            "a NUL",
            "read_all",
            serde_json::json!({"paths": [notes, "a\0b"]}).to_string(),
            DENIED,
        ),
    ];
    refuse_all(&setup, &cases);
    let all = serde_json::json!({"paths": [notes, notes]}).to_string();
    let output = setup
        .executor
        .call_blocking("read_all", &all, ToolContext::new())
        .expect("every path granted");
    assert_eq!(output.to_value(), serde_json::json!(["notes", "notes"]));
}

#[test]
fn a_call_that_fails_after_its_decision_leaves_a_decision_and_a_result() {
    let setup = setup(
        "[limits.tool.nap]
max_output_bytes = 1
",
    );
    for (tool, args, kind) in [
        ("explode", "{}", ErrorKind::Failed),
        ("nap", r#"{"ms": 2000}"#, ErrorKind::Timeout),
        ("nap", r#"{"ms": 10}"#, ErrorKind::Failed),
    ] {
        let before = setup.audit.events().len();
        let call_id = unique_call_id(tool);
        let err = setup
            .executor
            .call_blocking(tool, args, ToolContext::new().with_call_id(&call_id))
            .expect_err("the call fails");
        assert_eq!(err.kind(), kind, "{tool} {args}: {err}");
        assert_eq!(runs_of(&call_id), 1, "{tool}: the body ran once");
        let events = setup.audit.events();
        let [decision, result] = &events[before..] else {
            panic!("{tool}: expected two records: {:?}", &events[before..]);
        };
        assert_eq!(decision["decision"], "allow");
        assert_eq!(result["outcome"], "error");
        assert_eq!(result["error.type"], kind.as_str());
    }
}

/// A tool's error message goes back to the model like its output does, so
/// `max_output_bytes` should bound it too.
#[test]
fn a_huge_error_message_is_capped_like_output() {
    let setup = setup("[limits]\nmax_output_bytes = 100\n");
    let err = setup
        .executor
        .call_blocking("fail_loudly", r#"{"n": 100000}"#, ToolContext::new())
        .expect_err("the tool fails");
    assert_eq!(err.kind(), ErrorKind::Failed);
    assert!(
        err.message().len() <= 1000,
        "a {} byte message went back to the model",
        err.message().len()
    );
}

/// Approval comes before "run the function under the tool's timeout": the
/// time a person takes to answer should not be taken from the tool's own.
#[test]
fn the_time_to_approve_does_not_count_against_the_tools_timeout() {
    let setup = with_approver(
        "[tools]\nask = [\"nap\"]\n[approval]\ntimeout = \"5s\"\n",
        Some(Box::new(|_: &ApprovalRequest| {
            std::thread::sleep(Duration::from_millis(200));
            Ok("yes".to_owned())
        })),
    );
    // `nap` has a 50ms timeout of its own and sleeps 1ms once approved.
    let output = setup
        .executor
        .call_blocking("nap", r#"{"ms": 1}"#, ToolContext::new())
        .expect("approved after 200ms, then ran in 1ms");
    assert_eq!(output.as_json(), "1");
}

/// `[audit] redact` names fields whose values never reach the trail.
#[test]
fn recorded_arguments_are_redacted() {
    let setup = setup("[audit]\nrecord_args = [\"login\"]\nredact = [\"password\"]\n");
    setup
        .executor
        .call_blocking(
            "login",
            r#"{"user": "ann", "password": "hunter2"}"#,
            ToolContext::new(),
        )
        .expect("a pure tool runs");
    let events = setup.audit.events();
    let recorded = events[0]["args"].to_string();
    assert!(
        recorded.contains("ann"),
        "the arguments are recorded: {recorded}"
    );
    assert!(
        !recorded.contains("hunter2"),
        "the password is recorded: {recorded}"
    );
}

// ---------------------------------------------------------------------------
// Escapes through the file system the guard lets through (bugs, see the
// ignore reasons). The tools here really read and write, to show the effect.

#[test]
fn dot_dot_after_a_link_cannot_read_outside_the_root() {
    let setup = setup(POLICY);
    let escape = setup.sandbox.fill("{root}/data/link_sub/../secret.txt");
    let result = refusal(&setup, "link/..", "read_file", &path(&escape), DENIED);
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn a_dangling_link_cannot_write_outside_the_root() {
    let setup = setup(POLICY);
    let link = setup.sandbox.fill("{root}/out/dangling");
    let args = serde_json::json!({"path": link, "text": "planted"}).to_string();
    let result = refusal(&setup, "dangling", "write_file", &args, DENIED);
    assert!(
        !setup.sandbox.root.join("outside/new.txt").exists(),
        "a file was created outside every root"
    );
    assert!(result.is_ok(), "{result:?}");
}

// ---------------------------------------------------------------------------
// Approval.

const ASK: &str = r#"
[tools]
ask = ["read_file", "fetch_async"]

[fs]
read = ["data"]

[net]
allow = ["api.example.com"]

[approval]
timeout = "100ms"
"#;

type Hook = Box<dyn Fn(&ApprovalRequest) -> Result<String, String> + Send + Sync>;

fn answer(text: &'static str) -> Hook {
    Box::new(move |_: &ApprovalRequest| Ok(text.to_owned()))
}

fn with_approver(policy: &str, hook: Option<Hook>) -> Setup {
    let sandbox = Sandbox::new();
    let audit = Arc::new(MemoryAudit::new());
    let mut builder = Executor::builder(Registry::global())
        .policy(sandbox.policy(policy).expect("a valid policy"))
        .audit(audit.clone());
    if let Some(hook) = hook {
        builder = builder.approve_with(hook);
    }
    Setup {
        sandbox,
        executor: builder.build().expect("no failing examples"),
        audit,
    }
}

#[test]
fn anything_but_an_explicit_yes_denies() {
    let hooks: Vec<(&str, Option<Hook>)> = vec![
        (
            "a hook that times out",
            Some(Box::new(|_: &ApprovalRequest| {
                std::thread::sleep(Duration::from_millis(1000));
                Ok("yes".to_owned())
            })),
        ),
        (
            "a hook that errors",
            Some(Box::new(|_: &ApprovalRequest| Err("boom".to_owned()))),
        ),
        (
            "a hook that panics",
            Some(Box::new(|_: &ApprovalRequest| -> Result<String, String> {
                panic!("the approver broke")
            })),
        ),
        ("no", Some(answer("no"))),
        ("yes please", Some(answer("yes please"))),
        ("an empty answer", Some(answer(""))),
        ("yes with a zero-width space", Some(answer("yes\u{200b}"))),
        ("yesyes", Some(answer("yesyes"))),
        ("no approver at all", None),
    ];
    let mut failures = Vec::new();
    for (label, hook) in hooks {
        let setup = with_approver(ASK, hook);
        let started = Instant::now();
        let args = path(&setup.sandbox.fill("{root}/data/notes.txt"));
        let denied = (ErrorKind::Denied, Record::Decision("ask_denied"));
        failures.extend(refusal(&setup, label, "read_file", &args, denied).err());
        let async_args = url("https://api.example.com/");
        failures.extend(refusal(&setup, label, "fetch_async", &async_args, denied).err());
        if started.elapsed() > Duration::from_millis(900) {
            failures.push(format!("{label}: waited {:?}", started.elapsed()));
        }
        for event in setup.audit.events() {
            if event["decision.approver"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                failures.push(format!("{label}: the refusal does not say why: {event}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_explicit_yes_runs_and_is_recorded() {
    for yes in ["yes", "Y", " YES\n"] {
        let setup = with_approver(ASK, Some(answer(yes)));
        let notes = setup.sandbox.fill("{root}/data/notes.txt");
        for (tool, args, expected) in [
            ("read_file", path(&notes), "notes"),
            (
                "fetch_async",
                url("https://api.example.com/"),
                "https://api.example.com/",
            ),
        ] {
            let before = setup.audit.events().len();
            let call_id = unique_call_id(tool);
            let output = setup
                .executor
                .call_blocking(tool, &args, ToolContext::new().with_call_id(&call_id))
                .unwrap_or_else(|err| panic!("{yes:?} {tool}: {err}"));
            assert_eq!(output.to_value(), expected);
            assert_eq!(runs_of(&call_id), 1);
            let events = setup.audit.events();
            let [decision, result] = &events[before..] else {
                panic!(
                    "{yes:?} {tool}: expected two records: {:?}",
                    &events[before..]
                );
            };
            assert_eq!(decision["decision"], "ask_approved", "{decision}");
            assert_eq!(decision["decision.approver"], yes, "{decision}");
            assert_eq!(result["kind"], "result");
            assert_eq!(result["outcome"], "ok");
        }
    }
}

#[test]
fn the_approver_sees_hidden_characters_and_the_rule() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let setup = with_approver(
        ASK,
        Some(Box::new(move |request: &ApprovalRequest| {
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(request.clone());
            Ok("no".to_owned())
        })),
    );
    // A right-to-left override and a zero-width space, raw in the JSON text.
    let sneaky = setup
        .sandbox
        .fill("{root}/data/notes\u{202e}txt.exe\u{200b}");
    let args = format!(r#"{{"path": "{sneaky}"}}"#);
    let denied = (ErrorKind::Denied, Record::Decision("ask_denied"));
    refusal(&setup, "sneaky", "read_file", &args, denied).expect("refused");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    let [request] = seen.as_slice() else {
        panic!("asked {} times", seen.len());
    };
    assert_eq!(request.tool, "read_file");
    assert!(
        request.arguments.contains("\\u{202e}"),
        "{}",
        request.arguments
    );
    assert!(
        request.arguments.contains("\\u{200b}"),
        "{}",
        request.arguments
    );
    assert!(!request.arguments.contains('\u{202e}'));
    assert!(request.rule.contains("tools.ask"), "{}", request.rule);
    assert!(request.rule.contains("policy.toml:3"), "{}", request.rule);
}

#[test]
fn nobody_is_asked_about_a_call_the_guards_deny() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let setup = with_approver(
        ASK,
        Some(Box::new(move |_: &ApprovalRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok("yes".to_owned())
        })),
    );
    let cases = vec![
        ("outside the root", "read_file", path("/etc/passwd"), DENIED),
        (
            "bad arguments",
            "read_file",
            r#"{"path": 1}"#.to_owned(),
            INVALID,
        ),
    ];
    refuse_all(&setup, &cases);
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------
// Rate limits and budgets: the N+1th call is denied and recorded.

fn call_n(setup: &Setup, tool: &str, args: &str, n: usize) {
    for i in 0..n {
        let call_id = unique_call_id(tool);
        setup
            .executor
            .call_blocking(tool, args, ToolContext::new().with_call_id(&call_id))
            .unwrap_or_else(|err| panic!("call {} of {n} to {tool}: {err}", i + 1));
        assert_eq!(runs_of(&call_id), 1);
    }
}

fn last_rule(setup: &Setup) -> String {
    let events = setup.audit.events();
    events.last().expect("a record")["decision.rule"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_rate_limit_denies_the_call_over_it() {
    let setup = setup("[limits.tool.count]\nrate = \"2/min\"\n");
    call_n(&setup, "count", r#"{"n": 1}"#, 2);
    assert_eq!(setup.audit.events().len(), 4);
    refusal(&setup, "third", "count", r#"{"n": 1}"#, DENIED).expect("the third call is refused");
    assert_eq!(last_rule(&setup), "limits.tool.count.rate");
    // Per tool: another tool is not limited.
    call_n(&setup, "measure", r#"{"x": 1}"#, 3);
}

#[test]
fn a_calls_budget_denies_the_call_over_it() {
    let setup = setup("[limits]\ncalls_per_session = 3\n");
    call_n(&setup, "count", r#"{"n": 1}"#, 2);
    call_n(&setup, "measure", r#"{"x": 1}"#, 1);
    refusal(&setup, "fourth", "count", r#"{"n": 1}"#, DENIED).expect("over the session budget");
    assert_eq!(last_rule(&setup), "limits.calls_per_session");
    refusal(&setup, "fifth", "measure", r#"{"x": 1}"#, DENIED).expect("for every tool");
}

#[test]
fn a_bytes_budget_denies_the_call_over_it() {
    let args = r#"{"n": 1}"#;
    // Arguments in, output ("1") out: each call spends this much.
    let per_call = args.len() + 1;
    let budget = 2 * per_call + args.len() - 1;
    let setup = setup(&format!("[limits]\nbytes_per_session = {budget}\n"));
    call_n(&setup, "count", args, 2);
    refusal(&setup, "third", "count", args, DENIED).expect("over the byte budget");
    assert_eq!(last_rule(&setup), "limits.bytes_per_session");
}

/// A call the byte budget refuses never ran, yet it spends one call of the
/// calls budget (and a rate-window slot): `Limiter::admit` counts the call
/// before checking the bytes and does not give it back.
#[test]
fn a_refused_call_spends_no_budget() {
    let setup = setup(
        "[limits]\ncalls_per_session = 2\nbytes_per_session = 40\n[limits.tool.count]\nrate = \"2/min\"\n",
    );
    let big = format!(r#"{{"n": 1}}{}"#, " ".repeat(40));
    refusal(&setup, "too big", "count", &big, DENIED).expect("over the byte budget");
    // Nothing has run yet: two small calls fit both the calls budget and the rate.
    call_n(&setup, "count", r#"{"n": 1}"#, 2);
}

/// "The approver's answer is recorded": when a limit refuses a call after a
/// person approved it, the refusal's record drops the answer.
#[test]
fn an_approved_call_refused_by_a_limit_keeps_the_answer() {
    let setup = with_approver(
        "[tools]\nask = [\"count\"]\n[limits.tool.count]\nrate = \"1/min\"\n",
        Some(answer("yes")),
    );
    call_n(&setup, "count", r#"{"n": 1}"#, 1);
    refusal(&setup, "second", "count", r#"{"n": 1}"#, DENIED).expect("over the rate");
    let events = setup.audit.events();
    let last = events.last().expect("a record");
    assert_eq!(last["decision.approver"], "yes", "{last}");
}

// ---------------------------------------------------------------------------
// The audit trail is part of the call: no record, no call.

struct BrokenAudit;

impl AuditSink for BrokenAudit {
    fn record(&self, _: &CallEvent<'_>) -> Result<(), AuditError> {
        Err(AuditError::new(
            AuditErrorKind::Sink,
            "remote-collector".as_ref(),
            "disk full",
        ))
    }
}

#[test]
fn a_call_that_cannot_be_recorded_does_not_run() {
    let sandbox = Sandbox::new();
    let executor = Executor::builder(Registry::global())
        .policy(sandbox.policy(POLICY).expect("a valid policy"))
        .audit(Arc::new(BrokenAudit))
        .build()
        .expect("no examples");
    for (tool, args) in [
        ("count", r#"{"n": 1}"#.to_owned()),
        ("read_file", path(&sandbox.fill("{root}/data/notes.txt"))),
        ("read_file", path("/etc/passwd")),
        ("unnamed", "{}".to_owned()),
    ] {
        let call_id = unique_call_id("broken audit");
        let err = executor
            .call_blocking(tool, &args, ToolContext::new().with_call_id(&call_id))
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Denied, "{tool}: {err}");
        assert!(err.message().contains("disk full"), "{err}");
        assert_eq!(runs_of(&call_id), 0, "{tool}: the body ran");
    }
}

/// Records decisions and refuses every result, as a trail whose disk fills
/// while a tool runs would.
struct ResultsLost(MemoryAudit);

impl AuditSink for ResultsLost {
    fn record(&self, event: &CallEvent<'_>) -> Result<(), AuditError> {
        match event.kind {
            CallEventKind::Decision { .. } => self.0.record(event),
            CallEventKind::Result { .. } => Err(AuditError::new(
                AuditErrorKind::Sink,
                "remote-collector".as_ref(),
                "disk full",
            )),
        }
    }
}

#[test]
fn a_result_that_cannot_be_recorded_is_withheld_from_its_caller() {
    let sandbox = Sandbox::new();
    let audit = Arc::new(ResultsLost(MemoryAudit::new()));
    let executor = Executor::builder(Registry::global())
        .policy(sandbox.policy(POLICY).expect("a valid policy"))
        .audit(audit.clone())
        .build()
        .expect("no examples");
    // Each decision is written before its tool runs, and only the result is lost.
    for (tool, args) in [
        ("count", r#"{"n": 1}"#.to_owned()),
        ("read_file", path(&sandbox.fill("{root}/data/notes.txt"))),
    ] {
        let before = audit.0.events().len();
        let call_id = unique_call_id("results lost");
        let err = executor
            .call_blocking(tool, &args, ToolContext::new().with_call_id(&call_id))
            .expect_err("the result is withheld");
        assert!(err.message().contains("disk full"), "{tool}: {err}");
        assert!(err.message().contains("withheld"), "{tool}: {err}");
        assert_eq!(runs_of(&call_id), 1, "{tool}: the body ran once");
        let recorded = audit.0.events();
        assert_eq!(recorded.len() - before, 1, "{tool}: its decision alone");
        assert_eq!(recorded[before]["decision"], "allow", "{tool}");
    }
}

// ---------------------------------------------------------------------------
// Many calls at once.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_calls_at_once_under_max_concurrent_two_all_complete() {
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .policy(
            Policy::from_toml(
                "[limits]\nmax_concurrent = 2\n",
                "policy.toml",
                &std::env::temp_dir(),
            )
            .expect("a valid policy"),
        )
        .audit(audit.clone())
        .build()
        .expect("no examples");
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..50 {
        let executor = executor.clone();
        calls.spawn(async move {
            executor
                .call(
                    "busy",
                    r#"{"ms": 10}"#,
                    ToolContext::new().with_call_id(format!("busy-{i}")),
                )
                .await
        });
    }
    let mut done = 0;
    while let Some(joined) = calls.join_next().await {
        let output = joined
            .expect("no task panicked")
            .expect("every call completes");
        assert_eq!(output.as_json(), "10");
        done += 1;
    }
    assert_eq!(done, 50);
    let most = MOST_IN_FLIGHT.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "{most} calls ran at once");
    assert!(started.elapsed() >= Duration::from_millis(25 * 10));
    assert_eq!(
        audit.events().len(),
        100,
        "a decision and a result per call"
    );
    assert_eq!(executor.metrics()["busy"].calls, 50);
}

// ---------------------------------------------------------------------------
// The generated code fails closed: without an executor, a guarded value is denied.

#[test]
fn a_guarded_tool_invoked_without_an_executor_is_denied() {
    for (tool, args) in [
        ("read_file", path("/etc/passwd")),
        (
            "write_file",
            r#"{"path": "/tmp/x", "text": "x"}"#.to_owned(),
        ),
        ("fetch", url("https://api.example.com/")),
        ("fetch_async", url("https://api.example.com/")),
        ("run_program", program("/bin/echo")),
        ("read_var", name("LANG")),
        ("maybe_read", path("/etc/passwd")),
    ] {
        let call_id = unique_call_id("no executor");
        let ctx = ToolContext::new().with_call_id(&call_id);
        let invoke = Registry::global()
            .get(tool)
            .expect("defined in this file")
            .descriptor()
            .invoke;
        let err = match invoke {
            Invoke::Sync(invoke) => invoke(&ctx, &args).map(drop),
            // The guards run before the future is made.
            Invoke::Async(invoke) => invoke(&ctx, &args).map(drop),
            Invoke::Registered => unreachable!("{tool} is a linked tool"),
        }
        .expect_err("no executor, no grants");
        assert_eq!(err.kind(), ErrorKind::Denied, "{tool}: {err}");
        assert!(err.message().contains("Executor"), "says how: {err}");
        assert_eq!(runs_of(&call_id), 0, "{tool}: the body ran");
    }
    // A pure tool, or a guarded one given no guarded value, needs no grant.
    let ctx = ToolContext::new();
    for (tool, args) in [("count", r#"{"n": 2}"#), ("maybe_read", "{}")] {
        let Invoke::Sync(invoke) = Registry::global()
            .get(tool)
            .expect("defined")
            .descriptor()
            .invoke
        else {
            panic!("{tool} is synchronous");
        };
        assert!(invoke(&ctx, args).is_ok(), "{tool}");
    }
}

/// R-80's order, the tool rule before the argument limits: a call its tool
/// rule denies is refused by that rule even with arguments over the size
/// and depth limits, so the record names the rule the operator wrote; with
/// the tool allowed, the same arguments meet the limits.
#[test]
fn the_tool_rule_is_judged_before_the_argument_limits() {
    let limits = "[limits]\nmax_argument_bytes = 16\nmax_depth = 2\n";
    let too_big = format!(r#"{{"n": 1, "pad": "{}"}}"#, "x".repeat(64));
    let too_deep = r#"{"n": {"a": {"b": {"c": 1}}}}"#;
    let denied = setup(&format!("[tools]\ndeny = [\"count\"]\n{limits}"));
    for (label, args) in [("big", too_big.as_str()), ("deep", too_deep)] {
        refusal(&denied, label, "count", args, DENIED).expect("the tool rule refuses");
        let events = denied.audit.events();
        let rule = events.last().expect("a record")["decision.rule"].to_string();
        assert!(rule.contains("tools.deny"), "{label}: {rule}");
    }
    let allowed = setup(&format!("[tools]\nallow = [\"count\"]\n{limits}"));
    for (label, args) in [("big", too_big.as_str()), ("deep", too_deep)] {
        let err = allowed
            .executor
            .call_blocking(
                "count",
                args,
                ToolContext::new().with_call_id(unique_call_id(label)),
            )
            .expect_err("over the limits");
        let events = allowed.audit.events();
        let last = events.last().expect("a record");
        assert!(
            !last.to_string().contains("tools.allow"),
            "{label}: refused by a limit, not a rule: {last} ({err})"
        );
    }
}
