//! `rustchain market ...`: keys, yanks and comparisons on a marketplace
//! index (`tools publish` adds to it). The index itself (layout, signatures,
//! checks) is `rustchain_market`'s; this reads flags and prints.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rustchain_market::compat::{breaking_changes, is_major_bump};
use rustchain_market::index::{DistrustKind, Index};
use rustchain_market::search::Query;
use rustchain_market::sign::{self, PublicKey};
use rustchain_market::{MarketError, MarketErrorKind};
use rustchain_tools::scan::Severity;
use serde_json::json;

use super::{Exit, Session, view};

/// Shown after `rustchain market --help`.
pub(super) const AFTER_HELP: &str = "\
Examples:
  rustchain market keygen                      a signing key for publishing
  rustchain tools publish my_tool --dry-run    what would be published, and a checklist
  rustchain tools publish my_tool              sign it and add it to the index
  rustchain market yank my_tool@0.1.0          hide a version from resolution
  rustchain market diff my_tool 0.1.0 0.2.0    the breaking changes between two versions
  rustchain market search slug --permission none   packages that touch nothing
  rustchain market info my_tool                tools, permissions, quality, ratings, versions
  rustchain market mirror https://example.org/index/ ./index-copy  verified, for offline use
  rustchain market export my_tool --mcp-registry --out server.json
  rustchain market collection publish text-kit 1.0.0 my_tool@^0.1 --description \"Text tools.\"
  rustchain market rate my_tool 5 --review \"Does what it says.\"

