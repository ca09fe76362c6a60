//! `tools call` under a policy, recorded in a trail: decisions, denials,
//! policies and trails that cannot be loaded or opened.

use std::path::Path;

use serde_json::json;

use super::{Setup, call, cli, empty_policy, records, scratch, utf8};

// ---- tools call under a policy, recorded in a trail ----

#[test]
fn an_allowed_call_leaves_a_decision_and_a_result_that_verify_as_intact() {
    let setup = Setup::new("[tools]\nallow = [\"add\"]\n");
    let run = setup.cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#]);
    assert_eq!(run.expect_code(0).out, "3\n");

    let records = records(&setup.trail);
    assert_eq!(records.len(), 2, "{records:#?}");
    let (decision, result) = (&records[0], &records[1]);
    assert_eq!(decision["kind"], "decision");
    assert_eq!(decision["decision"], "allow");
    assert!(
        decision["decision.rule"]
            .as_str()
            .is_some_and(|rule| rule.starts_with("tools.allow \"add\"")),
        "{decision}"
    );
    assert_eq!(result["kind"], "result");
    assert_eq!(result["outcome"], "ok");
    assert_eq!(
        decision["gen_ai.tool.call.id"],
        result["gen_ai.tool.call.id"]
    );
    assert!(
        decision["gen_ai.tool.call.id"]
            .as_str()
            .is_some_and(|id| id.len() == 36 && id.as_bytes()[14] == b'7'),
        "a UUID v7, unique across processes sharing the trail: {decision}"
    );

    let run = cli(&["audit", "verify", &setup.trail]).expect_code(0);
    let summary = run.out.lines().last().unwrap_or_default();
    assert!(summary.contains(": intact: 2 lines"), "{}", run.out);
    let report = cli(&["audit", "verify", &setup.trail, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["status"], "intact");
    assert_eq!(report["last_seq"], 2);
    assert_eq!(report["findings"], json!([]));
}

#[test]
fn a_given_call_id_is_the_one_recorded() {
    let setup = Setup::new("");
    setup
        .cli(&[
            "tools",
            "call",
            "add",
            "-a",
            r#"{"a": 1, "b": 1}"#,
            "--call-id",
            "call_42",
        ])
        .expect_code(0);
    for record in records(&setup.trail) {
        assert_eq!(record["gen_ai.tool.call.id"], "call_42");
    }
}

#[test]
fn a_denied_call_exits_1_with_kind_denied_and_leaves_one_record() {
    let setup = Setup::new("[tools]\ndeny = [\"add\"]\n");
    let report = setup
        .cli(&[
            "tools",
            "call",
            "add",
            "--args",
            r#"{"a": 1, "b": 2}"#,
            "--json",
        ])
        .expect_code(1)
        .json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["kind"], "denied");
    let message = report["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("tools.deny \"add\"") && message.contains("rustchain.toml:2"),
        "the rule and its place: {message}"
    );

    let records = records(&setup.trail);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["decision"], "deny");

    let run = setup.cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#]);
    assert!(
        run.expect_code(1).err.starts_with("error[denied]: "),
        "people get the kind on stderr"
    );
}

#[test]
fn a_tool_that_needs_a_grant_is_denied_by_the_empty_policy() {
    let report = call(&["fs_read", "--args", r#"{"path": "Cargo.toml"}"#, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["error"]["kind"], "denied", "{report}");
}

#[test]
fn ask_rules_deny_when_nobody_can_answer() {
    let setup = Setup::new("[tools]\nask = [\"add\"]\n");
    let report = setup
        .cli(&[
            "tools",
            "call",
            "add",
            "--args",
            r#"{"a": 1, "b": 2}"#,
            "--json",
        ])
        .expect_code(1)
        .json();
    assert_eq!(report["error"]["kind"], "denied");
    assert!(
        report["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no approver")),
        "{report}"
    );
    assert_eq!(records(&setup.trail)[0]["decision"], "ask_denied");
}

#[test]
fn a_policy_that_does_not_load_runs_nothing_and_exits_2() {
    let failing = "[tools]\nallow = [\"add\"]\n\n[[examples]]\ntool = \"add\"\nargs = { a = 1, b = 2 }\nexpect = \"deny\"\n";
    let setup = Setup::new(failing);
    let run = setup
        .cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#])
        .expect_code(2);
    assert_eq!(run.out, "");
    assert!(
        run.err.starts_with(&format!(
            "error: {}:5: the example calling `add`",
            setup.policy
        )),
        "{}",
        run.err
    );
    assert!(run.err.contains("nothing was run"), "{}", run.err);
    assert!(
        !Path::new(&setup.trail).exists(),
        "a refused policy leaves no trail behind"
    );

    let setup = Setup::new("[tool]\nallow = [\"add\"]\n");
    let run = setup.cli(&["tools", "call", "add"]).expect_code(2);
    assert!(
        run.err.contains("rustchain.toml:1: unknown field `tool`"),
        "{}",
        run.err
    );

    let dir = scratch();
    let missing = utf8(&dir.path().join("missing.toml"));
    let run = cli(&["--no-audit", "--policy", &missing, "tools", "call", "add"]).expect_code(2);
    assert!(
        run.err.contains("missing.toml"),
        "a named policy must exist: {}",
        run.err
    );
}

#[test]
fn a_trail_that_cannot_be_opened_refuses_the_call_with_status_2() {
    let dir = scratch();
    let trail = utf8(&dir.path().join("no-such-folder").join("audit.jsonl"));
    let run = cli(&[
        "--policy",
        empty_policy(),
        "--audit",
        &trail,
        "tools",
        "call",
        "add",
        "--args",
        r#"{"a": 1, "b": 2}"#,
    ])
    .expect_code(2);
    assert_eq!(run.out, "", "the tool did not run");
    assert!(run.err.contains("does not exist"), "{}", run.err);
}

#[test]
fn no_audit_conflicts_with_a_named_trail() {
    let run = cli(&["--no-audit", "--audit", "x.jsonl", "tools", "list"]).expect_code(2);
    assert!(run.err.contains("--no-audit"), "{}", run.err);
}

#[test]
fn audit_fsync_takes_a_setting_and_refuses_anything_else_before_a_call() {
    let setup = Setup::new("");
    let call = |fsync: &str| {
        setup.cli(&[
            &format!("--audit-fsync={fsync}"),
            "tools",
            "call",
            "add",
            "--args",
            r#"{"a": 1, "b": 2}"#,
        ])
    };
    for bad in ["0", "always", "-3", ""] {
        let run = call(bad).expect_code(2);
        assert!(run.err.contains("--audit-fsync"), "{bad:?}: {}", run.err);
        assert!(
            run.err.contains("never"),
            "{bad:?}: says what is accepted: {}",
            run.err
        );
        assert_eq!(run.out, "", "{bad:?}: nothing was run");
        assert!(!Path::new(&setup.trail).exists(), "{bad:?}: no trail");
    }
    for good in ["never", "every-record", "10"] {
        assert_eq!(call(good).expect_code(0).out.trim(), "3", "{good}");
    }
    let records = records(&setup.trail);
    assert_eq!(
        records.len(),
        6,
        "a decision and a result per setting: {records:#?}"
    );
    let run = cli(&["--no-audit", "--audit-fsync", "never", "tools", "list"]).expect_code(2);
    assert!(run.err.contains("--no-audit"), "{}", run.err);
}
