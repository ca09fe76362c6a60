//! The per-call gate: the generated code reports each guarded value to it
//! after decoding, then asks it to proceed; the gate applies the policy,
//! approval, rate limits and budgets, and writes the decision record.
//! The executor finishes the call through it, writing the result record.

use std::cell::UnsafeCell;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::approval::{self, ApprovalRequest, Outcome};
use super::clock;
use super::limits::{HeldSlot, Slots};
use super::record::{CallEvent, CallEventKind};
use super::{Ruled, Shared};
use crate::CallControl;
use crate::audit::Decision as Recorded;
use crate::fs::{Confined, DirEntry, FileAccess};
use crate::guard::Guarded;
use crate::policy::{Access, Decision, Grants, Verdict};
use crate::registered::RegisteredTool;
use crate::{ErrorKind, PermissionKind, ToolDescriptor, ToolError, ToolOutput};

/// Run the tool, or only find what the policy would decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Run,
    DryRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Arguments not yet decoded (or decoding failed).
    Open,
    /// Guards passed; waiting for approval and limits.
    Checked,
    /// The decision record is being written: the call's end waits for it,
    /// so a call's records are always in order. A call with no audit trail
    /// goes from `Checked` to `Allowed` directly.
    Admitting,
    /// Decision recorded: the body may run.
    Allowed,
    /// Refused, and the refusal recorded.
    Denied,
    /// The executor has written the last record; late decisions are refused.
    Finished,
}

impl Phase {
    const ALL: [Phase; 6] = [
        Phase::Open,
        Phase::Checked,
        Phase::Admitting,
        Phase::Allowed,
        Phase::Denied,
        Phase::Finished,
    ];
}

/// A call's phase, moved on by compare-and-swap: a call takes no lock on
/// its way from decoding to its result.
struct AtomicPhase(AtomicU8);

impl AtomicPhase {
    fn new(phase: Phase) -> Self {
        AtomicPhase(AtomicU8::new(phase as u8))
    }

    #[inline]
    fn get(&self) -> Phase {
        Phase::ALL[usize::from(self.0.load(Ordering::Acquire))]
    }

    /// Moves from `from` to `to`; `false` if the call was elsewhere.
    #[inline]
    fn advance(&self, from: Phase, to: Phase) -> bool {
        self.0
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

pub(crate) struct CallGate {
    /// The executor's session: kept while the gate is spare too (see
    /// [`SpareGate`]), since a spare gate only ever serves that session.
    session: Arc<Shared>,
    pub(crate) tool: &'static ToolDescriptor,
    /// The tool's executor, when it was registered at run time.
    pub(crate) registered: Option<&'static RegisteredTool>,
    /// The call's id, kept only when an audit trail or an approver needs it.
    call_id: Option<Arc<str>>,
    /// The tool's slot in the metrics (its linked position), found once.
    pub(crate) slot: Option<usize>,
    /// Who asked for the call, for its records.
    caller: Option<Arc<crate::Caller>>,
    /// The argument text, kept only when an audit trail or an approver needs it.
    args: Option<Arc<str>>,
    args_len: usize,
    /// The tool's standing under the policy, worked out once per tool:
    /// which rule lets it run (or ask), whose [`Decision`] is built only
    /// when recorded or shown (`tool_decision`), so an allowed call that
    /// nobody records allocates nothing for it; its limits; whether its
    /// calls are plain (see [`Ruled::plain`]).
    ruled: Ruled,
    mode: Mode,
    phase: AtomicPhase,
    /// The call was allowed but its decision record not written yet: a
    /// read-only tool's decision is written with its result (D-47).
    decision_waits: AtomicBool,
    /// When the body must finish: set once the call is allowed.
    deadline: Deadline,
    /// Whether the executor awaits `until_allowed` for this call (only
    /// `run` does, for a call with a timeout): otherwise nobody is woken,
    /// and allowing the call costs no atomic read-modify-write. Set before
    /// the tool starts, so the tool's `proceed` sees it.
    awaited: AtomicBool,
    /// Every decision made, for dry runs (explain, policy examples) only.
    decisions: Mutex<Vec<Decision>>,
    /// Woken when the call is allowed: the tool's timeout counts from then,
    /// so a person's time to approve is not taken from the tool. For a call
    /// that asks, woken too when the call ends (see `until_ended`).
    allowed: tokio::sync::Notify,
    /// The concurrency slot of a call that asks, taken once it is approved
    /// and given back when the call ends (other calls' slots are held by
    /// the executor around the body).
    held: Mutex<Option<HeldSlot>>,
}

impl std::fmt::Debug for CallGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallGate")
            .field("tool", &self.tool.name)
            .field("mode", &self.mode)
            .finish()
    }
}

pub(crate) fn denied(decision: &Decision) -> ToolError {
    ToolError::new(
        ErrorKind::Denied,
        format!("{} (rule: {})", decision.reason, decision.rule),
    )
}

/// What a call's gate is made of, all known before the call's arguments
/// are decoded.
pub(crate) struct Fresh<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) tool: &'static ToolDescriptor,
    pub(crate) registered: Option<&'static RegisteredTool>,
    pub(crate) slot: Option<usize>,
    pub(crate) ctx: &'a crate::ToolContext,
    pub(crate) args: &'a str,
    pub(crate) ruled: &'a Ruled,
    pub(crate) mode: Mode,
}

