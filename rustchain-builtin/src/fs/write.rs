//! `fs_write`: create or replace a file, atomically.

use rustchain_macros::tool;
use rustchain_tools::{ToolContext, ToolError};

use rustchain_tools::fs::FsPath;
use rustchain_tools::fs::confine::{Access, EntryKind, Last, Scope};
use rustchain_tools::fs::files::{WriteMode, not_a_file, write_file};
use rustchain_tools::policy::Grants;

/// What `fs_write` returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct WriteOutput {
    /// The file written, as an absolute path.
    pub path: String,
    /// Bytes written.
    pub bytes_written: u64,
    /// Whether the file was created (`false`: an existing file was replaced).
    pub created: bool,
}

/// Creates a text file or replaces one, atomically: the content goes to a
/// temporary file in the same folder, which is then renamed over the target,
/// so no reader ever sees a half-written file.
///
/// The path is absolute (inside a folder the policy grants for writing) or
/// relative to the working directory. A replaced file keeps its permissions.
/// With `create_only`, an existing file is left alone and the call fails.
/// Symbolic links are never written through, and only regular files are
/// replaced. To change part of a file, `fs_edit` is safer.
#[tool(
    crate = "rustchain_tools",
    destructive,
    idempotent,
    open_world = false,
    tags("fs")
)]
pub fn fs_write(
    ctx: &ToolContext,
    /// The file to write: absolute, or relative to the working directory.
    #[fs(write)]
    path: FsPath,
    /// The whole new content of the file (UTF-8 text).
    content: String,
    /// Fail instead of replacing when the file already exists (default false).
    create_only: Option<bool>,
    /// Create missing folders on the way to the file (default false).
    create_dirs: Option<bool>,
) -> Result<WriteOutput, ToolError> {
    let (scope, names) = Scope::open(Grants::of(ctx), Access::Write, path.as_path())?;
    let scope =
        scope.with_missing_folder_hint("; fs_write creates missing folders with create_dirs: true");
    let target = scope.resolve(names, Last::Keep, create_dirs.unwrap_or(false))?;
    let shown = scope.show(&target.rel);
    let name = match (&target.name, target.kind) {
        (Some(name), None | Some(EntryKind::File)) => name,
        (None, _) => return Err(not_a_file(EntryKind::Dir, &shown)),
        (Some(_), Some(kind)) => return Err(not_a_file(kind, &shown)),
    };
    let mode = if create_only.unwrap_or(false) {
        WriteMode::CreateOnly
    } else {
        WriteMode::Replace
    };
    let created = write_file(&target.dir, name, content.as_bytes(), mode, &shown)?;
    Ok(WriteOutput {
        path: shown,
        bytes_written: content.len() as u64,
        created,
    })
}
