//! Confinement: every file a tool touches is reached through a capability
//! handle on a granted root, one name at a time.
//!
//! The model's path is mapped to a granted root and a path inside it
//! ([`Scope::open`]). The root is opened once per call as a [`Dir`]; from
//! there [`Scope::resolve`] walks the path one name at a time, opening each
//! folder with `O_NOFOLLOW` relative to the handle of its parent. Symbolic
//! links are read through those handles and followed by this code, never by
//! the kernel, so a link that climbs out of the root or names an absolute
//! path elsewhere is refused, and the path that results is exactly the one
//! opened: the deny rules are checked against it, not against what the model
//! wrote. Nothing is checked and then reopened by name: a file swapped for a
//! link after the walk makes the final `O_NOFOLLOW` open fail instead of
//! following it.

use std::collections::VecDeque;
use std::io;
use std::path::{Component, Path, PathBuf};

use cap_fs_ext::DirExt;
use cap_std::fs::{Dir, Metadata};
use unicode_normalization::UnicodeNormalization;

use crate::policy::{Grants, path};
use crate::shown;
use crate::{ErrorKind, ToolError};

/// How many symbolic links one path may pass through (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Which grants a tool works under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `[fs] read` roots.
    Read,
    /// `[fs] write` roots.
    Write,
}

/// What to do when the last name of a path is a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Last {
    /// Follow it (inside the root): reading, listing, searching.
    Follow,
    /// The link itself is the target: writing refuses it, deleting removes it.
    Keep,
}

pub use rustchain_core::files::EntryKind;

/// The kind of entry `meta` describes (taken without following a link).
pub fn kind_of(meta: &Metadata) -> EntryKind {
    let kind = meta.file_type();
    if kind.is_symlink() {
        EntryKind::Symlink
    } else if kind.is_dir() {
        EntryKind::Dir
    } else if kind.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}

/// One call's view of one granted root: the handle every name is opened
/// from, and the deny rules every opened path is checked against.
///
/// This is the layer under [`Fs`](super::Fs), for tools that walk folders or
/// keep a handle across several steps (the built-in file tools are written
/// with it). Nothing reachable from a `Scope` lies outside its root.
pub struct Scope<'g> {
    grants: &'g Grants,
    root_path: &'g Path,
    root: Dir,
    /// Appended to "the folder ... does not exist", to tell the model what to do.
    missing_folder_hint: &'static str,
}

/// A resolved path: the handle of the folder holding it and its last name.
pub struct Target {
    /// The folder holding the entry, or the entry itself when `name` is `None`.
    pub dir: Dir,
    /// The entry's name in `dir`; `None` when the path names `dir` itself
    /// (the root, or a folder reached through `..`).
    pub name: Option<String>,
    /// The path actually opened, relative to the root: no `.`, `..` or link left.
    pub rel: PathBuf,
    /// What the entry was when resolved (without following a last link
    /// under [`Last::Keep`]); `None` when it does not exist.
    pub kind: Option<EntryKind>,
}

/// The outermost of `roots` that `path` starts with.
fn holding<'r>(roots: &'r [PathBuf], path: &Path) -> Option<&'r PathBuf> {
    roots
        .iter()
        .filter(|root| path.starts_with(root))
        .min_by_key(|root| root.components().count())
}

