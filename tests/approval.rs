//! Approval is awaited: an approver can ask its own client (as an MCP server
//! asks through elicitation) on the same runtime the call runs on, and a
//! call's progress reaches whoever listens. Call ids are UUID v7.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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

// ---------------------------------------------------------------------------
// The concurrency slot is taken once a call is approved, not while it waits.

/// Counts the calls of some tools running at once, and the most seen.
struct InFlight {
    running: AtomicUsize,
    most: AtomicUsize,
}

impl InFlight {
    const fn new() -> InFlight {
        InFlight {
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        }
    }

    /// Counts one call in until the guard drops.
    fn enter(&self) -> impl Drop + '_ {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        LeaveOnDrop(&self.running)
    }
}

struct LeaveOnDrop<'a>(&'a AtomicUsize);

impl Drop for LeaveOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Returns `n`; asked for under the nested-call policy (sync).
#[tool]
fn slot_nested_asked_sync(
    /// What to return.
    n: u64,
) -> u64 {
    n
}

/// Returns `n`; asked for under the nested-call policy (async).
#[tool]
async fn slot_nested_asked_async(
    /// What to return.
    n: u64,
) -> u64 {
    tokio::task::yield_now().await;
    n
}

/// Doubles `n`; the call an approver makes while its own call waits (sync).
#[tool]
fn slot_nested_inner(
    /// What to double.
    n: u64,
) -> u64 {
    n * 2
}

/// Doubles `n`; the call an approver makes while its own call waits (async).
#[tool]
async fn slot_nested_inner_async(
    /// What to double.
    n: u64,
) -> u64 {
    tokio::task::yield_now().await;
    n * 2
}

/// One slot for the whole executor; the outer tools ask, the inner ones do not.
/// The approval timeout is far longer than the tests' own bound, so a call
/// that waits on itself fails the test rather than being refused in time.
fn one_slot_policy(ask: &str) -> Policy {
    Policy::from_toml(
        &format!(
            "[tools]\nask = [\"{ask}\"]\n\n[limits]\nmax_concurrent = 1\n\n[approval]\ntimeout = \"60s\"\n"
        ),
        "one-slot.toml",
        Path::new("."),
    )
    .expect("the policy loads")
}

/// Runs `call` on a thread of its own and waits at most `limit` for it: a
/// call that waits on itself fails the test instead of hanging it.
fn within<T: Send + 'static>(limit: Duration, call: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(call());
    });
    finished
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no answer within {limit:?}: the call waits on itself"))
}

/// An async approver that makes its own call through the executor it
/// approves for, and says yes only if that call succeeded.
struct CallsThrough {
    executor: Arc<OnceLock<Executor>>,
    inner: &'static str,
}

impl Approver for CallsThrough {
    fn approve<'a>(&'a self, _: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        Box::pin(async move {
            let executor = self.executor.get().expect("set before any call");
            let doubled = executor
                .call(self.inner, r#"{"n": 21}"#, ToolContext::new())
                .await
                .map_err(|err| ApprovalError::new(err.to_string()))?;
            Ok(if doubled.as_json() == "42" {
                "yes"
            } else {
                "no"
            }
            .to_owned())
        })
    }
}

