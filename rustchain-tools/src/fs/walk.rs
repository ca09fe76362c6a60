//! Walking a folder through handles: depth first, names sorted, links
//! reported and never followed, denied entries left out, bounded in entries
//! and depth, and stopped when the call is cancelled.

use std::path::{Path, PathBuf};

use cap_fs_ext::DirExt;
use cap_std::fs::{Dir, Metadata};

use super::confine::{EntryKind, Scope, io_error, kind_of};
use crate::{ErrorKind, ToolContext, ToolError};

/// Entries a walk looks at before it stops and reports truncation.
pub const MAX_VISITS: u64 = 200_000;
/// Folders deep a walk goes at most (each level holds one open handle).
pub const MAX_DEPTH: usize = 64;

/// One entry met by a walk.
pub struct Entry<'a> {
    /// The folder holding it.
    pub dir: &'a Dir,
    /// Its name in `dir`.
    pub name: &'a str,
    /// Its path relative to the folder the walk started from.
    pub rel: &'a Path,
    /// Its kind (a link is a link).
    pub kind: EntryKind,
    /// Its metadata, links not followed.
    pub meta: &'a Metadata,
}

/// What the visitor wants next.
pub enum Flow {
    /// Go on.
    Continue,
    /// Stop here (a cap is reached).
    Stop,
}

/// How a walk ended.
#[derive(Debug, Default, Clone, Copy)]
pub struct Walked {
    /// Entries left out because a deny rule matches them.
    pub denied: u64,
    /// Whether the walk stopped before the end (a visitor's cap, or the walk's own bounds).
    pub stopped: bool,
}

struct Frame {
    dir: Dir,
    rel: PathBuf,
    entries: std::vec::IntoIter<(String, Metadata)>,
}

/// Walks `start` (the folder at `start_rel` inside the scope's root),
/// calling `visit` for each entry; into sub-folders when `recursive`.
pub fn walk(
    scope: &Scope<'_>,
    ctx: &ToolContext,
    start: Dir,
    start_rel: &Path,
    recursive: bool,
    mut visit: impl FnMut(Entry<'_>) -> Result<Flow, ToolError>,
) -> Result<Walked, ToolError> {
    let mut walked = Walked::default();
    let mut visits = 0u64;
    let entries = sorted_entries(&start, &scope.show(start_rel))?;
    let mut stack = vec![Frame {
        dir: start,
        rel: PathBuf::new(),
        entries,
    }];
    loop {
        let depth = stack.len();
        let Some(frame) = stack.last_mut() else {
            break;
        };
        let Some((name, meta)) = frame.entries.next() else {
            stack.pop();
            continue;
        };
        if ctx.is_cancelled() {
            return Err(ToolError::new(
                ErrorKind::Cancelled,
                "the call was cancelled",
            ));
        }
        visits += 1;
        if visits > MAX_VISITS {
            walked.stopped = true;
            break;
        }
        let rel = frame.rel.join(&name);
        if scope.denied_by(&start_rel.join(&rel)).is_some() {
            walked.denied += 1;
            continue;
        }
        let kind = kind_of(&meta);
        let flow = visit(Entry {
            dir: &frame.dir,
            name: &name,
            rel: &rel,
            kind,
            meta: &meta,
        })?;
        if let Flow::Stop = flow {
            walked.stopped = true;
            break;
        }
        if !recursive || kind != EntryKind::Dir {
            continue;
        }
        if depth >= MAX_DEPTH {
            walked.stopped = true;
            continue;
        }
        // A folder that vanished or became a link since it was listed is skipped.
        let Ok(child) = frame.dir.open_dir_nofollow(&name) else {
            continue;
        };
        let Ok(entries) = sorted_entries(&child, &scope.show(&start_rel.join(&rel))) else {
            continue;
        };
        stack.push(Frame {
            dir: child,
            rel,
            entries,
        });
    }
    Ok(walked)
}

/// The entries of `dir` with their metadata (links not followed), by name.
/// Names that are not UTF-8 are left out: no tool could name them back.
pub fn sorted_entries(
    dir: &Dir,
    shown: &str,
) -> Result<std::vec::IntoIter<(String, Metadata)>, ToolError> {
    let mut entries = Vec::new();
    for entry in dir.entries().map_err(|err| io_error(&err, shown))? {
        let Ok(entry) = entry else { continue };
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Ok(meta) = dir.symlink_metadata(&name) else {
            continue;
        };
        entries.push((name, meta));
        if entries.len() as u64 >= MAX_VISITS {
            break;
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries.into_iter())
}
