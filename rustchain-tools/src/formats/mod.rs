//! Tool definitions in each provider's format, and adapters that run a
//! provider's tool calls and answer in its format.
//!
//! Every format is a transform of the canonical input schema (JSON Schema
//! 2020-12, [`ToolManifest::input_schema`]) that satisfies that provider's
//! rules; the rules each transform implements are written on its module:
//!
//! | [`Format`] | what it gives | module |
//! |---|---|---|
//! | `json-schema` | the canonical 2020-12 schema, unchanged | [`json_schema`] |
//! | `openai` | a Chat Completions function tool (or the Responses API's flat one) | [`openai`] |
//! | `openai-strict` | the same with `strict: true`, or `strict: false` and a [`FormatWarning`] when the tool cannot be strict | [`openai`] |
//! | `anthropic` | a Messages API tool with `input_schema` | [`anthropic`] |
//! | `gemini` | a function declaration with `parameters_json_schema` (or the OpenAPI-subset `parameters`) | [`gemini`] |
//! | `mcp` | an MCP `Tool` object, as `tools/list` lists it | [`mcp`] |
//!
//! ```
//! use rustchain_tools::formats::{Format, FormatOptions, tool_definition};
//! use rustchain_tools::{Registry, ToolManifest};
//!
//! for tool in Registry::global().tools() {
//!     let manifest = ToolManifest::of(tool);
//!     let openai = tool_definition(&manifest, Format::OpenAiStrict, &FormatOptions::default());
//!     assert_eq!(openai.value["function"]["name"], manifest.name.as_str());
//! }
//! ```
//!
//! The other direction is in [`calls`]: a provider's tool call (an OpenAI
//! `tool_calls` entry, a Responses `function_call` item, an Anthropic
//! `tool_use` block, a Gemini `functionCall` part) becomes a [`ToolCall`],
//! runs through an [`Executor`](crate::Executor), and its result becomes that
//! provider's tool-result message.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::{Manifest, ToolManifest};

pub mod anthropic;
pub mod calls;
pub mod gemini;
pub mod json_schema;
pub mod mcp;
pub mod openai;
mod openai_strict;
mod walk;

pub use calls::{CallFormatError, CallFormatErrorKind, Provider, ToolCall};

/// A provider's tool-definition format, as `tools schema --format` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The canonical JSON Schema 2020-12 of the tool's arguments (`json-schema`).
    ///
    /// Not named `JsonSchema`: a second public item of that name would make
    /// rustc spell schemars' trait in full in every diagnostic a tool author sees.
    Canonical,
    /// An OpenAI function tool, not strict (`openai`).
    OpenAi,
    /// An OpenAI function tool in strict mode where the schema allows it (`openai-strict`).
    OpenAiStrict,
    /// An Anthropic Messages API tool (`anthropic`).
    Anthropic,
    /// A Gemini function declaration (`gemini`).
    Gemini,
    /// An MCP `Tool` object (`mcp`).
    Mcp,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 6] = [
        Format::Canonical,
        Format::OpenAi,
        Format::OpenAiStrict,
        Format::Anthropic,
        Format::Gemini,
        Format::Mcp,
    ];

    /// The format's name on the command line (`openai-strict`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Canonical => "json-schema",
            Format::OpenAi => "openai",
            Format::OpenAiStrict => "openai-strict",
            Format::Anthropic => "anthropic",
            Format::Gemini => "gemini",
            Format::Mcp => "mcp",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Reads a format's name as [`Format::as_str`] writes it.
    ///
    /// ```
    /// use rustchain_tools::formats::Format;
    /// assert_eq!("openai-strict".parse(), Ok(Format::OpenAiStrict));
    /// assert!("openapi".parse::<Format>().is_err());
    /// ```
    fn from_str(name: &str) -> Result<Format, UnknownFormat> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == name)
            .ok_or_else(|| UnknownFormat(name.to_owned()))
    }
}

/// A format name that is none of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown format `{0}`; the formats are json-schema, openai, openai-strict, anthropic, gemini and mcp"
)]
pub struct UnknownFormat(pub String);

