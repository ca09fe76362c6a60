//! The error a tool call ends in, with a kind a caller can match on.

use std::fmt;

/// What went wrong with a tool call, for callers that branch on it.
///
/// The snake-case name ([`ErrorKind::as_str`]) is what the audit trail and
/// telemetry record as `error.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// No linked tool has that name.
    NotFound,
    /// The arguments do not fit the tool's input schema.
    InvalidArguments,
    /// The tool ran and reported a failure of its own.
    Failed,
    /// The tool did not finish within its timeout.
    Timeout,
    /// The caller cancelled the call.
    Cancelled,
    /// Policy refused the call; nothing of the tool ran.
    Denied,
}

impl ErrorKind {
    /// The stable snake-case name of this kind (`"invalid_arguments"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidArguments => "invalid_arguments",
            ErrorKind::Failed => "failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Denied => "denied",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed tool call: a kind to match on and a message written for a model
/// to read and correct its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    kind: ErrorKind,
    message: String,
    path: Option<String>,
}

impl ToolError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ToolError {
            kind,
            message: message.into(),
            path: None,
        }
    }

    /// Invalid arguments, naming the JSON path of the offending field.
    pub fn invalid_argument(path: impl Into<String>, message: impl Into<String>) -> Self {
        ToolError {
            kind: ErrorKind::InvalidArguments,
            message: message.into(),
            path: Some(path.into()),
        }
    }

    /// The same error with its message cut to at most `max_bytes` (on a
    /// character boundary), saying how much was cut.
    pub fn capped(mut self, max_bytes: usize) -> Self {
        if self.message.len() > max_bytes {
            let total = self.message.len();
            let mut cut = max_bytes;
            while !self.message.is_char_boundary(cut) {
                cut -= 1;
            }
            self.message.truncate(cut);
            self.message
                .push_str(&format!(" [... {} of {total} bytes cut]", total - cut));
        }
        self
    }

    /// What went wrong, for callers that branch on it.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human- and model-readable explanation.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For invalid arguments: the JSON path of the offending value
    /// (`count`, `filter.items[2].name`), when one is known.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ToolError {}

/// `text` quoted for a message, shortened when long.
pub fn shown(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.chars().count() <= LIMIT {
        return format!("{:?}", text);
    }
    let head: String = text.chars().take(LIMIT).collect();
    format!("{head:?}… ({} bytes)", text.len())
}
