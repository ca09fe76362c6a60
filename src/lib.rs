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
//! // A tool is a free function at module level (not in a function body).
//! fn main() {
//!     let executor = Executor::new(Registry::global());
//!     let out = executor.call_blocking("add", r#"{"a": 2, "b": 40}"#, ToolContext::new()).unwrap();
//!     assert_eq!(out.as_json(), "42");
//! }
//! ```
//!
//! A tool crate is linked into a program by naming it: `use my_tools as _;`
//! (a crate nothing names is never loaded, and its tools would vanish).
//!
//! # Features
//!
//! A tool crate's plain `rustchain = "0.1"` line gets `#[tool]`, the core it
//! compiles against ([`ToolContext`] with [`ToolContext::fs`], [`Registry`],
//! schemas) and the [`serde`] and [`schemars`] it derives with: nothing that
//! runs tools, reaches a network or a terminal, so it builds in seconds. A
//! program turns on more:
//!
//! | feature | adds | for |
//! | --- | --- | --- |
//! | `runtime` | `Executor`, `Policy`, `audit`, `exec` (settings, approval), `fs` (confinement), `manifest` | a program that calls tools, a tool crate's tests (as a dev-dependency feature) |
//! | `cli` | `rustchain::cli`: the whole `rustchain` command line as `cli::run()` | an agent binary |
//! | `builtin` | `rustchain::builtin`: the built-in file, HTTP and command tools, linked into the program | an agent that serves them |
//! | `mcp` | `rustchain::mcp`: the MCP server (`mcp::serve_stdio`), and with `cli` the command `mcp serve` | an agent that MCP clients use |
//!
//! `cli` and `builtin` imply `runtime` and nothing else: an agent's command
//! line serves the tools that agent links, its own tool crates and, with
//! `builtin`, the built-ins. The stock
//! `rustchain` binary (package `rustchain-cli`) is the CLI over the built-ins.
//!
//! # An agent with the command line
//!
//! ```toml
//! [dependencies]
//! rustchain = { version = "0.1", features = ["cli"] }   # add "builtin" for fs_read, http_request, ...
//! my-tools = { path = "../my-tools" }
//! ```
//!
//! ```no_run
//! // use my_tools as _;   // link the tool crates to serve
//! fn main() -> std::process::ExitCode {
//!     rustchain::cli::run()
//! }
//! ```
//!
//! Cargo turns a feature on for every crate of one build: in a workspace where
//! one binary turns `builtin` on, `cargo build --workspace` links the built-ins
//! into its other binaries too. A binary that shares a workspace with programs
//! that must not serve them depends on `rustchain-builtin` and names it instead
//! (`use rustchain_builtin as _;`), as the stock binary does.
//!
//! # Your own types, without serde or schemars in your Cargo.toml
//!
//! A parameter or a result of your own type derives `Deserialize` (or
//! `Serialize`) and `JsonSchema` through the re-exports; the `crate`
//! attributes tell the derives where they are:
//!
//! ```
//! use rustchain::schemars::JsonSchema;
//! use rustchain::serde::{Deserialize, Serialize};
//! use rustchain::{tool, Executor, Registry, ToolContext};
//!
//! /// Units for a temperature.
//! #[derive(Clone, Copy, Deserialize, Serialize, JsonSchema)]
//! #[serde(crate = "rustchain::serde", rename_all = "lowercase")]
//! #[schemars(crate = "rustchain::schemars")]
//! pub enum Units {
//!     /// Degrees Celsius.
//!     Celsius,
//!     /// Degrees Fahrenheit.
//!     Fahrenheit,
//! }
//!
//! /// Tells the temperature of a comfortable room.
//! #[tool(read_only)]
//! fn room_temperature(
//!     /// The units of the answer.
//!     units: Units,
//! ) -> f64 {
//!     match units {
//!         Units::Celsius => 20.0,
//!         Units::Fahrenheit => 68.0,
//!     }
//! }
//!
//! fn main() {
//!     let executor = Executor::new(Registry::global());
//!     let args = r#"{"units": "fahrenheit"}"#;
//!     let out = executor.call_blocking("room_temperature", args, ToolContext::new()).unwrap();
//!     assert_eq!(out.as_json(), "68.0");
//! }
//! ```

#[cfg(feature = "cli")]
pub mod cli;

pub use rustchain_core::{
    Annotations, ArgLimits, Caller, CancellationToken, DuplicateTool, ErrorKind, Invoke, ParamInfo,
    Permission, PermissionKind, Progress, ProgressSink, RUSTCHAIN_TOOL_DESCRIPTORS, Registry,
    SourceLocation, Tool, ToolContext, ToolDescriptor, ToolError, ToolFuture, ToolMatch,
    ToolOutput, ToolQuery, files, guard, registered, schema,
};

/// The MCP server over the linked tools ([`mcp::serve_stdio`]); the `mcp`
/// feature turns it on, and with `cli` adds `rustchain mcp serve`.
#[cfg(feature = "mcp")]
pub use rustchain_mcp as mcp;

pub use rustchain_macros::tool;
#[cfg(feature = "runtime")]
pub use rustchain_tools::{
    Executor, ExecutorBuilder, Manifest, Policy, PolicyError, ToolManifest, audit, docs, exec,
    formats, fs, lock, manifest, mission, policy, scan, search,
};

/// What code generated by `#[tool]` refers to. Not a public API.
#[doc(hidden)]
pub use rustchain_core::__private;

/// The built-in tools (`fs_*`, `http_request`, `cmd_run`, `text_stats`,
/// `time_now`); the `builtin` feature links them into the program.
#[cfg(feature = "builtin")]
pub use rustchain_builtin as builtin;

/// serde, for a tool crate's own types: `#[serde(crate = "rustchain::serde")]`.
pub use serde;

/// schemars, for a tool crate's own types: `#[schemars(crate = "rustchain::schemars")]`.
pub use schemars;
