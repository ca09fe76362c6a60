//! What can be registered: a `.rs` file of `#[tool]` functions, with its
//! dependencies in a cargo frontmatter block (as `cargo -Zscript` reads it),
//! or a tool crate's folder.
//!
//! ```text
//! ---cargo
//! [dependencies]
//! regex = "1"
//! ---
//! use rustchain::tool;
//! ...
//! ```

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{AgentError, AgentErrorKind, Registration, SourceKind};

/// A file's text split at its frontmatter.
#[derive(Debug, PartialEq)]
pub(in crate::cli) struct Split {
    /// The frontmatter's `[dependencies]`, empty without one.
    pub(in crate::cli) dependencies: toml::Table,
    /// The frontmatter's `[package]` table (metadata `tools publish` reads), empty without one.
    pub(in crate::cli) package: toml::Table,
    /// The Rust source, the frontmatter's lines left blank so that line
    /// numbers in compiler errors are the file's own.
    pub(in crate::cli) rust: String,
}

/// Splits a file's text into its frontmatter's dependencies and its Rust.
///
/// The frontmatter is a block fenced by lines of three or more dashes, the
/// opening one optionally followed by `cargo`, at the top of the file (after
/// a `#!` line, if any). Of its TOML only `[dependencies]` is read; a
/// `[package]` table is kept for `tools publish`, any other table is refused.
pub(in crate::cli) fn split_frontmatter(text: &str) -> Result<Split, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let first = usize::from(
        lines
            .first()
            .is_some_and(|line| line.starts_with("#!") && !line.starts_with("#![")),
    );
    let Some(opening) = lines.get(first).map(|line| line.trim_end()) else {
        return Ok(plain(text));
    };
    let dashes = opening.chars().take_while(|&c| c == '-').count();
    if dashes < 3 {
        return Ok(plain(text));
    }
    let info = opening[dashes..].trim();
    if !info.is_empty() && info != "cargo" {
        return Err(format!(
            "line {}: the frontmatter is for `cargo`, not `{info}`",
            first + 1
        ));
    }
    let fence = &opening[..dashes];
    let close = lines[first + 1..]
        .iter()
        .position(|line| line.trim_end() == fence)
        .map(|offset| first + 1 + offset)
        .ok_or_else(|| {
            format!(
                "line {}: the frontmatter opened here is never closed (a line `{fence}`)",
                first + 1
            )
        })?;
    let toml_text: String = lines[first + 1..close].concat();
    let (dependencies, package) = read_manifest(&toml_text)?;
    let mut rust = String::with_capacity(text.len());
    for (index, line) in lines.iter().enumerate() {
        if (first..=close).contains(&index) {
            rust.push('\n');
        } else {
            rust.push_str(line);
        }
    }
    Ok(Split {
        dependencies,
        package,
        rust,
    })
}

fn plain(text: &str) -> Split {
    Split {
        dependencies: toml::Table::new(),
        package: toml::Table::new(),
        rust: text.to_owned(),
    }
}

/// The `[dependencies]` and `[package]` of a frontmatter's TOML.
fn read_manifest(text: &str) -> Result<(toml::Table, toml::Table), String> {
    let mut table: toml::Table =
        toml::from_str(text).map_err(|err| format!("the frontmatter is not valid TOML: {err}"))?;
    if let Some(key) = table
        .keys()
        .find(|key| !matches!(key.as_str(), "dependencies" | "package"))
    {
        return Err(format!(
            "the frontmatter's `{key}` is not read; only [dependencies] is (other settings belong in a crate of your own, which `tools register` also takes)"
        ));
    }
    let package = match table.remove("package") {
        None => toml::Table::new(),
        Some(toml::Value::Table(package)) => package,
        Some(_) => return Err("the frontmatter's `package` must be a table".to_owned()),
    };
    match table.remove("dependencies") {
        None => Ok((toml::Table::new(), package)),
        Some(toml::Value::Table(dependencies)) => Ok((dependencies, package)),
        Some(_) => Err("the frontmatter's `dependencies` must be a table".to_owned()),
    }
}

/// `--dep NAME@VERSION` (or `NAME`, any version) as a dependency entry.
pub(in crate::cli) fn parse_dep(text: &str) -> Result<(String, toml::Value), String> {
    let (name, version) = text.split_once('@').unwrap_or((text, "*"));
    if !is_package_name(name) {
        return Err(format!(
            "`--dep {text}`: `{name}` is not a crate name (letters, digits, `-` and `_`)"
        ));
    }
    if version.trim().is_empty() {
        return Err(format!(
            "`--dep {text}`: give a version after `@` (`{name}@1`), or none for any"
        ));
    }
    Ok((name.to_owned(), toml::Value::String(version.to_owned())))
}

