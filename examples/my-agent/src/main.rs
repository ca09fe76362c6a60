//! A program with the whole `rustchain` command line for the tools of `my-tools`.
//!
//! `cargo run -p my-agent -- tools list` lists `add`, `get_weather`, ...

use my_tools as _;

fn main() -> std::process::ExitCode {
    rustchain::cli::run()
}
