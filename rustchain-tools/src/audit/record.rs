//! What one line of the trail says: the events the executor records, and the
//! records the trail adds itself (recovery, checkpoint).
//!
//! Written with serde in a fixed field order; read back leniently (unknown
//! fields are ignored, so newer writers stay readable).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

/// The policy's verdict on a call, as the decision record states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A rule allowed the call.
    Allow,
    /// A rule (or the default) denied the call; nothing of the tool ran.
    /// After an `allow` of the same call, a rule denied one thing the running
    /// tool attempted on the call's behalf (a connection a program it
    /// started asked its proxy for); the call went on.
    Deny,
    /// A rule said ask, and the approver said yes.
    AskApproved,
    /// A rule said ask, and the approver did not say yes (no, an error, a timeout).
    AskDenied,
}

impl Decision {
    /// The name the trail records: `allow`, `deny`, `ask_approved`, `ask_denied`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::AskApproved => "ask_approved",
            Decision::AskDenied => "ask_denied",
        }
    }

    /// Whether the call was refused.
    pub const fn is_denial(self) -> bool {
        matches!(self, Decision::Deny | Decision::AskDenied)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a call ended, as the result record states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tool returned a value.
    Ok,
    /// The call ended in an error; `error.type` says which.
    Error,
}

impl Outcome {
    /// The name the trail records: `ok` or `error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the executor records about a tool call. Fields borrow, so
/// appending clones nothing.
///
/// Field names in the trail follow the OpenTelemetry GenAI conventions where
/// one applies (`gen_ai.tool.name`, `gen_ai.tool.call.id`, `error.type`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditEvent<'a> {
    /// The policy's decision, written before the tool runs (and the only
    /// record of a call that is refused before it runs).
    Decision {
        /// The tool's name (`gen_ai.tool.name`).
        #[serde(rename = "gen_ai.tool.name")]
        tool: &'a str,
        /// The model's id for this call (`gen_ai.tool.call.id`).
        #[serde(rename = "gen_ai.tool.call.id")]
        call_id: &'a str,
        /// Who asked for the call (`client.name`, `request.id`), when the
        /// front end said.
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        caller: Option<&'a crate::Caller>,
        /// The verdict.
        decision: Decision,
        /// The rule that decided, as the policy names it.
        #[serde(rename = "decision.rule", skip_serializing_if = "Option::is_none")]
        rule: Option<&'a str>,
        /// Why, in words (for a denial: what was refused and how to get access).
        #[serde(rename = "decision.reason", skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
        /// Who answered an `ask` rule.
        #[serde(rename = "decision.approver", skip_serializing_if = "Option::is_none")]
        approver: Option<&'a str>,
        /// [`digest`](super::digest) of the argument text exactly as received.
        #[serde(rename = "args.digest")]
        args_digest: &'a str,
        /// The arguments in full, only where the policy says so, already
        /// passed through [`redact`](fn@super::redact).
        #[serde(rename = "args", skip_serializing_if = "Option::is_none")]
        args: Option<&'a serde_json::Value>,
    },
    /// How the call ended, written after the tool returns (or fails, or times out).
    Result {
        /// The tool's name (`gen_ai.tool.name`).
        #[serde(rename = "gen_ai.tool.name")]
        tool: &'a str,
        /// The model's id for this call (`gen_ai.tool.call.id`).
        #[serde(rename = "gen_ai.tool.call.id")]
        call_id: &'a str,
        /// Who asked for the call (`client.name`, `request.id`), when the
        /// front end said.
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        caller: Option<&'a crate::Caller>,
        /// Ok or error.
        outcome: Outcome,
        /// The error's kind (`error.type`): `invalid_arguments`, `denied`,
        /// `timeout`, ... (see `ErrorKind::as_str`).
        #[serde(rename = "error.type", skip_serializing_if = "Option::is_none")]
        error_type: Option<&'a str>,
        /// Wall time of the call, recorded in whole microseconds.
        #[serde(rename = "duration_us", serialize_with = "micros")]
        duration: Duration,
        /// Size of the encoded output.
        #[serde(rename = "output.bytes")]
        output_bytes: u64,
        /// [`digest`](super::digest) of the encoded output, when there is one.
        #[serde(rename = "output.digest", skip_serializing_if = "Option::is_none")]
        output_digest: Option<&'a str>,
        /// SHA-256 of the argument text, for a call refused before any
        /// decision record carried it (unknown tool, oversized or invalid arguments).
        #[serde(rename = "args.digest", skip_serializing_if = "Option::is_none")]
        args_digest: Option<&'a str>,
    },
}

