//! `rustchain policy ...`: check a policy file, and explain its decision for a call.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use rustchain_tools::exec::Explanation;
use rustchain_tools::policy::Verdict;
use rustchain_tools::{ErrorKind, Policy, PolicyError, ToolError};
use serde_json::{Value, json};

use super::{Exit, Session, tools, view};

/// Shown after `rustchain policy --help`.
pub(super) const AFTER_HELP: &str = "\
Examples:
  rustchain policy check                      the policy in ./rustchain.toml
  rustchain policy explain fs_read --args '{\"path\": \"/etc/passwd\"}'

The policy is --policy FILE, or $RUSTCHAIN_POLICY, or ./rustchain.toml.";

const CHECK_AFTER_HELP: &str = "\
Examples:
  rustchain policy check                      ./rustchain.toml (or --policy, $RUSTCHAIN_POLICY)
  rustchain policy check ci/strict.toml       another file
  rustchain policy check --json               {\"ok\": true, \"summary\": [...], \"examples\": N}

Loads the file (every table is closed: an unknown key, a bad glob, host or
CIDR is an error naming its line), checks it against the tools linked into
this program ([limits.tool.NAME] must name one; [audit] redact entries must be
fields a tool takes), runs its [[examples]], and summarises everything it
decides: tool rules, [fs], [net], programs, variables, limits, approval,
audit and discovery, defaults included where the file is silent.
An example for a tool this program does not link is a warning on stderr.
When no FILE is named and the default file does not exist, the empty policy
is checked: nothing is granted, and only tools that declare no permissions run.
Exit status: 0 when the policy loads and every example gets its expected
decision; 2 otherwise, with FILE:LINE: MESSAGE on stderr (with --json,
{\"ok\": false, \"error\": {\"file\", \"line\", \"message\"}} on stdout).";

const EXPLAIN_AFTER_HELP: &str = "\
Examples:
  rustchain policy explain text_stats --args '{\"text\": \"hi\"}'
  rustchain policy explain fs_read --args '{\"path\": \"/etc/passwd\"}'
  echo '{\"path\": \"notes.txt\"}' | rustchain policy explain fs_read --json

Shows the verdict (allow, ask or deny) the policy gives this call, the rule
that decided it, and every decision taken on the way: the tool's rule first,
then one per value the tool declared it will use (paths, hosts, programs...).
For a tool that starts programs (cmd_run), also the sandbox they run in: the
kernel mechanisms active here and the system paths every program may read.
Nothing is run and nothing is recorded. The arguments come from --args, or
from stdin as for `tools call`.
Exit status: 0 when the call was judged, whatever the verdict; 2 for bad
usage: an unknown tool, arguments that are not valid for the tool, or a
policy that does not load (FILE:LINE: MESSAGE on stderr; with --json, as
for `policy check`, {\"ok\": false, \"error\": {\"kind\", \"file\", \"line\",
\"message\"}} on stdout). With --json, a call that cannot be judged (an
unknown tool, arguments that cannot be read or decoded) is answered on stdout
as an explanation too: {\"verdict\": \"deny\", \"decisions\": [], \"error\": \"KIND:
MESSAGE\"}, the message for people still on stderr.";

#[derive(Debug, Subcommand)]
pub(super) enum PolicyCommand {
    /// Load a policy, run its inline examples, and summarise what it decides.
    #[command(after_help = CHECK_AFTER_HELP)]
    Check(CheckArgs),
    /// Show what the policy decides for one call, and which rule decides it.
    #[command(after_help = EXPLAIN_AFTER_HELP)]
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    /// The policy file [default: the global policy: --policy, $RUSTCHAIN_POLICY
    /// or ./rustchain.toml]
    file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct ExplainArgs {
    /// The tool's name.
    name: String,
    /// The call's arguments, a JSON object; `-` reads them from stdin.
    #[arg(long = "args", short = 'a', value_name = "JSON")]
    arguments: Option<String>,
}

pub(super) fn run(command: PolicyCommand, session: &mut Session<'_>) -> Exit {
    match command {
        PolicyCommand::Check(args) => check(session, args),
        PolicyCommand::Explain(args) => explain(session, &args),
    }
}

fn check(session: &mut Session<'_>, args: CheckArgs) -> Exit {
    let governance = &session.governance;
    let checked = governance.dry_run(session.registry, args.file.as_deref());
    let executor = match checked {
        Ok(executor) => executor,
        Err(err) => return refused(session, &err),
    };
    let policy = executor.policy();
    let location = governance.policy_location();
    if args.file.is_none() && !location.in_use() {
        session.err = format!(
            "note: {} does not exist, so the empty policy applies: nothing is granted\n",
            location.path.display()
        );
    }
    let summary = policy.summary();
    let warnings: Vec<String> = policy.warnings().iter().map(ToString::to_string).collect();
    // Examples of tools this program does not link were not run.
    let examples = policy.examples().len() - warnings_of_unlinked_examples(policy);
    if session.json {
        session.out = view::pretty(&json!({
            "ok": true,
            "file": policy.origin(),
            "summary": summary,
            "examples": examples,
            "warnings": warnings,
        }));
    } else {
        session.out = check_text(policy, &summary, examples);
        for warning in &warnings {
            session.err.push_str(&format!("warning: {warning}\n"));
        }
    }
    Exit::Success
}

fn warnings_of_unlinked_examples(policy: &Policy) -> usize {
    policy
        .warnings()
        .iter()
        .filter(|w| w.kind == rustchain_tools::policy::PolicyWarningKind::UnlinkedExample)
        .count()
}

fn check_text(policy: &Policy, summary: &[String], examples: usize) -> String {
    let mut text = format!("{}: the policy loads\n", policy.origin());
    for line in summary {
        text.push_str(&format!("  {line}\n"));
    }
    let plural = if examples == 1 { "" } else { "s" };
    text.push_str(&format!("{examples} example{plural} passed\n"));
    text
}

/// A policy that does not load, for every `policy` command: FILE:LINE:
/// MESSAGE on stderr, or with `--json` the `{"ok": false, "error": ...}`
/// object on stdout; and the status for it.
fn refused(session: &mut Session<'_>, err: &PolicyError) -> Exit {
    if session.json {
        session.out = view::pretty(&json!({
            "ok": false,
            "error": { "kind": err.kind.as_str(), "file": err.origin, "line": err.line, "message": err.message },
        }));
    } else {
        session.err = format!("error: {err}\n");
    }
    Exit::Usage
}

fn explain(session: &mut Session<'_>, args: &ExplainArgs) -> Exit {
    let Some(tool) = tools::find(session, &args.name) else {
        let missing = ToolError::new(
            ErrorKind::NotFound,
            session.registry.not_found_message(&args.name),
        );
        return unjudged(session, missing.to_string());
    };
    let executor = match session.governance.dry_run(session.registry, None) {
        Ok(executor) => executor,
        Err(err) => return refused(session, &err),
    };
    let limits = executor.policy().arg_limits();
    let text = match session.input.arguments(args.arguments.as_deref(), limits) {
        Ok(text) => text,
        Err(message) => {
            session.err = format!("error: {message}\n");
            let unreadable = ToolError::new(ErrorKind::InvalidArguments, message);
            return unjudged(session, unreadable.to_string());
        }
    };
    let explanation = executor.explain(tool.name(), &text);
    if let Some(error) = &explanation.error {
        session.err = format!(
            "error: the call cannot be judged: {error}\n  `{} tools schema {}` shows the arguments it takes\n",
            session.program,
            tool.name()
        );
        return unjudged(session, error.clone());
    }
    // A tool that starts programs: what confines them on this machine.
    let starts_programs = tool
        .descriptor()
        .permissions
        .iter()
        .any(|p| p.kind == rustchain_tools::PermissionKind::Run);
    let sandbox = if starts_programs {
        sandbox_lines()
    } else {
        Vec::new()
    };
    session.out = if session.json {
        let mut value = explanation_json(&explanation);
        if starts_programs && let Some(object) = value.as_object_mut() {
            object.insert("sandbox".to_owned(), json!(sandbox));
        }
        view::pretty(&value)
    } else {
        let mut text = explanation_text(&explanation);
        if starts_programs {
            text.push_str(
                "
sandbox of the programs it starts:
",
            );
            for line in &sandbox {
                text.push_str(&format!("  {line}\n"));
            }
        }
        text
    };
    Exit::Success
}

/// A call `policy explain` cannot judge (an unknown tool, arguments that
/// cannot be read or decoded): the message for people stays on stderr, and
/// with `--json` stdout holds the explanation's own shape, denied with no
/// decision and its `error` set (as `Executor::explain` answers such a
/// call), so a script always reads one kind of answer; the status is bad
/// usage either way.
fn unjudged(session: &mut Session<'_>, error: String) -> Exit {
    if session.json {
        session.out = view::pretty(&explanation_json(&Explanation {
            verdict: Verdict::Deny,
            decisions: Vec::new(),
            error: Some(error),
        }));
    }
    Exit::Usage
}

#[cfg(unix)]
fn sandbox_lines() -> Vec<String> {
    rustchain_tools::policy::sandbox::summary()
}

#[cfg(not(unix))]
fn sandbox_lines() -> Vec<String> {
    vec!["no sandbox on this platform: programs are refused".to_owned()]
}

fn explanation_json(explanation: &Explanation) -> Value {
    serde_json::to_value(explanation)
        .expect("an explanation serializes: its fields are strings and enums")
}

fn explanation_text(explanation: &Explanation) -> String {
    let mut text = format!("verdict: {}\n", explanation.verdict);
    if let Some(decision) = explanation.deciding() {
        text.push_str(&format!(
            "rule: {}\nreason: {}\n",
            decision.rule, decision.reason
        ));
    }
    let rows: Vec<[String; 3]> = explanation
        .decisions
        .iter()
        .map(|d| {
            [
                format!("  {}", d.verdict),
                d.rule.to_string(),
                d.reason.to_string(),
            ]
        })
        .collect();
    text.push_str("\ndecisions, in order:\n");
    text.push_str(&view::aligned(rows.iter()));
    text
}
