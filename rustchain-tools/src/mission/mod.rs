//! Missions: multi-step tool plans in YAML, checked as a whole before
//! anything runs, then run as a DAG through the [`Executor`](crate::Executor).
//!
//! ```yaml
//! version: 1
//! name: weather
//! vars: { city: Oslo }
//! config: { max_parallel: 2, fail_fast: false, timeout: 30s }
//! steps:
//!   - id: stats
//!     tool: text_stats
//!     args: { text: "weather in ${{ vars.city }}" }
//!   - id: again
//!     tool: text_stats
//!     depends_on: [stats]
//!     args: { text: "${{ steps.stats.output.words }} words" }
//! ```
//!
//! [`Mission::load`] reads a file; [`Mission::validate`] reports every
//! problem (an unknown key or tool, a missing field, a cycle, a reference to
//! a step that is not a dependency, arguments the tool's schema refuses),
//! each naming the file, the line and the step; [`run::run`] executes it.

mod parse;
pub mod run;
pub mod template;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

pub use run::{Report, StepEvent, StepReport, StepStatus};

/// A mission as its file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mission {
    /// The file it was read from, as named (for problems and reports).
    pub file: String,
    /// The format's version (`1`).
    pub version: String,
    /// The mission's name; the audit trail records it as `mission.id`.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// A policy file for its calls, relative to the mission file.
    pub policy: Option<String>,
    /// Variables the arguments may reference as `${{ vars.NAME }}`.
    pub vars: BTreeMap<String, Value>,
    /// How it runs.
    pub config: Config,
    /// Its steps, in file order.
    pub steps: Vec<Step>,
}

/// How a mission runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// At most this many steps at once (default 4).
    pub max_parallel: usize,
    /// Whether the first failure stops every step not yet started (default false).
    pub fail_fast: bool,
    /// A step's timeout when it sets none.
    pub timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_parallel: 4,
            fail_fast: false,
            timeout: None,
        }
    }
}

/// One step: a tool call, run once the steps it depends on have succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its id, unique in the mission; the audit trail records it as `mission.step`.
    pub id: String,
    /// The tool it calls.
    pub tool: String,
    /// The call's arguments, references not yet filled in.
    pub args: Value,
    /// Steps that must succeed first.
    pub depends_on: Vec<String>,
    /// How long the call may take.
    pub timeout: Option<Duration>,
    /// Whether its dependents run even if it fails.
    pub continue_on_error: bool,
    /// A reference or text that must be true for the step to run.
    pub when: Option<String>,
    /// The line the step starts on.
    pub line: usize,
    /// The line of each of its keys.
    pub lines: BTreeMap<String, usize>,
}

impl Step {
    /// The line of `key` in this step, or the step's own line.
    pub fn line_of(&self, key: &str) -> usize {
        self.lines.get(key).copied().unwrap_or(self.line)
    }
}

/// What kind of problem a mission has, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// The file could not be read.
    Io,
    /// The file is not YAML.
    Syntax,
    /// A required field is absent.
    MissingField,
    /// A key the format does not have.
    UnknownKey,
    /// A value of the wrong shape.
    InvalidValue,
    /// Two steps share an id.
    DuplicateStep,
    /// `depends_on` names no step.
    UnknownStep,
    /// A reference to a step this one does not depend on.
    NotADependency,
    /// A reference that cannot be read, or to a variable not defined.
    BadReference,
    /// Steps that depend on each other in a circle.
    Cycle,
    /// A tool this program does not link.
    UnknownTool,
    /// Arguments the tool's schema refuses.
    InvalidArguments,
}

/// One problem in a mission: what, where, and which step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// The mission file.
    pub file: String,
    /// The line it is on (1-based).
    pub line: usize,
    /// The step it is in, if any.
    pub step: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(step) = &self.step {
            write!(f, "step `{step}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a mission; nothing of it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissionError {
    /// The problems, in the order of the file.
    pub problems: Vec<Problem>,
}

impl fmt::Display for MissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MissionError {}

impl Mission {
    /// Reads and parses the mission at `path` (its shape only; see [`Mission::validate`]).
    pub fn load(path: &Path) -> Result<Mission, MissionError> {
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|err| MissionError {
            problems: vec![Problem {
                kind: ProblemKind::Io,
                file: file.clone(),
                line: 1,
                step: None,
                message: format!("cannot read the mission: {err}"),
            }],
        })?;
        Mission::parse(&source, &file)
    }

    /// Parses a mission from YAML text; `file` names it in problems.
    ///
    /// ```
    /// use rustchain_tools::mission::{Mission, ProblemKind};
    /// let err = Mission::parse("version: 1\nname: x\nstep: []\n", "m.yaml").unwrap_err();
    /// assert_eq!(err.problems[0].kind, ProblemKind::UnknownKey);
    /// assert_eq!(err.problems[0].line, 3);
    /// ```
    pub fn parse(source: &str, file: &str) -> Result<Mission, MissionError> {
        parse::parse(source, file).map_err(|problems| MissionError { problems })
    }

    /// Sets variables from the command line over the file's (`--var k=v`):
    /// a value that reads as JSON (`3`, `true`, `[1]`) takes that type, any
    /// other is text.
    pub fn set_var(&mut self, name: &str, value: &str) {
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        self.vars.insert(name.to_owned(), value);
    }

    /// Checks the whole mission against the linked tools, before anything runs.
    pub fn validate(&self, registry: &crate::Registry) -> Result<(), MissionError> {
        let problems = validate::check(self, registry);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(MissionError { problems })
        }
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }
}
