//! Building the project agent from a list of registrations: write the Cargo
//! workspace, run cargo, check that the program serves its tools, and only
//! then put it and the list in place.
//!
//! The agent depends on the facade the way this program was made: by path
//! when it was built from a source checkout (or `$RUSTCHAIN_SOURCE` names
//! one), else on the crates.io release of exactly this version. By path, the
//! checkout's `Cargo.lock` seeds the agent's, so the agent builds against the
//! versions the checkout was tested with and, sharing a target directory with
//! it, reuses what it already compiled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::source::{self, newest_change};
use super::trust;
use super::{AGENT_MARKER, AgentError, AgentErrorKind, Project, Registered, SourceKind};

/// How a build runs.
pub(in crate::cli) struct BuildOptions {
    /// `cargo build --offline`: use only what is already downloaded.
    pub(in crate::cli) offline: bool,
    /// Let cargo write its progress and errors to this process's stderr as
    /// they come (the CLI's own streams); otherwise they are collected and
    /// returned, for callers that hold the streams ([`crate::cli::run_from`]).
    pub(in crate::cli) live_stderr: bool,
}

/// A finished build: what is now registered, and what cargo said.
pub(in crate::cli) struct Built {
    pub(in crate::cli) registered: Registered,
    /// Cargo's progress and warnings, when not written live.
    pub(in crate::cli) cargo_output: String,
}

/// A failed build: why, and what cargo said (the compiler's errors).
pub(in crate::cli) struct Failed {
    pub(in crate::cli) error: AgentError,
    pub(in crate::cli) cargo_output: String,
}

/// Builds the agent that links `wanted`; on success it becomes the project's
/// agent and `wanted` (with each crate's tools filled in) its list. On
/// failure the previous agent and list stay, and the workspace is written
/// back as the previous list describes it.
pub(in crate::cli) fn build(
    project: &Project,
    wanted: &Registered,
    options: &BuildOptions,
) -> Result<Built, Failed> {
    let previous = project.registered().map_err(Failed::quiet)?;
    let attempt = write_workspace(project, wanted)
        .map_err(Failed::quiet)
        .and_then(|()| cargo_build(project, options));
    let (executable, cargo_output) = match attempt {
        Ok(built) => built,
        Err(failed) => {
            // Best effort: the list and the binary are what count, and the
            // next build writes the workspace again anyway.
            let _ = write_workspace(project, &previous);
            return Err(failed);
        }
    };
    let finish = || -> Result<Registered, AgentError> {
        let registered = with_tools(wanted, &executable)?;
        install(project, &executable)?;
        trust::record(
            trust::store().as_deref(),
            &project.agent_dir(),
            &project.binary(),
        )?;
        project.save(&registered)?;
        Ok(registered)
    };
    match finish() {
        Ok(registered) => Ok(Built {
            registered,
            cargo_output,
        }),
        Err(error) => {
            let _ = write_workspace(project, &previous);
            Err(Failed {
                error,
                cargo_output,
            })
        }
    }
}

impl Failed {
    fn quiet(error: AgentError) -> Failed {
        Failed {
            error,
            cargo_output: String::new(),
        }
    }
}

/// The registered sources changed since the agent was built (or the agent
/// is missing): their paths as the list names them; empty when it is fresh.
pub(in crate::cli) fn stale_sources(project: &Project, registered: &Registered) -> Vec<PathBuf> {
    let built = std::fs::metadata(project.binary()).and_then(|meta| meta.modified());
    let Ok(built) = built else {
        return registered
            .crates
            .iter()
            .map(|entry| entry.source.clone())
            .collect();
    };
    registered
        .crates
        .iter()
        .filter(|entry| {
            newest_change(&project.absolute(&entry.source), entry.kind)
                // A source that vanished is stale too: the build says why.
                .is_none_or(|changed| changed > built)
        })
        .map(|entry| entry.source.clone())
        .collect()
}

