//! The executor: the one entry point for every tool call.
//!
//! lookup → is the tool allowed? → decode once → generated guards → approval
//! → rate limits and budgets → run under the timeout, cancellable → cap the
//! output → audit → result. A refusal is an error of kind `denied` naming the
//! rule and how to get access; nothing of the tool runs, and exactly one
//! audit record says so.

mod approval;
mod clock;
mod dry_run;
mod gate;
mod limits;
mod metrics;
mod record;
mod running;
mod settings;

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Runtime};
use tracing::Instrument;

pub use approval::{
    ApprovalError, ApprovalFuture, ApprovalRequest, Approver, BlockingApprover, TerminalApprover,
    visible,
};
pub use dry_run::Explanation;
pub use metrics::{LATENCY_BUCKETS_US, LATENCY_SAMPLE_EVERY, ToolMetrics, UNKNOWN_TOOL};
pub use record::{AuditSink, CallEvent, CallEventKind, MemoryAudit};
pub use settings::{
    AUDIT_ENV, AuditTarget, DEFAULT_CHECKPOINT_EVERY, OpenedTrail, POLICY_ENV, POLICY_FILE,
    PolicyLocation, Settings, Setup, SetupError, TRAIL_BESIDE_POLICY, TRAIL_IN_STATE_DIR,
};

pub(crate) use gate::CallGate;
use gate::{Fresh, Mode, SpareGate, SpareHold, denied};
pub use running::Running;

use crate::audit::Decision as Recorded;
use crate::policy::{Budget, Policy, PolicyError, ToolLimits, ToolRuling, Verdict};
use crate::registered;
use crate::{ErrorKind, Invoke, Registry, ToolContext, ToolError, ToolOutput};

/// State shared by every call of one executor (one session).
pub(crate) struct Shared {
    pub(crate) registry: &'static Registry,
    pub(crate) policy: Policy,
    pub(crate) audit: Option<Arc<dyn AuditSink>>,
    approver: Option<Arc<dyn Approver>>,
    limiter: limits::Limiter,
    metrics: metrics::Metrics,
    concurrency: Arc<limits::Slots>,
    /// Each linked tool's standing under `policy`, by its linked position,
    /// worked out on its first call: the policy and the linked tools never
    /// change, so later calls match no glob and look up no name.
    rulings: Box<[OnceLock<Ruled>]>,
    /// A gate a finished inline call gave back, for the next call.
    spare: SpareGate,
}

impl Shared {
    /// The standing of `tool` (at linked position `slot`, if linked): a
    /// linked tool's is kept, another's is worked out into `owned`.
    #[inline]
    fn ruled<'a>(
        &'a self,
        tool: &'static crate::ToolDescriptor,
        slot: Option<usize>,
        owned: &'a mut Option<Ruled>,
    ) -> &'a Ruled {
        match slot.and_then(|slot| self.rulings.get(slot)) {
            Some(known) => match known.get() {
                Some(ruled) => ruled,
                None => known.get_or_init(|| self.work_out(tool)),
            },
            None => owned.insert(self.work_out(tool)),
        }
    }

    /// The standing of `tool` under the policy: once per linked tool.
    #[cold]
    fn work_out(&self, tool: &'static crate::ToolDescriptor) -> Ruled {
        let ruling = self.policy.rule_tool(tool.into());
        let limits = self.policy.limits_for(tool);
        Ruled {
            ruling,
            limits,
            clock: limits
                .timeout
                .map_or(clock::Clock::Precise, clock::Clock::for_timeout),
            plain: ruling.verdict == Verdict::Allow
                && limits.rate.is_none()
                && self.policy.budget() == Budget::default()
                && self.audit.is_none(),
        }
    }

    /// Records one event; a failure refuses the call it belongs to.
    fn record(&self, event: &CallEvent<'_>) -> Result<(), ToolError> {
        match &self.audit {
            None => Ok(()),
            Some(audit) => audit.record(event).map_err(|err| {
                ToolError::new(
                    ErrorKind::Denied,
                    format!("the audit trail could not be written, so the call was refused: {err}"),
                )
            }),
        }
    }
}

