//! An event's body as the trail writes it, for the events the executor
//! records on every call: the same bytes serde writes for it, written field
//! by field, copying each string whole when it holds nothing JSON escapes
//! (serde looks up every byte of every string and key in a table).
//!
//! Events that carry a caller or their arguments go through serde.

use super::record::{AuditEvent, Body, Decision, Outcome};

/// `,"name":` as one literal: each key is copied with the punctuation
/// around it in one go.
macro_rules! key {
    ($name:literal) => {
        concat!(",\"", $name, "\":").as_bytes()
    };
}

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
            out.extend_from_slice(br#"{"kind":"decision","gen_ai.tool.name":"#);
            string(out, tool);
            field(out, key!("gen_ai.tool.call.id"), call_id);
            out.extend_from_slice(match decision {
                Decision::Allow => br#","decision":"allow""#,
                Decision::Deny => br#","decision":"deny""#,
                Decision::AskApproved => br#","decision":"ask_approved""#,
                Decision::AskDenied => br#","decision":"ask_denied""#,
            });
            optional(out, key!("decision.rule"), rule);
            optional(out, key!("decision.reason"), reason);
            optional(out, key!("decision.approver"), approver);
            field(out, key!("args.digest"), args_digest);
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
            out.extend_from_slice(br#"{"kind":"result","gen_ai.tool.name":"#);
            string(out, tool);
            field(out, key!("gen_ai.tool.call.id"), call_id);
            out.extend_from_slice(match outcome {
                Outcome::Ok => br#","outcome":"ok""#,
                Outcome::Error => br#","outcome":"error""#,
            });
            optional(out, key!("error.type"), error_type);
            let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
            number(out, key!("duration_us"), micros);
            number(out, key!("output.bytes"), output_bytes);
            optional(out, key!("output.digest"), output_digest);
            optional(out, key!("args.digest"), args_digest);
            out.push(b'}');
        }
        _ => serde_json::to_writer(out, &Body::Event(event))
            .expect("records hold strings, integers and JSON values, which always serialize"),
    }
}

/// `key` (`,"name":`, from [`key!`]) and `value` as a JSON string.
fn field(out: &mut Vec<u8>, key: &[u8], value: &str) {
    out.extend_from_slice(key);
    string(out, value);
}

fn optional(out: &mut Vec<u8>, key: &[u8], value: Option<&str>) {
    if let Some(value) = value {
        field(out, key, value);
    }
}

fn number(out: &mut Vec<u8>, key: &[u8], value: u64) {
    out.extend_from_slice(key);
    push_u64(out, value);
}

/// `value` in decimal, as serde_json writes an integer.
pub(crate) fn push_u64(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `text` as a JSON string, as serde_json writes it: copied whole when
/// nothing in it needs escaping, else escaped here run by run.
pub(crate) fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.push(b'"');
    if needs_escape(bytes) {
        escape(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
}

/// `bytes` with what JSON escapes escaped exactly as serde_json does: `\"`,
/// `\\`, the short forms `\b \t \n \f \r`, and `\u00xx` (lowercase hex)
/// for the other control characters; everything else (DEL, non-ASCII,
/// U+2028) as it is.
fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            b'\t' => b't',
            b'\n' => b'n',
            0x0c => b'f',
            b'\r' => b'r',
            0..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..at]);
        run = at + 1;
        if short == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0f)]);
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
}

/// Whether JSON must escape any of `bytes`: a control character, a quote or
/// a backslash (what serde_json escapes; nothing else). No early exit, so
/// the loop is vectorized (a word-at-a-time scan took more instructions).
pub(crate) fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Caller;

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

    /// Strings that exercise the escaping path: every control character,
    /// quotes and backslashes at word edges, DEL, U+2028/U+2029, multi-byte
    /// characters whose bytes straddle an 8-byte word, and lengths around
    /// the word size.
    fn hostile() -> Vec<String> {
        let mut texts: Vec<String> = (0u8..0x20).map(|c| char::from(c).to_string()).collect();
        texts.extend(
            [
                "\"",
                "\\",
                "\\\"",
                "\u{7f}",
                "\u{2028}",
                "\u{2029}",
                "\u{fffd}",
                "\u{10ffff}",
                "abcdefg\"",
                "abcdefgh\"",
                "abcdefg\\h",
                "1234567\u{1f}",
                "\u{e9}\u{e9}\u{e9}\u{e9}\"",
                "\u{1f980}\u{1f980}\n\u{1f980}",
                "\u{800}\u{800}\u{800}\\",
                "a\u{0}b\u{8}c\u{b}d\u{c}e\u{e}f\u{1b}g",
                "\u{2028}\"\u{2029}\\\u{7f}\u{80}\u{9f}",
                "</script><!--",
                "\r\n\t\u{8}\u{c}",
                "all clean, long enough to take several words: 0123456789",
            ]
            .map(str::to_owned),
        );
        // A byte that needs escaping at every position of a 24-byte string.
        for at in 0..24 {
            for bad in ['"', '\\', '\n', '\u{1}'] {
                let mut text = "x".repeat(24);
                text.replace_range(at..=at, &bad.to_string());
                texts.push(text);
            }
        }
        texts
    }

    #[test]
    fn strings_are_escaped_as_serde_escapes_them() {
        for text in hostile() {
            let mut ours = Vec::new();
            string(&mut ours, &text);
            let theirs = serde_json::to_vec(&text).expect("serializes");
            assert_eq!(
                String::from_utf8(ours).expect("UTF-8"),
                String::from_utf8(theirs).expect("UTF-8"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_scan_finds_exactly_the_bytes_serde_escapes() {
        let slow = |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for text in hostile() {
            assert_eq!(
                needs_escape(text.as_bytes()),
                slow(text.as_bytes()),
                "{text:?}"
            );
        }
        // Every byte value, alone and at every place of a word, among
        // neighbours that sit just beside the escaped ranges.
        for byte in 0..=u8::MAX {
            for at in 0..16 {
                let mut bytes = [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff].repeat(2);
                bytes[at] = byte;
                assert_eq!(needs_escape(&bytes), slow(&bytes), "{byte:#x} at {at}");
                assert_eq!(needs_escape(&bytes[at..]), slow(&bytes[at..]));
            }
        }
    }

    #[test]
    fn numbers_are_written_as_serde_writes_them() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut ours = Vec::new();
            number(&mut ours, key!("n"), n);
            assert_eq!(ours, format!(",\"n\":{n}").into_bytes());
        }
    }

    #[test]
    fn hostile_strings_in_every_field_are_written_as_serde_writes_them() {
        let texts = hostile();
        for (n, text) in texts.iter().enumerate() {
            let other = &texts[(n * 7 + 3) % texts.len()];
            let decision = AuditEvent::Decision {
                tool: text,
                call_id: other,
                caller: None,
                decision: Decision::AskDenied,
                rule: Some(other),
                reason: Some(text),
                approver: Some(text),
                args_digest: other,
                args: None,
            };
            assert_eq!(ours(&decision), serde_bytes(&decision));
            let result = AuditEvent::Result {
                tool: other,
                call_id: text,
                caller: None,
                outcome: Outcome::Error,
                error_type: Some(text),
                duration: Duration::from_micros(n as u64),
                output_bytes: n as u64,
                output_digest: Some(other),
                args_digest: Some(text),
            };
            assert_eq!(ours(&result), serde_bytes(&result));
        }
    }

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