impl CallGate {
    /// A new gate: a blank one, then [`CallGate::reset`] as for a spare
    /// gate, so what a call sets is written in one place.
    pub(crate) fn new(fresh: Fresh<'_>) -> CallGate {
        let mut gate = CallGate {
            session: Arc::clone(fresh.shared),
            tool: fresh.tool,
            registered: None,
            call_id: None,
            slot: None,
            caller: None,
            args: None,
            args_len: 0,
            ruled: *fresh.ruled,
            mode: fresh.mode,
            phase: AtomicPhase::new(Phase::Open),
            decision_waits: AtomicBool::new(false),
            deadline: Deadline::default(),
            awaited: AtomicBool::new(false),
            decisions: Mutex::new(Vec::new()),
            allowed: tokio::sync::Notify::new(),
            held: Mutex::new(None),
        };
        gate.reset(fresh);
        gate
    }

    fn call_id(&self) -> &str {
        self.call_id.as_deref().unwrap_or_default()
    }

    /// The executor's session this call runs in.
    #[inline]
    pub(super) fn shared(&self) -> &Shared {
        &self.session
    }

    /// Makes a blank or spare gate (see [`SpareGate`]) the gate of a new
    /// call, writing only what differs from call to call: what a spare gate
    /// holds besides is as new, `release` saw to that.
    #[inline]
    fn reset(&mut self, fresh: Fresh<'_>) {
        let Fresh {
            shared,
            tool,
            registered,
            slot,
            ctx,
            args,
            ruled,
            mode,
        } = fresh;
        self.args_len = args.len();
        // A spare gate is its own session's (the executor keeps it), so
        // its session needs no new reference.
        debug_assert!(Arc::ptr_eq(&self.session, shared));
        // A gate that last served the same linked tool holds its standing
        // already: one session's standing of a tool never changes.
        if slot.is_none() || self.slot != slot {
            self.tool = tool;
            self.registered = registered;
            self.slot = slot;
            self.ruled = *ruled;
        }
        // The text and who asked are kept for the records only; a new gate
        // has none, and `release` let go of the last call's.
        debug_assert!(self.args.is_none() && self.call_id.is_none() && self.caller.is_none());
        if shared.audit.is_some() || ruled.ruling.verdict == Verdict::Ask {
            self.args = Some(Arc::from(args));
            self.call_id = Some(ctx.__shared_call_id());
            self.caller = ctx.__shared_caller();
        }
        self.mode = mode;
        self.phase = AtomicPhase::new(Phase::Open);
        self.decision_waits = AtomicBool::new(false);
    }

    /// Lets go of what this call held, so the gate can be kept spare; `None`
    /// if it is not as a new gate would be besides (a dry run's decisions,
    /// a held slot), and must not be reused.
    fn release(&mut self) -> Option<()> {
        let decisions = self
            .decisions
            .get_mut()
            .unwrap_or_else(|poison| poison.into_inner());
        let held = self
            .held
            .get_mut()
            .unwrap_or_else(|poison| poison.into_inner());
        if !decisions.is_empty() || held.is_some() {
            return None;
        }
        // The deadline is set once per call: a new one for the next call.
        self.deadline = Deadline::default();
        *self.awaited.get_mut() = false;
        self.call_id = None;
        self.caller = None;
        self.args = None;
        Some(())
    }

    /// Whether this call's duration must be measured: its result record
    /// carries it. Other calls are timed only for the metrics' sample.
    pub(crate) fn needs_clock(&self) -> bool {
        self.shared().audit.is_some()
    }

    fn args_text(&self) -> &str {
        self.args.as_deref().unwrap_or_default()
    }

    /// Whether the policy asks a person before this call runs.
    #[inline]
    pub(crate) fn asks(&self) -> bool {
        self.ruled.ruling.verdict == Verdict::Ask
    }

    /// The tool's own decision, in words.
    fn tool_decision(&self) -> Decision {
        self.shared()
            .policy
            .explain_tool(self.ruled.ruling, self.tool.name)
    }

    pub(crate) fn grants(&self) -> &Grants {
        self.shared().policy.grants()
    }

    fn declares(&self, kind: PermissionKind) -> bool {
        self.tool.permissions.iter().any(|p| p.kind == kind)
    }

