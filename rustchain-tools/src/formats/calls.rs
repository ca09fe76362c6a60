//! Tool-call adapters: a provider's tool call in, that provider's tool result out.
//!
//! [`Provider::parse_call`] reads one call (an OpenAI Chat `tool_calls`
//! entry, a Responses `function_call` item, an Anthropic `tool_use` block, a
//! Gemini `functionCall` part) into a [`ToolCall`]: the call's id, the tool's
//! name and the argument text. [`Provider::calls_in`] finds every call in a
//! whole assistant turn. [`Provider::result`] writes a call's outcome as the
//! message the provider expects back; [`run_blocking`] and [`run`] do all
//! three through an [`Executor`], so the call goes through policy, guards,
//! timeout and audit like any other:
//!
//! ```
//! use rustchain_tools::formats::{Provider, calls};
//! use rustchain_tools::{Executor, Registry};
//!
//! let executor = Executor::new(Registry::global());
//! let tool_use = serde_json::json!({
//!     "type": "tool_use", "id": "toolu_01", "name": "no_such_tool", "input": {}
//! });
//! let reply = calls::run_blocking(&executor, Provider::Anthropic, &tool_use).unwrap();
//! assert_eq!(reply["type"], "tool_result");
//! assert_eq!(reply["tool_use_id"], "toolu_01");
//! assert_eq!(reply["is_error"], true);
//! ```
//!
//! Only the envelope is checked here, with a [`CallFormatError`] when it is
//! not the provider's shape. Arguments are passed on as text, even when they
//! are not JSON or not an object: the executor refuses them with an
//! `invalid_arguments` error that goes back to the model, which can correct
//! its call, and the refusal is in the audit trail.

use std::fmt;

use serde_json::{Map, Value};

use super::{anthropic, gemini, openai};
use crate::{Executor, ToolContext, ToolError, ToolOutput};

/// A provider's wire format for tool calls and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// OpenAI Chat Completions: `tool_calls` entries in, `tool` role messages out.
    OpenAiChat,
    /// OpenAI Responses: `function_call` items in, `function_call_output` items out.
    OpenAiResponses,
    /// Anthropic Messages: `tool_use` blocks in, `tool_result` blocks out.
    Anthropic,
    /// Gemini: `functionCall` parts in, `functionResponse` parts out.
    Gemini,
}

/// One tool call as a provider sent it, ready for the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The provider's id for the call, which the result must name; Gemini may send none.
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The arguments as JSON text (OpenAI sends text; an Anthropic `input` or
    /// a Gemini `args` object is written out as text).
    pub arguments: String,
}

/// Why a provider payload is not a tool call of that provider's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CallFormatError {
    kind: CallFormatErrorKind,
    message: String,
}

/// What is wrong with a provider payload, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallFormatErrorKind {
    /// The payload is not a JSON object (or the list it must be).
    NotAnObject,
    /// It is another kind of item or block (its `type` names something else).
    NotAToolCall,
    /// A field the provider always sends is missing.
    MissingField,
    /// A field has the wrong JSON type (OpenAI's `arguments` not a string, say).
    WrongType,
}

impl CallFormatError {
    pub(crate) fn new(kind: CallFormatErrorKind, message: impl Into<String>) -> Self {
        CallFormatError {
            kind,
            message: message.into(),
        }
    }

    /// What is wrong, to branch on.
    pub fn kind(&self) -> CallFormatErrorKind {
        self.kind
    }

    /// What is wrong, for people, naming the field.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::OpenAiChat => "OpenAI Chat Completions",
            Provider::OpenAiResponses => "OpenAI Responses",
            Provider::Anthropic => "Anthropic",
            Provider::Gemini => "Gemini",
        })
    }
}

