//! A project folder for the tests that register tools, and the stock
//! binary run in it.
//!
//! Registering builds a project agent with cargo. Every agent shares this
//! workspace's target directory, so what one build compiled the next reuses,
//! and each project lives at a fixed place (per test, per checkout), so a
//! test run replaces the agent the last one built instead of adding one.

#![allow(dead_code)] // each test crate uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::run::Run;

/// The stock `rustchain` binary, built by cargo for this package's tests.
pub fn stock_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rustchain"))
}

/// The target directory this test was built in, which the agents share.
pub fn shared_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_path_buf()
}

/// An empty project folder called `name`, outside this repository's
/// workspace (cargo would take a crate inside it for one of its members).
pub fn fresh_project(name: &str) -> PathBuf {
    // FNV-1a of this checkout's target directory: one place per checkout.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in env!("CARGO_TARGET_TMPDIR").bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    let dir = std::env::temp_dir()
        .join(format!("rustchain-agent-tests-{hash:08x}"))
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("the last run's project is removed");
    }
    std::fs::create_dir_all(&dir).expect("the project folder is made");
    dir
}

/// Runs the stock binary with `args` in `dir`, as a user would: no
/// inherited RUSTCHAIN_* variables, the user's state directory inside the
/// project, agents built into the shared target directory; `env` on top.
pub fn rustchain_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let output = Command::new(stock_binary())
        .args(args)
        .current_dir(dir)
        .env_remove("RUSTCHAIN_POLICY")
        .env_remove("RUSTCHAIN_AUDIT")
        .env_remove("RUSTCHAIN_AGENT")
        .env_remove("RUSTCHAIN_OFFLINE")
        .env_remove("RUSTCHAIN_SOURCE")
        .env("XDG_STATE_HOME", dir.join(".state"))
        // The marketplace's default index and signing key, kept in the project too.
        .env("XDG_DATA_HOME", dir.join(".data"))
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env_remove("RUSTCHAIN_INDEX")
        .env_remove("RUSTCHAIN_MARKET_KEY")
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("the rustchain binary starts");
    let code = output
        .status
        .code()
        .expect("the binary exits, not killed by a signal");
    Run {
        code: ExitCode::from(u8::try_from(code).expect("an exit code fits in a byte")),
        out: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        err: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}
