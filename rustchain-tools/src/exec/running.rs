//! What the executor running a call offers the tool itself: the registry it
//! serves and the policy it enforces, for tools about tools (`tool_search`).

use crate::{Policy, Registry, ToolContext};

use super::CallGate;

/// The executor side of the call `ctx` belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Running<'c> {
    /// The registry the executor serves (linked and run-time tools).
    pub registry: &'static Registry,
    /// The policy every call runs under.
    pub policy: &'c Policy,
}

impl Running<'_> {
    /// The executor running `ctx`'s call; `None` outside an executor.
    ///
    /// ```
    /// use rustchain_tools::{ToolContext, exec::Running};
    /// assert!(Running::of(&ToolContext::new()).is_none());
    /// ```
    pub fn of(ctx: &ToolContext) -> Option<Running<'_>> {
        let gate = ctx.__control()?.as_any().downcast_ref::<CallGate>()?;
        Some(Running {
            registry: gate.shared().registry,
            policy: &gate.shared().policy,
        })
    }
}
