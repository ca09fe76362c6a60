//! The audit trail's error: a kind to match on, the file, and the line when one is known.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What went wrong with an audit trail or a key file, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditErrorKind {
    /// The file (or the directory it should be created in) does not exist.
    NotFound,
    /// Reading, writing, locking or syncing the file failed.
    Io,
    /// The trail's last record cannot be chained onto (not a valid record,
    /// and not a torn write that could be cut): run `verify`.
    Corrupt,
    /// A key file is missing, malformed, or not a valid Ed25519 key.
    Key,
    /// The [`AuditOptions`](super::AuditOptions) are not usable (a zero interval).
    InvalidOptions,
    /// The operating system could not supply randomness for a new key.
    Randomness,
    /// An [`AuditSink`](crate::exec::AuditSink) other than the file trail
    /// could not take a record (its own destination failed).
    Sink,
    /// Writing a batch of records panicked: none of its records is
    /// reported written (the next batch reads the file's end afresh).
    Panicked,
}

impl AuditErrorKind {
    /// The stable snake-case name of this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditErrorKind::NotFound => "not_found",
            AuditErrorKind::Io => "io",
            AuditErrorKind::Corrupt => "corrupt",
            AuditErrorKind::Key => "key",
            AuditErrorKind::InvalidOptions => "invalid_options",
            AuditErrorKind::Randomness => "randomness",
            AuditErrorKind::Sink => "sink",
            AuditErrorKind::Panicked => "panicked",
        }
    }
}

impl fmt::Display for AuditErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from the audit trail. Its message names the file, and the line
/// where one is known: `audit.jsonl:42: ...`.
#[derive(Debug)]
pub struct AuditError {
    kind: AuditErrorKind,
    path: PathBuf,
    line: Option<u64>,
    message: String,
    source: Option<io::Error>,
}

impl AuditError {
    /// An error of `kind` concerning `path` (for a sink of one's own, the
    /// destination it writes to, such as a URL or a table name).
    pub fn new(kind: AuditErrorKind, path: &Path, message: impl Into<String>) -> Self {
        AuditError {
            kind,
            path: path.to_path_buf(),
            line: None,
            message: message.into(),
            source: None,
        }
    }

    /// An I/O failure while `doing` something to `path`; a missing file becomes
    /// [`AuditErrorKind::NotFound`].
    pub(crate) fn io(path: &Path, doing: &str, source: io::Error) -> Self {
        let kind = match source.kind() {
            io::ErrorKind::NotFound => AuditErrorKind::NotFound,
            _ => AuditErrorKind::Io,
        };
        AuditError {
            kind,
            path: path.to_path_buf(),
            line: None,
            message: format!("{doing}: {source}"),
            source: Some(source),
        }
    }

    pub(crate) fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> AuditErrorKind {
        self.kind
    }

    /// The trail or key file concerned.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The 1-based line of the trail concerned, when one is known.
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The message without the file and line prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