/// Whether `name` can be a Cargo package name.
pub(in crate::cli) fn is_package_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= 64
}

/// A path given to `tools register`, read into the registration it makes.
///
/// `deps` come from `--dep`, which only a file takes: a crate lists its
/// dependencies in its own `Cargo.toml`.
pub(in crate::cli) fn resolve(
    path: &Path,
    deps: &[String],
    relative: impl Fn(&Path) -> PathBuf,
) -> Result<Registration, AgentError> {
    let invalid = |message: String| AgentError::new(AgentErrorKind::InvalidSource, message);
    let absolute = std::path::absolute(path)
        .and_then(|path| path.canonicalize())
        .map_err(|err| {
            AgentError::new(
                AgentErrorKind::MissingSource,
                format!(
                    "{}: no such file or folder ({err}); give a `.rs` file of #[tool] functions or a tool crate's folder",
                    path.display()
                ),
            )
        })?;
    let (name, kind) = if absolute.is_dir() {
        if !deps.is_empty() {
            return Err(invalid(format!(
                "{}: `--dep` is for a single `.rs` file; a crate lists its dependencies in its Cargo.toml",
                path.display()
            )));
        }
        (crate_name(&absolute)?, SourceKind::Crate)
    } else if absolute.extension().is_some_and(|ext| ext == "rs") {
        let stem = absolute
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default();
        if !is_package_name(stem) {
            return Err(invalid(format!(
                "{}: the file's name becomes its crate's, so it must be one (letters, digits, `-`, `_`, starting with a letter)",
                path.display()
            )));
        }
        // Read now, so a bad frontmatter is refused before anything is built.
        read_file(&absolute)?;
        (stem.to_owned(), SourceKind::File)
    } else {
        return Err(invalid(format!(
            "{}: not a `.rs` file or a crate's folder",
            path.display()
        )));
    };
    let mut dependencies = toml::Table::new();
    for dep in deps {
        let (name, version) = parse_dep(dep).map_err(invalid)?;
        dependencies.insert(name, version);
    }
    Ok(Registration {
        name,
        source: relative(&absolute),
        kind,
        dependencies,
        tools: Vec::new(),
    })
}

/// A registered file's text, split at its frontmatter.
pub(in crate::cli) fn read_file(path: &Path) -> Result<Split, AgentError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        AgentError::new(
            AgentErrorKind::MissingSource,
            format!("could not read {}: {err}", path.display()),
        )
    })?;
    split_frontmatter(&text).map_err(|message| {
        AgentError::new(
            AgentErrorKind::InvalidSource,
            format!("{}: {message}", path.display()),
        )
    })
}

/// The package name in a crate folder's `Cargo.toml`, if it is a library.
fn crate_name(folder: &Path) -> Result<String, AgentError> {
    let invalid = |message: String| AgentError::new(AgentErrorKind::InvalidSource, message);
    let manifest = folder.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|_| {
        invalid(format!(
            "{}: a folder to register must be a tool crate's, with a Cargo.toml (`rustchain tools new NAME` makes one)",
            folder.display()
        ))
    })?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|err| invalid(format!("{}: not valid TOML: {err}", manifest.display())))?;
    let name = table
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| invalid(format!("{}: no [package] name", manifest.display())))?;
    let has_lib = table.contains_key("lib") || folder.join("src/lib.rs").is_file();
    if !has_lib {
        return Err(invalid(format!(
            "{}: the crate `{name}` has no library, so it has no tools to link",
            folder.display()
        )));
    }
    Ok(name.to_owned())
}