impl Shared {
    /// Records the result of a call whose decision is on record; a failure
    /// withholds the result from its caller, since no output goes back that
    /// the trail does not hold (the tool has run: the error says so, D-99).
    fn record_result(&self, event: &CallEvent<'_>) -> Result<(), ToolError> {
        match &self.audit {
            None => Ok(()),
            Some(audit) => audit.record(event).map_err(|err| {
                ToolError::new(
                    ErrorKind::Failed,
                    format!(
                        "the tool ran, but the audit trail could not record its result, so the \
                         result was withheld: {err}"
                    ),
                )
            }),
        }
    }

    /// Records a call's decision and result together (a read-only tool's,
    /// once it ended); a failure withholds the call's result.
    fn record_call(
        &self,
        decision: &CallEvent<'_>,
        result: &CallEvent<'_>,
    ) -> Result<(), ToolError> {
        match &self.audit {
            None => Ok(()),
            Some(audit) => audit.record_call(decision, result).map_err(|err| {
                ToolError::new(
                    ErrorKind::Denied,
                    format!(
                        "the audit trail could not be written, so the result was withheld: {err}"
                    ),
                )
            }),
        }
    }
}

/// Whether a call may run inline on the caller's thread, and so take the
/// executor's spare gate: never (a dry run), under `call_blocking`, or
/// under `call` (which runs a sync tool with a timeout on tokio).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inline {
    Never,
    Blocking,
    Async,
}

/// The concurrency slot of a call that runs inline: taken with the spare
/// gate's place (one compare-and-swap for both, D-71), or on its own.
enum InlineSlot<'a> {
    Held(SpareHold<'a>),
    Counted(limits::Slot<'a>),
}

/// A tool's standing under an executor's policy: what its every call starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ruled {
    /// Which rule lets the tool run (or ask, or refuses it).
    pub(crate) ruling: ToolRuling,
    /// Its limits under the policy.
    pub(crate) limits: ToolLimits,
    /// The clock its deadline is kept on, if it has a timeout: the coarse
    /// one for a timeout far longer than its resolution (D-63).
    pub(crate) clock: clock::Clock,
    /// Allowed outright, with nothing of a call to count or record: no
    /// approval, rate limit, session budget or audit trail. Such a call's
    /// gate only judges its guards, moves its phase and keeps its deadline
    /// (if it has a timeout), so admitting and finishing it skip the rest
    /// without asking piece by piece (D-54).
    pub(crate) plain: bool,
}

/// Runs tool calls under a policy, with approval, limits, timeouts and an audit trail.
///
/// Cheap to clone: clones share one session (budgets, rate windows, metrics).
///
/// ```
/// use rustchain_tools::{Executor, Registry, ToolContext, ErrorKind};
/// let executor = Executor::new(Registry::global());
/// let err = executor.call_blocking("no_such_tool", "{}", ToolContext::new()).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// ```
#[derive(Clone)]
pub struct Executor {
    shared: Arc<Session>,
}

/// What an executor's clones share: the session, which the spare gate
/// holds too (a gate holds its session), so the last clone to go empties
/// the spare gate, and the session can end.
struct Session(Arc<Shared>);

impl std::ops::Deref for Session {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.0.spare.clear();
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("policy", &self.shared.policy.origin())
            .field("audit", &self.shared.audit.is_some())
            .finish()
    }
}

/// Builds an [`Executor`]: registry, policy, audit sink, approver.
pub struct ExecutorBuilder {
    registry: &'static Registry,
    policy: Policy,
    audit: Option<Arc<dyn AuditSink>>,
    pub(crate) approver: Option<Arc<dyn Approver>>,
}

impl ExecutorBuilder {
    /// The policy to enforce (default: no policy file, no grants).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Where to record every call (default: nowhere).
    pub fn audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Who approves calls the policy marks `ask` (default: nobody, so they are denied).
    pub fn approver(mut self, approver: impl Approver) -> Self {
        self.approver = Some(Arc::new(approver));
        self
    }

