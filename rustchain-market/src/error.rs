//! What can go wrong in the marketplace, as a type with a kind.

use std::fmt;

/// Why a marketplace operation failed, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MarketErrorKind {
    /// A file of the index, a key file or a package file could not be read or written.
    Io,
    /// A package name that is not a Cargo package name, a bad version, a bad key text.
    Invalid,
    /// The index (or one package's file in it) is not what was signed: a
    /// bad signature, an unknown key, a replayed or reordered entry.
    Untrusted,
    /// This version (or a higher one) is already in the index.
    VersionExists,
    /// The version breaks callers of the latest one without a major bump.
    Breaking,
    /// The signing key is not one of the package's owners.
    NotOwner,
    /// No such package or version in the index.
    NotFound,
    /// The key file exists already (a key is never overwritten).
    KeyExists,
    /// The operating system gave no randomness for a new key.
    Randomness,
}

impl MarketErrorKind {
    /// The stable snake-case name of this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            MarketErrorKind::Io => "io",
            MarketErrorKind::Invalid => "invalid",
            MarketErrorKind::Untrusted => "untrusted",
            MarketErrorKind::VersionExists => "version_exists",
            MarketErrorKind::Breaking => "breaking",
            MarketErrorKind::NotOwner => "not_owner",
            MarketErrorKind::NotFound => "not_found",
            MarketErrorKind::KeyExists => "key_exists",
            MarketErrorKind::Randomness => "randomness",
        }
    }
}

impl fmt::Display for MarketErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A marketplace failure: its kind and one line saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MarketError {
    kind: MarketErrorKind,
    message: String,
}

impl MarketError {
    /// A failure of `kind`, explained by `message`.
    pub fn new(kind: MarketErrorKind, message: impl Into<String>) -> MarketError {
        MarketError {
            kind,
            message: message.into(),
        }
    }

    /// An I/O failure: what was being done, to which file, and the system's reason.
    pub fn io(what: &str, path: &std::path::Path, err: &std::io::Error) -> MarketError {
        MarketError::new(
            MarketErrorKind::Io,
            format!("cannot {what} {}: {err}", path.display()),
        )
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> MarketErrorKind {
        self.kind
    }

    /// The message, one line.
    pub fn message(&self) -> &str {
        &self.message
    }
}
