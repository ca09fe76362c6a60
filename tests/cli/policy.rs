//! `policy check` and `policy explain`.

use std::path::Path;

use serde_json::{Value, json};

use super::{Setup, cli, scratch, utf8, write};

// ---- policy check ----

#[test]
fn policy_check_summarises_a_good_file() {
    let dir = scratch();
    let policy = write(
        dir.path(),
        "good.toml",
        "[tools]\nallow = [\"add\"]\ndeny = [\"path_*\"]\n\n[[examples]]\ntool = \"path_length\"\nargs = { points = [] }\nexpect = \"deny\"\n",
    );
    let run = cli(&["policy", "check", &policy]).expect_code(0);
    assert!(
        run.out
            .starts_with(&format!("{policy}: the policy loads\n")),
        "{}",
        run.out
    );
    assert!(run.out.contains("\n  tools allow: add\n"), "{}", run.out);
    assert!(run.out.contains("\n  tools deny: path_*\n"), "{}", run.out);
    assert!(run.out.ends_with("1 example passed\n"), "{}", run.out);

    let report = cli(&["policy", "check", &policy, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["examples"], 1);
    assert!(
        report["summary"]
            .as_array()
            .is_some_and(|lines| lines.contains(&json!("tools allow: add"))),
        "{report}"
    );

    // Without FILE, the global --policy is checked.
    let run = cli(&["--policy", &policy, "policy", "check"]).expect_code(0);
    assert!(run.out.contains("tools deny: path_*"), "{}", run.out);
}

#[test]
fn policy_check_names_the_line_of_a_failing_example() {
    let dir = scratch();
    let policy = write(
        dir.path(),
        "failing.toml",
        "[tools]\nallow = [\"add\"]\n\n[[examples]]\ntool = \"add\"\nargs = { a = 1, b = 2 }\nexpect = \"deny\"\n",
    );
    let run = cli(&["policy", "check", &policy]).expect_code(2);
    assert_eq!(run.out, "");
    assert!(
        run.err.starts_with(&format!("error: {policy}:5: ")),
        "{}",
        run.err
    );
    assert!(
        run.err.contains("expects deny but gets allow"),
        "{}",
        run.err
    );

    let report = cli(&["policy", "check", &policy, "--json"])
        .expect_code(2)
        .json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["line"], 5);
    assert_eq!(report["error"]["file"], policy.as_str());
}

#[test]
fn policy_check_refuses_an_unknown_key_with_its_line() {
    let dir = scratch();
    let policy = write(
        dir.path(),
        "typo.toml",
        "[tools]\nallow = [\"add\"]\nalow = [\"get_weather\"]\n",
    );
    let run = cli(&["policy", "check", &policy]).expect_code(2);
    assert!(
        run.err
            .contains(&format!("{policy}:3: unknown field `alow`")),
        "{}",
        run.err
    );
}

#[test]
fn policy_check_of_a_named_file_that_is_missing_exits_2() {
    let dir = scratch();
    let missing = utf8(&dir.path().join("missing.toml"));
    let run = cli(&["policy", "check", &missing]).expect_code(2);
    assert!(run.err.contains("cannot read the policy"), "{}", run.err);
}

// ---- policy explain ----

