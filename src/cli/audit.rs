//! `rustchain audit ...`: verify a trail, report usage from it, show its last
//! records (`tail`), make a signing key.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use rustchain_tools::audit::{
    self, Finding, ReportFilter, Severity, ToolUsage, UsageReport, VerifyReport, VerifyStatus,
};
use serde_json::{Value, json};

use super::{Exit, Session, view};

mod tail;

/// Shown after `rustchain audit --help`.
pub(super) const AFTER_HELP: &str = "\
Examples:
  rustchain audit verify                      is the default trail what was written?
  rustchain audit report --since 1h           calls, denials, errors and latency per tool
  rustchain audit report --tool-operations    allowed, denied, asked, errors by kind, last call
  rustchain audit tail --follow               records as they are written
  rustchain audit keygen --out audit.key      a key to sign checkpoints with

The trail is FILE, or --audit FILE, or $RUSTCHAIN_AUDIT, or .rustchain/audit.jsonl
beside the policy file (with no policy file: rustchain/audit.jsonl in the
user's state directory, $XDG_STATE_HOME or ~/.local/state).";

const VERIFY_AFTER_HELP: &str = "\
Examples:
  rustchain audit verify                      the default trail
  rustchain audit verify calls.jsonl --key audit.key.pub
  rustchain audit verify --json               {\"status\": \"intact\", \"findings\": [...], ...}

Recomputes every record's hash link, sequence number and checkpoint
signature, and prints each finding with its record and kind: record_modified,
record_deleted, records_reordered, record_inserted, bad_signature,
truncated_below_checkpoint, checkpoint_mismatch (tampering), torn_tail,
checkpoint_missing, stale_checkpoint (warnings).
The chain alone cannot show a change to the last record or a cut tail; signed
checkpoints (--audit-key when calling) verified with --key can.

Exit status, for this command only:
  0  intact: every record, link and signature checks out
  1  tampered: the trail is not what was written
  2  warnings only (a torn last line from a crash, a missing or stale
     checkpoint file); nothing shows tampering
  5  the trail could not be verified: bad usage, a missing or unreadable
     trail, an unreadable key";

const REPORT_AFTER_HELP: &str = "\
Examples:
  rustchain audit report                      every call in the default trail
  rustchain audit report --since 5m           the last five minutes
  rustchain audit report calls.jsonl --since 1d --json
  rustchain audit report --tool-operations --tool fs_read
  rustchain audit report --mission nightly-42

Per tool: calls, denials, errors (timeouts included), timeouts, and the
p50/p95/p99 duration of the calls that ran. --tool-operations adds the calls
allowed (approved included) and asked, the errors by kind and the last call.
--tool and --mission keep one tool's, or one mission's, calls (a mission's name: all its
runs; a run's id, `run_id` in `mission execute --json`: that run). DURATION is a number and a unit,
or several: 30s, 5m, 2h, 1d, 1h 30m. The report reads the trail without verifying it: run
`audit verify` to trust the figures.";

const TAIL_AFTER_HELP: &str = "\
Examples:
  rustchain audit tail                        the last 10 records of the default trail
  rustchain audit tail -n 50 calls.jsonl
  rustchain audit tail --follow               and each record appended after, until Ctrl-C
  rustchain audit tail --json                 the records themselves, one JSON object per line

One line per record: time, sequence number, kind, tool, call id, and the
decision (with its rule) or the outcome (with the error kind and duration).";

const KEYGEN_AFTER_HELP: &str = "\
Examples:
  rustchain audit keygen --out ~/.config/rustchain/audit.key
  rustchain --audit-key ~/.config/rustchain/audit.key tools call text_stats --args '{\"text\": \"hi\"}'
  rustchain audit verify --key ~/.config/rustchain/audit.key.pub

Writes a new Ed25519 signing key to KEY_FILE (readable by its owner only) and
its public key to KEY_FILE.pub. Existing files are never overwritten. Keep the
signing key outside every root a tool may read or write.";

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Check that a trail is what was written: every hash link and signature.
    #[command(after_help = VERIFY_AFTER_HELP)]
    Verify(VerifyArgs),
    /// Sum up calls, denials, errors, timeouts and latency per tool.
    #[command(after_help = REPORT_AFTER_HELP)]
    Report(ReportArgs),
    /// Show the last records of a trail, and with --follow those appended after.
    #[command(after_help = TAIL_AFTER_HELP)]
    Tail(TailArgs),
    /// Make a key pair for signed checkpoints.
    #[command(after_help = KEYGEN_AFTER_HELP)]
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    /// The trail [default: the global trail: --audit, $RUSTCHAIN_AUDIT or
    /// .rustchain/audit.jsonl beside the policy]
    file: Option<PathBuf>,
    /// The trusted public key (KEY_FILE.pub from `audit keygen`):
    /// checkpoints must be signed with it
    #[arg(long, value_name = "PUBKEY_FILE")]
    key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct ReportArgs {
    /// The trail [default: the global trail: --audit, $RUSTCHAIN_AUDIT or
    /// .rustchain/audit.jsonl beside the policy]
    file: Option<PathBuf>,
    /// Only records from the last DURATION: 30s, 5m, 2h, 1d
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    since: Option<Window>,
    /// Only this tool's calls
    #[arg(long, value_name = "NAME")]
    tool: Option<String>,
    /// Only the calls of this mission: its name (every run), or one run's id
    /// (from `mission execute --json`)
    #[arg(long, value_name = "ID")]
    mission: Option<String>,
    /// The full table of operations: allowed, asked, errors by kind, last call
    #[arg(long)]
    tool_operations: bool,
}

#[derive(Debug, Args)]
pub(super) struct TailArgs {
    /// The trail [default: the global trail: --audit, $RUSTCHAIN_AUDIT or
    /// .rustchain/audit.jsonl beside the policy]
    file: Option<PathBuf>,
    /// How many of the last records to show
    #[arg(long, short = 'n', value_name = "N", default_value_t = 10)]
    lines: usize,
    /// Keep watching, printing records as they are appended (until interrupted)
    #[arg(long, short = 'f')]
    follow: bool,
}

#[derive(Debug, Args)]
pub(super) struct KeygenArgs {
    /// Where to write the signing key; the public key goes to KEY_FILE.pub
    #[arg(long, short = 'o', value_name = "KEY_FILE")]
    out: PathBuf,
}

/// A time window back from now, as written on the command line.
#[derive(Debug, Clone)]
pub(super) struct Window {
    text: String,
    length: Duration,
}

/// Parses `30s`, `5m`, `2h`, `1d`, `1h 30m`: the duration grammar the policy
/// and `#[tool(timeout)]` read too.
fn parse_window(text: &str) -> Result<Window, String> {
    match rustchain_tools::policy::parse_duration(text) {
        Some(length) => Ok(Window {
            text: text.to_owned(),
            length,
        }),
        None => Err(format!(
            "`{text}` is not a positive duration; write a number and a unit: 30s, 5m, 2h, 1d"
        )),
    }
}

pub(super) fn run(command: AuditCommand, session: &mut Session<'_>) -> Exit {
    match command {
        AuditCommand::Verify(args) => verify(session, args),
        AuditCommand::Report(args) => report(session, args),
        AuditCommand::Tail(args) => tail::tail(session, &args),
        AuditCommand::Keygen(args) => keygen(session, &args),
    }
}

/// The trail a command reads: `file` when named, else the governance
/// default; `None` (with the error line written) when there is none.
fn trail_path(session: &mut Session<'_>, file: Option<PathBuf>) -> Option<PathBuf> {
    match file.map_or_else(|| session.governance.trail(), Ok) {
        Ok(path) => Some(path),
        Err(err) => {
            session.err = format!("error: {err}\n");
            None
        }
    }
}

fn verify(session: &mut Session<'_>, args: VerifyArgs) -> Exit {
    let Some(path) = trail_path(session, args.file.clone()) else {
        return Exit::Unverified;
    };
    let key = match args
        .key
        .as_deref()
        .map(audit::load_verifying_key)
        .transpose()
    {
        Ok(key) => key,
        Err(err) => {
            session.err = format!("error: {err}\n");
            return Exit::Unverified;
        }
    };
    let report = match audit::verify(&path, key.as_ref()) {
        Ok(report) => report,
        Err(err) => {
            session.err = format!("error: {err}\n");
            return Exit::Unverified;
        }
    };
    session.out = if session.json {
        let mut json = verify_json(&report);
        json["keyed"] = json!(key.is_some());
        if key.is_none() {
            json["undetected"] = json!(audit::UNDETECTED_WITHOUT_KEY);
        }
        view::pretty(&json)
    } else {
        if key.is_none() {
            session.err = format!("note: {}\n", audit::UNDETECTED_WITHOUT_KEY);
        }
        verify_text(&report, session.terminal)
    };
    match report.status() {
        VerifyStatus::Intact => Exit::Success,
        VerifyStatus::Tampered => Exit::Tampered,
        VerifyStatus::WarningsOnly => Exit::Warnings,
    }
}

fn severity(finding: &Finding) -> &'static str {
    match finding.severity() {
        Severity::Warning => "warning",
        Severity::Tampered => "tampered",
    }
}

fn verify_json(report: &VerifyReport) -> Value {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            json!({
                "kind": finding.kind.as_str(),
                "severity": severity(finding),
                "line": finding.line,
                "seq": finding.seq,
                "message": finding.message,
            })
        })
        .collect();
    json!({
        "file": report.path.display().to_string(),
        "status": report.status().as_str(),
        "lines": report.lines,
        "last_seq": report.last_seq,
        "recoveries": report.recoveries,
        "checkpoints": report.checkpoints,
        "signed_through": report.signed_through,
        "findings": findings,
    })
}