impl Provider {
    /// Reads one tool call in this provider's shape.
    ///
    /// ```
    /// use rustchain_tools::formats::{Provider, ToolCall};
    ///
    /// let entry = serde_json::json!({
    ///     "id": "call_abc", "type": "function",
    ///     "function": {"name": "add", "arguments": "{\"a\": 1, \"b\": 2}"}
    /// });
    /// assert_eq!(
    ///     Provider::OpenAiChat.parse_call(&entry),
    ///     Ok(ToolCall { id: Some("call_abc".into()), name: "add".into(), arguments: "{\"a\": 1, \"b\": 2}".into() })
    /// );
    /// ```
    pub fn parse_call(self, item: &Value) -> Result<ToolCall, CallFormatError> {
        match self {
            Provider::OpenAiChat => openai::parse_chat_call(item),
            Provider::OpenAiResponses => openai::parse_responses_call(item),
            Provider::Anthropic => anthropic::parse_call(item),
            Provider::Gemini => gemini::parse_call(item),
        }
    }

    /// Every tool call in one assistant turn, in order: an OpenAI Chat
    /// assistant message (its `tool_calls`), a Responses response or its
    /// `output` list (its `function_call` items), an Anthropic message or its
    /// `content` list (its `tool_use` blocks), a Gemini content, candidate or
    /// `parts` list (its `functionCall` parts). Other items are skipped; a
    /// turn with no calls gives an empty list.
    pub fn calls_in(self, turn: &Value) -> Result<Vec<ToolCall>, CallFormatError> {
        match self {
            Provider::OpenAiChat => openai::chat_calls_in(turn),
            Provider::OpenAiResponses => openai::responses_calls_in(turn),
            Provider::Anthropic => anthropic::calls_in(turn),
            Provider::Gemini => gemini::calls_in(turn),
        }
    }

    /// The message that gives `call`'s outcome back to the model, in this
    /// provider's shape.
    ///
    /// A successful output is sent as its JSON text (a string output as the
    /// string itself); an error as [`error_text`]. Anthropic marks errors with
    /// `is_error: true`; Gemini puts the output under `response.output` and
    /// an error under `response.error`; OpenAI has no error flag, so the text
    /// says it.
    ///
    /// # Errors
    ///
    /// OpenAI results must name the call's id; a [`ToolCall`] without one
    /// (only Gemini sends none) is refused with
    /// [`CallFormatErrorKind::MissingField`].
    pub fn result(
        self,
        call: &ToolCall,
        outcome: &Result<ToolOutput, ToolError>,
    ) -> Result<Value, CallFormatError> {
        match self {
            Provider::OpenAiChat => openai::chat_result(call, outcome),
            Provider::OpenAiResponses => openai::responses_result(call, outcome),
            Provider::Anthropic => anthropic::result(call, outcome),
            Provider::Gemini => Ok(gemini::result(call, outcome)),
        }
    }
}

/// Parses `item` as `provider`'s tool call, runs it through `executor` and
/// answers in `provider`'s tool-result shape.
///
/// The call's id becomes the call id in the audit trail (a Gemini call
/// without one gets a fresh id). A call the executor refuses or that fails
/// is a result too, marked as an error; only a payload that is not a tool
/// call is an `Err`.
pub fn run_blocking(
    executor: &Executor,
    provider: Provider,
    item: &Value,
) -> Result<Value, CallFormatError> {
    let call = provider.parse_call(item)?;
    let outcome = executor.call_blocking(&call.name, &call.arguments, context(&call));
    provider.result(&call, &outcome)
}

/// [`run_blocking`] on tokio: the same, for async callers.
pub async fn run(
    executor: &Executor,
    provider: Provider,
    item: &Value,
) -> Result<Value, CallFormatError> {
    let call = provider.parse_call(item)?;
    let outcome = executor
        .call(&call.name, &call.arguments, context(&call))
        .await;
    provider.result(&call, &outcome)
}

fn context(call: &ToolCall) -> ToolContext {
    match &call.id {
        Some(id) => ToolContext::new().with_call_id(id),
        None => ToolContext::new(),
    }
}