/// Where the facade comes from, as a dependency line's inline table body.
#[derive(Debug, Clone)]
pub(in crate::cli) enum Facade {
    /// A source checkout of this repository.
    Path(PathBuf),
    /// The crates.io release of this exact version.
    Version(&'static str),
}

impl Facade {
    /// The facade this program builds agents and new crates against.
    pub(in crate::cli) fn current() -> Facade {
        if let Some(source) = std::env::var_os(super::SOURCE_VARIABLE).filter(|s| !s.is_empty()) {
            return Facade::Path(PathBuf::from(source));
        }
        // Recorded when this program was compiled: in a source checkout the
        // facade's folder has the other crates beside it; a crates.io
        // download of the facade has only itself.
        let compiled_from = Path::new(env!("CARGO_MANIFEST_DIR"));
        if compiled_from.join("rustchain-builtin/Cargo.toml").is_file() {
            Facade::Path(compiled_from.to_path_buf())
        } else {
            Facade::Version(env!("CARGO_PKG_VERSION"))
        }
    }

    /// A dependency on the facade's package `crate_folder` (`""` for the
    /// facade itself), as TOML: `{ path = "..." }` or `"=0.1.0"`.
    pub(in crate::cli) fn dependency(&self, crate_folder: &str, features: &[&str]) -> String {
        let mut table = toml::Table::new();
        match self {
            Facade::Path(root) => {
                let path = if crate_folder.is_empty() {
                    root.clone()
                } else {
                    root.join(crate_folder)
                };
                table.insert(
                    "path".into(),
                    toml::Value::String(path.to_string_lossy().into_owned()),
                );
            }
            Facade::Version(version) => {
                table.insert("version".into(), toml::Value::String(format!("={version}")));
            }
        }
        if !features.is_empty() {
            let list = features
                .iter()
                .map(|f| toml::Value::String((*f).to_owned()))
                .collect();
            table.insert("features".into(), toml::Value::Array(list));
        }
        inline(&table)
    }

