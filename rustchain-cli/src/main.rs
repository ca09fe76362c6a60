//! The stock `rustchain` binary: the CLI over the built-in tools.
//!
//! Naming `rustchain_builtin` links its tools (a crate nothing names is never
//! loaded). The package depends on it directly instead of turning on the
//! facade's `builtin` feature; see this package's Cargo.toml for why.

use rustchain_builtin as _;

fn main() -> std::process::ExitCode {
    rustchain::cli::run_in_project()
}
