//! Tools registered at run time share lookup, listing, search, the executor,
//! policy, guards, approval, limits, audit and metrics with linked tools,
//! and a name clash is refused naming both tools.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustchain::exec::MemoryAudit;
use rustchain::registered::{FnTool, RegisterError, ToolExecutor, ToolSpec};
use rustchain::search::discover;
use rustchain::{
    ErrorKind, Executor, PermissionKind, Policy, Registry, ToolContext, ToolError, ToolFuture,
    ToolOutput, ToolQuery, tool,
};
use serde_json::{Value, json};

/// A linked tool, to clash with.
#[tool]
fn linked_echo(
    /// The text.
    text: String,
) -> String {
    text
}

/// A fresh registry over the linked tools, for one test.
fn registry() -> &'static Registry {
    let linked = Registry::global().tools().map(|tool| tool.descriptor());
    Box::leak(Box::new(Registry::build(linked).expect("no duplicates")))
}

/// A registered tool that reads the file at `/path` (the body records what
/// it was asked, so a test can prove it never ran).
fn reader(name: &str, ran: Arc<Mutex<Vec<String>>>) -> Box<dyn ToolExecutor> {
    let spec = ToolSpec::new(name, "Reads a file.")
        .input_schema(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "The file."},
                "also": {"type": "array", "items": {"type": "string"}, "description": "More files."}
            },
            "required": ["path"],
            "additionalProperties": false
        }))
        .expect("an object schema")
        .permission(PermissionKind::FsRead, "/path")
        .permission(PermissionKind::FsRead, "/also");
    Box::new(FnTool::new(spec, move |_ctx: &ToolContext, args: Value| {
        let path = args["path"].as_str().unwrap_or_default().to_owned();
        ran.lock().expect("not poisoned").push(path.clone());
        Ok(json!({"read": path}))
    }))
}

fn shout() -> Box<dyn ToolExecutor> {
    let spec = ToolSpec::new("shout", "Says the text louder.")
        .tags(["text"])
        .input_schema(json!({
            "type": "object",
            "properties": {"text": {"type": "string", "description": "What to say."}},
            "required": ["text"]
        }))
        .expect("an object schema");
    Box::new(FnTool::new(spec, |_: &ToolContext, args: Value| {
        Ok(json!(
            args["text"].as_str().unwrap_or_default().to_uppercase()
        ))
    }))
}

