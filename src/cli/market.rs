//! `rustchain market ...`: keys, yanks and comparisons on a marketplace
//! index (`tools publish` adds to it). The index itself (layout, signatures,
//! checks) is `rustchain_market`'s; this reads flags and prints.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rustchain_market::compat::{breaking_changes, is_major_bump};
use rustchain_market::index::Index;
use rustchain_market::sign::{self, PublicKey};
use rustchain_market::{MarketError, MarketErrorKind};
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
