//! The executor's `tracing` spans (R-87): every call, allowed or refused,
//! runs in one `execute_tool` span carrying the GenAI attribute names, and a
//! call that fails says why in `error.type`, the kind its caller gets. A
//! small subscriber of this file's own captures the spans of one thread.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rustchain::audit::{AuditError, AuditErrorKind};
use rustchain::exec::{AuditSink, CallEvent, MemoryAudit};
use rustchain::policy::Policy;
use rustchain::{ErrorKind, Executor, Registry, ToolContext, ToolError, tool};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

// ---------------------------------------------------------------------------
// The tools: each notes its call id, so a test can prove that a refused call
// never ran while other tests run in parallel.

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

/// Adds two numbers.
#[tool]
fn span_add(
    /// The first number.
    a: i64,
    /// The second number.
    b: i64,
    ctx: &ToolContext,
) -> i64 {
    ran(ctx);
    a + b
}

/// Always fails with its own kind.
#[tool]
fn span_refuses(ctx: &ToolContext) -> Result<(), ToolError> {
    ran(ctx);
    Err(ToolError::new(ErrorKind::Denied, "this tool refuses"))
}

/// Adds two numbers, asynchronously.
#[tool]
async fn span_add_async(
    /// The first number.
    a: i64,
    /// The second number.
    b: i64,
    ctx: &ToolContext,
) -> i64 {
    ran(ctx);
    a + b
}

/// Never runs: the policy denies it.
#[tool]
fn span_blocked(ctx: &ToolContext) {
    ran(ctx);
}

const POLICY: &str =
    "[tools]\ndeny = [\"span_blocked\"]\n[limits]\nmax_argument_bytes = 64\nmax_depth = 2\n";

fn executor(audit: Arc<dyn AuditSink>) -> Executor {
    let policy = Policy::from_toml(POLICY, "spans.toml", Path::new("/")).expect("a valid policy");
    Executor::builder(Registry::global())
        .policy(policy)
        .audit(audit)
        .build()
        .expect("no examples to fail")
}

// ---------------------------------------------------------------------------
// A subscriber that keeps every span's name and fields.