The index is a folder (--index DIR, $RUSTCHAIN_INDEX, or rustchain/index in
the user's data directory), laid out like Cargo's sparse index: one file per
package, one signed JSON line per version or yank, config.json at the root.
Serve it read-only with any static web server. Every read verifies every
signature: an entry that fails is shown as untrusted and never used.
The signing key is --key FILE, $RUSTCHAIN_MARKET_KEY, or
rustchain/market.key in the user's config directory.";

const KEYGEN_AFTER_HELP: &str = "\
Examples:
  rustchain market keygen                      the default key file
  rustchain market keygen --out ci.key         another file

The key file is readable by you only (mode 0600) and never overwritten. Its
public key is printed on stdout: the first package you publish with it is
yours (trust on first use), unless the index's config.json lists owners.";

#[derive(Debug, Subcommand)]
pub(super) enum MarketCommand {
    /// Make an Ed25519 signing key for publishing.
    #[command(after_help = KEYGEN_AFTER_HELP)]
    Keygen(KeygenArgs),
    /// Hide a version from resolution without deleting it (--undo shows it again).
    Yank(YankArgs),
    /// The breaking changes from one version of a package to another.
    Diff(DiffArgs),
    /// Find packages by words, best match (relevance x quality) first.
    #[command(after_help = SEARCH_AFTER_HELP)]
    Search(SearchArgs),
    /// One package: versions, tools, permissions, quality, ratings, untrusted lines.
    Info(InfoArgs),
    /// Rate a package 1-5 (one signed rating per key; rating again replaces it).
    Rate(RateArgs),
    /// Copy an index (a folder or an https:// or http:// URL) for offline use, verifying every signature.
    Mirror(MirrorArgs),
    /// Write a package's listing for another registry (--mcp-registry: server.json).
    Export(ExportArgs),
    /// Named, versioned lists of packages: publish, show, search.
    #[command(subcommand)]
    Collection(CollectionCommand),
}

#[derive(Debug, Subcommand)]
pub(super) enum CollectionCommand {
    /// Sign and add a version of a collection (every member must resolve in the index).
    Publish(CollectionPublishArgs),
    /// A collection's latest trusted version and its members.
    Show {
        /// The collection's name.
        name: String,
        #[command(flatten)]
        index: IndexArg,
    },
    /// Find collections by words (name, members, description).
    Search {
        /// Words; none lists every collection.
        query: Vec<String>,
        #[command(flatten)]
        index: IndexArg,
    },
}

#[derive(Debug, Args)]
pub(super) struct CollectionPublishArgs {
    /// The collection's name.
    name: String,
    /// Its version (semver).
    version: String,
    /// Its members: NAME or NAME@REQ (`slugs@^1.2`).
    #[arg(required = true, value_name = "PACKAGE[@REQ]")]
    packages: Vec<String>,
    /// What it gathers.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    #[command(flatten)]
    index: IndexArg,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// The package, NAME or NAME@VERSION (default: the latest unyanked version).
    #[arg(value_name = "NAME[@VERSION]")]
    spec: String,
    /// A `server.json` for the MCP Registry (schema 2025-12-11).
    #[arg(long, required = true)]
    mcp_registry: bool,
    /// The server name's namespace (io.github.OWNER) [default: from a GitHub repository].
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Write to this file (whole, or not at all) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    index: IndexArg,
}

#[derive(Debug, Args)]
pub(super) struct MirrorArgs {
    /// The index to copy: a folder, or https://HOST/PATH or https://HOST:PORT/PATH (or http://).
    source: String,
    /// The folder to copy it into (made when missing; an earlier mirror is extended).
    dest: PathBuf,
    /// Also trust the certificate authorities in this PEM file (an index
    /// served under a private CA); may be given more than once.
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct RateArgs {
    /// The package.
    name: String,
    /// 1 (poor) to 5 (excellent).
    #[arg(value_parser = clap::value_parser!(u8).range(1..=5))]
    score: u8,
    /// What you have to say about it (at most 2,000 characters).
    #[arg(long, value_name = "TEXT")]
    review: Option<String>,
    #[command(flatten)]
    index: IndexArg,
    #[command(flatten)]
    key: KeyArg,
}

const SEARCH_AFTER_HELP: &str = "\
Examples:
  rustchain market search slug                 packages about slugs, best first
  rustchain market search --permission none    packages that touch nothing
  rustchain market search web --permission net --max-severity low
  rustchain market search --tag text --json

Relevance: 3 per query word in the package name, 3 in a tool name, 2 for a
tag equal to it, 1 for a description word starting with it; ranked by
relevance x (1 + quality/100). --permission KIND (repeatable: fs_read,
fs_write, net, run, run_args, env, or none) keeps packages whose permissions
are all among those given. --max-severity (none, low, medium, high) keeps
packages whose worst security finding is at most that. Only the latest
trusted, unyanked version of each package is searched.";

#[derive(Debug, Args)]
pub(super) struct SearchArgs {
    /// Words to look for; none lists every package.
    query: Vec<String>,
    /// Only packages whose permissions are all among these (repeatable; `none`: touch nothing).
    #[arg(long = "permission", value_name = "KIND")]
    permissions: Vec<String>,
    /// Only packages with a tool carrying this tag (repeatable: all of them).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Only packages whose worst security finding is at most this.
    #[arg(long, value_name = "SEVERITY", value_parser = ["none", "low", "medium", "high"])]
    max_severity: Option<String>,
    #[command(flatten)]
    index: IndexArg,
}

#[derive(Debug, Args)]
pub(super) struct InfoArgs {
    /// The package, NAME or NAME@VERSION (default: the latest unyanked version).
    #[arg(value_name = "NAME[@VERSION]")]
    spec: String,
    #[command(flatten)]
    index: IndexArg,
}

#[derive(Debug, Args)]
pub(super) struct KeygenArgs {
    /// Where to write the key [default: $RUSTCHAIN_MARKET_KEY, or rustchain/market.key in the config directory].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `--index DIR`, shared by every command that reads or writes an index.
#[derive(Debug, Clone, Args)]
pub(super) struct IndexArg {
    /// The index folder [default: $RUSTCHAIN_INDEX, or rustchain/index in the data directory].
    #[arg(long, value_name = "DIR")]
    pub(super) index: Option<PathBuf>,
}

/// `--key FILE`, for every command that signs.
#[derive(Debug, Clone, Args)]
pub(super) struct KeyArg {
    /// The signing key [default: $RUSTCHAIN_MARKET_KEY, or rustchain/market.key in the config directory].
    #[arg(long, value_name = "FILE")]
    pub(super) key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct YankArgs {
    /// The version to hide, NAME@VERSION.
    #[arg(value_name = "NAME@VERSION")]
    spec: String,
    /// Show the version again.
    #[arg(long)]
    undo: bool,
    #[command(flatten)]
    index: IndexArg,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub(super) struct DiffArgs {
    /// The package.
    name: String,
    /// The older version.
    from: String,
    /// The newer version.
    to: String,
    #[command(flatten)]
    index: IndexArg,
}

pub(super) fn run(command: MarketCommand, session: &mut Session<'_>) -> Exit {
    let result = match command {
        MarketCommand::Keygen(args) => keygen(session, &args),
        MarketCommand::Yank(args) => yank(session, &args),
        MarketCommand::Diff(args) => diff(session, &args),
        MarketCommand::Search(args) => search(session, &args),
        MarketCommand::Info(args) => info(session, &args),
        MarketCommand::Rate(args) => rate(session, &args),
        MarketCommand::Mirror(args) => mirror(session, &args),
        MarketCommand::Export(args) => export(session, &args),
        MarketCommand::Collection(command) => collection(session, command),
    };
    match result {
        Ok(exit) => exit,
        Err(err) => fail(session, &err),
    }
}

/// Says `err` on stderr in one line and gives its exit status.
pub(super) fn fail(session: &mut Session<'_>, err: &MarketError) -> Exit {
    session.err.push_str(&format!("error: {err}\n"));
    exit_for(err.kind())
}

/// The exit status for a marketplace failure: 9 when the index refused
/// what was asked, 2 for everything else (bad input, files).
pub(super) fn exit_for(kind: MarketErrorKind) -> Exit {
    match kind {
        MarketErrorKind::VersionExists
        | MarketErrorKind::Breaking
        | MarketErrorKind::NotOwner
        | MarketErrorKind::Untrusted => Exit::Blocked,
        _ => Exit::Usage,
    }
}

/// The index folder the options name.
pub(super) fn index_dir(arg: &IndexArg) -> Result<PathBuf, MarketError> {
    if let Some(dir) = &arg.index {
        return Ok(dir.clone());
    }
    if let Some(dir) = std::env::var_os("RUSTCHAIN_INDEX").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|dir| dir.join("rustchain").join("index"))
        .ok_or_else(|| {
            MarketError::new(
                MarketErrorKind::Invalid,
                "no data directory to keep the index in: name one with --index",
            )
        })
}

/// The key file the options name.
pub(super) fn key_file(arg: Option<&Path>) -> Result<PathBuf, MarketError> {
    if let Some(file) = arg {
        return Ok(file.to_path_buf());
    }
    if let Some(file) = std::env::var_os("RUSTCHAIN_MARKET_KEY").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(file));
    }
    dirs::config_dir()
        .map(|dir| dir.join("rustchain").join("market.key"))
        .ok_or_else(|| {
            MarketError::new(
                MarketErrorKind::Invalid,
                "no config directory to keep the key in: name a file with --key",
            )
        })
}

/// Opens the index the options name, which must exist.
pub(super) fn open_index(arg: &IndexArg) -> Result<Index, MarketError> {
    Index::open(&index_dir(arg)?)
}

fn keygen(session: &mut Session<'_>, args: &KeygenArgs) -> Result<Exit, MarketError> {
    let path = key_file(args.out.as_deref())?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|err| {
            MarketError::new(
                MarketErrorKind::Io,
                format!("cannot create {}: {err}", parent.display()),
            )
        })?;
    }
    let key = sign::generate_key()?;
    sign::save_key(&path, &key)?;
    let public = PublicKey::of(&key);
    if session.json {
        session.out = view::pretty(&json!({"key_file": path, "public_key": public.to_string()}));
    } else {
        session.out = format!("{public}\n");
        session.err = format!(
            "wrote the signing key {} (readable by you only); its public key is above\n",
            path.display()
        );
    }
    Ok(Exit::Success)
}

