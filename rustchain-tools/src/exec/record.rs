//! What the executor tells the audit trail about each call: a decision record
//! before the tool runs, a result record after (or one record alone for a
//! call refused before any decision, such as one with invalid arguments).

use std::sync::Mutex;
use std::time::Duration;

use crate::ErrorKind;

/// How the policy decided a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Allowed by the policy.
    Allow,
    /// Refused by the policy or a limit.
    Deny,
    /// The policy asked and a person said yes.
    AskApproved,
    /// The policy asked and the answer was not yes.
    AskDenied,
}

/// One event of one call, borrowed from the executor's own state.
#[derive(Debug, Clone, Copy)]
pub struct CallEvent<'a> {
    /// The tool's name (as the model sent it, bounded, for unknown tools).
    pub tool: &'a str,
    /// The call's id.
    pub call_id: &'a str,
    /// What happened.
    pub kind: CallEventKind<'a>,
}

/// The two kinds of event.
#[derive(Debug, Clone, Copy)]
pub enum CallEventKind<'a> {
    /// Before the tool runs: the policy's decision.
    Decision {
        /// Allow, deny, or the approval's outcome.
        decision: DecisionKind,
        /// The deciding rule.
        rule: &'a str,
        /// Why.
        reason: &'a str,
        /// The argument text; recorded as a digest, in full only when `record_args`.
        args: &'a str,
        /// Whether the policy wants the arguments recorded in full.
        record_args: bool,
        /// Field names to redact when recording arguments in full.
        redact: &'a [String],
        /// What the approver answered, when one was asked.
        approver_answer: Option<&'a str>,
    },
    /// After the tool ran, or for a call refused before any decision.
    Result {
        /// `None` for success, else the error's kind.
        error: Option<ErrorKind>,
        /// From the start of the call to its end.
        duration: Duration,
        /// The output's JSON text, on success.
        output: Option<&'a str>,
        /// The argument text, when no decision record carried it.
        args: Option<&'a str>,
    },
}

/// Where the executor records calls. The file-backed trail and
/// [`MemoryAudit`] implement it; a failure to record refuses the call.
pub trait AuditSink: Send + Sync {
    /// Appends one event; an `Err` says why it could not.
    fn record(&self, event: &CallEvent<'_>) -> Result<(), String>;
}

/// An in-memory audit sink, for tests and for embedding programs that ship
/// records elsewhere. Each event is kept as a JSON object.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    events: Mutex<Vec<serde_json::Value>>,
}

impl MemoryAudit {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.events
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, event: &CallEvent<'_>) -> Result<(), String> {
        let mut value = serde_json::json!({
            "gen_ai.tool.name": event.tool,
            "gen_ai.tool.call.id": event.call_id,
        });
        let fields = match event.kind {
            CallEventKind::Decision {
                decision,
                rule,
                reason,
                args,
                record_args,
                approver_answer,
                ..
            } => serde_json::json!({
                "kind": "decision",
                "decision": decision,
                "rule": rule,
                "reason": reason,
                "args_bytes": args.len(),
                "args": record_args.then_some(args),
                "approver_answer": approver_answer,
            }),
            CallEventKind::Result {
                error,
                duration,
                output,
                args,
            } => serde_json::json!({
                "kind": "result",
                "outcome": if error.is_none() { "ok" } else { "error" },
                "error.type": error.map(ErrorKind::as_str),
                "duration_ms": duration.as_secs_f64() * 1000.0,
                "output_bytes": output.map_or(0, str::len),
                "args_bytes": args.map(str::len),
            }),
        };
        if let (Some(object), serde_json::Value::Object(extra)) = (value.as_object_mut(), fields) {
            object.extend(extra);
        }
        self.events
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(value);
        Ok(())
    }
}
