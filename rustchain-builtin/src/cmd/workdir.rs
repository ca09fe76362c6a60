//! The folder the program runs in: inside a granted read root, reached from
//! the root's handle as the file tools reach a folder, and entered by handle
//! in the child (`fchdir`), so the folder checked is the folder entered
//! whatever happens to its path in between.

use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use cap_fs_ext::DirExt;
use rustchain_tools::fs::confine::{Access, EntryKind, Last, Scope};
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

    /// Opens `path` as a folder inside a read root, the way the file tools
    /// reach a folder: from the root's handle, one name at a time, links
    /// followed only inside the root, the deny rules checked against the
    /// folder arrived at. Nothing outside the roots is opened or asked about.
    fn open_checked(path: &Path, grants: &Grants) -> Result<WorkDir, ToolError> {
        let (scope, names) = Scope::open(grants, Access::Read, path)?;
        let target = scope.resolve(names, Last::Follow, false)?;
        let shown = scope.show(&target.rel);
        let dir = match (&target.name, target.kind) {
            (None, _) => target.dir,
            (Some(name), Some(EntryKind::Dir)) => {
                target.dir.open_dir_nofollow(name).map_err(|err| {
                    failed(format!(
                        "cannot use {shown} as the working directory: {err}"
                    ))
                })?
            }
            (Some(_), None) => {
                return Err(failed(format!(
                    "the working directory {shown} does not exist"
                )));
            }
            (Some(_), Some(_)) => {
                return Err(ToolError::invalid_argument(
                    "cwd",
                    format!("{shown} is not a folder; `cwd` names the folder the program runs in"),
                ));
            }
        };
        Ok(WorkDir {
            dir: Some(dir.into_std_file()),
            path: scope.root_path().join(&target.rel),
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