/// One span as the subscriber saw it.
#[derive(Debug, Clone)]
struct Captured {
    name: &'static str,
    fields: BTreeMap<&'static str, String>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct Fields<'a>(&'a mut BTreeMap<&'static str, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl Capture {
    fn spans(&self) -> Vec<Captured> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The spans of call `id`.
    fn of_call(&self, id: &str) -> Vec<Captured> {
        self.spans()
            .into_iter()
            .filter(|span| span.field("gen_ai.tool.call.id") == Some(id))
            .collect()
    }

    /// Runs `f` with this subscriber as the thread's.
    fn during<T>(&self, f: impl FnOnce() -> T) -> T {
        tracing::subscriber::with_default(self.clone(), f)
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        let mut spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        spans.push(Captured {
            name: attributes.metadata().name(),
            fields,
        });
        Id::from_u64(spans.len() as u64)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let index = usize::try_from(span.into_u64() - 1).expect("a span id made here");
        values.record(&mut Fields(&mut spans[index].fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Checks the one span of call `id`: `execute_tool` for `tool`, with
/// `error.type` as given (`None`: the call succeeded).
fn assert_one_span(capture: &Capture, id: &str, tool: &str, error_type: Option<&str>) {
    let spans = capture.of_call(id);
    assert_eq!(spans.len(), 1, "{id}: {spans:#?}");
    let span = &spans[0];
    assert_eq!(span.name, "execute_tool", "{id}: {span:?}");
    let otel_name = format!("execute_tool {tool}");
    assert_eq!(
        span.field("otel.name"),
        Some(otel_name.as_str()),
        "{id}: {span:?}"
    );
    assert_eq!(
        span.field("gen_ai.operation.name"),
        Some("execute_tool"),
        "{id}: {span:?}"
    );
    assert_eq!(span.field("gen_ai.tool.name"), Some(tool), "{id}: {span:?}");
    assert_eq!(span.field("error.type"), error_type, "{id}: {span:?}");
}

static NEXT_CALL: AtomicUsize = AtomicUsize::new(0);

fn call_id(label: &str) -> String {
    format!("{label}-{}", NEXT_CALL.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------

#[test]
fn each_refusal_before_the_tool_runs_has_its_span_with_the_refusals_error_type() {
    let audit = Arc::new(MemoryAudit::new());
    let executor = executor(audit.clone());
    let capture = Capture::default();
    let long_name = "x".repeat(100);
    let over_size = format!(r#"{{"a": 1, "b": 2}}{}"#, " ".repeat(64));
    let cases = [
        // (what, tool called, arguments, tool named in the span, kind, record)
        (
            "unknown",
            "no_such_tool",
            "{}",
            "no_such_tool",
            ErrorKind::NotFound,
            "result",
        ),
        (
            "unknown, long",
            long_name.as_str(),
            "{}",
            &long_name[..64],
            ErrorKind::NotFound,
            "result",
        ),
        (
            "tool rule",
            "span_blocked",
            "{}",
            "span_blocked",
            ErrorKind::Denied,
            "decision",
        ),
        (
            "size",
            "span_add",
            over_size.as_str(),
            "span_add",
            ErrorKind::InvalidArguments,
            "result",
        ),
        (
            "depth",
            "span_add",
            r#"{"a": [[[1]]], "b": 2}"#,
            "span_add",
            ErrorKind::InvalidArguments,
            "result",
        ),
    ];
    for (what, tool, args, named, kind, record) in cases {
        let id = call_id(what);
        let err = capture
            .during(|| executor.call_blocking(tool, args, ToolContext::new().with_call_id(&id)))
            .expect_err(what);
        assert_eq!(err.kind(), kind, "{what}: {err}");
        assert!(!has_run(&id), "{what}: the refused call ran");
        assert_one_span(&capture, &id, named, Some(kind.as_str()));
        // The refusal's one record, and the span named as it names the tool.
        let events = audit.events();
        let records: Vec<_> = events
            .iter()
            .filter(|event| event["gen_ai.tool.call.id"] == id.as_str())
            .collect();
        assert_eq!(records.len(), 1, "{what}: {records:#?}");
        assert_eq!(records[0]["kind"], record, "{what}: {records:#?}");
        assert_eq!(
            records[0]["gen_ai.tool.name"], named,
            "{what}: {records:#?}"
        );

        // The same on tokio's path, which `begin` serves too.
        let id = call_id(what);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let err = capture
            .during(|| {
                runtime.block_on(executor.call(tool, args, ToolContext::new().with_call_id(&id)))
            })
            .expect_err(what);
        assert_eq!(err.kind(), kind, "{what}: {err}");
        assert!(!has_run(&id), "{what}: the refused call ran");
        assert_one_span(&capture, &id, named, Some(kind.as_str()));
    }
}

#[test]
fn a_dry_run_opens_no_span() {
    let executor = executor(Arc::new(MemoryAudit::new()));
    let capture = Capture::default();
    capture.during(|| {
        executor.explain("no_such_tool", "{}");
        executor.explain("span_blocked", "{}");
        executor.explain("span_add", r#"{"a": [[[1]]], "b": 2}"#);
    });
    assert!(capture.spans().is_empty(), "{:#?}", capture.spans());
}

/// When the refusal cannot be recorded, the caller gets the trail's
/// `denied`, and so does the span.
#[test]
fn a_refusal_the_trail_cannot_record_is_denied_in_its_span_too() {
    struct Broken;
    impl AuditSink for Broken {
        fn record(&self, _: &CallEvent<'_>) -> Result<(), AuditError> {
            Err(AuditError::new(
                AuditErrorKind::Sink,
                "broken".as_ref(),
                "disk full",
            ))
        }
    }
    let executor = executor(Arc::new(Broken));
    let capture = Capture::default();
    for (tool, args) in [
        ("no_such_tool", "{}"),
        ("span_blocked", "{}"),
        ("span_add", r#"{"a": [[[1]]], "b": 2}"#),
    ] {
        let id = call_id("broken trail");
        let err = capture
            .during(|| executor.call_blocking(tool, args, ToolContext::new().with_call_id(&id)))
            .expect_err("a refusal");
        assert_eq!(err.kind(), ErrorKind::Denied, "{tool}: {err}");
        assert!(err.message().contains("audit trail"), "{tool}: {err}");
        assert_one_span(&capture, &id, tool, Some("denied"));
    }
}

#[test]
fn an_allowed_call_still_has_its_span_inline_and_on_tokio() {
    let audit = Arc::new(MemoryAudit::new());
    let executor = executor(audit);
    let capture = Capture::default();

    let id = call_id("inline");
    let out = capture
        .during(|| {
            executor.call_blocking(
                "span_add",
                r#"{"a": 1, "b": 2}"#,
                ToolContext::new().with_call_id(&id),
            )
        })
        .expect("allowed");
    assert_eq!(out.to_value(), 3);
    assert!(has_run(&id));
    assert_one_span(&capture, &id, "span_add", None);

    // A tool's own error keeps its kind in the span as for the caller.
    let id = call_id("inline error");
    let err = capture
        .during(|| {
            executor.call_blocking("span_refuses", "{}", ToolContext::new().with_call_id(&id))
        })
        .expect_err("the tool refuses");
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_one_span(&capture, &id, "span_refuses", Some("denied"));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let id = call_id("tokio");
    let out = capture
        .during(|| {
            runtime.block_on(executor.call(
                "span_add_async",
                r#"{"a": 2, "b": 3}"#,
                ToolContext::new().with_call_id(&id),
            ))
        })
        .expect("allowed");
    assert_eq!(out.to_value(), 5);
    assert!(has_run(&id));
    assert_one_span(&capture, &id, "span_add_async", None);
}