fn yank(session: &mut Session<'_>, args: &YankArgs) -> Result<Exit, MarketError> {
    let (name, version) = args.spec.split_once('@').ok_or_else(|| {
        MarketError::new(
            MarketErrorKind::Invalid,
            format!(
                "`{}`: name the version as NAME@VERSION (my_tool@0.1.0)",
                args.spec
            ),
        )
    })?;
    let version = rustchain_market::package::parse_version(version)?;
    let index = open_index(&args.index)?;
    let key = sign::load_key(&key_file(args.key.key.as_deref())?)?;
    let entry = index.yank(name, &version, !args.undo, &key)?;
    if session.json {
        session.out = view::pretty(
            &json!({"name": entry.name, "version": version.to_string(), "yanked": !args.undo, "seq": entry.seq}),
        );
    } else if args.undo {
        session.out = format!("{name} {version} is back in resolution\n");
    } else {
        session.out = format!(
            "yanked {name} {version}: kept in the index, no longer resolved (--undo brings it back)\n"
        );
    }
    Ok(Exit::Success)
}

fn diff(session: &mut Session<'_>, args: &DiffArgs) -> Result<Exit, MarketError> {
    let index = open_index(&args.index)?;
    let log = index.read(&args.name)?;
    let find = |text: &str| -> Result<rustchain_market::index::Version, MarketError> {
        let version = rustchain_market::package::parse_version(text)?;
        log.get(&version).ok_or_else(|| {
            MarketError::new(MarketErrorKind::NotFound, format!("{} {version} is not in the index, or not trusted (`rustchain market info {}` lists its versions)", args.name, args.name))
        })
    };
    let (from, to) = (find(&args.from)?, find(&args.to)?);
    let changes = breaking_changes(&from.package, &to.package);
    let added: Vec<&str> = to
        .package
        .tools
        .iter()
        .filter(|t| from.package.tool(&t.name).is_none())
        .map(|t| t.name.as_str())
        .collect();
    let major = is_major_bump(&from.version, &to.version);
    if session.json {
        session.out = view::pretty(&json!({
            "name": args.name, "from": from.version.to_string(), "to": to.version.to_string(),
            "breaking": changes, "tools_added": added, "major_bump": major,
            "compatible": changes.is_empty() || major,
        }));
        return Ok(Exit::Success);
    }
    let mut out = String::new();
    for change in &changes {
        out.push_str(&format!("breaking  {change}\n"));
    }
    for tool in &added {
        out.push_str(&format!("added     `{tool}`\n"));
    }
    out.push_str(&match (changes.len(), major) {
        (0, _) => format!(
            "{} {} to {}: compatible\n",
            args.name, from.version, to.version
        ),
        (n, true) => format!(
            "{} {} to {}: {n} breaking, in a major version\n",
            args.name, from.version, to.version
        ),
        (n, false) => format!(
            "{} {} to {}: {n} breaking without a major version\n",
            args.name, from.version, to.version
        ),
    });
    session.out = out;
    Ok(Exit::Success)
}

