//! Lookup allocates nothing; a small sync call allocates its result text only.
//!
//! A counting global allocator sees every allocation of this test binary, so
//! it runs without libtest's harness (`harness = false`): its one test runs
//! on the main thread with no other thread alive, where libtest's own main
//! thread, waiting for a test thread's result, could allocate inside a
//! counted stretch when the machine is loaded (4 allocations, seen in CI).

use my_tools as _;
use rustchain::audit::{AuditOptions, AuditTrail};
use rustchain::{Executor, Policy, Registry, ToolContext};

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

fn main() {
    lookup_allocates_nothing_and_dispatch_only_the_output();
    println!("test lookup_allocates_nothing_and_dispatch_only_the_output ... ok");
}

fn lookup_allocates_nothing_and_dispatch_only_the_output() {
    let registry = Registry::global();
    let names = [
        "add",
        "get_weather",
        "path_length",
        "slow_echo",
        "missing",
        "",
        "ad",
    ];
    let lookups = counting_alloc::during(|| {
        for _ in 0..1_000 {
            for name in names {
                std::hint::black_box(registry.get(std::hint::black_box(name)));
            }
        }
    })
    .allocations;
    assert_eq!(lookups, 0, "registry lookups allocated");

    let executor = Executor::new(registry);
    // Warm up (lazy statics, thread-locals, the metrics' latency sample),
    // then count calls that each get a fresh context, as a caller's do.
    for _ in 0..64 {
        executor
            .call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new())
            .unwrap();
    }
    let mut out = Vec::with_capacity(64);
    let dispatch = counting_alloc::during(|| {
        for _ in 0..64 {
            out.push(executor.call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new()));
        }
    })
    .allocations;
    assert!(out.into_iter().all(|r| r.unwrap().as_json() == "3"));
    // Per call: the result text (1), nothing else. The gate the guards
    // report to is the one the previous call gave back (an inline call
    // whose context nobody kept returns it to the executor); a fresh context
    // makes its id and cancellation token only when asked, and this call
    // asks for neither; the policy decision is static text; the concurrency
    // limit is a counter.
    assert_eq!(
        dispatch, 64,
        "64 small sync dispatches allocated {dispatch} times"
    );

    // With a policy whose rule allows the tool: the same one. The executor
    // keeps which rule allowed the call and builds the decision's words
    // (which name the tool) only when it records or shows them.
    let policy = Policy::from_toml(
        "default = \"deny\"\n[tools]\nallow = [\"add\"]\n",
        "allocations.toml",
        std::path::Path::new("."),
    )
    .expect("a valid policy");
    let allowing = Executor::builder(registry)
        .policy(policy)
        .build()
        .expect("the policy fits the linked tools");
    for _ in 0..64 {
        allowing
            .call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new())
            .unwrap();
    }
    let mut out = Vec::with_capacity(64);
    let allowed = counting_alloc::during(|| {
        for _ in 0..64 {
            out.push(allowing.call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new()));
        }
    })
    .allocations;
    assert!(out.into_iter().all(|r| r.unwrap().as_json() == "3"));
    assert_eq!(
        allowed, 64,
        "64 dispatches under an allowing policy allocated {allowed} times"
    );

    // The same policy, audited to a file trail without fsync: the result
    // text, the vector of ids the trail returns for the call's one batch
    // (`add` is read-only: its decision is written with its result, D-47),
    // and two the call's gate makes for an audited call to keep for its
    // records (with a sink that records nothing the count is 3): the
    // argument text and the call's id, each copied into an `Arc<str>`
    // (`CallGate::open`). The decision's words are
    // lent from the policy (D-84), the digests and timestamps are on the
    // stack, the trail's body buffer and waiter reused.
    let temp = tempfile::tempdir().expect("a temp dir");
    let (trail, _) = AuditTrail::open(&temp.path().join("audit.jsonl"), AuditOptions::default())
        .expect("the trail opens");
    let audited = Executor::builder(registry)
        .policy(
            Policy::from_toml(
                "default = \"deny\"\n[tools]\nallow = [\"add\"]\n",
                "allocations.toml",
                std::path::Path::new("."),
            )
            .expect("a valid policy"),
        )
        .audit(std::sync::Arc::new(trail))
        .build()
        .expect("the policy fits the linked tools");
    for _ in 0..64 {
        audited
            .call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new())
            .unwrap();
    }
    let mut out = Vec::with_capacity(64);
    let recorded = counting_alloc::during(|| {
        for _ in 0..64 {
            out.push(audited.call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new()));
        }
    })
    .allocations;
    assert!(out.into_iter().all(|r| r.unwrap().as_json() == "3"));
    assert_eq!(
        recorded,
        64 * 4,
        "64 audited dispatches allocated {recorded} times"
    );
}