    /// The checkout's lock file, to seed a new workspace's.
    fn lock_file(&self) -> Option<PathBuf> {
        match self {
            Facade::Path(root) => Some(root.join("Cargo.lock")).filter(|lock| lock.is_file()),
            Facade::Version(_) => None,
        }
    }
}

/// A TOML table written inline: `{ path = "...", features = ["cli"] }`.
pub(in crate::cli) fn inline(table: &toml::Table) -> String {
    let fields: Vec<String> = table
        .iter()
        .map(|(key, value)| format!("{} = {}", quote_key(key), inline_value(value)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

fn inline_value(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(table) => inline(table),
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

fn quote_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        key.to_owned()
    } else {
        toml::Value::String(key.to_owned()).to_string()
    }
}

/// The agent's package name: unique to the project, so agents of several
/// projects that share one target directory never overwrite each other's
/// program between a build and its installation.
fn package_name(project: &Project) -> String {
    // FNV-1a: stable across Rust releases, unlike the std hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in project.agent_dir().to_string_lossy().bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    format!("rustchain-agent-{hash:08x}")
}

/// Writes the agent's workspace for `registered`: its manifest, its
/// `main.rs`, and a crate for each registered file.
fn write_workspace(project: &Project, registered: &Registered) -> Result<(), AgentError> {
    let dir = project.agent_dir();
    let facade = Facade::current();
    let tools_dir = dir.join("tools");
    // Crates of files no longer registered would linger as folders only.
    if let Ok(entries) = std::fs::read_dir(&tools_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if registered.get(&name.to_string_lossy()).is_none() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let mut members = Vec::new();
    let mut dependencies = Vec::new();
    for entry in &registered.crates {
        let source_path = project.absolute(&entry.source);
        let crate_dir = match entry.kind {
            SourceKind::File => {
                let crate_dir = tools_dir.join(&entry.name);
                write_file_crate(&crate_dir, &source_path, entry, &facade)?;
                members.push(format!("tools/{}", entry.name));
                crate_dir
            }
            SourceKind::Crate => source_path,
        };
        let mut table = toml::Table::new();
        table.insert(
            "path".into(),
            toml::Value::String(crate_dir.to_string_lossy().into_owned()),
        );
        dependencies.push(format!("{} = {}", quote_key(&entry.name), inline(&table)));
    }
    let name = package_name(project);
    let members: Vec<String> = members
        .iter()
        .map(|member| toml::Value::String(member.clone()).to_string())
        .collect();
    let manifest = format!(
        "# Generated by `rustchain tools register` from registered.toml; rewritten on every build.\n\
         [workspace]\nmembers = [{members}]\nresolver = \"3\"\n\n\
         [package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\n\
         # The same features as the stock `rustchain` binary (package rustchain-cli).\n\
         rustchain = {facade}\nrustchain-builtin = {builtin}\n{registered}\n",
        members = members.join(", "),
        facade = facade.dependency("", &["cli", "mcp"]),
        builtin = facade.dependency("rustchain-builtin", &[]),
        registered = dependencies.join("\n"),
    );
    super::write_whole(&dir.join("Cargo.toml"), manifest.as_bytes())?;
    let uses: String = registered
        .crates
        .iter()
        .map(|entry| format!("use {} as _;\n", entry.name.replace('-', "_")))
        .collect();
    let main = format!(
        "//! This project's agent: the rustchain CLI over the built-in tools and the\n\
         //! registered crates. Generated by `rustchain tools register`; rewritten\n\
         //! on every build.\n\n\
         use rustchain_builtin as _;\n{uses}\n\
         fn main() -> std::process::ExitCode {{\n    rustchain::cli::run()\n}}\n"
    );
    super::write_whole(&dir.join("src/main.rs"), main.as_bytes())?;
    let lock = dir.join("Cargo.lock");
    if let Some(seed) = facade.lock_file().filter(|_| !lock.exists()) {
        std::fs::copy(&seed, &lock).map_err(|err| AgentError::io("copy", &seed, &err))?;
    }
    Ok(())
}

/// The crate generated for a registered `.rs` file.
fn write_file_crate(
    crate_dir: &Path,
    source_path: &Path,
    entry: &super::Registration,
    facade: &Facade,
) -> Result<(), AgentError> {
    let split = source::read_file(source_path)?;
    let mut dependencies: BTreeMap<String, toml::Value> = BTreeMap::new();
    let source_dir = source_path.parent().unwrap_or(Path::new("."));
    for (name, value) in split.dependencies.iter().chain(&entry.dependencies) {
        dependencies.insert(name.clone(), with_absolute_path(value, source_dir));
    }
    let lines: String = dependencies
        .iter()
        .filter(|(name, _)| name.as_str() != "rustchain")
        .map(|(name, value)| format!("{} = {}\n", quote_key(name), inline_value(value)))
        .collect();
    let manifest = format!(
        "# Generated from {source} by `rustchain tools register`; rewritten on every build.\n\
         [package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\npath = \"src/lib.rs\"\n\n\
         [dependencies]\nrustchain = {facade}\n{lines}",
        source = source_path.display(),
        name = entry.name,
        facade = facade.dependency("", &[]),
    );
    super::write_whole(&crate_dir.join("Cargo.toml"), manifest.as_bytes())?;
    super::write_whole(&crate_dir.join("src/lib.rs"), split.rust.as_bytes())
}

/// A frontmatter dependency's `path` is relative to the file declaring it.
fn with_absolute_path(value: &toml::Value, base: &Path) -> toml::Value {
    let mut value = value.clone();
    if let Some(path) = value.as_table_mut().and_then(|table| table.get_mut("path"))
        && let Some(text) = path.as_str()
    {
        *path = toml::Value::String(base.join(text).to_string_lossy().into_owned());
    }
    value
}

/// Runs `cargo build` on the agent's workspace; the program it made.
fn cargo_build(project: &Project, options: &BuildOptions) -> Result<(PathBuf, String), Failed> {
    let dir = project.agent_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--message-format=json-render-diagnostics")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Variables cargo sets for a build script or test that runs this
        // program would mislead the agent's own build.
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE");
    if options.offline {
        command.arg("--offline");
    }
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        command.env("CARGO_TARGET_DIR", dir.join("target"));
    }
    if options.live_stderr {
        command.stderr(Stdio::inherit());
    } else {
        command.arg("--color=never").stderr(Stdio::piped());
    }
    let failed = |message: String, cargo_output: String| Failed {
        error: AgentError::new(AgentErrorKind::BuildFailed, message),
        cargo_output,
    };
    let output = command.output().map_err(|err| {
        failed(
            format!("could not run cargo ({err}); the agent is built with cargo, from rustup or your system's packages"),
            String::new(),
        )
    })?;
    let cargo_output = String::from_utf8_lossy(&output.stderr).into_owned();
    let package = package_name(project);
    if !output.status.success() {
        return Err(failed(
            "the project agent did not build (cargo's errors are above); the previous agent stays in place".to_owned(),
            cargo_output,
        ));
    }
    let executable = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| {
            message["target"]["name"] == package.as_str()
                && message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"))
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from));
    match executable {
        Some(executable) => Ok((executable, cargo_output)),
        None => Err(failed(
            "cargo built the agent but did not say where its program is".to_owned(),
            cargo_output,
        )),
    }
}

/// `registered` with each crate's tools, as the program `executable` lists
/// them; an error when it cannot serve them (two tools share a name).
fn with_tools(registered: &Registered, executable: &Path) -> Result<Registered, AgentError> {
    let output = Command::new(executable)
        .args(["--no-audit", "tools", "list", "--json", "--compact"])
        .env(AGENT_MARKER, "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|err| AgentError::io("run", executable, &err))?;
    if !output.status.success() {
        return Err(AgentError::new(
            AgentErrorKind::BuildFailed,
            format!(
                "the agent built but cannot serve its tools, so the previous agent stays in place:\n{}",
                String::from_utf8_lossy(&output.stderr).trim_end()
            ),
        ));
    }
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|err| {
        AgentError::new(
            AgentErrorKind::BuildFailed,
            format!("the agent's tool list is not JSON: {err}"),
        )
    })?;
    let tools = listing["tools"].as_array().cloned().unwrap_or_default();
    let mut registered = registered.clone();
    for entry in &mut registered.crates {
        entry.tools = tools
            .iter()
            .filter(|tool| tool["source"]["crate"] == entry.name.as_str())
            .filter_map(|tool| tool["name"].as_str().map(str::to_owned))
            .collect();
    }
    Ok(registered)
}

/// Moves the program cargo made to `bin/`, replacing the previous one whole.
///
/// A move, not a copy: a debug agent is hundreds of megabytes, and cargo
/// keeps a second link to the same file in its `deps/` folder, so it still
/// knows the program is built. Across file systems it is copied.
fn install(project: &Project, executable: &Path) -> Result<(), AgentError> {
    let target = project.binary();
    let staged = target.with_extension("partial");
    if let Some(bin) = target.parent() {
        std::fs::create_dir_all(bin).map_err(|err| AgentError::io("create", bin, &err))?;
    }
    if std::fs::rename(executable, &staged).is_err() {
        std::fs::copy(executable, &staged)
            .map_err(|err| AgentError::io("copy", executable, &err))?;
    }
    std::fs::rename(&staged, &target).map_err(|err| AgentError::io("replace", &target, &err))?;
    // Its time is the build's: what a source's changes are compared with.
    std::fs::File::options()
        .write(true)
        .open(&target)
        .and_then(|file| file.set_modified(std::time::SystemTime::now()))
        .map_err(|err| AgentError::io("date", &target, &err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependency_on_the_facade_is_a_path_or_an_exact_version() {
        let path = Facade::Path(PathBuf::from("/src/rustchain"));
        assert_eq!(
            path.dependency("", &["cli"]),
            r#"{ features = ["cli"], path = "/src/rustchain" }"#
        );
        assert_eq!(
            path.dependency("rustchain-builtin", &[]),
            r#"{ path = "/src/rustchain/rustchain-builtin" }"#
        );
        assert_eq!(
            Facade::Version("0.1.0").dependency("", &[]),
            r#"{ version = "=0.1.0" }"#
        );
    }

    #[test]
    fn an_inline_table_quotes_what_toml_needs_quoted() {
        let table: toml::Table = toml::from_str(
            "plain = \"1\"\n\"odd key\" = { path = \"a \\\"b\\\"\", features = [\"x\"] }\n",
        )
        .expect("TOML");
        let line = inline(&table);
        let back: toml::Table =
            toml::from_str(&format!("t = {line}")).expect("the inline table reads back");
        assert_eq!(back["t"].as_table(), Some(&table));
    }

    #[test]
    fn a_relative_path_dependency_is_made_relative_to_its_file() {
        let value: toml::Value = toml::Value::Table(
            toml::from_str("path = \"../shared\"\nversion = \"1\"").expect("TOML"),
        );
        let fixed = with_absolute_path(&value, Path::new("/project/tools"));
        assert_eq!(fixed["path"].as_str(), Some("/project/tools/../shared"));
        let plain = toml::Value::String("1".into());
        assert_eq!(with_absolute_path(&plain, Path::new("/p")), plain);
    }

    #[test]
    fn each_project_gets_its_own_package_name() {
        let a = Project::find_or_new(Path::new("/a"));
        let b = Project::find_or_new(Path::new("/b"));
        assert_ne!(package_name(&a), package_name(&b));
        assert_eq!(package_name(&a), package_name(&a.clone()));
        assert!(source::is_package_name(&package_name(&a)));
    }
}
