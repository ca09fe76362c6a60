//! `fs_edit`: exact search and replace with a count check.

use rustchain_macros::tool;
use rustchain_tools::{ErrorKind, ToolContext, ToolError};

use rustchain_tools::fs::FsPath;
use rustchain_tools::fs::confine::{Access, Last, Scope};
use rustchain_tools::fs::files::{
    Stamp, WriteMode, existing_file, open_regular, read_up_to, write_file,
};
use rustchain_tools::policy::Grants;

/// The largest file `fs_edit` rewrites.
pub const MAX_EDIT: u64 = 8 * 1024 * 1024;

/// What `fs_edit` returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct EditOutput {
    /// The file edited, as an absolute path.
    pub path: String,
    /// How many places were replaced.
    pub replacements: u32,
    /// The file's new size in bytes.
    pub size: u64,
}

/// Replaces exact text in a file: every occurrence of `old_text` becomes
/// `new_text`, but only when `old_text` occurs exactly `expected_count`
/// times (default 1). An edit that matches more or fewer places fails and
/// changes nothing, so an ambiguous edit is never guessed at: include more
/// surrounding text to single out one place.
///
/// Matching is exact, whitespace and line breaks included (copy the text
/// from `fs_read`). The file is rewritten atomically and keeps its
/// permissions; it must be UTF-8 text of at most 8 MiB, in a folder the
/// policy grants for reading and for writing (the answer tells what the
/// file holds), and not a symbolic link.
#[tool(crate = "rustchain_tools", destructive, open_world = false, tags("fs"))]
pub fn fs_edit(
    ctx: &ToolContext,
    /// The file to edit: absolute, or relative to the working directory.
    #[fs(write)]
    path: FsPath,
    /// The exact text to find (not empty).
    old_text: String,
    /// The text to put in its place (may be empty, to delete).
    new_text: String,
    /// How many times `old_text` must occur (default 1); all are replaced.
    expected_count: Option<u32>,
) -> Result<EditOutput, ToolError> {
    let expected = expected_count.unwrap_or(1);
    if old_text.is_empty() {
        return Err(ToolError::invalid_argument(
            "old_text",
            "old_text is empty; give the exact text to replace",
        ));
    }
    if old_text == new_text {
        return Err(ToolError::invalid_argument(
            "new_text",
            "new_text is the same as old_text, so the edit would change nothing",
        ));
    }
    if expected == 0 {
        return Err(ToolError::invalid_argument(
            "expected_count",
            "expected_count must be at least 1",
        ));
    }
    let grants = Grants::of(ctx);
    // Whether `old_text` occurs, and how often, tells what the file holds:
    // editing needs the right to read it as well as to write it.
    Scope::open(grants, Access::Read, path.as_path())
        .and_then(|(scope, names)| scope.resolve(names, Last::Keep, false).map(|_| ()))
        .map_err(|err| {
            ToolError::new(
                ErrorKind::Denied,
                format!(
                    "fs_edit answers with what a file holds, so it needs the file readable as well as writable: {}",
                    err.message()
                ),
            )
        })?;
    let (scope, names) = Scope::open(grants, Access::Write, path.as_path())?;
    let target = scope.resolve(names, Last::Keep, false)?;
    let shown = scope.show(&target.rel);
    let name = existing_file(&target, &shown, "fs_write creates a new file")?;
    let (mut file, meta) = open_regular(&target.dir, name, &shown)?;
    if meta.len() > MAX_EDIT {
        return Err(ToolError::new(
            ErrorKind::Failed,
            format!(
                "{shown} is {} bytes, over the {MAX_EDIT}-byte limit for editing",
                meta.len()
            ),
        ));
    }
    let bytes = read_up_to(&mut file, MAX_EDIT + 1, &shown)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        ToolError::new(
            ErrorKind::Failed,
            format!("{shown} is not UTF-8 text, so it cannot be edited as text"),
        )
    })?;
    let found = text.matches(old_text.as_str()).count();
    if found != expected as usize {
        return Err(count_mismatch(&shown, found, expected));
    }
    let edited = text.replace(old_text.as_str(), &new_text);
    write_file(
        &target.dir,
        name,
        edited.as_bytes(),
        WriteMode::Update(Stamp::of(&meta)),
        &shown,
    )?;
    Ok(EditOutput {
        path: shown,
        replacements: expected,
        size: edited.len() as u64,
    })
}

fn count_mismatch(shown: &str, found: usize, expected: u32) -> ToolError {
    let message = match found {
        0 => format!(
            "old_text was not found in {shown}; it must match exactly, whitespace and line breaks included (copy it from fs_read). Nothing was changed"
        ),
        _ => format!(
            "old_text occurs {found} times in {shown}, not {expected}; include more surrounding text to single out the place, or set expected_count to {found} to replace them all. Nothing was changed"
        ),
    };
    ToolError::invalid_argument("old_text", message)
}