#[test]
fn a_registered_tool_is_listed_searched_called_and_counted() {
    let registry = registry();
    let linked = registry.len();
    registry.register_tool(shout()).expect("registered");
    assert_eq!(registry.len(), linked + 1);
    let names: Vec<&str> = registry.tools().map(|tool| tool.name()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "listed in name order with the linked tools");
    let found = registry.get("shout").expect("found by name");
    assert!(found.is_registered() && found.linked_index().is_none());
    assert_eq!(found.descriptor().params[0].name, "text");
    assert!(found.descriptor().params[0].required);
    assert_eq!(found.input_schema().get("required"), Some(&json!(["text"])));
    assert!(
        found.descriptor().source.file.ends_with("registered.rs"),
        "{}",
        found.descriptor().source
    );
    let hits = discover(registry, &ToolQuery::text("louder"));
    assert_eq!(hits.first().map(|hit| hit.tool.name()), Some("shout"));

    let executor = Executor::new(registry);
    let out = executor
        .call_blocking("shout", r#"{"text": "hi"}"#, ToolContext::new())
        .expect("called");
    assert_eq!(out.as_json(), r#""HI""#);
    let err = executor
        .call_blocking("shout", "[1]", ToolContext::new())
        .expect_err("not an object");
    assert_eq!(err.kind(), ErrorKind::InvalidArguments);
    let metrics = executor.metrics();
    assert_eq!((metrics["shout"].calls, metrics["shout"].ok), (2, 1));
}

#[test]
fn a_clashing_name_is_refused_naming_both_and_nothing_is_kept() {
    let registry = registry();
    let before = registry.len();
    let clash = ToolSpec::new("linked_echo", "Another echo.");
    let err = registry
        .register_tool(Box::new(FnTool::new(clash, |_: &ToolContext, v: Value| {
            Ok(v)
        })))
        .expect_err("the name is linked");
    let RegisterError::Duplicate(duplicate) = &err else {
        panic!("{err:?}");
    };
    assert!(
        duplicate.first.file.ends_with("tests/registered.rs"),
        "{err}"
    );
    assert_eq!(
        duplicate.first.crate_name, "rustchain",
        "the linked one: {err}"
    );
    assert_eq!(
        duplicate.second.crate_name, "registered at run time",
        "{err}"
    );
    registry.register_tool(shout()).expect("first");
    let err = registry.register_tool(shout()).expect_err("second");
    assert!(matches!(err, RegisterError::Duplicate(_)), "{err}");
    assert_eq!(registry.len(), before + 1);
}

#[test]
fn unusable_specs_are_refused() {
    let registry = registry();
    let bad_name = ToolSpec::new("no spaces please", "Bad.");
    let err = registry
        .register_tool(Box::new(FnTool::new(
            bad_name,
            |_: &ToolContext, v: Value| Ok(v),
        )))
        .expect_err("not portable");
    assert!(matches!(err, RegisterError::Name(_)), "{err}");
    let err = ToolSpec::new("arr", "Takes a list.")
        .input_schema(json!({"type": "array"}))
        .expect_err("the root must be an object");
    assert!(matches!(err, RegisterError::Schema(_)), "{err}");
    let no_pointer =
        ToolSpec::new("pointerless", "Bad pointer.").permission(PermissionKind::FsRead, "path");
    let err = registry
        .register_tool(Box::new(FnTool::new(
            no_pointer,
            |_: &ToolContext, v: Value| Ok(v),
        )))
        .expect_err("not a JSON pointer");
    assert!(matches!(err, RegisterError::Permission(_)), "{err}");
    let undescribed = ToolSpec::new("quiet", "  ");
    assert!(
        registry
            .register_tool(Box::new(FnTool::new(
                undescribed,
                |_: &ToolContext, v: Value| Ok(v)
            )))
            .is_err()
    );
    assert!(registry.get("no spaces please").is_none() && registry.get("quiet").is_none());
}

/// A work root with a file, a secret outside it, and a link inside pointing out.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().expect("a scratch folder");
        std::fs::create_dir_all(dir.path().join("work/sub")).expect("mkdir");
        std::fs::write(dir.path().join("work/notes.txt"), "notes").expect("write");
        std::fs::write(dir.path().join("secret.txt"), "secret").expect("write");
        symlink(dir.path().join("secret.txt"), dir.path().join("work/link")).expect("symlink");
        Root { dir }
    }

    fn path(&self, relative: &str) -> String {
        self.dir
            .path()
            .join(relative)
            .to_str()
            .expect("UTF-8")
            .to_owned()
    }

    fn policy(&self, extra: &str) -> Policy {
        let text = format!("[fs]\nread = [{:?}]\n{extra}", self.path("work"));
        Policy::from_toml(&text, "registered.toml", Path::new("/")).expect("the policy loads")
    }
}

