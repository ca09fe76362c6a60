//! What can be wrong with a policy file, and what is only worth a warning.

use std::fmt;

/// A policy file that could not be loaded: what kind of problem, where, and why.
///
/// Displays as `FILE:LINE: MESSAGE` (or `FILE: MESSAGE` when the problem has
/// no line), the form editors and CI logs link to.
///
/// ```
/// use std::path::Path;
/// use rustchain_tools::policy::{Policy, PolicyErrorKind};
///
/// let err = Policy::from_toml("[tools]\nalow = []\n", "rustchain.toml", Path::new("."))
///     .unwrap_err();
/// assert_eq!(err.kind, PolicyErrorKind::UnknownKey);
/// assert_eq!(err.line, Some(2));
/// assert!(err.to_string().starts_with("rustchain.toml:2: unknown field `alow`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    /// What kind of problem, for a caller to match on.
    pub kind: PolicyErrorKind,
    /// The file (or `<inline>`).
    pub origin: String,
    /// The 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl PolicyError {
    /// An error of `kind` in `origin`, at `line` when there is one.
    pub fn new(
        kind: PolicyErrorKind,
        origin: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> PolicyError {
        PolicyError {
            kind,
            origin: origin.into(),
            line,
            message: message.into(),
        }
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }
}

/// The kinds of [`PolicyError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The file could not be read.
    Read,
    /// The text is not TOML, a value has the wrong type, or a key is repeated.
    Syntax,
    /// A key the policy format does not have (a typo, usually).
    UnknownKey,
    /// A glob (tool names, `[fs] deny`, `[audit] record_args`) that does not compile.
    BadGlob,
    /// A `[net]` entry that is not a host, an address or a range.
    BadHost,
    /// A root or a program that is not a usable path.
    BadPath,
    /// A duration that is not one (`"30s"`, `"1h 30m"` are).
    BadDuration,
    /// A rate that is not one (`"10/min"` is).
    BadRate,
    /// Any other value out of its range: `default`, `expect`, an environment
    /// variable name, `max_concurrent`, an empty `deny_flags` or `redact`
    /// entry, an `allow_args` form that would mislead.
    BadValue,
    /// `[limits.tool.NAME]` names no tool: not a tool name at all, or a
    /// misspelling of a linked tool's.
    UnknownTool,
    /// An `[audit] redact` entry misspells a field a linked tool takes.
    UnknownField,
    /// An inline example gets another verdict than it expects, or cannot be judged.
    FailingExample,
}

impl PolicyErrorKind {
    /// A stable `snake_case` name, for JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyErrorKind::Read => "read",
            PolicyErrorKind::Syntax => "syntax",
            PolicyErrorKind::UnknownKey => "unknown_key",
            PolicyErrorKind::BadGlob => "bad_glob",
            PolicyErrorKind::BadHost => "bad_host",
            PolicyErrorKind::BadPath => "bad_path",
            PolicyErrorKind::BadDuration => "bad_duration",
            PolicyErrorKind::BadRate => "bad_rate",
            PolicyErrorKind::BadValue => "bad_value",
            PolicyErrorKind::UnknownTool => "unknown_tool",
            PolicyErrorKind::UnknownField => "unknown_field",
            PolicyErrorKind::FailingExample => "failing_example",
        }
    }
}

impl fmt::Display for PolicyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something in a policy that loads but deserves a look: it is returned for
/// the caller to print, and changes nothing the policy decides.
///
/// Displays as `FILE:LINE: MESSAGE`, like [`PolicyError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWarning {
    /// What kind of warning.
    pub kind: PolicyWarningKind,
    /// The file (or `<inline>`).
    pub origin: String,
    /// The 1-based line, when the warning has one.
    pub line: Option<usize>,
    /// What was noticed, and what it means.
    pub message: String,
}

/// The kinds of [`PolicyWarning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyWarningKind {
    /// An inline example calls a tool this program does not link, so it was
    /// not checked (the file may serve several programs).
    UnlinkedExample,
    /// `[limits.tool.NAME]` names a tool this program does not link, or a
    /// `[discovery] always` glob matches none.
    UnlinkedTool,
    /// An `[audit] redact` entry names a field no linked tool takes.
    UnreceivedField,
    /// A relative `[fs] deny` glob is anchored at the policy's folder, which
    /// lies outside every granted root, so it can never match.
    UnreachableDeny,
}

impl fmt::Display for PolicyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}
