//! One `#[fs]` guard decision, before and after asking the kernel where a
//! path lands (issue 13): the component walk (`resolve_by_walking`, a `stat`
//! per component) against `resolve` (one `openat2` and a `readlink`), for a
//! file that exists and for a path two names of which do not exist yet, and
//! the whole `Policy::decide_access` for both, and `Policy::check_access`
//! (the same judgement without an allowing decision's text), in one run.
//!
//! `cargo bench -p rustchain-tools --bench path_guard`

// The fixture is made with plain std calls; the crate's capability rule is
// for code that opens what a model names.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rustchain_tools::policy::Access;
use rustchain_tools::policy::path::{resolve, resolve_by_walking};
use rustchain_tools::{PermissionKind, Policy};

fn guard_benches(c: &mut Criterion) {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().canonicalize().expect("temp dir resolves");
    std::fs::create_dir_all(root.join("docs/2026")).expect("folders");
    std::fs::write(root.join("docs/2026/report.txt"), "x").expect("file");
    let policy = Policy::from_toml(
        &format!(
            "[fs]\nread = [{:?}]\ndeny = [\"**/.env\"]\n",
            root.display().to_string()
        ),
        "<bench>",
        &root,
    )
    .expect("the bench policy is valid");
    let cases: [(&str, PathBuf); 2] = [
        ("existing", root.join("docs/2026/report.txt")),
        ("missing", root.join("notes/today.txt")),
    ];

    let mut group = c.benchmark_group("fs_guard");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (label, path) in &cases {
        assert_eq!(
            resolve(path, Path::new("/")),
            resolve_by_walking(path, Path::new("/")),
            "both ways agree on {label}"
        );
        group.bench_function(format!("walk/{label}"), |b| {
            b.iter(|| resolve_by_walking(black_box(path), Path::new("/")))
        });
        group.bench_function(format!("kernel/{label}"), |b| {
            b.iter(|| resolve(black_box(path), Path::new("/")))
        });
        let value = path.display().to_string();
        let access = Access {
            kind: PermissionKind::FsRead,
            param: "path",
            value: &value,
        };
        group.bench_function(format!("decide_access/{label}"), |b| {
            b.iter(|| policy.decide_access(black_box("fs_read"), black_box(&access)))
        });
        // What the executor's guard check asks during a run: no text when allowed.
        group.bench_function(format!("check_access/{label}"), |b| {
            b.iter(|| policy.check_access(black_box("fs_read"), black_box(&access)))
        });
    }
    group.finish();
}

criterion_group!(benches, guard_benches);
criterion_main!(benches);
