//! What a running tool may ask of its call: its id, cancellation, deadline,
//! the policy's grants, and a way to report progress.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::files::{FileAccess, Fs, NoAccess};
use crate::guard::Guarded;
use crate::{ErrorKind, ToolError};

/// The context of one tool call, injected into a tool that takes a
/// `&ToolContext` parameter (which never appears in the tool's schema).
///
/// ```
/// use rustchain_core::ToolContext;
/// let ctx = ToolContext::new().with_call_id("call_42");
/// assert_eq!(ctx.call_id(), "call_42");
/// assert!(!ctx.is_cancelled());
/// ```
pub struct ToolContext {
    call_id: CallId,
    /// Made on first need (most calls never ask): creating a token allocates.
    cancellation: OnceLock<CancellationToken>,
    progress: Option<Arc<dyn ProgressSink>>,
    caller: Option<Arc<Caller>>,
    /// Set by the executor for the call in progress.
    control: Option<Arc<dyn CallControl>>,
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("call_id", &self.call_id())
            .field("cancelled", &self.is_cancelled())
            .field("progress", &self.progress.is_some())
            .field("caller", &self.caller)
            .field("in_executor", &self.control.is_some())
            .finish()
    }
}

/// The executor's side of a call in progress, as the code `#[tool]`
/// generates reaches it through the context: the seam between a tool's body
/// and the call it runs in, so the context needs nothing of the executor
/// (which lives in the runtime crate and implements this). Not a public API.
#[doc(hidden)]
pub trait CallControl: Send + Sync {
    /// Checks each declared value against the policy; a refusal is recorded.
    fn check(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError>;
    /// Whether the call waits for a person's approval before it may run.
    fn asks(&self) -> bool;
    /// Approval, limits and the decision record, waited for on this thread.
    fn proceed(&self) -> Result<(), ToolError>;
    /// [`CallControl::check`], then [`CallControl::proceed`]: what a sync
    /// tool's generated code asks before its body, in one call.
    fn check_and_proceed(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError> {
        self.check(guarded)?;
        self.proceed()
    }
    /// [`CallControl::proceed`] for async tools, awaiting the approver.
    fn proceed_async(&self) -> Pin<Box<dyn Future<Output = Result<(), ToolError>> + Send + '_>>;
    /// When the body must finish, once the call is allowed.
    fn deadline(&self) -> Option<Instant>;
    /// Whether the call has a deadline and it has passed, read on the
    /// clock the executor keeps it on: the executor's own verdict on a sync
    /// tool's result agrees with what the tool saw.
    fn deadline_passed(&self) -> bool {
        self.deadline()
            .is_some_and(|deadline| Instant::now() >= deadline)
    }
    /// The call's file access, confined to its grants and declarations.
    fn files(&self) -> &dyn FileAccess;
    /// The executor's own type, for the runtime's accessors (the grants).
    fn as_any(&self) -> &dyn std::any::Any;
    /// Records a refusal the running tool made on the call's behalf (a
    /// connection its child asked for and its proxy refused): a deny
    /// decision record of the call, between its allow and its result.
    /// `Err` when it cannot be recorded (the call already ended, or the
    /// trail failed). An executor that keeps no records accepts it.
    fn record_refusal(&self, rule: &str, reason: &str) -> Result<(), ToolError> {
        let _ = (rule, reason);
        Ok(())
    }
}

/// Who asked for a call, as the front end that received it knows them: the
/// client program and the id of its request (an MCP server sets both), and
/// for a call made by a mission, the mission and its step. The audit trail
/// records them with the call as `client.name`, `request.id`, `mission.id`
/// and `mission.step`.
///
/// ```
/// use rustchain_core::{Caller, ToolContext};
/// let caller = Caller {
///     client: Some("claude-desktop".into()),
///     request_id: Some("7".into()),
///     ..Caller::default()
/// };
/// let ctx = ToolContext::new().with_caller(caller.clone());
/// assert_eq!(ctx.caller(), Some(&caller));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Caller {
    /// The client program's name, as it introduced itself.
    #[serde(rename = "client.name", skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The id of the request that carried the call (over MCP, the JSON-RPC id).
    #[serde(rename = "request.id", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The mission that made the call: its name.
    #[serde(rename = "mission.id", skip_serializing_if = "Option::is_none")]
    pub mission: Option<String>,
    /// The run of that mission that made the call (a UUID v7, one per
    /// `mission execute`), so two runs of one mission stay apart in the trail.
    #[serde(rename = "mission.run_id", skip_serializing_if = "Option::is_none")]
    pub mission_run: Option<String>,
    /// The mission's step that made the call, as the mission file names it.
    #[serde(rename = "mission.step", skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// One progress update of a running call.
///
/// MCP front ends turn it into a `notifications/progress` message; `done`
/// should grow from one update to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// How much is done, in the tool's own unit (files, bytes, steps).
    pub done: u64,
    /// How much there is in all, when the tool knows.
    pub total: Option<u64>,
    /// A short line for people, if the tool has one.
    pub message: Option<&'a str>,
}

/// Where a call's progress goes: a front end that listens to its tools.
///
/// Closures `Fn(&str, &Progress)` (call id, update) are sinks.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use rustchain_core::{Progress, ToolContext};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let ctx = ToolContext::new().with_progress(Arc::new(move |_call: &str, p: &Progress<'_>| {
///     log.lock().unwrap().push((p.done, p.total));
/// }));
/// ctx.progress(1, Some(3), Some("first of three"));
/// assert_eq!(*seen.lock().unwrap(), [(1, Some(3))]);
/// ```
pub trait ProgressSink: Send + Sync {
    /// Takes one update of the call `call_id`. Called on the tool's thread:
    /// keep it quick (hand the update to a channel rather than doing I/O).
    fn report(&self, call_id: &str, progress: &Progress<'_>);
}

impl<F> ProgressSink for F
where
    F: Fn(&str, &Progress<'_>) + Send + Sync,
{
    fn report(&self, call_id: &str, progress: &Progress<'_>) {
        self(call_id, progress)
    }
}

/// A call's id: the caller's, or a UUID v7 made on first need, so a call
/// nobody records or asks about never reads the clock or formats one.
#[derive(Clone)]
enum CallId {
    /// The hyphenated text of a UUID v7, once something asked for it.
    Fresh(OnceLock<[u8; 36]>),
    /// Named by the caller (for example the model's `tool_call_id`).
    Given(Arc<str>),
}

impl CallId {
    fn as_str(&self) -> &str {
        match self {
            CallId::Given(id) => id,
            CallId::Fresh(text) => {
                let text = text.get_or_init(|| {
                    let mut text = [0; 36];
                    uuid::Uuid::now_v7().hyphenated().encode_lower(&mut text);
                    text
                });
                std::str::from_utf8(text).expect("a hyphenated UUID is ASCII")
            }
        }
    }
}

/// A clone is the same call: it shares the original's id and cancellation,
/// so both are made now if nothing asked for them yet.
impl Clone for ToolContext {
    fn clone(&self) -> Self {
        self.call_id.as_str();
        ToolContext {
            call_id: self.call_id.clone(),
            cancellation: OnceLock::from(self.cancellation().clone()),
            progress: self.progress.clone(),
            caller: self.caller.clone(),
            control: self.control.clone(),
        }
    }
}

impl Default for ToolContext {
    fn default() -> Self {
        Self::new()
    }
}

impl ToolContext {
    /// A fresh context with a new call id: a UUID v7, unique across processes
    /// (several processes may share one audit trail, whose records pair by id)
    /// and ordered by time. The id is made when first asked for (by the audit
    /// trail, the tool, a clone), so a call nobody records costs nothing here.
    pub fn new() -> Self {
        ToolContext {
            call_id: CallId::Fresh(OnceLock::new()),
            cancellation: OnceLock::new(),
            progress: None,
            caller: None,
            control: None,
        }
    }

    /// Uses the caller's id for this call (for example the model's `tool_call_id`).
    pub fn with_call_id(mut self, call_id: impl AsRef<str>) -> Self {
        self.call_id = CallId::Given(Arc::from(call_id.as_ref()));
        self
    }

    /// Ties this call to `token`: cancelling it cancels the call.
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        self.cancellation = OnceLock::from(token);
        self
    }

    /// Sends this call's progress updates to `sink`.
    pub fn with_progress(mut self, sink: Arc<dyn ProgressSink>) -> Self {
        self.progress = Some(sink);
        self
    }

    /// Names who asked for this call; the audit trail records it with the call.
    pub fn with_caller(mut self, caller: Caller) -> Self {
        self.caller = Some(Arc::new(caller));
        self
    }

    /// Who asked for this call, when the front end said.
    pub fn caller(&self) -> Option<&Caller> {
        self.caller.as_deref()
    }

    /// The id of this call, as the model or the caller named it.
    pub fn call_id(&self) -> &str {
        self.call_id.as_str()
    }

    /// The token that cancels this call; long-running tools should watch it.
    pub fn cancellation(&self) -> &CancellationToken {
        self.cancellation.get_or_init(CancellationToken::new)
    }

    /// Whether the caller cancelled this call, or its deadline passed: a
    /// long-running synchronous tool should look now and then and stop.
    pub fn is_cancelled(&self) -> bool {
        // A token nobody has asked for yet cannot have been cancelled.
        let cancelled = self
            .cancellation
            .get()
            .is_some_and(CancellationToken::is_cancelled);
        // A sync tool run on the caller's thread has no timer to cancel its
        // token: its deadline is its watchdog, read when the tool looks.
        cancelled
            || self
                .control
                .as_ref()
                .is_some_and(|control| control.deadline_passed())
    }

    /// Reports progress: `done` of `total` (when known), with a short message.
    /// Does nothing unless the front end listens, so a tool may call it freely.
    pub fn progress(&self, done: u64, total: Option<u64>, message: Option<&str>) {
        if let Some(sink) = &self.progress {
            sink.report(
                self.call_id(),
                &Progress {
                    done,
                    total,
                    message,
                },
            );
        }
    }

    /// Whether anyone listens to [`ToolContext::progress`] (to skip building
    /// messages nobody reads).
    pub fn reports_progress(&self) -> bool {
        self.progress.is_some()
    }

    /// When this call's timeout ends, if it has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.control.as_ref().and_then(|control| control.deadline())
    }