impl<'g> Scope<'g> {
    /// Maps `path` to a granted root of `access` and opens that root.
    ///
    /// An absolute path must start with a granted root (the outermost one,
    /// when roots nest), as written or, when it names one through a
    /// symlinked alias, as the kernel would resolve it; a relative path is
    /// relative to the working directory. The names after the root are returned as written, `..`
    /// included: [`Scope::resolve`] applies each `..` after following the
    /// links before it, as the kernel does, and refuses one that would climb
    /// above the root.
    ///
    /// Refused (`denied`) when the policy grants no folder for `access`
    /// (outside an executor nothing is granted), or when the path lies
    /// outside every granted folder; `invalid_arguments` when the path is
    /// empty or not UTF-8 (no policy could name it).
    pub fn open(
        grants: &'g Grants,
        access: Access,
        path: &Path,
    ) -> Result<(Scope<'g>, Vec<String>), ToolError> {
        let (roots, table, doing) = match access {
            Access::Read => (grants.fs_read_roots(), "read", "reading"),
            Access::Write => (grants.fs_write_roots(), "write", "writing"),
        };
        let Some(first) = roots.first() else {
            return Err(denied(format!(
                "no folder is granted for {doing}; ask the operator to add one under [fs] {table} in the policy (a tool called outside an Executor has no grants)"
            )));
        };
        let Some(text) = path.to_str() else {
            return Err(ToolError::new(
                ErrorKind::InvalidArguments,
                format!(
                    "the path {} is not UTF-8 text; name a file whose path is",
                    shown(&path.to_string_lossy())
                ),
            ));
        };
        if text.is_empty() {
            return Err(ToolError::new(
                ErrorKind::InvalidArguments,
                "the path is empty; name a file or folder, like `notes/todo.md`",
            ));
        }
        // A relative path is relative to the working directory, as the kernel
        // and the policy's guard read it; then it must lie under a root.
        let joined;
        let written = if path.is_absolute() {
            path
        } else {
            joined = std::env::current_dir()
                .map_err(|err| {
                    ToolError::new(
                        ErrorKind::Failed,
                        format!("the working directory is unknown: {err}"),
                    )
                })?
                .join(path);
            joined.as_path()
        };
        let resolved;
        let (root_path, inside) = if written.is_absolute() {
            // A path that names a root through a symlinked alias (a root
            // granted as `/tmp/data` where `/tmp` is a link) is held by the
            // root where the kernel, and so the guard, would land. Only the
            // names after that root are walked, from the root's handle, as
            // for any path: the resolution chooses the root, never what is
            // reachable from it.
            let mut held = holding(roots, written).map(|root| (root, written));
            if held.is_none() {
                resolved = path::resolve(written, Path::new("/"));
                held = resolved
                    .as_deref()
                    .and_then(|within| holding(roots, within).map(|root| (root, within)));
            }
            let Some((root, within)) = held else {
                return Err(denied(format!(
                    "{} is outside every folder granted for {doing} ({}); use a path inside one of them",
                    shown(text),
                    list(roots)
                )));
            };
            let inside = within
                .strip_prefix(root)
                .expect("the root was chosen as a prefix of the path");
            (root.as_path(), inside)
        } else {
            (first.as_path(), written)
        };
        let names = names_of(inside);
        // The root comes from the policy, never from the model.
        #[allow(clippy::disallowed_methods)]
        let root =
            Dir::open_ambient_dir(root_path, cap_std::ambient_authority()).map_err(|err| {
                ToolError::new(
                    ErrorKind::Failed,
                    format!(
                        "the granted folder {} cannot be opened: {err}",
                        root_path.display()
                    ),
                )
            })?;
        Ok((
            Scope {
                grants,
                root_path,
                root,
                missing_folder_hint: "",
            },
            names,
        ))
    }

    /// Says what the model can do when a folder on the way does not exist
    /// (for example `"; fs_write creates missing folders with create_dirs: true"`),
    /// appended to that error's message.
    pub fn with_missing_folder_hint(mut self, hint: &'static str) -> Self {
        self.missing_folder_hint = hint;
        self
    }

    /// The granted folder this scope is confined to.
    pub fn root_path(&self) -> &Path {
        self.root_path
    }

    /// The absolute path of `rel`, for messages and results.
    pub fn show(&self, rel: &Path) -> String {
        if rel.as_os_str().is_empty() {
            self.root_path.display().to_string()
        } else {
            self.root_path.join(rel).display().to_string()
        }
    }

