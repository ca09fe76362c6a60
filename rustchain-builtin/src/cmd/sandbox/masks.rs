//! The mount plan of one run, made in the parent: the child gets a private
//! mount namespace in which
//!
//! - every path inside a granted root that a deny glob covers is masked
//!   (a folder by an empty read-only tmpfs, any other file by `/dev/null`
//!   mounted `nodev`, which cannot be opened at all), since Landlock can
//!   only grant beneath a path, never subtract one; and
//! - write roots are bound `noexec,nosuid,nodev`, so nothing the program
//!   writes can be executed or mapped as code (an `LD_PRELOAD` of a library
//!   it wrote fails to load), unless a granted executable lives there.
//!
//! A deny glob can be masked only where it names paths that exist: in a
//! write root the child could create a new path the glob covers (`**/.env`),
//! and no mount can stop that. Such a glob makes the plan unenforceable,
//! and the run is refused unless the program accepts weaker confinement.
//!
//! The walk that finds denied paths happens before the child starts; a path
//! another process creates in a read root between the walk and the start is
//! not masked (the same window every check-then-use has), and a case variant
//! of a denied name the child creates in a write root (`Secrets/` beside a
//! denied `secrets/`) is a new, different file.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use rustchain_tools::policy::Grants;

/// The most entries the walk looks at across all roots before giving up.
pub const MAX_WALK: usize = 200_000;

/// One mount the child makes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mount {
    /// A root bound onto itself, then remounted with these flags
    /// (`noexec`, `nosuid`, `nodev`, and those it already had).
    Root { path: PathBuf, flags: libc::c_ulong },
    /// An empty read-only tmpfs over a denied folder.
    MaskFolder(PathBuf),
    /// `/dev/null`, `nodev`, over a denied file: opening it fails.
    MaskFile(PathBuf),
}

/// Why a deny glob cannot be enforced for a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unmaskable {
    /// The glob, as written.
    pub(crate) glob: String,
    /// Why.
    pub(crate) reason: String,
}

/// The mounts for `grants`, given the files the run may execute. Denied
/// paths no mount can cover are returned apart, for the caller to refuse
/// the run or (with weaker confinement accepted) to run without them.
pub(super) fn plan(grants: &Grants, executables: &[PathBuf]) -> (Vec<Mount>, Vec<Unmaskable>) {
    let mut mounts = Vec::new();
    let mut unmaskable = Vec::new();
    let mut roots: Vec<&PathBuf> = grants
        .fs_write_roots()
        .iter()
        .filter(|root| !executables.iter().any(|file| file.starts_with(root)))
        // A root that does not exist holds nothing to mount (nor to write).
        .filter(|root| is_folder(root))
        .collect();
    roots.sort();
    roots.dedup();
    // Outer roots first, so a root inside another is bound over it.
    roots.sort_by_key(|root| root.components().count());
    for root in roots {
        mounts.push(Mount::Root {
            path: root.clone(),
            flags: noexec_flags(root),
        });
    }
    let patterns = grants.fs_deny().patterns();
    if patterns.is_empty() {
        return (mounts, unmaskable);
    }
    let all_roots: Vec<PathBuf> = grants
        .fs_read_roots()
        .iter()
        .chain(grants.fs_write_roots())
        .cloned()
        .collect();
    match denied_paths(grants, &all_roots) {
        Ok(found) => mounts.extend(found),
        Err(reason) => unmaskable.push(Unmaskable {
            glob: patterns.join(", "),
            reason,
        }),
    }
    for glob in &patterns {
        for root in grants.fs_write_roots() {
            if let Some(reason) = creatable(glob, root, grants.fs_deny().base()) {
                unmaskable.push(Unmaskable {
                    glob: glob.clone(),
                    reason,
                });
                break;
            }
        }
    }
    (mounts, unmaskable)
}

#[allow(
    clippy::disallowed_methods,
    reason = "looks at a granted root itself, without following links"
)]
fn is_folder(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir())
}

/// Every existing path under the roots that a deny glob covers, as a mask;
/// a covered folder is masked whole and not walked into.
#[allow(
    clippy::disallowed_methods,
    reason = "walks the granted roots, without following links, to find what the deny globs cover"
)]
fn denied_paths(grants: &Grants, roots: &[PathBuf]) -> Result<Vec<Mount>, String> {
    let deny = grants.fs_deny();
    let mut masked: BTreeSet<PathBuf> = BTreeSet::new();
    let mut masks = Vec::new();
    let mut pending: Vec<PathBuf> = roots.to_vec();
    let mut seen = 0usize;
    while let Some(path) = pending.pop() {
        seen += 1;
        if seen > MAX_WALK {
            return Err(format!(
                "the granted roots hold more than {MAX_WALK} entries, too many to find every path the deny globs cover"
            ));
        }
        if masked.iter().any(|done| path.starts_with(done)) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        // A link is judged where it leads, which Landlock and the masks of
        // its target cover; a mount would follow it and mask the target.
        if meta.file_type().is_symlink() {
            continue;
        }
        if deny.matching(&path).is_some() {
            masked.insert(path.clone());
            masks.push(if meta.is_dir() {
                Mount::MaskFolder(path)
            } else {
                Mount::MaskFile(path)
            });
            continue;
        }
        if meta.is_dir() {
            let entries = std::fs::read_dir(&path).map_err(|err| {
                format!(
                    "{} cannot be listed to find denied paths: {err}",
                    path.display()
                )
            })?;
            for entry in entries.flatten() {
                pending.push(entry.path());
            }
        }
    }
    Ok(masks)
}

