//! The RustChain MCP server: the linked tools over the Model Context Protocol,
//! under the same policy, approval and audit trail as every other front end.
//!
//! It only translates: `tools/list` is the runtime's [`Manifest`] of the
//! tools the policy lets run, `tools/call` is one [`Executor::call`], and the
//! request's cancellation, progress token, id and client name become the
//! call's [`ToolContext`]. The protocol itself (both handshake revisions,
//! 2025-06-18 and 2025-11-25, and the stateless 2026-07-28 revision) is the
//! official Rust SDK, `rmcp`.
//!
//! A program that links its own tool crates serves them with one call:
//!
//! ```no_run
//! // use my_tools as _;   // link the tool crates to serve
//! use rustchain_tools::exec::Settings;
//!
//! fn main() -> Result<(), rustchain_mcp::ServeError> {
//!     // ./rustchain.toml (or $RUSTCHAIN_POLICY) and the default audit trail
//!     rustchain_mcp::serve_stdio(Settings::from_env())
//! }
//! ```
//!
//! or, to choose the executor and the streams, builds an [`McpServer`]:
//!
//! ```
//! use rustchain_mcp::McpServer;
//! use rustchain_tools::{Executor, Registry};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), rustchain_mcp::ServeError> {
//! let server = McpServer::new(Executor::new(Registry::global())).page_size(20);
//! // Serves until the input ends; here it is already empty.
//! server.serve(tokio::io::empty(), tokio::io::sink()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Protocol messages go to the writer (stdout) and nothing else does: the
//! server itself logs only through `tracing`, which a program sends to stderr.
//!
//! [`Manifest`]: rustchain_tools::Manifest
//! [`Executor::call`]: rustchain_tools::Executor::call
//! [`ToolContext`]: rustchain_tools::ToolContext

mod approval;
mod call;
mod error;
mod fast_call;
mod http;
mod listing;
mod request_state;
mod serve;
mod server;
#[cfg(unix)]
mod stdout_guard;
mod transport;

pub use approval::ClientApprover;
pub use error::{ServeError, ServeErrorKind};
pub use http::{BearerToken, HttpAccess, MCP_PATH, TOKEN_ENV};
pub use request_state::{STATE_KEY_ENV, StateKey};
pub use serve::serve_stdio;
pub use server::{DEFAULT_PAGE_SIZE, McpServer};
