//! Appending one decision record to the audit trail: locked, chained onto the
//! file's last record, one write. With fsync after every record against no
//! fsync (the default; and every 100 records, and a signed checkpoint every
//! 100), in the same run, on the disk that holds the target directory; then
//! 16 threads appending at once, whose appends share batches (group commit):
//! the time per record and how many records each batch and each fsync served.
//!
//! `cargo bench --bench audit`

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rustchain::audit::{AuditEvent, AuditOptions, AuditTrail, Decision, Fsync, SigningKey, digest};

/// A fresh trail file for one benchmark, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&dir).expect("the target temp dir");
        let path = dir.join(format!("bench-audit-{name}-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut sidecar = self.0.clone().into_os_string();
        sidecar.push(".checkpoint");
        let _ = std::fs::remove_file(sidecar);
    }
}

fn bench_append(c: &mut Criterion) {
    let args_digest = digest(br#"{"path": "notes/today.md"}"#);
    let event = AuditEvent::Decision {
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
    let variants = [
        (
            "fsync_every_record",
            AuditOptions::default().with_fsync(Fsync::EveryRecord),
        ),
        (
            "fsync_every_100",
            AuditOptions::default().with_fsync(Fsync::EveryN(100)),
        ),
        ("fsync_never", AuditOptions::default()),
        (
            "fsync_never_checkpoint_every_100",
            AuditOptions::default()
                .with_fsync(Fsync::Never)
                .with_checkpoints(100, SigningKey::from_bytes(&[7; 32])),
        ),
    ];
    let mut group = c.benchmark_group("audit_append");
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(2));
    group.sample_size(20);
    for (name, options) in variants {
        let scratch = Scratch::new(name);
        let (trail, _) = AuditTrail::open(&scratch.0, options).expect("open the trail");
        group.bench_function(name, |b| {
            b.iter(|| trail.append(black_box(&event)).expect("append"));
        });
    }
    group.finish();
}

/// 16 threads appending at once: criterion's time is per record (the
/// iterations are shared among the threads), and after it the records per
/// batch and per fsync of the whole run are printed.
fn bench_concurrent(c: &mut Criterion) {
    const THREADS: u64 = 16;
    let args_digest = digest(br#"{"path": "notes/today.md"}"#);
    let mut group = c.benchmark_group("audit_append_16_threads");
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    for (name, fsync) in [
        ("fsync_every_record", Fsync::EveryRecord),
        ("fsync_never", Fsync::Never),
    ] {
        let scratch = Scratch::new(&format!("threads-{name}"));
        let (trail, _) = AuditTrail::open(&scratch.0, AuditOptions::default().with_fsync(fsync))
            .expect("open the trail");
        let trail = Arc::new(trail);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(THREADS);
                let started = Instant::now();
                let threads: Vec<_> = (0..THREADS)
                    .map(|_| {
                        let trail = Arc::clone(&trail);
                        let args_digest = args_digest.clone();
                        std::thread::spawn(move || {
                            let event = AuditEvent::Decision {
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
                            for _ in 0..per_thread {
                                trail.append(black_box(&event)).expect("append");
                            }
                        })
                    })
                    .collect();
                for thread in threads {
                    thread.join().expect("an appending thread");
                }
                started
                    .elapsed()
                    .mul_f64(iters as f64 / (per_thread * THREADS) as f64)
            });
        });
        let stats = trail.commit_stats();
        println!(
            "audit_append_16_threads/{name}: {} records in {} batches ({:.1} per batch), {} fsyncs ({:.1} records per fsync)",
            stats.records,
            stats.batches,
            stats.records_per_batch(),
            stats.syncs,
            stats.records_per_sync(),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_append, bench_concurrent);
criterion_main!(benches);
