//! Why the server could not start or stopped early, with a kind to match on.

use std::fmt;

/// What stopped the server, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServeErrorKind {
    /// The policy or the audit trail could not be set up, so nothing was served.
    Setup,
    /// The streams failed: the async runtime or the transport could not be
    /// started, or reading or writing a message failed.
    Io,
    /// The client broke the protocol before a session could start (for
    /// example a first message that is neither `initialize` nor a request
    /// of the stateless revision).
    Protocol,
}

impl ServeErrorKind {
    /// The stable snake-case name of this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            ServeErrorKind::Setup => "setup",
            ServeErrorKind::Io => "io",
            ServeErrorKind::Protocol => "protocol",
        }
    }
}

impl fmt::Display for ServeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The server could not start, or stopped for another reason than the end of its input.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ServeError {
    kind: ServeErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ServeError {
    pub(crate) fn new(kind: ServeErrorKind, message: impl Into<String>) -> Self {
        ServeError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The streams failed: `message` says how.
    pub fn io(message: impl Into<String>) -> Self {
        ServeError::new(ServeErrorKind::Io, message)
    }

    pub(crate) fn caused_by(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What stopped the server.
    pub fn kind(&self) -> ServeErrorKind {
        self.kind
    }
}
