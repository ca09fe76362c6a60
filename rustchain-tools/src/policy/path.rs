//! File grants: resolving a `#[fs]` value to the path it would open, and
//! checking it against the granted roots and the deny globs.
//!
//! The check follows symlinks in the longest part of the path that exists,
//! in the kernel's order, so a link inside a root that points outside it is
//! judged by its target. On Linux the kernel is asked where the path lands
//! (one `openat2`, see `landing`); elsewhere, and wherever that cannot answer
//! exactly, the path is walked one component at a time. Tools
//! that open files must still open them through the granted roots (the
//! built-in file tools use capability handles), since the file system can
//! change between this check and the open.

use std::path::{Component, Path, PathBuf};

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};

use super::decision::{Decision, Judged, Refusal, list};
use super::grants::{Grant, Grants, Rule};

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
    let (resolved, rule) = admit(grants, origin, using, value)?;
    Ok(Decision::allow(
        rule.text.clone(),
        format!("{} is inside a granted root", resolved.display()),
    ))
}

/// [`decide`] without the text of an allowing decision: the path the
/// kernel would open and the root's rule that holds it, or the refusal.
/// What the executor asks on every guarded call, where an allowing
/// decision is not recorded and its text would be thrown away.
pub(super) fn admit<'g>(
    grants: &'g Grants,
    origin: &str,
    using: FsUse,
    value: &str,
) -> Result<(PathBuf, &'g Rule), Refusal> {
    let table = using.table();
    if value.is_empty() {
        return Err(Refusal::new("input", "the path is empty"));
    }
    // A relative path is relative to the working directory, as the kernel
    // (and so every tool, built-in or not) opens it; an absolute one needs no
    // `getcwd`.
    let path = Path::new(value);
    let cwd = if path.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    let Some(resolved) = resolve(path, &cwd) else {
        return Err(Refusal::new(
            "input",
            "the path goes through too many symbolic links",
        ));
    };
    let holding = grants.iter().find_map(|(grant, rule)| {
        using
            .root(grant)
            .filter(|root| below(&resolved, root).is_some())
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
    Ok((resolved, rule))
}

/// Whether `bytes` is an absolute path in normal form: each name between
/// slashes is there and is neither `.` nor `..`, as `Path::components`
/// would give it back. Such paths compare as paths by comparing bytes.
pub(super) fn is_normal(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'/')
        && (bytes.len() == 1
            || bytes[1..]
                .split(|&b| b == b'/')
                .all(|name| !name.is_empty() && name != b"." && name != b".."))
}

/// `path` below `prefix`, as `Path::strip_prefix` answers: by comparing
/// bytes when both are in normal form (what a resolved path and a policy's
/// roots are), a few instructions a byte instead of parsing both into
/// components; otherwise by `strip_prefix` itself.
fn below<'p>(path: &'p Path, prefix: &Path) -> Option<&'p Path> {
    #[cfg(unix)]
    {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let (bytes, head) = (path.as_os_str().as_bytes(), prefix.as_os_str().as_bytes());
        if is_normal(bytes) && is_normal(head) {
            let rest = bytes.strip_prefix(head)?;
            let rest = match rest.first() {
                _ if head == b"/" => rest,
                None => rest,
                Some(b'/') => &rest[1..],
                Some(_) => return None,
            };
            return Some(Path::new(OsStr::from_bytes(rest)));
        }
    }
    path.strip_prefix(prefix).ok()
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
/// On Linux the kernel is asked (one `openat2` and a `readlink`, about three
/// system calls); where it cannot answer exactly, as [`resolve_by_walking`].
///
/// `None` when symlinks loop (more than 40 are followed).
pub fn resolve(path: &Path, base: &Path) -> Option<PathBuf> {
    let joined = absolute(path, base);
    #[cfg(target_os = "linux")]
    let joined = match super::landing::land(joined) {
        Ok(landed) => return Some(landed),
        Err(joined) => joined,
    };
    walk(&joined)
}

