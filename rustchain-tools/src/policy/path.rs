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

/// `path` with symlinks resolved in its longest existing ancestor.
pub fn resolve(path: &Path, base: &Path) -> PathBuf {
    let absolute = lexical_absolute(path, base);
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut resolved = real;
            for part in rest.iter().rev() {
                resolved.push(part);
            }
            // The remainder may hold `..` again only if it came from a link
            // target; lexical folding of our own input already removed it.
            return resolved;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Deny globs over paths, matched against the absolute path and against the
/// path relative to each root, so `secrets/**` and `**/.env` both read naturally.
#[derive(Debug, Clone)]
pub struct PathDeny {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Default for PathDeny {
    fn default() -> Self {
        PathDeny {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        }
    }
}

impl PathDeny {
    /// Compiles the deny globs; an invalid one is an error naming it.
    pub fn new<'a>(
        patterns: impl IntoIterator<Item = &'a str>,
    ) -> Result<PathDeny, (usize, String)> {
        let mut builder = GlobSetBuilder::new();
        let mut kept = Vec::new();
        for (index, pattern) in patterns.into_iter().enumerate() {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|err| (index, format!("bad glob `{pattern}`: {}", err.kind())))?;
            builder.add(glob);
            kept.push(pattern.to_owned());
        }
        let set = builder.build().map_err(|err| (0, err.to_string()))?;
        Ok(PathDeny {
            patterns: kept,
            set,
        })
    }

    /// The first deny glob matching `path` (absolute, or relative to one of `roots`).
    pub fn matching(&self, path: &Path, roots: &[PathBuf]) -> Option<&str> {
        let mut candidates = vec![path.to_path_buf()];
        candidates.extend(
            roots
                .iter()
                .filter_map(|root| path.strip_prefix(root).ok().map(Path::to_path_buf)),
        );
        candidates.iter().find_map(|candidate| {
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
    fn deny_globs_match_absolute_and_root_relative_paths() {
        let deny = PathDeny::new(["secrets/**", "**/.env"]).unwrap();
        let roots = [PathBuf::from("/work")];
        assert_eq!(
            deny.matching(Path::new("/work/secrets/key"), &roots),
            Some("secrets/**")
        );
        assert_eq!(
            deny.matching(Path::new("/work/app/.env"), &roots),
            Some("**/.env")
        );
        assert_eq!(deny.matching(Path::new("/work/app/env"), &roots), None);
        assert!(PathDeny::new(["a[", "ok"]).is_err());
    }
}
