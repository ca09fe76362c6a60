//! The RustChain runtime: what runs tools, over the core a tool crate compiles.
//!
//! Tools are plain functions marked `#[tool]` (from the `rustchain` crate).
//! The attribute places a static [`ToolDescriptor`] in the link-time slice
//! [`RUSTCHAIN_TOOL_DESCRIPTORS`](static@RUSTCHAIN_TOOL_DESCRIPTORS); [`Registry::global`] indexes every linked
//! tool on first use (those live in `rustchain-core`, re-exported here at the
//! same paths); an [`Executor`] calls a tool by name with JSON arguments,
//! under a [`Policy`], recording every call in an [`audit`] trail.
//!
//! Most users depend on the `rustchain` facade crate, which re-exports this
//! one under its `runtime` feature.
//! A tool touches files through [`ToolContext::fs`] ([`fs`]), never `std::fs`.

// clippy.toml bans path-based file access; only `fs` enforces it (`deny`
// there), as the policy and the audit trail open their own files by design.
#![allow(clippy::disallowed_methods)]

pub mod audit;
pub mod docs;
pub mod exec;
pub mod formats;
pub mod fs;
pub mod lock;
pub mod manifest;
pub mod mission;
pub mod policy;
pub mod scan;
pub mod search;

// The core, at the paths it always had here: a tool crate compiles only
// `rustchain-core`, a program that runs tools this crate over it.
pub use rustchain_core::{
    __private, Annotations, ArgLimits, CallControl, Caller, CancellationToken, DuplicateTool,
    ErrorKind, Invoke, ParamInfo, Permission, PermissionKind, Progress, ProgressSink,
    RUSTCHAIN_TOOL_DESCRIPTORS, Registry, SourceLocation, Tool, ToolContext, ToolDescriptor,
    ToolError, ToolFuture, ToolMatch, ToolOutput, ToolQuery, files, guard, index, registered,
    schema, shown, suggest,
};

pub use exec::{Executor, ExecutorBuilder};
pub use manifest::{Manifest, ToolManifest};
pub use policy::{Policy, PolicyError};
