//! An allowed `#[fs]` value costs the executor's guard check one allocation
//! (the path made absolute, which is also the answer), and the check judges
//! as `Policy::decide_access` does.
//!
//! A counting global allocator sees every allocation of this test binary, so
//! it runs without libtest's harness (`harness = false`): its one test runs
//! on the main thread with no other thread alive, where libtest's own main
//! thread, waiting for a test thread's result, could allocate inside a
//! counted stretch when the machine is loaded (4 allocations, seen in CI).

// The fixture is made with plain std calls; the crate's capability rule is
// for code that opens what a model names.
#![allow(clippy::disallowed_methods)]

use rustchain_tools::policy::{Access, Verdict};
use rustchain_tools::{PermissionKind, Policy};

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

fn main() {
    an_allowed_path_costs_the_check_one_allocation_and_every_verdict_matches_the_decision();
    println!(
        "test an_allowed_path_costs_the_check_one_allocation_and_every_verdict_matches_the_decision ... ok"
    );
}

fn an_allowed_path_costs_the_check_one_allocation_and_every_verdict_matches_the_decision() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("docs/2026")).unwrap();
    std::fs::write(root.join("docs/2026/report.txt"), "x").unwrap();
    std::fs::write(root.join("docs/.env"), "x").unwrap();
    std::os::unix::fs::symlink("/etc", root.join("docs/out")).unwrap();
    let policy = Policy::from_toml(
        &format!(
            "[fs]\nread = [{:?}]\ndeny = [\"**/.env\"]\n",
            root.join("docs").display().to_string()
        ),
        "<test>",
        &root,
    )
    .unwrap();
    let values: Vec<String> = [
        "docs/2026/report.txt",
        "docs/2026/new.txt",
        "docs/./2026//report.txt",
        "docs/2026/../../docs/2026/report.txt",
        "docs/.env",
        "docs/out/passwd",
        "elsewhere.txt",
        "docs/no/such/../../2026/report.txt",
    ]
    .iter()
    .map(|v| root.join(v).display().to_string())
    .collect();
    for value in &values {
        let access = Access {
            kind: PermissionKind::FsRead,
            param: "path",
            value,
        };
        let decision = policy.decide_access("read", &access);
        match policy.check_access("read", &access) {
            Ok(()) => assert_eq!(decision.verdict, Verdict::Allow, "{value}"),
            Err(denied) => assert_eq!(denied, decision, "{value}"),
        }
    }
    for (value, allowed) in [(&values[0], true), (&values[1], true), (&values[4], false)] {
        let access = Access {
            kind: PermissionKind::FsRead,
            param: "path",
            value,
        };
        assert_eq!(
            policy.check_access("read", &access).is_ok(),
            allowed,
            "{value}"
        );
    }

    let access = Access {
        kind: PermissionKind::FsRead,
        param: "path",
        value: &values[0],
    };
    // Warm up (the deny globs' matcher caches), then count.
    for _ in 0..8 {
        policy.check_access("read", &access).unwrap();
    }
    let checked = counting_alloc::during(|| {
        for _ in 0..64 {
            std::hint::black_box(policy.check_access("read", std::hint::black_box(&access)))
                .unwrap();
        }
    })
    .allocations;
    // The absolute path, which the kernel's answer reuses: no C string,
    // no copy of the path, no decision text.
    assert_eq!(checked, 64, "allocations for 64 allowed checks");
}