    fn confined(&self) -> Confined<'_> {
        Confined::new(self.grants()).declared(
            self.declares(PermissionKind::FsRead),
            self.declares(PermissionKind::FsWrite),
        )
    }

    /// Checks every guarded value against the policy's grants.
    pub(crate) fn check(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError> {
        let already_decided =
            || ToolError::new(ErrorKind::Cancelled, "this call is already decided");
        if self.phase.get() != Phase::Open {
            return Err(already_decided());
        }
        if guarded.is_empty() {
            // Nothing to judge: a tool without guards only moves on.
            return match self.phase.advance(Phase::Open, Phase::Checked) {
                true => Ok(()),
                false => Err(already_decided()),
            };
        }
        let mut kept = Vec::new();
        let policy = &self.shared().policy;
        // Programs first, so arguments can be judged against the program they go to.
        let mut programs: Vec<String> = Vec::new();
        for guard in guarded.iter().filter(|g| g.kind == PermissionKind::Run) {
            let _ = guard.value.each_value(&mut |value| {
                programs.push(value.to_owned());
                Ok(())
            });
        }
        for guard in guarded {
            let mut refusal = None;
            let checked = if guard.kind == PermissionKind::RunArgs {
                // Arguments are judged together, against each program they go to:
                // a denied flag may take its value from the next argument.
                let mut args = Vec::new();
                let collected = guard.value.each_value(&mut |value| {
                    args.push(value.to_owned());
                    Ok(())
                });
                let decisions: Vec<Decision> = if programs.is_empty() {
                    let access = Access {
                        kind: guard.kind,
                        param: guard.param,
                        value: "",
                    };
                    vec![policy.decide_access(self.tool.name, &access)]
                } else {
                    programs
                        .iter()
                        .map(|program| {
                            policy.decide_program_args(self.tool.name, program, guard.param, &args)
                        })
                        .collect()
                };
                collected.and_then(|()| self.judge(decisions, &mut kept, &mut refusal))
            } else {
                guard.value.each_value(&mut |value| {
                    let access = Access {
                        kind: guard.kind,
                        param: guard.param,
                        value,
                    };
                    // A run records no allowing decision: skip its text.
                    if self.mode == Mode::Run {
                        return match policy.check_access(self.tool.name, &access) {
                            Ok(()) => Ok(()),
                            Err(decision) => self.judge(vec![decision], &mut kept, &mut refusal),
                        };
                    }
                    let decision = policy.decide_access(self.tool.name, &access);
                    self.judge(vec![decision], &mut kept, &mut refusal)
                })
            };
            if let Err(error) = checked {
                let decision = refusal.unwrap_or_else(|| Decision {
                    verdict: Verdict::Deny,
                    rule: "input".into(),
                    reason: error.message().to_owned().into(),
                });
                self.keep(kept);
                if !self.phase.advance(Phase::Open, Phase::Denied) {
                    return Err(already_decided());
                }
                // A dry run (explain, policy examples) records nothing.
                if self.mode == Mode::Run {
                    self.record_decision(Recorded::Deny, &decision, None)?;
                }
                return Err(denied(&decision));
            }
        }
        self.keep(kept);
        match self.phase.advance(Phase::Open, Phase::Checked) {
            true => Ok(()),
            false => Err(already_decided()),
        }
    }

    /// Keeps a dry run's decisions for [`CallGate::dry_run_decisions`].
    fn keep(&self, decisions: Vec<Decision>) {
        if self.mode == Mode::DryRun {
            self.decisions
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .extend(decisions);
        }
    }

    /// Keeps dry-run decisions; the first denial becomes the refusal.
    fn judge(
        &self,
        decisions: Vec<Decision>,
        kept: &mut Vec<Decision>,
        refusal: &mut Option<Decision>,
    ) -> Result<(), ToolError> {
        for decision in decisions {
            if self.mode == Mode::DryRun {
                kept.push(decision.clone());
            }
            if decision.verdict == Verdict::Deny {
                let error = denied(&decision);
                *refusal = Some(decision);
                return Err(error);
            }
        }
        Ok(())
    }

    /// Approval, limits, then the decision record; `Ok` means the body may
    /// run. An approver is waited for on this thread (never a runtime's:
    /// the executor runs sync tools that ask on the blocking pool).
    pub(crate) fn proceed(&self) -> Result<(), ToolError> {
        self.ready()?;
        match self.asks() {
            true => super::block_on(self.admit_approved()),
            false => self.admit(None, Phase::Checked),
        }
    }

    /// [`CallGate::proceed`] awaiting the approver, for async tools.
    pub(crate) async fn proceed_async(&self) -> Result<(), ToolError> {
        self.ready()?;
        match self.asks() {
            true => self.admit_approved().await,
            false => self.admit(None, Phase::Checked),
        }
    }

    /// Asks the approver, then waits for a concurrency slot, then admits.
    /// The slot comes after the answer: a call waiting for a person holds
    /// none, so the approver (or anything it calls) can make calls through
    /// this executor meanwhile, even under `max_concurrent = 1`.
    async fn admit_approved(&self) -> Result<(), ToolError> {
        let approval = self.approve().await;
        if matches!(approval, Outcome::Approved(_)) {
            let slot = tokio::select! {
                biased;
                () = self.until_ended() => return Err(ToolError::new(
                    ErrorKind::Cancelled,
                    "the call ended while it waited for a free slot",
                )),
                slot = self.shared().concurrency.take_held() => slot,
            };
            *self.held_slot() = Some(slot);
        }
        let admitted = self.admit(Some(approval), Phase::Checked);
        if admitted.is_err() {
            // Refused, or ended meanwhile (its `finish` may have come before
            // the slot was kept): nothing will run in this slot.
            self.held_slot().take();
        }
        admitted
    }

    fn held_slot(&self) -> std::sync::MutexGuard<'_, Option<HeldSlot>> {
        self.held
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Resolves once the executor has ended the call (only a call that
    /// asks is woken for this).
    async fn until_ended(&self) {
        loop {
            let notified = self.allowed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.phase.get() == Phase::Finished {
                return;
            }
            notified.await;
        }
    }

    /// Refuses to go on unless the guards passed and this is a real run.
    #[inline]
    fn ready(&self) -> Result<(), ToolError> {
        if self.phase.get() != Phase::Checked {
            return Err(ToolError::new(
                ErrorKind::Cancelled,
                "this call is not ready to run",
            ));
        }
        if self.mode == Mode::DryRun {
            return Err(ToolError::new(
                ErrorKind::Cancelled,
                "a policy dry run does not run the tool",
            ));
        }
        Ok(())
    }

    /// [`CallGate::check`], then [`CallGate::proceed`]: a call with nothing
    /// to judge and nobody to ask goes from `Open` to `Allowed` at once.
    pub(crate) fn check_and_proceed(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError> {
        if !guarded.is_empty() || self.asks() || self.mode == Mode::DryRun {
            self.check(guarded)?;
            return self.proceed();
        }
        if self.phase.get() != Phase::Open {
            return Err(ToolError::new(
                ErrorKind::Cancelled,
                "this call is already decided",
            ));
        }
        self.admit(None, Phase::Open)
    }

    /// The rest of proceeding once the approver (if any) answered: limits,
    /// then the decision record. The call moves on from phase `from`:
    /// `Checked`, or `Open` when there was nothing to check.
    #[inline]
    fn admit(&self, approval: Option<Outcome>, from: Phase) -> Result<(), ToolError> {
        if self.ruled.plain {
            // Nobody to ask, nothing to count or record.
            return self.allow_plain(from).ok_or_else(ended_before_approval);
        }
        self.admit_counted(approval, from)
    }

    /// [`CallGate::admit`] of a call that is not plain: the approver's
    /// answer, rate limits and budgets, then the decision record.
    #[inline(never)]
    fn admit_counted(&self, approval: Option<Outcome>, from: Phase) -> Result<(), ToolError> {
        let ended = ended_before_approval;
        let (kind, answer) = match approval {
            Some(Outcome::Approved(answer)) => (Recorded::AskApproved, Some(answer)),
            Some(Outcome::Refused(why)) => {
                let decision = Decision {
                    verdict: Verdict::Deny,
                    rule: self.tool_decision().rule,
                    reason: format!("a person must approve each call to `{}`, and approval was not given: {why}", self.tool.name).into(),
                };
                return self.refuse(Recorded::AskDenied, &decision, Some(&why));
            }
            None => (Recorded::Allow, None),
        };
        let policy = &self.shared().policy;
        let limits = self.ruled.limits;
        if let Err((rule, reason)) = self.shared().limiter.admit(
            self.tool.name,
            limits.rate,
            policy.budget(),
            self.args_len as u64,
        ) {
            let decision = Decision {
                verdict: Verdict::Deny,
                rule: rule.into(),
                reason: reason.into(),
            };
            return self.refuse(Recorded::Deny, &decision, answer.as_deref());
        }
        if self.shared().audit.is_none() {
            return self.allow(from).ok_or_else(ended);
        }
        if !self.phase.advance(from, Phase::Admitting) {
            return Err(ended());
        }
        // Only `finish` waits on `Admitting`, and it waits for one of these stores.
        // Only a recorded decision needs its words.
        let recorded = if kind == Recorded::Allow && self.tool.annotations.read_only == Some(true) {
            // Written with the result (or a refusal the tool records), once
            // the call ends: see `finish` and D-47.
            self.decision_waits.store(true, Ordering::Release);
            Ok(())
        } else {
            let (policy, ruling) = (&self.shared().policy, self.ruled.ruling);
            policy.with_tool_words(ruling, self.tool.name, |rule, reason| {
                let event = self.decision_event(kind, rule, reason, answer.as_deref());
                self.shared().record(&event)
            })
        };
        if let Err(error) = recorded {
            self.phase.advance(Phase::Admitting, Phase::Denied);
            return Err(error);
        }
        self.start_deadline();
        self.phase.advance(Phase::Admitting, Phase::Allowed);
        self.wake_waiter();
        Ok(())
    }

    /// Moves the call from `from` straight to `Allowed` (with no decision
    /// record to write, nothing for `finish` to wait for): one
    /// compare-and-swap, then the deadline. `None` if the call was elsewhere.
    #[inline]
    fn allow(&self, from: Phase) -> Option<()> {
        if !self.phase.advance(from, Phase::Allowed) {
            return None;
        }
        // Only the thread whose compare-and-swap won sets the deadline.
        self.start_deadline();
        self.wake_waiter();
        Some(())
    }

    /// [`CallGate::allow`] of a plain call (see [`Ruled::plain`]): a load
    /// and a store where `allow` takes a compare-and-swap (D-64). Allowing a plain call decides nothing another thread could
    /// contradict: nothing is asked, counted or recorded, the guards were
    /// judged by whoever reported them, and the deadline is one atomic
    /// word; so two threads admitting the same call at once (a tool's own
    /// code sharing its context, never the generated code, which admits
    /// once before the body) may both go on, as either alone would.
    #[inline]
    fn allow_plain(&self, from: Phase) -> Option<()> {
        if self.phase.get() != from {
            return None;
        }
        self.phase.0.store(Phase::Allowed as u8, Ordering::Release);
        self.start_deadline();
        self.wake_waiter();
        Some(())
    }

    /// The tool's timeout counts from now, once the call is allowed: called
    /// by the thread that moved the call to `Allowed` (or `Admitting`): one
    /// per call, but for two admitting a plain call at once (see
    /// `allow_plain`), whose deadlines differ by the time between. It is read on the tool's
    /// clock (see [`clock::Clock`]): coarsely for a timeout far longer than a tick.
    #[inline]
    fn start_deadline(&self) {
        if let Some(limit) = self.ruled.limits.timeout {
            let limit = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
            // A deadline past what the clock counts is no deadline.
            if let Some(deadline) = self.ruled.clock.now().checked_add(limit) {
                self.deadline.set(deadline);
            }
        }
    }

    /// Wakes `until_allowed`, if the executor waits in it.
    fn wake_waiter(&self) {
        if self.ruled.limits.timeout.is_some() && self.awaited.load(Ordering::Relaxed) {
            self.allowed.notify_waiters();
        }
    }

    /// Says the executor will await [`CallGate::until_allowed`]: called
    /// before the tool starts (so before anything can allow the call).
    pub(crate) fn will_await_allowed(&self) {
        self.awaited.store(true, Ordering::Relaxed);
    }

    /// Resolves once the call is allowed to run; never, if it is refused
    /// (the call then ends with the refusal by itself).
    pub(crate) async fn until_allowed(&self) {
        loop {
            let notified = self.allowed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.phase.get() {
                Phase::Allowed => return,
                Phase::Denied | Phase::Finished => std::future::pending::<()>().await,
                Phase::Open | Phase::Checked | Phase::Admitting => notified.await,
            }
        }
    }

    /// When the body must finish, once the call is allowed.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline.get().map(clock::instant_of)
    }

    /// Whether the call was allowed with a deadline that has passed: read
    /// on the tool's clock, as the deadline was set, both by the tool
    /// (`ToolContext::is_cancelled`) and by the executor as the tool
    /// returns, so they agree.
    #[inline]
    pub(crate) fn overran(&self) -> bool {
        self.deadline
            .get()
            .is_some_and(|deadline| self.ruled.clock.now() >= deadline)
    }

    fn refuse(
        &self,
        kind: Recorded,
        decision: &Decision,
        answer: Option<&str>,
    ) -> Result<(), ToolError> {
        let refused = [Phase::Open, Phase::Checked]
            .into_iter()
            .any(|from| self.phase.advance(from, Phase::Denied));
        if !refused {
            return Err(ToolError::new(
                ErrorKind::Cancelled,
                "the call ended before it was decided",
            ));
        }
        self.record_decision(kind, decision, answer)?;
        Err(denied(decision))
    }

    async fn approve(&self) -> Outcome {
        let Some(approver) = &self.shared().approver else {
            return Outcome::Refused("no approver is configured".to_owned());
        };
        let request = ApprovalRequest {
            tool: self.tool.name.to_owned(),
            call_id: self.call_id().to_owned(),
            arguments: approval::visible(self.args_text()),
            rule: self.tool_decision().rule.into_owned(),
        };
        approval::ask(
            &**approver,
            &request,
            self.shared().policy.approval_timeout(),
        )
        .await
    }

    fn record_decision(
        &self,
        decision: Recorded,
        why: &Decision,
        answer: Option<&str>,
    ) -> Result<(), ToolError> {
        self.shared()
            .record(&self.decision_event(decision, &why.rule, &why.reason, answer))
    }

    fn decision_event<'a>(
        &'a self,
        decision: Recorded,
        rule: &'a str,
        reason: &'a str,
        answer: Option<&'a str>,
    ) -> CallEvent<'a> {
        let policy = &self.shared().policy;
        CallEvent {
            tool: self.tool.name,
            call_id: self.call_id(),
            caller: self.caller.as_deref(),
            kind: CallEventKind::Decision {
                decision,
                rule,
                reason,
                args: self.args_text(),
                record_args: policy.records_args(self.tool.name),
                redact: policy.redacted_fields(),
                approver_answer: answer,
            },
        }
    }

    /// Records `event` of an allowed call, after the call's decision if that
    /// still waits (a read-only tool's, D-47).
    fn record_after_decision(&self, event: &CallEvent<'_>) -> Result<(), ToolError> {
        if self.decision_waits.swap(false, Ordering::AcqRel) {
            let (policy, ruling) = (&self.shared().policy, self.ruled.ruling);
            // The words of the call's allow, lent without allocating.
            policy.with_tool_words(ruling, self.tool.name, |rule, reason| {
                let decision = self.decision_event(Recorded::Allow, rule, reason, None);
                self.shared().record_call(&decision, event)
            })
        } else {
            self.shared().record(event)
        }
    }

    /// A deny decision record for something the running tool refused on the
    /// call's behalf; only while the call runs, so the record falls between
    /// the call's allow and its result.
    pub(crate) fn record_refusal(&self, rule: &str, reason: &str) -> Result<(), ToolError> {
        if self.phase.get() != Phase::Allowed {
            return Err(ToolError::new(
                ErrorKind::Cancelled,
                "a refusal is recorded only while the call runs",
            ));
        }
        if self.mode == Mode::DryRun {
            return Ok(());
        }
        self.record_after_decision(&self.decision_event(Recorded::Deny, rule, reason, None))
    }

    /// Ends the call: caps the output, writes the result record (or the one
    /// record of a call refused before any decision), counts it. `duration`
    /// is `None` for a call that was not timed.
    pub(crate) fn finish(
        &self,
        result: Result<ToolOutput, ToolError>,
        duration: Option<Duration>,
    ) -> Result<ToolOutput, ToolError> {
        let prior = self.end();
        self.wrap_up(prior, result, duration, false)
    }

    /// [`CallGate::finish`] of a call that holds the executor's spare
    /// gate's place (see [`SpareGate`]), which makes it the one writer of
    /// the counters kept for such calls.
    fn finish_held(
        &self,
        result: Result<ToolOutput, ToolError>,
        duration: Option<Duration>,
    ) -> Result<ToolOutput, ToolError> {
        let prior = self.end();
        self.wrap_up(prior, result, duration, true)
    }

    /// [`CallGate::finish`] of a gate nobody else holds (the tool kept no
    /// clone of its context), so nobody can be deciding the call meanwhile:
    /// its phase moves by a plain write, not a compare-and-swap.
    /// `held`: the call holds the spare gate's place (see
    /// [`CallGate::finish_held`]).
    fn finish_alone(
        &mut self,
        result: Result<ToolOutput, ToolError>,
        duration: Option<Duration>,
        held: bool,
    ) -> Result<ToolOutput, ToolError> {
        let prior = std::mem::replace(self.phase.0.get_mut(), Phase::Finished as u8);
        self.wrap_up(Phase::ALL[usize::from(prior)], result, duration, held)
    }

    /// The rest of [`CallGate::finish`], once the call moved from `prior`
    /// to `Finished`.
    #[inline]
    fn wrap_up(
        &self,
        prior: Phase,
        result: Result<ToolOutput, ToolError>,
        duration: Option<Duration>,
        held: bool,
    ) -> Result<ToolOutput, ToolError> {
        let result = self.capped(result);
        // A plain call asked nobody, and has no budget to count its output
        // against and no trail to record it in.
        let result = match self.ruled.plain {
            true => result,
            false => self.account(prior, result, duration),
        };
        self.shared().metrics.observe_at(
            self.slot,
            self.tool.name,
            result.as_ref().err().map(ToolError::kind),
            duration,
            held,
        );
        result
    }

    /// The output over the tool's limit is an error; an error's message
    /// goes to the model too, so the same cap applies to it.
    #[inline]
    fn capped(&self, result: Result<ToolOutput, ToolError>) -> Result<ToolOutput, ToolError> {
        let max_output = self.ruled.limits.max_output_bytes;
        match result {
            Ok(output) if output.as_json().len() <= max_output => Ok(output),
            Ok(output) => Err(ToolError::new(
                ErrorKind::Failed,
                format!(
                    "the result is {} bytes, over the limit of {max_output} bytes; ask for less (a narrower range, a filter)",
                    output.as_json().len()
                ),
            )),
            Err(error) => Err(error.capped(max_output)),
        }
    }

    /// What ending a call that is not plain takes besides: the slot of a
    /// call that asked, the output's bytes against the budget, the result
    /// record. A result whose record (with the decision it waited for, if
    /// any) cannot be written is withheld.
    #[inline(never)]
    fn account(
        &self,
        prior: Phase,
        result: Result<ToolOutput, ToolError>,
        duration: Option<Duration>,
    ) -> Result<ToolOutput, ToolError> {
        if self.asks() {
            // The slot is free for the next call, and a wait for it ends.
            self.held_slot().take();
            self.allowed.notify_waiters();
        }
        if prior == Phase::Denied {
            return result;
        }
        let output = result.as_ref().ok().map(ToolOutput::as_json);
        self.shared().limiter.add_output(
            self.shared().policy.budget(),
            output.map_or(0, |o| o.len() as u64),
        );
        if self.shared().audit.is_none() {
            return result;
        }
        let event = CallEvent {
            tool: self.tool.name,
            call_id: self.call_id(),
            caller: self.caller.as_deref(),
            kind: CallEventKind::Result {
                error: result.as_ref().err().map(ToolError::kind),
                duration: duration.unwrap_or_default(),
                output,
                args: (prior != Phase::Allowed).then_some(self.args_text()),
            },
        };
        if self.decision_waits.load(Ordering::Acquire) {
            // Nothing of this call is on record yet: its result goes
            // back only once both its records are written.
            self.record_after_decision(&event)?;
        } else {
            self.shared().record_result(&event)?;
        }
        result
    }

    /// Moves the call to `Finished` and says where it was; a decision
    /// record being written is waited for, so the result record follows it.
    fn end(&self) -> Phase {
        loop {
            match self.phase.get() {
                Phase::Admitting => std::thread::yield_now(),
                Phase::Finished => return Phase::Finished,
                prior if self.phase.advance(prior, Phase::Finished) => return prior,
                _ => {}
            }
        }
    }

    /// The decisions a dry run collected, the tool's own first.
    pub(crate) fn dry_run_decisions(&self) -> Vec<Decision> {
        let mut all = vec![self.tool_decision()];
        let kept = self
            .decisions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        all.extend(kept.iter().cloned());
        all
    }

    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.ruled.limits.timeout
    }
}

