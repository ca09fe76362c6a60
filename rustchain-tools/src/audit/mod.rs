//! The tamper-evident audit trail: what the executor records about every tool
//! call, and how anyone checks it afterwards.
//!
//! A trail is a JSONL file, one record per line. Each record carries its
//! sequence number (`seq`, from 1), an RFC 3339 UTC timestamp with
//! milliseconds (`ts`), and the SHA-256 of the previous line's exact bytes
//! (`prev`; all zeros for the first record), so changing, deleting or
//! reordering any record breaks the chain. The executor writes a decision
//! record before a tool runs and a result record after:
//!
//! ```text
//! {"seq":1,"ts":"2026-05-02T10:11:12.345Z","prev":"sha256:0000…","kind":"decision","gen_ai.tool.name":"fs_read","gen_ai.tool.call.id":"call_1","decision":"allow","decision.rule":"tools.allow \"fs_read\" (rustchain.toml:2)","decision.reason":"the policy allows `fs_read`","args.digest":"sha256:…"}
//! {"seq":2,"ts":"2026-05-02T10:11:12.351Z","prev":"sha256:…","kind":"result","gen_ai.tool.name":"fs_read","gen_ai.tool.call.id":"call_1","outcome":"ok","duration_us":5912,"output.bytes":120,"output.digest":"sha256:…"}
//! ```
//!
//! - [`AuditTrail::append`] returns once its record is written to the file,
//!   chained onto the last record in the file under an exclusive lock on it,
//!   so several processes can share a trail; records appended at the same
//!   time share one `write` (group commit). [`Fsync`] says when records are
//!   forced to disk (by default never: a killed process loses nothing it
//!   acknowledged, a power failure what the kernel had not written back).
//! - [`AuditTrail::open`] cuts a torn end left by a crash and appends a
//!   `recovery` record with the byte count and digest of what it cut.
//! - With [`CheckpointOptions`], every N records a `checkpoint` record signs
//!   (sequence number, head hash) with Ed25519, and the latest checkpoint is
//!   also kept in `<trail>.checkpoint`, so a rewritten chain or a cut tail is
//!   found by [`verify`](fn@verify) given the trusted public key. A handle also signs
//!   the tail when it is closed or dropped, so a short session is signed
//!   too, and `verify` with the key reports any record no checkpoint covers.
//! - [`verify`](fn@verify) recomputes everything and names each [`Finding`] by kind and
//!   record; [`VerifyStatus::exit_code`] maps the verdict to 0/1/2.
//! - [`report`](fn@report) sums up calls, denials, errors, timeouts and latency per tool.
//!
//! The file is the authority; tracing spans are only an export.

mod checkpoint;
mod encode;
mod error;
mod hash;
mod record;
mod redact;
mod report;
mod time;
mod trail;
mod verify;

pub use checkpoint::{
    generate_signing_key, load_signing_key, load_verifying_key, save_signing_key,
    save_verifying_key,
};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use error::{AuditError, AuditErrorKind};
pub(crate) use hash::DigestText;
pub use hash::digest;
pub use record::{AuditEvent, Decision, Outcome};
pub use redact::{REDACTED, redact};
pub use report::{ReportFilter, ToolUsage, UsageReport, report};
pub use time::format_rfc3339_millis;
pub use trail::{
    AuditOptions, AuditTrail, CheckpointOptions, CommitStats, Fsync, OpenReport, RecordId,
    Recovery, TornReason,
};
pub use verify::{
    Finding, FindingKind, Severity, UNDETECTED_WITHOUT_KEY, VerifyReport, VerifyStatus, verify,
};