/// [`resolve`] by a `stat` of each component, following symlinks by reading
/// them: the reference the kernel's answer must equal, and the way on
/// systems without `openat2`.
///
/// ```
/// use std::path::Path;
/// use rustchain_tools::policy::path::{resolve, resolve_by_walking};
///
/// let (path, base) = (Path::new("../no/such/file"), Path::new("/"));
/// assert_eq!(resolve_by_walking(path, base), Some("/no/such/file".into()));
/// assert_eq!(resolve_by_walking(path, base), resolve(path, base));
/// ```
pub fn resolve_by_walking(path: &Path, base: &Path) -> Option<PathBuf> {
    walk(&absolute(path, base))
}

/// `path` made absolute: as written, or under `base`, or under the working
/// directory when `base` is relative too.
fn absolute(path: &Path, base: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    if joined.is_relative() {
        std::env::current_dir().unwrap_or_default().join(joined)
    } else {
        joined
    }
}

/// The walk behind [`resolve_by_walking`], over an absolute path.
fn walk(joined: &Path) -> Option<PathBuf> {
    let mut pending: std::collections::VecDeque<std::ffi::OsString> =
        std::collections::VecDeque::new();
    let mut out = PathBuf::new();
    push_components(joined, &mut pending, &mut out);
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
        let relative = below(path, &self.base);
        [Some(path), relative]
            .into_iter()
            .flatten()
            .find_map(|candidate| {
                let candidate = Candidate::new(candidate);
                // `matches` builds a list; the common answer (no glob) needs none.
                if !self.set.is_match_candidate(&candidate) {
                    return None;
                }
                self.set
                    .matches_candidate(&candidate)
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
    fn below_answers_as_strip_prefix_does() {
        let paths = [
            "/", "/a", "/a/b", "/a/bc", "/ab", "/a/b/c", "/a//b", "/a/./b", "/a/../b", "/a/b/",
            "a/b", "",
        ];
        for path in paths {
            for prefix in paths {
                let (path, prefix) = (Path::new(path), Path::new(prefix));
                assert_eq!(
                    below(path, prefix),
                    path.strip_prefix(prefix).ok(),
                    "{} below {}",
                    path.display(),
                    prefix.display()
                );
            }
        }
    }

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

    /// A tree with every kind of name the walk treats specially: relative,
    /// absolute, climbing, dangling and looping links, a file, a folder.
    #[cfg(unix)]
    fn tricky_tree() -> (tempfile::TempDir, PathBuf) {
        use std::os::unix::fs::symlink;
        let temp = tempfile::tempdir().unwrap();
        let top = temp.path().canonicalize().unwrap();
        let root = top.join("root");
        std::fs::create_dir_all(root.join("a/deep")).unwrap();
        std::fs::create_dir_all(top.join("outside")).unwrap();
        std::fs::write(root.join("a/f"), "x").unwrap();
        std::fs::write(root.join("file"), "x").unwrap();
        symlink("a", root.join("b")).unwrap();
        symlink(root.join("a/deep"), root.join("abs")).unwrap();
        symlink(top.join("outside"), root.join("out")).unwrap();
        symlink("..", root.join("up")).unwrap();
        symlink(".", root.join("here")).unwrap();
        symlink("nowhere/x", root.join("dangling")).unwrap();
        symlink(top.join("gone/y"), root.join("dangling_abs")).unwrap();
        symlink("../outside/made", root.join("a/leaves")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        (temp, root)
    }

    #[cfg(unix)]
    proptest::proptest! {
        /// Asking the kernel gives the walk's answer for every path through
        /// links, `..`, missing names and files, absolute or relative.
        #[test]
        fn resolving_by_the_kernel_equals_the_walk(
            names in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "b", "abs", "out", "up", "here", "dangling", "dangling_abs",
                    "leaves", "loop1", "file", "f", "deep", "missing", "..", ".", "",
                ]),
                0..7,
            ),
            relative in proptest::bool::ANY,
        ) {
            let (_temp, root) = tricky_tree();
            let text = names.join("/");
            let (path, base) = if relative {
                (PathBuf::from(&text), root.clone())
            } else {
                (root.join(&text), PathBuf::from("/"))
            };
            proptest::prop_assert_eq!(
                resolve(&path, &base),
                resolve_by_walking(&path, &base),
                "{}", path.display()
            );
        }
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
