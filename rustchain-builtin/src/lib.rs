//! Built-in tools of RustChain Tools, each written with `#[tool]` like any user's tool.
//!
//! For now two small demonstration tools; the file, HTTP and command tools
//! come with their own confinement (see the project's issues).

mod cmd;
mod fs;
pub mod http;
mod text;
mod time;

pub use text::TextStats;

/// Names this crate so a program links it: `rustchain_builtin::link()`
/// (or `use rustchain_builtin as _;`) keeps its tools in the registry.
pub fn link() {}
