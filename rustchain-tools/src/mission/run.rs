//! Running a validated mission: a DAG of steps, independent ones at once up
//! to `max_parallel`, each a call through the [`Executor`] that the audit
//! trail records with `mission.id` and `mission.step`; and the dry run,
//! which shows what would run and what the policy would decide.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinSet;

use super::template::{self, Reference, Scope};
use super::{Mission, Step};
use crate::policy::Verdict;
use crate::{Caller, CancellationToken, ErrorKind, Executor, ToolContext, ToolError, ToolOutput};

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Started, not finished.
    Running,
    /// The call returned a result.
    Succeeded,
    /// The call ended in an error (denied, invalid arguments, failed, ...).
    Failed,
    /// The step's timeout passed; the call was cancelled.
    TimedOut,
    /// Ctrl-C (or the caller's token) cancelled it, running or not yet
    /// started; or `fail_fast` cancelled it while it ran.
    Cancelled,
    /// Not run: a dependency did not succeed, or its `when` was false.
    Skipped,
    /// Not run: `fail_fast` stopped the mission after another step failed.
    NotRun,
}

impl StepStatus {
    /// The status as the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::TimedOut => "timed_out",
            StepStatus::Cancelled => "cancelled",
            StepStatus::Skipped => "skipped",
            StepStatus::NotRun => "not_run",
        }
    }
}

/// How one step went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// The step's id.
    pub id: String,
    /// The tool it calls.
    pub tool: String,
    /// Where it stands.
    pub status: StepStatus,
    /// How long its call took, when it ran.
    pub duration_ms: Option<u64>,
    /// The error's kind (`denied`, `timeout`, ...), when it failed.
    pub error_type: Option<String>,
    /// What went wrong, or why it was skipped.
    pub message: Option<String>,
    /// Its output, when it succeeded.
    pub output: Option<Value>,
}

/// A step changing state, for a progress view.
pub type StepEvent = StepReport;

/// How a mission run went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The mission's name.
    pub mission: String,
    /// This run's id, a UUID v7 (time-ordered), recorded as `mission.run_id`
    /// in the audit trail beside the mission's name: `audit report
    /// --mission RUN_ID` reports this run alone.
    pub run_id: String,
    /// Whether every step succeeded or was skipped by its `when`.
    pub ok: bool,
    /// Whether the run was cancelled.
    pub cancelled: bool,
    /// Wall time of the whole run.
    pub duration_ms: u64,
    /// Every step, in file order.
    pub steps: Vec<StepReport>,
}

/// The `client.name` the audit trail records for mission calls.
pub const CLIENT: &str = "rustchain mission";

