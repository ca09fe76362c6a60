//! Safe file access for every tool: the way a tool touches files.
//!
//! A guard such as `#[fs(read)]` checks the path before the body runs, but
//! the file system can change between that check and an open by name: a
//! symbolic link swapped in meanwhile would lead `std::fs` out of the granted
//! folder. [`ToolContext::fs`](crate::ToolContext::fs) closes that window: it
//! opens the path under the policy's grants for exactly the access asked
//! (reading or writing), through a capability handle on the granted folder,
//! one name at a time, never letting the kernel follow a link, and checks
//! the deny rules against the path actually opened.
//!
//! ```
//! use rustchain_core::{ToolContext, ToolError};
//!
//! // In a `#[tool]` body: `#[fs(read)] path: String, ctx: &ToolContext`.
//! fn read_note(ctx: &ToolContext, path: &str) -> Result<String, ToolError> {
//!     ctx.fs().read_to_string(path)
//! }
//!
//! // Outside an executor nothing is granted: it fails closed.
//! let err = read_note(&ToolContext::new(), "notes.txt").unwrap_err();
//! assert_eq!(err.kind(), rustchain_core::ErrorKind::Denied);
//! ```
//!
//! What is refused, and how:
//!
//! - `denied`: a path outside every granted folder (for the access asked),
//!   a `..` or a link that leads out, a path a deny rule matches (also
//!   through a link or a look-alike name), writing through a link, reading
//!   or writing what the tool does not declare (`#[fs(read)]`,
//!   `#[fs(write)]`), and any access outside an executor.
//! - `invalid_arguments`: a folder where a file is needed, a FIFO, socket
//!   or device (never opened in a way that could block), a path that is not
//!   UTF-8.
//! - `failed`: what does not exist, a file over the read cap, I/O errors.
//!
//! Paths are absolute (inside a granted folder) or relative to the working
//! directory, as the guard reads them. [`FsPath`] is a parameter type that
//! refuses, while decoding, a path no file system could take.
//!
//! The confinement itself is the runtime's (`rustchain_tools::fs`): this
//! module is the handle a tool holds, so that a tool crate compiles no file
//! system machinery of its own.

mod path;

use std::path::Path;

pub use path::{FsPath, NAME_MAX, PATH_MAX};

use crate::{ErrorKind, ToolError};

/// The most bytes [`Fs::read`] and [`Fs::read_to_string`] return unless
/// [`Fs::max_read`] says otherwise: 16 MiB.
pub const DEFAULT_MAX_READ: u64 = 16 * 1024 * 1024;

/// Safe file access under one call's grants; made by
/// [`ToolContext::fs`](crate::ToolContext::fs).
///
/// Every method checks its own access kind against the policy: reading
/// ([`open`](Fs::open), [`read`](Fs::read), [`read_to_string`](Fs::read_to_string),
/// [`read_dir`](Fs::read_dir)) needs a folder under `[fs] read` and an
/// `#[fs(read)]` or `#[fs(write)]` parameter, writing ([`create`](Fs::create),
/// [`write_atomic`](Fs::write_atomic), [`create_dir_all`](Fs::create_dir_all),
/// [`remove_file`](Fs::remove_file)) one under `[fs] write` and an
/// `#[fs(write)]` parameter, whatever the tool's guards checked.
#[derive(Clone, Copy)]
pub struct Fs<'c> {
    access: &'c dyn FileAccess,
    max_read: u64,
}

impl std::fmt::Debug for Fs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fs")
            .field("max_read", &self.max_read)
            .finish_non_exhaustive()
    }
}

/// One entry of a folder, as [`Fs::read_dir`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Its name in the folder.
    pub name: String,
    /// File, folder, link (never followed) or other.
    pub kind: EntryKind,
    /// Its size in bytes (of the link itself, for a link).
    pub len: u64,
}

/// What kind of entry a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (never followed out of its root).
    Symlink,
    /// A FIFO, socket or device: never read or written.
    Other,
}

/// What confines a call's file access: the runtime implements it over the
/// policy's grants (`rustchain_tools::fs::Confined`); [`Fs`] is its handle.
///
/// Each method is one whole access, resolved and checked on its own.
pub trait FileAccess: Send + Sync {
    /// Opens a regular file for reading.
    fn open(&self, path: &Path) -> Result<std::fs::File, ToolError>;
    /// Reads a whole regular file, refusing one over `max` bytes.
    fn read(&self, path: &Path, max: u64) -> Result<Vec<u8>, ToolError>;
    /// Lists a folder, leaving out denied entries.
    fn read_dir(&self, path: &Path) -> Result<Vec<DirEntry>, ToolError>;
    /// Creates (or empties) a regular file for writing.
    fn create(&self, path: &Path) -> Result<std::fs::File, ToolError>;
    /// Replaces a file's contents atomically.
    fn write_atomic(&self, path: &Path, contents: &[u8]) -> Result<(), ToolError>;
    /// Creates a folder and its missing parents.
    fn create_dir_all(&self, path: &Path) -> Result<(), ToolError>;
    /// Removes a file or a link.
    fn remove_file(&self, path: &Path) -> Result<(), ToolError>;
}