    /// Walks `names` from the root through handles, following links inside
    /// the root, and checks the deny rules against the path it arrives at.
    ///
    /// With `create_dirs`, missing folders on the way are created, once the
    /// deny rules have been checked against the whole path (a path that does
    /// not exist yet holds no link, so it is known before anything is made).
    pub fn resolve(
        &self,
        names: Vec<String>,
        last: Last,
        create_dirs: bool,
    ) -> Result<Target, ToolError> {
        let mut pending: VecDeque<String> = names.into();
        // The folders opened below the root, with their names.
        let mut opened: Vec<(Dir, String)> = Vec::new();
        let mut links = 0;
        let mut end: Option<(String, Option<EntryKind>)> = None;
        while let Some(name) = pending.pop_front() {
            match name.as_str() {
                "" | "." => continue,
                ".." => {
                    if opened.pop().is_none() {
                        return Err(denied(format!(
                            "the path climbs out of the granted folder {} through `..`",
                            self.root_path.display()
                        )));
                    }
                    continue;
                }
                _ => {}
            }
            let here = opened.last().map_or(&self.root, |(dir, _)| dir);
            let rel = rel_of(&opened, Some(&name));
            // Every name passed is checked, even one a later `..` leaves:
            // otherwise `secrets/x/../..` would tell whether `secrets/x` exists.
            if let Some(glob) = self.denied_by(&rel) {
                return Err(self.deny_error(&rel, glob));
            }
            let is_last = pending.is_empty();
            let meta = match here.symlink_metadata(&name) {
                Ok(meta) => meta,
                Err(err) if err.kind() == io::ErrorKind::NotFound && is_last => {
                    end = Some((name, None));
                    break;
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound && create_dirs => {
                    let mut rest: Vec<String> = std::iter::once(name).chain(pending).collect();
                    let last_name = rest.pop().expect("the missing name is not the last");
                    self.create_dirs(&mut opened, rest, &last_name)?;
                    end = Some((last_name, None));
                    break;
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    return Err(ToolError::new(
                        ErrorKind::Failed,
                        format!(
                            "the folder {} does not exist{}",
                            self.show(&rel),
                            self.missing_folder_hint
                        ),
                    ));
                }
                Err(err) => return Err(io_error(&err, &self.show(&rel))),
            };
            let kind = kind_of(&meta);
            if kind == EntryKind::Symlink && !(is_last && last == Last::Keep) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(ToolError::new(
                        ErrorKind::Failed,
                        format!(
                            "{} passes through more than {MAX_LINKS} symbolic links",
                            self.show(&rel)
                        ),
                    ));
                }
                let target = here
                    .read_link_contents(&name)
                    .map_err(|err| io_error(&err, &self.show(&rel)))?;
                let mut spliced = self.link_target(&rel, &target)?;
                if target.is_absolute() {
                    opened.clear();
                }
                spliced.extend(pending);
                pending = spliced;
                continue;
            }
            if is_last {
                end = Some((name, Some(kind)));
                break;
            }
            if kind != EntryKind::Dir {
                return Err(ToolError::new(
                    ErrorKind::Failed,
                    format!(
                        "{} is not a folder, so nothing can be inside it",
                        self.show(&rel)
                    ),
                ));
            }
            let dir = here
                .open_dir_nofollow(&name)
                .map_err(|err| io_error(&err, &self.show(&rel)))?;
            opened.push((dir, name));
        }
        let target = match end {
            Some((name, kind)) => Target {
                rel: rel_of(&opened, Some(&name)),
                dir: self.take_dir(opened)?,
                name: Some(name),
                kind,
            },
            None => Target {
                rel: rel_of(&opened, None),
                dir: self.take_dir(opened)?,
                name: None,
                kind: Some(EntryKind::Dir),
            },
        };
        self.check_deny(&target.rel)?;
        Ok(target)
    }

    /// Creates the folders `missing` below the last opened one, after
    /// checking the deny rules against the path they will complete.
    fn create_dirs(
        &self,
        opened: &mut Vec<(Dir, String)>,
        missing: Vec<String>,
        last_name: &str,
    ) -> Result<(), ToolError> {
        let missing: Vec<String> = missing
            .into_iter()
            .filter(|name| !name.is_empty() && name != ".")
            .collect();
        if missing.iter().any(|name| name == "..") {
            return Err(ToolError::new(
                ErrorKind::InvalidArguments,
                "a path whose folders are to be created cannot go back up with `..`; name the folders directly",
            ));
        }
        let mut full = rel_of(opened, None);
        full.extend(&missing);
        full.push(last_name);
        self.check_deny(&full)?;
        for name in missing {
            let parent = opened.last().map_or(&self.root, |(dir, _)| dir);
            let shown = self.show(&rel_of(opened, Some(&name)));
            match parent.create_dir(&name) {
                Ok(()) => {}
                // Made meanwhile: opening it without following links decides.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(io_error(&err, &shown)),
            }
            let dir = parent
                .open_dir_nofollow(&name)
                .map_err(|err| io_error(&err, &shown))?;
            opened.push((dir, name));
        }
        Ok(())
    }

    /// The names a link at `rel` leads to, relative to the folder holding it.
    fn link_target(&self, rel: &Path, target: &Path) -> Result<VecDeque<String>, ToolError> {
        // An absolute target is followed only when it names this root as
        // written; its `..` are then applied by the walk like any others.
        let inside = if target.is_absolute() {
            match target.strip_prefix(self.root_path) {
                Ok(inside) => inside,
                Err(_) => {
                    return Err(denied(format!(
                        "{} is a symbolic link to {}, outside the granted folder {}; links are followed only inside it",
                        self.show(rel),
                        target.display(),
                        self.root_path.display()
                    )));
                }
            }
        } else {
            target
        };
        let mut names = VecDeque::new();
        for component in inside.components() {
            match component {
                Component::Normal(name) => match name.to_str() {
                    Some(name) => names.push_back(name.to_owned()),
                    None => {
                        return Err(ToolError::new(
                            ErrorKind::Failed,
                            format!(
                                "{} is a symbolic link whose target is not UTF-8 text",
                                self.show(rel)
                            ),
                        ));
                    }
                },
                Component::ParentDir => names.push_back("..".to_owned()),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        Ok(names)
    }

    fn take_dir(&self, mut opened: Vec<(Dir, String)>) -> Result<Dir, ToolError> {
        match opened.pop() {
            Some((dir, _)) => Ok(dir),
            None => self.root.try_clone().map_err(|err| {
                ToolError::new(
                    ErrorKind::Failed,
                    format!("the granted folder cannot be reopened: {err}"),
                )
            }),
        }
    }

    /// Refuses `rel` when a deny rule matches it or one of the folders
    /// holding it, as written or in a form the file system may treat alike.
    pub fn check_deny(&self, rel: &Path) -> Result<(), ToolError> {
        let mut prefix = PathBuf::new();
        for component in rel.components() {
            prefix.push(component);
            if let Some(glob) = self.denied_by(&prefix) {
                return Err(self.deny_error(&prefix, glob));
            }
        }
        Ok(())
    }

    fn deny_error(&self, rel: &Path, glob: &str) -> ToolError {
        denied(format!(
            "{} matches the denied pattern {glob:?} of the policy; it may not be used",
            self.show(rel)
        ))
    }

    /// The deny glob matching `rel` itself (not the folders holding it), if any.
    pub fn denied_by(&self, rel: &Path) -> Option<&'g str> {
        let text = rel.to_str()?;
        let deny = self.grants.fs_deny();
        look_alikes(text)
            .into_iter()
            .find_map(|form| deny.matching(&self.root_path.join(form)))
    }
}

