//! `rustchain tools security-scan`: what in the linked tools (and the policy
//! in use, and the lock file) a reviewer should look at, with a score; the
//! exit status says whether anything reached `--fail-on`.

use std::path::PathBuf;

use clap::Args;
use rustchain_tools::lock::{DEFAULT_LOCK_FILE, LockFile};
use rustchain_tools::scan::{Scan, Severity};
use rustchain_tools::{Manifest, ToolManifest};
use serde_json::json;

use super::{Exit, Session, executor, tools, view};

pub(super) const SCAN_AFTER_HELP: &str = "\
Examples:
  rustchain tools security-scan                 every linked tool, the policy, the lock file
  rustchain tools security-scan fs_read cmd_run only these tools
  rustchain tools security-scan --fail-on medium --json

What is looked for: hints that contradict permissions (a read_only tool that
writes); parameters that look like paths, URLs, hosts, programs or variables
but carry no guard; descriptions that instruct the model, hide characters or
hold URLs; parameters without descriptions, open objects, free-form values;
definitions changed since rustchain.lock (when it exists, or --lock FILE);
and, when a policy file is in use (--policy, $RUSTCHAIN_POLICY or
./rustchain.toml), grants that are too broad: the root or home folder, any
host, a shell or interpreter, code-loading variables.

Each finding has a severity (low, medium, high), the tool or policy section,
why it matters and how to fix it. A tool scores 100 less 40 per high, 15 per
medium and 3 per low finding; the overall score is the lowest.
Exit status: 0 when no finding reaches --fail-on (default high), 7 when one
does, 2 on bad usage (an unknown tool, a policy or lock file that cannot be read).";

#[derive(Debug, Args)]
pub(super) struct ScanArgs {
    /// Only these tools (default: every linked tool).
    names: Vec<String>,
    /// Fail (exit status 7) when a finding is at least this severe.
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = ["low", "medium", "high"])]
    fail_on: String,
    /// The lock file to compare definitions with [default: ./rustchain.lock when present].
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
}

pub(super) fn security_scan(session: &mut Session<'_>, args: &ScanArgs) -> Exit {
    let threshold = Severity::parse(&args.fail_on).unwrap_or(Severity::High);
    let mut scanned = Vec::new();
    for name in &args.names {
        match tools::find(session, name) {
            Some(tool) => scanned.push(ToolManifest::of(tool)),
            None => return Exit::Usage,
        }
    }
    let manifest = if args.names.is_empty() {
        Manifest::of(session.registry)
    } else {
        Manifest::new(scanned)
    };
    let lock = match read_lock(args) {
        Ok(lock) => lock,
        Err(message) => {
            session.err = format!("error: {message}\n");
            return Exit::Usage;
        }
    };
    let location = session.governance.policy_location();
    let executor = if location.in_use() {
        match session.governance.dry_run(session.registry, None) {
            Ok(executor) => Some(executor),
            Err(err) => {
                session.err = executor::setup_advice(
                    &rustchain_tools::exec::SetupError::Policy(err),
                    &session.program,
                );
                return Exit::Usage;
            }
        }
    } else {
        None
    };
    let policy = executor.as_ref().map(|executor| executor.policy());
    let scan = Scan::of(&manifest, lock.as_ref(), policy);
    let failed = scan.worst().is_some_and(|worst| worst >= threshold);
    if session.json {
        let mut report = serde_json::to_value(&scan).unwrap_or_default();
        report["fail_on"] = json!(threshold);
        report["failed"] = json!(failed);
        report["policy"] = json!(policy.map(|policy| policy.origin()));
        report["lock"] = json!(lock.is_some());
        session.out = view::pretty(&report);
    } else {
        session.out = text(&scan, session.terminal);
        session.err = format!(
            "scanned {}{}{}: score {}/100, {}{}\n",
            view::count(scan.tools.len() as u64, "tool", "tools"),
            policy.map_or(String::new(), |policy| format!(
                ", the policy {}",
                policy.origin()
            )),
            if lock.is_some() {
                ", the lock file"
            } else {
                ""
            },
            scan.score,
            view::count(scan.findings.len() as u64, "finding", "findings"),
            if failed {
                format!(" (at least {threshold}: failing)")
            } else {
                String::new()
            }
        );
    }
    if failed {
        Exit::Findings
    } else {
        Exit::Success
    }
}

fn read_lock(args: &ScanArgs) -> Result<Option<LockFile>, String> {
    let (path, named) = match &args.lock {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from(DEFAULT_LOCK_FILE), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => LockFile::from_toml(&text, &path.display().to_string())
            .map(Some)
            .map_err(|err| err.to_string()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !named => Ok(None),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

/// One block per finding, most severe first, then the tools' scores.
fn text(scan: &Scan, terminal: view::Terminal) -> String {
    let mut out = String::new();
    for finding in &scan.findings {
        let subject = match (&finding.tool, &finding.at) {
            (Some(tool), Some(at)) => format!("{tool} ({at})"),
            (Some(tool), None) => tool.clone(),
            (None, Some(at)) => format!("policy {at}"),
            (None, None) => "policy".to_owned(),
        };
        let colour = match finding.severity {
            Severity::High => view::Colour::Red,
            Severity::Medium => view::Colour::Yellow,
            Severity::Low => view::Colour::Dim,
        };
        let label = format!("{:<6}", finding.severity.to_string().to_uppercase());
        out.push_str(&format!(
            "{}  {subject}  [{}]\n        {}\n        fix: {}\n",
            terminal.paint(&label, colour),
            finding.check,
            finding.why,
            finding.fix
        ));
    }
    let flagged: Vec<String> = scan
        .tools
        .iter()
        .filter(|tool| tool.findings > 0)
        .map(|tool| format!("{} {}", tool.tool, tool.score))
        .collect();
    if !flagged.is_empty() {
        out.push_str(&format!("\nscores below 100: {}\n", flagged.join(", ")));
    }
    out
}
