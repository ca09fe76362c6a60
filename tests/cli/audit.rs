//! `audit verify` (tampering, torn lines, signed checkpoints), `audit report`
//! and `audit tail`.

use std::io;

use serde_json::{Value, json};

use super::{Setup, cli, records, scratch, utf8, write};

// ---- audit verify ----

/// A trail of two allowed calls to `add`: four records.
fn trail_of_two_calls() -> Setup {
    let setup = Setup::new("");
    for _ in 0..2 {
        setup
            .cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#])
            .expect_code(0);
    }
    assert_eq!(records(&setup.trail).len(), 4);
    setup
}

#[test]
fn verify_names_a_record_changed_by_one_byte_and_exits_1() {
    let setup = trail_of_two_calls();
    let text = std::fs::read_to_string(&setup.trail).expect("the trail");
    let at = text
        .find("\"outcome\":\"ok\"")
        .expect("the first result record")
        + 12;
    let mut bytes = text.into_bytes();
    bytes[at] = b'K';
    std::fs::write(&setup.trail, bytes).expect("the trail is edited");

    let run = cli(&["audit", "verify", &setup.trail]).expect_code(1);
    let first = run.out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("tampered: line 2 (record 2): record_modified: "),
        "{}",
        run.out
    );
    assert!(run.out.contains(": tampered: "), "{}", run.out);

    let report = cli(&["audit", "verify", &setup.trail, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["status"], "tampered");
    assert_eq!(report["findings"][0]["kind"], "record_modified");
    assert_eq!(report["findings"][0]["seq"], 2);
    assert_eq!(report["findings"][0]["severity"], "tampered");
}

#[test]
fn verify_warns_of_a_torn_last_line_with_status_2_and_the_next_call_recovers() {
    let setup = trail_of_two_calls();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&setup.trail)
        .expect("the trail opens");
    io::Write::write_all(&mut file, br#"{"seq":5,"ts":"2026-"#).expect("a torn write");
    drop(file);

    let run = cli(&["audit", "verify", &setup.trail]).expect_code(2);
    assert!(
        run.out.starts_with("warning: line 5: torn_tail: "),
        "{}",
        run.out
    );
    assert!(run.out.contains(": warnings: "), "{}", run.out);
    assert!(
        run.err
            .starts_with("note: without a trusted key (--key), verify cannot find: "),
        "{}",
        run.err
    );

    // Opening the trail cuts the torn end and says so; the chain verifies,
    // but the recovery stays a warning: what the torn line held is lost.
    let run = setup
        .cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#])
        .expect_code(0);
    assert!(run.err.contains("torn write"), "{}", run.err);
    let report = cli(&["audit", "verify", &setup.trail, "--json"])
        .expect_code(2)
        .json();
    assert_eq!(report["recoveries"], 1);
    assert_eq!(report["status"], "warnings");
    assert_eq!(report["findings"][0]["kind"], "recovered");
    assert_eq!(report["keyed"], false);
    assert!(
        report["undetected"]
            .as_str()
            .is_some_and(|text| text.contains("change to the last record")),
        "{report}"
    );
}

#[test]
fn verify_exits_5_when_it_cannot_verify() {
    let dir = scratch();
    let missing = utf8(&dir.path().join("missing.jsonl"));
    let run = cli(&["audit", "verify", &missing]).expect_code(5);
    assert_eq!(run.out, "");
    assert!(run.err.contains("missing.jsonl"), "{}", run.err);

    // Its own bad usage is 5 too, never the 2 of "warnings only".
    cli(&["audit", "verify", "--no-such-flag"]).expect_code(5);
    cli(&["audit", "verify", "a.jsonl", "b.jsonl"]).expect_code(5);

    let setup = trail_of_two_calls();
    let key = write(setup.dir.path(), "bad.pub", "not a key\n");
    let run = cli(&["audit", "verify", &setup.trail, "--key", &key]).expect_code(5);
    assert!(run.err.contains("bad.pub"), "{}", run.err);
}