    /// Safe file access under this call's grants: the way a tool opens,
    /// reads, writes and lists files ([`crate::files`]). It reads only if the
    /// tool declares an `#[fs(read)]` or `#[fs(write)]` parameter and writes
    /// only if it declares `#[fs(write)]`, whatever else the policy grants.
    /// Outside an executor nothing is granted, so every access is refused.
    ///
    /// ```
    /// # use rustchain_core::{ErrorKind, ToolContext};
    /// let err = ToolContext::new().fs().read_to_string("notes.txt").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Denied);
    /// ```
    pub fn fs(&self) -> Fs<'_> {
        match &self.control {
            Some(control) => Fs::new(control.files()),
            None => Fs::new(&NoAccess),
        }
    }

    /// The executor's side of the call in progress, if any. Not a public API:
    /// the runtime reads the call's grants through it.
    #[doc(hidden)]
    pub fn __control(&self) -> Option<&dyn CallControl> {
        self.control.as_deref()
    }

    #[doc(hidden)]
    pub fn __shared_call_id(&self) -> Arc<str> {
        match &self.call_id {
            CallId::Given(id) => Arc::clone(id),
            CallId::Fresh(_) => Arc::from(self.call_id()),
        }
    }

    #[doc(hidden)]
    pub fn __shared_caller(&self) -> Option<Arc<Caller>> {
        self.caller.clone()
    }

