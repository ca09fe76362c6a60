//! Two linked tools with one name are a link error that names both definitions.
//!
//! `#[tool]` exports a marker symbol `rustchain_tool$NAME` beside each tool, so
//! a program linking two tools called `search` stops at link time with
//! `duplicate symbol: rustchain_tool$search`, and the linker points at both
//! source files. These tests build the fixture workspace
//! `tests/fixtures/duplicate-tools/` (its own `[workspace]`, outside the main
//! one) with a nested `cargo build`:
//!
//! - bin `app` links `tools-a` and `tools-b`, which both define `search`:
//!   the build must fail, naming `tools-a/src/lib.rs` and `tools-b/src/lib.rs`;
//! - bin `unique` links `tools-a` and `tools-c` (`search` and `find`): the
//!   build must succeed and the program must list both tools, which shows the
//!   failure above is about the duplicate name and not a broken fixture.
//!
//! The fixture is copied to `<target>/fixtures/duplicate-tools/` with the main
//! workspace's `Cargo.lock`, so it builds with the very dependency versions the
//! main workspace already downloaded (offline when the cache has them, online
//! otherwise), and the source tree is never written to. Its build directory is
//! `<target>/fixtures/duplicate-tools/target`, shared by both tests.
//!
//! The message checked is rust-lld's, the default linker on x86_64 Linux.
#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// The repository root, which is also the `rustchain` package's directory.
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The fixture's `rustchain` dependency, relative to its place in the source tree.
const RUSTCHAIN_PATH_IN_TREE: &str = r#"rustchain = { path = "../../.." }"#;

/// Both tests build in one directory: one at a time.
static FIXTURE: Mutex<()> = Mutex::new(());

/// The copied fixture workspace, ready to build, while the lock is held.
struct Fixture {
    _guard: MutexGuard<'static, ()>,
    workspace: PathBuf,
    target: PathBuf,
}

impl Fixture {
    fn get() -> Fixture {
        let guard = FIXTURE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let repo = Path::new(REPO);
        let root = target_dir(repo).join("fixtures").join("duplicate-tools");
        let workspace = root.join("workspace");
        copy_tree(&repo.join("tests/fixtures/duplicate-tools"), &workspace);

        let manifest = workspace.join("Cargo.toml");
        let text = fs::read_to_string(&manifest).expect("read the fixture's Cargo.toml");
        assert!(
            text.contains(RUSTCHAIN_PATH_IN_TREE),
            "the fixture's Cargo.toml no longer has the line `{RUSTCHAIN_PATH_IN_TREE}`"
        );
        let here = format!("rustchain = {{ path = '{}' }}", repo.display());
        write_if_changed(&manifest, text.replace(RUSTCHAIN_PATH_IN_TREE, &here));

        // The main workspace's lock: the fixture resolves to the same versions,
        // a subset of what the main workspace's own build has downloaded.
        let lock = fs::read(repo.join("Cargo.lock")).expect("read the main Cargo.lock");
        write_if_changed(&workspace.join("Cargo.lock"), &lock);

        Fixture {
            _guard: guard,
            workspace,
            target: root.join("target"),
        }
    }

    /// `cargo build --bin <bin>` in the fixture, offline first and online if
    /// offline mode lacked something (an empty cache on a fresh machine).
    fn build(&self, bin: &str) -> Output {
        let offline = self.cargo(&["build", "--offline", "--bin", bin]);
        if offline.status.success() || !stderr(&offline).contains("offline") {
            return offline;
        }
        self.cargo(&["build", "--bin", bin])
    }

    fn cargo(&self, args: &[&str]) -> Output {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Command::new(cargo)
            .args(args)
            .current_dir(&self.workspace)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_TERM_COLOR", "never")
            .env("CARGO_INCREMENTAL", "0")
            // The linker finds a symbol's source file and line in the debug info.
            .env("CARGO_PROFILE_DEV_DEBUG", "true")
            .output()
            .expect("run cargo")
    }

    fn binary(&self, bin: &str) -> PathBuf {
        self.target.join("debug").join(bin)
    }
}

#[test]
fn two_tools_named_search_fail_to_link_naming_both_definitions() {
    let fixture = Fixture::get();
    let output = fixture.build("app");
    let stderr = stderr(&output);
    assert!(
        !output.status.success(),
        "linking two tools named `search` succeeded; it must fail.\n{stderr}"
    );
    for expected in [
        "duplicate symbol",
        "rustchain_tool$search",
        "tools-a/src/lib.rs",
        "tools-b/src/lib.rs",
        // The crates by name too: the same relative path in two crates
        // would otherwise read as `src/lib.rs:6` twice.
        "[crate:tools-a@",
        "[crate:tools-b@",
    ] {
        assert!(
            stderr.contains(expected),
            "the failed build's stderr does not mention `{expected}`:\n{stderr}"
        );
    }
}

#[test]
fn tools_with_distinct_names_link_and_are_all_registered() {
    let fixture = Fixture::get();
    let output = fixture.build("unique");
    assert!(
        output.status.success(),
        "the fixture's `unique` bin (tools `search` and `find`) failed to build:\n{}",
        stderr(&output)
    );
    let run = Command::new(fixture.binary("unique"))
        .output()
        .expect("run the fixture's `unique` bin");
    assert!(run.status.success(), "`unique` failed:\n{}", stderr(&run));
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "2 tools: find (tools-c), search (tools-a)"
    );
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Where this test run's build goes: `$CARGO_TARGET_DIR`, else `<repo>/target`.
fn target_dir(repo: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => repo.join(dir),
        _ => repo.join("target"),
    }
}

/// Copies `from` into `to`, leaving files that are already the same untouched
/// so that cargo does not rebuild the fixture crates on every run.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create the fixture copy");
    for entry in fs::read_dir(from).expect("read the fixture directory") {
        let entry = entry.expect("read a fixture entry");
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        let path = entry.path();
        if entry.file_type().expect("stat a fixture entry").is_dir() {
            copy_tree(&path, &to.join(name));
        } else {
            let bytes = fs::read(&path).expect("read a fixture file");
            write_if_changed(&to.join(name), &bytes);
        }
    }
}

fn write_if_changed(path: &Path, contents: impl AsRef<[u8]>) {
    let contents = contents.as_ref();
    if fs::read(path).ok().as_deref() != Some(contents) {
        fs::write(path, contents).expect("write a fixture file");
    }
}