/// The executor finished the call (a timeout) while approval waited.
fn ended_before_approval() -> ToolError {
    ToolError::new(
        ErrorKind::Cancelled,
        "the call ended before it was approved",
    )
}

/// A call's deadline, written once per call and read from any thread that
/// holds the call's context: nanoseconds of the tool's [`clock::Clock`] in one
/// atomic word, 0 until it is set, written by a release store and read by
/// an acquire load; neither is a read-modify-write (D-53, D-63).
#[derive(Default)]
struct Deadline(AtomicU64);

impl Deadline {
    /// Sets the deadline and publishes it: by the one thread that allowed
    /// the call (a reset, through `&mut`, sets it back to none).
    #[inline]
    fn set(&self, at: u64) {
        self.0.store(at, Ordering::Release);
    }

    #[inline]
    fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            at => Some(at),
        }
    }
}

/// One gate kept for reuse by an executor: a call that may run inline
/// takes it, and if its context is not kept it gives the gate back for the
/// next call instead of allocating one.
///
/// The place is held by one call at a time, with a concurrency slot: both
/// are taken by one compare-and-swap of the executor's [`Slots`] word (its
/// top bit is the place's flag) and given back by one subtraction, so a
/// call that runs inline makes two atomic read-modify-writes for its slot
/// and the spare gate together (D-62, D-71). The holder alone reads and
/// writes `gate`. A call that finds the place held (another thread's call
/// has it), or no slot free, allocates a gate as before.
pub(crate) struct SpareGate {
    /// The executor's concurrency slots, whose word holds the place's flag.
    slots: Arc<Slots>,
    /// Null, or a gate from `Arc::into_raw` that nobody else holds.
    gate: UnsafeCell<*const CallGate>,
}

