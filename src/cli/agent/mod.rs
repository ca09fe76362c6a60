//! The project agent: a program of this project's own that links the
//! built-in tools and every tool crate registered with `tools register`.
//!
//! Tools are linked at compile time, so registering one means building it
//! in. The agent is a Cargo workspace in `.rustchain/agent/` of the project:
//!
//! ```text
//! .rustchain/agent/
//!   registered.toml   what is registered: the list every build is made from
//!   Cargo.toml        the workspace and the agent's binary package (generated)
//!   src/main.rs       `use my_tool as _;` per crate, then the CLI (generated)
//!   tools/NAME/       a crate generated for each registered `.rs` file
//!   bin/rustchain     the agent last built successfully
//!   target/           cargo's (unless $CARGO_TARGET_DIR names another)
//! ```
//!
//! `registered.toml` and `bin/` change only after a build succeeds, so a
//! source that does not compile leaves the previous agent in place. The stock
//! `rustchain`, run anywhere inside the project, hands its command line to
//! `bin/rustchain` ([`delegate`]).
//!
//! The modules follow the steps: `source` reads what is registered (a file
//! with its frontmatter, or a crate's folder), `build` writes the workspace
//! and builds it, `trust` records which agents this user built (the only
//! ones handed a command line), `scaffold` writes a new tool crate,
//! `delegate` hands a command line over.

pub(super) mod build;
pub(super) mod delegate;
pub(super) mod scaffold;
pub(super) mod source;
pub(super) mod trust;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The folder of the project agent, inside a project.
pub(super) const AGENT_DIR: &str = ".rustchain/agent";

/// The environment variable the agent runs with, so it never delegates again.
pub(super) const AGENT_MARKER: &str = "RUSTCHAIN_AGENT";

/// Set to `1` (or `true`): never build, as `--offline` says.
pub(super) const OFFLINE_VARIABLE: &str = "RUSTCHAIN_OFFLINE";

/// A source checkout of the facade to build agents against, instead of the
/// checkout this program was built from or the crates.io release.
pub(super) const SOURCE_VARIABLE: &str = "RUSTCHAIN_SOURCE";

/// Why a project agent could not be read, changed or built.
#[derive(Debug)]
pub(super) struct AgentError {
    pub(super) kind: AgentErrorKind,
    pub(super) message: String,
}

/// What kind of failure an [`AgentError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AgentErrorKind {
    /// The path to register does not exist or cannot be read.
    MissingSource,
    /// The path exists but is not a tool source: not a `.rs` file or a
    /// crate's folder, a malformed frontmatter, a bad `--dep`.
    InvalidSource,
    /// No registered crate has the name given.
    UnknownName,
    /// Cargo failed, or the program it built cannot serve its tools.
    BuildFailed,
    /// The agent is older than its sources and building is not allowed.
    Stale,
    /// Reading or writing the agent's files failed.
    Io,
}

impl AgentError {
    pub(super) fn new(kind: AgentErrorKind, message: impl Into<String>) -> Self {
        AgentError {
            kind,
            message: message.into(),
        }
    }

    /// An I/O failure on `path` while doing `what`.
    pub(super) fn io(what: &str, path: &Path, err: &std::io::Error) -> Self {
        AgentError::new(
            AgentErrorKind::Io,
            format!("could not {what} {}: {err}", path.display()),
        )
    }
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AgentError {}

/// A project that has (or is about to have) an agent: the folder that holds
/// `.rustchain/agent/`.
#[derive(Debug, Clone)]
pub(super) struct Project {
    root: PathBuf,
}

impl Project {
    /// The project `dir` is in: the nearest folder from `dir` upward that
    /// holds `.rustchain/agent/`, the way git finds `.git`.
    pub(super) fn find(dir: &Path) -> Option<Project> {
        dir.ancestors()
            .find(|folder| folder.join(AGENT_DIR).join(LIST_FILE).is_file())
            .map(|root| Project {
                root: root.to_path_buf(),
            })
    }