#[test]
fn declared_argument_paths_are_guarded_with_a_granted_root() {
    let root = Root::new();
    let registry = registry();
    let ran = Arc::new(Mutex::new(Vec::new()));
    registry
        .register_tool(reader("remote_read", Arc::clone(&ran)))
        .expect("registered");
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(registry)
        .policy(root.policy(""))
        .audit(audit.clone())
        .build()
        .expect("built");
    let call =
        |args: Value| executor.call_blocking("remote_read", &args.to_string(), ToolContext::new());

    let inside = root.path("work/notes.txt");
    call(json!({"path": inside})).expect("inside the granted root");
    let hostile = [
        ("outside the root", json!({"path": root.path("secret.txt")})),
        (
            "`..` out of the root",
            json!({"path": root.path("work/sub/../../secret.txt")}),
        ),
        (
            "a link inside pointing out",
            json!({"path": root.path("work/link")}),
        ),
        (
            "a list with one outside",
            json!({"path": inside, "also": [inside, root.path("secret.txt")]}),
        ),
    ];
    for (label, args) in hostile {
        let before = audit.events().len();
        let err = call(args).expect_err(label);
        assert_eq!(err.kind(), ErrorKind::Denied, "{label}: {err}");
        let events = audit.events();
        assert_eq!(
            events.len(),
            before + 1,
            "{label}: one record of the denial"
        );
        assert_eq!(events[before]["decision"], "deny", "{label}");
    }
    let err = call(json!({"path": 42})).expect_err("not a string");
    assert_eq!(err.kind(), ErrorKind::InvalidArguments);
    assert_eq!(err.path(), Some("path"));
    assert_eq!(
        *ran.lock().expect("not poisoned"),
        [inside],
        "the body ran only for the granted file"
    );
}

#[test]
fn with_no_policy_a_registered_tool_that_declares_a_path_is_denied() {
    let registry = registry();
    let ran = Arc::new(Mutex::new(Vec::new()));
    registry
        .register_tool(reader("remote_read_nopolicy", Arc::clone(&ran)))
        .expect("registered");
    let err = Executor::new(registry)
        .call_blocking(
            "remote_read_nopolicy",
            r#"{"path": "/etc/passwd"}"#,
            ToolContext::new(),
        )
        .expect_err("nothing is granted");
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(ran.lock().expect("not poisoned").is_empty());
}

#[test]
fn tool_rules_approval_and_timeouts_apply_to_registered_tools() {
    let root = Root::new();
    let registry = registry();
    registry.register_tool(shout()).expect("registered");
    registry
        .register_tool(Box::new(Sleeper))
        .expect("registered");
    let denied = Executor::builder(registry)
        .policy(root.policy("\n[tools]\ndeny = [\"shout\"]\n"))
        .build()
        .expect("built");
    let err = denied
        .call_blocking("shout", r#"{"text": "x"}"#, ToolContext::new())
        .expect_err("denied by name");
    assert_eq!(err.kind(), ErrorKind::Denied);

    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let asking = Executor::builder(registry)
        .policy(root.policy("\n[tools]\nask = [\"shout\"]\n"))
        .approve_with(move |request: &rustchain::exec::ApprovalRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(if request.tool == "shout" { "no" } else { "yes" }.to_owned())
        })
        .build()
        .expect("built");
    let err = asking
        .call_blocking("shout", r#"{"text": "x"}"#, ToolContext::new())
        .expect_err("the approver said no");
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    let limited = Executor::builder(registry)
        .policy(root.policy("\n[limits]\ntimeout = \"50ms\"\n"))
        .build()
        .expect("built");
    let err = limited
        .call_blocking("sleeper", "{}", ToolContext::new())
        .expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

/// A hand-written run-time tool that sleeps far longer than any timeout.
struct Sleeper;

impl ToolExecutor for Sleeper {
    fn spec(&self) -> &ToolSpec {
        static SPEC: std::sync::LazyLock<ToolSpec> =
            std::sync::LazyLock::new(|| ToolSpec::new("sleeper", "Sleeps for a minute."));
        &SPEC
    }

    fn call<'a>(&'a self, _: &'a ToolContext, _: &'a str) -> ToolFuture<'a> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            ToolOutput::encode(&"woke")
        })
    }
}

#[test]
fn a_registered_tool_that_panics_fails_the_call_only() {
    let registry = registry();
    let spec = ToolSpec::new("explodes", "Always panics.");
    registry
        .register_tool(Box::new(FnTool::new(
            spec,
            |_: &ToolContext, _: Value| -> Result<Value, ToolError> { panic!("boom") },
        )))
        .expect("registered");
    let err = Executor::new(registry)
        .call_blocking("explodes", "{}", ToolContext::new())
        .expect_err("panicked");
    assert_eq!(err.kind(), ErrorKind::Failed);
    assert!(err.message().contains("boom"), "{err}");
}
