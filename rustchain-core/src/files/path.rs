//! The path a model names, refused while decoding when no file system could
//! take it: a NUL byte, over the system's length limits, or written for
//! another system (`..\x`, `C:\Windows`). A refusal here is an
//! `invalid_arguments` error naming the argument, before any policy or file
//! is consulted.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

use crate::guard::GuardValue;
use crate::{ErrorKind, ToolError, shown};

/// The longest path the kernel takes, in bytes, counting its closing NUL (Linux `PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// The longest single name in a folder, in bytes (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// A file or folder path from the model: absolute (inside a granted folder)
/// or relative (to the working directory). Never empty, no NUL byte, at
/// most [`PATH_MAX`]` - 1` bytes, each name at most [`NAME_MAX`] bytes.
///
/// As a tool's parameter type, a path no file system could take is refused
/// while decoding, as `invalid_arguments` naming the parameter; a guard
/// (`#[fs(read)]`, `#[fs(write)]`) checks it like a `String`.
///
/// ```
/// use rustchain_core::files::FsPath;
/// let path = FsPath::parse("notes/todo.md".to_owned()).unwrap();
/// assert_eq!(path.as_str(), "notes/todo.md");
/// assert!(FsPath::parse("a\0b".to_owned()).is_err());
/// assert!(FsPath::parse("..\\x".to_owned()).is_err() || cfg!(windows));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsPath(String);

impl FsPath {
    /// Checks `text` as a path; the error (`invalid_arguments`) says what is
    /// wrong and what to write instead.
    pub fn parse(text: String) -> Result<FsPath, ToolError> {
        FsPath::checked(text)
            .map_err(|message| ToolError::new(ErrorKind::InvalidArguments, message))
    }

    fn checked(text: String) -> Result<FsPath, String> {
        if text.is_empty() {
            return Err(
                "the path is empty; name a file or folder, like `notes/todo.md`".to_owned(),
            );
        }
        if text.contains('\0') {
            return Err(format!(
                "the path {} contains a NUL byte (\\0), which no file name can hold; send the path alone, without it",
                shown(&text)
            ));
        }
        if text.len() >= PATH_MAX {
            return Err(format!(
                "the path is {} bytes long, over the system limit of {} bytes; use a shorter path",
                text.len(),
                PATH_MAX - 1
            ));
        }
        if let Some(name) = text.split('/').find(|name| name.len() > NAME_MAX) {
            return Err(format!(
                "the name {} is {} bytes long, over the system limit of {NAME_MAX} bytes for one name",
                shown(name),
                name.len()
            ));
        }
        foreign_syntax(&text)?;
        Ok(FsPath(text))
    }

    /// The path as the model wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as a [`Path`].
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }
}

impl AsRef<Path> for FsPath {
    fn as_ref(&self) -> &Path {
        self.as_path()
    }
}

/// Windows syntax means the model expects another system: on Unix `..\x`
/// and `C:\Windows\win.ini` are single odd names, not what the model meant.
#[cfg(not(windows))]
fn foreign_syntax(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(format!(
            "{} is a Windows path; this system has no drive letters: name a path under a granted folder with `/` separators",
            shown(text)
        ));
    }
    if text.contains('\\') {
        return Err(format!(
            "the path {} contains a backslash; the separator on this system is `/` (write `dir/file`, not `dir\\file`)",
            shown(text)
        ));
    }
    Ok(())
}

#[cfg(windows)]
fn foreign_syntax(_: &str) -> Result<(), String> {
    Ok(())
}

impl fmt::Display for FsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FsPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FsPath::checked(text).map_err(serde::de::Error::custom)
    }
}

/// Described exactly as a string, so provider schemas stay plain.
impl JsonSchema for FsPath {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        String::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        String::json_schema(generator)
    }
}

/// The policy's guard checks the same text the tool then opens.
impl GuardValue for FsPath {
    fn each_value(
        &self,
        check: &mut dyn FnMut(&str) -> Result<(), ToolError>,
    ) -> Result<(), ToolError> {
        check(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        FsPath::checked(text.to_owned()).expect_err("the path should be refused")
    }

    #[test]
    fn ordinary_paths_pass() {
        for text in [
            "a.txt",
            "/srv/data/a b.txt",
            "dir/",
            "../x",
            "ünïcødé/名前.md",
        ] {
            assert_eq!(FsPath::parse(text.to_owned()).unwrap().as_str(), text);
        }
    }

    #[test]
    fn nul_empty_and_oversized_paths_are_refused() {
        assert!(refused("ok.txt\0.png").contains("NUL"));
        assert!(refused("").contains("empty"));
        assert!(refused(&"a/".repeat(2500)).contains("4095 bytes"));
        let long_name = format!("dir/{}", "n".repeat(256));
        assert!(refused(&long_name).contains("255 bytes"));
        // A name of exactly NAME_MAX bytes is fine.
        assert!(FsPath::parse("n".repeat(255)).is_ok());
    }

    #[cfg(not(windows))]
    #[test]
    fn windows_syntax_is_refused_with_advice() {
        assert!(refused("..\\x").contains("backslash"));
        assert!(refused("C:\\Windows\\win.ini").contains("drive letters"));
        assert!(refused("c:/x").contains("drive letters"));
    }
}