    /// The project `dir` is in, or a new one at `dir` when there is none.
    pub(super) fn find_or_new(dir: &Path) -> Project {
        Project::find(dir).unwrap_or_else(|| Project {
            root: dir.to_path_buf(),
        })
    }

    /// The project's folder.
    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// The agent's workspace folder.
    pub(super) fn agent_dir(&self) -> PathBuf {
        self.root.join(AGENT_DIR)
    }

    /// The agent program last built successfully.
    pub(super) fn binary(&self) -> PathBuf {
        self.agent_dir()
            .join("bin")
            .join(format!("rustchain{}", std::env::consts::EXE_SUFFIX))
    }

    fn list_file(&self) -> PathBuf {
        self.agent_dir().join(LIST_FILE)
    }

    /// What is registered; nothing when the agent was never made.
    pub(super) fn registered(&self) -> Result<Registered, AgentError> {
        let path = self.list_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Registered::default());
            }
            Err(err) => return Err(AgentError::io("read", &path, &err)),
        };
        toml::from_str(&text).map_err(|err| {
            AgentError::new(
                AgentErrorKind::Io,
                format!(
                    "{} is not a list of registered tools: {err}",
                    path.display()
                ),
            )
        })
    }

    /// Writes what is registered, whole or not at all.
    pub(super) fn save(&self, registered: &Registered) -> Result<(), AgentError> {
        let body = toml::to_string(registered).map_err(|err| {
            AgentError::new(
                AgentErrorKind::Io,
                format!("could not write the list: {err}"),
            )
        })?;
        let text = format!("{LIST_HEADER}{body}");
        write_whole(&self.list_file(), text.as_bytes())
    }

    /// Holds this project's agent for one change: `tools register`,
    /// `unregister`, `--rebuild` and a stale agent's rebuild each read the
    /// list, build, and write the list back, so two at once would lose one
    /// registration. Waits (saying so on stderr) while another holds it; the
    /// lock ends with the returned guard, or with the process.
    pub(super) fn lock(&self) -> Result<ProjectLock, AgentError> {
        let path = self.root.join(LOCK_FILE);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|err| AgentError::io("create", folder, &err))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|err| AgentError::io("open", &path, &err))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                eprintln!(
                    "note: waiting for another change to this project's agent to finish ({})",
                    path.display()
                );
                file.lock()
                    .map_err(|err| AgentError::io("lock", &path, &err))?;
            }
            Err(std::fs::TryLockError::Error(err)) => {
                return Err(AgentError::io("lock", &path, &err));
            }
        }
        Ok(ProjectLock { _file: file })
    }

    /// `path` as this project's files name it: relative to the project when
    /// it is inside, so the project can move; absolute otherwise.
    pub(super) fn relative(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root)
            .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
    }

    /// A path as this project's files name it, made absolute again.
    pub(super) fn absolute(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }
}

const LIST_FILE: &str = "registered.toml";

/// The file [`Project::lock`] locks, beside the agent's folder (a build
/// rewrites that folder).
const LOCK_FILE: &str = ".rustchain/agent.lock";

/// A project's agent held for one change; dropping it lets the next in.
#[derive(Debug)]
pub(super) struct ProjectLock {
    /// The locked file: the lock lives as long as the open file.
    _file: std::fs::File,
}

const LIST_HEADER: &str = "\
# The tool crates registered into this project's agent, written by
# `rustchain tools register` and `rustchain tools unregister` after each
# successful build. The agent's Cargo workspace is generated from this list.

";

/// Everything registered in one project's agent, in the order registered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Registered {
    #[serde(default, rename = "crate")]
    pub(super) crates: Vec<Registration>,
}

impl Registered {
    /// The registration called `name`.
    pub(super) fn get(&self, name: &str) -> Option<&Registration> {
        self.crates.iter().find(|entry| entry.name == name)
    }

    /// This list with `entry` added, replacing one of the same name.
    pub(super) fn with(&self, entry: Registration) -> Registered {
        let mut crates = self.crates.clone();
        match crates.iter_mut().find(|old| old.name == entry.name) {
            Some(old) => *old = entry,
            None => crates.push(entry),
        }
        Registered { crates }
    }

