//! What a running tool may ask of its call: its id, cancellation, deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::exec::CallGate;
use crate::guard::Guarded;
use crate::policy::Grants;
use crate::{ErrorKind, ToolError};

/// The context of one tool call, injected into a tool that takes a
/// `&ToolContext` parameter (which never appears in the tool's schema).
///
/// ```
/// use rustchain_tools::ToolContext;
/// let ctx = ToolContext::new().with_call_id("call_42");
/// assert_eq!(ctx.call_id(), "call_42");
/// assert!(!ctx.is_cancelled());
/// ```
#[derive(Debug, Clone)]
pub struct ToolContext {
    // Shared, so cloning a context for a worker thread does not copy it.
    call_id: Arc<str>,
    cancellation: CancellationToken,
    /// Set by the executor for the call in progress.
    gate: Option<Arc<CallGate>>,
}

impl Default for ToolContext {
    fn default() -> Self {
        Self::new()
    }
}

impl ToolContext {
    /// A fresh context with a process-unique call id (`call-1`, `call-2`, ...).
    pub fn new() -> Self {
        static NEXT_CALL: AtomicU64 = AtomicU64::new(1);
        let n = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
        ToolContext {
            call_id: format!("call-{n}").into(),
            cancellation: CancellationToken::new(),
            gate: None,
        }
    }

    /// Uses the caller's id for this call (for example the model's `tool_call_id`).
    pub fn with_call_id(mut self, call_id: impl AsRef<str>) -> Self {
        self.call_id = Arc::from(call_id.as_ref());
        self
    }

    /// Ties this call to `token`: cancelling it cancels the call.
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        self.cancellation = token;
        self
    }

    /// The id of this call, as the model or the caller named it.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The token that cancels this call; long-running tools should watch it.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// Whether the caller cancelled this call (or its timeout passed).
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// When this call's timeout ends, if it has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.gate.as_ref().and_then(|gate| gate.deadline())
    }

    /// What the policy grants this call: the roots it may open, the hosts,
    /// programs and variables it may use. Empty outside an executor.
    pub fn grants(&self) -> &Grants {
        static NONE: std::sync::LazyLock<Grants> = std::sync::LazyLock::new(Grants::default);
        self.gate.as_ref().map_or(&NONE, |gate| gate.grants())
    }

    /// Safe file access under this call's grants: the way a tool opens,
    /// reads, writes and lists files ([`crate::fs`]). Outside an executor
    /// nothing is granted, so every access is refused.
    ///
    /// ```
    /// # use rustchain_tools::{ErrorKind, ToolContext};
    /// let err = ToolContext::new().fs().read_to_string("notes.txt").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Denied);
    /// ```
    pub fn fs(&self) -> crate::fs::Fs<'_> {
        crate::fs::Fs::new(self.grants())
    }

    pub(crate) fn shared_call_id(&self) -> Arc<str> {
        Arc::clone(&self.call_id)
    }

    pub(crate) fn with_gate(mut self, gate: Arc<CallGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Generated guards report each declared value here, after decoding and
    /// before the body. Outside an executor a declared value is refused:
    /// fail closed.
    #[doc(hidden)]
    pub fn __check(&self, guarded: &[Guarded<'_>]) -> Result<(), ToolError> {
        match &self.gate {
            Some(gate) => gate.check(guarded),
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
    pub fn __proceed(&self) -> Result<(), ToolError> {
        match &self.gate {
            Some(gate) => gate.proceed(),
            None => Ok(()),
        }
    }

    /// [`ToolContext::__proceed`] for async tools: an approval prompt runs on
    /// the blocking pool rather than on a runtime thread.
    #[doc(hidden)]
    pub async fn __proceed_async(&self) -> Result<(), ToolError> {
        match &self.gate {
            Some(gate) if !gate.asks() => gate.proceed(),
            Some(gate) => {
                let gate = Arc::clone(gate);
                match tokio::task::spawn_blocking(move || gate.proceed()).await {
                    Ok(result) => result,
                    Err(_) => Err(ToolError::new(
                        ErrorKind::Failed,
                        "approval failed unexpectedly",
                    )),
                }
            }
            None => Ok(()),
        }
    }
}
