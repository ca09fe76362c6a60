//! OpenAI function tools (`openai`, `openai-strict`) and OpenAI tool calls.
//!
//! Definitions, as the Chat Completions and Responses API references give
//! them (and the `openai` SDK's `ChatCompletionFunctionToolParam` and
//! `FunctionToolParam` types):
//!
//! - Chat Completions: `{"type": "function", "function": {"name",
//!   "description", "parameters", "strict"}}`.
//! - Responses ([`OpenAiApi::Responses`]): `{"type": "function", "name",
//!   "description", "parameters", "strict"}`, flat. Its `strict` defaults to
//!   `true` there, so it is always written.
//! - `name` matches `^[a-zA-Z0-9_-]{1,64}$`, which every tool name does (the
//!   `#[tool]` macro checks a stricter rule).
//! - `parameters` is the input schema without `$schema`. In `openai-strict`
//!   it is the strict-mode transform (see `openai_strict.rs` for its rules)
//!   and `strict: true`; a tool whose schema cannot be strict keeps the plain
//!   schema with `strict: false`, and a [`FormatWarningKind::NotStrict`]
//!   warning says why. Plain `openai` writes `strict: false`.
//!
//! Tool calls (the SDK's `ChatCompletionMessageFunctionToolCall` and
//! `ResponseFunctionToolCall`): arguments arrive as a JSON *string*,
//! `{"id", "type": "function", "function": {"name", "arguments"}}` in Chat,
//! `{"type": "function_call", "call_id", "name", "arguments"}` in Responses
//! (whose `id` is the item's, not the call's). Results:
//! `{"role": "tool", "tool_call_id", "content"}` and
//! `{"type": "function_call_output", "call_id", "output"}`. OpenAI has no
//! error flag: a failed call's text starts with `error[KIND]:`.

use serde_json::{Map, Value, json};

use super::calls::{
    self, CallFormatError, CallFormatErrorKind, Provider, ToolCall, error_text, output_text,
};
use super::{FormatWarning, FormatWarningKind, OpenAiApi, openai_strict, parameters_of};
use crate::{ToolError, ToolManifest, ToolOutput};

/// The OpenAI function tool for `tool`, strict when asked and possible, with
/// the warning that says why not when it is not.
///
/// ```
/// use rustchain_tools::formats::{OpenAiApi, openai};
/// use rustchain_tools::{Registry, ToolManifest};
///
/// for tool in Registry::global().tools() {
///     let (definition, warnings) = openai::definition(&ToolManifest::of(tool), true, OpenAiApi::Responses);
///     assert_eq!(definition["type"], "function");
///     assert_eq!(definition["strict"], warnings.is_empty());
/// }
/// ```
pub fn definition(
    tool: &ToolManifest,
    strict: bool,
    api: OpenAiApi,
) -> (Value, Vec<FormatWarning>) {
    let plain = parameters_of(tool);
    let (parameters, strict, warnings) = if strict {
        match openai_strict::strict_parameters(&plain) {
            Ok(parameters) => (parameters, true, Vec::new()),
            Err(problems) => {
                let message = format!(
                    "cannot be strict, so its OpenAI definition has `strict: false`: {}",
                    problems.join("; ")
                );
                let warning = FormatWarning::new(FormatWarningKind::NotStrict, &tool.name, message);
                (plain, false, vec![warning])
            }
        }
    } else {
        (plain, false, Vec::new())
    };
    let mut function = Map::new();
    function.insert("name".into(), tool.name.clone().into());
    function.insert("description".into(), tool.description.clone().into());
    function.insert("parameters".into(), parameters);
    function.insert("strict".into(), strict.into());
    let value = match api {
        OpenAiApi::ChatCompletions => json!({"type": "function", "function": function}),
        OpenAiApi::Responses => {
            let mut flat = Map::from_iter([("type".to_owned(), Value::from("function"))]);
            flat.extend(function);
            Value::Object(flat)
        }
    };
    (value, warnings)
}

const CHAT_CALL: &str = "an OpenAI Chat tool call";
const RESPONSES_CALL: &str = "an OpenAI Responses function call";