/// One line per finding, then a summary line.
fn verify_text(report: &VerifyReport, terminal: view::Terminal) -> String {
    let mut text = String::new();
    for finding in &report.findings {
        let colour = match finding.severity() {
            Severity::Tampered => view::Colour::Red,
            Severity::Warning => view::Colour::Yellow,
        };
        text.push_str(&format!(
            "{}: {finding}\n",
            terminal.paint(severity(finding), colour)
        ));
    }
    let tampered = report
        .findings
        .iter()
        .filter(|f| f.severity() == Severity::Tampered)
        .count();
    let warnings = report.findings.len() - tampered;
    let last = report
        .last_seq
        .map_or_else(|| "none".to_owned(), |seq| seq.to_string());
    let signed = report
        .signed_through
        .map(|seq| format!(", signed through record {seq}"))
        .unwrap_or_default();
    text.push_str(&format!(
        "{}: {}: {}, last record {last}, {}{signed}, {}; {tampered} tampered, {}\n",
        report.path.display(),
        report.status(),
        view::count(report.lines, "line", "lines"),
        view::count(report.checkpoints, "checkpoint", "checkpoints"),
        view::count(report.recoveries, "recovery", "recoveries"),
        view::count(warnings as u64, "warning", "warnings"),
    ));
    text
}

