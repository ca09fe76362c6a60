//! File access confined to a policy's grants: the mechanism behind
//! [`ToolContext::fs`](crate::ToolContext::fs) (the handle a tool holds,
//! [`rustchain_core::files::Fs`], which says what is refused and how).
//!
//! [`Confined`] opens a path under the grants for exactly the access asked
//! (reading or writing), through a capability handle on the granted folder,
//! one name at a time, never letting the kernel follow a link, and checks
//! the deny rules against the path actually opened. [`FsPath`] is a
//! parameter type that refuses, while decoding, a path no file system could
//! take.
//!
//! Under [`Confined`] lies the mechanism it is built from, for tools that
//! need more than one call (the built-in file tools are written with it):
//! [`confine`] maps a path to a granted root and walks it, [`files`] opens
//! and atomically replaces one file in a folder handle, [`walk`] walks a
//! folder tree.

#![deny(clippy::disallowed_methods)]

pub mod confine;
pub mod files;
pub mod walk;

use std::path::Path;

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::OpenOptions;

pub use confine::{Access, kind_of};
pub use rustchain_core::files::{
    DEFAULT_MAX_READ, DirEntry, EntryKind, FileAccess, Fs, FsPath, NAME_MAX, PATH_MAX,
};

use confine::{Last, Scope, Target, denied, io_error};
use files::{WriteMode, existing_file, not_a_file, open_regular, read_up_to, write_file};

use crate::policy::Grants;
use crate::{ErrorKind, ToolError};

/// File access under a policy's grants, as a [`FileAccess`] for the
/// [`Fs`] handle; inside an executor a tool gets it from its context
/// ([`ToolContext::fs`](crate::ToolContext::fs)).
///
/// Each access checks its own kind against the policy: reading needs a
/// folder under `[fs] read`, writing one under `[fs] write`.
///
/// ```
/// use rustchain_tools::{ErrorKind, Policy, fs::{Confined, Fs}};
/// # let temp = std::env::temp_dir().join(format!("rustchain-fs-doc-{}", std::process::id()));
/// # #[allow(clippy::disallowed_methods)]
/// # std::fs::create_dir_all(&temp).unwrap();
/// # let root = temp.canonicalize().unwrap();
/// let policy = Policy::from_toml(
///     &format!("[fs]\nread = [{root:?}]\nwrite = [{root:?}]\ndeny = [\"**/*.key\"]\n"),
///     "<doc>",
///     "/".as_ref(),
/// )
/// .unwrap();
/// let confined = Confined::new(policy.grants());
/// let fs = Fs::new(&confined);
/// fs.write_atomic(root.join("note.txt"), "hello").unwrap();
/// assert_eq!(fs.read_to_string(root.join("note.txt")).unwrap(), "hello");
/// let err = fs.write_atomic(root.join("id.key"), "x").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Denied);
/// assert_eq!(fs.read_to_string("/etc/passwd").unwrap_err().kind(), ErrorKind::Denied);
/// # #[allow(clippy::disallowed_methods)]
/// # std::fs::remove_dir_all(&temp).unwrap();
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Confined<'g> {
    grants: &'g Grants,
    /// What the tool declared it touches (`#[fs(read)]`, `#[fs(write)]`):
    /// a tool reads and writes only as it declared, whatever else the
    /// policy grants.
    may_read: bool,
    may_write: bool,
}

impl<'g> Confined<'g> {
    /// File access under `grants` (a tool gets them from its context:
    /// [`ToolContext::fs`](crate::ToolContext::fs)).
    pub fn new(grants: &'g Grants) -> Confined<'g> {
        Confined {
            grants,
            may_read: true,
            may_write: true,
        }
    }

    /// The same access, limited to what a tool declared: reading needs an
    /// `#[fs(read)]` or `#[fs(write)]` parameter, writing an `#[fs(write)]` one.
    pub(crate) fn declared(self, reads: bool, writes: bool) -> Confined<'g> {
        Confined {
            may_read: reads || writes,
            may_write: writes,
            ..self
        }
    }

