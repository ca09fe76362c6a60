//! Tools registered at run time: a remote server's tools behind a gateway, a
//! closure in a test. They carry the same data as a linked tool's descriptor
//! and go through the same lookup, executor, policy, guards, approval,
//! limits, audit, metrics, discovery and listings.
//!
//! ```
//! use rustchain_core::{Registry, ToolContext, ToolError};
//! use rustchain_core::registered::{FnTool, ToolSpec};
//!
//! let registry = Box::leak(Box::new(Registry::build([]).unwrap()));
//! let spec = ToolSpec::new("shout", "Says the text louder.")
//!     .input_schema(serde_json::json!({
//!         "type": "object",
//!         "properties": {"text": {"type": "string", "description": "What to say."}},
//!         "required": ["text"],
//!         "additionalProperties": false
//!     }))
//!     .unwrap();
//! registry
//!     .register_tool(Box::new(FnTool::new(spec, |_ctx: &ToolContext, args: serde_json::Value| {
//!         let text = args["text"].as_str().unwrap_or_default();
//!         Ok::<_, ToolError>(serde_json::json!(text.to_uppercase()))
//!     })))
//!     .unwrap();
//! let shout = registry.get("shout").unwrap();
//! assert!(shout.is_registered());
//! assert_eq!(shout.descriptor().description, "Says the text louder.");
//! // The runtime's `Executor::new(registry)` calls it like a linked tool.
//! ```

use std::time::Duration;

use schemars::Schema;

use crate::descriptor::{Annotations, Invoke, ParamInfo, Permission, PermissionKind};
use crate::guard::Guarded;
use crate::{SourceLocation, ToolContext, ToolDescriptor, ToolError, ToolFuture, ToolOutput};

/// A tool registered at run time: its description, and an async call on the
/// argument text (a JSON object), like a linked tool's.
///
/// The executor checks the policy, the declared permissions
/// ([`ToolSpec::permission`]), approval and limits before `call`, and
/// records the call; `call` itself should check the arguments against its
/// own schema (a remote server does).
pub trait ToolExecutor: Send + Sync + 'static {
    /// What the tool is, as models and the policy see it.
    fn spec(&self) -> &ToolSpec;

    /// Runs the tool on `args`, a JSON object's text already checked to be one.
    fn call<'a>(&'a self, ctx: &'a ToolContext, args: &'a str) -> ToolFuture<'a>;
}

/// What a run-time tool is: the same data a linked tool's descriptor holds.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: String,
    pub(crate) input_schema: Schema,
    pub(crate) output_schema: Schema,
    pub(crate) annotations: Annotations,
    pub(crate) tags: Vec<String>,
    pub(crate) permissions: Vec<ArgPermission>,
    pub(crate) timeout: Option<Duration>,
}

/// A value in a run-time tool's arguments that names something it will
/// touch: the argument at `pointer` (RFC 6901, e.g. `/path`) is checked as
/// `kind`, just as `#[fs(read)] path` is for a linked tool. A string, or an
/// array of strings; an absent value is not checked (nothing will be touched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgPermission {
    /// What the value will be used for.
    pub kind: PermissionKind,
    /// Where the value is in the arguments (JSON Pointer).
    pub pointer: String,
}