/// `text` and the forms a case-insensitive or normalising file system
/// (APFS, HFS+, NTFS, ext4 casefold) would take for the same name: NFC,
/// NFD, lower case, without default-ignorable code points, without the
/// trailing dots and spaces Windows drops.
pub fn look_alikes(text: &str) -> Vec<String> {
    let nfc: String = text.nfc().collect();
    let nfd: String = text.nfd().collect();
    let folded: String = nfc
        .chars()
        .filter(|c| !is_ignorable(*c))
        .collect::<String>()
        .to_lowercase()
        .nfc()
        .collect();
    let trimmed = folded
        .split('/')
        .map(|name| name.trim_end_matches(['.', ' ']))
        .collect::<Vec<_>>()
        .join("/");
    let mut forms = vec![text.to_owned()];
    for form in [nfc, nfd, folded, trimmed] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// Code points HFS+ ignores in names (and renderers hide), so `se\u{200B}crets`
/// names `secrets` there.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}')
}

fn rel_of(opened: &[(Dir, String)], last: Option<&str>) -> PathBuf {
    let mut rel: PathBuf = opened.iter().map(|(_, name)| name.as_str()).collect();
    if let Some(last) = last {
        rel.push(last);
    }
    rel
}

/// The names of a path below a root, `..` kept. [`Scope::open`] checked
/// that the path is UTF-8, so every name is.
fn names_of(inside: &Path) -> Vec<String> {
    inside
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect()
}