    /// A synchronous function approves calls the policy marks `ask`; it runs
    /// on a thread of its own (see [`BlockingApprover`]).
    ///
    /// ```
    /// use rustchain_tools::{Executor, Registry};
    /// use rustchain_tools::exec::ApprovalRequest;
    /// let executor = Executor::builder(Registry::global())
    ///     .approve_with(|request: &ApprovalRequest| {
    ///         Ok::<_, String>(if request.tool == "text_stats" { "yes" } else { "no" }.to_owned())
    ///     })
    ///     .build();
    /// ```
    pub fn approve_with<F, E>(self, answer: F) -> Self
    where
        F: Fn(&ApprovalRequest) -> Result<String, E> + Send + Sync + 'static,
        E: std::fmt::Display,
    {
        self.approver(BlockingApprover::new(answer))
    }

    /// The executor, once the policy is checked against the linked tools
    /// (see [`Policy::check_linked`]) and its inline examples all get the
    /// verdict they expect. What deserves a look but refuses nothing is in
    /// `executor.policy().warnings()`, for the caller to print.
    pub fn build(mut self) -> Result<Executor, PolicyError> {
        self.policy.check_linked(self.registry)?;
        let executor = self.build_unchecked();
        executor.check_examples()?;
        Ok(executor)
    }

    pub(crate) fn build_unchecked(self) -> Executor {
        let concurrency = Arc::new(limits::Slots::new(self.policy.max_concurrent()));
        Executor {
            shared: Arc::new(Session(Arc::new(Shared {
                registry: self.registry,
                spare: SpareGate::new(Arc::clone(&concurrency)),
                concurrency,
                policy: self.policy,
                audit: self.audit,
                approver: self.approver,
                limiter: limits::Limiter::default(),
                metrics: metrics::Metrics::new(self.registry),
                rulings: (0..self.registry.linked().len())
                    .map(|_| OnceLock::new())
                    .collect(),
            }))),
        }
    }
}

impl Executor {
    /// An executor with no policy file (no grants: only tools that declare no
    /// permissions may run), no audit trail and no approver.
    pub fn new(registry: &'static Registry) -> Executor {
        Executor::builder(registry).build_unchecked()
    }

    /// Starts building an executor over `registry`.
    pub fn builder(registry: &'static Registry) -> ExecutorBuilder {
        ExecutorBuilder {
            registry,
            policy: Policy::default(),
            audit: None,
            approver: None,
        }
    }