impl ToolSpec {
    /// A tool called `name` that does what `description` says; it takes an
    /// empty object until [`ToolSpec::input_schema`] says otherwise.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            title: None,
            description: description.into(),
            input_schema: object_schema(serde_json::json!({
                "type": "object", "properties": {}, "additionalProperties": false
            })),
            output_schema: Schema::default(),
            annotations: Annotations::NONE,
            tags: Vec::new(),
            permissions: Vec::new(),
            timeout: None,
        }
    }

    /// The arguments' JSON Schema; its root must be an object schema.
    pub fn input_schema(mut self, schema: serde_json::Value) -> Result<ToolSpec, RegisterError> {
        if schema.get("type").and_then(|t| t.as_str()) != Some("object") {
            return Err(RegisterError::Schema(format!(
                "the input schema of `{}` must have \"type\": \"object\" at its root",
                self.name
            )));
        }
        self.input_schema = object_schema(schema);
        Ok(self)
    }

    /// The result's JSON Schema (default: any JSON value).
    pub fn output_schema(mut self, schema: serde_json::Value) -> Result<ToolSpec, RegisterError> {
        self.output_schema = Schema::try_from(schema).map_err(|_| {
            RegisterError::Schema(format!(
                "the output schema of `{}` is not a JSON Schema (an object or a boolean)",
                self.name
            ))
        })?;
        Ok(self)
    }

    /// A short title for people.
    pub fn title(mut self, title: impl Into<String>) -> ToolSpec {
        self.title = Some(title.into());
        self
    }

    /// Behaviour hints for clients.
    pub fn annotations(mut self, annotations: Annotations) -> ToolSpec {
        self.annotations = annotations;
        self
    }

    /// Labels for search and filters.
    pub fn tags<I, S>(mut self, tags: I) -> ToolSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Declares that the argument at `pointer` (e.g. `/path`) is used as `kind`.
    pub fn permission(mut self, kind: PermissionKind, pointer: impl Into<String>) -> ToolSpec {
        self.permissions.push(ArgPermission {
            kind,
            pointer: pointer.into(),
        });
        self
    }

    /// The tool's own timeout (the policy's limits may override it).
    pub fn timeout(mut self, timeout: Duration) -> ToolSpec {
        self.timeout = Some(timeout);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every problem with this spec a registration would refuse.
    fn validate(&self) -> Result<(), RegisterError> {
        if !crate::registered::is_portable_name(&self.name) {
            return Err(RegisterError::Name(format!(
                "`{}` is not a portable tool name: use 1 to 64 ASCII letters, digits, `_` or `-`, starting with a letter",
                crate::suggest::shown(&self.name)
            )));
        }
        if self.description.trim().is_empty() {
            return Err(RegisterError::Schema(format!(
                "`{}` has no description; models choose tools by it",
                self.name
            )));
        }
        for permission in &self.permissions {
            let valid = permission.pointer.starts_with('/') && !permission.pointer[1..].is_empty();
            if !valid {
                return Err(RegisterError::Permission(format!(
                    "the permission pointer {:?} of `{}` must be a JSON Pointer to an argument, like \"/path\"",
                    permission.pointer, self.name
                )));
            }
        }
        Ok(())
    }
}

fn object_schema(value: serde_json::Value) -> Schema {
    Schema::try_from(value).expect("an object is a JSON Schema")
}

/// `^[A-Za-z][A-Za-z0-9_-]{0,63}$`: what every provider accepts.
fn is_portable_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

/// Why a run-time tool was not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// Another tool, linked or registered, has the name.
    Duplicate(Box<crate::DuplicateTool>),
    /// The name is not portable across providers.
    Name(String),
    /// The description or a schema is unusable.
    Schema(String),
    /// A declared permission does not point at an argument.
    Permission(String),
}

// Written out rather than derived: the core keeps its build small (no
// thiserror), and each variant's message is its text.
impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterError::Duplicate(duplicate) => duplicate.fmt(f),
            RegisterError::Name(message)
            | RegisterError::Schema(message)
            | RegisterError::Permission(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for RegisterError {}

/// A synchronous closure as a run-time tool: it gets the arguments parsed
/// and returns a JSON value.
pub struct FnTool<F> {
    spec: ToolSpec,
    run: F,
}

impl<F> FnTool<F>
where
    F: Fn(&ToolContext, serde_json::Value) -> Result<serde_json::Value, ToolError>
        + Send
        + Sync
        + 'static,
{
    /// The tool `spec` that runs `run`.
    pub fn new(spec: ToolSpec, run: F) -> Self {
        FnTool { spec, run }
    }
}

impl<F> ToolExecutor for FnTool<F>
where
    F: Fn(&ToolContext, serde_json::Value) -> Result<serde_json::Value, ToolError>
        + Send
        + Sync
        + 'static,
{
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call<'a>(&'a self, ctx: &'a ToolContext, args: &'a str) -> ToolFuture<'a> {
        Box::pin(async move {
            let args = serde_json::from_str(args).map_err(|err| {
                ToolError::new(
                    crate::ErrorKind::InvalidArguments,
                    format!("the arguments are not JSON: {err}"),
                )
            })?;
            let value = (self.run)(ctx, args)?;
            ToolOutput::encode(&value)
        })
    }
}

/// A registered tool as the registry keeps it: a descriptor like a linked
/// tool's (so listings, policy, metrics and audit treat both alike), its
/// schemas, and its executor. Kept for the life of the program, like a
/// linked tool's static descriptor. Not a public API: the runtime's
/// executor reads it.
#[doc(hidden)]
pub struct RegisteredTool {
    pub(crate) descriptor: &'static ToolDescriptor,
    pub(crate) input_schema: Schema,
    pub(crate) output_schema: Schema,
    pub(crate) executor: Box<dyn ToolExecutor>,
}

