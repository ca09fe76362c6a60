//! File grants: resolving a `#[fs]` value to the path it would open, and
//! checking it against the granted roots and the deny globs.
//!
//! The check is lexical (`.` and `..` folded without asking the file system)
//! and then follows symlinks in the longest part of the path that exists, so
//! a link inside a root that points outside it is judged by its target. Tools
//! that open files must still open them through the granted roots (the
//! built-in file tools use capability handles), since the file system can
//! change between this check and the open.

use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::decision::{Decision, Judged, Refusal, list};
use super::grants::{Grant, Grants};

/// Which `[fs]` table a value is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FsUse {
    Read,
    Write,
}

impl FsUse {
    fn table(self) -> &'static str {
        match self {
            FsUse::Read => "read",
            FsUse::Write => "write",
        }
    }

    fn root(self, grant: &Grant) -> Option<&Path> {
        match (self, grant) {
            (FsUse::Read, Grant::FsRead(root)) | (FsUse::Write, Grant::FsWrite(root)) => Some(root),
            _ => None,
        }
    }
}

/// May a `#[fs]` value be opened for `using`? Allowed by the first granted
/// root holding the path the kernel would open, unless a deny glob matches it.
pub(super) fn decide(grants: &Grants, origin: &str, using: FsUse, value: &str) -> Judged {
    let table = using.table();
    if value.is_empty() {
        return Err(Refusal::new("input", "the path is empty"));
    }
    // A relative path is relative to the working directory, as the kernel
    // (and so every tool, built-in or not) opens it.
    let cwd = std::env::current_dir().unwrap_or_default();
    let Some(resolved) = resolve(Path::new(value), &cwd) else {
        return Err(Refusal::new(
            "input",
            "the path goes through too many symbolic links",
        ));
    };
    let holding = grants.iter().find_map(|(grant, rule)| {
        using
            .root(grant)
            .filter(|root| resolved.starts_with(root))
            .map(|_| rule)
    });
    let roots = match using {
        FsUse::Read => grants.fs_read_roots(),
        FsUse::Write => grants.fs_write_roots(),
    };
    let Some(rule) = holding else {
        return Err(Refusal::new(
            format!("fs.{table}"),
            format!(
                "{} is outside every granted {table} root ({}); ask the operator to add a root under [fs] {table} in {origin}",
                resolved.display(),
                list(roots.iter().map(|r| r.display().to_string())),
            ),
        ));
    };
    if let Some(glob) = grants.fs_deny().matching(&resolved) {
        let rule = grants
            .iter()
            .find_map(|(grant, rule)| match grant {
                Grant::FsDeny(pattern) if pattern == glob => Some(rule.text.clone()),
                _ => None,
            })
            .unwrap_or_else(|| format!("fs.deny {glob:?}"));
        return Err(Refusal::new(
            rule,
            format!("{} matches a denied pattern", resolved.display()),
        ));
    }
    Ok(Decision::allow(
        rule.text.clone(),
        format!("{} is inside a granted root", resolved.display()),
    ))
}

/// Folds `.` and `..` in `path` (absolute, or relative to `base`) without touching the disk.
pub fn lexical_absolute(path: &Path, base: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::Prefix(prefix) => out.push(prefix.as_os_str()),
            Component::RootDir => out.push(Component::RootDir.as_os_str()),
            Component::CurDir => {}
            // `..` at the root stays at the root, as the kernel does.
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
        }
    }
    out
}

/// Most symlinks followed while resolving one path, as the kernel's limit (ELOOP).
const MAX_LINKS: usize = 40;

/// The path the kernel would open for `path` (absolute, or relative to
/// `base`): each existing component is followed if it is a symlink *before*
/// the next `..` is applied, exactly in the kernel's order, so neither
/// `root/link/../x` nor a dangling link can point outside the place it seems
/// to. Components that do not exist yet are taken as written.
///
/// `None` when symlinks loop (more than 40 are followed).
pub fn resolve(path: &Path, base: &Path) -> Option<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let joined = if joined.is_relative() {
        std::env::current_dir().unwrap_or_default().join(joined)
    } else {
        joined
    };
    let mut pending: std::collections::VecDeque<std::ffi::OsString> =
        std::collections::VecDeque::new();
    let mut out = PathBuf::new();
    push_components(&joined, &mut pending, &mut out);
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        match part.to_str() {
            Some(".") => continue,
            Some("..") => {
                out.pop();
                continue;
            }
            _ => {}
        }
        let candidate = out.join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                let Ok(target) = std::fs::read_link(&candidate) else {
                    return None;
                };
                // The target replaces the link: absolute from the root, relative from the link's folder.
                let mut rest: Vec<std::ffi::OsString> = Vec::new();
                if target.is_absolute() {
                    out = PathBuf::new();
                    push_components(&target, &mut std::collections::VecDeque::new(), &mut out);
                }
                for component in target.components() {
                    match component {
                        Component::Normal(name) => rest.push(name.to_owned()),
                        Component::ParentDir => rest.push("..".into()),
                        Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
                    }
                }
                for name in rest.into_iter().rev() {
                    pending.push_front(name);
                }
            }
            _ => out = candidate,
        }
    }
    Some(out)
}