/// Which OpenAI API a definition is for: they nest a function tool differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum OpenAiApi {
    /// Chat Completions: `{"type": "function", "function": {"name", "description", "parameters", "strict"}}`.
    #[default]
    ChatCompletions,
    /// Responses: the same fields flat, `{"type": "function", "name", ..., "strict"}`.
    /// `strict` is always written, as this API takes a missing one as `true`.
    Responses,
}

/// Which of Gemini's two parameter fields a declaration fills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum GeminiParameters {
    /// `parameters_json_schema`: JSON Schema, which Gemini prefers.
    #[default]
    Json,
    /// `parameters`: the older OpenAPI 3.0 subset (upper-case types, `nullable`, no `$ref`).
    OpenApi,
}

/// Choices a format leaves open; the default suits most callers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FormatOptions {
    /// For `openai` and `openai-strict`: Chat Completions (default) or Responses.
    pub openai_api: OpenAiApi,
    /// For `gemini`: `parameters_json_schema` (default) or the OpenAPI-subset `parameters`.
    pub gemini_parameters: GeminiParameters,
}

/// One tool's definition in one format, and what the format could not say.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    /// The tool's name.
    pub name: String,
    /// The format of `value`.
    pub format: Format,
    /// The definition, ready to put in the provider's `tools` list (for
    /// `json-schema`, the schema itself).
    pub value: Value,
    /// What the format could not express for this tool; empty when nothing was lost.
    pub warnings: Vec<FormatWarning>,
}

/// Something a format could not express for a tool, said rather than hidden.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{tool}`: {message}")]
pub struct FormatWarning {
    kind: FormatWarningKind,
    tool: String,
    message: String,
}

/// What kind of thing a format had to give up, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FormatWarningKind {
    /// `openai-strict`: the schema cannot be strict (a free-form map, any
    /// JSON value, a tuple, ...), so the definition says `strict: false`.
    NotStrict,
    /// A constraint the format cannot state was left out (Gemini's OpenAPI
    /// subset has no maps and no recursion, say); the decoder still enforces it.
    Lossy,
}

impl FormatWarning {
    pub(crate) fn new(kind: FormatWarningKind, tool: &str, message: impl Into<String>) -> Self {
        FormatWarning {
            kind,
            tool: tool.to_owned(),
            message: message.into(),
        }
    }

    /// What kind of thing was given up.
    pub fn kind(&self) -> FormatWarningKind {
        self.kind
    }

    /// The tool it concerns.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// What was given up and why, for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The definition of `tool` in `format`.
///
/// ```
/// use rustchain_tools::formats::{Format, FormatOptions, tool_definition};
/// use rustchain_tools::Manifest;
///
/// let manifest: Manifest = serde_json::from_value(serde_json::json!({"format": 1, "tools": []})).unwrap();
/// assert!(manifest.tools.iter().all(|tool| {
///     tool_definition(tool, Format::Anthropic, &FormatOptions::default()).value["name"] == tool.name.as_str()
/// }));
/// ```
pub fn tool_definition(
    tool: &ToolManifest,
    format: Format,
    options: &FormatOptions,
) -> ToolDefinition {
    let (value, warnings) = match format {
        Format::Canonical => (json_schema::definition(tool), Vec::new()),
        Format::OpenAi => openai::definition(tool, false, options.openai_api),
        Format::OpenAiStrict => openai::definition(tool, true, options.openai_api),
        Format::Anthropic => (anthropic::definition(tool), Vec::new()),
        Format::Gemini => gemini::definition(tool, options.gemini_parameters),
        Format::Mcp => (mcp::definition(tool), Vec::new()),
    };
    ToolDefinition {
        name: tool.name.clone(),
        format,
        value,
        warnings,
    }
}

/// The definitions of every tool in `manifest`, in its (name) order.
pub fn tool_definitions(
    manifest: &Manifest,
    format: Format,
    options: &FormatOptions,
) -> Vec<ToolDefinition> {
    manifest
        .tools
        .iter()
        .map(|tool| tool_definition(tool, format, options))
        .collect()
}

/// The input schema without `$schema`: providers other than MCP take the
/// 2020-12 dialect as given, and several refuse the keyword.
fn parameters_of(tool: &ToolManifest) -> Value {
    let mut schema = tool.input_schema.as_value().clone();
    if let Value::Object(object) = &mut schema {
        object.shift_remove("$schema");
    }
    schema
}
