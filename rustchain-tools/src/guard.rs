//! What a generated guard hands the executor: each value a tool declared it
//! will use (`#[fs(read)] path`, `#[net] url`, ...), checked after decoding
//! and before the body runs.

use std::path::PathBuf;

use crate::{ErrorKind, PermissionKind, ToolError};

/// One guarded parameter's value, as the generated code passes it.
#[derive(Clone, Copy)]
pub struct Guarded<'a> {
    /// What the value will be used for.
    pub kind: PermissionKind,
    /// The parameter's name.
    pub param: &'static str,
    /// The decoded value (the same one the tool body receives).
    pub value: &'a dyn GuardValue,
}

/// A parameter type a guard can check: text or paths, alone, optional or in a list.
#[diagnostic::on_unimplemented(
    message = "a guard attribute cannot check a parameter of type `{Self}`",
    label = "guards check text or paths: use `String` or `PathBuf` (or an `Option` or `Vec` of them)",
    note = "#[fs(read)], #[fs(write)] and #[run] take a path, #[net] a URL or host, #[env] a variable name"
)]
pub trait GuardValue {
    /// Calls `check` with each value to check (none for `None`, one per element of a list).
    fn each_value(
        &self,
        check: &mut dyn FnMut(&str) -> Result<(), ToolError>,
    ) -> Result<(), ToolError>;
}

impl GuardValue for String {
    fn each_value(
        &self,
        check: &mut dyn FnMut(&str) -> Result<(), ToolError>,
    ) -> Result<(), ToolError> {
        check(self)
    }
}

impl GuardValue for PathBuf {
    fn each_value(
        &self,
        check: &mut dyn FnMut(&str) -> Result<(), ToolError>,
    ) -> Result<(), ToolError> {
        match self.to_str() {
            Some(text) => check(text),
            None => Err(ToolError::new(
                ErrorKind::Denied,
                "the path is not valid UTF-8",
            )),
        }
    }
}

impl<T: GuardValue> GuardValue for Option<T> {
    fn each_value(
        &self,
        check: &mut dyn FnMut(&str) -> Result<(), ToolError>,
    ) -> Result<(), ToolError> {
        match self {
            Some(value) => value.each_value(check),
            None => Ok(()),
        }
    }
}

impl<T: GuardValue> GuardValue for Vec<T> {
    fn each_value(
        &self,
        check: &mut dyn FnMut(&str) -> Result<(), ToolError>,
    ) -> Result<(), ToolError> {
        self.iter().try_for_each(|value| value.each_value(check))
    }
}