    /// The granted root `path` is under, once the tool may access it so.
    fn scope(&self, access: Access, path: &Path) -> Result<(Scope<'g>, Vec<String>), ToolError> {
        let (declared, attribute, verb) = match access {
            Access::Read => (self.may_read, "#[fs(read)]", "read"),
            Access::Write => (self.may_write, "#[fs(write)]", "write"),
        };
        if !declared {
            return Err(ToolError::new(
                crate::ErrorKind::Denied,
                format!(
                    "this tool declares no {attribute} parameter, so it may not {verb} files; a tool touches only what it declares"
                ),
            ));
        }
        Scope::open(self.grants, access, path)
    }

    fn open_for_reading(&self, path: &Path) -> Result<(cap_std::fs::File, String), ToolError> {
        let (scope, names) = self.scope(Access::Read, path)?;
        let target = scope.resolve(names, Last::Follow, false)?;
        let shown = scope.show(&target.rel);
        let name = existing_file(&target, &shown, "check the path")?;
        let (file, _) = open_regular(&target.dir, name, &shown)?;
        Ok((file, shown))
    }

    /// Resolves `path` for writing: the last name is kept (a link there is
    /// the target itself, refused by writers), folders made on the way when
    /// `create_dirs`.
    fn writable(&self, path: &Path, create_dirs: bool) -> Result<(Scope<'g>, Target), ToolError> {
        let (scope, names) = self.scope(Access::Write, path)?;
        let scope = scope.with_missing_folder_hint("; create it first (create_dir_all)");
        let target = scope.resolve(names, Last::Keep, create_dirs)?;
        Ok((scope, target))
    }
}