#[test]
fn an_approver_may_call_through_the_executor_while_its_call_waits_under_max_concurrent_one() {
    for outer in ["slot_nested_asked_sync", "slot_nested_asked_async"] {
        for inner in ["slot_nested_inner", "slot_nested_inner_async"] {
            // A synchronous approver calling with `call_blocking`.
            let executor = Arc::new(OnceLock::new());
            let reached = Arc::clone(&executor);
            let audit = Arc::new(MemoryAudit::new());
            let built = Executor::builder(Registry::global())
                .policy(one_slot_policy("slot_nested_asked_*"))
                .audit(audit.clone())
                .approve_with(move |_: &ApprovalRequest| {
                    let executor: &Executor = reached.get().expect("set before any call");
                    let doubled =
                        executor.call_blocking(inner, r#"{"n": 21}"#, ToolContext::new())?;
                    Ok::<_, rustchain::ToolError>(
                        if doubled.as_json() == "42" {
                            "yes"
                        } else {
                            "no"
                        }
                        .to_owned(),
                    )
                })
                .build()
                .expect("no examples to fail");
            executor.set(built.clone()).expect("set once");
            let output = within(Duration::from_secs(10), move || {
                built.call_blocking(outer, r#"{"n": 7}"#, ToolContext::new())
            })
            .unwrap_or_else(|err| panic!("{outer} approved by a call to {inner}: {err}"));
            assert_eq!(output.as_json(), "7");
            let kinds: Vec<(String, String)> = audit
                .events()
                .iter()
                .map(|e| (e["tool"].to_string(), e["kind"].to_string()))
                .collect();
            assert_eq!(kinds.len(), 4, "{kinds:?}");

            // An async approver calling with `call`, on a caller's runtime.
            let executor = Arc::new(OnceLock::new());
            let built = Executor::builder(Registry::global())
                .policy(one_slot_policy("slot_nested_asked_*"))
                .approver(CallsThrough {
                    executor: Arc::clone(&executor),
                    inner,
                })
                .build()
                .expect("no examples to fail");
            executor.set(built.clone()).expect("set once");
            let output = within(Duration::from_secs(10), move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on(built.call(outer, r#"{"n": 8}"#, ToolContext::new()))
            })
            .unwrap_or_else(|err| panic!("{outer} approved async by {inner}: {err}"));
            assert_eq!(output.as_json(), "8");
        }
    }
}

static HOLD: InFlight = InFlight::new();
static HOLD_STARTED: AtomicBool = AtomicBool::new(false);
static HOLD_RELEASED: AtomicBool = AtomicBool::new(false);
static OTHER_RAN: AtomicBool = AtomicBool::new(false);

/// Asked for; once approved it runs until the test releases it (at most 10 s).
#[tool]
fn slot_hold_asked() -> bool {
    let _in = HOLD.enter();
    HOLD_STARTED.store(true, Ordering::SeqCst);
    // Whether the test released it (rather than the bound running out).
    wait_until(Duration::from_secs(10), || {
        HOLD_RELEASED.load(Ordering::SeqCst)
    })
}

/// Not asked for: notes that it ran.
#[tool]
fn slot_hold_other() -> bool {
    let _in = HOLD.enter();
    OTHER_RAN.store(true, Ordering::SeqCst);
    true
}

/// Polls `condition` until it holds or `limit` passes; whether it held.
fn wait_until(limit: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    condition()
}

#[test]
fn an_approved_call_holds_its_slot_while_it_runs() {
    let executor = Executor::builder(Registry::global())
        .policy(one_slot_policy("slot_hold_asked"))
        .approve_with(|_: &ApprovalRequest| Ok::<_, String>("yes".to_owned()))
        .build()
        .expect("no examples to fail");
    let holder = {
        let executor = executor.clone();
        std::thread::spawn(move || {
            executor.call_blocking("slot_hold_asked", "{}", ToolContext::new())
        })
    };
    assert!(
        wait_until(Duration::from_secs(10), || HOLD_STARTED
            .load(Ordering::SeqCst)),
        "the asked call was approved and started"
    );
    let other = {
        let executor = executor.clone();
        std::thread::spawn(move || {
            executor.call_blocking("slot_hold_other", "{}", ToolContext::new())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !OTHER_RAN.load(Ordering::SeqCst),
        "a second call ran while the approved one held the only slot"
    );
    HOLD_RELEASED.store(true, Ordering::SeqCst);
    let held = within(Duration::from_secs(10), move || holder.join())
        .expect("no panic")
        .expect("the asked call ends");
    assert_eq!(
        held.as_json(),
        "true",
        "released by the test, not by its bound"
    );
    let other = within(Duration::from_secs(10), move || other.join())
        .expect("no panic")
        .expect("the second call runs once the slot is free");
    assert_eq!(other.as_json(), "true");
    assert_eq!(HOLD.most.load(Ordering::SeqCst), 1);
}

static PAIR: InFlight = InFlight::new();

/// Asked for; runs for `ms` milliseconds.
#[tool]
async fn slot_pair_asked(
    /// How long to run.
    ms: u64,
) -> u64 {
    let _in = PAIR.enter();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[test]
fn approved_calls_still_run_one_at_a_time_under_max_concurrent_one() {
    let executor = Executor::builder(Registry::global())
        .policy(one_slot_policy("slot_pair_asked"))
        .approve_with(|_: &ApprovalRequest| Ok::<_, String>("yes".to_owned()))
        .build()
        .expect("no examples to fail");
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let executor = executor.clone();
            std::thread::spawn(move || {
                executor.call_blocking("slot_pair_asked", r#"{"ms": 30}"#, ToolContext::new())
            })
        })
        .collect();
    for call in calls {
        let output = within(Duration::from_secs(10), move || call.join())
            .expect("no panic")
            .expect("every approved call completes");
        assert_eq!(output.as_json(), "30");
    }
    assert_eq!(
        PAIR.most.load(Ordering::SeqCst),
        1,
        "more than one call ran at once"
    );
}
