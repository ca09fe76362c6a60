//! A tool's successful result, encoded once as JSON text.

use std::fmt;

use serde::Serialize;

use crate::{ErrorKind, ToolError};

/// The JSON text of a tool's return value.
///
/// Kept as text so a result goes from the tool's typed value to the wire with
/// one serialization; [`ToolOutput::to_value`] parses it when a tree is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    json: String,
}

impl ToolOutput {
    /// Encodes `value` as JSON.
    ///
    /// ```
    /// use rustchain_core::ToolOutput;
    /// let out = ToolOutput::encode(&vec![1, 2]).unwrap();
    /// assert_eq!(out.as_json(), "[1,2]");
    /// ```
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, ToolError> {
        serde_json::to_string(value)
            .map(|json| ToolOutput { json })
            .map_err(|err| {
                ToolError::new(
                    ErrorKind::Failed,
                    format!("the tool's result could not be encoded as JSON: {err}"),
                )
            })
    }

    /// The result as JSON text.
    pub fn as_json(&self) -> &str {
        &self.json
    }

    /// The result as JSON text, owned.
    pub fn into_json(self) -> String {
        self.json
    }

    /// The result parsed into a `serde_json::Value`.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.json)
            .expect("ToolOutput always holds JSON written by serde_json")
    }
}

impl fmt::Display for ToolOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.json)
    }
}

/// A type a tool may return (or return inside `Ok`): encodable as JSON and
/// describable by a schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool's result",
    label = "this type must implement `serde::Serialize` (serde 1) and `schemars::JsonSchema` (schemars 1)",
    note = "derive both on your own types: `#[derive(serde::Serialize, schemars::JsonSchema)]`, with `schemars = \"1\"` in Cargo.toml: a `JsonSchema` from schemars 0.8 is another trait and does not count"
)]
pub trait Output: Serialize + schemars::JsonSchema {}

// `do_not_recommend`: one error naming `Output` and its advice, not one per
// missing supertrait.
#[diagnostic::do_not_recommend]
impl<T: Serialize + schemars::JsonSchema> Output for T {}

/// Turns what a tool function returned into a call result; the `#[tool]`
/// macro calls these, so each is instantiated once per return type.
#[doc(hidden)]
pub mod finish {
    use super::*;

    /// For a tool returning `T`.
    pub fn value<T: Serialize>(value: T) -> Result<ToolOutput, ToolError> {
        ToolOutput::encode(&value)
    }

    /// For a tool returning `Result<T, E>`: `Err(e)` becomes a `failed` error
    /// carrying `e`'s message.
    pub fn result<T: Serialize, E: fmt::Display>(
        result: Result<T, E>,
    ) -> Result<ToolOutput, ToolError> {
        match result {
            Ok(value) => ToolOutput::encode(&value),
            Err(err) => Err(ToolError::new(ErrorKind::Failed, err.to_string())),
        }
    }

    /// For a tool returning `Result<T, ToolError>`: the error keeps its kind,
    /// so a tool's own refusal (`denied`), timeout or argument check reads as such.
    pub fn tool_result<T: Serialize>(
        result: Result<T, ToolError>,
    ) -> Result<ToolOutput, ToolError> {
        result.and_then(|value| ToolOutput::encode(&value))
    }
}
