//! The cost of zero trust: a policy decision for one guarded path, and a
//! whole call through the executor with policy and audit on, against the
//! same call with both off, in one run.
//!
//! `cargo bench --bench executor`

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rustchain::audit::{AuditOptions, AuditTrail, Fsync};
use rustchain::policy::Access;
use rustchain::{Executor, PermissionKind, Policy, Registry, ToolContext, tool};
use rustchain_builtin as _;

/// Measures a path's length without opening it (so only the guard is measured).
#[tool(read_only)]
fn path_length(
    /// The path to measure.
    #[fs(read)]
    path: String,
) -> usize {
    path.len()
}

/// Adds two numbers: a small tool with no guard and no read-only hint, so an
/// audited call writes its decision before the body and its result after
/// (two batches).
#[tool]
fn add_numbers(
    /// The first number.
    a: i64,
    /// The second number.
    b: i64,
) -> i64 {
    a.wrapping_add(b)
}

fn policy(root: &Path) -> Policy {
    let text = format!("[fs]\nread = [{:?}]\n", root.display().to_string());
    Policy::from_toml(&text, "<bench>", root).expect("the bench policy is valid")
}

fn executor_benches(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("rustchain-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let root = dir.canonicalize().expect("temp dir resolves");
    let policy = policy(&root);
    let target = root.join("notes/today.txt").display().to_string();
    let args = serde_json::json!({ "path": target }).to_string();
    let descriptor = Registry::global()
        .get("path_length")
        .expect("linked")
        .descriptor();

    let mut group = c.benchmark_group("policy");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("decide_access_fs_read", |b| {
        let access = Access {
            kind: PermissionKind::FsRead,
            param: "path",
            value: &target,
        };
        b.iter(|| policy.decide_access(black_box(descriptor.name), black_box(&access)))
    });
    group.finish();

    let plain = Executor::new(Registry::global());
    let governed_no_audit = Executor::builder(Registry::global())
        .policy(policy.clone())
        .build()
        .expect("policy loads");
    let open = |fsync| {
        let (trail, _) = AuditTrail::open(
            &root.join(format!("audit-{fsync:?}.jsonl")),
            AuditOptions::default().with_fsync(fsync),
        )
        .expect("audit trail opens");
        Executor::builder(Registry::global())
            .policy(policy.clone())
            .audit(Arc::new(trail))
            .build()
            .expect("policy loads")
    };
    // A default timeout and nothing else: the cost of keeping a deadline.
    let timed = Executor::builder(Registry::global())
        .policy(
            Policy::from_toml("[limits]\ntimeout = \"30s\"\n", "<bench>", &root)
                .expect("the timeout policy is valid"),
        )
        .build()
        .expect("policy loads");
    let governed_audit = open(Fsync::Never);
    let governed_audit_fsync = open(Fsync::EveryRecord);

    // The pure tool under no policy, for the floor of a call.
    let mut group = c.benchmark_group("call");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("text_stats_no_policy_no_audit", |b| {
        b.iter(|| {
            plain.call_blocking(
                "text_stats",
                black_box(r#"{"text": "a b"}"#),
                ToolContext::new(),
            )
        })
    });
    group.bench_function("text_stats_default_timeout", |b| {
        b.iter(|| {
            timed.call_blocking(
                "text_stats",
                black_box(r#"{"text": "a b"}"#),
                ToolContext::new(),
            )
        })
    });
    group.bench_function("guarded_policy_no_audit", |b| {
        b.iter(|| {
            governed_no_audit.call_blocking("path_length", black_box(&args), ToolContext::new())
        })
    });
    group.bench_function("guarded_policy_audit", |b| {
        b.iter(|| governed_audit.call_blocking("path_length", black_box(&args), ToolContext::new()))
    });
    // Issue 13's case: a small tool, an allowing policy, the file trail
    // without fsync. `text_stats` is read-only (one batch, D-47),
    // `add_numbers` is not (two batches).
    group.bench_function("text_stats_policy_audit", |b| {
        b.iter(|| {
            governed_audit.call_blocking(
                "text_stats",
                black_box(r#"{"text": "a b"}"#),
                ToolContext::new(),
            )
        })
    });
    group.bench_function("add_policy_audit", |b| {
        b.iter(|| {
            governed_audit.call_blocking(
                "add_numbers",
                black_box(r#"{"a": 1, "b": 2}"#),
                ToolContext::new(),
            )
        })
    });
    group.bench_function("guarded_policy_audit_fsync", |b| {
        b.iter(|| {
            governed_audit_fsync.call_blocking("path_length", black_box(&args), ToolContext::new())
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, executor_benches);
criterion_main!(benches);