/// Runs `mission` (already validated) through `executor`; cancelling
/// `cancel` cancels the running calls, which are still recorded, and starts
/// no more. `on_event` hears every step start and finish.
pub async fn run(
    executor: &Executor,
    mission: &Mission,
    cancel: CancellationToken,
    on_event: &(dyn Fn(&StepEvent) + Send + Sync),
) -> Report {
    let started = Instant::now();
    let run_id = uuid::Uuid::now_v7().to_string();
    // fail_fast cancels this one; Ctrl-C cancels `cancel`, its parent.
    let run_token = cancel.child_token();
    let steps = &mission.steps;
    let mut done: Vec<Option<StepReport>> = vec![None; steps.len()];
    let mut launched = vec![false; steps.len()];
    let mut scope = Scope {
        vars: mission.vars.clone(),
        outputs: BTreeMap::new(),
    };
    let mut running: JoinSet<(usize, Result<ToolOutput, ToolError>, Duration, bool)> =
        JoinSet::new();
    let mut failed_fast = false;
    loop {
        let mut progressed = true;
        while progressed {
            progressed = false;
            for (i, step) in steps.iter().enumerate() {
                if launched[i] || !deps_done(mission, step, &done) {
                    continue;
                }
                let settled = if cancel.is_cancelled() {
                    Some(not_run(
                        step,
                        StepStatus::Cancelled,
                        "not started: the mission was cancelled",
                    ))
                } else if failed_fast {
                    Some(not_run(
                        step,
                        StepStatus::NotRun,
                        "not started: fail_fast stopped the mission",
                    ))
                } else if let Some(dep) = blocking_dep(mission, step, &done) {
                    Some(not_run(
                        step,
                        StepStatus::Skipped,
                        &format!("skipped: `{dep}` did not succeed"),
                    ))
                } else {
                    match when_allows(step, &scope) {
                        Err(message) => Some(not_run(step, StepStatus::Failed, &message)),
                        Ok(false) => Some(not_run(
                            step,
                            StepStatus::Skipped,
                            "skipped: its `when` is false",
                        )),
                        Ok(true) if running.len() >= mission.config.max_parallel => continue,
                        Ok(true) => match scope.fill(&step.args) {
                            Err(message) => Some(not_run(step, StepStatus::Failed, &message)),
                            Ok(args) => {
                                launch(
                                    &mut running,
                                    executor,
                                    mission,
                                    &run_id,
                                    i,
                                    args,
                                    &run_token,
                                );
                                launched[i] = true;
                                on_event(&not_run(step, StepStatus::Running, ""));
                                progressed = true;
                                None
                            }
                        },
                    }
                };
                if let Some(report) = settled {
                    on_event(&report);
                    if report.status == StepStatus::Failed
                        && mission.config.fail_fast
                        && !step.continue_on_error
                    {
                        failed_fast = true;
                        run_token.cancel();
                    }
                    done[i] = Some(report);
                    launched[i] = true;
                    progressed = true;
                }
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let Ok((i, result, duration, timed_out)) = joined else {
            // A call's task panicked; the executor already recorded what it could.
            continue;
        };
        let step = &steps[i];
        let report = finished(step, result, duration, timed_out, run_token.is_cancelled());
        if let Some(output) = &report.output {
            scope.outputs.insert(step.id.clone(), output.clone());
        }
        on_event(&report);
        if matches!(report.status, StepStatus::Failed | StepStatus::TimedOut)
            && mission.config.fail_fast
            && !step.continue_on_error
        {
            failed_fast = true;
            run_token.cancel();
        }
        done[i] = Some(report);
    }
    let steps: Vec<StepReport> = done
        .into_iter()
        .zip(steps)
        .map(|(report, step)| {
            report.unwrap_or_else(|| not_run(step, StepStatus::NotRun, "not started"))
        })
        .collect();
    let ok = steps.iter().all(|s| {
        s.status == StepStatus::Succeeded
            || (s.status == StepStatus::Skipped
                && s.message.as_deref() == Some("skipped: its `when` is false"))
    });
    Report {
        mission: mission.name.clone(),
        run_id,
        ok,
        cancelled: cancel.is_cancelled(),
        duration_ms: millis(started.elapsed()),
        steps,
    }
}

fn launch(
    running: &mut JoinSet<(usize, Result<ToolOutput, ToolError>, Duration, bool)>,
    executor: &Executor,
    mission: &Mission,
    run_id: &str,
    index: usize,
    args: Value,
    run_token: &CancellationToken,
) {
    let step = &mission.steps[index];
    let token = run_token.child_token();
    let ctx = ToolContext::new()
        .with_cancellation(token.clone())
        .with_caller(Caller {
            client: Some(CLIENT.to_owned()),
            mission: Some(mission.name.clone()),
            mission_run: Some(run_id.to_owned()),
            step: Some(step.id.clone()),
            ..Caller::default()
        });
    let timeout = step.timeout.or(mission.config.timeout);
    let (executor, tool, args) = (executor.clone(), step.tool.clone(), args.to_string());
    running.spawn(async move {
        let started = Instant::now();
        let call = executor.call(&tool, &args, ctx);
        tokio::pin!(call);
        let mut timed_out = false;
        let result = match timeout {
            None => call.await,
            Some(limit) => tokio::select! {
                result = &mut call => result,
                () = tokio::time::sleep(limit) => {
                    // Cancelled, not dropped: the call ends and is recorded.
                    timed_out = true;
                    token.cancel();
                    call.await
                }
            },
        };
        (index, result, started.elapsed(), timed_out)
    });
}

fn finished(
    step: &Step,
    result: Result<ToolOutput, ToolError>,
    duration: Duration,
    timed_out: bool,
    interrupted: bool,
) -> StepReport {
    let mut report = not_run(step, StepStatus::Succeeded, "");
    report.duration_ms = Some(millis(duration));
    match result {
        Ok(output) => report.output = Some(output.to_value()),
        Err(error) => {
            report.status = match error.kind() {
                _ if timed_out => StepStatus::TimedOut,
                ErrorKind::Timeout => StepStatus::TimedOut,
                // A tool that watches its cancellation may end with an error
                // of its own before the executor says `cancelled`: either way
                // the run cancelled the step.
                _ if interrupted => StepStatus::Cancelled,
                _ => StepStatus::Failed,
            };
            let kind = if timed_out {
                "timeout"
            } else {
                error.kind().as_str()
            };
            report.error_type = Some(kind.to_owned());
            report.message = Some(if timed_out {
                format!(
                    "the step's timeout passed, so its call was cancelled ({})",
                    error.message()
                )
            } else {
                error.message().to_owned()
            });
        }
    }
    report
}

fn not_run(step: &Step, status: StepStatus, message: &str) -> StepReport {
    StepReport {
        id: step.id.clone(),
        tool: step.tool.clone(),
        status,
        duration_ms: None,
        error_type: None,
        message: (!message.is_empty()).then(|| message.to_owned()),
        output: None,
    }
}

fn deps_done(mission: &Mission, step: &Step, done: &[Option<StepReport>]) -> bool {
    step.depends_on
        .iter()
        .all(|dep| index_of(mission, dep).is_some_and(|i| done[i].is_some()))
}

/// A dependency that did not succeed and does not let its dependents go on.
fn blocking_dep<'m>(
    mission: &'m Mission,
    step: &'m Step,
    done: &[Option<StepReport>],
) -> Option<&'m str> {
    step.depends_on.iter().map(String::as_str).find(|dep| {
        let Some(i) = index_of(mission, dep) else {
            return true;
        };
        let report = done[i].as_ref();
        let status = report.map(|r| r.status);
        match status {
            Some(StepStatus::Succeeded) => false,
            Some(StepStatus::Failed | StepStatus::TimedOut) => !mission.steps[i].continue_on_error,
            _ => true,
        }
    })
}