/// One entry of a Chat Completions assistant message's `tool_calls`.
pub(crate) fn parse_chat_call(item: &Value) -> Result<ToolCall, CallFormatError> {
    let entry = calls::object(item, CHAT_CALL)?;
    calls::expect_type(entry, "function", CHAT_CALL)?;
    let id = calls::string_field(entry, "id", CHAT_CALL)?;
    let function = match entry.get("function") {
        Some(function) => calls::object(function, "the `function` of an OpenAI Chat tool call")?,
        None => {
            return Err(CallFormatError::new(
                CallFormatErrorKind::MissingField,
                format!("{CHAT_CALL} has no `function`"),
            ));
        }
    };
    let what = "the `function` of an OpenAI Chat tool call";
    Ok(ToolCall {
        id: Some(id),
        name: calls::string_field(function, "name", what)?,
        arguments: calls::string_field(function, "arguments", what)?,
    })
}

/// One `function_call` item of a Responses output (or input).
pub(crate) fn parse_responses_call(item: &Value) -> Result<ToolCall, CallFormatError> {
    let entry = calls::object(item, RESPONSES_CALL)?;
    calls::expect_type(entry, "function_call", RESPONSES_CALL)?;
    Ok(ToolCall {
        id: Some(calls::string_field(entry, "call_id", RESPONSES_CALL)?),
        name: calls::string_field(entry, "name", RESPONSES_CALL)?,
        arguments: calls::string_field(entry, "arguments", RESPONSES_CALL)?,
    })
}

/// The tool calls of a Chat assistant message (or of the first choice of a
/// whole completion).
pub(crate) fn chat_calls_in(turn: &Value) -> Result<Vec<ToolCall>, CallFormatError> {
    let mut message = calls::object(turn, "an OpenAI Chat assistant message")?;
    if let Some(first) = message
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
        .and_then(|choice| choice.get("message"))
    {
        message = calls::object(first, "the message of an OpenAI Chat completion")?;
    }
    match message.get("tool_calls") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(entries) => calls::list(entries, "`tool_calls`")?
            .iter()
            // Custom (free-text) tools are not ours to run.
            .filter(|entry| entry.get("type").and_then(Value::as_str) != Some("custom"))
            .map(parse_chat_call)
            .collect(),
    }
}

/// The `function_call` items of a Responses response or of its `output` list.
pub(crate) fn responses_calls_in(turn: &Value) -> Result<Vec<ToolCall>, CallFormatError> {
    let items = match turn {
        Value::Object(response) => match response.get("output") {
            Some(output) => calls::list(output, "the `output` of an OpenAI response")?,
            None => {
                return Err(CallFormatError::new(
                    CallFormatErrorKind::MissingField,
                    "an OpenAI response has no `output`",
                ));
            }
        },
        other => calls::list(other, "an OpenAI Responses output")?,
    };
    items
        .iter()
        .filter(|item| item.get("type").and_then(Value::as_str) == Some("function_call"))
        .map(parse_responses_call)
        .collect()
}

fn text_of(outcome: &Result<ToolOutput, ToolError>) -> String {
    match outcome {
        Ok(output) => output_text(output),
        Err(err) => error_text(err),
    }
}

/// The `tool` role message that answers a Chat tool call.
pub(crate) fn chat_result(
    call: &ToolCall,
    outcome: &Result<ToolOutput, ToolError>,
) -> Result<Value, CallFormatError> {
    let id = calls::required_id(call, Provider::OpenAiChat)?;
    Ok(json!({"role": "tool", "tool_call_id": id, "content": text_of(outcome)}))
}

/// The `function_call_output` item that answers a Responses function call.
pub(crate) fn responses_result(
    call: &ToolCall,
    outcome: &Result<ToolOutput, ToolError>,
) -> Result<Value, CallFormatError> {
    let id = calls::required_id(call, Provider::OpenAiResponses)?;
    Ok(json!({"type": "function_call_output", "call_id": id, "output": text_of(outcome)}))
}
