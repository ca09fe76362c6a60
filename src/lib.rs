//! RustChain Tools: a compile-time, static tool framework for AI agents.
//!
//! Put `#[tool]` on a plain function, sync or async. Its doc comment becomes the
//! tool's description, a `///` comment on each parameter that parameter's, and
//! its signature the tool's JSON Schema. Every tool in every linked crate is
//! collected at link time; [`Registry::global`] indexes them by name and a
//! [`Executor`] calls them with the JSON arguments a model sends, under a
//! deny-by-default [`Policy`], recording every call in an [`audit`] trail.
//!
//! ```
//! use rustchain::{tool, Executor, Registry, ToolContext};
//!
//! /// Adds two integers.
//! #[tool(read_only, tags("math"))]
//! fn add(
//!     /// The first addend.
//!     a: i64,
//!     /// The second addend.
//!     b: i64,
//! ) -> i64 {
//!     a + b
//! }
//!
//! let executor = Executor::new(Registry::global());
//! let out = executor.call_blocking("add", r#"{"a": 2, "b": 40}"#, ToolContext::new()).unwrap();
//! assert_eq!(out.as_json(), "42");
//! ```
//!
//! A tool crate is linked into a program by naming it: `use my_tools as _;`
//! (a crate nothing names is never loaded, and its tools would vanish).
//! A program that wants the whole `rustchain` command line for its own tools is:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     rustchain::cli::run()
//! }
//! ```

pub mod cli;

pub use rustchain_macros::tool;
pub use rustchain_tools::*;