    /// The registry this executor calls into.
    pub fn registry(&self) -> &'static Registry {
        self.shared.registry
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.shared.policy
    }

    /// Counters and latency histograms per tool, so far.
    pub fn metrics(&self) -> BTreeMap<String, ToolMetrics> {
        self.shared.metrics.snapshot()
    }

    /// Everything before the tool's own code: lookup, argument limits, the
    /// tool rule. `Ok` carries the gate the generated guards will report to,
    /// and for a call that may run inline (`inline`) the spare gate's place
    /// if it got it (see [`SpareGate`]).
    fn begin(
        &self,
        name: &str,
        args: &str,
        ctx: &ToolContext,
        mode: Mode,
        inline: Inline,
    ) -> Result<(Arc<CallGate>, Option<SpareHold<'_>>), ToolError> {
        let shared = &self.shared;
        let refuse_early = |error: ToolError| self.refuse_early(name, args, ctx, mode, error);
        let Some(tool) = shared.registry.get(name) else {
            return refuse_early(ToolError::new(
                ErrorKind::NotFound,
                shared.registry.not_found_message(name),
            ));
        };
        let descriptor = tool.descriptor();
        // The ruling only: the decision's words are built when recorded or shown.
        let mut owned = None;
        let ruled = shared.ruled(descriptor, tool.linked_index(), &mut owned);
        let ruling = ruled.ruling;
        if ruling.verdict == Verdict::Deny {
            return Err(self.deny_by_rule(descriptor, ruling, args, ctx, mode));
        }
        if let Err(error) = shared.policy.arg_limits().check(args) {
            return refuse_early(error);
        }
        // Only a sync tool that asks nobody can run inline, and so give
        // the spare gate back; `call` runs one with a timeout on tokio.
        let keep = match inline {
            Inline::Never => false,
            Inline::Blocking => true,
            Inline::Async => ruled.limits.timeout.is_none(),
        } && matches!(descriptor.invoke, Invoke::Sync(_))
            && ruling.verdict != Verdict::Ask;
        Ok(shared.spare.fill(
            Fresh {
                shared: &shared.0,
                tool: descriptor,
                registered: tool.registered(),
                slot: tool.linked_index(),
                ctx,
                args,
                ruled,
                mode,
            },
            keep,
        ))
    }

    /// A call its tool rule denies: its span, the decision recorded (when
    /// the call runs) and counted, and the refusal. Out of line and cold,
    /// so that `begin`, which every call goes through, does not carry the
    /// policy's explaining code (its inlining cost `call_blocking`
    /// registers) nor the span's (D-93).
    #[cold]
    #[inline(never)]
    fn deny_by_rule(
        &self,
        descriptor: &'static crate::ToolDescriptor,
        ruling: ToolRuling,
        args: &str,
        ctx: &ToolContext,
        mode: Mode,
    ) -> ToolError {
        let shared = &self.shared;
        let decision = shared.policy.explain_tool(ruling, descriptor.name);
        if mode == Mode::Run {
            // The call's span, here and not in `begin`: an allowed call's
            // opens where it runs (R-534, D-93).
            let span = call_span(descriptor.name, ctx);
            let _entered = span.enter();
            let policy = &shared.policy;
            let recorded = shared.record(&CallEvent {
                tool: descriptor.name,
                call_id: ctx.call_id(),
                caller: ctx.caller(),
                kind: CallEventKind::Decision {
                    decision: Recorded::Deny,
                    rule: &decision.rule,
                    reason: &decision.reason,
                    args,
                    record_args: policy.records_args(descriptor.name),
                    redact: policy.redacted_fields(),
                    approver_answer: None,
                },
            });
            // `denied` either way: the refusal, or the trail's failure.
            span.record("error.type", ErrorKind::Denied.as_str());
            if let Err(error) = recorded {
                return error;
            }
            shared
                .metrics
                .observe(descriptor.name, Some(ErrorKind::Denied), Duration::ZERO);
        }
        denied(&decision)
    }

    /// Refuses a call before it has a gate (an unknown name, arguments over
    /// the limits): its span, its one record, and its count. Out of line
    /// and cold, as `deny_by_rule` is: no allowed call pays for it (D-93).
    #[cold]
    #[inline(never)]
    fn refuse_early(
        &self,
        name: &str,
        args: &str,
        ctx: &ToolContext,
        mode: Mode,
        error: ToolError,
    ) -> Result<(Arc<CallGate>, Option<SpareHold<'_>>), ToolError> {
        let shared = &self.shared;
        if mode == Mode::Run {
            let tool: String = name.chars().take(64).collect();
            // The call's span, named as its record names the tool (R-534).
            let span = call_span(&tool, ctx);
            let _entered = span.enter();
            let event = CallEvent {
                tool: &tool,
                call_id: ctx.call_id(),
                caller: ctx.caller(),
                kind: CallEventKind::Result {
                    error: Some(error.kind()),
                    duration: Duration::ZERO,
                    output: None,
                    args: Some(args),
                },
            };
            if let Err(unrecorded) = shared.record(&event) {
                span.record("error.type", unrecorded.kind().as_str());
                return Err(unrecorded);
            }
            span.record("error.type", error.kind().as_str());
            // Unknown names share one key: a model must not grow the metrics.
            let key = if error.kind() == ErrorKind::NotFound {
                "<unknown>"
            } else {
                tool.as_str()
            };
            shared
                .metrics
                .observe(key, Some(error.kind()), Duration::ZERO);
        }
        Err(error)
    }

    /// Calls `name` with `args` (JSON object text) and waits for the result.
    ///
    /// A synchronous tool runs right here on the caller's thread and needs no
    /// async runtime; other tools (async, run-time registered, or waiting for
    /// a person's approval) run on tokio (a shared runtime started on first need).
    ///
    /// A synchronous tool's timeout is kept without a thread hop: from the
    /// moment the call is allowed, [`ToolContext::is_cancelled`] turns true
    /// once the deadline passes ([`ToolContext::deadline`] says when), and a
    /// result that comes after the deadline is replaced by a `timeout` error.
    /// A timeout at least 100 ticks of the kernel's coarse monotonic clock
    /// long (from 0.1 to 1 s, by the kernel's tick) is kept on that clock,
    /// which is cheaper to read: its deadline counts from the call's
    /// admission within about a tick (more on a loaded VM, whose ticks come
    /// late), and a tool may overrun it by as much unreported.
    /// A synchronous tool that neither returns nor looks at its context keeps
    /// this thread until it does return, whatever its timeout; call it through
    /// [`Executor::call`], which runs such a tool on tokio's blocking pool and
    /// returns at the deadline, if the caller must get control back.
    pub fn call_blocking(
        &self,
        name: &str,
        args: &str,
        ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let (gate, hold) = self.begin(name, args, &ctx, Mode::Run, Inline::Blocking)?;
        // A call that waits for approval goes through `run`, which keeps the
        // wait off the caller's runtime thread.
        let inline = match gate.tool.invoke {
            Invoke::Sync(invoke) if !gate.asks() => Some(invoke),
            _ => None,
        };
        // A slot is tried only for a call that runs inline: one held across
        // `run` would leave `run` waiting for it under `max_concurrent = 1`.
        if let Some(slot) = self.inline_slot(hold, inline.is_some())
            && let Some(invoke) = inline
        {
            return self.run_inline(gate, slot, invoke, args, ctx);
        }
        block_on(self.run(gate, args, ctx, Instant::now()))
    }

    /// Calls `name` with `args` (JSON object text) on tokio, under the tool's
    /// timeout, stopping early if `ctx` is cancelled.
    ///
    /// A synchronous tool with a timeout runs on tokio's blocking pool so the
    /// call returns at the deadline whatever the tool does; when it fires, the
    /// tool's context is cancelled, though a tool that ignores cancellation
    /// finishes its work in the background. Without a timeout it runs inline.
    pub async fn call(
        &self,
        name: &str,
        args: &str,
        ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let (gate, hold) = self.begin(name, args, &ctx, Mode::Run, Inline::Async)?;
        // A sync tool with nothing to wait for runs inline, as `run` would
        // run it, without the machinery for waiting.
        let inline = match gate.tool.invoke {
            Invoke::Sync(invoke)
                if gate.timeout().is_none() && !gate.asks() && !ctx.is_cancelled() =>
            {
                Some(invoke)
            }
            _ => None,
        };
        if let Some(slot) = self.inline_slot(hold, inline.is_some())
            && let Some(invoke) = inline
        {
            return self.run_inline(gate, slot, invoke, args, ctx);
        }
        // Boxed: the machinery for waiting is large, and held inline it would
        // make every call's future (the inline ones too) that large to move.
        Box::pin(self.run(gate, args, ctx, Instant::now())).await
    }

    /// The slot of a call that runs inline (`inline`): the one taken with
    /// the spare gate's place (`hold`), or else one taken now; `None` if
    /// none is free. A call that does not run inline lets go of `hold`
    /// here, before it waits for a slot in `run` (which, held, would wait
    /// forever under `max_concurrent = 1`).
    #[inline]
    fn inline_slot<'a>(
        &'a self,
        hold: Option<SpareHold<'a>>,
        inline: bool,
    ) -> Option<InlineSlot<'a>> {
        match hold {
            Some(hold) if inline => Some(InlineSlot::Held(hold)),
            Some(_) => None,
            None if inline => self.shared.concurrency.try_take().map(InlineSlot::Counted),
            None => None,
        }
    }

    /// Runs a sync tool on this thread, holding `slot`: the deadline (if
    /// any) is checked when it returns, see [`Executor::call_blocking`].
    fn run_inline(
        &self,
        gate: Arc<CallGate>,
        slot: InlineSlot<'_>,
        invoke: fn(&ToolContext, &str) -> Result<ToolOutput, ToolError>,
        args: &str,
        mut ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        // Given back at the end of this function, after the call finished.
        let (hold, _slot) = match slot {
            InlineSlot::Held(hold) => (Some(hold), None),
            InlineSlot::Counted(slot) => (None, Some(slot)),
        };
        // The clock is read only when the record needs the duration, and
        // for the metrics' sample; a deadline reads its own (see `clock`).
        let started = (gate.needs_clock() || metrics::sample_latency()).then(Instant::now);
        let span = call_span(gate.tool.name, &ctx);
        let _entered = span.enter();
        // Lent to the context and taken back, not cloned: two atomic
        // reference counts less per call. A tool that clones its context
        // still shares the gate (and it is not kept spare then).
        let lent = Arc::as_ptr(&gate);
        ctx.__set_control(gate);
        let mut result = run_guarded(|| invoke(&ctx, args));
        // SAFETY: the gate's `Arc` is taken back to be finished or kept
        // spare, and no `Weak` of it is made (see `gate::alone`).
        let control = unsafe { ctx.__take_control() };
        let gate = control
            .and_then(|control| gate::lent_back(control, lent))
            .expect("a tool gets its context by reference, so the gate lent to it is still there");
        if gate.overran() {
            result = Err(timed_out(
                gate.tool.name,
                gate.timeout().unwrap_or_default(),
            ));
        }
        let duration = started.map(|started| started.elapsed());
        if let Err(error) = &result {
            span.record("error.type", error.kind().as_str());
        }
        // The gate serves the next call unless the tool kept a clone of its context.
        SpareGate::finish_inline(hold, gate, result, duration)
    }

    /// [`Executor::call_blocking`] with arguments already parsed.
    pub fn call_value_blocking(
        &self,
        name: &str,
        args: &serde_json::Value,
        ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        self.call_blocking(name, &args.to_string(), ctx)
    }

    /// [`Executor::call`] with arguments already parsed.
    pub async fn call_value(
        &self,
        name: &str,
        args: &serde_json::Value,
        ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        self.call(name, &args.to_string(), ctx).await
    }

    async fn run(
        &self,
        gate: Arc<CallGate>,
        args: &str,
        ctx: ToolContext,
        started: Instant,
    ) -> Result<ToolOutput, ToolError> {
        let name = gate.tool.name;
        let span = call_span(name, &ctx);
        let mut unfinished = FinishOnDrop {
            gate: Some(Arc::clone(&gate)),
            started,
        };
        let result = async {
            let caller = ctx.cancellation().clone();
            // A call that asks takes its slot once approved (in its gate): a
            // call waiting for a person holds none, so the approver may make
            // calls through this executor meanwhile, even with one slot.
            let _permit = match gate.asks() {
                true => None,
                false => {
                    let permit = tokio::select! {
                        biased;
                        () = caller.cancelled() => None,
                        slot = self.shared.concurrency.take() => Some(slot),
                    };
                    if permit.is_none() {
                        return Err(ToolError::new(ErrorKind::Cancelled, format!("the call to `{name}` was cancelled before it started")));
                    }
                    permit
                }
            };
            let timeout = gate.timeout();
            if timeout.is_some() {
                // Before the tool starts, so its `proceed` wakes `until_allowed` below.
                gate.will_await_allowed();
            }
            // The tool watches a child token, so a timeout can cancel the tool
            // without cancelling the caller's own token.
            let own = caller.child_token();
            // Cancelled however this future ends, even dropped mid-call.
            let _stop_tool = own.clone().drop_guard();
            let ctx = ctx
                .with_cancellation(own.clone())
                .__with_control(Arc::clone(&gate) as _);
            let invoke = gate.tool.invoke;
            // A sync tool that waits for approval (or must be interruptible)
            // runs on the blocking pool: waiting on a runtime thread could
            // starve the very runtime the approver answers through.
            let inline_sync = timeout.is_none() && !gate.asks();
            let work = async {
                match invoke {
                    Invoke::Sync(invoke) if inline_sync => run_guarded(|| invoke(&ctx, args)),
                    Invoke::Sync(invoke) => {
                        let (ctx, args) = (ctx.clone(), args.to_owned());
                        tokio::task::spawn_blocking(move || run_guarded(|| invoke(&ctx, &args)))
                            .await
                            .unwrap_or_else(|join| Err(panicked(join.into_panic())))
                    }
                    Invoke::Async(invoke) => CatchPanic(start_guarded(|| invoke(&ctx, args))?)
                        .await
                        .unwrap_or_else(|payload| Err(panicked(payload))),
                    Invoke::Registered => {
                        let tool = gate.registered.expect("a registered tool's gate holds its executor");
                        CatchPanic(start_guarded(|| registered::start(tool, &ctx, args))?)
                            .await
                            .unwrap_or_else(|payload| Err(panicked(payload)))
                    }
                }
            };
            tokio::pin!(work);
            let bounded = async {
                // Until the call is allowed (guards, approval), the approval
                // timeout bounds it; the tool's own timeout counts from then.
                if timeout.is_some() {
                    tokio::select! {
                        biased;
                        result = &mut work => return result,
                        () = gate.until_allowed() => {}
                    }
                }
                with_timeout(timeout, &mut work).await.unwrap_or_else(|limit| Err(timed_out(name, limit)))
            };
            let result = tokio::select! {
                biased;
                () = caller.cancelled() => Err(ToolError::new(ErrorKind::Cancelled, format!("the call to `{name}` was cancelled"))),
                result = bounded => result,
            };
            result
        }
        .instrument(span.clone())
        .await;
        if let Err(error) = &result {
            span.record("error.type", error.kind().as_str());
        }
        unfinished.gate = None;
        gate.finish(result, Some(started.elapsed()))
    }
}

