//! Opening and replacing one file inside a folder handle: reads never follow
//! a link or wait on a FIFO, writes go to a temporary file in the same folder
//! that is renamed over the target, so a reader sees the old content or the
//! new, never a mix.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, File, Metadata, OpenOptions};

use super::confine::{EntryKind, Target, denied, io_error, kind_of};
use crate::{ErrorKind, ToolError};

/// Opens `name` in `dir` for reading, if it is a regular file.
///
/// `O_NOFOLLOW`: a name swapped for a link since it was resolved fails
/// instead of being followed. `O_NONBLOCK`: a FIFO opens at once instead of
/// waiting for a writer, and its type, read from the open handle, refuses it.
pub fn open_regular(dir: &Dir, name: &str, shown: &str) -> Result<(File, Metadata), ToolError> {
    let mut options = OpenOptions::new();
    options.read(true).follow(FollowSymlinks::No);
    #[cfg(unix)]
    {
        use cap_std::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = dir
        .open_with(name, &options)
        .map_err(|err| io_error(&err, shown))?;
    let meta = file.metadata().map_err(|err| io_error(&err, shown))?;
    match kind_of(&meta) {
        EntryKind::File => Ok((file, meta)),
        kind => Err(not_a_file(kind, shown)),
    }
}

/// The name of `target` when it is an existing regular file; otherwise why
/// not, with `missing_hint` telling the model what to do when it is absent.
pub fn existing_file<'t>(
    target: &'t Target,
    shown: &str,
    missing_hint: &str,
) -> Result<&'t str, ToolError> {
    match (&target.name, target.kind) {
        (Some(name), Some(EntryKind::File)) => Ok(name),
        (_, None) => Err(ToolError::new(
            ErrorKind::Failed,
            format!("{shown} does not exist; {missing_hint}"),
        )),
        (None, _) => Err(not_a_file(EntryKind::Dir, shown)),
        (Some(_), Some(kind)) => Err(not_a_file(kind, shown)),
    }
}

/// Why an entry that is not a regular file cannot be read or written as one.
pub fn not_a_file(kind: EntryKind, shown: &str) -> ToolError {
    match kind {
        EntryKind::Dir => ToolError::new(
            ErrorKind::InvalidArguments,
            format!("{shown} is a folder, not a file; name a file in it"),
        ),
        EntryKind::Symlink => denied(format!(
            "{shown} is a symbolic link; links are not written through: use the path of the file it points to"
        )),
        EntryKind::File | EntryKind::Other => ToolError::new(
            ErrorKind::InvalidArguments,
            format!(
                "{shown} is not a regular file (a FIFO, socket or device); only regular files are read and written"
            ),
        ),
    }
}

/// Reads at most `limit` bytes from `file`.
pub fn read_up_to(file: &mut File, limit: u64, shown: &str) -> Result<Vec<u8>, ToolError> {
    let mut bytes = Vec::new();
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|err| io_error(&err, shown))?;
    Ok(bytes)
}

/// What a file looked like when read, to notice a change before replacing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    /// The stamp of a file with metadata `meta`.
    pub fn of(meta: &Metadata) -> Stamp {
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok().map(|time| time.into_std()),
        }
    }
}

/// How [`write_file`] treats an existing file.
pub enum WriteMode {
    /// Fail if the name exists; never replace.
    CreateOnly,
    /// Replace a regular file, or create it.
    Replace,
    /// Replace the file read earlier, if it still looks as it did then.
    Update(Stamp),
}

/// Writes `content` as `name` in `dir` through a temporary file and a
/// rename. Returns whether the file was created (rather than replaced).
pub fn write_file(
    dir: &Dir,
    name: &str,
    content: &[u8],
    mode: WriteMode,
    shown: &str,
) -> Result<bool, ToolError> {
    let existing = match dir.symlink_metadata(name) {
        Ok(meta) => Some(meta),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(io_error(&err, shown)),
    };
    if let Some(meta) = &existing {
        match (kind_of(meta), &mode) {
            (_, WriteMode::CreateOnly) => {
                return Err(ToolError::new(
                    ErrorKind::Failed,
                    format!(
                        "{shown} already exists and was left as it is; choose another name, or replace the file"
                    ),
                ));
            }
            (EntryKind::File, _) => {}
            (kind, _) => return Err(not_a_file(kind, shown)),
        }
    }
    let mut temp = TempFile::create(dir).map_err(|err| io_error(&err, shown))?;
    let written = (|| {
        temp.file.write_all(content)?;
        if let Some(meta) = &existing {
            temp.file.set_permissions(meta.permissions())?;
        }
        temp.file.sync_all()
    })();
    written.map_err(|err| io_error(&err, shown))?;
    match mode {
        WriteMode::CreateOnly => match dir.hard_link(&temp.name, dir, name) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                return Err(ToolError::new(
                    ErrorKind::Failed,
                    format!("{shown} was created by someone else meanwhile; it is left as it is"),
                ));
            }
            // A file system without hard links: create the name exclusively instead.
            Err(_) => write_new(dir, name, content).map_err(|err| io_error(&err, shown))?,
        },
        WriteMode::Replace | WriteMode::Update(_) => {
            let now = match dir.symlink_metadata(name) {
                Ok(meta) => Some(meta),
                Err(err) if err.kind() == io::ErrorKind::NotFound => None,
                Err(err) => return Err(io_error(&err, shown)),
            };
            if let Some(meta) = &now {
                let kind = kind_of(meta);
                if kind != EntryKind::File {
                    return Err(not_a_file(kind, shown));
                }
            }
            if let WriteMode::Update(stamp) = &mode
                && now.as_ref().map(Stamp::of).as_ref() != Some(stamp)
            {
                return Err(ToolError::new(
                    ErrorKind::Failed,
                    format!(
                        "{shown} changed while it was being edited; read it again and redo the edit"
                    ),
                ));
            }
            dir.rename(&temp.name, dir, name)
                .map_err(|err| io_error(&err, shown))?;
            temp.renamed();
        }
    }
    // Dropping `temp` removes the temporary name if it is still there (linked, not renamed).
    drop(temp);
    sync_dir(dir);
    Ok(existing.is_none())
}

fn write_new(dir: &Dir, name: &str, content: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create_new(true)
        .follow(FollowSymlinks::No);
    let mut file = dir.open_with(name, &options)?;
    file.write_all(content)?;
    file.sync_all()
}

/// Makes a rename durable; a file system that cannot is no reason to fail.
fn sync_dir(dir: &Dir) {
    if let Ok(clone) = dir.try_clone() {
        let _ = clone.into_std_file().sync_all();
    }
}

/// A temporary file beside the target, removed unless renamed into place.
struct TempFile<'d> {
    dir: &'d Dir,
    name: String,
    file: File,
    done: bool,
}

impl<'d> TempFile<'d> {
    fn create(dir: &'d Dir) -> io::Result<TempFile<'d>> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create_new(true)
            .follow(FollowSymlinks::No);
        let mut last = None;
        for _ in 0..16 {
            let salt = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!(
                ".rustchain-{}-{}-{salt:x}.tmp",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            match dir.open_with(&name, &options) {
                Ok(file) => {
                    return Ok(TempFile {
                        dir,
                        name,
                        file,
                        done: false,
                    });
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// The temporary name now is the target: nothing is left to remove.
    fn renamed(&mut self) {
        self.done = true;
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.dir.remove_file(&self.name);
        }
    }
}
