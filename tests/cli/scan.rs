//! `tools security-scan`: findings over the linked tools, the policy in use
//! and the lock file; exit status 7 at or above `--fail-on`.

use serde_json::Value;

use super::{cli, run::scratch, run::utf8, run::write};

fn scan_json(args: &[&str], code: u8) -> Value {
    let mut all = vec!["--json", "tools", "security-scan"];
    all.extend_from_slice(args);
    let run = cli(&all).expect_code(code);
    serde_json::from_str(&run.out).unwrap_or_else(|err| panic!("{err}: {run:#?}"))
}

#[test]
fn the_linked_tools_have_no_high_finding_and_low_ones_fail_when_asked() {
    let report = scan_json(&[], 0);
    assert_eq!(report["failed"], false);
    assert_eq!(report["fail_on"], "high");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        findings.iter().all(|f| f["severity"] != "high"),
        "{findings:#?}"
    );
    // http_request's `json` body is free-form: a low finding.
    assert!(
        findings
            .iter()
            .any(|f| f["tool"] == "http_request" && f["at"] == "json" && f["severity"] == "low"),
        "{findings:#?}"
    );
    let report = scan_json(&["--fail-on", "low"], 7);
    assert_eq!(report["failed"], true);
    // Only the tools named are scanned.
    let report = scan_json(&["add", "text_stats"], 0);
    assert_eq!(report["tools"].as_array().map(Vec::len), Some(2));
    let run = cli(&["tools", "security-scan", "no_such_tool"]).expect_code(2);
    assert!(run.err.contains("no_such_tool"), "{run:#?}");
}

#[test]
fn a_broad_policy_is_a_high_finding_that_fails_the_scan() {
    let dir = scratch();
    let policy = write(
        dir.path(),
        "broad.toml",
        "[fs]\nread = [\"/\"]\n\n[net]\nallow = [\"0.0.0.0/0\"]\n\n[[programs]]\npath = \"/bin/sh\"\n\n[env]\nallow = [\"LD_PRELOAD\"]\n",
    );
    let report = scan_json(&["--policy", &policy], 7);
    let sections: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "high" && f["tool"].is_null())
        .filter_map(|f| f["at"].as_str())
        .collect();
    for section in [
        "[fs] read",
        "[net] allow",
        "[programs] allow",
        "[env] allow",
    ] {
        assert!(sections.contains(&section), "{section}: {sections:?}");
    }
    assert_eq!(report["score"], 0);
    let run = cli(&["--policy", &policy, "tools", "security-scan"]).expect_code(7);
    assert!(run.out.contains("HIGH    policy [fs] read"), "{}", run.out);
    assert!(run.err.contains("failing"), "{run:#?}");
    // A policy that does not load is a usage error, not a clean scan.
    let bad = write(dir.path(), "bad.toml", "[fs]\nread = 3\n");
    cli(&["--policy", &bad, "tools", "security-scan"]).expect_code(2);
}

#[test]
fn a_definition_changed_since_the_lock_is_high() {
    let dir = scratch();
    let lock = utf8(&dir.path().join("rustchain.lock"));
    cli(&["tools", "lock", "--file", &lock]).expect_code(0);
    scan_json(&["--lock", &lock], 0);
    let text = std::fs::read_to_string(&lock).expect("the lock file");
    let edited = text.replace("[tools.add]", "[tools.add_old]");
    std::fs::write(&lock, edited).expect("edited");
    let report = scan_json(&["--lock", &lock], 7);
    let pinned: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == "pinning")
        .filter_map(|f| f["tool"].as_str())
        .collect();
    assert_eq!(pinned, ["add"]);
    let missing = utf8(&dir.path().join("none.lock"));
    cli(&["tools", "security-scan", "--lock", &missing]).expect_code(2);
}