// SAFETY: `gate` is read and written only by the thread that took the
// place (`Slots::try_take_place` or `lock_place`, atomic read-modify-writes
// with acquire ordering that set the place's bit only when it was clear)
// until it lets go (`give_back_place` or `unlock_place`, read-modify-writes
// with release ordering that clear it), so its accesses never overlap, and
// each holder sees what the last one wrote: the next taking reads from the
// letting go, or from a later read-modify-write of the same word, which
// continues the letting go's release sequence. The gate it points to is
// owned by the place.
unsafe impl Sync for SpareGate {}
// SAFETY: the pointer is an owned `Arc<CallGate>`, which is `Send`.
unsafe impl Send for SpareGate {}

/// The spare gate's place and a concurrency slot, held by one call (see
/// [`SpareGate`]); gives both back when dropped, with whatever gate was
/// given back in the place.
pub(crate) struct SpareHold<'a>(&'a SpareGate);

impl Drop for SpareHold<'_> {
    fn drop(&mut self) {
        self.0.slots.give_back_place();
    }
}

impl SpareGate {
    pub(crate) fn new(slots: Arc<Slots>) -> SpareGate {
        SpareGate {
            slots,
            gate: UnsafeCell::new(std::ptr::null()),
        }
    }

    /// A gate for the call `fresh` describes. With `keep`, for a call that
    /// may run inline, the spare one (reset) with the place and a slot
    /// held, if nobody holds the place and a slot is free; otherwise a new
    /// gate.
    #[inline]
    pub(crate) fn fill(
        &self,
        fresh: Fresh<'_>,
        keep: bool,
    ) -> (Arc<CallGate>, Option<SpareHold<'_>>) {
        if !keep || !self.slots.try_take_place() {
            return (Arc::new(CallGate::new(fresh)), None);
        }
        let hold = SpareHold(self);
        // SAFETY: `try_take_place` took the place, so only this thread
        // touches `gate` until `hold` lets go (see `Sync`).
        let spare = unsafe { std::mem::replace(&mut *self.gate.get(), std::ptr::null()) };
        if spare.is_null() {
            return (Arc::new(CallGate::new(fresh)), Some(hold));
        }
        // SAFETY: a non-null pointer here came from `Arc::into_raw` in
        // `finish_and_keep`, of a gate nobody else held (`alone` said so),
        // and was taken out of the place by its holder: this is its only
        // owner, so it may be changed in place.
        unsafe { (*spare.cast_mut()).reset(fresh) };
        // SAFETY: as above: from `Arc::into_raw`, and owned only here.
        (unsafe { Arc::from_raw(spare) }, Some(hold))
    }

