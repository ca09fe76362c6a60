//! The folder the program runs in: inside a granted read root, opened once
//! and entered by handle in the child (`fchdir`), so the folder checked is
//! the folder entered whatever happens to its path in between.

use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustchain_tools::policy::Grants;
use rustchain_tools::policy::path::{lexical_absolute, root_holding};
use rustchain_tools::{ErrorKind, ToolError};

/// The working directory chosen for one run.
#[derive(Debug)]
pub(super) struct WorkDir {
    /// The open folder, entered by handle; `None` for `/` when no root is granted.
    dir: Option<File>,
    /// Its canonical path, for messages and the sandbox.
    path: PathBuf,
}

impl WorkDir {
    /// The folder the program runs in: `cwd` (absolute, or relative to this
    /// process's working directory, as the `#[fs]` guard resolved it), or by
    /// default this process's working directory when it lies inside a read
    /// root, else the first read root, else `/` (where a confined program can
    /// read nothing).
    pub(super) fn choose(cwd: Option<&str>, grants: &Grants) -> Result<WorkDir, ToolError> {
        let here = std::env::current_dir().ok();
        let roots = grants.fs_read_roots();
        let requested = match (cwd, &here) {
            (Some(cwd), Some(here)) => lexical_absolute(Path::new(cwd), here),
            (Some(cwd), None) if Path::new(cwd).is_absolute() => {
                lexical_absolute(Path::new(cwd), Path::new("/"))
            }
            (Some(_), None) => {
                return Err(failed(
                    "a relative `cwd` needs a current directory, and this process has none; give an absolute path",
                ));
            }
            (None, Some(here)) if root_holding(here, roots).is_some() => here.clone(),
            (None, _) => match roots.first() {
                Some(root) => root.clone(),
                None => {
                    return Ok(WorkDir {
                        dir: None,
                        path: PathBuf::from("/"),
                    });
                }
            },
        };
        WorkDir::open_checked(&requested, grants)
    }

    /// Opens `path` as a folder and proves the handle is inside a read root.
    #[allow(
        clippy::disallowed_methods,
        reason = "the path is opened to be checked: the handle is what the child enters, and its identity is compared with the canonical path"
    )]
    fn open_checked(path: &Path, grants: &Grants) -> Result<WorkDir, ToolError> {
        let shown = path.display();
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)
            .map_err(|err| {
                failed(format!(
                    "cannot use {shown} as the working directory: {err}"
                ))
            })?;
        let canonical = std::fs::canonicalize(path)
            .map_err(|err| failed(format!("cannot resolve {shown}: {err}")))?;
        let (opened, named) = (dir.metadata(), std::fs::metadata(&canonical));
        let same =
            matches!((&opened, &named), (Ok(a), Ok(b)) if a.dev() == b.dev() && a.ino() == b.ino());
        if !same {
            return Err(denied(format!(
                "{shown} changed while it was being checked; try again"
            )));
        }
        let roots = grants.fs_read_roots();
        if root_holding(&canonical, roots).is_none() {
            return Err(denied(format!(
                "the working directory {} is outside every granted read root",
                canonical.display()
            )));
        }
        if let Some(glob) = grants.fs_deny().matching(&canonical) {
            return Err(denied(format!(
                "the working directory {} matches the denied pattern {glob:?}",
                canonical.display()
            )));
        }
        Ok(WorkDir {
            dir: Some(dir),
            path: canonical,
        })
    }

    /// The handle the child enters, or `None` to enter [`WorkDir::path`] by name.
    pub(super) fn raw_fd(&self) -> Option<RawFd> {
        self.dir.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// The folder's canonical path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Where the program runs when no root is granted.
    #[cfg(test)]
    pub(super) fn root() -> WorkDir {
        WorkDir {
            dir: None,
            path: PathBuf::from("/"),
        }
    }
}

fn failed(message: impl Into<String>) -> ToolError {
    ToolError::new(ErrorKind::Failed, message)
}

fn denied(message: impl Into<String>) -> ToolError {
    ToolError::new(ErrorKind::Denied, message)
}