fn list(roots: &[PathBuf]) -> String {
    roots
        .iter()
        .map(|root| root.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A confinement refusal.
pub fn denied(message: impl Into<String>) -> ToolError {
    ToolError::new(ErrorKind::Denied, message)
}

/// An I/O error about `shown`, in words a model can act on.
pub fn io_error(err: &io::Error, shown: &str) -> ToolError {
    #[cfg(unix)]
    match err.raw_os_error() {
        Some(libc::ELOOP) => {
            return denied(format!(
                "{shown} is a symbolic link (or became one while being opened); links are not followed here"
            ));
        }
        Some(libc::ENAMETOOLONG) => {
            return ToolError::new(
                ErrorKind::InvalidArguments,
                format!("{shown} is longer than the system allows"),
            );
        }
        Some(libc::ENOTDIR) => {
            return ToolError::new(
                ErrorKind::Failed,
                format!("{shown}: a part of the path is not a folder"),
            );
        }
        _ => {}
    }
    let what = match err.kind() {
        io::ErrorKind::NotFound => {
            format!("{shown} does not exist; check the path")
        }
        io::ErrorKind::PermissionDenied => {
            format!("the operating system refused access to {shown}: {err}")
        }
        io::ErrorKind::AlreadyExists => format!("{shown} already exists"),
        _ => format!("{shown}: {err}"),
    };
    ToolError::new(ErrorKind::Failed, what)
}

#[cfg(all(test, unix))]
// Test fixtures are made with std::fs on paths the test chose, not a model.
#[allow(clippy::disallowed_methods)]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::Path;

    use crate::Policy;

    use super::*;

    /// A root with `sub/`, `secrets/key`, `docs/a.txt`, a file beside the
    /// root, and the policy granting the root with `secrets/**` denied.
    struct Fixture {
        _temp: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
        policy: Policy,
    }

    fn fixture() -> Fixture {
        let temp = tempfile::tempdir().unwrap();
        let base = temp.path().canonicalize().unwrap();
        let (root, outside) = (base.join("root"), base.join("outside"));
        for dir in [
            &root,
            &root.join("sub"),
            &root.join("secrets"),
            &root.join("docs"),
            &outside,
        ] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(root.join("secrets/key"), "KEY").unwrap();
        std::fs::write(root.join("docs/a.txt"), "a").unwrap();
        std::fs::write(outside.join("secret.txt"), "OUTSIDE").unwrap();
        let policy = Policy::from_toml(
            &format!(
                "[fs]\nread = [{root:?}]\nwrite = [{root:?}]\ndeny = [\"secrets/**\", \"**/clé.txt\"]\n"
            ),
            "<test>",
            &root,
        )
        .unwrap();
        Fixture {
            _temp: temp,
            root,
            outside,
            policy,
        }
    }

    fn path(text: &str) -> PathBuf {
        PathBuf::from(text)
    }

    /// `text` as the tools get it: a relative text is taken as relative to
    /// the root (the tools read relative paths from the working directory).
    fn in_root(fixture: &Fixture, text: &str) -> PathBuf {
        if Path::new(text).is_absolute() || text.is_empty() {
            path(text)
        } else {
            path(fixture.root.join(text).to_str().unwrap())
        }
    }

    /// Resolves `text` the way the tools do, with no guard in front.
    fn resolve(fixture: &Fixture, text: &str, last: Last) -> Result<Target, ToolError> {
        let (scope, names) = Scope::open(
            fixture.policy.grants(),
            Access::Read,
            &in_root(fixture, text),
        )?;
        scope.resolve(names, last, false)
    }

    fn refused(fixture: &Fixture, text: &str) -> ToolError {
        match resolve(fixture, text, Last::Follow) {
            Ok(target) => panic!("{text} resolved to {}", target.rel.display()),
            Err(err) => err,
        }
    }

    #[test]
    fn relative_and_absolute_paths_map_to_the_root() {
        let f = fixture();
        let target = resolve(&f, "docs/a.txt", Last::Follow).unwrap();
        assert_eq!(target.rel, Path::new("docs/a.txt"));
        assert_eq!(target.kind, Some(EntryKind::File));
        let absolute = f.root.join("sub/../docs/./a.txt");
        let target = resolve(&f, absolute.to_str().unwrap(), Last::Follow).unwrap();
        assert_eq!(target.rel, Path::new("docs/a.txt"));
        let root = resolve(&f, ".", Last::Follow).unwrap();
        assert!(root.name.is_none() && root.rel.as_os_str().is_empty());
    }

    #[test]
    fn dot_dot_and_outside_paths_are_refused_without_the_guard() {
        let f = fixture();
        for text in [
            "../../etc/passwd",
            "sub/../../outside/secret.txt",
            "/etc/passwd",
            "//etc/passwd",
        ] {
            assert_eq!(refused(&f, text).kind(), ErrorKind::Denied, "{text}");
        }
        let beside = f.outside.join("secret.txt");
        assert_eq!(
            refused(&f, beside.to_str().unwrap()).kind(),
            ErrorKind::Denied
        );
    }

    #[test]
    fn links_are_followed_only_inside_the_root() {
        let f = fixture();
        symlink(f.outside.join("secret.txt"), f.root.join("abs_out")).unwrap();
        symlink("../outside/secret.txt", f.root.join("rel_out")).unwrap();
        symlink("../../outside", f.root.join("sub/dir_out")).unwrap();
        symlink(f.root.join("docs/a.txt"), f.root.join("abs_in")).unwrap();
        symlink("../docs", f.root.join("sub/docs_in")).unwrap();
        symlink("loop_b", f.root.join("loop_a")).unwrap();
        symlink("loop_a", f.root.join("loop_b")).unwrap();
        for text in ["abs_out", "rel_out", "sub/dir_out/secret.txt"] {
            let err = refused(&f, text);
            assert_eq!(err.kind(), ErrorKind::Denied, "{text}: {err}");
            assert!(
                err.message().contains("outside") || err.message().contains("climbs"),
                "{err}"
            );
        }
        assert_eq!(
            resolve(&f, "abs_in", Last::Follow).unwrap().rel,
            Path::new("docs/a.txt")
        );
        assert_eq!(
            resolve(&f, "sub/docs_in/a.txt", Last::Follow).unwrap().rel,
            Path::new("docs/a.txt")
        );
        assert!(refused(&f, "loop_a").message().contains("symbolic links"));
        // `..` after a link leaves the link's target, as the kernel does.
        std::fs::create_dir_all(f.root.join("docs/deep")).unwrap();
        symlink("docs/deep", f.root.join("jump")).unwrap();
        assert_eq!(
            resolve(&f, "jump/../a.txt", Last::Follow).unwrap().rel,
            Path::new("docs/a.txt")
        );
        // Kept, a last link is the target itself, whatever it points to.
        let kept = resolve(&f, "abs_out", Last::Keep).unwrap();
        assert_eq!(kept.kind, Some(EntryKind::Symlink));
    }

    #[test]
    fn deny_rules_apply_to_the_path_opened_not_the_path_written() {
        let f = fixture();
        symlink("secrets", f.root.join("innocent")).unwrap();
        symlink("secrets/key", f.root.join("key_link")).unwrap();
        // `secrets/**` denies the folder itself too (the policy's reading).
        for text in [
            "secrets/key",
            "sub/../secrets/key",
            "innocent/key",
            "key_link",
            "secrets",
            "innocent",
            // Passing through a denied folder is denied too, whether or not
            // what is named there exists: no probing for denied names.
            "secrets/key/../../docs/a.txt",
            "secrets/nothing/../../docs/a.txt",
        ] {
            let err = refused(&f, text);
            assert_eq!(err.kind(), ErrorKind::Denied, "{text}: {err}");
            assert!(err.message().contains("secrets/**"), "{err}");
        }
    }

    #[test]
    fn names_that_look_alike_to_some_file_system_are_denied_too() {
        let f = fixture();
        // On a case-sensitive file system these are other names; on APFS,
        // NTFS or a casefold folder they are the denied ones.
        for name in [
            "Secrets",
            "SECRETS",
            "secrets\u{200B}",
            "secrets.",
            "Cle\u{301}.txt",
        ] {
            std::fs::create_dir_all(f.root.join(name)).unwrap();
            std::fs::write(f.root.join(name).join("key"), "KEY").unwrap();
        }
        std::fs::write(f.root.join("docs/CLE\u{301}.TXT"), "x").unwrap();
        for text in [
            "Secrets/key",
            "SECRETS/key",
            "secrets\u{200B}/key",
            "secrets./key",
            "docs/CLE\u{301}.TXT",
        ] {
            let err = refused(&f, text);
            assert_eq!(err.kind(), ErrorKind::Denied, "{text:?}: {err}");
        }
        assert!(resolve(&f, "docs/a.txt", Last::Follow).is_ok());
    }

    #[test]
    fn look_alikes_cover_case_normal_forms_and_ignorables() {
        let forms = look_alikes("Caf\u{e9}/Se\u{200D}crets");
        assert!(forms.contains(&"Caf\u{e9}/Se\u{200D}crets".to_owned()));
        assert!(forms.contains(&"Cafe\u{301}/Se\u{200D}crets".to_owned()));
        assert!(forms.contains(&"caf\u{e9}/secrets".to_owned()));
        assert_eq!(look_alikes("plain/name.txt"), ["plain/name.txt"]);
    }

    #[test]
    fn no_grant_means_no_access() {
        let err = Scope::open(&Grants::default(), Access::Write, &path("a.txt"))
            .err()
            .expect("refused");
        assert_eq!(err.kind(), ErrorKind::Denied);
        assert!(err.message().contains("[fs] write"), "{err}");
    }

    #[test]
    fn missing_folders_are_made_only_after_the_deny_check() {
        let f = fixture();
        let (scope, names) = Scope::open(
            f.policy.grants(),
            Access::Write,
            &in_root(&f, "new/deeper/file.txt"),
        )
        .unwrap();
        let target = scope.resolve(names, Last::Keep, true).unwrap();
        assert_eq!(target.rel, Path::new("new/deeper/file.txt"));
        assert!(f.root.join("new/deeper").is_dir());

        let (scope, names) = Scope::open(
            f.policy.grants(),
            Access::Write,
            &in_root(&f, "secrets/made/file.txt"),
        )
        .unwrap();
        let err = scope
            .resolve(names, Last::Keep, true)
            .err()
            .expect("denied");
        assert_eq!(err.kind(), ErrorKind::Denied);
        assert!(!f.root.join("secrets/made").exists());
    }
}