    #[doc(hidden)]
    pub fn __with_control(mut self, control: Arc<dyn CallControl>) -> Self {
        self.control = Some(control);
        self
    }

    /// [`ToolContext::__with_control`] in place, without moving the context.
    #[doc(hidden)]
    #[inline]
    pub fn __set_control(&mut self, control: Arc<dyn CallControl>) {
        self.control = Some(control);
    }

    /// Takes back what [`ToolContext::__set_control`] lent: the executor
    /// hands its reference over and back rather than counting a clone.
    ///
    /// # Safety
    ///
    /// The caller must make no `Weak` of what it gets back (the executor
    /// tells by the strong count alone whether it holds the only
    /// reference to a call's gate, and then changes the gate in place).
    #[doc(hidden)]
    #[inline]
    pub unsafe fn __take_control(&mut self) -> Option<Arc<dyn CallControl>> {
        self.control.take()
    }

    /// Records, in the call's audit trail, a refusal the tool made while it
    /// ran: something done on the call's behalf (a connection a started
    /// program asked for) that the policy does not allow. The trail gets a
    /// deny decision record naming `rule` and `reason`, after the call's
    /// allow and before its result. Outside an executor there is no trail,
    /// and nothing is recorded.
    ///
    /// ```
    /// use rustchain_core::ToolContext;
    /// let ctx = ToolContext::new();
    /// ctx.record_refusal("net.allow", "10.0.0.1:22 is not a granted host").unwrap();
    /// ```
    pub fn record_refusal(&self, rule: &str, reason: &str) -> Result<(), ToolError> {
        match &self.control {
            Some(control) => control.record_refusal(rule, reason),
            None => Ok(()),
        }
    }