/// Splits `path` into its root (written to `out`) and its remaining components.
fn push_components(
    path: &Path,
    pending: &mut std::collections::VecDeque<std::ffi::OsString>,
    out: &mut PathBuf,
) {
    for component in path.components() {
        match component {
            Component::Prefix(prefix) => out.push(prefix.as_os_str()),
            Component::RootDir => out.push(Component::RootDir.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => pending.push_back("..".into()),
            Component::Normal(name) => pending.push_back(name.to_owned()),
        }
    }
}

/// Deny globs over paths: one set, for every access kind (read, write,
/// list), every tool and every child process. A relative glob is anchored
/// at the policy file's folder (`secrets/**` is that folder's `secrets`,
/// whichever root a path is reached through); an absolute glob is matched
/// as written; a glob that starts with `**/` (`**/.env`) matches anywhere.
///
/// ```
/// use std::path::Path;
/// use rustchain_tools::policy::path::PathDeny;
///
/// let deny = PathDeny::new(["secrets/**", "**/.env"], Path::new("/work")).unwrap();
/// assert_eq!(deny.matching(Path::new("/work/secrets/key")), Some("secrets/**"));
/// assert_eq!(deny.matching(Path::new("/work/out/secrets/key")), None);
/// assert_eq!(deny.matching(Path::new("/elsewhere/.env")), Some("**/.env"));
/// ```
#[derive(Debug, Clone)]
pub struct PathDeny {
    patterns: Vec<String>,
    set: GlobSet,
    /// The folder relative globs are anchored at.
    base: PathBuf,
}

impl Default for PathDeny {
    fn default() -> Self {
        PathDeny {
            patterns: Vec::new(),
            set: GlobSet::empty(),
            base: PathBuf::from("/"),
        }
    }
}

impl PathDeny {
    /// Compiles the deny globs, relative ones anchored at `base`; an invalid
    /// one is an error naming it.
    pub fn new<'a>(
        patterns: impl IntoIterator<Item = &'a str>,
        base: &Path,
    ) -> Result<PathDeny, (usize, String)> {
        let mut builder = GlobSetBuilder::new();
        let mut kept = Vec::new();
        for (index, pattern) in patterns.into_iter().enumerate() {
            let compile = |text: &str| {
                // Case-insensitive: on a file system that folds case, `Secrets/key`
                // is `secrets/key`; a deny rule errs towards refusing.
                GlobBuilder::new(text)
                    .literal_separator(true)
                    .case_insensitive(true)
                    .build()
                    .map_err(|err| (index, format!("bad glob `{pattern}`: {}", err.kind())))
            };
            builder.add(compile(pattern)?);
            kept.push(pattern.to_owned());
            // `secrets/**` denies the folder `secrets` too: listing it would show what it holds.
            if let Some(folder) = pattern.strip_suffix("/**").filter(|f| !f.is_empty()) {
                builder.add(compile(folder)?);
                kept.push(pattern.to_owned());
            }
        }
        let set = builder.build().map_err(|err| (0, err.to_string()))?;
        Ok(PathDeny {
            patterns: kept,
            set,
            // Resolved as the roots are, so a root reached through a link
            // in the policy's folder is still under it.
            base: {
                let cwd = std::env::current_dir().unwrap_or_default();
                resolve(base, &cwd).unwrap_or_else(|| lexical_absolute(base, &cwd))
            },
        })
    }

    /// The globs as written, each once.
    pub fn patterns(&self) -> Vec<String> {
        let mut written: Vec<String> = Vec::new();
        for pattern in &self.patterns {
            if !written.contains(pattern) {
                written.push(pattern.clone());
            }
        }
        written
    }

    /// The folder relative globs are anchored at.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The first deny glob matching `path` (absolute): as written, or
    /// relative to the policy's folder when it lies inside it.
    pub fn matching(&self, path: &Path) -> Option<&str> {
        let relative = path.strip_prefix(&self.base).ok();
        [Some(path), relative]
            .into_iter()
            .flatten()
            .find_map(|candidate| {
                self.set
                    .matches(candidate)
                    .first()
                    .map(|&i| self.patterns[i].as_str())
            })
    }
}

/// The root among `roots` that holds `path`, if any.
pub fn root_holding<'r>(path: &Path, roots: &'r [PathBuf]) -> Option<&'r Path> {
    roots
        .iter()
        .map(PathBuf::as_path)
        .find(|root| path.starts_with(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_cannot_climb_out_lexically() {
        let base = Path::new("/srv/data");
        assert_eq!(
            lexical_absolute(Path::new("../../etc/passwd"), base),
            Path::new("/etc/passwd")
        );
        assert_eq!(
            lexical_absolute(Path::new("a/./b/../c"), base),
            Path::new("/srv/data/a/c")
        );
        assert_eq!(
            lexical_absolute(Path::new("/../../x"), base),
            Path::new("/x")
        );
        assert_eq!(
            lexical_absolute(Path::new("//etc/passwd"), base),
            Path::new("/etc/passwd")
        );
    }

    #[test]
    fn deny_globs_are_anchored_at_the_policys_folder() {
        let deny =
            PathDeny::new(["secrets/**", "**/.env", "/srv/keys/*"], Path::new("/work")).unwrap();
        assert_eq!(
            deny.matching(Path::new("/work/secrets/key")),
            Some("secrets/**")
        );
        assert_eq!(
            deny.matching(Path::new("/work/secrets")),
            Some("secrets/**")
        );
        // Not relative to whichever root a path is reached through.
        assert_eq!(deny.matching(Path::new("/work/out/secrets/key")), None);
        assert_eq!(deny.matching(Path::new("/work/app/.env")), Some("**/.env"));
        assert_eq!(deny.matching(Path::new("/other/.env")), Some("**/.env"));
        assert_eq!(deny.matching(Path::new("/srv/keys/a")), Some("/srv/keys/*"));
        assert_eq!(deny.matching(Path::new("/work/app/env")), None);
        assert!(PathDeny::new(["a[", "ok"], Path::new("/")).is_err());
    }
}
