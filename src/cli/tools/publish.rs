//! `rustchain tools publish`: the package of a tool crate (its linked tools'
//! manifests, its metadata, the quality report), a readiness checklist, and
//! with no `--dry-run` the signed entry added to the index.
//!
//! The metadata (license, authors, repository, description, version) is the
//! `[package]` table of the crate as this project registered it: a crate
//! folder's `Cargo.toml`, or a tool file's cargo frontmatter. A crate not
//! registered here (linked into an agent of your own) has only the name and
//! version its tools' manifests carry, and the checklist says what is missing.
//! Fields a crate inherits from its workspace are read from the workspace
//! root's `[workspace.package]`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;
use rustchain_market::compat::require_compatible;
use rustchain_market::index::{CONFIG_FILE, Index};
use rustchain_market::package::inherit_workspace_fields;
use rustchain_market::readiness::{self, Check, IndexState, KeyState, Status};
use rustchain_market::sign::{self, PublicKey};
use rustchain_market::{
    CrateMetadata, MarketErrorKind, Package, PackageTool, Quality, TestOutcome,
};
use rustchain_tools::{Manifest, ToolManifest};
use serde_json::json;

use super::super::agent::{Project, SourceKind, source};
use super::super::market::{self, IndexArg, KeyArg};
use super::super::{Exit, Session, view};

pub(in crate::cli) const PUBLISH_AFTER_HELP: &str = "\
Examples:
  rustchain tools publish my_tool --dry-run      the package, its quality, a checklist; writes nothing
  rustchain tools publish --crate weather-tools  every linked tool of a crate
  rustchain tools publish my_tool --run-tests    run `cargo test` on the crate first
  rustchain tools publish --crate my-tools --manifest-path crates/my-tools/Cargo.toml
  rustchain tools publish my_tool --dry-run --json   for CI