    /// Generated guards report each declared value here, after decoding and
    /// before the body. Outside an executor a declared value is refused:
    /// fail closed.
    #[doc(hidden)]
    #[inline]
    pub fn __check(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError> {
        match &self.control {
            Some(control) => control.check(guarded),
            None => {
                let mut any = false;
                for guard in guarded {
                    guard.value.each_value(&mut |_| {
                        any = true;
                        Ok(())
                    })?;
                }
                if any {
                    Err(ToolError::new(
                        ErrorKind::Denied,
                        "this tool declares permissions, and no policy is in force; call it through an Executor",
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Generated code asks this before a sync tool's body: approval, limits, the decision record.
    #[doc(hidden)]
    #[inline]
    pub fn __proceed(&self) -> Result<(), ToolError> {
        match &self.control {
            Some(control) => control.proceed(),
            None => Ok(()),
        }
    }

    /// [`ToolContext::__check`], then [`ToolContext::__proceed`], in one
    /// call to the executor: what generated code asks before a sync tool's body.
    #[doc(hidden)]
    #[inline]
    pub fn __check_and_proceed(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError> {
        match &self.control {
            Some(control) => control.check_and_proceed(guarded),
            None => self.__check(guarded),
        }
    }

    /// [`ToolContext::__proceed`] for async tools: the approver is awaited,
    /// not waited for on a runtime thread.
    #[doc(hidden)]
    pub async fn __proceed_async(&self) -> Result<(), ToolError> {
        match &self.control {
            Some(control) if control.asks() => control.proceed_async().await,
            Some(control) => control.proceed(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_id_is_a_uuid_v7_made_once() {
        let ctx = ToolContext::new();
        let id = ctx.call_id().to_owned();
        let parsed = uuid::Uuid::parse_str(&id).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(ctx.call_id(), id, "asking again gives the same id");
        assert_ne!(ToolContext::new().call_id(), id, "each context has its own");
    }

    #[test]
    fn clones_made_before_anything_was_asked_share_the_id_and_the_cancellation() {
        let ctx = ToolContext::new();
        let clone = ctx.clone();
        assert_eq!(ctx.call_id(), clone.call_id());
        assert!(!clone.is_cancelled());
        ctx.cancellation().cancel();
        assert!(
            clone.is_cancelled(),
            "cancelling the original reaches the clone"
        );
    }

    #[test]
    fn a_context_whose_token_nobody_asked_for_is_not_cancelled() {
        let ctx = ToolContext::new();
        assert!(!ctx.is_cancelled());
        let token = CancellationToken::new();
        let ctx = ctx.with_cancellation(token.clone());
        token.cancel();
        assert!(ctx.is_cancelled());
    }

    #[test]
    fn a_given_id_is_kept_as_given() {
        let ctx = ToolContext::new().with_call_id("call_7");
        assert_eq!(ctx.clone().call_id(), "call_7");
        assert_eq!(&*ctx.__shared_call_id(), "call_7");
    }
}