fn search(session: &mut Session<'_>, args: &SearchArgs) -> Result<Exit, MarketError> {
    const KINDS: [&str; 7] = [
        "fs_read", "fs_write", "net", "run", "run_args", "env", "none",
    ];
    if let Some(bad) = args
        .permissions
        .iter()
        .find(|kind| !KINDS.contains(&kind.as_str()))
    {
        return Err(MarketError::new(
            MarketErrorKind::Invalid,
            format!(
                "--permission {bad}: not a permission kind; use one of {}",
                KINDS.join(", ")
            ),
        ));
    }
    let index = open_index(&args.index)?;
    let query = Query {
        words: args.query.join(" "),
        permissions: args.permissions.clone(),
        tags: args.tags.clone(),
        max_severity: args.max_severity.as_deref().map(Severity::parse),
    };
    let hits = rustchain_market::search::search(&index, &query)?;
    if session.json {
        session.out = view::pretty(&json!({"packages": hits}));
        return Ok(Exit::Success);
    }
    if hits.is_empty() {
        session.err = "no package matches\n".to_owned();
        return Ok(Exit::Success);
    }
    let header = [
        "NAME",
        "VERSION",
        "QUALITY",
        "RATING",
        "TOOLS",
        "DESCRIPTION",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 6]> = std::iter::once(header)
        .chain(hits.iter().map(|hit| {
            let note = if hit.untrusted_lines > 0 {
                format!(" (untrusted lines: {})", hit.untrusted_lines)
            } else {
                String::new()
            };
            [
                hit.name.clone(),
                hit.version.to_string(),
                hit.quality.to_string(),
                hit.rating.map_or_else(
                    || "-".to_owned(),
                    |average| format!("{average:.1} ({})", hit.ratings),
                ),
                hit.tools.join(","),
                format!("{}{note}", hit.description.as_deref().unwrap_or("")),
            ]
        }))
        .collect();
    let out = view::aligned(rows.iter());
    session.out = out;
    Ok(Exit::Success)
}

