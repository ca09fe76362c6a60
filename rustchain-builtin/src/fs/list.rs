//! `fs_list`: what a folder holds.

use cap_fs_ext::DirExt;
use rustchain_macros::tool;
use rustchain_tools::{ErrorKind, ToolContext, ToolError};

use rustchain_tools::fs::FsPath;
use rustchain_tools::fs::confine::{Access, EntryKind, Last, Scope, io_error};
use rustchain_tools::fs::walk::{Flow, walk};
use rustchain_tools::policy::Grants;

use super::filter::NameFilter;

/// Entries `fs_list` returns unless asked for fewer.
pub const DEFAULT_ENTRIES: u32 = 1000;
/// The most entries `fs_list` returns.
pub const MAX_ENTRIES: u32 = 10_000;

/// What `fs_list` returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ListOutput {
    /// The folder listed, as an absolute path.
    pub path: String,
    /// Its entries, depth first and by name, paths relative to the folder.
    pub entries: Vec<ListEntry>,
    /// Whether more entries exist than were returned (the cap was reached).
    pub truncated: bool,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ListEntry {
    /// The path relative to the folder listed (`src/main.rs`).
    pub path: String,
    /// File, folder, link or other.
    pub kind: EntryKind,
    /// Size in bytes, for files.
    pub size: Option<u64>,
}

/// Lists a folder: one level, or everything below it with `recursive`.
///
/// The path is absolute (inside a folder the policy grants for reading) or
/// relative to the working directory; `.` lists that folder. Entries come
/// depth first, sorted by name, with paths relative to the listed folder.
/// `glob` keeps only matching entries (`*.md` matches names, `src/**/*.rs`
/// paths). At most `max_entries` are returned (default 1000, at most 10000);
/// `truncated` says there were more. Symbolic links are listed as links and
/// not entered; entries the policy denies are left out.
#[tool(
    crate = "rustchain_tools",
    read_only,
    idempotent,
    open_world = false,
    timeout = "30s",
    tags("fs")
)]
pub fn fs_list(
    ctx: &ToolContext,
    /// The folder to list: absolute, or relative to the working directory.
    #[fs(read)]
    path: FsPath,
    /// List everything below the folder, not just its own entries (default false).
    recursive: Option<bool>,
    /// Keep only entries matching this glob: `*.md` (names) or `docs/**/*.md` (paths).
    glob: Option<String>,
    /// Return at most this many entries (default 1000, at most 10000).
    max_entries: Option<u32>,
) -> Result<ListOutput, ToolError> {
    let filter = NameFilter::new(glob.as_deref())?;
    let cap = max_entries.unwrap_or(DEFAULT_ENTRIES).clamp(1, MAX_ENTRIES) as usize;
    let (scope, names) = Scope::open(Grants::of(ctx), Access::Read, path.as_path())?;
    let target = scope.resolve(names, Last::Follow, false)?;
    let shown = scope.show(&target.rel);
    let folder = match (&target.name, target.kind) {
        (None, _) => target.dir,
        (Some(name), Some(EntryKind::Dir)) => target
            .dir
            .open_dir_nofollow(name)
            .map_err(|err| io_error(&err, &shown))?,
        (Some(_), None) => {
            return Err(ToolError::new(
                ErrorKind::Failed,
                format!("{shown} does not exist"),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid_argument(
                "path",
                format!("{shown} is not a folder; fs_read reads a file"),
            ));
        }
    };
    let mut entries = Vec::new();
    let mut truncated = false;
    let walked = walk(
        &scope,
        ctx,
        folder,
        &target.rel,
        recursive.unwrap_or(false),
        |entry| {
            if !NameFilter::passes(&filter, entry.rel, entry.name) {
                return Ok(Flow::Continue);
            }
            if entries.len() == cap {
                truncated = true;
                return Ok(Flow::Stop);
            }
            entries.push(ListEntry {
                path: entry.rel.to_string_lossy().into_owned(),
                kind: entry.kind,
                size: (entry.kind == EntryKind::File).then(|| entry.meta.len()),
            });
            Ok(Flow::Continue)
        },
    )?;
    Ok(ListOutput {
        path: shown,
        entries,
        truncated: truncated || walked.stopped,
    })
}
