//! The Python interpreter that tests drive third-party clients and validators
//! with (the official MCP SDK, providers' SDKs), shared by any test file
//! (`#[path = "support/python.rs"] mod python;`).
//!
//! `.ci/run` creates a virtual environment from `.ci/requirements.txt` and
//! names its interpreter in `RUSTCHAIN_PYTHON`, with `RUSTCHAIN_REQUIRE_PYTHON=1`
//! so that a missing package fails the run. Elsewhere (a newcomer's plain
//! `cargo test --workspace`) the tests use `python3` when it has the modules,
//! and otherwise say on stderr that they did not run.

use std::path::PathBuf;
use std::process::Command;

/// An interpreter that imports every module in `modules`, or `None` (after
/// saying so on stderr) when there is none and CI does not require one.
///
/// # Panics
///
/// When `RUSTCHAIN_REQUIRE_PYTHON` is set and the interpreter lacks a module:
/// in CI a client that is not there is a failure, not a skip.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let python = std::env::var_os("RUSTCHAIN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let imports = modules
        .iter()
        .map(|module| format!("import {module}"))
        .collect::<Vec<_>>()
        .join("; ");
    let works = Command::new(&python)
        .args(["-c", &imports])
        .output()
        .is_ok_and(|out| out.status.success());
    if works {
        return Some(python);
    }
    let missing = format!(
        "{} cannot `{imports}`: run .ci/run, or `pip install -r .ci/requirements.txt` and set RUSTCHAIN_PYTHON",
        python.display()
    );
    if std::env::var_os("RUSTCHAIN_REQUIRE_PYTHON").is_some() {
        panic!("{missing}");
    }
    eprintln!("skipped (no Python client): {missing}");
    None
}
