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

/// A tool's result type as the code `#[tool]` generates uses it: how to
/// encode a value and describe the type, made by [`result_type`] in one place
/// so that a type which cannot be a result is reported once, on that type.
#[doc(hidden)]
pub struct ResultType<T> {
    /// Encodes a returned value as the call's output.
    pub encode: fn(T) -> Result<ToolOutput, ToolError>,
    /// The type's output schema.
    pub schema: fn() -> schemars::Schema,
}

/// The [`ResultType`] of `T`: the one place generated code requires `T: Output`.
#[doc(hidden)]
pub const fn result_type<T: Output>() -> ResultType<T> {
    ResultType {
        encode: encode_value::<T>,
        schema: crate::schema::output_schema::<T>,
    }
}

fn encode_value<T: Serialize>(value: T) -> Result<ToolOutput, ToolError> {
    ToolOutput::encode(&value)
}

/// Turns what a tool function returned into a call result with its result
/// type's encoder; the `#[tool]` macro calls these.
#[doc(hidden)]
pub mod finish {
    use super::*;

    /// For a tool returning `T` itself: encoded.
    pub fn value<T>(
        value: T,
        encode: fn(T) -> Result<ToolOutput, ToolError>,
    ) -> Result<ToolOutput, ToolError> {
        encode(value)
    }

    /// For a tool returning `Result<T, E>`: the runtime's own [`ToolError`]
    /// keeps its kind, so a tool's own refusal (`denied`), timeout or
    /// argument check reads as such; any other `E` becomes a `failed` error
    /// carrying its message.
    ///
    /// Which one `E` is, is told by its type, not its name: an alias of
    /// `ToolError` keeps the kind, and a tool's own type that happens to be
    /// called `ToolError` is an error like any other (Known gaps 11, D-100).
    /// `E: 'static` is what asking its type needs; a tool's error borrows
    /// nothing from its decoded arguments, which end with the call.
    pub fn result<T, E: fmt::Display + 'static>(
        result: Result<T, E>,
        encode: fn(T) -> Result<ToolOutput, ToolError>,
    ) -> Result<ToolOutput, ToolError> {
        match result {
            Ok(value) => encode(value),
            Err(err) => Err(into_tool_error(err)),
        }
    }

    /// `err` itself if it is the runtime's `ToolError`, else a `failed`
    /// error with its message. The type test is a constant once `E` is
    /// known, so an optimized build keeps only one of the two arms.
    fn into_tool_error<E: fmt::Display + 'static>(err: E) -> ToolError {
        let mut slot = Some(err);
        let own = (&mut slot as &mut dyn std::any::Any)
            .downcast_mut::<Option<ToolError>>()
            .and_then(Option::take);
        match (own, slot) {
            (Some(own), _) => own,
            (None, Some(err)) => ToolError::new(ErrorKind::Failed, err.to_string()),
            (None, None) => unreachable!("the error is taken only when it is a ToolError"),
        }
    }
}