impl FileAccess for Confined<'_> {
    /// Opens a regular file for reading. A link inside the granted folder is
    /// followed (by this code, through handles); one leading out is refused.
    fn open(&self, path: &Path) -> Result<std::fs::File, ToolError> {
        let (file, _) = self.open_for_reading(path)?;
        Ok(file.into_std())
    }

    /// Reads a whole regular file, at most `max` bytes: a larger file is
    /// refused rather than cut.
    fn read(&self, path: &Path, max: u64) -> Result<Vec<u8>, ToolError> {
        let (mut file, shown) = self.open_for_reading(path)?;
        let bytes = read_up_to(&mut file, max.saturating_add(1), &shown)?;
        if bytes.len() as u64 > max {
            return Err(ToolError::new(
                ErrorKind::Failed,
                format!(
                    "{shown} is larger than {max} bytes, the most read at once; read a part of it instead"
                ),
            ));
        }
        Ok(bytes)
    }

    /// Lists a folder, by name; entries the policy denies are left out and
    /// links are listed as links, not followed.
    fn read_dir(&self, path: &Path) -> Result<Vec<DirEntry>, ToolError> {
        let (scope, names) = self.scope(Access::Read, path)?;
        let target = scope.resolve(names, Last::Follow, false)?;
        let shown = scope.show(&target.rel);
        let folder = match (&target.name, target.kind) {
            (None, _) => target.dir,
            (Some(name), Some(EntryKind::Dir)) => {
                cap_fs_ext::DirExt::open_dir_nofollow(&target.dir, name)
                    .map_err(|err| io_error(&err, &shown))?
            }
            (Some(_), None) => return Err(missing(&shown)),
            (Some(_), Some(_)) => {
                return Err(ToolError::new(
                    ErrorKind::InvalidArguments,
                    format!("{shown} is not a folder"),
                ));
            }
        };
        let entries = walk::sorted_entries(&folder, &shown)?;
        Ok(entries
            .filter(|(name, _)| scope.denied_by(&target.rel.join(name)).is_none())
            .map(|(name, meta)| DirEntry {
                kind: kind_of(&meta),
                len: meta.len(),
                name,
            })
            .collect())
    }

    /// Creates a regular file for writing, or empties an existing one. A
    /// link is never written through, and the folder must exist.
    fn create(&self, path: &Path) -> Result<std::fs::File, ToolError> {
        let (scope, target) = self.writable(path, false)?;
        let shown = scope.show(&target.rel);
        let name = file_name(&target, &shown)?;
        let mut options = OpenOptions::new();
        options.write(true).create(true).follow(FollowSymlinks::No);
        #[cfg(unix)]
        {
            // A FIFO swapped in opens at once (or fails) instead of waiting.
            use cap_std::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
        }
        let file = target
            .dir
            .open_with(name, &options)
            .map_err(|err| io_error(&err, &shown))?;
        let meta = file.metadata().map_err(|err| io_error(&err, &shown))?;
        let kind = kind_of(&meta);
        if kind != EntryKind::File {
            return Err(not_a_file(kind, &shown));
        }
        // Emptied only once the open handle proves it is a regular file.
        file.set_len(0).map_err(|err| io_error(&err, &shown))?;
        let file = file.into_std();
        #[cfg(unix)]
        clear_nonblocking(&file).map_err(|err| io_error(&err, &shown))?;
        Ok(file)
    }

    /// Writes `contents` as the whole file, atomically: through a temporary
    /// file in the same folder renamed over it, so a reader sees the old
    /// content or the new, never a mix. A replaced file keeps its
    /// permissions; a link is never written through; the folder must exist.
    fn write_atomic(&self, path: &Path, contents: &[u8]) -> Result<(), ToolError> {
        let (scope, target) = self.writable(path, false)?;
        let shown = scope.show(&target.rel);
        let name = file_name(&target, &shown)?;
        write_file(&target.dir, name, contents, WriteMode::Replace, &shown)?;
        Ok(())
    }

    /// Creates a folder and any missing folders on the way to it; a folder
    /// that exists already is fine.
    fn create_dir_all(&self, path: &Path) -> Result<(), ToolError> {
        let (scope, target) = self.writable(path, true)?;
        let shown = scope.show(&target.rel);
        match (&target.name, target.kind) {
            (None, _) | (Some(_), Some(EntryKind::Dir)) => Ok(()),
            (Some(name), None) => match target.dir.create_dir(name) {
                Ok(()) => Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    // Made meanwhile: it must be a folder, not a link to one.
                    cap_fs_ext::DirExt::open_dir_nofollow(&target.dir, name)
                        .map(drop)
                        .map_err(|err| io_error(&err, &shown))
                }
                Err(err) => Err(io_error(&err, &shown)),
            },
            (Some(_), Some(_)) => Err(ToolError::new(
                ErrorKind::InvalidArguments,
                format!("{shown} exists and is not a folder"),
            )),
        }
    }

    /// Removes a file, or a link (not what it points to). Folders are not removed.
    fn remove_file(&self, path: &Path) -> Result<(), ToolError> {
        let (scope, target) = self.writable(path, false)?;
        let shown = scope.show(&target.rel);
        match (&target.name, target.kind) {
            (Some(_), None) => Err(missing(&shown)),
            (None, _) | (Some(_), Some(EntryKind::Dir)) => Err(ToolError::new(
                ErrorKind::InvalidArguments,
                format!("{shown} is a folder; only files and links are removed"),
            )),
            (Some(name), Some(_)) => cap_fs_ext::DirExt::remove_file_or_symlink(&target.dir, name)
                .map_err(|err| io_error(&err, &shown)),
        }
    }
}

/// The name of a file to write: absent or a regular file, never a link,
/// folder or device.
fn file_name<'t>(target: &'t Target, shown: &str) -> Result<&'t str, ToolError> {
    match (&target.name, target.kind) {
        (Some(name), None | Some(EntryKind::File)) => Ok(name),
        (None, _) => Err(not_a_file(EntryKind::Dir, shown)),
        (Some(_), Some(EntryKind::Symlink)) => Err(denied(format!(
            "{shown} is a symbolic link; links are not written through: use the path of the file it points to"
        ))),
        (Some(_), Some(kind)) => Err(not_a_file(kind, shown)),
    }
}

fn missing(shown: &str) -> ToolError {
    ToolError::new(ErrorKind::Failed, format!("{shown} does not exist"))
}

/// The handle was opened non-blocking so that a FIFO could not stall the
/// open; a regular file's writer expects ordinary blocking writes.
#[cfg(unix)]
fn clear_nonblocking(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is owned by `file`, open for the whole call; F_GETFL and
    // F_SETFL only read and set its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