/// File access outside an executor: nothing is granted, everything refused.
pub(crate) struct NoAccess;

impl NoAccess {
    fn refuse<T>(&self) -> Result<T, ToolError> {
        Err(ToolError::new(
            ErrorKind::Denied,
            "no folder is granted outside an executor; call the tool through an Executor under a policy",
        ))
    }
}

impl FileAccess for NoAccess {
    fn open(&self, _: &Path) -> Result<std::fs::File, ToolError> {
        self.refuse()
    }
    fn read(&self, _: &Path, _: u64) -> Result<Vec<u8>, ToolError> {
        self.refuse()
    }
    fn read_dir(&self, _: &Path) -> Result<Vec<DirEntry>, ToolError> {
        self.refuse()
    }
    fn create(&self, _: &Path) -> Result<std::fs::File, ToolError> {
        self.refuse()
    }
    fn write_atomic(&self, _: &Path, _: &[u8]) -> Result<(), ToolError> {
        self.refuse()
    }
    fn create_dir_all(&self, _: &Path) -> Result<(), ToolError> {
        self.refuse()
    }
    fn remove_file(&self, _: &Path) -> Result<(), ToolError> {
        self.refuse()
    }
}

impl<'c> Fs<'c> {
    /// A handle on `access`, reading at most [`DEFAULT_MAX_READ`] bytes at once.
    pub fn new(access: &'c dyn FileAccess) -> Fs<'c> {
        Fs {
            access,
            max_read: DEFAULT_MAX_READ,
        }
    }

    /// The same access, with [`read`](Fs::read) and
    /// [`read_to_string`](Fs::read_to_string) refusing files over `bytes`.
    pub fn max_read(self, bytes: u64) -> Fs<'c> {
        Fs {
            max_read: bytes,
            ..self
        }
    }

    /// Opens a regular file for reading. A link inside the granted folder is
    /// followed (by the confinement, through handles); one leading out is refused.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<std::fs::File, ToolError> {
        self.access.open(path.as_ref())
    }

    /// Reads a whole regular file, at most [`Fs::max_read`] bytes (16 MiB
    /// unless set): a larger file is refused rather than cut.
    pub fn read(&self, path: impl AsRef<Path>) -> Result<Vec<u8>, ToolError> {
        self.access.read(path.as_ref(), self.max_read)
    }

    /// Reads a whole regular file as UTF-8 text (see [`Fs::read`]).
    pub fn read_to_string(&self, path: impl AsRef<Path>) -> Result<String, ToolError> {
        let path = path.as_ref();
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|err| {
            ToolError::new(
                ErrorKind::Failed,
                format!(
                    "{} is not UTF-8 text (an invalid byte at offset {}); it may be a binary file",
                    crate::shown(&path.to_string_lossy()),
                    err.utf8_error().valid_up_to()
                ),
            )
        })
    }

    /// Lists a folder, by name; entries the policy denies are left out and
    /// links are listed as links, not followed.
    pub fn read_dir(&self, path: impl AsRef<Path>) -> Result<Vec<DirEntry>, ToolError> {
        self.access.read_dir(path.as_ref())
    }

    /// Creates a regular file for writing, or empties an existing one. A
    /// link is never written through, and the folder must exist.
    pub fn create(&self, path: impl AsRef<Path>) -> Result<std::fs::File, ToolError> {
        self.access.create(path.as_ref())
    }

    /// Writes `contents` as the whole file, atomically: through a temporary
    /// file in the same folder renamed over it, so a reader sees the old
    /// content or the new, never a mix. A replaced file keeps its
    /// permissions; a link is never written through; the folder must exist.
    pub fn write_atomic(
        &self,
        path: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
    ) -> Result<(), ToolError> {
        self.access.write_atomic(path.as_ref(), contents.as_ref())
    }

    /// Creates a folder and any missing folders on the way to it; a folder
    /// that exists already is fine.
    pub fn create_dir_all(&self, path: impl AsRef<Path>) -> Result<(), ToolError> {
        self.access.create_dir_all(path.as_ref())
    }

    /// Removes a file, or a link (not what it points to). Folders are not removed.
    pub fn remove_file(&self, path: impl AsRef<Path>) -> Result<(), ToolError> {
        self.access.remove_file(path.as_ref())
    }
}