/// The span of one call, named `execute_tool {name}` with the OpenTelemetry
/// GenAI attribute names; `error.type` is filled in when the call fails.
/// The call id is asked for (and so made) only when a subscriber wants the span.
fn call_span(name: &str, ctx: &ToolContext) -> tracing::Span {
    tracing::info_span!(
        "execute_tool",
        otel.name = %format_args!("execute_tool {name}"),
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = name,
        gen_ai.tool.call.id = ctx.call_id(),
        error.type = tracing::field::Empty,
    )
}

async fn with_timeout<F: Future>(
    limit: Option<Duration>,
    future: F,
) -> Result<F::Output, Duration> {
    match limit {
        None => Ok(future.await),
        Some(limit) => tokio::time::timeout(limit, future).await.map_err(|_| limit),
    }
}

fn timed_out(name: &str, limit: Duration) -> ToolError {
    ToolError::new(
        ErrorKind::Timeout,
        format!("`{name}` did not finish within its timeout of {limit:?}"),
    )
}

/// Runs a synchronous tool, turning a panic into a `failed` error so one
/// broken tool cannot take the agent down with it.
fn run_guarded(
    run: impl FnOnce() -> Result<ToolOutput, ToolError>,
) -> Result<ToolOutput, ToolError> {
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|payload| Err(panicked(payload)))
}

