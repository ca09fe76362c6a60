//! `fs_delete`: a file, a link, or (when asked) a folder and its contents.

use std::path::Path;

use cap_fs_ext::DirExt;
use cap_std::fs::Dir;
use rustchain_macros::tool;
use rustchain_tools::{ErrorKind, ToolContext, ToolError};

use rustchain_tools::fs::FsPath;
use rustchain_tools::fs::confine::{Access, EntryKind, Last, Scope, denied, io_error, kind_of};
use rustchain_tools::fs::walk::{Flow, MAX_DEPTH, sorted_entries, walk};
use rustchain_tools::policy::Grants;

/// What `fs_delete` returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct DeleteOutput {
    /// What was deleted, as an absolute path.
    pub path: String,
    /// What it was.
    pub kind: EntryKind,
    /// Entries removed, itself included.
    pub removed: u64,
}

/// Deletes a file, or a folder with everything in it when `recursive` is true.
///
/// The path is absolute (inside a folder the policy grants for writing) or
/// relative to the working directory; a granted folder itself cannot be
/// deleted. A symbolic link is removed as a link: what it points to is left
/// alone. A folder is deleted only with `recursive: true`, and not at all
/// when anything inside it is denied by the policy (then nothing is deleted).
#[tool(
    crate = "rustchain_tools",
    destructive,
    idempotent,
    open_world = false,
    tags("fs")
)]
pub fn fs_delete(
    ctx: &ToolContext,
    /// The file or folder to delete: absolute, or relative to the working directory.
    #[fs(write)]
    path: FsPath,
    /// Delete a folder and everything in it (default false: files and links only).
    recursive: Option<bool>,
) -> Result<DeleteOutput, ToolError> {
    let (scope, names) = Scope::open(Grants::of(ctx), Access::Write, path.as_path())?;
    let target = scope.resolve(names, Last::Keep, false)?;
    let shown = scope.show(&target.rel);
    let Some(name) = &target.name else {
        return Err(if target.rel.as_os_str().is_empty() {
            denied(format!(
                "{shown} is a granted folder itself; it cannot be deleted, only what it holds"
            ))
        } else {
            ToolError::invalid_argument(
                "path",
                format!("name the folder {shown} directly, without a trailing `.` or `..`"),
            )
        });
    };
    let Some(kind) = target.kind else {
        return Err(ToolError::new(
            ErrorKind::Failed,
            format!("{shown} does not exist, so there is nothing to delete"),
        ));
    };
    if kind != EntryKind::Dir {
        target
            .dir
            .remove_file_or_symlink(name)
            .map_err(|err| io_error(&err, &shown))?;
        return Ok(DeleteOutput {
            path: shown,
            kind,
            removed: 1,
        });
    }
    if !recursive.unwrap_or(false) {
        return Err(ToolError::invalid_argument(
            "recursive",
            format!("{shown} is a folder; pass recursive: true to delete it and everything in it"),
        ));
    }
    let folder = target
        .dir
        .open_dir_nofollow(name)
        .map_err(|err| io_error(&err, &shown))?;
    // Look first, so a folder holding something denied loses nothing.
    let scan = walk(
        &scope,
        ctx,
        folder.try_clone().map_err(|err| io_error(&err, &shown))?,
        &target.rel,
        true,
        |_| Ok(Flow::Continue),
    )?;
    if scan.denied > 0 {
        return Err(denied(format!(
            "{shown} holds {} entries the policy denies; nothing was deleted",
            scan.denied
        )));
    }
    if scan.stopped {
        return Err(ToolError::new(
            ErrorKind::Failed,
            format!(
                "{shown} is too large or too deep to delete in one call; delete its sub-folders first"
            ),
        ));
    }
    let removed = remove_contents(&scope, &folder, &target.rel, 1)? + 1;
    drop(folder);
    target
        .dir
        .remove_dir(name)
        .map_err(|err| io_error(&err, &shown))?;
    Ok(DeleteOutput {
        path: shown,
        kind,
        removed,
    })
}

/// Removes everything in `dir` (at `rel` in the root), checking each entry
/// against the deny rules again as it goes: the folder may change after the scan.
fn remove_contents(
    scope: &Scope<'_>,
    dir: &Dir,
    rel: &Path,
    depth: usize,
) -> Result<u64, ToolError> {
    let mut removed = 0;
    for (name, meta) in sorted_entries(dir, &scope.show(rel))? {
        let child_rel = rel.join(&name);
        let shown = scope.show(&child_rel);
        if scope.denied_by(&child_rel).is_some() {
            return Err(denied(format!(
                "{shown} appeared while deleting and is denied by the policy; deleting stopped after {removed} entries"
            )));
        }
        if kind_of(&meta) == EntryKind::Dir {
            if depth >= MAX_DEPTH {
                return Err(ToolError::new(
                    ErrorKind::Failed,
                    format!("{shown} is too deep to delete"),
                ));
            }
            let child = dir
                .open_dir_nofollow(&name)
                .map_err(|err| io_error(&err, &shown))?;
            removed += remove_contents(scope, &child, &child_rel, depth + 1)?;
            drop(child);
            dir.remove_dir(&name)
                .map_err(|err| io_error(&err, &shown))?;
        } else {
            dir.remove_file_or_symlink(&name)
                .map_err(|err| io_error(&err, &shown))?;
        }
        removed += 1;
    }
    Ok(removed)
}
