//! `rustchain mission validate|execute FILE`: a thin front end over the
//! runtime's missions; parsing, checks, the DAG runner and the dry run live
//! in `rustchain_tools::mission`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::{Args, Subcommand};
use rustchain_tools::mission::run::{self, PlannedStep};
use rustchain_tools::mission::{Mission, MissionError, Report, StepEvent, StepStatus};

use super::{Exit, Session, executor};

/// Shown after `rustchain mission --help`.
pub(super) const AFTER_HELP: &str = "\
Examples:
  rustchain mission validate tool_demo.yaml          check everything, run nothing
  rustchain mission execute tool_demo.yaml --dry-run what would run, and the policy's verdicts
  rustchain mission execute tool_demo.yaml --var city=Oslo --json

Every step is a call through the policy and the audit trail, recorded with
`mission.id` (the mission's name), `mission.run_id` (this run's id, a UUID v7,
`run_id` in --json) and `mission.step` (the step's id).
Exit status: 0 every step succeeded; 1 a step failed, timed out, was skipped
for a failed dependency or cancelled; 2 the mission has problems (each named
with its file, line and step) or the policy or audit trail cannot be used.";

#[derive(Debug, Subcommand)]
pub(super) enum MissionCommand {
    /// Check a mission file: its shape, steps, references, tools and arguments.
    Validate(FileArgs),
    /// Run a mission's steps through the executor, independent ones at once.
    Execute(ExecuteArgs),
}

#[derive(Debug, Args)]
pub(super) struct FileArgs {
    /// The mission file (YAML).
    file: PathBuf,
    /// Sets a variable over the file's `vars` (repeatable); JSON values keep their type.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub(super) struct ExecuteArgs {
    #[command(flatten)]
    file: FileArgs,
    /// Show what would run and what the policy would decide; run nothing.
    #[arg(long)]
    dry_run: bool,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

pub(super) fn run(command: MissionCommand, session: &mut Session<'_>) -> Exit {
    match command {
        MissionCommand::Validate(args) => match load(session, &args) {
            Ok(mission) => {
                if session.json {
                    let value = serde_json::json!({"ok": true, "mission": mission.name, "steps": mission.steps.len()});
                    session.out = format!("{value}\n");
                } else {
                    session.out = format!(
                        "ok: mission `{}` ({} steps) is valid\n",
                        mission.name,
                        mission.steps.len()
                    );
                }
                Exit::Success
            }
            Err(exit) => exit,
        },
        MissionCommand::Execute(args) => execute(session, &args),
    }
}

/// The mission read, variables set, and validated; problems are written out.
fn load(session: &mut Session<'_>, args: &FileArgs) -> Result<Mission, Exit> {
    let checked = Mission::load(&args.file).and_then(|mut mission| {
        for (name, value) in &args.vars {
            mission.set_var(name, value);
        }
        mission.validate(session.registry).map(|()| mission)
    });
    checked.map_err(|err| {
        report_problems(session, &err);
        Exit::Usage
    })
}

fn report_problems(session: &mut Session<'_>, err: &MissionError) {
    if session.json {
        let value = serde_json::json!({"ok": false, "problems": err.problems});
        session.out = format!("{value}\n");
    }
    for problem in &err.problems {
        session.err.push_str(&format!("error: {problem}\n"));
    }
    session.err.push_str(&format!(
        "{} problem(s); nothing was run\n",
        err.problems.len()
    ));
}

fn execute(session: &mut Session<'_>, args: &ExecuteArgs) -> Exit {
    let mission = match load(session, &args.file) {
        Ok(mission) => mission,
        Err(exit) => return exit,
    };
    // The mission's own policy, unless a flag or the environment names one.
    let own_policy = mission.policy.as_ref().map(|policy| {
        session
            .governance
            .with_default_policy(&beside(&args.file.file, policy))
    });
    let governance = own_policy.as_ref().unwrap_or(&session.governance);
    if args.dry_run {
        let executor = match governance.dry_run(session.registry, None) {
            Ok(executor) => executor,
            Err(err) => {
                session.err = format!("error: {err}\n");
                return Exit::Usage;
            }
        };
        let plan = run::plan(&executor, &mission);
        session.out = if session.json {
            plan_json(&mission, &plan)
        } else {
            plan_text(&mission, &plan)
        };
        return Exit::Success;
    }
    let setup = match governance.open(session.registry, session.input.is_terminal) {
        Ok(setup) => setup,
        Err(err) => {
            session.err = executor::setup_advice(&err, &session.program);
            return Exit::Usage;
        }
    };
    session.err.push_str(&executor::setup_notes(&setup));
    // Progress goes out as it happens on the process's own stderr (a view
    // redrawn in place on a terminal, plain lines when piped), and is kept
    // for the end otherwise (`run_from` collects what it writes).
    let live = session.input.own_streams;
    if live {
        eprint!("{}", std::mem::take(&mut session.err));
    }
    let redraw = live && std::io::stderr().is_terminal();
    let board = Mutex::new(Board::new(&mission));
    if redraw {
        eprint!(
            "{}",
            board
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .render(false)
        );
    }
    let lines = Mutex::new(String::new());
    let on_event = |event: &StepEvent| {
        if redraw {
            let mut board = board.lock().unwrap_or_else(|p| p.into_inner());
            board.update(event);
            eprint!("{}", board.render(true));
        } else if live {
            eprintln!("{}", progress_line(event));
        } else {
            let mut kept = lines.lock().unwrap_or_else(|p| p.into_inner());
            kept.push_str(&progress_line(event));
            kept.push('\n');
        }
    };
    let report = match run::run_blocking(&setup.executor, &mission, live, &on_event) {
        Ok(report) => report,
        Err(err) => {
            session.err.push_str(&format!(
                "error: cannot start the mission's runtime: {err}\n"
            ));
            return Exit::Usage;
        }
    };
    session
        .err
        .push_str(&lines.into_inner().unwrap_or_else(|p| p.into_inner()));
    session.out = if session.json {
        format!(
            "{}\n",
            serde_json::to_string(&report).expect("a report serializes")
        )
    } else {
        summary(&report)
    };
    if report.ok {
        Exit::Success
    } else {
        Exit::ToolError
    }
}

/// The live view on a terminal: one line per step (pending, running, done,
/// failed, with durations), redrawn in place as steps change.
struct Board {
    rows: Vec<(String, String, String)>,
}

impl Board {
    fn new(mission: &Mission) -> Board {
        let rows = mission
            .steps
            .iter()
            .map(|step| (step.id.clone(), step.tool.clone(), "pending".to_owned()))
            .collect();
        Board { rows }
    }

    fn update(&mut self, event: &StepEvent) {
        if let Some(row) = self.rows.iter_mut().find(|row| row.0 == event.id) {
            row.2 = match event.duration_ms {
                Some(ms) => format!("{} {ms} ms", event.status.as_str()),
                None => event.status.as_str().to_owned(),
            };
        }
    }

    /// The rows, after moving the cursor back over the previous drawing
    /// when `again`; each line is cleared first, as it may have been longer.
    fn render(&self, again: bool) -> String {
        let width = self.rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
        let mut out = String::new();
        if again && !self.rows.is_empty() {
            out.push_str(&format!("\x1b[{}A", self.rows.len()));
        }
        for (id, tool, state) in &self.rows {
            out.push_str(&format!("\x1b[2K{id:<width$}  {state:<22} {tool}\n"));
        }
        out
    }
}

/// A path in the mission file, relative to its folder.
fn beside(file: &Path, relative: &str) -> PathBuf {
    file.parent().unwrap_or(Path::new(".")).join(relative)
}

fn progress_line(event: &StepEvent) -> String {
    let mut line = format!(
        "{:<10} {} ({})",
        event.status.as_str(),
        event.id,
        event.tool
    );
    if let Some(ms) = event.duration_ms {
        line.push_str(&format!(" {ms} ms"));
    }
    if let Some(message) = &event.message {
        line.push_str(&format!(": {message}"));
    }
    line
}

fn summary(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .steps
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!(
        "{:<width$}  {:<10}  {:>8}  TOOL\n",
        "STEP", "STATUS", "TIME"
    ));
    for step in &report.steps {
        let time = step
            .duration_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms"));
        out.push_str(&format!(
            "{:<width$}  {:<10}  {:>8}  {}\n",
            step.id,
            step.status.as_str(),
            time,
            step.tool
        ));
    }
    for step in report
        .steps
        .iter()
        .filter(|s| s.status != StepStatus::Succeeded)
    {
        if let Some(message) = &step.message {
            out.push_str(&format!("{}: {message}\n", step.id));
        }
    }
    let count = |status| report.steps.iter().filter(|s| s.status == status).count();
    let mut parts = Vec::new();
    for status in [
        StepStatus::Succeeded,
        StepStatus::Failed,
        StepStatus::TimedOut,
        StepStatus::Skipped,
        StepStatus::NotRun,
        StepStatus::Cancelled,
    ] {
        let n = count(status);
        if n > 0 {
            parts.push(format!("{n} {}", status.as_str().replace('_', " ")));
        }
    }
    out.push_str(&format!(
        "mission `{}`: {} in {} ms\n",
        report.mission,
        parts.join(", "),
        report.duration_ms
    ));
    out
}

fn plan_text(mission: &Mission, plan: &[PlannedStep]) -> String {
    let mut out = format!(
        "dry run of mission `{}`: nothing runs, nothing is recorded\n",
        mission.name
    );
    for step in plan {
        out.push_str(&format!(
            "wave {}  {}  {} {}\n",
            step.wave, step.id, step.tool, step.args
        ));
        out.push_str(&format!("        policy: {}", step.verdict));
        if let Some(rule) = &step.rule {
            out.push_str(&format!(" by {rule}"));
        }
        if let Some(reason) = &step.reason {
            out.push_str(&format!(": {reason}"));
        }
        out.push('\n');
        if let Some(note) = &step.note {
            out.push_str(&format!("        note: {note}\n"));
        }
    }
    out
}

fn plan_json(mission: &Mission, plan: &[PlannedStep]) -> String {
    let value = serde_json::json!({"mission": mission.name, "dry_run": true, "steps": plan});
    format!("{value}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_view_redraws_each_step_in_place() {
        let mission = Mission::parse(
            "version: 1\nname: b\nsteps:\n  - {id: a, tool: t}\n  - {id: bb, tool: u}\n",
            "b.yaml",
        )
        .expect("a mission");
        let mut board = Board::new(&mission);
        assert_eq!(
            board.render(false),
            "\x1b[2Ka   pending                t\n\x1b[2Kbb  pending                u\n"
        );
        board.update(&StepEvent {
            id: "bb".into(),
            tool: "u".into(),
            status: StepStatus::Failed,
            duration_ms: Some(12),
            error_type: None,
            message: None,
            output: None,
        });
        let again = board.render(true);
        assert!(again.starts_with("\x1b[2A"), "{again:?}");
        assert!(again.contains("bb  failed 12 ms           u"), "{again:?}");
    }
}