fn info(session: &mut Session<'_>, args: &InfoArgs) -> Result<Exit, MarketError> {
    let (name, wanted) = match args.spec.split_once('@') {
        Some((name, version)) => (
            name,
            Some(rustchain_market::package::parse_version(version)?),
        ),
        None => (args.spec.as_str(), None),
    };
    let index = open_index(&args.index)?;
    let log = index.read(name)?;
    let untrusted: Vec<serde_json::Value> = log
        .untrusted()
        .map(|line| {
            let (kind, why) = line
                .distrust
                .clone()
                .unwrap_or((DistrustKind::Malformed, String::new()));
            json!({"line": line.line, "kind": kind, "why": why})
        })
        .collect();
    let versions = log.versions();
    let chosen = match &wanted {
        Some(version) => log.get(version),
        None => log.latest(),
    };
    let Some(chosen) = chosen else {
        let what = wanted.map_or_else(
            || "no trusted, unyanked version".to_owned(),
            |v| format!("no trusted version {v}"),
        );
        if !untrusted.is_empty() {
            session.err.push_str(&format!(
                "warning: {} untrusted lines in `{name}`'s file, never used\n",
                untrusted.len()
            ));
        }
        return Err(MarketError::new(
            MarketErrorKind::NotFound,
            format!("`{name}` has {what} in the index"),
        ));
    };
    let package = &chosen.package;
    let ratings = index.ratings(name)?;
    if session.json {
        session.out = view::pretty(&json!({
            "name": log.name,
            "version": chosen.version.to_string(),
            "yanked": chosen.yanked,
            "signed_by": chosen.key,
            "versions": versions.iter().map(|v| json!({"version": v.version.to_string(), "yanked": v.yanked})).collect::<Vec<_>>(),
            "package": package,
            "ratings": ratings,
            "untrusted": untrusted,
        }));
        return Ok(Exit::Success);
    }
    let meta = &package.metadata;
    let mut out = format!(
        "{} {}{}: {}\n",
        log.name,
        chosen.version,
        if chosen.yanked { " (yanked)" } else { "" },
        meta.description.as_deref().unwrap_or("(no description)")
    );
    out.push_str(&format!(
        "license {}",
        meta.license.as_deref().unwrap_or("none")
    ));
    if !meta.authors.is_empty() {
        out.push_str(&format!(", by {}", meta.authors.join(", ")));
    }
    if let Some(repository) = &meta.repository {
        out.push_str(&format!(", {repository}"));
    }
    out.push_str(&format!("\nsigned by {}\n", chosen.key));
    let listed: Vec<String> = versions
        .iter()
        .map(|v| format!("{}{}", v.version, if v.yanked { " (yanked)" } else { "" }))
        .collect();
    out.push_str(&format!("versions: {}\n", listed.join(", ")));
    let parts: Vec<String> = package
        .quality
        .parts
        .iter()
        .map(|p| format!("{} {}/{}", p.part, p.points, p.max))
        .collect();
    out.push_str(&format!(
        "quality {}/100: {}\n",
        package.quality.score,
        parts.join(", ")
    ));
    match ratings.average {
        Some(average) => out.push_str(&format!(
            "rating {average:.1}/5 from {}\n",
            view::count(ratings.count as u64, "rater", "raters")
        )),
        None => out.push_str("rating: none yet\n"),
    }
    out.push_str("tools\n");
    for tool in &package.tools {
        let permissions: Vec<String> = tool
            .permissions
            .iter()
            .map(|p| {
                format!(
                    "{}({})",
                    serde_json::to_value(p.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    p.param
                )
            })
            .collect();
        let permissions = if permissions.is_empty() {
            "touches nothing".to_owned()
        } else {
            permissions.join(", ")
        };
        out.push_str(&format!(
            "  {}  {}  [{permissions}]\n",
            tool.name,
            tool.description.lines().next().unwrap_or("")
        ));
    }
    for line in log.untrusted() {
        let why = line.distrust.as_ref().map_or("", |(_, why)| why.as_str());
        out.push_str(&format!("untrusted: {why} (never used)\n"));
    }
    session.out = out;
    Ok(Exit::Success)
}

fn rate(session: &mut Session<'_>, args: &RateArgs) -> Result<Exit, MarketError> {
    let index = open_index(&args.index)?;
    let key = sign::load_key(&key_file(args.key.key.as_deref())?)?;
    let rating = index.rate(&args.name, args.score, args.review.clone(), &key)?;
    let ratings = index.ratings(&args.name)?;
    if session.json {
        session.out = view::pretty(
            &json!({"rating": rating, "average": ratings.average, "count": ratings.count}),
        );
    } else {
        session.out = format!(
            "rated {} {}/5{}; now {:.1}/5 from {}\n",
            args.name,
            args.score,
            if rating.seq > 1 {
                " (replacing your earlier rating)"
            } else {
                ""
            },
            ratings.average.unwrap_or(0.0),
            view::count(ratings.count as u64, "rater", "raters")
        );
    }
    Ok(Exit::Success)
}

fn mirror(session: &mut Session<'_>, args: &MirrorArgs) -> Result<Exit, MarketError> {
    let source = rustchain_market::mirror::Source::parse(&args.source)?;
    let mut options = rustchain_market::mirror::Options::default();
    for file in &args.ca_file {
        let pem = std::fs::read(file).map_err(|err| MarketError::io("read", file, &err))?;
        options.extra_roots_pem.extend_from_slice(&pem);
        options.extra_roots_pem.push(b'\n');
    }
    let report = rustchain_market::mirror::mirror_with(&source, &args.dest, &options)?;
    let exit = if report.refused.is_empty() && report.refused_collections.is_empty() {
        Exit::Success
    } else {
        Exit::Blocked
    };
    if session.json {
        session.out = view::pretty(&json!({
            "copied": report.copied,
            "unchanged": report.unchanged,
            "refused": report.refused.iter().map(|(name, why)| json!({"name": name, "why": why})).collect::<Vec<_>>(),
            "copied_collections": report.copied_collections,
            "unchanged_collections": report.unchanged_collections,
            "refused_collections": report.refused_collections.iter().map(|(name, why)| json!({"name": name, "why": why})).collect::<Vec<_>>(),
            "untrusted_ratings": report.untrusted_ratings,
        }));
        return Ok(exit);
    }
    session.out = format!(
        "copied {}, {} unchanged, {} refused\n",
        view::count(report.copied.len() as u64, "package", "packages"),
        report.unchanged.len(),
        report.refused.len(),
    );
    let collections = report.copied_collections.len()
        + report.unchanged_collections.len()
        + report.refused_collections.len();
    if collections > 0 {
        session.out.push_str(&format!(
            "copied {}, {} unchanged, {} refused\n",
            view::count(
                report.copied_collections.len() as u64,
                "collection",
                "collections"
            ),
            report.unchanged_collections.len(),
            report.refused_collections.len()
        ));
    }
    for (name, why) in &report.refused {
        session.err.push_str(&format!("refused `{name}`: {why}\n"));
    }
    for (name, why) in &report.refused_collections {
        session
            .err
            .push_str(&format!("refused collection `{name}`: {why}\n"));
    }
    if report.untrusted_ratings > 0 {
        session.err.push_str(&format!(
            "left out {} rating lines that do not verify\n",
            report.untrusted_ratings
        ));
    }
    Ok(exit)
}

fn export(session: &mut Session<'_>, args: &ExportArgs) -> Result<Exit, MarketError> {
    let (name, wanted) = match args.spec.split_once('@') {
        Some((name, version)) => (
            name,
            Some(rustchain_market::package::parse_version(version)?),
        ),
        None => (args.spec.as_str(), None),
    };
    let log = open_index(&args.index)?.read(name)?;
    let chosen = match &wanted {
        Some(version) => log.get(version),
        None => log.latest(),
    }
    .ok_or_else(|| {
        MarketError::new(
            MarketErrorKind::NotFound,
            format!(
                "`{name}` has no such trusted version in the index (`rustchain market info {name}`)"
            ),
        )
    })?;
    debug_assert!(args.mcp_registry, "the only export so far");
    let server = rustchain_market::export::server_json(&chosen.package, args.namespace.as_deref())?;
    let text = view::pretty(&server);
    match &args.out {
        Some(path) => {
            super::out_file::write_whole(path, &text)
                .map_err(|message| MarketError::new(MarketErrorKind::Io, message))?;
            session.err = format!("wrote {}\n", path.display());
        }
        None => session.out = text,
    }
    Ok(Exit::Success)
}

fn collection(session: &mut Session<'_>, command: CollectionCommand) -> Result<Exit, MarketError> {
    use rustchain_market::collection::{Collection, Member};
    match command {
        CollectionCommand::Publish(args) => {
            let packages = args
                .packages
                .iter()
                .map(|text| Member::parse(text))
                .collect::<Result<Vec<_>, _>>()?;
            let collection = Collection {
                name: args.name.clone(),
                version: args.version.clone(),
                description: args.description.clone(),
                packages,
            };
            let key = sign::load_key(&key_file(args.key.key.as_deref())?)?;
            let dir = index_dir(&args.index)?;
            let entry =
                Index::open_or_create(&dir, "local")?.publish_collection(&collection, &key)?;
            session.out = if session.json {
                view::pretty(&json!({"collection": collection, "entry": entry.seq}))
            } else {
                format!(
                    "published collection {} {} ({}, entry {})\n",
                    collection.name,
                    collection.version,
                    view::count(collection.packages.len() as u64, "package", "packages"),
                    entry.seq
                )
            };
        }
        CollectionCommand::Show { name, index } => {
            let log = open_index(&index)?.read_collection(&name)?;
            let untrusted = log.untrusted().count();
            let latest = log.latest_collection().ok_or_else(|| {
                MarketError::new(MarketErrorKind::NotFound, format!("collection `{name}` has no trusted version ({untrusted} untrusted lines, never used)"))
            })?;
            session.out = if session.json {
                view::pretty(&json!({"collection": latest, "untrusted_lines": untrusted}))
            } else {
                let mut out = format!(
                    "{} {}: {}\n",
                    latest.name,
                    latest.version,
                    latest.description.as_deref().unwrap_or("(no description)")
                );
                for member in &latest.packages {
                    out.push_str(&format!("  {} {}\n", member.name, member.req));
                }
                out
            };
        }
        CollectionCommand::Search { query, index } => {
            let hits =
                rustchain_market::collection::search(&open_index(&index)?, &query.join(" "))?;
            if session.json {
                session.out = view::pretty(&json!({"collections": hits}));
            } else if hits.is_empty() {
                session.err = "no collection matches\n".to_owned();
            } else {
                for hit in &hits {
                    session.out.push_str(&format!(
                        "{} {}  [{}]  {}\n",
                        hit.name,
                        hit.version,
                        hit.packages.join(", "),
                        hit.description.as_deref().unwrap_or("")
                    ));
                }
            }
        }
    }
    Ok(Exit::Success)
}
