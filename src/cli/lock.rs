//! `rustchain tools lock`: pin every tool definition in `rustchain.lock`,
//! and with `--check` fail when a linked tool differs from what was pinned.

use std::path::{Path, PathBuf};

use clap::Args;
use rustchain_tools::Manifest;
use rustchain_tools::lock::{DEFAULT_LOCK_FILE, LockChange, LockFile};
use serde_json::json;

use super::{Exit, Session, out_file, view};

pub(super) const LOCK_AFTER_HELP: &str = "\
Examples:
  rustchain tools lock                        pin every linked tool in ./rustchain.lock
  rustchain tools lock --check                in CI: fail if a tool changed since
  rustchain tools lock --check --json         the changes, for a script

The lock file holds, per tool, a SHA-256 digest of its description, input and
output schemas, declared permissions and hints (title, annotations). A tool
whose description gained instructions, whose schema widened or that declares a
new permission differs from the lock: `--check` lists each such change and
exits with status 6; commit the lock file and review a change before locking
again. Without --check the file is written whole (or not at all) and the
changes since the previous lock are listed on stderr.";

#[derive(Debug, Args)]
pub(super) struct LockArgs {
    /// The lock file.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_LOCK_FILE)]
    file: PathBuf,
    /// Compare the linked tools with the lock file instead of writing it.
    #[arg(long)]
    check: bool,
}

pub(super) fn lock(session: &mut Session<'_>, args: &LockArgs) -> Exit {
    let now = LockFile::of(&Manifest::of(session.registry));
    let previous = match read(&args.file) {
        Ok(previous) => previous,
        Err(message) => {
            session.err = format!("error: {message}\n");
            return Exit::Usage;
        }
    };
    if args.check {
        return check(session, args, previous.as_ref(), &now);
    }
    let changes = previous
        .as_ref()
        .map(|previous| previous.changes(&now))
        .unwrap_or_default();
    if let Err(message) = out_file::write_whole(&args.file, &now.to_toml()) {
        session.err = format!("error: {message}\n");
        return Exit::Usage;
    }
    if session.json {
        session.out = view::pretty(&json!({
            "file": args.file.display().to_string(),
            "tools": now.tools.len(),
            "changes": changes_json(&changes),
        }));
    } else {
        for change in &changes {
            session.err.push_str(&format!("{change}\n"));
        }
        session.err.push_str(&format!(
            "locked {} tools in {}\n",
            now.tools.len(),
            args.file.display()
        ));
    }
    Exit::Success
}

fn check(
    session: &mut Session<'_>,
    args: &LockArgs,
    previous: Option<&LockFile>,
    now: &LockFile,
) -> Exit {
    let Some(previous) = previous else {
        session.err = format!(
            "error: there is no lock file at {}; `{} tools lock` writes it\n",
            args.file.display(),
            session.program
        );
        return Exit::Usage;
    };
    let changes = previous.changes(now);
    if session.json {
        session.out = view::pretty(&json!({
            "file": args.file.display().to_string(),
            "ok": changes.is_empty(),
            "changes": changes_json(&changes),
        }));
    } else {
        for change in &changes {
            session.out.push_str(&format!("{change}\n"));
        }
    }
    if changes.is_empty() {
        if !session.json {
            session.err = format!(
                "all {} tools match {}\n",
                now.tools.len(),
                args.file.display()
            );
        }
        Exit::Success
    } else {
        session.err.push_str(&format!(
            "{} tool definitions differ from {}; review them, then `{} tools lock`\n",
            changes.len(),
            args.file.display(),
            session.program
        ));
        Exit::Changed
    }
}

/// The lock file at `path`, `None` when there is none yet.
fn read(path: &Path) -> Result<Option<LockFile>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => LockFile::from_toml(&text, &path.display().to_string())
            .map(Some)
            .map_err(|err| err.to_string()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

fn changes_json(changes: &[LockChange]) -> serde_json::Value {
    changes
        .iter()
        .map(|change| match change {
            LockChange::Added(name) => json!({"tool": name, "change": "added"}),
            LockChange::Removed(name) => json!({"tool": name, "change": "removed"}),
            LockChange::Changed { name, parts } => {
                json!({"tool": name, "change": "changed", "parts": parts})
            }
        })
        .collect()
}