/// The newest modification time among what a source is built from: the
/// file itself, or a crate's `Cargo.toml` and everything under `src/`.
pub(in crate::cli) fn newest_change(path: &Path, kind: SourceKind) -> Option<SystemTime> {
    match kind {
        SourceKind::File => modified(path),
        SourceKind::Crate => {
            let mut newest = modified(&path.join("Cargo.toml"));
            let mut folders = vec![path.join("src")];
            while let Some(folder) = folders.pop() {
                let Ok(entries) = std::fs::read_dir(&folder) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let entry_path = entry.path();
                    if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                        folders.push(entry_path);
                    } else {
                        newest = newest.max(modified(&entry_path));
                    }
                }
            }
            newest
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_frontmatter_is_all_rust() {
        let text = "use rustchain::tool;\n// ---\n";
        let split = split_frontmatter(text).expect("plain Rust");
        assert_eq!(split.rust, text);
        assert!(split.dependencies.is_empty());
    }

    #[test]
    fn the_frontmatter_gives_dependencies_and_keeps_line_numbers() {
        let text = "---cargo\n[dependencies]\nregex = \"1\"\nlocal = { path = \"../x\" }\n---\nfn main() {}\n";
        let split = split_frontmatter(text).expect("a frontmatter");
        assert_eq!(split.rust, "\n\n\n\n\nfn main() {}\n");
        assert_eq!(split.dependencies["regex"].as_str(), Some("1"));
        assert!(split.dependencies["local"].is_table());
    }

    #[test]
    fn a_shebang_line_may_come_first_and_stays() {
        let text = "#!/usr/bin/env cargo\n---\n[dependencies]\nregex = \"1\"\n---\nfn f() {}\n";
        let split = split_frontmatter(text).expect("a frontmatter");
        assert_eq!(split.rust, "#!/usr/bin/env cargo\n\n\n\n\nfn f() {}\n");
        assert_eq!(split.dependencies.len(), 1);
        // An inner attribute is Rust, not a shebang.
        let split = split_frontmatter("#![allow(dead_code)]\n").expect("plain");
        assert!(split.dependencies.is_empty());
    }

    #[test]
    fn a_broken_frontmatter_is_refused_with_the_reason() {
        let unclosed = split_frontmatter("---\n[dependencies]\n").expect_err("unclosed");
        assert!(unclosed.contains("never closed"), "{unclosed}");
        let other = split_frontmatter("---python\n---\n").expect_err("not cargo's");
        assert!(other.contains("not `python`"), "{other}");
        let bad = split_frontmatter("---\n[dependencies\n---\n").expect_err("bad TOML");
        assert!(bad.contains("not valid TOML"), "{bad}");
        let unknown = split_frontmatter("---\n[profile.dev]\nopt-level = 3\n---\n")
            .expect_err("a table that is not read");
        assert!(unknown.contains("`profile`"), "{unknown}");
        let not_table = split_frontmatter("---\ndependencies = 1\n---\n").expect_err("not a table");
        assert!(not_table.contains("must be a table"), "{not_table}");
    }

    #[test]
    fn a_dep_flag_names_a_crate_and_maybe_a_version() {
        assert_eq!(
            parse_dep("regex@1.10").expect("valid"),
            ("regex".to_owned(), toml::Value::String("1.10".into()))
        );
        assert_eq!(
            parse_dep("serde_json").expect("any version"),
            ("serde_json".to_owned(), toml::Value::String("*".into()))
        );
        assert!(parse_dep("regex@").is_err());
        assert!(parse_dep("../evil@1").is_err());
        assert!(parse_dep("a b@1").is_err());
        assert!(parse_dep("").is_err());
    }

    #[test]
    fn a_path_that_is_not_a_tool_source_is_refused_with_its_kind() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let same = |path: &Path| path.to_path_buf();
        let missing = resolve(&dir.path().join("nope.rs"), &[], same).expect_err("missing");
        assert_eq!(missing.kind, AgentErrorKind::MissingSource);
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hi").expect("written");
        let wrong = resolve(&text, &[], same).expect_err("not Rust");
        assert_eq!(wrong.kind, AgentErrorKind::InvalidSource);
        let empty = resolve(dir.path(), &[], same).expect_err("no Cargo.toml");
        assert_eq!(empty.kind, AgentErrorKind::InvalidSource);
        assert!(empty.message.contains("tools new"), "{}", empty.message);
        let bad_name = dir.path().join("my tool.rs");
        std::fs::write(&bad_name, "").expect("written");
        assert_eq!(
            resolve(&bad_name, &[], same).expect_err("bad name").kind,
            AgentErrorKind::InvalidSource
        );
    }

    #[test]
    fn a_file_registers_under_its_stem_with_its_dep_flags() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let file = dir.path().join("word_tools.rs");
        std::fs::write(&file, "fn f() {}\n").expect("written");
        let entry = resolve(&file, &["regex@1".to_owned()], |path| path.to_path_buf())
            .expect("a file source");
        assert_eq!(entry.name, "word_tools");
        assert_eq!(entry.kind, SourceKind::File);
        assert_eq!(entry.dependencies["regex"].as_str(), Some("1"));
        assert!(newest_change(&file, SourceKind::File).is_some());
    }
}
