//! A lone caller's append allocates only the vector of ids it returns: the
//! body buffer, the waiter, the queue's vector, the timestamp and the
//! digests are reused or on the stack (D-84).
//!
//! A counting global allocator sees every allocation of this test binary, so
//! it runs without libtest's harness (`harness = false`): its one test runs
//! on the main thread with no other thread alive, where libtest's own main
//! thread, waiting for a test thread's result, could allocate inside a
//! counted stretch when the machine is loaded (4 allocations, seen in CI).

use std::time::Duration;

use rustchain_tools::audit::{
    AuditEvent, AuditOptions, AuditTrail, Decision, Outcome, VerifyStatus, digest, verify,
};

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

fn main() {
    a_lone_callers_append_allocates_only_the_ids_it_returns();
    println!("test a_lone_callers_append_allocates_only_the_ids_it_returns ... ok");
}

fn a_lone_callers_append_allocates_only_the_ids_it_returns() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("audit.jsonl");
    let (trail, _) = AuditTrail::open(&path, AuditOptions::default()).unwrap();
    let args_digest = digest(br#"{"a": 1, "b": 2}"#);
    let output_digest = digest(b"3");
    let decision = AuditEvent::Decision {
        tool: "add",
        call_id: "call_1",
        caller: None,
        decision: Decision::Allow,
        // A rule with quotes: escaped on the way, as serde would.
        rule: Some("tools.allow = [\"add\"]"),
        reason: Some("the policy allows `add`"),
        approver: None,
        args_digest: &args_digest,
        args: None,
    };
    let result = AuditEvent::Result {
        tool: "add",
        call_id: "call_1",
        caller: None,
        outcome: Outcome::Ok,
        error_type: None,
        duration: Duration::from_micros(3),
        output_bytes: 1,
        output_digest: Some(&output_digest),
        args_digest: None,
    };
    // Warm up: the thread's waiter and buffers, the keeper thread, the
    // queue's vectors.
    for _ in 0..64 {
        trail.append_all(&[&decision, &result]).unwrap();
        trail.append(&result).unwrap();
    }
    let mut ids = Vec::with_capacity(256);
    let pairs = counting_alloc::during(|| {
        for _ in 0..256 {
            ids.push(trail.append_all(&[&decision, &result]).unwrap());
        }
    })
    .allocations;
    assert_eq!(pairs, 256, "256 pairs allocated {pairs} times");
    let singles = counting_alloc::during(|| {
        for _ in 0..256 {
            std::hint::black_box(trail.append(&decision).unwrap());
        }
    })
    .allocations;
    // The id comes back through a vector of one.
    assert_eq!(singles, 256, "256 appends allocated {singles} times");
    assert!(ids.iter().all(|pair| pair[1].seq() == pair[0].seq() + 1));
    drop(trail);
    assert_eq!(verify(&path, None).unwrap().status(), VerifyStatus::Intact);
}