impl AuditEvent<'_> {
    /// The tool this event is about.
    pub fn tool(&self) -> &str {
        match self {
            AuditEvent::Decision { tool, .. } | AuditEvent::Result { tool, .. } => tool,
        }
    }

    /// The call this event is about.
    pub fn call_id(&self) -> &str {
        match self {
            AuditEvent::Decision { call_id, .. } | AuditEvent::Result { call_id, .. } => call_id,
        }
    }
}

fn micros<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
}

/// The record the trail writes after cutting a torn last line.
#[derive(Debug, Serialize)]
pub(crate) struct RecoveryBody<'a> {
    pub(crate) kind: &'static str,
    #[serde(rename = "recovery.reason")]
    pub(crate) reason: &'a str,
    /// Byte offset where the cut bytes began (the file's new length).
    #[serde(rename = "recovery.offset")]
    pub(crate) offset: u64,
    #[serde(rename = "recovery.cut_bytes")]
    pub(crate) cut_bytes: u64,
    #[serde(rename = "recovery.cut_digest")]
    pub(crate) cut_digest: &'a str,
}

/// The signed statement "record `seq` of this trail has hash `head`".
#[derive(Debug, Serialize)]
pub(crate) struct CheckpointBody<'a> {
    pub(crate) kind: &'static str,
    #[serde(rename = "checkpoint.seq")]
    pub(crate) seq: u64,
    #[serde(rename = "checkpoint.head")]
    pub(crate) head: &'a str,
    #[serde(rename = "checkpoint.key")]
    pub(crate) key: &'a str,
    #[serde(rename = "checkpoint.sig")]
    pub(crate) sig: &'a str,
}

pub(crate) const KIND_RECOVERY: &str = "recovery";
pub(crate) const KIND_CHECKPOINT: &str = "checkpoint";

/// Any record's body.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Body<'a> {
    Event(&'a AuditEvent<'a>),
    Recovery(RecoveryBody<'a>),
    Checkpoint(CheckpointBody<'a>),
}

/// One line as written: the chain fields first, then the body.
#[derive(Serialize)]
pub(crate) struct Line<'a> {
    pub(crate) seq: u64,
    pub(crate) ts: &'a str,
    pub(crate) prev: &'a str,
    #[serde(flatten)]
    pub(crate) body: Body<'a>,
}

/// One line as read back: every field any reader needs, all but the chain
/// fields optional.
#[derive(Debug, Deserialize)]
pub(crate) struct StoredRecord<'a> {
    pub(crate) seq: u64,
    #[serde(borrow)]
    pub(crate) ts: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) prev: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) kind: Cow<'a, str>,
    #[serde(rename = "gen_ai.tool.name", borrow, default)]
    pub(crate) tool: Option<Cow<'a, str>>,
    #[serde(rename = "gen_ai.tool.call.id", borrow, default)]
    pub(crate) call_id: Option<Cow<'a, str>>,
    // Read as text, so a verdict or outcome added later still reads as a record.
    #[serde(borrow, default)]
    pub(crate) decision: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) outcome: Option<Cow<'a, str>>,
    #[serde(rename = "error.type", borrow, default)]
    pub(crate) error_type: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) duration_us: Option<u64>,
    /// The mission that made the call, if one did.
    #[serde(rename = "mission.id", borrow, default)]
    pub(crate) mission_id: Option<Cow<'a, str>>,
    /// The mission run that made the call, if one did.
    #[serde(rename = "mission.run_id", borrow, default)]
    pub(crate) mission_run: Option<Cow<'a, str>>,
    #[serde(rename = "checkpoint.seq", default)]
    pub(crate) checkpoint_seq: Option<u64>,
    #[serde(rename = "checkpoint.head", borrow, default)]
    pub(crate) checkpoint_head: Option<Cow<'a, str>>,
    #[serde(rename = "checkpoint.key", borrow, default)]
    pub(crate) checkpoint_key: Option<Cow<'a, str>>,
    #[serde(rename = "checkpoint.sig", borrow, default)]
    pub(crate) checkpoint_sig: Option<Cow<'a, str>>,
}

impl<'a> StoredRecord<'a> {
    /// Parses one line (without its newline); `None` if it is not a record.
    pub(crate) fn parse(line: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(line).ok()
    }

    /// Whether a call of the mission `mission` (its name, any run) or of
    /// the mission run `mission` (a run's id) made this record.
    pub(crate) fn is_of_mission(&self, mission: &str) -> bool {
        self.mission_id.as_deref() == Some(mission) || self.mission_run.as_deref() == Some(mission)
    }
}