The package is the named tools (all from one crate) with the crate's
metadata from its [package] table: the crate's Cargo.toml, or a tool file's
cargo frontmatter (---cargo / [package] / license = \"MIT\" / ---), as this
project registered it (`tools register`) or as --manifest-path names it.
A real publish signs the version with your key (`rustchain market keygen`)
and adds it to the index (--index DIR, $RUSTCHAIN_INDEX, or rustchain/index
in the data directory), made on first use. Refused: a version already there
or lower than the highest, a key that does not own the package, and a
breaking change (a tool or parameter removed, a required parameter added, a
type or enum narrowed, the output changed, permissions widened) without a
major version.
Exit status: 0 ready (dry run) or published; 9 blocked by the checklist or
refused by the index; 2 bad usage (an unknown tool or crate, an unreadable file).";

#[derive(Debug, Args)]
pub(in crate::cli) struct PublishArgs {
    /// The tools to publish, all from one crate.
    #[arg(required_unless_present = "crate_name", conflicts_with = "crate_name")]
    tools: Vec<String>,
    /// Publish every linked tool of this crate.
    #[arg(long = "crate", value_name = "NAME")]
    crate_name: Option<String>,
    /// Check and show everything, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Run `cargo test` on the crate; the outcome counts in the quality score.
    #[arg(long)]
    run_tests: bool,
    /// Read the metadata from this `Cargo.toml` (or crate folder, or tool
    /// file with a cargo frontmatter) instead of the project's registration.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    #[command(flatten)]
    index: IndexArg,
    #[command(flatten)]
    key: KeyArg,
}

/// Where the metadata came from, and where the crate's tests run.
struct Origin {
    metadata: CrateMetadata,
    /// `Cargo.toml`, `my_tool.rs`, or `the tools' manifests`, for people.
    from: String,
    /// The manifest `cargo test` runs on, when the crate is registered here.
    cargo_manifest: Option<PathBuf>,
}

pub(in crate::cli) fn publish(session: &mut Session<'_>, args: &PublishArgs) -> Exit {
    let Some(tools) = selected_tools(session, args) else {
        return Exit::Usage;
    };
    let crate_name = tools[0].source.crate_name.clone();
    let crate_version = tools[0].source.crate_version.clone();
    let found = match &args.manifest_path {
        Some(path) => origin_at(path, &crate_name, &crate_version),
        None => origin(&crate_name, &crate_version),
    };
    let origin = match found {
        Ok(origin) => origin,
        Err(message) => {
            session.err = format!("error: {message}\n");
            return Exit::Usage;
        }
    };
    let tests = if args.run_tests {
        match run_tests(session, &origin) {
            Ok(outcome) => outcome,
            Err(message) => {
                session.err.push_str(&format!("error: {message}\n"));
                return Exit::Usage;
            }
        }
    } else {
        TestOutcome::NotRun
    };
    let manifest = Manifest::new(tools);
    let package = Package {
        metadata: origin.metadata.clone(),
        tools: manifest.tools.iter().map(PackageTool::of).collect(),
        quality: Quality::of(&manifest, tests),
    };
    let index_dir = match market::index_dir(&args.index) {
        Ok(dir) => dir,
        Err(err) => return market::fail(session, &err),
    };
    let index_state = index_state(&index_dir, &package.metadata.name);
    let key = market::key_file(args.key.key.as_deref()).and_then(|file| sign::load_key(&file));
    let key_state = match &key {
        Ok(key) => KeyState::Loaded(PublicKey::of(key)),
        Err(err) if err.kind() == MarketErrorKind::NotFound => {
            KeyState::Missing("no signing key yet".into())
        }
        Err(err) => KeyState::Missing(err.message().to_owned()),
    };
    let checks = readiness::checklist(&package, &index_state, &key_state, args.dry_run);
    let ready = readiness::ready(&checks);
    let mut published = None;
    if ready && !args.dry_run {
        let Ok(key) = key else {
            unreachable_key(session);
            return Exit::Blocked;
        };
        let written = Index::open_or_create(&index_dir, "local").and_then(|index| {
            index.publish(&package, &key, |log| require_compatible(log, &package))
        });
        match written {
            Ok(entry) => published = Some(entry.seq),
            Err(err) => return market::fail(session, &err),
        }
    }
    report(
        session,
        &package,
        &origin,
        &checks,
        ready,
        args.dry_run,
        published,
        &index_dir,
    );
    if ready { Exit::Success } else { Exit::Blocked }
}

/// A missing key always blocks a real publish, so it cannot get here; say so if it does.
fn unreachable_key(session: &mut Session<'_>) {
    session
        .err
        .push_str("error: no signing key: `rustchain market keygen` makes one\n");
}

/// The linked tools to publish: the named ones, or every tool of `--crate`;
/// all must come from one crate.
fn selected_tools(session: &mut Session<'_>, args: &PublishArgs) -> Option<Vec<ToolManifest>> {
    let tools: Vec<ToolManifest> = if let Some(name) = &args.crate_name {
        let wanted = name.replace('-', "_");
        let tools: Vec<ToolManifest> = session
            .registry
            .tools()
            .map(ToolManifest::of)
            .filter(|tool| tool.source.crate_name.replace('-', "_") == wanted)
            .collect();
        if tools.is_empty() {
            session.err = format!(
                "error: no linked tool comes from a crate `{name}`: `{} tools list --json` shows each tool's crate (source.crate)\n",
                session.program
            );
            return None;
        }
        tools
    } else {
        let mut tools = Vec::new();
        for name in &args.tools {
            tools.push(ToolManifest::of(super::find(session, name)?));
        }
        tools
    };
    let crates: std::collections::BTreeSet<&str> =
        tools.iter().map(|t| t.source.crate_name.as_str()).collect();
    if crates.len() > 1 {
        let listed: Vec<&str> = crates.into_iter().collect();
        session.err = format!(
            "error: the tools come from {} crates ({}): a package is one crate, publish each with --crate NAME\n",
            listed.len(),
            listed.join(", ")
        );
        return None;
    }
    Some(tools)
}

/// The crate's metadata, from the project's registration of it when there is one.
fn origin(crate_name: &str, crate_version: &str) -> Result<Origin, String> {
    let registration = std::env::current_dir()
        .ok()
        .and_then(|cwd| Project::find(&cwd))
        .and_then(|project| {
            let registered = project.registered().ok()?;
            let entry = registered
                .crates
                .iter()
                .find(|e| e.name.replace('-', "_") == crate_name.replace('-', "_"))?
                .clone();
            Some((project, entry))
        });
    let Some((project, entry)) = registration else {
        return Ok(Origin {
            metadata: CrateMetadata::from_package_table(
                &toml::Table::new(),
                crate_name,
                crate_version,
            )
            .map_err(|e| e.to_string())?,
            from: "the tools' manifests (the crate is not registered in this project)".into(),
            cargo_manifest: None,
        });
    };
    let source_path = project.absolute(&entry.source);
    let (table, cargo_manifest, version) = match entry.kind {
        SourceKind::File => {
            let split = source::read_file(&source_path).map_err(|err| err.message)?;
            let crate_manifest = project
                .agent_dir()
                .join("tools")
                .join(&entry.name)
                .join("Cargo.toml");
            // The generated crate's version is a placeholder: the file's own, or 0.1.0.
            (split.package, crate_manifest, "0.1.0")
        }
        SourceKind::Crate => {
            let manifest = source_path.join("Cargo.toml");
            (package_table(&manifest)?, manifest, crate_version)
        }
    };
    let metadata = CrateMetadata::from_package_table(&table, crate_name, version)
        .map_err(|err| format!("{}: {err}", entry.source.display()))?;
    Ok(Origin {
        metadata,
        from: entry.source.display().to_string(),
        cargo_manifest: Some(cargo_manifest),
    })
}

/// The crate's metadata from `path`: a `Cargo.toml`, a crate folder, or a
/// tool file (`.rs`) whose cargo frontmatter has a `[package]` table.
fn origin_at(
    path: &std::path::Path,
    crate_name: &str,
    crate_version: &str,
) -> Result<Origin, String> {
    let is_file_tool = path.extension().is_some_and(|ext| ext == "rs");
    let (table, cargo_manifest) = if is_file_tool {
        let split = source::read_file(path).map_err(|err| err.message)?;
        (split.package, None)
    } else {
        let manifest = if path.is_dir() {
            path.join("Cargo.toml")
        } else {
            path.to_path_buf()
        };
        (package_table(&manifest)?, Some(manifest))
    };
    let metadata = CrateMetadata::from_package_table(&table, crate_name, crate_version)
        .map_err(|err| format!("{}: {err}", path.display()))?;
    if metadata.name.replace('-', "_") != crate_name.replace('-', "_") {
        return Err(format!(
            "{} is the crate `{}`, but the tools come from `{crate_name}`: name that crate's manifest",
            path.display(),
            metadata.name
        ));
    }
    let from = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    Ok(Origin {
        metadata,
        from,
        cargo_manifest,
    })
}

/// The `[package]` table of a `Cargo.toml`, with the fields it inherits
/// from its workspace (`license.workspace = true`) resolved.
fn package_table(manifest: &std::path::Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|err| format!("cannot read {}: {err}", manifest.display()))?;
    let mut toml: toml::Table = toml::from_str(&text)
        .map_err(|err| format!("{} is not valid TOML: {err}", manifest.display()))?;
    let mut table = match toml.remove("package") {
        Some(toml::Value::Table(table)) => table,
        _ => return Err(format!("{} has no [package] table", manifest.display())),
    };
    inherit_workspace_fields(&mut table, manifest).map_err(|err| err.to_string())?;
    Ok(table)
}

