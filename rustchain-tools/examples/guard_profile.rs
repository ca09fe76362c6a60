//! Runs one `#[fs]` guard decision N times, for instruction counts under
//! callgrind (user space only; the system calls' kernel time is not counted):
//!
//! ```sh
//! cargo build --release -p rustchain-tools --example guard_profile
//! valgrind --tool=callgrind target/release/examples/guard_profile existing 1000 decide
//! valgrind --tool=callgrind target/release/examples/guard_profile existing 0 decide
//! ```
//!
//! The third argument picks the call: `decide` (`Policy::decide_access`,
//! the decision with its text) or `check` (`Policy::check_access`, what the
//! executor asks during a run: no text when the value is allowed).
//! The difference over N is one decision's instructions. CASE: `existing`
//! (`<tmp>/docs/2026/report.txt`, a file), `missing` (`<tmp>/notes/today.txt`)
//! or `denied` (`<tmp>/docs/.env`, matching the deny glob), the paths of
//! `benches/path_guard.rs`. Under `strace -c -f` it shows the system calls.

// The fixture is made with plain std calls; the crate's capability rule is
// for code that opens what a model names.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;

use rustchain_tools::policy::Access;
use rustchain_tools::{PermissionKind, Policy};

fn main() {
    let mut argv = std::env::args().skip(1);
    let case = argv.next().unwrap_or_else(|| "existing".to_owned());
    let n: u64 = argv.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let check = match argv.next().as_deref() {
        None | Some("decide") => false,
        Some("check") => true,
        Some(other) => panic!("no call named {other}: decide or check"),
    };
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().canonicalize().expect("temp dir resolves");
    std::fs::create_dir_all(root.join("docs/2026")).expect("folders");
    std::fs::write(root.join("docs/2026/report.txt"), "x").expect("file");
    std::fs::write(root.join("docs/.env"), "x").expect("file");
    let policy = Policy::from_toml(
        &format!(
            "[fs]\nread = [{:?}]\ndeny = [\"**/.env\"]\n",
            root.display().to_string()
        ),
        "<profile>",
        &root,
    )
    .expect("the profile's policy is valid");
    let path = match case.as_str() {
        "existing" => root.join("docs/2026/report.txt"),
        "missing" => root.join("notes/today.txt"),
        "denied" => root.join("docs/.env"),
        other => panic!("no case named {other}"),
    };
    let value = path.display().to_string();
    let access = Access {
        kind: PermissionKind::FsRead,
        param: "path",
        value: &value,
    };
    let first = policy.decide_access("fs_read", &access);
    println!("{:?}: {}", first.verdict, first.reason);
    if check {
        for _ in 0..n {
            let _ = black_box(policy.check_access(black_box("fs_read"), black_box(&access)));
        }
    } else {
        for _ in 0..n {
            black_box(policy.decide_access(black_box("fs_read"), black_box(&access)));
        }
    }
}
