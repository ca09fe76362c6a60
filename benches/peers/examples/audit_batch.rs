//! The audit trail's group commit, measured without criterion (whose
//! iteration counts do not divide among threads): appends from 1 and 16
//! threads, with fsync per record and without, and a whole call with an
//! audit trail; each the median of 5 runs, with the records per batch and
//! per fsync of the whole run.
//!
//! `cargo run --release --example audit_batch [DIR]` (DIR: where the trail
//! files go; the target directory's disk by default). With
//! `AUDIT_BATCH_ONLY=TEXT`, only the cases whose line holds TEXT run, once
//! each (for `strace -c -f` or callgrind).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustchain::audit::{AuditEvent, AuditOptions, AuditTrail, Decision, Fsync, digest};
use rustchain::{Executor, Registry, ToolContext, tool};
// The 32 tools, `add` among them.
use rustchain_bench_peers as _;

const RUNS: usize = 5;

/// Adds two integers (`add`, declared read-only: an audited call writes its
/// decision and result records together, once it ends; D-47).
#[tool(read_only)]
fn add_read_only(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Whether the case `label` runs, and how many times.
fn runs_of(label: &str) -> usize {
    match std::env::var("AUDIT_BATCH_ONLY") {
        Ok(only) if label.contains(&only) => 1,
        Ok(_) => 0,
        Err(_) => RUNS,
    }
}

fn median(mut runs: Vec<Duration>) -> (Duration, Duration, Duration) {
    runs.sort();
    (runs[0], runs[runs.len() / 2], runs[runs.len() - 1])
}

fn trail(dir: &std::path::Path, name: &str, fsync: Fsync) -> Arc<AuditTrail> {
    let path = dir.join(format!("{name}.jsonl"));
    let _ = std::fs::remove_file(&path);
    let (trail, _) =
        AuditTrail::open(&path, AuditOptions::default().with_fsync(fsync)).expect("opens");
    Arc::new(trail)
}

/// `threads` threads doing `per_thread` operations each; the time per operation.
fn per_op(
    threads: usize,
    per_thread: usize,
    op: impl Fn() + Send + Sync + Clone + 'static,
) -> Duration {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let op = op.clone();
            std::thread::spawn(move || {
                for _ in 0..per_thread {
                    op();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a worker");
    }
    started.elapsed() / (threads * per_thread) as u32
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("audit-batch-{}", std::process::id()))
        });
    std::fs::create_dir_all(&dir).expect("a scratch dir");
    let args_digest: &'static str =
        Box::leak(digest(br#"{"path": "notes/today.md"}"#).into_boxed_str());
    let event = AuditEvent::Decision {
        tool: "fs_read",
        call_id: "call_7f3a9c2e",
        caller: None,
        decision: Decision::Allow,
        rule: Some("fs.read = [\"notes/**\"]"),
        reason: None,
        approver: None,
        args_digest,
        args: None,
    };
    for (fsync, label, per_thread_1, per_thread_16) in [
        (Fsync::Never, "fsync never (default)", 20_000, 2_000),
        (Fsync::EveryRecord, "fsync every record", 300, 100),
    ] {
        for (threads, per_thread) in [(1, per_thread_1), (16, per_thread_16)] {
            let case = format!("append, {label}, {threads:>2} threads");
            if runs_of(&case) == 0 {
                continue;
            }
            let mut runs = Vec::new();
            let mut last = None;
            for run in 0..runs_of(&case) {
                let trail = trail(&dir, &format!("append-{threads}-{run}"), fsync);
                let writer = Arc::clone(&trail);
                runs.push(per_op(threads, per_thread, move || {
                    writer.append(&event).expect("appends");
                }));
                last = Some(trail.commit_stats());
            }
            let (min, med, max) = median(runs);
            let stats = last.expect("runs");
            println!(
                "{case}: median {:>8.2} µs per record (min {:.2}, max {:.2}); {:.1} records per batch, {:.1} per fsync, {:.1} per file lock",
                med.as_secs_f64() * 1e6,
                min.as_secs_f64() * 1e6,
                max.as_secs_f64() * 1e6,
                stats.records_per_batch(),
                stats.records_per_sync(),
                stats.records_per_lock(),
            );
        }
    }
    for (fsync, label, tool) in [
        (Fsync::Never, "fsync never (default)", "add"),
        (Fsync::Never, "fsync never (default)", "add_read_only"),
        (Fsync::EveryRecord, "fsync every record", "add"),
        (Fsync::EveryRecord, "fsync every record", "add_read_only"),
    ] {
        for threads in [1, 16] {
            let case = format!("call_blocking({tool}) + audit, {label}, {threads:>2} threads");
            if runs_of(&case) == 0 {
                continue;
            }
            let per_thread = match (fsync, threads) {
                (Fsync::Never, 1) => 10_000,
                (Fsync::Never, _) => 1_000,
                (_, 1) => 150,
                _ => 50,
            };
            let mut runs = Vec::new();
            let mut last = None;
            for run in 0..runs_of(&case) {
                let trail = trail(&dir, &format!("call-{threads}-{run}"), fsync);
                let executor = Executor::builder(Registry::global())
                    .audit(Arc::clone(&trail) as _)
                    .build()
                    .expect("no policy to check");
                runs.push(per_op(threads, per_thread, move || {
                    executor
                        .call_blocking(tool, r#"{"a":2,"b":40}"#, ToolContext::new())
                        .expect("add runs");
                }));
                last = Some(trail.commit_stats());
            }
            let (min, med, max) = median(runs);
            let stats = last.expect("runs");
            println!(
                "{case}: median {:>8.2} µs per call (min {:.2}, max {:.2}); {:.1} records per batch, {:.1} per fsync, {:.1} per file lock",
                med.as_secs_f64() * 1e6,
                min.as_secs_f64() * 1e6,
                max.as_secs_f64() * 1e6,
                stats.records_per_batch(),
                stats.records_per_sync(),
                stats.records_per_lock(),
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
