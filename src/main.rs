//! The stock `rustchain` binary: the CLI over the built-in tools.

use rustchain_builtin as _;

fn main() -> std::process::ExitCode {
    rustchain::cli::run()
}