fn report(session: &mut Session<'_>, args: ReportArgs) -> Exit {
    let Some(path) = trail_path(session, args.file.clone()) else {
        return Exit::Usage;
    };
    let filter = ReportFilter {
        since: args.since.as_ref().map(|window| {
            SystemTime::now()
                .checked_sub(window.length)
                .unwrap_or(SystemTime::UNIX_EPOCH)
        }),
        tool: args.tool.clone(),
        mission: args.mission.clone(),
    };
    let usage = match audit::report(&path, &filter) {
        Ok(usage) => usage,
        Err(err) => {
            session.err = format!("error: {err}\n");
            return Exit::Usage;
        }
    };
    if usage.skipped > 0 {
        session.err = format!(
            "note: {} lines of {} are not records and were skipped; `{} audit verify` says why\n",
            usage.skipped,
            path.display(),
            session.program
        );
    }
    session.out = if session.json {
        view::pretty(&serde_json::to_value(&usage).expect("a usage report serializes"))
    } else {
        report_text(&usage, &path, &args)
    };
    Exit::Success
}

fn report_text(usage: &UsageReport, path: &Path, args: &ReportArgs) -> String {
    let mut window = args
        .since
        .as_ref()
        .map_or_else(String::new, |w| format!(" in the last {}", w.text));
    if let Some(mission) = &args.mission {
        window.push_str(&format!(" of mission {mission}"));
    }
    if usage.tools.is_empty() {
        return format!("{}: no tool calls{window}\n", path.display());
    }
    let mut text = if args.tool_operations {
        operations_text(usage)
    } else {
        let header = [
            "TOOL", "CALLS", "DENIALS", "ERRORS", "TIMEOUTS", "P50", "P95", "P99",
        ]
        .map(str::to_owned);
        let rows: Vec<[String; 8]> = std::iter::once(header)
            .chain(usage.tools.iter().map(usage_row))
            .collect();
        view::aligned(rows.iter())
    };
    text.push_str(&format!(
        "{}: {} records{window}\n",
        path.display(),
        usage.records
    ));
    text
}