    /// Finishes the call of `gate` (see [`CallGate::finish`]), and keeps
    /// the gate for the next call if nothing else holds it (a tool that
    /// kept its context keeps the gate alive, and it is simply dropped then).
    fn finish_and_keep(
        hold: SpareHold<'_>,
        gate: Arc<CallGate>,
        result: Result<ToolOutput, ToolError>,
        duration: Option<Duration>,
    ) -> Result<ToolOutput, ToolError> {
        let mut gate = gate;
        let Some(alone) = alone(&mut gate) else {
            return gate.finish_held(result, duration);
        };
        let result = alone.finish_alone(result, duration, true);
        if alone.release().is_some() {
            // SAFETY: `hold` holds the place (see `Sync`); it was emptied
            // when taken, and the gate is nobody else's (`alone`).
            unsafe { *hold.0.gate.get() = Arc::into_raw(gate) };
        }
        drop(hold);
        result
    }

    /// Finishes an inline call: through [`SpareGate::finish_and_keep`] if
    /// it holds the spare gate's place, else by a plain write if nobody
    /// else holds its gate.
    #[inline]
    pub(crate) fn finish_inline(
        hold: Option<SpareHold<'_>>,
        gate: Arc<CallGate>,
        result: Result<ToolOutput, ToolError>,
        duration: Option<Duration>,
    ) -> Result<ToolOutput, ToolError> {
        let Some(hold) = hold else {
            let mut gate = gate;
            return match alone(&mut gate) {
                Some(alone) => alone.finish_alone(result, duration, false),
                None => gate.finish(result, duration),
            };
        };
        SpareGate::finish_and_keep(hold, gate, result, duration)
    }