#[test]
fn signed_checkpoints_verify_against_the_generated_key() {
    let setup = Setup::new("");
    let key = utf8(&setup.dir.path().join("audit.key"));
    let run = cli(&["audit", "keygen", "--out", &key]).expect_code(0);
    assert!(run.out.contains("audit.key.pub"), "{}", run.out);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("the key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the signing key is its owner's alone");
    }
    let run = cli(&["audit", "keygen", "--out", &key]).expect_code(2);
    assert!(run.err.contains("already exists"), "{}", run.err);

    for _ in 0..2 {
        setup
            .cli(&[
                "--audit-key",
                &key,
                "--checkpoint-every",
                "2",
                "tools",
                "call",
                "add",
                "--args",
                r#"{"a": 1, "b": 2}"#,
            ])
            .expect_code(0);
    }
    let public = format!("{key}.pub");
    let report = cli(&["audit", "verify", &setup.trail, "--key", &public, "--json"])
        .expect_code(0)
        .json();
    assert!(
        report["checkpoints"].as_u64().is_some_and(|n| n >= 1),
        "{report}"
    );
    assert!(report["signed_through"].as_u64().is_some(), "{report}");

    // A key that did not sign the checkpoints finds them bad.
    let other = utf8(&setup.dir.path().join("other.key"));
    cli(&["audit", "keygen", "--out", &other]).expect_code(0);
    let report = cli(&[
        "audit",
        "verify",
        &setup.trail,
        "--key",
        &format!("{other}.pub"),
        "--json",
    ])
    .expect_code(1)
    .json();
    assert_eq!(report["findings"][0]["kind"], "bad_signature", "{report}");
}

