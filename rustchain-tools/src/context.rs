//! What a running tool may ask of its call: its id, cancellation, deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

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
    deadline: Option<Instant>,
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
            deadline: None,
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
        self.deadline
    }

    pub(crate) fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }
}