impl RegisteredTool {
    /// Checks `executor`'s spec and builds the descriptor the registry keeps.
    /// `source` is where the registration was made.
    pub(crate) fn new(
        executor: Box<dyn ToolExecutor>,
        source: &'static std::panic::Location<'static>,
    ) -> Result<RegisteredTool, RegisterError> {
        let spec = executor.spec();
        spec.validate()?;
        let leak = |text: &str| -> &'static str { Box::leak(text.to_owned().into_boxed_str()) };
        let params = params_of(&spec.input_schema, leak);
        let descriptor = ToolDescriptor {
            name: leak(&spec.name),
            title: spec.title.as_deref().map(leak),
            description: leak(&spec.description),
            annotations: spec.annotations,
            tags: Box::leak(spec.tags.iter().map(|t| leak(t)).collect()),
            permissions: Box::leak(
                spec.permissions
                    .iter()
                    .map(|p| Permission {
                        kind: p.kind,
                        param: leak(&p.pointer),
                    })
                    .collect(),
            ),
            timeout: spec.timeout,
            params: Box::leak(params.into_boxed_slice()),
            source: source_of(source),
            input_schema: |_| Schema::default(),
            output_schema: Schema::default,
            invoke: Invoke::Registered,
        };
        Ok(RegisteredTool {
            descriptor: Box::leak(Box::new(descriptor)),
            input_schema: spec.input_schema.clone(),
            output_schema: spec.output_schema.clone(),
            executor,
        })
    }
}

/// Where a tool was registered, as a source location listings can show.
pub(crate) fn source_of(registration: &'static std::panic::Location<'static>) -> SourceLocation {
    SourceLocation {
        crate_name: "registered at run time",
        crate_version: "",
        module_path: "",
        file: registration.file(),
        line: registration.line(),
    }
}

/// The parameters a schema's top-level `properties` describe, in order.
fn params_of(schema: &Schema, leak: impl Fn(&str) -> &'static str) -> Vec<ParamInfo> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|names| names.iter().filter_map(|n| n.as_str()).collect())
        .unwrap_or_default();
    schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| ParamInfo {
                    name: leak(name),
                    description: leak(
                        property
                            .get("description")
                            .and_then(|d| d.as_str())
                            .unwrap_or_default(),
                    ),
                    required: required.contains(&name.as_str()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What generated code does for a linked tool before its body, done for a
/// registered one: the arguments must be a JSON object, and each declared
/// value is checked by the call's gate; then, in the future, approval and
/// limits, and the tool's own call. Not a public API: the runtime's
/// executor calls it.
#[doc(hidden)]
pub fn start<'a>(
    tool: &'static RegisteredTool,
    ctx: &'a ToolContext,
    args: &'a str,
) -> Result<ToolFuture<'a>, ToolError> {
    let parsed: serde_json::Value = serde_json::from_str(args).map_err(|err| {
        ToolError::new(
            crate::ErrorKind::InvalidArguments,
            format!("the arguments are not JSON: {err}"),
        )
    })?;
    if !parsed.is_object() {
        return Err(ToolError::new(
            crate::ErrorKind::InvalidArguments,
            "the arguments must be a JSON object",
        ));
    }
    let permissions = tool.descriptor.permissions;
    let values = permissions
        .iter()
        .map(|permission| values_at(&parsed, permission.param))
        .collect::<Result<Vec<_>, _>>()?;
    let guarded: Vec<Guarded<'_>> = permissions
        .iter()
        .zip(&values)
        .map(|(permission, value)| Guarded {
            kind: permission.kind,
            param: permission.param,
            value,
        })
        .collect();
    ctx.__check(&guarded)?;
    Ok(Box::pin(async move {
        ctx.__proceed_async().await?;
        tool.executor.call(ctx, args).await
    }))
}

/// The strings at `pointer`: none when absent, one for a string, each of an
/// array of strings. Anything else cannot be checked, so it is refused.
fn values_at(args: &serde_json::Value, pointer: &str) -> Result<Vec<String>, ToolError> {
    let wrong = || {
        ToolError::invalid_argument(
            pointer.trim_start_matches('/').replace('/', "."),
            format!("the argument at `{pointer}` must be a string or a list of strings"),
        )
    };
    match args.pointer(pointer) {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::String(value)) => Ok(vec![value.clone()]),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}
