//! Built-in tools of RustChain Tools, each written with `#[tool]` like any user's tool.
//!
//! Files (`fs_read`, `fs_write`, `fs_edit`, `fs_delete`, `fs_list`,
//! `fs_search`), HTTP (`http_request`) and commands (`cmd_run`) confine
//! themselves with real mechanisms on top of the policy's guards: capability
//! handles on the granted roots, a resolver that checks every address, a
//! shell-less runner in a kernel sandbox (Landlock, its own mount, PID and
//! network namespaces) that holds everything the program starts to the policy. `text_stats`
//! and `time_now` are pure; `tool_search` finds tools for a model (ranked
//! search over the executor's registry, leaving out what the policy denies). A program links them with `use rustchain_builtin as _;`.

mod cmd;
mod discovery;
mod fs;
pub mod http;
mod text;
mod time;

pub use text::TextStats;

/// Names this crate so a program links it: `rustchain_builtin::link()`
/// (or `use rustchain_builtin as _;`) keeps its tools in the registry.
pub fn link() {}
