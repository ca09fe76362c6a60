//! The policy's semantics, as tables of cases: precedence of tool rules,
//! file roots and deny globs, hosts, programs, environment variables, limits,
//! inline examples, invalid files, and `explain`.
//!
//! Every table row is judged twice: by `Executor::explain` (the verdict) and
//! by a real call through the executor (allow runs, ask runs once a person says
//! yes, deny refuses with `denied` and the body never runs), so the dry run
//! and the call cannot drift apart.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustchain::exec::{ApprovalRequest, MemoryAudit};
use rustchain::policy::{
    Grants, Policy, PolicyError, PolicyErrorKind, PolicyWarningKind, ToolFacts, Verdict,
};
use rustchain::{ErrorKind, Executor, Registry, ToolContext, tool};

use PolicyErrorKind::{
    BadDuration, BadGlob, BadHost, BadPath, BadRate, BadValue, Syntax, UnknownKey, UnknownTool,
};
use Verdict::{Allow, Ask, Deny};

mod support;
use support::{Sandbox, unique_call_id};

// ---------------------------------------------------------------------------
// The tools under test. Bodies only say they ran (by call id), so that a
// denied call can be proven never to have reached its body.

static RAN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn ran(ctx: &ToolContext) {
    RAN.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(ctx.call_id().to_owned());
}

fn has_run(call_id: &str) -> bool {
    RAN.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .any(|id| id == call_id)
}

/// Reads a file (here: only echoes the path it would read).
#[tool]
fn read_file(
    /// The file to read.
    #[fs(read)]
    path: String,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    path
}

