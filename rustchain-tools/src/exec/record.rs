//! What the executor tells the audit trail about each call: a decision record
//! before the tool runs, a result record after (or one record alone for a
//! call refused before any decision, such as one with invalid arguments).

use std::sync::Mutex;
use std::time::Duration;

use crate::ErrorKind;
use crate::audit::{AuditError, AuditEvent, Decision, DigestText, Outcome};

/// One event of one call, borrowed from the executor's own state.
#[derive(Debug, Clone, Copy)]
pub struct CallEvent<'a> {
    /// The tool's name (as the model sent it, bounded, for unknown tools).
    pub tool: &'a str,
    /// The call's id.
    pub call_id: &'a str,
    /// Who asked for the call, when the front end said.
    pub caller: Option<&'a crate::Caller>,
    /// What happened.
    pub kind: CallEventKind<'a>,
}

/// The two kinds of event.
#[derive(Debug, Clone, Copy)]
pub enum CallEventKind<'a> {
    /// Before the tool runs: the policy's decision.
    Decision {
        /// Allow, deny, or the approval's outcome.
        decision: Decision,
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
    /// Appends one event; an `Err` says why it could not, and refuses the call.
    fn record(&self, event: &CallEvent<'_>) -> Result<(), AuditError>;

    /// Appends a call's decision and then its result, together: the
    /// executor's way for a tool whose hints say it is read-only, once the
    /// call has ended (D-47). An `Err` withholds the call's result from its
    /// caller. By default, [`record`](AuditSink::record) each in turn; the
    /// file trail writes both in one batch.
    fn record_call(
        &self,
        decision: &CallEvent<'_>,
        result: &CallEvent<'_>,
    ) -> Result<(), AuditError> {
        self.record(decision)?;
        self.record(result)
    }
}

/// An in-memory audit sink, for tests and for embedding programs that ship
/// records elsewhere. Each event is kept as a JSON object with the file
/// trail's field names (`decision.rule`, `duration_us`, `output.digest`, ...;
/// no `seq`, `ts` or `prev`), plus the byte counts `args.bytes` and `output.bytes`.
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
    fn record(&self, event: &CallEvent<'_>) -> Result<(), AuditError> {
        let mut value = as_audit_event(event, |event| {
            serde_json::to_value(event).expect("an audit event serializes")
        });
        let args = match event.kind {
            CallEventKind::Decision { args, .. } => Some(args),
            CallEventKind::Result { args, .. } => args,
        };
        if let (Some(object), Some(args)) = (value.as_object_mut(), args) {
            object.insert("args.bytes".into(), args.len().into());
        }
        self.events
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(value);
        Ok(())
    }
}

/// The file-backed, hash-chained trail records calls as they happen: the
/// argument text as a digest, in full (redacted) only where the policy says.
impl AuditSink for crate::audit::AuditTrail {
    fn record(&self, event: &CallEvent<'_>) -> Result<(), AuditError> {
        as_audit_event(event, |event| self.append(event)).map(drop)
    }

    fn record_call(
        &self,
        decision: &CallEvent<'_>,
        result: &CallEvent<'_>,
    ) -> Result<(), AuditError> {
        as_audit_event(decision, |decision| {
            as_audit_event(result, |result| self.append_all(&[decision, result]))
        })
        .map(drop)
    }
}

/// `event` in the trail's vocabulary (digests computed, arguments redacted
/// where recorded in full), handed to `with`: every sink records the same
/// fields under the same names.
fn as_audit_event<R>(event: &CallEvent<'_>, with: impl FnOnce(&AuditEvent<'_>) -> R) -> R {
    let (tool, call_id, caller) = (event.tool, event.call_id, event.caller);
    match event.kind {
        CallEventKind::Decision {
            decision,
            rule,
            reason,
            args,
            record_args,
            redact,
            approver_answer,
        } => {
            let recorded = record_args.then(|| recorded_args(args, redact));
            with(&AuditEvent::Decision {
                tool,
                call_id,
                caller,
                decision,
                rule: Some(rule),
                reason: Some(reason),
                approver: approver_answer,
                args_digest: DigestText::of(args.as_bytes()).as_str(),
                args: recorded.as_ref(),
            })
        }
        CallEventKind::Result {
            error,
            duration,
            output,
            args,
        } => {
            // On the stack: recording a call allocates no digest.
            let digest = output.map(|text| DigestText::of(text.as_bytes()));
            let args_digest = args.map(|text| DigestText::of(text.as_bytes()));
            with(&AuditEvent::Result {
                tool,
                call_id,
                caller,
                outcome: if error.is_none() {
                    Outcome::Ok
                } else {
                    Outcome::Error
                },
                error_type: error.map(ErrorKind::as_str),
                duration,
                output_bytes: output.map_or(0, |text| text.len() as u64),
                output_digest: digest.as_ref().map(DigestText::as_str),
                args_digest: args_digest.as_ref().map(DigestText::as_str),
            })
        }
    }
}

/// The arguments to record in full: parsed, with the named fields redacted.
/// Text that is not JSON cannot be redacted, so only its digest is kept.
fn recorded_args(args: &str, redact: &[String]) -> serde_json::Value {
    match serde_json::from_str::<serde_json::Value>(args) {
        Ok(value) => crate::audit::redact(&value, redact),
        Err(_) => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Caller;

    #[test]
    fn the_caller_is_recorded_beside_the_call_id_and_absent_when_unknown() {
        let audit = MemoryAudit::new();
        let caller = Caller {
            client: Some("inspector".into()),
            request_id: Some("42".into()),
            ..Caller::default()
        };
        let result = |caller| CallEvent {
            tool: "add",
            call_id: "c1",
            caller,
            kind: CallEventKind::Result {
                error: None,
                duration: Duration::from_micros(5),
                output: Some("3"),
                args: None,
            },
        };
        audit.record(&result(Some(&caller))).expect("recorded");
        audit.record(&result(None)).expect("recorded");
        let events = audit.events();
        assert_eq!(events[0]["client.name"], "inspector");
        assert_eq!(events[0]["request.id"], "42");
        assert_eq!(events[0]["gen_ai.tool.call.id"], "c1");
        assert!(events[1].get("client.name").is_none());
        assert!(events[1].get("request.id").is_none());
    }
}
