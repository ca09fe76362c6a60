//! Appends to an audit trail N times, for instruction counts under callgrind
//! and system call counts under `strace -c -f` (no fsync; the trail goes in
//! a temporary directory):
//!
//! ```sh
//! cargo build --release -p rustchain-tools --example audit_profile
//! valgrind --tool=callgrind target/release/examples/audit_profile append 20000
//! valgrind --tool=callgrind target/release/examples/audit_profile append 0
//! strace -c -f target/release/examples/audit_profile pair 20000 16
//! ```
//!
//! The first argument picks the work: `append` (one decision record per
//! `append`) or `pair` (a decision and a result in one `append_all`, as the
//! executor writes a read-only tool's call). The second is how many per
//! thread, the third how many threads (1 by default). The difference between
//! runs with N and 0 over N is one operation's instructions.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use rustchain_tools::audit::{AuditEvent, AuditOptions, AuditTrail, Decision, Outcome, digest};

fn main() {
    let mut argv = std::env::args().skip(1);
    let pair = match argv.next().as_deref() {
        None | Some("append") => false,
        Some("pair") => true,
        Some(other) => panic!("no work named {other}: append or pair"),
    };
    let n: u64 = argv.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let threads: usize = argv.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let temp = tempfile::tempdir().expect("temp dir");
    let path = temp.path().join("audit.jsonl");
    let (trail, _) = AuditTrail::open(&path, AuditOptions::default()).expect("opens");
    let trail = Arc::new(trail);
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let trail = Arc::clone(&trail);
            std::thread::spawn(move || work(&trail, n, pair))
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker");
    }
    let elapsed = started.elapsed();
    let stats = trail.commit_stats();
    let ops = (n * threads as u64).max(1);
    eprintln!(
        "{} records, {} batches ({:.1} per batch), {} locks; {:?} per operation",
        stats.records,
        stats.batches,
        stats.records_per_batch(),
        stats.locks,
        elapsed.checked_div(ops as u32).unwrap_or(Duration::ZERO),
    );
}

fn work(trail: &AuditTrail, n: u64, pair: bool) {
    let args_digest = digest(br#"{"path": "notes/today.md"}"#);
    let decision = AuditEvent::Decision {
        tool: "fs_read",
        call_id: "call_7f3a9c2e",
        caller: None,
        decision: Decision::Allow,
        rule: Some("fs.read = [\"notes/**\"]"),
        reason: None,
        approver: None,
        args_digest: &args_digest,
        args: None,
    };
    let output_digest = digest(b"42");
    let result = AuditEvent::Result {
        tool: "fs_read",
        call_id: "call_7f3a9c2e",
        caller: None,
        outcome: Outcome::Ok,
        error_type: None,
        duration: Duration::from_micros(12),
        output_bytes: 2,
        output_digest: Some(&output_digest),
        args_digest: Some(&args_digest),
    };
    for _ in 0..n {
        if pair {
            black_box(trail.append_all(&[&decision, &result]).expect("appends"));
        } else {
            black_box(trail.append(&decision).expect("appends"));
        }
    }
}
