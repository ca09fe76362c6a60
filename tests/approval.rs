//! Approval is awaited: an approver can ask its own client (as an MCP server
//! asks through elicitation) on the same runtime the call runs on, and a
//! call's progress reaches whoever listens. Call ids are UUID v7.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustchain::exec::{ApprovalError, ApprovalFuture, ApprovalRequest, Approver, MemoryAudit};
use rustchain::{ErrorKind, Executor, Policy, Progress, Registry, ToolContext, tool};
use tokio::sync::{mpsc, oneshot};

/// Counts to `n`, reporting progress after each step.
#[tool]
fn approval_count_to(
    /// How far to count.
    n: u64,
    ctx: &ToolContext,
) -> u64 {
    for done in 1..=n {
        ctx.progress(done, Some(n), Some("counting"));
    }
    n
}

/// Counts to `n` asynchronously, reporting progress after each step.
#[tool]
async fn approval_count_async(
    /// How far to count.
    n: u64,
    ctx: &ToolContext,
) -> u64 {
    for done in 1..=n {
        tokio::task::yield_now().await;
        ctx.progress(done, Some(n), None);
    }
    n
}

/// A front end's client, reached through a channel: a task on the caller's
/// own runtime answers each request, as an MCP client answers elicitation.
struct ClientApprover {
    requests: mpsc::UnboundedSender<(ApprovalRequest, oneshot::Sender<String>)>,
}

impl Approver for ClientApprover {
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        Box::pin(async move {
            let (answer, answered) = oneshot::channel();
            self.requests
                .send((request.clone(), answer))
                .map_err(|_| ApprovalError::new("the client went away"))?;
            answered
                .await
                .map_err(|_| ApprovalError::new("the client did not answer"))
        })
    }
}

fn asking_policy() -> Policy {
    Policy::from_toml(
        "[tools]\nask = [\"approval_*\"]\n\n[approval]\ntimeout = \"5s\"\n",
        "approval.toml",
        Path::new("."),
    )
    .expect("the policy loads")
}

/// An executor whose approver asks a client task on the current runtime;
/// the client answers `answer` and records what it was asked.
fn with_client(answer: &'static str) -> (Executor, Arc<MemoryAudit>, Arc<Mutex<Vec<String>>>) {
    let (requests, mut incoming) =
        mpsc::unbounded_channel::<(ApprovalRequest, oneshot::Sender<String>)>();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&asked);
    tokio::spawn(async move {
        while let Some((request, reply)) = incoming.recv().await {
            seen.lock().expect("not poisoned").push(request.tool);
            let _ = reply.send(answer.to_owned());
        }
    });
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .policy(asking_policy())
        .audit(audit.clone())
        .approver(ClientApprover { requests })
        .build()
        .expect("no examples to fail");
    (executor, audit, asked)
}

/// On a current-thread runtime the client task can only answer if the call
/// waiting for it does not hold the runtime's one thread: true for a sync
/// tool (it waits on the blocking pool) and an async one (it awaits).
#[tokio::test(flavor = "current_thread")]
async fn an_async_approver_answers_through_the_callers_own_runtime() {
    let (executor, audit, asked) = with_client("yes");
    for tool in ["approval_count_to", "approval_count_async"] {
        let output = executor
            .call(tool, r#"{"n": 3}"#, ToolContext::new())
            .await
            .unwrap_or_else(|err| panic!("{tool}: {err}"));
        assert_eq!(output.as_json(), "3");
    }
    assert_eq!(
        *asked.lock().expect("not poisoned"),
        ["approval_count_to", "approval_count_async"]
    );
    let decisions: Vec<_> = audit
        .events()
        .into_iter()
        .filter(|event| event["kind"] == "decision")
        .map(|event| {
            (
                event["decision"].clone(),
                event["decision.approver"].clone(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [("ask_approved", "yes"), ("ask_approved", "yes")].map(|(d, a)| (d.into(), a.into()))
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_client_that_says_no_denies_and_nothing_runs() {
    let (executor, audit, _) = with_client("no");
    let progress = Arc::new(Mutex::new(0));
    let count = Arc::clone(&progress);
    let ctx = ToolContext::new().with_progress(Arc::new(move |_: &str, _: &Progress<'_>| {
        *count.lock().expect("not poisoned") += 1;
    }));
    let err = executor
        .call("approval_count_to", r#"{"n": 3}"#, ctx)
        .await
        .expect_err("denied");
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(
        err.message().contains("the approver answered \"no\""),
        "{err}"
    );
    assert_eq!(
        *progress.lock().expect("not poisoned"),
        0,
        "the body never ran"
    );
    let events = audit.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["decision"], "ask_denied");
}

#[test]
fn call_blocking_waits_for_an_async_approver_too() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (executor, _, asked) = runtime.block_on(async { with_client("y") });
    let output = executor
        .call_blocking("approval_count_to", r#"{"n": 2}"#, ToolContext::new())
        .expect("approved");
    assert_eq!(output.as_json(), "2");
    assert_eq!(asked.lock().expect("not poisoned").len(), 1);
}

#[test]
fn progress_reaches_the_listener_with_the_call_id() {
    let executor = Executor::new(Registry::global());
    let updates = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&updates);
    let ctx = ToolContext::new()
        .with_call_id("call-7")
        .with_progress(Arc::new(move |call: &str, p: &Progress<'_>| {
            log.lock().expect("not poisoned").push((
                call.to_owned(),
                p.done,
                p.total,
                p.message.map(str::to_owned),
            ));
        }));
    let output = executor
        .call_blocking("approval_count_to", r#"{"n": 2}"#, ctx)
        .expect("no policy: a tool without permissions runs");
    assert_eq!(output.as_json(), "2");
    let counting = Some("counting".to_owned());
    assert_eq!(
        *updates.lock().expect("not poisoned"),
        [
            ("call-7".to_owned(), 1, Some(2), counting.clone()),
            ("call-7".to_owned(), 2, Some(2), counting),
        ]
    );
}

#[test]
fn a_context_without_a_listener_ignores_progress() {
    let ctx = ToolContext::new();
    assert!(!ctx.reports_progress());
    ctx.progress(1, None, Some("nobody hears this"));
}

#[test]
fn call_ids_are_distinct_uuid_v7s() {
    let ids: Vec<String> = (0..10_000)
        .map(|_| ToolContext::new().call_id().to_owned())
        .collect();
    for id in &ids {
        let parsed = uuid::Uuid::parse_str(id).unwrap_or_else(|err| panic!("{id}: {err}"));
        assert_eq!(parsed.get_version_num(), 7, "{id}");
    }
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
}
