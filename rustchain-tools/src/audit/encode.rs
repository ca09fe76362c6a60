//! An event's body as the trail writes it, for the events the executor
//! records on every call: the same bytes serde writes for it, written field
//! by field, copying each string whole when it holds nothing JSON escapes
//! (serde looks up every byte of every string and key in a table).
//!
//! Events that carry a caller or their arguments go through serde.

use super::record::{AuditEvent, Body};

/// Appends the body of `event` (one JSON object) to `out`.
pub(crate) fn write_event(out: &mut Vec<u8>, event: &AuditEvent<'_>) {
    match *event {
        AuditEvent::Decision {
            tool,
            call_id,
            caller: None,
            decision,
            rule,
            reason,
            approver,
            args_digest,
            args: None,
        } => {
            out.extend_from_slice(b"{\"kind\":\"decision\"");
            field(out, "gen_ai.tool.name", tool);
            field(out, "gen_ai.tool.call.id", call_id);
            field(out, "decision", decision.as_str());
            optional(out, "decision.rule", rule);
            optional(out, "decision.reason", reason);
            optional(out, "decision.approver", approver);
            field(out, "args.digest", args_digest);
            out.push(b'}');
        }
        AuditEvent::Result {
            tool,
            call_id,
            caller: None,
            outcome,
            error_type,
            duration,
            output_bytes,
            output_digest,
            args_digest,
        } => {
            out.extend_from_slice(b"{\"kind\":\"result\"");
            field(out, "gen_ai.tool.name", tool);
            field(out, "gen_ai.tool.call.id", call_id);
            field(out, "outcome", outcome.as_str());
            optional(out, "error.type", error_type);
            number(
                out,
                "duration_us",
                u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
            );
            number(out, "output.bytes", output_bytes);
            optional(out, "output.digest", output_digest);
            optional(out, "args.digest", args_digest);
            out.push(b'}');
        }
        _ => serde_json::to_writer(out, &Body::Event(event))
            .expect("records hold strings, integers and JSON values, which always serialize"),
    }
}

/// `,"key":"value"`; `key` is one of ours and needs no escaping.
fn field(out: &mut Vec<u8>, key: &str, value: &str) {
    key_of(out, key);
    string(out, value);
}

fn optional(out: &mut Vec<u8>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        field(out, key, value);
    }
}

fn number(out: &mut Vec<u8>, key: &str, value: u64) {
    key_of(out, key);
    serde_json::to_writer(out, &value).expect("an integer serializes");
}

fn key_of(out: &mut Vec<u8>, key: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// `text` as a JSON string: copied whole when nothing in it needs escaping,
/// else escaped by serde.
fn string(out: &mut Vec<u8>, text: &str) {
    if needs_escape(text.as_bytes()) {
        serde_json::to_writer(out, text).expect("a string serializes");
    } else {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// Whether JSON must escape any of `bytes`: a control character, a quote or
/// a backslash (what serde_json escapes; nothing else). No early exit, so
/// the loop is vectorized.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Caller;
    use crate::audit::{Decision, Outcome};

    fn serde_bytes(event: &AuditEvent<'_>) -> String {
        serde_json::to_string(&Body::Event(event)).expect("serializes")
    }

    fn ours(event: &AuditEvent<'_>) -> String {
        let mut out = Vec::new();
        write_event(&mut out, event);
        String::from_utf8(out).expect("UTF-8")
    }

    /// Strings with nothing to escape, and every kind of thing JSON escapes.
    const TEXTS: [&str; 7] = [
        "fs_read",
        "",
        "quote \" and backslash \\",
        "line\nbreak\ttab\u{1}\u{1f}",
        "non-ASCII: é ✓ 🦀 \u{7f}",
        "a long one that is longer than a vector register holds, 0123456789abcdef",
        "</script>",
    ];

    #[test]
    fn decisions_are_written_as_serde_writes_them() {
        let decisions = [
            Decision::Allow,
            Decision::Deny,
            Decision::AskApproved,
            Decision::AskDenied,
        ];
        for (n, text) in TEXTS.iter().enumerate() {
            let other = TEXTS[(n + 1) % TEXTS.len()];
            for optional in [None, Some(*text), Some(other)] {
                let event = AuditEvent::Decision {
                    tool: text,
                    call_id: other,
                    caller: None,
                    decision: decisions[n % decisions.len()],
                    rule: optional,
                    reason: optional.map(|_| other),
                    approver: optional.filter(|_| n % 2 == 0),
                    args_digest: text,
                    args: None,
                };
                assert_eq!(ours(&event), serde_bytes(&event));
            }
        }
    }

    #[test]
    fn results_are_written_as_serde_writes_them() {
        for (n, text) in TEXTS.iter().enumerate() {
            let other = TEXTS[(n + 3) % TEXTS.len()];
            for optional in [None, Some(*text), Some(other)] {
                let event = AuditEvent::Result {
                    tool: other,
                    call_id: text,
                    caller: None,
                    outcome: if n % 2 == 0 {
                        Outcome::Ok
                    } else {
                        Outcome::Error
                    },
                    error_type: optional,
                    duration: Duration::from_nanos(1_234_567 * n as u64),
                    output_bytes: [0, 1, u64::MAX][n % 3],
                    output_digest: optional.map(|_| other),
                    args_digest: optional.filter(|_| n % 2 == 1),
                };
                assert_eq!(ours(&event), serde_bytes(&event));
            }
        }
        let longest = AuditEvent::Result {
            tool: "t",
            call_id: "c",
            caller: None,
            outcome: Outcome::Ok,
            error_type: None,
            duration: Duration::MAX,
            output_bytes: 0,
            output_digest: None,
            args_digest: None,
        };
        assert_eq!(ours(&longest), serde_bytes(&longest));
    }

    #[test]
    fn events_with_a_caller_or_arguments_go_through_serde() {
        let caller = Caller {
            client: Some("inspector \"quoted\"".into()),
            request_id: Some("7".into()),
            ..Caller::default()
        };
        let args = serde_json::json!({"path": "a\nb", "n": 1});
        let event = AuditEvent::Decision {
            tool: "fs_read",
            call_id: "c1",
            caller: Some(&caller),
            decision: Decision::Allow,
            rule: None,
            reason: None,
            approver: None,
            args_digest: "sha256:00",
            args: Some(&args),
        };
        assert_eq!(ours(&event), serde_bytes(&event));
        let result = AuditEvent::Result {
            tool: "fs_read",
            call_id: "c1",
            caller: Some(&caller),
            outcome: Outcome::Ok,
            error_type: None,
            duration: Duration::from_micros(5),
            output_bytes: 2,
            output_digest: None,
            args_digest: None,
        };
        assert_eq!(ours(&result), serde_bytes(&result));
    }
}