/// Runs `cargo test` on the crate, its output on stderr.
fn run_tests(session: &mut Session<'_>, origin: &Origin) -> Result<TestOutcome, String> {
    let Some(manifest) = &origin.cargo_manifest else {
        return Err("--run-tests needs the crate registered in this project (`rustchain tools register`), to know where its tests are".into());
    };
    let mut command = Command::new("cargo");
    command.arg("test").arg("--manifest-path").arg(manifest);
    if session.offline {
        command.arg("--offline");
    }
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    Ok(if status.success() {
        TestOutcome::Passed
    } else {
        TestOutcome::Failed
    })
}

/// What the index holds for the package, read without writing anything.
fn index_state(dir: &std::path::Path, name: &str) -> IndexState {
    if !dir.join(CONFIG_FILE).exists() {
        return IndexState::New;
    }
    match Index::open(dir).and_then(|index| index.read(name)) {
        Ok(log) => IndexState::Log(log),
        Err(err) if err.kind() == MarketErrorKind::NotFound => IndexState::New,
        Err(err) => IndexState::Unreadable(err.message().to_owned()),
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    session: &mut Session<'_>,
    package: &Package,
    origin: &Origin,
    checks: &[Check],
    ready: bool,
    dry_run: bool,
    published: Option<u64>,
    index_dir: &std::path::Path,
) {
    let meta = &package.metadata;
    let tool_names: Vec<&str> = package.tools.iter().map(|t| t.name.as_str()).collect();
    if session.json {
        session.out = view::pretty(&json!({
            "package": {
                "name": meta.name, "version": meta.version, "description": meta.description,
                "license": meta.license, "authors": meta.authors, "repository": meta.repository,
                "tools": tool_names, "metadata_from": origin.from,
            },
            "quality": package.quality,
            "checks": checks,
            "ready": ready,
            "dry_run": dry_run,
            "published": published.map(|seq| json!({"index": index_dir, "entry": seq})),
        }));
        return;
    }
    let mut out = format!(
        "{} {}: {} ({}), license {}, metadata from {}\n",
        meta.name,
        meta.version,
        view::count(tool_names.len() as u64, "tool", "tools"),
        tool_names.join(", "),
        meta.license.as_deref().unwrap_or("none"),
        origin.from
    );
    out.push_str(&format!("quality {}/100\n", package.quality.score));
    for part in &package.quality.parts {
        out.push_str(&format!(
            "  {:<12} {:>2}/{:<2}  {}\n",
            part.part, part.points, part.max, part.detail
        ));
    }
    out.push_str("checklist\n");
    for check in checks {
        let fix = check
            .fix
            .as_deref()
            .map_or(String::new(), |fix| format!(": {fix}"));
        out.push_str(&format!(
            "  {:<5}  {:<13} {}{fix}\n",
            check.status.as_str(),
            check.item,
            check.detail
        ));
    }
    let count = |status| checks.iter().filter(|c| c.status == status).count() as u64;
    let blocking = count(Status::Block);
    let warnings = view::count(count(Status::Warn), "warning", "warnings");
    out.push_str(&match (ready, published) {
        (true, Some(seq)) => format!(
            "published {} {} (entry {seq}), {warnings}\n",
            meta.name, meta.version
        ),
        (true, None) => format!("ready to publish, {warnings}\n"),
        (false, _) => format!("not ready: {} blocking, {warnings}\n", blocking),
    });
    session.out = out;
    if dry_run {
        session.err.push_str("dry run: nothing was written\n");
    } else if published.is_some() {
        session.err.push_str(&format!(
            "signed and added to the index {}\n",
            index_dir.display()
        ));
    }
}