#[test]
fn policy_explain_shows_the_deciding_rule() {
    let setup = Setup::new("[tools]\nallow = [\"add\"]\ndeny = [\"path_*\"]\n");
    let run = setup
        .cli(&[
            "policy",
            "explain",
            "path_length",
            "--args",
            r#"{"points": []}"#,
        ])
        .expect_code(0);
    let mut lines = run.out.lines();
    assert_eq!(lines.next(), Some("verdict: deny"), "{}", run.out);
    assert_eq!(
        lines.next(),
        Some(format!("rule: tools.deny \"path_*\" ({}:3)", setup.policy).as_str()),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("reason: the policy denies `path_length`"),
        "{}",
        run.out
    );

    let explanation = setup
        .cli(&[
            "policy",
            "explain",
            "add",
            "--args",
            r#"{"a": 1, "b": 2}"#,
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(explanation["verdict"], "allow");
    assert!(
        explanation["decisions"][0]["rule"]
            .as_str()
            .is_some_and(|rule| rule.starts_with("tools.allow \"add\"")),
        "{explanation}"
    );
    assert_eq!(explanation["error"], Value::Null);
    assert!(
        !Path::new(&setup.trail).exists(),
        "explaining runs nothing and records nothing"
    );
}

#[cfg(unix)]
#[test]
fn policy_explain_of_cmd_run_names_the_proxy_for_programs_granted_hosts() {
    let setup = Setup::new(
        "[tools]\nallow = [\"cmd_run\"]\n[[programs]]\npath = \"/usr/bin/curl\"\nhosts = [\"example.com:443\"]\n",
    );
    let run = setup
        .cli(&[
            "policy",
            "explain",
            "cmd_run",
            "--args",
            r#"{"program": "/usr/bin/curl"}"#,
        ])
        .expect_code(0);
    assert!(
        run.out.contains("sandbox of the programs it starts:"),
        "{}",
        run.out
    );
    let network = run
        .out
        .lines()
        .find(|line| line.trim_start().starts_with("network:"))
        .unwrap_or_else(|| panic!("no network line: {}", run.out));
    assert!(network.contains("only the executor's proxy"), "{network}");
    assert!(network.contains("HTTPS_PROXY"), "{network}");
    assert!(!run.out.contains("host's network"), "{}", run.out);
    let check = setup.cli(&["policy", "check"]).expect_code(0);
    assert!(
        check
            .out
            .contains("/usr/bin/curl (reaches example.com:443 only, through the executor's proxy)"),
        "{}",
        check.out
    );
}

#[test]
fn policy_explain_judges_each_guarded_value() {
    let setup = Setup::new("");
    let explanation = setup
        .cli_with_stdin(
            &["policy", "explain", "fs_read", "--json"],
            &mut r#"{"path": "/etc/passwd"}"#.as_bytes(),
        )
        .expect_code(0)
        .json();
    assert_eq!(explanation["verdict"], "deny");
    let decisions = explanation["decisions"].as_array().expect("decisions");
    assert_eq!(
        decisions.len(),
        2,
        "the tool's rule, then the path: {explanation}"
    );
    assert_eq!(decisions[0]["verdict"], "allow");
    assert_eq!(decisions[1]["verdict"], "deny");
    assert!(
        decisions[1]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("/etc/passwd")),
        "{explanation}"
    );
}

#[test]
fn policy_explain_needs_a_known_tool_and_valid_arguments() {
    let setup = Setup::new("");
    let run = setup.cli(&["policy", "explain", "ad"]).expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.contains("did you mean `add`"), "{}", run.err);

    let run = setup
        .cli(&[
            "policy",
            "explain",
            "add",
            "--args",
            r#"{"a": "one"}"#,
            "--json",
        ])
        .expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.contains("cannot be judged"), "{}", run.err);
    assert!(run.err.contains("argument `a`"), "{}", run.err);
}

#[test]
fn warnings_of_a_policy_are_printed_by_check_and_by_call() {
    // An example for a tool this program does not link (and whose name is no
    // misspelling of one it does): the policy loads, and says so.
    let setup = Setup::new(
        "[[examples]]\ntool = \"weather_station_lookup\"\nargs = {}\nexpect = \"allow\"\n",
    );
    let checked = setup.cli(&["policy", "check"]).expect_code(0);
    assert!(
        checked.err.contains("weather_station_lookup") && checked.err.contains("rustchain.toml:2:"),
        "policy check names the example and its line: {}",
        checked.err
    );
    let called = setup
        .cli(&["tools", "call", "text_stats", "--args", r#"{"text": "a"}"#])
        .expect_code(0);
    assert!(
        called.err.starts_with("warning: ") && called.err.contains("weather_station_lookup"),
        "tools call warns too: {}",
        called.err
    );
}