/// Writes a file (here: only echoes the path it would write).
#[tool]
fn write_file(
    /// The file to write.
    #[fs(write)]
    path: String,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    path
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

/// Runs a program (here: only echoes it).
#[tool]
fn run_program(
    /// The program, by absolute path.
    #[run]
    program: String,
    /// Its arguments.
    #[run(args)]
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

/// Counts to `n` (a pure tool: declares no permissions).
#[tool]
fn count(
    /// How far.
    n: u32,
    ctx: &ToolContext,
) -> u32 {
    ran(ctx);
    n
}

/// Upper-cases text (a pure tool).
#[tool]
fn text_upper(
    /// The text.
    text: String,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    text.to_uppercase()
}

/// Lower-cases text (a pure tool).
#[tool]
fn text_lower(
    /// The text.
    text: String,
    ctx: &ToolContext,
) -> String {
    ran(ctx);
    text.to_lowercase()
}

/// Returns `n` bytes of text.
#[tool]
fn big_output(
    /// How many bytes.
    n: usize,
) -> String {
    "x".repeat(n)
}

/// Sleeps; declares its own generous timeout.
#[tool(timeout = "10s")]
async fn slow(
    /// How long, in milliseconds.
    ms: u64,
) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Sleeps; declares its own short timeout.
#[tool(timeout = "50ms")]
async fn slow_own(
    /// How long, in milliseconds.
    ms: u64,
) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Sleeps; declares no timeout.
#[tool]
async fn slow_plain(
    /// How long, in milliseconds.
    ms: u64,
) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Lists the read roots the policy granted this call.
#[tool]
fn granted_roots(ctx: &ToolContext) -> Vec<String> {
    Grants::of(ctx)
        .fs_read_roots()
        .iter()
        .map(|root| root.display().to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// The executor and the case runner, over a `support::Sandbox` (tests/support/).

/// An executor under `policy`, recording to memory, with an approver that
/// always says yes and counts how often it was asked.
fn executor(policy: Policy) -> (Executor, Arc<MemoryAudit>, Arc<AtomicUsize>) {
    let audit = Arc::new(MemoryAudit::new());
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .audit(audit.clone())
        .approve_with(move |_: &ApprovalRequest| -> Result<String, String> {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok("yes".to_owned())
        })
        .build()
        .expect("the policy has no failing examples");
    (executor, audit, asked)
}

/// One row: its name, the policy text, the tool, its arguments, and the verdict.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Verdict,
);

/// Judges each case by `explain` and by a real call; reports every mismatch at once.
fn run_cases(cases: &[Case]) {
    let sandbox = Sandbox::new();
    let mut failures = Vec::new();
    for &(name, policy, tool, args, expect) in cases {
        let policy = match sandbox.policy(policy) {
            Ok(policy) => policy,
            Err(err) => {
                failures.push(format!("{name}: the policy does not load: {err}"));
                continue;
            }
        };
        let (executor, _audit, asked) = executor(policy);
        let args = sandbox.fill(args);
        let explanation = executor.explain(tool, &args);
        if explanation.verdict != expect {
            failures.push(format!(
                "{name}: explain says {} (expected {expect}): {:?}",
                explanation.verdict, explanation
            ));
        }
        let call_id = unique_call_id(name);
        let result = executor.call_blocking(tool, &args, ToolContext::new().with_call_id(&call_id));
        let asked = asked.load(Ordering::SeqCst);
        let outcome = match (&result, expect) {
            (Ok(_), Allow) if asked == 0 => None,
            (Ok(_), Ask) if asked == 1 => None,
            (Err(err), Deny) if err.kind() == ErrorKind::Denied && asked == 0 => None,
            _ => Some(format!(
                "{name}: the call gave {result:?} with the approver asked {asked} times (expected {expect})"
            )),
        };
        failures.extend(outcome);
        if (expect == Deny) == has_run(&call_id) {
            failures.push(format!(
                "{name}: the body {} though the verdict is {expect}",
                if expect == Deny { "ran" } else { "did not run" }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures in {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Tool rules: deny > ask > allow, globs, `default`, and the no-policy default.

const N: &str = r#"{"n": 1}"#;
const T: &str = r#"{"text": "Hi"}"#;
const NOTES: &str = r#"{"path": "{root}/data/notes.txt"}"#;
const OUTSIDE: &str = r#"{"path": "{root}/outside/secret.txt"}"#;

#[rustfmt::skip]
const PRECEDENCE: &[Case] = &[
    ("empty policy: a pure tool runs", "", "count", N, Allow),
    ("empty policy: a guarded tool is denied", "", "read_file", NOTES, Deny),
    ("default allow, said explicitly", r#"default = "allow""#, "count", N, Allow),
    ("default deny: an unnamed pure tool is denied", r#"default = "deny""#, "count", N, Deny),
    ("default deny: a tool allowed by name runs", "default = \"deny\"\ntools = { allow = [\"count\"] }", "count", N, Allow),
    ("default deny: a tool asked by name asks", "default = \"deny\"\ntools = { ask = [\"count\"] }", "count", N, Ask),
    ("default deny: allowed by glob", "default = \"deny\"\ntools = { allow = [\"text_*\"] }", "text_upper", T, Allow),
    ("default deny: another tool is still denied", "default = \"deny\"\ntools = { allow = [\"text_*\"] }", "count", N, Deny),
    ("deny beats allow (same tool)", r#"tools = { allow = ["count"], deny = ["count"] }"#, "count", N, Deny),
    ("ask beats allow (same tool)", r#"tools = { allow = ["count"], ask = ["count"] }"#, "count", N, Ask),
    ("deny beats ask (same tool)", r#"tools = { ask = ["count"], deny = ["count"] }"#, "count", N, Deny),
    ("deny beats ask beats allow", r#"tools = { allow = ["count"], ask = ["count"], deny = ["count"] }"#, "count", N, Deny),
    ("a deny glob beats an exact allow", r#"tools = { allow = ["text_upper"], deny = ["text_*"] }"#, "text_upper", T, Deny),
    ("an exact deny among glob allows", r#"tools = { allow = ["text_*"], deny = ["text_lower"] }"#, "text_lower", T, Deny),
    ("... and its sibling still runs", r#"tools = { allow = ["text_*"], deny = ["text_lower"] }"#, "text_upper", T, Allow),
    ("deny * beats every allow", r#"tools = { allow = ["count"], deny = ["*"] }"#, "count", N, Deny),
    ("ask by ? glob", r#"tools = { ask = ["?ount"] }"#, "count", N, Ask),
    ("a glob that does not match leaves the default", r#"tools = { deny = ["counter"] }"#, "count", N, Allow),
    ("ask on a pure tool under default allow", r#"tools = { ask = ["text_*"] }"#, "text_lower", T, Ask),
    ("allowing a guarded tool grants nothing", r#"tools = { allow = ["read_file"] }"#, "read_file", NOTES, Deny),
    ("a guarded tool, allowed and granted", "tools = { allow = [\"read_file\"] }\nfs = { read = [\"data\"] }", "read_file", NOTES, Allow),
    ("a guarded tool, granted, default allow", r#"fs = { read = ["data"] }"#, "read_file", NOTES, Allow),
    ("a guarded tool, granted, but denied by name", "tools = { deny = [\"read_*\"] }\nfs = { read = [\"data\"] }", "read_file", NOTES, Deny),
    ("a guarded tool, granted, asked", "tools = { ask = [\"read_file\"] }\nfs = { read = [\"data\"] }", "read_file", NOTES, Ask),
    ("ask, but the guard denies first: nobody is asked", "tools = { ask = [\"read_file\"] }\nfs = { read = [\"data\"] }", "read_file", OUTSIDE, Deny),
    ("default deny: granted resource, tool unnamed", "default = \"deny\"\nfs = { read = [\"data\"] }", "read_file", NOTES, Deny),
];

#[test]
fn tool_rules_deny_beats_ask_beats_allow() {
    run_cases(PRECEDENCE);
}

#[test]
fn no_policy_at_all_is_the_empty_policy() {
    let sandbox = Sandbox::new();
    let notes = sandbox.fill(NOTES);
    let empty = executor(sandbox.policy("").expect("the empty policy loads")).0;
    for executor in [Executor::new(Registry::global()), empty] {
        assert!(
            executor
                .call_blocking("count", N, ToolContext::new())
                .is_ok()
        );
        let err = executor
            .call_blocking("read_file", &notes, ToolContext::new())
            .expect_err("nothing is granted");
        assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
        assert!(
            err.message().contains("outside every granted read root"),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------------------
// Files: roots, `..`, absolute paths, symlinks, deny globs, read vs write.

/// Deny globs are anchored at the policy's folder (`{root}`), one set for
/// every access kind.
const FS: &str = r#"fs = { read = ["data"], write = ["out"], deny = ["data/secrets/**", "out/secrets/**", "**/.env"] }"#;
/// Issue 8, attack 5: a write root inside a read root, and a glob that covers
/// part of it: reading what writing may not touch was allowed.
const FS_NESTED: &str =
    r#"fs = { read = ["data"], write = ["data/out"], deny = ["data/out/secrets/**"] }"#;
const FS_ABSOLUTE: &str = r#"fs = { read = ["{root}/data"] }"#;

#[rustfmt::skip]
const FILES: &[Case] = &[
    ("a file inside the read root", FS, "read_file", NOTES, Allow),
    ("a file not yet there, inside", FS, "read_file", r#"{"path": "{root}/data/new.txt"}"#, Allow),
    ("the root itself", FS, "read_file", r#"{"path": "{root}/data"}"#, Allow),
    ("a nested folder", FS, "read_file", r#"{"path": "{root}/data/sub/deeper/file.txt"}"#, Allow),
    ("`..` that stays inside", FS, "read_file", r#"{"path": "{root}/data/sub/../notes.txt"}"#, Allow),
    ("`.` components", FS, "read_file", r#"{"path": "{root}/data/./sub/./x"}"#, Allow),
    ("a root given as an absolute path", FS_ABSOLUTE, "read_file", NOTES, Allow),
    ("outside every root", FS, "read_file", OUTSIDE, Deny),
    ("`..` out of the root", FS, "read_file", r#"{"path": "{root}/data/../outside/secret.txt"}"#, Deny),
    ("many `..` out of the root", FS, "read_file", r#"{"path": "{root}/data/sub/../../../../../etc/passwd"}"#, Deny),
    ("a relative climb (from the working folder)", FS, "read_file", r#"{"path": "../../etc/passwd"}"#, Deny),
    ("an absolute system path", FS, "read_file", r#"{"path": "/etc/passwd"}"#, Deny),
    ("a doubled leading slash", FS, "read_file", r#"{"path": "//etc/passwd"}"#, Deny),
    ("the filesystem root", FS, "read_file", r#"{"path": "/"}"#, Deny),
    ("an empty path", FS, "read_file", r#"{"path": ""}"#, Deny),
    ("a sibling sharing the root's prefix", FS, "read_file", r#"{"path": "{root}/database/x"}"#, Deny),
    ("the parent of the root", FS, "read_file", r#"{"path": "{root}"}"#, Deny),
    ("a folder link out of the root", FS, "read_file", r#"{"path": "{root}/data/link_out/secret.txt"}"#, Deny),
    ("a file link out of the root", FS, "read_file", r#"{"path": "{root}/data/link_out_file"}"#, Deny),
    ("a new file under a link out of the root", FS, "write_file", r#"{"path": "{root}/data/link_out/new.txt"}"#, Deny),
    ("a link inside the root to a denied folder", FS, "read_file", r#"{"path": "{root}/data/link_in/key"}"#, Deny),
    ("deny secrets/**", FS, "read_file", r#"{"path": "{root}/data/secrets/key"}"#, Deny),
    ("deny secrets/** through sub/..", FS, "read_file", r#"{"path": "{root}/data/sub/../secrets/key"}"#, Deny),
    ("deny secrets/**, a file not yet there", FS, "read_file", r#"{"path": "{root}/data/secrets/new/deeper"}"#, Deny),
    ("deny **/.env, nested", FS, "read_file", r#"{"path": "{root}/data/app/.env"}"#, Deny),
    ("deny **/.env, at the root", FS, "read_file", r#"{"path": "{root}/data/.env"}"#, Deny),
    ("**/.env leaves other names alone", FS, "read_file", r#"{"path": "{root}/data/app/env.txt"}"#, Allow),
    ("data/secrets/** is anchored at the policy's folder, not any folder", FS, "read_file", r#"{"path": "{root}/data/sub/secrets/key"}"#, Allow),
    ("write inside the write root", FS, "write_file", r#"{"path": "{root}/out/new.txt"}"#, Allow),
    ("a read root is not a write root", FS, "write_file", r#"{"path": "{root}/data/new.txt"}"#, Deny),
    ("a write root is not a read root", FS, "read_file", r#"{"path": "{root}/out/new.txt"}"#, Deny),
    ("deny globs cover write roots too", FS, "write_file", r#"{"path": "{root}/out/secrets/x"}"#, Deny),
    ("one deny set: writing a denied path in a nested write root", FS_NESTED, "write_file", r#"{"path": "{root}/data/out/secrets/k"}"#, Deny),
    ("one deny set: reading the same path through the read root", FS_NESTED, "read_file", r#"{"path": "{root}/data/out/secrets/k"}"#, Deny),
    ("one deny set: the rest of the nested write root is readable", FS_NESTED, "read_file", r#"{"path": "{root}/data/out/x.txt"}"#, Allow),
    ("no fs table: nothing is readable", "", "read_file", NOTES, Deny),
];

#[test]
fn file_grants_roots_dot_dot_symlinks_and_deny_globs() {
    run_cases(FILES);
}

/// The kernel follows `link_sub` before applying `..`, so
/// `data/link_sub/../secret.txt` opens `outside/secret.txt`: the guard must
/// judge that path, not the lexically folded `data/secret.txt`.
#[test]
fn dot_dot_after_a_symlink_is_judged_where_the_kernel_goes() {
    run_cases(&[(
        "`..` after a link out of the root",
        FS,
        "read_file",
        r#"{"path": "{root}/data/link_sub/../secret.txt"}"#,
        Deny,
    )]);
}

/// A dangling link inside a write root: writing it creates the link's target,
/// outside every root.
#[test]
fn a_dangling_link_out_of_a_write_root_is_denied() {
    run_cases(&[(
        "a dangling link out of the write root",
        FS,
        "write_file",
        r#"{"path": "{root}/out/dangling"}"#,
        Deny,
    )]);
}

/// `secrets/**` denies everything under `secrets`, so listing the folder
/// itself (the names of the secrets) should be denied too.
#[test]
fn a_denied_folder_itself_is_denied() {
    run_cases(&[(
        "the denied folder itself",
        FS,
        "read_file",
        r#"{"path": "{root}/data/secrets"}"#,
        Deny,
    )]);
}

// ---------------------------------------------------------------------------
// Hosts: exact, `*.suffix`, IP, CIDR, ports, deny beats allow, schemes.

const NET: &str = r#"net = { allow = ["api.example.com", "*.example.org", "93.184.216.34", "10.0.0.0/8", "2001:db8::/32", "ports.example.net:8443"], deny = ["internal.example.org", "10.9.0.0/16"] }"#;
const NET_HTTP: &str = r#"net = { allow = ["api.example.com"], http = true }"#;

fn url(text: &str) -> &'static str {
    Box::leak(format!(r#"{{"url": "{text}"}}"#).into_boxed_str())
}

#[rustfmt::skip]
fn host_cases() -> Vec<Case> {
    vec![
        ("exact host", NET, "fetch", url("https://api.example.com/v1"), Allow),
        ("exact host, any case", NET, "fetch", url("https://API.Example.COM/"), Allow),
        ("exact host, trailing dot", NET, "fetch", url("https://api.example.com./"), Allow),
        ("exact host, bare", NET, "fetch", url("api.example.com"), Allow),
        ("exact host, bare with port", NET, "fetch", url("api.example.com:443"), Allow),
        ("exact does not cover subdomains", NET, "fetch", url("https://x.api.example.com/"), Deny),
        ("exact is not a prefix", NET, "fetch", url("https://api.example.com.evil.net/"), Deny),
        ("user info is refused", NET, "fetch", url("https://user@api.example.com/"), Deny),
        ("user info hiding the real host", NET, "fetch", url("https://api.example.com@evil.net/"), Deny),
        ("a fragment hiding the real host", NET, "fetch", url("https://evil.net#@api.example.com"), Deny),
        ("suffix", NET, "fetch", url("https://a.b.example.org/"), Allow),
        ("suffix excludes the apex", NET, "fetch", url("https://example.org/"), Deny),
        ("suffix is a label boundary", NET, "fetch", url("https://badexample.org/"), Deny),
        ("deny beats a suffix allow", NET, "fetch", url("https://internal.example.org/"), Deny),
        ("deny by name, any case", NET, "fetch", url("https://INTERNAL.example.org/"), Deny),
        ("IP", NET, "fetch", url("https://93.184.216.34/"), Allow),
        ("IP, another address", NET, "fetch", url("https://93.184.216.35/"), Deny),
        ("CIDR", NET, "fetch", url("https://10.1.2.3/"), Allow),
        ("CIDR, outside", NET, "fetch", url("https://11.0.0.1/"), Deny),
        ("CIDR deny inside a CIDR allow", NET, "fetch", url("https://10.9.1.1/"), Deny),
        ("IPv6 CIDR", NET, "fetch", url("https://[2001:db8::1]/"), Allow),
        ("IPv6 CIDR, outside", NET, "fetch", url("https://[2001:db9::1]/"), Deny),
        ("port-specific grant", NET, "fetch", url("https://ports.example.net:8443/"), Allow),
        ("port-specific grant, default port", NET, "fetch", url("https://ports.example.net/"), Deny),
        ("port-specific grant, other port", NET, "fetch", url("https://ports.example.net:8444/"), Deny),
        ("loopback is not granted", NET, "fetch", url("https://127.0.0.1/"), Deny),
        ("an empty value", NET, "fetch", url(""), Deny),
        ("http without http = true", NET, "fetch", url("http://api.example.com/"), Deny),
        ("http with http = true", NET_HTTP, "fetch", url("http://api.example.com/"), Allow),
        ("https with http = true", NET_HTTP, "fetch", url("https://api.example.com/"), Allow),
        ("ftp with http = true", NET_HTTP, "fetch", url("ftp://api.example.com/"), Deny),
        ("ws with http = true", NET_HTTP, "fetch", url("ws://api.example.com/"), Deny),
        ("file URLs name no host", NET_HTTP, "fetch", url("file:///etc/passwd"), Deny),
        ("an async guarded tool, granted", NET, "fetch_async", url("https://api.example.com/"), Allow),
        ("an async guarded tool, not granted", NET, "fetch_async", url("https://evil.net/"), Deny),
        ("no net table: nothing is reachable", "", "fetch", url("https://api.example.com/"), Deny),
    ]
}

#[test]
fn host_grants_names_suffixes_ips_cidrs_ports_and_schemes() {
    run_cases(&host_cases());
}

// ---------------------------------------------------------------------------
// Programs: absolute paths only, exact match.

const PROGRAMS: &str =
    r#"programs = [{ path = "/bin/echo" }, { path = "/usr/bin/env", deny_flags = ["-S"] }]"#;

fn program(path: &str) -> &'static str {
    Box::leak(format!(r#"{{"program": "{path}", "args": ["hi"]}}"#).into_boxed_str())
}

#[rustfmt::skip]
fn program_cases() -> Vec<Case> {
    vec![
        ("a granted program", PROGRAMS, "run_program", program("/bin/echo"), Allow),
        ("another granted program", PROGRAMS, "run_program", program("/usr/bin/env"), Allow),
        ("a doubled slash is the same path", PROGRAMS, "run_program", program("/bin//echo"), Allow),
        ("another program", PROGRAMS, "run_program", program("/bin/sh"), Deny),
        ("a bare name (no PATH lookup)", PROGRAMS, "run_program", program("echo"), Deny),
        ("a relative path", PROGRAMS, "run_program", program("bin/echo"), Deny),
        ("a dot-relative path", PROGRAMS, "run_program", program("./echo"), Deny),
        ("`..` from a granted program", PROGRAMS, "run_program", program("/bin/echo/../sh"), Deny),
        ("another case", PROGRAMS, "run_program", program("/BIN/ECHO"), Deny),
        ("an empty program", PROGRAMS, "run_program", program(""), Deny),
        ("no programs: nothing runs", "", "run_program", program("/bin/echo"), Deny),
    ]
}

#[test]
fn program_grants_are_exact_absolute_paths() {
    run_cases(&program_cases());
}

/// `[[programs]] deny_flags` refuses an argument of a `#[run(args)]` parameter.
#[test]
fn a_denied_flag_of_a_granted_program_is_denied() {
    run_cases(&[(
        "a denied flag",
        PROGRAMS,
        "run_program",
        r#"{"program": "/usr/bin/env", "args": ["-S", "sh -c id"]}"#,
        Deny,
    )]);
}

/// `[[programs]] allow_args`: the only argument forms, `deny_flags` on top.
const FORMS: &str = r#"programs = [
  { path = "/usr/bin/git", allow_args = ["status", "log **", "show *"], deny_flags = ["-c"] },
  { path = "/bin/true", allow_args = [] },
  { path = "/bin/echo" },
]"#;

#[rustfmt::skip]
const FORM_CASES: &[Case] = &[
    ("a plain form", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["status"]}"#, Allow),
    ("a form ending in **, nothing after", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["log"]}"#, Allow),
    ("a form ending in **, anything after", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["log", "--oneline", "--", "x y"]}"#, Allow),
    ("* is one argument", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["show", "HEAD"]}"#, Allow),
    ("[] allows no arguments", FORMS, "run_program", r#"{"program": "/bin/true", "args": []}"#, Allow),
    ("no allow_args: any arguments", FORMS, "run_program", r#"{"program": "/bin/echo", "args": ["push", "--force"]}"#, Allow),
    ("no form", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["push"]}"#, Deny),
    ("no arguments, not a form", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": []}"#, Deny),
    ("a word more than a plain form", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["status", "--porcelain"]}"#, Deny),
    ("a flag glued to the word", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["status=--exec=id"]}"#, Deny),
    ("shell syntax in one argument", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["status; rm -rf /"]}"#, Deny),
    ("the form's words in one argument", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["log --oneline"]}"#, Deny),
    ("another case", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["Status"]}"#, Deny),
    ("a look-alike letter", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["st\u0430tus"]}"#, Deny),
    ("-- before the form", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["--", "status"]}"#, Deny),
    ("a global flag before the form", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["--git-dir=/tmp", "log"]}"#, Deny),
    ("an empty argument", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": [""]}"#, Deny),
    ("* is not two arguments", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["show", "a", "b"]}"#, Deny),
    ("* is not none", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["show"]}"#, Deny),
    ("a denied flag inside a form", FORMS, "run_program", r#"{"program": "/usr/bin/git", "args": ["log", "-c", "x"]}"#, Deny),
    ("[] refuses an empty argument", FORMS, "run_program", r#"{"program": "/bin/true", "args": [""]}"#, Deny),
    ("[] refuses any argument", FORMS, "run_program", r#"{"program": "/bin/true", "args": ["--help"]}"#, Deny),
];

#[test]
fn allowed_argument_forms_let_through_what_they_say_and_nothing_more() {
    run_cases(FORM_CASES);
}

/// A refusal by `allow_args` is recorded naming the program's line and the
/// list's, and the reason names the argument that fits no form.
#[test]
fn a_refusal_by_allow_args_is_recorded_naming_its_lines() {
    let text = "[[programs]]\npath = \"/usr/bin/git\"\nallow_args = [\"status\"]\n";
    let policy = Policy::from_toml(text, "policy.toml", Path::new("/")).expect("a valid policy");
    let (executor, audit, _) = executor(policy);
    let err = executor
        .call_blocking(
            "run_program",
            r#"{"program": "/usr/bin/git", "args": ["status", "--exec=id"]}"#,
            ToolContext::new(),
        )
        .expect_err("no form allows it");
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(
        err.message().contains("argument 1 (\"--exec=id\")"),
        "{err}"
    );
    let events = audit.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["decision"], "deny");
    assert_eq!(
        events[0]["decision.rule"],
        "programs \"/usr/bin/git\" (policy.toml:2) allow_args (policy.toml:3)"
    );
}

// ---------------------------------------------------------------------------
// Environment variable names: exact, case-sensitive.

const ENV: &str = r#"env = { allow = ["LANG", "RUST_LOG"] }"#;

#[rustfmt::skip]
const ENV_CASES: &[Case] = &[
    ("a granted variable", ENV, "read_var", r#"{"name": "LANG"}"#, Allow),
    ("another granted variable", ENV, "read_var", r#"{"name": "RUST_LOG"}"#, Allow),
    ("names are case-sensitive", ENV, "read_var", r#"{"name": "lang"}"#, Deny),
    ("an ungranted variable", ENV, "read_var", r#"{"name": "PATH"}"#, Deny),
    ("no prefix matching", ENV, "read_var", r#"{"name": "LANGUAGE"}"#, Deny),
    ("no trimming", ENV, "read_var", r#"{"name": "LANG "}"#, Deny),
    ("an empty name", ENV, "read_var", r#"{"name": ""}"#, Deny),
    ("no env table: nothing is readable", "", "read_var", r#"{"name": "LANG"}"#, Deny),
];

#[test]
fn env_grants_are_exact_names() {
    run_cases(ENV_CASES);
}

// ---------------------------------------------------------------------------
// Limits.

fn limited(text: &str) -> Executor {
    executor(Policy::from_toml(text, "policy.toml", Path::new("/")).expect("a valid policy")).0
}

fn descriptor(name: &str) -> &'static rustchain::ToolDescriptor {
    Registry::global()
        .get(name)
        .expect("the tool is defined in this file")
        .descriptor()
}

#[test]
fn a_per_tool_timeout_overrides_the_tools_own() {
    let policy = "[limits]\ntimeout = \"20s\"\n[limits.tool.slow]\ntimeout = \"50ms\"\n";
    let executor = limited(policy);
    let limits = executor.policy().limits_for(descriptor("slow"));
    assert_eq!(limits.timeout, Some(Duration::from_millis(50)));
    let started = Instant::now();
    let err = executor
        .call_blocking("slow", r#"{"ms": 3000}"#, ToolContext::new())
        .expect_err("the policy's 50ms timeout applies");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A quick call still finishes.
    assert!(
        executor
            .call_blocking("slow", r#"{"ms": 1}"#, ToolContext::new())
            .is_ok()
    );
}

#[test]
fn the_tools_own_timeout_beats_the_policy_default() {
    let executor = limited("[limits]\ntimeout = \"20s\"\n");
    let limits = executor.policy().limits_for(descriptor("slow_own"));
    assert_eq!(limits.timeout, Some(Duration::from_millis(50)));
    let err = executor
        .call_blocking("slow_own", r#"{"ms": 3000}"#, ToolContext::new())
        .expect_err("the tool's own 50ms timeout applies");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[test]
fn the_policy_default_timeout_covers_tools_without_their_own() {
    let executor = limited("[limits]\ntimeout = \"50ms\"\n");
    assert_eq!(
        executor
            .policy()
            .limits_for(descriptor("slow_plain"))
            .timeout,
        Some(Duration::from_millis(50))
    );
    let err = executor
        .call_blocking("slow_plain", r#"{"ms": 3000}"#, ToolContext::new())
        .expect_err("the policy's default timeout applies");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // No policy timeout and no tool timeout: none at all.
    assert_eq!(
        limited("")
            .policy()
            .limits_for(descriptor("slow_plain"))
            .timeout,
        None
    );
}

#[test]
fn output_over_max_output_bytes_is_an_error() {
    let executor = limited("[limits]\nmax_output_bytes = 100\n");
    let ok = executor
        .call_blocking("big_output", r#"{"n": 10}"#, ToolContext::new())
        .expect("small output passes");
    assert_eq!(ok.to_value(), "x".repeat(10));
    // 98 characters plus two quotes: exactly the limit.
    assert!(
        executor
            .call_blocking("big_output", r#"{"n": 98}"#, ToolContext::new())
            .is_ok()
    );
    let err = executor
        .call_blocking("big_output", r#"{"n": 99}"#, ToolContext::new())
        .expect_err("101 bytes of JSON is over 100");
    assert_eq!(err.kind(), ErrorKind::Failed, "{err}");
    assert!(err.message().contains("over the limit"), "{err}");

    let per_tool = limited(
        "[limits]\nmax_output_bytes = 100\n[limits.tool.big_output]\nmax_output_bytes = 1000\n",
    );
    assert!(
        per_tool
            .call_blocking("big_output", r#"{"n": 500}"#, ToolContext::new())
            .is_ok()
    );
}

#[test]
fn arguments_over_max_argument_bytes_or_max_depth_are_refused() {
    let executor = limited("[limits]\nmax_argument_bytes = 32\nmax_depth = 2\n");
    let fits = format!(r#"{{"n": 1}}{}"#, " ".repeat(32 - 8));
    assert_eq!(fits.len(), 32);
    assert!(
        executor
            .call_blocking("count", &fits, ToolContext::new())
            .is_ok()
    );
    let over = format!("{fits} ");
    let err = executor
        .call_blocking("count", &over, ToolContext::new())
        .expect_err("33 bytes is over 32");
    assert_eq!(err.kind(), ErrorKind::InvalidArguments, "{err}");
    assert!(
        err.message().contains("over the limit of 32 bytes"),
        "{err}"
    );

    let err = executor
        .call_blocking("count", r#"{"n": [[[1]]]}"#, ToolContext::new())
        .expect_err("nested three deep");
    assert_eq!(err.kind(), ErrorKind::InvalidArguments, "{err}");
    assert!(err.message().contains("nested more than 2"), "{err}");
}

#[test]
fn limits_of_a_policy_are_readable() {
    let policy = Policy::from_toml(
        "[limits]\nmax_concurrent = 3\ncalls_per_session = 10\nbytes_per_session = 1000\n[limits.tool.count]\nrate = \"5/s\"\n[approval]\ntimeout = \"2s\"\n",
        "policy.toml",
        Path::new("/"),
    )
    .expect("a valid policy");
    assert_eq!(policy.max_concurrent(), 3);
    assert_eq!(policy.budget().calls, Some(10));
    assert_eq!(policy.budget().bytes, Some(1000));
    let rate = policy.limits_for(descriptor("count")).rate.expect("a rate");
    assert_eq!((rate.calls, rate.per), (5, Duration::from_secs(1)));
    assert_eq!(policy.limits_for(descriptor("text_upper")).rate, None);
    assert_eq!(policy.approval_timeout(), Duration::from_secs(2));
}

// ---------------------------------------------------------------------------
// Inline examples: the policy carries its own tests.

fn build(sandbox: &Sandbox, text: &str) -> Result<Executor, PolicyError> {
    let policy = sandbox.policy(text)?;
    Executor::builder(Registry::global())
        .policy(policy)
        .audit(Arc::new(MemoryAudit::new()))
        .build()
}

#[test]
fn passing_examples_load() {
    let sandbox = Sandbox::new();
    let text = r#"
[tools]
ask = ["text_upper"]

[fs]
read = ["data"]

[[examples]]
tool = "read_file"
args = { path = "/etc/passwd" }
expect = "deny"

[[examples]]
tool = "read_file"
args = { path = "{root}/data/notes.txt" }
expect = "allow"

[[examples]]
tool = "count"
args = { n = 3 }
expect = "allow"

[[examples]]
tool = "text_upper"
args = { text = "hi" }
expect = "ask"
"#;
    let executor = build(&sandbox, text).expect("every example gets its verdict");
    assert_eq!(executor.policy().examples().len(), 4);
    assert_eq!(executor.policy().examples()[1].line, 14);
}

#[test]
fn a_failing_example_refuses_the_policy_naming_its_line() {
    let sandbox = Sandbox::new();
    let text = r#"[fs]
read = ["data"]

[[examples]]
tool = "count"
args = { n = 3 }
expect = "allow"

[[examples]]
tool = "read_file"
args = { path = "/etc/passwd" }
expect = "allow"
"#;
    let err = build(&sandbox, text).expect_err("the second example fails");
    assert_eq!(err.line, Some(10), "{err}");
    assert_eq!(err.origin, "policy.toml");
    assert!(err.to_string().starts_with("policy.toml:10: "), "{err}");
    assert!(err.message.contains("expects allow but gets deny"), "{err}");
    assert!(
        err.message.contains("fs.read"),
        "names the deciding rule: {err}"
    );
}

/// One file may serve several programs: a tool this one does not link is
/// a warning; a misspelling of one it links is an error.
#[test]
fn an_example_naming_an_unlinked_tool_is_a_warning_and_a_misspelled_one_an_error() {
    let sandbox = Sandbox::new();
    let text = "[[examples]]\ntool = \"no_such_tool\"\nexpect = \"deny\"\n";
    let executor = build(&sandbox, text).expect("another program's tool");
    let warnings = executor.policy().warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, Some(2));
    assert!(warnings[0].message.contains("no_such_tool"), "{warnings:?}");

    let text = "[[examples]]\ntool = \"text_uper\"\nexpect = \"deny\"\n";
    let err = build(&sandbox, text).expect_err("a typo of text_upper");
    assert_eq!(err.kind, PolicyErrorKind::FailingExample, "{err}");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.message.contains("did you mean `text_upper`?"), "{err}");
}

#[test]
fn an_example_with_invalid_arguments_refuses_the_policy() {
    let sandbox = Sandbox::new();
    let text = "\n[[examples]]\ntool = \"count\"\nargs = { n = \"three\" }\nexpect = \"allow\"\n";
    let err = build(&sandbox, text).expect_err("the arguments do not decode");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.message.contains("cannot be judged"), "{err}");
}

#[test]
fn an_example_expecting_ask_is_checked_too() {
    let sandbox = Sandbox::new();
    let text = "[[examples]]\ntool = \"count\"\nargs = { n = 1 }\nexpect = \"ask\"\n";
    let err = build(&sandbox, text).expect_err("count is allowed, not asked");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.message.contains("expects ask but gets allow"), "{err}");
}

// ---------------------------------------------------------------------------
// Invalid files: each refused, naming the line.

/// (what is wrong, the file, the line named, a fragment of the message, the kind)
#[rustfmt::skip]
const INVALID: &[(&str, &str, usize, &str, PolicyErrorKind)] = &[
    ("unknown top-level key", "default = \"deny\"\ncolour = \"red\"\n", 2, "colour", UnknownKey),
    ("unknown key in [tools]", "[tools]\nallow = []\nalow = [\"x\"]\n", 3, "alow", UnknownKey),
    ("unknown key in [fs]", "[fs]\n\nreed = [\"data\"]\n", 3, "reed", UnknownKey),
    ("unknown key in [limits.tool.NAME]", "[limits.tool.count]\nrate = \"1/s\"\nspeed = 3\n", 3, "speed", UnknownKey),
    ("unknown key in [[programs]]", "[[programs]]\npath = \"/bin/echo\"\nflags = []\n", 3, "flags", UnknownKey),
    ("unknown key in [[examples]]", "[[examples]]\ntool = \"count\"\nexpect = \"allow\"\nwhy = \"x\"\n", 4, "why", UnknownKey),
    ("a key of the wrong type", "[limits]\nmax_concurrent = \"two\"\n", 2, "", Syntax),
    ("a duplicate key", "[tools]\nallow = []\nallow = []\n", 3, "", Syntax),
    ("TOML that does not parse", "[tools\nallow = []\n", 1, "", Syntax),
    ("bad tool glob", "\n[tools]\nallow = [\"ok\", \"a[\"]\n", 3, "bad glob", BadGlob),
    ("bad fs deny glob", "[fs]\nread = [\"data\"]\ndeny = [\n  \"ok/**\",\n  \"[z-a]\",\n]\n", 5, "bad glob", BadGlob),
    ("bad record_args glob", "[audit]\nrecord_args = [\"{a\"]\n", 2, "bad glob", BadGlob),
    ("bad CIDR", "[net]\nallow = [\"10.0.0.0/33\"]\n", 2, "bad host", BadHost),
    ("bad host name", "[net]\nallow = [\"exa mple.com\"]\n", 2, "bad host", BadHost),
    ("bad port", "[net]\ndeny = [\"host:0\"]\n", 2, "bad host", BadHost),
    ("an empty host", "[net]\nallow = [\"\"]\n", 2, "bad host", BadHost),
    ("bad duration, no unit", "[limits]\ntimeout = \"30\"\n", 2, "not a duration", BadDuration),
    ("bad duration, words", "[limits]\ntimeout = \"thirty seconds\"\n", 2, "not a duration", BadDuration),
    ("bad duration, zero", "[limits]\ntimeout = \"0s\"\n", 2, "not a duration", BadDuration),
    ("bad duration, negative", "[approval]\ntimeout = \"-1s\"\n", 2, "not a duration", BadDuration),
    ("bad per-tool duration", "[limits.tool.count]\n\ntimeout = \"soon\"\n", 3, "not a duration", BadDuration),
    ("bad rate, words", "[limits.tool.count]\nrate = \"10 per min\"\n", 2, "not a rate", BadRate),
    ("bad rate, zero", "[limits.tool.count]\nrate = \"0/min\"\n", 2, "not a rate", BadRate),
    ("bad rate, unit", "[limits.tool.count]\nrate = \"10/fortnight\"\n", 2, "not a rate", BadRate),
    ("a relative program", "[[programs]]\npath = \"bin/sh\"\n", 2, "not an absolute path", BadPath),
    ("a bare program name", "\n[[programs]]\npath = \"sh\"\n", 3, "not an absolute path", BadPath),
    ("default = maybe", "default = \"maybe\"\n", 1, "\"allow\" or \"deny\"", BadValue),
    ("an example expecting maybe", "[[examples]]\ntool = \"count\"\nexpect = \"maybe\"\n", 3, "expect", BadValue),
    ("an env name with =", "[env]\nallow = [\"A=B\"]\n", 2, "not an environment variable name", BadValue),
    ("an empty root", "[fs]\nwrite = [\"\"]\n", 2, "non-empty path", BadPath),
    ("an empty deny flag", "[[programs]]\npath = \"/usr/bin/git\"\ndeny_flags = [\n  \"-c\",\n  \"\",\n]\n", 5, "denies nothing", BadValue),
    ("an argument form with a glob inside a word", "[[programs]]\npath = \"/usr/bin/git\"\nallow_args = [\n  \"status\",\n  \"log --format=*\",\n]\n", 5, "whole word", BadValue),
    ("an argument form with ** before its end", "[[programs]]\npath = \"/usr/bin/git\"\nallow_args = [\"** status\"]\n", 3, "not the last word", BadValue),
    ("an argument form with two spaces", "[[programs]]\npath = \"/usr/bin/git\"\nallow_args = [\"log  -1\"]\n", 3, "empty word", BadValue),
    ("an argument form with a tab", "[[programs]]\npath = \"/usr/bin/git\"\nallow_args = [\"log\\t-1\"]\n", 3, "control character", BadValue),
    ("an empty redact entry", "[audit]\nredact = [\"token\", \" \"]\n", 2, "redacts nothing", BadValue),
    ("a limit for a name no tool can have", "[limits.tool.\"fs read\"]\nrate = \"1/s\"\n", 1, "names no tool", UnknownTool),
    ("a program granted twice", "[[programs]]\npath = \"/usr/bin/git\"\n\n[[programs]]\npath = \"/usr//bin/./git\"\nallow_args = [\"status\"]\n", 5, "already granted by the [[programs]] entry at line 2", BadValue),
    ("an fsync of 0 records", "[audit]\nfsync = \"0\"\n", 2, "use `never` or a positive number", BadValue),
    ("an fsync word it does not know", "[audit]\n\nfsync = \"always\"\n", 3, "`every-record`, `never` or a number", BadValue),
    ("an fsync of -1 records", "[audit]\nfsync = -1\n", 2, "`every-record`, `never` or a number", BadValue),
    ("an fsync that is neither a word nor a number", "[audit]\nfsync = true\n", 2, "a boolean is not an fsync setting", BadValue),
];

#[test]
fn invalid_files_are_refused_naming_the_line() {
    let mut failures = Vec::new();
    for &(what, text, line, fragment, kind) in INVALID {
        match Policy::from_toml(text, "policy.toml", Path::new("/")) {
            Ok(_) => failures.push(format!("{what}: loaded")),
            Err(err) => {
                if err.kind != kind {
                    failures.push(format!(
                        "{what}: expected a {kind} error, got {}: {err}",
                        err.kind
                    ));
                }
                if err.line != Some(line) || !err.message.contains(fragment) {
                    failures.push(format!(
                        "{what}: expected line {line} and {fragment:?}, got {err}"
                    ));
                }
                if !err
                    .to_string()
                    .starts_with(&format!("policy.toml:{line}: "))
                {
                    failures.push(format!(
                        "{what}: the message does not lead with the place: {err}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn max_concurrent_zero_is_refused_naming_the_line() {
    let err = Policy::from_toml(
        "[limits]\nmax_concurrent = 0\n",
        "policy.toml",
        Path::new("/"),
    )
    .expect_err("zero calls at once would hang every call");
    assert_eq!(err.line, Some(2), "{err}");
}

#[test]
fn an_absurd_max_concurrent_is_refused_naming_the_line() {
    let err = Policy::from_toml(
        "[limits]\nmax_concurrent = 9223372036854775807\n",
        "policy.toml",
        Path::new("/"),
    )
    .expect_err("no semaphore holds that many permits");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.message.contains("at most"), "{err}");
}

#[test]
fn a_missing_file_is_no_grants_only_when_asked_for() {
    let sandbox = Sandbox::new();
    let missing = sandbox.root.join("no-such-policy.toml");
    let err = Policy::load(&missing).expect_err("load needs the file");
    assert!(err.message.contains("cannot read"), "{err}");
    let policy = Policy::load_or_default(&missing).expect("no file, no grants");
    assert!(policy.grants().fs_read_roots().is_empty());
    assert!(policy.examples().is_empty());

    let file = sandbox.root.join("rustchain.toml");
    fs::write(&file, "[fs]\nread = [\"data\"]\nbogus = 1\n").expect("write the policy");
    let err = Policy::load_or_default(&file).expect_err("an invalid file is never the default");
    assert_eq!(err.line, Some(3), "{err}");
    fs::write(&file, "[fs]\nread = [\"data\"]\n").expect("write the policy");
    let policy = Policy::load(&file).expect("a valid file");
    assert_eq!(policy.grants().fs_read_roots(), [sandbox.root.join("data")]);
}

// ---------------------------------------------------------------------------
// explain: the verdict, and the deciding rule with its place.

#[test]
fn explain_names_the_deciding_tool_rule_and_its_line() {
    let (executor, audit, asked) = executor(
        Policy::from_toml(
            "default = \"deny\"\n[tools]\nallow = [\"text_*\"]\ndeny = [\"text_lower\"]\nask = [\"text_upper\"]\n",
            "policy.toml",
            Path::new("/"),
        )
        .expect("a valid policy"),
    );
    let denied = executor.explain("text_lower", T);
    assert_eq!(denied.verdict, Deny);
    assert_eq!(denied.decisions.len(), 1);
    assert_eq!(
        denied.decisions[0].rule,
        r#"tools.deny "text_lower" (policy.toml:4)"#
    );
    assert!(denied.decisions[0].reason.contains("text_lower"));

    let asks = executor.explain("text_upper", T);
    assert_eq!(asks.verdict, Ask);
    assert_eq!(
        asks.decisions[0].rule,
        r#"tools.ask "text_upper" (policy.toml:5)"#
    );

    let unnamed = executor.explain("count", N);
    assert_eq!(unnamed.verdict, Deny);
    assert_eq!(
        unnamed.decisions[0].rule,
        r#"default "deny" (policy.toml:1)"#
    );
    assert!(
        unnamed.decisions[0].reason.contains("[tools] allow"),
        "says how to get access: {}",
        unnamed.decisions[0].reason
    );

    // A dry run: nothing recorded, nobody asked, nothing run.
    assert!(audit.events().is_empty());
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}

#[test]
fn explain_lists_one_decision_per_guarded_value() {
    let sandbox = Sandbox::new();
    let (executor, audit, _) = executor(
        sandbox
            .policy("[net]\nallow = [\"api.example.com\"]\ndeny = [\"evil.net\"]\n")
            .expect("a valid policy"),
    );
    let allowed = executor.explain("fetch", r#"{"url": "https://api.example.com/"}"#);
    assert_eq!(allowed.verdict, Allow);
    assert_eq!(allowed.decisions.len(), 2, "{allowed:?}");
    assert_eq!(allowed.decisions[0].rule, "default");
    assert_eq!(
        allowed.decisions[1].rule,
        r#"net.allow "api.example.com" (policy.toml:2)"#
    );
    let denied = executor.explain("fetch", r#"{"url": "https://evil.net/"}"#);
    assert_eq!(denied.verdict, Deny);
    assert_eq!(
        denied.decisions[1].rule,
        r#"net.deny "evil.net" (policy.toml:3)"#
    );
    let ungranted = executor.explain("fetch", r#"{"url": "https://other.net/"}"#);
    assert_eq!(ungranted.verdict, Deny);
    assert!(
        ungranted.decisions[1].reason.contains("[net] allow"),
        "says how to get access: {:?}",
        ungranted.decisions[1]
    );
    let _ = audit;
}

/// `explain` is documented "without running it or recording anything", and
/// inline examples are checked through it at every `build()`.
#[test]
fn explain_and_inline_examples_record_nothing() {
    let sandbox = Sandbox::new();
    let audit = Arc::new(MemoryAudit::new());
    let policy = sandbox
        .policy("[net]\nallow = [\"api.example.com\"]\n[[examples]]\ntool = \"fetch\"\nargs = { url = \"https://evil.net/\" }\nexpect = \"deny\"\n")
        .expect("a valid policy");
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .audit(audit.clone())
        .build()
        .expect("the example passes");
    assert_eq!(
        audit.events(),
        Vec::<serde_json::Value>::new(),
        "build() recorded"
    );
    let explanation = executor.explain("fetch", r#"{"url": "https://other.net/"}"#);
    assert_eq!(explanation.verdict, Deny);
    assert_eq!(
        audit.events(),
        Vec::<serde_json::Value>::new(),
        "explain recorded"
    );
}

#[test]
fn explain_reports_calls_it_cannot_judge() {
    let (executor, audit, _) = executor(Policy::default());
    let unknown = executor.explain("no_such_tool", "{}");
    assert_eq!(unknown.verdict, Deny);
    assert!(
        unknown
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no_such_tool"))
    );
    let invalid = executor.explain("count", r#"{"n": "three"}"#);
    assert_eq!(invalid.verdict, Deny);
    assert!(
        invalid.error.as_deref().is_some_and(|e| e.contains("`n`")),
        "{invalid:?}"
    );
    assert!(audit.events().is_empty());
}

/// The `Decision::rule` contract: "the deciding rule, as written, with its
/// place". File, program and env decisions name the table but not the line.
#[test]
fn explain_names_the_line_of_file_program_and_env_rules() {
    let sandbox = Sandbox::new();
    let (executor, _, _) = executor(
        sandbox
            .policy("[fs]\nread = [\"data\"]\ndeny = [\"data/secrets/**\"]\n[[programs]]\npath = \"/bin/echo\"\n[env]\nallow = [\"LANG\"]\n")
            .expect("a valid policy"),
    );
    let checks = [
        ("read_file", sandbox.fill(NOTES), "policy.toml:2"),
        (
            "read_file",
            sandbox.fill(r#"{"path": "{root}/data/secrets/key"}"#),
            "policy.toml:3",
        ),
        (
            "run_program",
            program("/bin/echo").to_owned(),
            "policy.toml:5",
        ),
        (
            "read_var",
            r#"{"name": "LANG"}"#.to_owned(),
            "policy.toml:7",
        ),
    ];
    for (tool, args, place) in checks {
        let explanation = executor.explain(tool, &args);
        let rule = &explanation.decisions[1].rule;
        assert!(rule.contains(place), "{tool} {args}: {rule}");
    }
}

// ---------------------------------------------------------------------------
// What a tool is given.

#[test]
fn a_tool_reads_its_grants_from_its_context() {
    let sandbox = Sandbox::new();
    let (executor, _, _) = executor(
        sandbox
            .policy("[fs]\nread = [\"data\", \"{root}/outside\"]\n")
            .expect("a valid policy"),
    );
    let roots = executor
        .call_blocking("granted_roots", "{}", ToolContext::new())
        .expect("a pure tool runs")
        .to_value();
    let data = sandbox.root.join("data").display().to_string();
    let outside = sandbox.root.join("outside").display().to_string();
    assert_eq!(roots, serde_json::json!([data, outside]));
    // Outside an executor there is nothing granted.
    assert!(Grants::of(&ToolContext::new()).fs_read_roots().is_empty());
}

// ---------------------------------------------------------------------------
// One duration grammar (humantime's) for the policy, `#[tool(timeout)]` and the CLI.

#[test]
fn durations_read_the_grammar_tool_timeouts_read() {
    let policy = Policy::from_toml(
        "[limits]\ntimeout = \"1h 30m\"\n[approval]\ntimeout = \"90 seconds\"\n",
        "policy.toml",
        Path::new("/"),
    )
    .expect("humantime durations load");
    assert_eq!(
        policy.limits_for(descriptor("slow_plain")).timeout,
        Some(Duration::from_secs(5400))
    );
    assert_eq!(policy.approval_timeout(), Duration::from_secs(90));
    // `#[tool(timeout = "50ms")]` went through the same parser.
    assert_eq!(
        descriptor("slow_own").timeout,
        Some(Duration::from_millis(50))
    );
}

// ---------------------------------------------------------------------------
// A tool with no static descriptor (registered at run time) is decided by its facts.

#[test]
fn a_tool_is_decided_and_limited_by_its_facts_alone() {
    let policy = Policy::from_toml(
        "default = \"deny\"\n[tools]\nallow = [\"remote_*\"]\n[limits]\ntimeout = \"20s\"\n[limits.tool.remote_search]\ntimeout = \"5s\"\n",
        "policy.toml",
        Path::new("/"),
    )
    .expect("a valid policy");
    let search = ToolFacts {
        name: "remote_search",
        declares_permissions: true,
        timeout: Some(Duration::from_secs(1)),
    };
    let allowed = policy.decide_tool(search);
    assert_eq!(allowed.verdict, Allow);
    assert_eq!(allowed.rule, r#"tools.allow "remote_*" (policy.toml:3)"#);
    assert_eq!(
        policy.limits_for(search).timeout,
        Some(Duration::from_secs(5)),
        "the policy's per-tool timeout beats the tool's own"
    );
    let other = ToolFacts {
        name: "remote_other",
        ..search
    };
    assert_eq!(
        policy.limits_for(other).timeout,
        Some(Duration::from_secs(1)),
        "the tool's own timeout beats the policy default"
    );
    let local = ToolFacts {
        name: "local",
        ..search
    };
    assert_eq!(policy.decide_tool(local).verdict, Deny);
    // Under the empty policy the reason depends on the declared permissions.
    let empty = Policy::default();
    let pure = ToolFacts {
        declares_permissions: false,
        ..local
    };
    assert_eq!(
        empty.decide_tool(pure).reason,
        "the tool declares no permissions"
    );
    assert_eq!(
        empty.decide_tool(local).reason,
        "the tool may run where its resources are granted"
    );
}

// ---------------------------------------------------------------------------
// The deciding rule: computed once (`Explanation::deciding`), used by the
// inline examples' messages and by `rustchain policy explain`.

#[test]
fn the_deciding_rule_is_the_last_decision_giving_the_verdict() {
    let sandbox = Sandbox::new();
    let text = "[tools]\nallow = [\"read_file\"]\nask = [\"write_file\"]\n[fs]\nread = [\"data\"]\nwrite = [\"out\"]\n";
    let (executor, _, _) = executor(sandbox.policy(text).expect("a valid policy"));

    // Allowed: the tool rule let the value be checked; the grant settled it.
    let allowed = executor.explain("read_file", &sandbox.fill(NOTES));
    assert_eq!(allowed.verdict, Allow);
    assert_eq!(allowed.decisions.len(), 2, "{allowed:?}");
    let deciding = allowed
        .deciding()
        .expect("an allowed call has a deciding rule");
    assert_eq!(deciding.rule, r#"fs.read "data" (policy.toml:5)"#);

    // Denied by a value: the refusal, which ends the decisions.
    let denied = executor.explain("read_file", &sandbox.fill(OUTSIDE));
    assert_eq!(denied.verdict, Deny);
    assert_eq!(denied.deciding(), denied.decisions.last());
    assert_eq!(denied.deciding().map(|d| &*d.rule), Some("fs.read"));

    // Asked: only the tool rule asks, even when a grant follows it.
    let asked = executor.explain("write_file", &sandbox.fill(r#"{"path": "{root}/out/x"}"#));
    assert_eq!(asked.verdict, Ask);
    assert_eq!(
        asked.deciding().map(|d| &*d.rule),
        Some(r#"tools.ask "write_file" (policy.toml:3)"#)
    );

    // Not judged at all: nothing decided.
    assert_eq!(executor.explain("no_such_tool", "{}").deciding(), None);
}

#[test]
fn a_failing_example_names_the_rule_that_decided_it() {
    let sandbox = Sandbox::new();
    let text = "[fs]\nread = [\"data\"]\n\n[[examples]]\ntool = \"read_file\"\nargs = { path = \"{root}/data/notes.txt\" }\nexpect = \"deny\"\n";
    let err = build(&sandbox, text).expect_err("the read is granted, not denied");
    assert_eq!(err.kind, PolicyErrorKind::FailingExample, "{err}");
    assert_eq!(err.line, Some(5), "{err}");
    assert!(
        err.message
            .contains(r#"expects deny but gets allow by fs.read "data" (policy.toml:2)"#),
        "names the grant, not the tool's default: {err}"
    );
}

// ---------------------------------------------------------------------------
// Checked against the linked tools, when an executor is built: a program
// that links only some tools (a registry built over a subset).

fn linking(names: &[&str]) -> &'static Registry {
    let descriptors: Vec<_> = names.iter().map(|name| descriptor(name)).collect();
    Box::leak(Box::new(
        Registry::build(descriptors).expect("the names are distinct"),
    ))
}

fn build_over(
    registry: &'static Registry,
    sandbox: &Sandbox,
    text: &str,
) -> Result<Executor, PolicyError> {
    Executor::builder(registry)
        .policy(sandbox.policy(text)?)
        .build()
}

const EXAMPLES_OF_TWO_TOOLS: &str = r#"
[[examples]]
tool = "text_upper"
args = { text = "hi" }
expect = "deny"

[[examples]]
tool = "count"
args = { n = 1 }
expect = "allow"
"#;

#[test]
fn an_example_for_a_tool_not_linked_is_a_warning() {
    let sandbox = Sandbox::new();
    let registry = linking(&["count", "read_file"]);
    let executor = build_over(registry, &sandbox, EXAMPLES_OF_TWO_TOOLS)
        .expect("text_upper is not linked here, so its example is not run");
    let warnings = executor.policy().warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].kind, PolicyWarningKind::UnlinkedExample);
    assert_eq!(warnings[0].line, Some(3));
    assert!(warnings[0].message.contains("`text_upper`"), "{warnings:?}");
    assert!(
        warnings[0].to_string().starts_with("policy.toml:3: "),
        "{}",
        warnings[0]
    );
}

#[test]
fn an_example_for_a_linked_tool_still_decides() {
    let sandbox = Sandbox::new();
    // The same file, in a program that links text_upper: its example runs and fails.
    let registry = linking(&["count", "text_upper"]);
    let err = build_over(registry, &sandbox, EXAMPLES_OF_TWO_TOOLS)
        .expect_err("text_upper is allowed, not denied");
    assert_eq!(err.kind, PolicyErrorKind::FailingExample, "{err}");
    assert_eq!(err.line, Some(3), "{err}");
    // And a failing example of a linked tool is not excused by an unlinked one.
    let registry = linking(&["count"]);
    let text = format!(
        "{EXAMPLES_OF_TWO_TOOLS}\n[[examples]]\ntool = \"count\"\nargs = {{ n = 1 }}\nexpect = \"ask\"\n"
    );
    let err = build_over(registry, &sandbox, &text).expect_err("count is allowed, not asked");
    assert_eq!(err.line, Some(13), "{err}");
}

#[test]
fn a_limit_for_a_misspelled_tool_is_refused_naming_the_tool_meant() {
    let sandbox = Sandbox::new();
    let registry = linking(&["count", "read_file"]);
    let text = "[limits]\ntimeout = \"5s\"\n\n[limits.tool.read_fiel]\nrate = \"1/s\"\n";
    let err = build_over(registry, &sandbox, text).expect_err("a typo of read_file");
    assert_eq!(err.kind, PolicyErrorKind::UnknownTool, "{err}");
    assert_eq!(err.line, Some(4), "{err}");
    assert!(err.message.contains("did you mean `read_file`?"), "{err}");
}

#[test]
fn a_limit_for_a_tool_not_linked_is_a_warning() {
    let sandbox = Sandbox::new();
    let registry = linking(&["count", "read_file"]);
    let text = "[limits.tool.count]\nrate = \"5/s\"\n\n[limits.tool.get_weather]\nrate = \"1/s\"\n";
    let executor =
        build_over(registry, &sandbox, text).expect("get_weather may be another program's");
    let warnings = executor.policy().warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].kind, PolicyWarningKind::UnlinkedTool);
    assert_eq!(warnings[0].line, Some(4));
    // The linked tool's limit applies.
    let rate = executor.policy().limits_for(descriptor("count")).rate;
    assert_eq!(rate.map(|r| r.calls), Some(5));
}

#[test]
fn discovery_always_globs_are_checked_against_the_linked_tools() {
    let sandbox = Sandbox::new();
    let registry = linking(&["count", "read_file", "text_upper"]);
    // A glob and a name that match linked tools, and one that matches none.
    let text =
        "[discovery]\ndefer = true\nalways = [\n  \"text_*\",\n  \"count\",\n  \"web_*\",\n]\n";
    let executor = build_over(registry, &sandbox, text).expect("web_* may be another program's");
    let warnings = executor.policy().warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].kind, PolicyWarningKind::UnlinkedTool);
    assert_eq!(warnings[0].line, Some(6));
    assert!(warnings[0].message.contains("`web_*`"), "{warnings:?}");

    // A plain name one edit from a linked tool would silently defer that tool.
    let text = "[discovery]\ndefer = true\nalways = [\"read_fiel\"]\n";
    let err = build_over(registry, &sandbox, text).expect_err("a typo of read_file");
    assert_eq!(err.kind, PolicyErrorKind::UnknownTool, "{err}");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.message.contains("did you mean `read_file`?"), "{err}");
}

#[test]
fn redact_entries_are_checked_against_the_fields_the_linked_tools_take() {
    let sandbox = Sandbox::new();
    let registry = linking(&["count", "read_file", "text_upper"]);
    // Names match case-insensitively, as the redaction does.
    let text = "[audit]\nredact = [\"PATH\", \"password\"]\n";
    let executor = build_over(registry, &sandbox, text).expect("no typo");
    let warnings = executor.policy().warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].kind, PolicyWarningKind::UnreceivedField);
    assert!(warnings[0].message.contains("`password`"), "{warnings:?}");

    let text = "[audit]\nredact = [\n  \"path\",\n  \"txet\",\n]\n";
    let err = build_over(registry, &sandbox, text).expect_err("a typo of text");
    assert_eq!(err.kind, PolicyErrorKind::UnknownField, "{err}");
    assert_eq!(err.line, Some(4), "{err}");
    assert!(err.message.contains("did you mean `text`?"), "{err}");
}

#[test]
fn an_empty_policy_has_no_warnings() {
    let sandbox = Sandbox::new();
    let executor = build_over(linking(&["count"]), &sandbox, "").expect("loads");
    assert!(executor.policy().warnings().is_empty());
}

#[test]
fn a_relative_deny_glob_anchored_outside_every_root_is_a_warning() {
    let policy_folder = Sandbox::new();
    let work = Sandbox::new();
    let data = work.root.join("data");
    let text = format!(
        "[fs]\nread = [{data:?}]\ndeny = [\n  \"secrets/**\",\n  {:?},\n]\n",
        format!("{}/secrets/**", data.display())
    );
    let mut policy = Policy::from_toml(&text, "rustchain.toml", &policy_folder.root)
        .expect("a warning, not an error");
    let warnings = policy.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].kind, PolicyWarningKind::UnreachableDeny);
    assert_eq!(warnings[0].line, Some(4), "the relative glob's line");
    assert!(
        warnings[0].message.contains("can never match"),
        "{warnings:?}"
    );
    // Checking the links keeps it.
    policy
        .check_linked(linking(&["count"]))
        .expect("nothing unlinked");
    assert_eq!(policy.warnings().len(), 1);
    // Anchored at a folder holding the root (or inside it), it can match.
    for base in [&work.root, &data] {
        let policy = Policy::from_toml(&text, "rustchain.toml", base).expect("loads");
        assert!(policy.warnings().is_empty(), "{:?}", policy.warnings());
    }
}