fn index_of(mission: &Mission, id: &str) -> Option<usize> {
    mission.steps.iter().position(|step| step.id == id)
}

fn when_allows(step: &Step, scope: &Scope) -> Result<bool, String> {
    match &step.when {
        None => Ok(true),
        Some(condition) => scope
            .fill(&Value::String(condition.clone()))
            .map(|value| template::truthy(&value))
            .map_err(|message| format!("its `when` cannot be evaluated: {message}")),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What the dry run says of one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStep {
    /// The step's id.
    pub id: String,
    /// The tool it would call.
    pub tool: String,
    /// Its wave: 1 for steps with no dependencies, else one more than its
    /// latest dependency's. Steps of one wave may run at once.
    pub wave: usize,
    /// Its arguments with variables filled in; references to other steps'
    /// outputs are left as written.
    pub args: Value,
    /// What the policy would decide.
    pub verdict: Verdict,
    /// The deciding rule.
    pub rule: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// What the dry run could not know before the run.
    pub note: Option<String>,
}

/// What `mission` would run, wave by wave, and what the policy would decide
/// for each step; nothing runs and nothing is recorded.
pub fn plan(executor: &Executor, mission: &Mission) -> Vec<PlannedStep> {
    let mut waves: BTreeMap<&str, usize> = BTreeMap::new();
    // Validation rules out cycles, so this settles in at most one pass per step.
    for _ in 0..=mission.steps.len() {
        for step in &mission.steps {
            let wave = 1 + step
                .depends_on
                .iter()
                .map(|d| waves.get(d.as_str()).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            waves.insert(&step.id, wave);
        }
    }
    let scope = Scope {
        vars: mission.vars.clone(),
        outputs: BTreeMap::new(),
    };
    let mut planned: Vec<PlannedStep> = mission
        .steps
        .iter()
        .map(|step| {
            let waits_on: Vec<String> = uses_outputs(&step.args);
            let args = fill_vars(&scope, &step.args);
            let (verdict, rule, reason, note) = if waits_on.is_empty() {
                let explanation = executor.explain(&step.tool, &args.to_string());
                let deciding = explanation.deciding().cloned();
                (
                    explanation.verdict,
                    deciding.as_ref().map(|d| d.rule.to_string()),
                    deciding.map(|d| d.reason.to_string()).or(explanation.error),
                    None,
                )
            } else {
                let decision = executor
                    .registry()
                    .get(&step.tool)
                    .map(|tool| executor.policy().decide_tool(tool.descriptor()));
                (
                    decision.as_ref().map_or(Verdict::Deny, |d| d.verdict),
                    decision.as_ref().map(|d| d.rule.to_string()),
                    decision.map(|d| d.reason.to_string()),
                    Some(format!(
                        "the tool rule only: its arguments wait on the output of {}",
                        waits_on.join(", ")
                    )),
                )
            };
            PlannedStep {
                id: step.id.clone(),
                tool: step.tool.clone(),
                wave: waves.get(step.id.as_str()).copied().unwrap_or(1),
                args,
                verdict,
                rule,
                reason,
                note,
            }
        })
        .collect();
    planned.sort_by_key(|step| step.wave);
    planned
}

/// The steps whose outputs `args` references.
fn uses_outputs(args: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    let mut visit = |text: &str| {
        for reference in template::references(text).unwrap_or_default() {
            if let Reference::Step { id, .. } = reference
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
    };
    fn walk(value: &Value, visit: &mut dyn FnMut(&str)) {
        match value {
            Value::String(text) => visit(text),
            Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
            Value::Object(map) => map.values().for_each(|v| walk(v, visit)),
            _ => {}
        }
    }
    walk(args, &mut visit);
    ids
}

/// `args` with what can be filled before the run filled in.
fn fill_vars(scope: &Scope, args: &Value) -> Value {
    match args {
        Value::String(_) => scope.fill(args).unwrap_or_else(|_| args.clone()),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_vars(scope, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_vars(scope, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// [`run`] for a program without an async runtime (the CLI): on a runtime
/// of its own, and with `ctrl_c` set, Ctrl-C cancels the running steps
/// (they are still recorded) and starts no more.
pub fn run_blocking(
    executor: &Executor,
    mission: &Mission,
    ctrl_c: bool,
    on_event: &(dyn Fn(&StepEvent) + Send + Sync),
) -> std::io::Result<Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(mission.config.max_parallel.clamp(1, 8))
        .enable_all()
        .build()?;
    let cancel = CancellationToken::new();
    Ok(runtime.block_on(async {
        if ctrl_c {
            let token = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    token.cancel();
                }
            });
        }
        run(executor, mission, cancel, on_event).await
    }))
}
