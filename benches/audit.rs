//! Appending one decision record to the audit trail: locked, chained onto the
//! file's last record, one write. With fsync after every record (the default)
//! against no fsync (and every 100 records, and a signed checkpoint every 100),
//! in the same run, on the disk that holds the target directory.
//!
//! `cargo bench --bench audit`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

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
        ("fsync_every_record", AuditOptions::default()),
        (
            "fsync_every_100",
            AuditOptions::default().with_fsync(Fsync::EveryN(100)),
        ),
        (
            "fsync_never",
            AuditOptions::default().with_fsync(Fsync::Never),
        ),
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

criterion_group!(benches, bench_append);
criterion_main!(benches);