/// Finishes a call whose future is dropped before it ends (the caller's own
/// timeout, a lost `select!`), so its result record is still written.
struct FinishOnDrop {
    gate: Option<Arc<CallGate>>,
    started: Instant,
}

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            let stopped = ToolError::new(
                ErrorKind::Cancelled,
                "the caller stopped waiting for the call",
            );
            let _ = gate.finish(Err(stopped), Some(self.started.elapsed()));
        }
    }
}

/// Decodes and guards an async tool (the synchronous part before its
/// future exists), turning a panic there into a `failed` error too.
fn start_guarded<'a>(
    start: impl FnOnce() -> Result<crate::ToolFuture<'a>, ToolError>,
) -> Result<crate::ToolFuture<'a>, ToolError> {
    catch_unwind(AssertUnwindSafe(start)).unwrap_or_else(|payload| Err(panicked(payload)))
}

fn panicked(payload: Box<dyn Any + Send>) -> ToolError {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    ToolError::new(ErrorKind::Failed, format!("the tool panicked: {detail}"))
}

/// A future (a tool's, an approver's) whose panic is caught and handed back
/// as its payload, so one broken tool cannot take the agent down with it.
pub(crate) struct CatchPanic<F>(pub(crate) F);

impl<F: Future + Unpin> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = Pin::new(&mut self.0);
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Waits for `future` from synchronous code: inside a tokio runtime on a
/// scoped helper thread (blocking a runtime thread would deadlock it),
/// otherwise on a shared runtime started on first need.
pub(crate) fn block_on<F: Future + Send>(future: F) -> F::Output
where
    F::Output: Send,
{
    if Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(|| shared_runtime().block_on(future))
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        })
    } else {
        shared_runtime().block_on(future)
    }
}

fn shared_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rustchain-tools")
            .enable_all()
            .build()
            .expect("the tokio runtime for blocking tool calls could not start")
    })
}