#[allow(
    clippy::disallowed_methods,
    reason = "looks whether a path under a granted root exists, without following links"
)]
/// Why the child could create, in write root `root`, a path `glob` covers
/// that no mask hides; `None` when it cannot.
///
/// A glob is closed in a root when its literal part (the components before
/// the first wildcard), anchored at the policy's folder or absolute, either lies apart
/// from `root`, or names an existing folder or file that is masked whole
/// (`secrets/**`, `secrets`, `config/key.pem`): a mount point can be neither
/// removed nor renamed, and an empty read-only tmpfs holds nothing new.
fn creatable(glob: &str, root: &Path, base: &Path) -> Option<String> {
    let (literal, rest) = split_literal(glob);
    let whole = rest.is_empty() || rest == ["**"];
    let anchors: Vec<PathBuf> = if Path::new(glob).is_absolute() {
        vec![literal.clone()]
    } else if literal.as_os_str().is_empty() {
        // `**/.env` matches anywhere, also as an absolute path.
        vec![PathBuf::from("/")]
    } else {
        vec![base.join(&literal)]
    };
    for anchor in anchors {
        let overlaps = anchor.starts_with(root) || root.starts_with(&anchor);
        if !overlaps {
            continue;
        }
        let deeper = if anchor.starts_with(root) {
            &anchor
        } else {
            root
        };
        let exists = std::fs::symlink_metadata(deeper).is_ok_and(|m| !m.file_type().is_symlink());
        if !(whole && exists) {
            return Some(format!(
                "the program may create files in the write root {} that `{glob}` covers; Landlock cannot subtract a path from a root, and a mount can only mask a path that already exists",
                root.display()
            ));
        }
    }
    None
}

/// The components of `glob` before its first wildcard, and the rest.
fn split_literal(glob: &str) -> (PathBuf, Vec<&str>) {
    let mut literal = PathBuf::new();
    let mut parts = glob.split('/').peekable();
    if glob.starts_with('/') {
        literal.push(Component::RootDir.as_os_str());
    }
    while let Some(part) = parts.peek() {
        if part.contains(['*', '?', '[', '{', '\\']) {
            break;
        }
        if !part.is_empty() {
            literal.push(part);
        }
        parts.next();
    }
    (literal, parts.collect())
}

/// `MS_NOEXEC | MS_NOSUID | MS_NODEV`, with the flags the mount holding
/// `root` already has that a remount must keep (read-only, access times).
fn noexec_flags(root: &Path) -> libc::c_ulong {
    let mut flags = libc::MS_NOEXEC | libc::MS_NOSUID | libc::MS_NODEV;
    if let Some(existing) = mount_flags(root) {
        let keep = [
            (libc::ST_RDONLY, libc::MS_RDONLY),
            (libc::ST_NOATIME, libc::MS_NOATIME),
            (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
            (libc::ST_RELATIME, libc::MS_RELATIME),
        ];
        for (has, ms) in keep {
            if existing & has != 0 {
                flags |= ms;
            }
        }
    }
    flags
}

fn mount_flags(path: &Path) -> Option<libc::c_ulong> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value to be written into.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `stat` is valid to write.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut stat) };
    (rc == 0).then_some(stat.f_flag)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "tests build folders to plan for")]
mod tests {
    use super::*;

    #[test]
    fn the_literal_part_of_a_glob_ends_at_its_first_wildcard() {
        assert_eq!(
            split_literal("secrets/**"),
            (PathBuf::from("secrets"), vec!["**"])
        );
        assert_eq!(
            split_literal("**/.env"),
            (PathBuf::new(), vec!["**", ".env"])
        );
        assert_eq!(
            split_literal("/srv/keys/*.pem"),
            (PathBuf::from("/srv/keys"), vec!["*.pem"])
        );
    }

    #[test]
    fn a_glob_anywhere_cannot_be_closed_in_a_write_root() {
        let root = PathBuf::from("/w");
        assert!(creatable("**/.env", &root, &root).is_some());
        // A folder apart from the write root is no concern of it.
        assert!(creatable("/elsewhere/**", &root, &root).is_none());
        assert!(creatable("secrets/**", &root.join("out"), &root).is_none());
    }

    #[test]
    fn an_existing_denied_folder_in_a_write_root_is_closed_by_its_mask() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        assert!(creatable("secrets/**", &root, &root).is_some(), "absent");
        std::fs::create_dir(root.join("secrets")).unwrap();
        assert_eq!(creatable("secrets/**", &root, &root), None);
        assert!(creatable("secrets/*.key", &root, &root).is_some());
    }
}