    /// Drops the spare gate, if any: it holds its session, so the executor
    /// lets go of it when its last clone goes (see `exec::Session`).
    pub(crate) fn clear(&self) {
        if !self.slots.lock_place() {
            // A call holds the place: it cannot, as the session ends.
            return;
        }
        // SAFETY: `lock_place` took the place, see `Sync`.
        let spare = unsafe { std::mem::replace(&mut *self.gate.get(), std::ptr::null()) };
        self.slots.unlock_place();
        if !spare.is_null() {
            // SAFETY: as in `fill`: from `Arc::into_raw`, taken out by its holder.
            drop(unsafe { Arc::from_raw(spare) });
        }
    }
}

impl Drop for SpareGate {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The gate lent to a context as its control (`ToolContext::__set_control`),
/// taken back: `control` as the `Arc<CallGate>` it was made from, if it
/// points to `lent`, the gate lent. Told by its address, where a downcast
/// through `Any` asks the type's id by two calls through the vtable.
#[inline]
pub(crate) fn lent_back(
    control: Arc<dyn CallControl>,
    lent: *const CallGate,
) -> Option<Arc<CallGate>> {
    if !std::ptr::addr_eq(Arc::as_ptr(&control), lent) {
        return None;
    }
    // SAFETY: the executor lent an `Arc<CallGate>` (coerced to `Arc<dyn
    // CallControl>`) to a context it owns and took it back out of it; the
    // tool had the context by shared reference only, so could not replace
    // it, and the gate stayed alive in it meanwhile, so no other object can
    // have come to sit at its address. `control` pointing there is that
    // `Arc`, made from an `Arc<CallGate>` by an unsized coercion: what
    // `Arc::from_raw` asks of a pointer it turns into an `Arc<CallGate>`
    // (the data pointer's size and alignment are `CallGate`'s). Its one
    // strong reference passes to the result; the address check is the
    // guard should that ever change (a mismatch is `None`, not a cast).
    Some(unsafe { Arc::from_raw(Arc::into_raw(control).cast::<CallGate>()) })
}

/// The gate as `&mut`, if `gate` is its only reference: what `Arc::get_mut`
/// answers, without its atomic read-modify-write (it locks the weak count
/// with a compare-and-swap, against a `Weak` being upgraded meanwhile).
///
/// Takes `&mut` (though it changes nothing) so that the borrow it returns
/// is the only way to the gate while it lasts.
#[inline]
fn alone(gate: &mut Arc<CallGate>) -> Option<&mut CallGate> {
    if Arc::strong_count(gate) != 1 {
        return None;
    }
    // Every other reference was dropped with a release decrement: this
    // fence orders this thread's use of the gate after theirs.
    std::sync::atomic::fence(Ordering::Acquire);
    // SAFETY: one strong reference, this one, and no `Weak`: a gate's
    // `Arc` is only ever cloned (the context lent to the tool), never
    // downgraded, and the one way to get it out of a context is the
    // unsafe `ToolContext::__take_control`, whose callers promise to make
    // no `Weak` of it. So no other thread holds, or can come to hold, a
    // reference to the gate while `gate` is borrowed here.
    Some(unsafe { &mut *Arc::as_ptr(gate).cast_mut() })
}

impl CallControl for CallGate {
    fn check(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError> {
        CallGate::check(self, guarded)
    }

    fn asks(&self) -> bool {
        CallGate::asks(self)
    }

    fn proceed(&self) -> Result<(), ToolError> {
        CallGate::proceed(self)
    }

    fn check_and_proceed(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError> {
        CallGate::check_and_proceed(self, guarded)
    }

    fn proceed_async(&self) -> Pin<Box<dyn Future<Output = Result<(), ToolError>> + Send + '_>> {
        Box::pin(CallGate::proceed_async(self))
    }

    fn deadline(&self) -> Option<Instant> {
        CallGate::deadline(self)
    }

    fn deadline_passed(&self) -> bool {
        self.overran()
    }

    fn files(&self) -> &dyn FileAccess {
        self
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn record_refusal(&self, rule: &str, reason: &str) -> Result<(), ToolError> {
        CallGate::record_refusal(self, rule, reason)
    }
}

/// A call's file access: the grants, narrowed to what the tool declares
/// (reading needs `#[fs(read)]` or `#[fs(write)]`, writing `#[fs(write)]`).
impl FileAccess for CallGate {
    fn open(&self, path: &Path) -> Result<std::fs::File, ToolError> {
        self.confined().open(path)
    }
    fn read(&self, path: &Path, max: u64) -> Result<Vec<u8>, ToolError> {
        self.confined().read(path, max)
    }
    fn read_dir(&self, path: &Path) -> Result<Vec<DirEntry>, ToolError> {
        self.confined().read_dir(path)
    }
    fn create(&self, path: &Path) -> Result<std::fs::File, ToolError> {
        self.confined().create(path)
    }
    fn write_atomic(&self, path: &Path, contents: &[u8]) -> Result<(), ToolError> {
        self.confined().write_atomic(path, contents)
    }
    fn create_dir_all(&self, path: &Path) -> Result<(), ToolError> {
        self.confined().create_dir_all(path)
    }
    fn remove_file(&self, path: &Path) -> Result<(), ToolError> {
        self.confined().remove_file(path)
    }
}