/// A failed call as text for a model: `error[KIND]: MESSAGE`, and the
/// argument's path when one is known (`error[invalid_arguments]: ... (at
/// /city)`), as `tools call` prints it.
///
/// ```
/// use rustchain_tools::{ErrorKind, ToolError, formats::calls::error_text};
/// let err = ToolError::new(ErrorKind::Denied, "the policy does not allow `fs_write`");
/// assert_eq!(error_text(&err), "error[denied]: the policy does not allow `fs_write`");
/// ```
pub fn error_text(err: &ToolError) -> String {
    match err.path() {
        Some(path) => format!("error[{}]: {} (at {path})", err.kind(), err.message()),
        None => format!("error[{}]: {}", err.kind(), err.message()),
    }
}

/// A successful output as text: a string as itself, anything else as JSON.
pub(crate) fn output_text(output: &ToolOutput) -> String {
    match output.to_value() {
        Value::String(text) => text,
        _ => output.as_json().to_owned(),
    }
}

/// The object `value` is, or an error naming `what` it should be.
pub(crate) fn object<'a>(
    value: &'a Value,
    what: &str,
) -> Result<&'a Map<String, Value>, CallFormatError> {
    value.as_object().ok_or_else(|| {
        CallFormatError::new(
            CallFormatErrorKind::NotAnObject,
            format!("{what} must be a JSON object, not {}", kind_of(value)),
        )
    })
}

/// The string field `key` of `object`, or an error naming `what` it belongs to.
pub(crate) fn string_field(
    object: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<String, CallFormatError> {
    match object.get(key) {
        Some(Value::String(text)) => Ok(text.clone()),
        None | Some(Value::Null) => Err(CallFormatError::new(
            CallFormatErrorKind::MissingField,
            format!("{what} has no `{key}`"),
        )),
        Some(other) => Err(CallFormatError::new(
            CallFormatErrorKind::WrongType,
            format!("`{key}` of {what} must be a string, not {}", kind_of(other)),
        )),
    }
}

/// The optional string field `key` of `object`: absent or `null` is `None`.
pub(crate) fn optional_string_field(
    object: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<String>, CallFormatError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => string_field(object, key, what).map(Some),
    }
}

/// Checks that `object`'s `type` is `expected`.
pub(crate) fn expect_type(
    object: &Map<String, Value>,
    expected: &str,
    what: &str,
) -> Result<(), CallFormatError> {
    match object.get("type") {
        Some(Value::String(ty)) if ty == expected => Ok(()),
        Some(Value::String(ty)) => Err(CallFormatError::new(
            CallFormatErrorKind::NotAToolCall,
            format!("{what} must have type `{expected}`, not `{ty}`"),
        )),
        Some(other) => Err(CallFormatError::new(
            CallFormatErrorKind::WrongType,
            format!("`type` of {what} must be a string, not {}", kind_of(other)),
        )),
        None => Err(CallFormatError::new(
            CallFormatErrorKind::MissingField,
            format!("{what} has no `type` (expected `{expected}`)"),
        )),
    }
}

/// The list `value` is, or an error naming `what` it should be.
pub(crate) fn list<'a>(value: &'a Value, what: &str) -> Result<&'a [Value], CallFormatError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(CallFormatError::new(
            CallFormatErrorKind::WrongType,
            format!("{what} must be a list, not {}", kind_of(other)),
        )),
    }
}

/// An object-valued argument field (`input`, `args`) as argument text;
/// a missing or `null` one is `{}`, anything else is passed on for the
/// executor to refuse with a message the model can act on.
pub(crate) fn arguments_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(value) => value.to_string(),
    }
}

/// A JSON value's kind, for messages: "a number", "null", ...
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An OpenAI result needs the call's id.
pub(crate) fn required_id(call: &ToolCall, provider: Provider) -> Result<&str, CallFormatError> {
    call.id.as_deref().ok_or_else(|| {
        CallFormatError::new(
            CallFormatErrorKind::MissingField,
            format!(
                "a {provider} tool result must name its call's id, and the call `{}` has none",
                call.name
            ),
        )
    })
}