#[test]
fn one_call_with_a_key_ends_signed_and_an_unsigned_trail_is_not_intact_given_the_key() {
    let setup = Setup::new("");
    let key = utf8(&setup.dir.path().join("audit.key"));
    cli(&["audit", "keygen", "--out", &key]).expect_code(0);
    let public = format!("{key}.pub");
    // No call yet with the key: the trail of a keyless call proves nothing.
    setup
        .cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#])
        .expect_code(0);
    let report = cli(&["audit", "verify", &setup.trail, "--key", &public, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["findings"][0]["kind"], "unsigned", "{report}");
    assert_eq!(report["keyed"], true);

    // One call with the key and the default interval of 100 records: the
    // process signs the tail when it closes the trail.
    setup
        .cli(&[
            "--audit-key",
            &key,
            "tools",
            "call",
            "add",
            "--args",
            r#"{"a": 1, "b": 2}"#,
        ])
        .expect_code(0);
    let report = cli(&["audit", "verify", &setup.trail, "--key", &public, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["status"], "intact", "{report}");
    assert_eq!(
        (
            report["checkpoints"].as_u64(),
            report["signed_through"].as_u64()
        ),
        (Some(1), Some(4))
    );
}

// ---- audit report ----

#[test]
fn report_json_counts_calls_denials_and_errors_per_tool() {
    let setup = Setup::new("[tools]\ndeny = [\"path_length\"]\n");
    let calls: [(&str, &str, u8); 4] = [
        ("add", r#"{"a": 1, "b": 2}"#, 0),
        ("add", r#"{"a": 3, "b": 4}"#, 0),
        ("get_weather", r#"{"city": " "}"#, 1),
        ("path_length", r#"{"points": []}"#, 1),
    ];
    for (tool, args, code) in calls {
        setup
            .cli(&["tools", "call", tool, "--args", args])
            .expect_code(code);
    }

    let report = cli(&["audit", "report", &setup.trail, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["records"], 7, "{report}");
    let usage = |name: &str| {
        report["tools"]
            .as_array()
            .and_then(|tools| tools.iter().find(|usage| usage["tool"] == name))
            .unwrap_or_else(|| panic!("no usage of {name} in {report}"))
    };
    let add = usage("add");
    assert_eq!(
        (
            &add["calls"],
            &add["denials"],
            &add["errors"],
            &add["timeouts"]
        ),
        (&json!(2), &json!(0), &json!(0), &json!(0))
    );
    assert!(
        add["p50_ms"].is_number() && add["p99_ms"].is_number(),
        "{add}"
    );
    let weather = usage("get_weather");
    assert_eq!(
        (&weather["calls"], &weather["errors"]),
        (&json!(1), &json!(1))
    );
    let path = usage("path_length");
    assert_eq!((&path["calls"], &path["denials"]), (&json!(1), &json!(1)));
    assert_eq!(path["p50_ms"], Value::Null, "a denied call has no duration");

    let recent = cli(&["audit", "report", &setup.trail, "--since", "1h", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(recent["records"], 7);
    assert!(recent["since"].is_string(), "{recent}");

    let run = cli(&["audit", "report", &setup.trail, "--since", "5m"]).expect_code(0);
    let header = run.out.lines().next().unwrap_or_default();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "TOOL", "CALLS", "DENIALS", "ERRORS", "TIMEOUTS", "P50", "P95", "P99"
        ]
    );
    assert!(
        run.out.ends_with(": 7 records in the last 5m\n"),
        "{}",
        run.out
    );
}

#[test]
fn report_since_takes_a_number_and_a_unit() {
    let setup = trail_of_two_calls();
    for since in ["30s", "5m", "2h", "1d"] {
        cli(&["audit", "report", &setup.trail, "--since", since]).expect_code(0);
    }
    let run = cli(&["audit", "report", &setup.trail, "--since", "forever"]).expect_code(2);
    assert!(run.err.contains("30s, 5m, 2h, 1d"), "{}", run.err);
}

#[test]
fn tail_shows_the_last_records_and_report_tool_operations_adds_kinds_and_last_call() {
    let setup = Setup::new("default = \"allow\"\n");
    for (args, code) in [
        (r#"{"text": "a b"}"#, 0),
        (r#"{"text": "c"}"#, 0),
        (r#"{"txet": "typo"}"#, 1),
    ] {
        setup
            .cli(&["tools", "call", "text_stats", "--args", args])
            .expect_code(code);
    }
    let run = cli(&["audit", "tail", "-n", "2", &setup.trail]).expect_code(0);
    let lines: Vec<&str> = run.out.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.out);
    assert!(lines[1].contains("result      text_stats"), "{}", run.out);
    assert!(lines[1].contains("error[invalid_arguments]"), "{}", run.out);
    let run = cli(&["--json", "audit", "tail", "-n", "1", &setup.trail]).expect_code(0);
    let record: Value = serde_json::from_str(run.out.trim()).expect("one JSON record");
    assert_eq!(record["error.type"], "invalid_arguments");

    let run = cli(&["audit", "report", "--tool-operations", &setup.trail]).expect_code(0);
    assert!(run.out.starts_with("TOOL "), "{}", run.out);
    assert!(run.out.contains("LAST CALL"), "{}", run.out);
    assert!(
        run.out.contains("text_stats: invalid_arguments 1"),
        "{}",
        run.out
    );
    let run = cli(&[
        "--json",
        "audit",
        "report",
        "--tool",
        "text_stats",
        &setup.trail,
    ])
    .expect_code(0);
    let report: Value = serde_json::from_str(&run.out).expect("JSON");
    let tools = report["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["calls"], 3);
    assert_eq!(tools[0]["allowed"], 2);
    assert_eq!(tools[0]["errors_by_kind"]["invalid_arguments"], 1);
    assert!(
        tools[0]["last_call"]
            .as_str()
            .is_some_and(|ts| ts.ends_with('Z'))
    );
    let run = cli(&[
        "--json",
        "audit",
        "report",
        "--tool",
        "no_such_tool",
        &setup.trail,
    ])
    .expect_code(0);
    let report: Value = serde_json::from_str(&run.out).expect("JSON");
    assert_eq!(report["tools"], serde_json::json!([]));
    let run = cli(&["audit", "report", "--mission", "m-1", &setup.trail]).expect_code(0);
    assert!(
        run.out.contains("no tool calls of mission m-1"),
        "{}",
        run.out
    );
}