/// The `--tool-operations` table, then each tool's errors by kind.
fn operations_text(usage: &UsageReport) -> String {
    let header = [
        "TOOL",
        "CALLS",
        "ALLOWED",
        "DENIED",
        "ASKED",
        "ERRORS",
        "TIMEOUTS",
        "P50",
        "P95",
        "P99",
        "LAST CALL",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 11]> = std::iter::once(header)
        .chain(usage.tools.iter().map(|tool| {
            [
                tool.tool.clone(),
                tool.calls.to_string(),
                tool.allowed.to_string(),
                tool.denials.to_string(),
                tool.asked.to_string(),
                tool.errors.to_string(),
                tool.timeouts.to_string(),
                latency(tool.p50),
                latency(tool.p95),
                latency(tool.p99),
                tool.last_call
                    .map_or_else(|| "-".to_owned(), audit::format_rfc3339_millis),
            ]
        }))
        .collect();
    let mut text = view::aligned(rows.iter());
    let kinds: Vec<String> = usage
        .tools
        .iter()
        .filter(|tool| !tool.errors_by_kind.is_empty())
        .map(|tool| {
            let counts: Vec<String> = tool
                .errors_by_kind
                .iter()
                .map(|(kind, n)| format!("{kind} {n}"))
                .collect();
            format!("  {}: {}\n", tool.tool, counts.join(", "))
        })
        .collect();
    if !kinds.is_empty() {
        text.push_str("errors by kind:\n");
        text.extend(kinds);
    }
    text
}

fn usage_row(usage: &ToolUsage) -> [String; 8] {
    [
        usage.tool.clone(),
        usage.calls.to_string(),
        usage.denials.to_string(),
        usage.errors.to_string(),
        usage.timeouts.to_string(),
        latency(usage.p50),
        latency(usage.p95),
        latency(usage.p99),
    ]
}

/// A duration for the report's columns: `0.12ms`, `35.2ms`, `1.50s`, or `-`.
fn latency(duration: Option<Duration>) -> String {
    let Some(duration) = duration else {
        return "-".to_owned();
    };
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}ms")
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

fn keygen(session: &mut Session<'_>, args: &KeygenArgs) -> Exit {
    let public = public_key_path(&args.out);
    // Checked up front so a refusal never leaves half a key pair behind.
    if let Some(existing) = [&args.out, &public].into_iter().find(|p| p.exists()) {
        session.err = format!(
            "error: {} already exists; keys are never overwritten, so choose another --out\n",
            existing.display()
        );
        return Exit::Usage;
    }
    let written = audit::generate_signing_key().and_then(|key| {
        audit::save_signing_key(&args.out, &key)?;
        audit::save_verifying_key(&public, &key.verifying_key())?;
        Ok(key.verifying_key())
    });
    let verifying = match written {
        Ok(verifying) => verifying,
        Err(err) => {
            session.err = format!("error: {err}\n");
            return Exit::Usage;
        }
    };
    let hex: String = verifying
        .as_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    if session.json {
        session.out = view::pretty(&json!({
            "signing_key": args.out.display().to_string(),
            "verifying_key": public.display().to_string(),
            "public_key": format!("ed25519:{hex}"),
        }));
    } else {
        let program = &session.program;
        let (out, public) = (args.out.display(), public.display());
        session.out = format!(
            "signing key:   {out}  (owner-only; keep it outside every tool's reach)\n\
             verifying key: {public}  (ed25519:{hex})\n\n\
             sign checkpoints:  {program} --audit-key {out} tools call ...\n\
             verify with it:    {program} audit verify --key {public}\n"
        );
    }
    Exit::Success
}

/// `KEY_FILE.pub`, beside the signing key.
fn public_key_path(key: &Path) -> PathBuf {
    let mut name = OsString::from(key.as_os_str());
    name.push(".pub");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_the_policys_duration_grammar() {
        let seconds = |text| parse_window(text).map(|w| w.length.as_secs());
        assert_eq!(seconds("30s"), Ok(30));
        assert_eq!(seconds("5m"), Ok(300));
        assert_eq!(seconds("2h"), Ok(7_200));
        assert_eq!(seconds("1d"), Ok(86_400));
        assert_eq!(seconds("1h 30m"), Ok(5_400));
        assert_eq!(seconds("5min"), Ok(300));
        for bad in [
            "",
            "5",
            "m",
            "-1m",
            "0s",
            "forever",
            "99999999999999999999d",
        ] {
            assert!(parse_window(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn latencies_keep_three_figures() {
        assert_eq!(latency(None), "-");
        assert_eq!(latency(Some(Duration::from_micros(120))), "0.12ms");
        assert_eq!(latency(Some(Duration::from_micros(35_240))), "35.2ms");
        assert_eq!(latency(Some(Duration::from_millis(1_500))), "1.50s");
    }

    #[test]
    fn the_public_key_sits_beside_the_signing_key() {
        assert_eq!(
            public_key_path(Path::new("keys/audit.key")),
            Path::new("keys/audit.key.pub")
        );
    }
}
