//! The static description of one tool, emitted by `#[tool]` at compile time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use schemars::Schema;

use crate::{ToolContext, ToolError, ToolOutput};

/// Everything the runtime knows about one tool, as a `static` the `#[tool]`
/// macro places in the link-time slice [`RUSTCHAIN_TOOL_DESCRIPTORS`](crate::RUSTCHAIN_TOOL_DESCRIPTORS).
///
/// Hand-written descriptors are possible but unusual; the macro guarantees
/// the invariants (portable name, described parameters, schema in parameter order).
#[derive(Debug)]
pub struct ToolDescriptor {
    /// The tool's name, as models call it: `^[A-Za-z][A-Za-z0-9_-]{0,63}$`.
    pub name: &'static str,
    /// A short human-readable title, if the author gave one.
    pub title: Option<&'static str>,
    /// What the tool does, from its doc comment (or `description = "..."`).
    pub description: &'static str,
    /// Behaviour hints for clients (MCP tool annotations).
    pub annotations: Annotations,
    /// Free-form labels used by search and filters.
    pub tags: &'static [&'static str],
    /// What the tool declares it will touch; empty for pure computation.
    pub permissions: &'static [Permission],
    /// The tool's own timeout, if it declared one.
    pub timeout: Option<Duration>,
    /// The parameters the model fills in, in declaration order.
    pub params: &'static [ParamInfo],
    /// Where the tool was defined.
    pub source: SourceLocation,
    /// Builds the input schema (JSON Schema 2020-12) from `params`; the
    /// registry caches it. The macro points it at the shared generic builder
    /// for the tool's parameter types, so no function is generated per tool.
    pub input_schema: fn(&'static [ParamInfo]) -> Schema,
    /// Builds the output schema; the registry caches it (the shared generic
    /// builder for the return type).
    pub output_schema: fn() -> Schema,
    /// Decodes arguments and runs the tool.
    pub invoke: Invoke,
}

/// MCP-style behaviour hints. `None` means the author did not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// The tool does not modify its environment.
    #[serde(rename = "readOnlyHint", skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(rename = "destructiveHint", skip_serializing_if = "Option::is_none")]
    pub destructive: Option<bool>,
    /// Calling the tool again with the same arguments has no further effect.
    #[serde(rename = "idempotentHint", skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// The tool talks to an open world of external entities.
    #[serde(rename = "openWorldHint", skip_serializing_if = "Option::is_none")]
    pub open_world: Option<bool>,
}

impl Annotations {
    /// Annotations with no hint set.
    pub const NONE: Annotations = Annotations {
        read_only: None,
        destructive: None,
        idempotent: None,
        open_world: None,
    };
}

/// Something a tool declares it will touch, named after the parameter that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Permission {
    /// What kind of resource.
    pub kind: PermissionKind,
    /// The parameter whose value names the resource.
    pub param: &'static str,
}

/// The kinds of resource a tool can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PermissionKind {
    /// Reads files under a path.
    FsRead,
    /// Writes files under a path.
    FsWrite,
    /// Connects to a network host.
    Net,
    /// Runs a program.
    Run,
    /// Arguments for the program named by the tool's `#[run]` parameter.
    RunArgs,
    /// Reads an environment variable.
    Env,
}

/// One parameter of a tool, as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamInfo {
    /// The argument's name in the JSON object.
    pub name: &'static str,
    /// What the parameter means, from its `///` comment.
    pub description: &'static str,
    /// Whether the model must supply it (everything but `Option<T>`).
    pub required: bool,
}

/// Where a tool was defined: the crate and the source position of `#[tool]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SourceLocation {
    /// The defining crate's package name.
    pub crate_name: &'static str,
    /// The defining crate's version.
    pub crate_version: &'static str,
    /// The Rust module path of the tool function.
    pub module_path: &'static str,
    /// The source file, as `file!()` names it.
    pub file: &'static str,
    /// The line of the tool function.
    pub line: u32,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} at {}:{}",
            self.crate_name, self.crate_version, self.file, self.line
        )
    }
}

/// A running asynchronous tool call.
pub type ToolFuture<'a> = Pin<Box<dyn Future<Output = Result<ToolOutput, ToolError>> + Send + 'a>>;

/// How to run a tool: decode the argument text once into typed values, then
/// call the function. Decoding failures come back before anything runs.
#[derive(Clone, Copy)]
pub enum Invoke {
    /// A plain function; runs on the caller's thread.
    Sync(fn(&ToolContext, &str) -> Result<ToolOutput, ToolError>),
    /// An `async fn`; the arguments are decoded before the future is made.
    Async(for<'a> fn(&'a ToolContext, &'a str) -> Result<ToolFuture<'a>, ToolError>),
    /// A tool registered at run time: the registry holds its
    /// [`ToolExecutor`](crate::registered::ToolExecutor), and the executor
    /// checks its declared argument paths before calling it.
    Registered,
}

impl Invoke {
    /// Whether the tool runs as a future (an `async fn`, or any run-time tool).
    pub fn is_async(&self) -> bool {
        matches!(self, Invoke::Async(_) | Invoke::Registered)
    }
}

impl std::fmt::Debug for Invoke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Invoke::Sync(_) => "Invoke::Sync",
            Invoke::Async(_) => "Invoke::Async",
            Invoke::Registered => "Invoke::Registered",
        })
    }
}