    /// This list without the registration called `name`.
    pub(super) fn without(&self, name: &str) -> Registered {
        let crates = self
            .crates
            .iter()
            .filter(|entry| entry.name != name)
            .cloned()
            .collect();
        Registered { crates }
    }

    /// The names registered, for messages.
    pub(super) fn names(&self) -> Vec<&str> {
        self.crates
            .iter()
            .map(|entry| entry.name.as_str())
            .collect()
    }
}

/// One registered tool crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Registration {
    /// The crate's package name: the file's stem, or the crate's own name.
    pub(super) name: String,
    /// What was registered, relative to the project when inside it.
    pub(super) source: PathBuf,
    /// A `.rs` file (a crate is generated for it) or a crate's folder.
    pub(super) kind: SourceKind,
    /// Dependencies given with `--dep`, beside the file's frontmatter.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub(super) dependencies: toml::Table,
    /// The tools the crate provided at the last successful build.
    #[serde(default)]
    pub(super) tools: Vec<String>,
}

/// What kind of source a registration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum SourceKind {
    /// A `.rs` file of `#[tool]` functions.
    File,
    /// A tool crate's folder (with its `Cargo.toml`).
    Crate,
}

/// Writes `bytes` to `path` through a temporary file beside it, so a reader
/// sees the old file or the new one, never half of one. A file that already
/// holds `bytes` is left alone: cargo rebuilds what has a newer time.
pub(super) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), AgentError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|err| AgentError::io("create", parent, &err))?;
    let staged = path.with_extension("partial");
    std::fs::write(&staged, bytes).map_err(|err| AgentError::io("write", &staged, &err))?;
    std::fs::rename(&staged, path).map_err(|err| AgentError::io("replace", path, &err))
}

/// Whether `value` (an environment variable's) turns a switch on.
pub(super) fn switched_on(value: Option<std::ffi::OsString>) -> bool {
    value.is_some_and(|value| {
        let value = value.to_string_lossy();
        !value.is_empty() && value != "0" && !value.eq_ignore_ascii_case("false")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Registration {
        Registration {
            name: name.to_owned(),
            source: PathBuf::from(format!("{name}.rs")),
            kind: SourceKind::File,
            dependencies: toml::Table::new(),
            tools: vec![name.to_owned()],
        }
    }

    #[test]
    fn registering_a_name_again_replaces_it_in_place() {
        let list = Registered::default().with(entry("a")).with(entry("b"));
        let mut again = entry("a");
        again.source = PathBuf::from("elsewhere/a.rs");
        let list = list.with(again);
        assert_eq!(list.names(), ["a", "b"]);
        assert_eq!(list.crates[0].source, PathBuf::from("elsewhere/a.rs"));
        assert_eq!(list.without("a").names(), ["b"]);
    }

    #[test]
    fn the_list_reads_back_what_was_written() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let project = Project::find_or_new(dir.path());
        assert_eq!(
            project.registered().expect("no list yet"),
            Registered::default()
        );
        let mut with_dep = entry("b");
        with_dep
            .dependencies
            .insert("regex".into(), toml::Value::String("1".into()));
        let list = Registered::default().with(entry("a")).with(with_dep);
        project.save(&list).expect("saved");
        assert_eq!(project.registered().expect("read back"), list);
    }

    #[test]
    fn the_project_is_found_from_any_folder_inside_it() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let inner = dir.path().join("a/b");
        std::fs::create_dir_all(&inner).expect("folders");
        assert!(Project::find(&inner).is_none());
        let project = Project::find_or_new(dir.path());
        project.save(&Registered::default()).expect("saved");
        let found = Project::find(&inner).expect("found upward");
        assert_eq!(found.root(), dir.path());
    }

    #[test]
    fn the_switch_variable_reads_like_a_flag() {
        assert!(switched_on(Some("1".into())));
        assert!(switched_on(Some("yes".into())));
        assert!(!switched_on(Some("0".into())));
        assert!(!switched_on(Some("false".into())));
        assert!(!switched_on(Some("".into())));
        assert!(!switched_on(None));
    }
}
