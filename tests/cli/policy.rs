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
    assert!(run.err.contains("cannot be judged"), "{}", run.err);
    assert!(run.err.contains("argument `a`"), "{}", run.err);
    // With --json a script reads an explanation on stdout: denied, no
    // decision, and why the call could not be judged.
    let unjudged = |answer: serde_json::Value, kind: &str, fragment: &str| {
        assert_eq!(answer["verdict"], "deny", "{answer}");
        assert_eq!(answer["decisions"], serde_json::json!([]), "{answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with(kind) && error.contains(fragment),
            "{answer}"
        );
    };
    unjudged(run.json(), "invalid_arguments", "argument `a`");
    let run = setup
        .cli(&["policy", "explain", "ad", "--json"])
        .expect_code(2);
    assert!(run.err.contains("did you mean `add`"), "{}", run.err);
    unjudged(run.json(), "not_found", "did you mean `add`");
    let run = setup
        .cli(&["policy", "explain", "add", "--args", "{not json", "--json"])
        .expect_code(2);
    unjudged(run.json(), "invalid_arguments", "");
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

// ---- a policy that does not load, for every `policy` command ----

#[test]
fn policy_explain_of_a_policy_that_does_not_load_answers_as_policy_check_does() {
    let setup = Setup::new("[tools]\nallow = [\"add\"]\nalow = [\"get_weather\"]\n");
    let args = ["policy", "explain", "add", "--args", r#"{"a": 1, "b": 2}"#];

    let run = setup.cli(&args).expect_code(2);
    assert_eq!(run.out, "");
    assert!(
        run.err
            .starts_with(&format!("error: {}:3: unknown field `alow`", setup.policy)),
        "{}",
        run.err
    );

    let explained = setup.cli(&[&args[..], &["--json"]].concat()).expect_code(2);
    assert_eq!(explained.err, "", "with --json, the error is on stdout");
    let explained = explained.json();
    assert_eq!(explained["ok"], false);
    assert_eq!(explained["error"]["kind"], "unknown_key");
    assert_eq!(explained["error"]["file"], setup.policy.as_str());
    assert_eq!(explained["error"]["line"], 3);
    assert!(
        explained["error"]["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("unknown field `alow`")),
        "{explained}"
    );
    // The very object `policy check --json` prints for the same file.
    let checked = setup
        .cli(&["policy", "check", "--json"])
        .expect_code(2)
        .json();
    assert_eq!(explained, checked);
}

#[test]
fn every_policy_command_with_json_reports_a_policy_that_does_not_load_on_stdout() {
    // A failing example is refused only once the linked tools are known; a
    // missing named file before anything is parsed: both paths, every command.
    let failing = Setup::new(
        "[tools]\nallow = [\"add\"]\n\n[[examples]]\ntool = \"add\"\nargs = { a = 1, b = 2 }\nexpect = \"deny\"\n",
    );
    let missing = utf8(&failing.dir.path().join("missing.toml"));
    for policy in [failing.policy.as_str(), missing.as_str()] {
        for command in [
            &["policy", "check"][..],
            &["policy", "explain", "add", "--args", r#"{"a": 1, "b": 2}"#],
        ] {
            let argv = [&["--no-audit", "--policy", policy, "--json"][..], command].concat();
            let run = cli(&argv).expect_code(2);
            assert_eq!(run.err, "", "{argv:?}");
            let report = run.json();
            assert_eq!(report["ok"], false, "{argv:?}: {report}");
            assert_eq!(report["error"]["file"], policy, "{argv:?}: {report}");
            let kind = report["error"]["kind"].as_str().unwrap_or_default();
            let expected = if policy == missing {
                "read"
            } else {
                "failing_example"
            };
            assert_eq!(kind, expected, "{argv:?}: {report}");
        }
    }
}

// ---- the summary: everything the file decides ----

#[test]
fn policy_check_summarises_every_table_the_file_sets() {
    let setup = Setup::new(
        r#"default = "deny"

[tools]
allow = ["add", "fs_read", "cmd_run"]
ask = ["fs_write"]
deny = ["path_*"]

[fs]
deny = ["secrets/**"]

[net]
allow = ["api.example.com"]
deny = ["10.0.0.0/8"]
http = true

[[programs]]
path = "/usr/bin/git"
deny_flags = ["-c", "--exec-path"]
allow_args = ["status", "log **"]

[env]
allow = ["LANG"]

[limits]
timeout = "30s"
max_argument_bytes = 4096
max_depth = 8
max_output_bytes = 65536
max_concurrent = 4
calls_per_session = 100
bytes_per_session = 1000000

[limits.tool.fs_read]
timeout = "5s"
rate = "10/min"
max_output_bytes = 1024

[approval]
timeout = "2m"

[audit]
record_args = ["add"]
redact = ["path"]
fsync = "every-record"

[discovery]
defer = true
always = ["add"]
"#,
    );
    let file = &setup.policy;
    let expected = [
        "unnamed tools: denied".to_owned(),
        "tools allow: add, fs_read, cmd_run".to_owned(),
        "tools ask: fs_write".to_owned(),
        "tools deny: path_*".to_owned(),
        "fs read: none".to_owned(),
        "fs write: none".to_owned(),
        format!("fs deny: fs.deny \"secrets/**\" ({file}:9)"),
        format!("net allow: net.allow \"api.example.com\" ({file}:12)"),
        format!("net deny: net.deny \"10.0.0.0/8\" ({file}:13)"),
        "net http: allowed to granted hosts".to_owned(),
        "programs: /usr/bin/git (allowed arguments: \"status\", \"log **\") (denied flags: -c, --exec-path) (no network)".to_owned(),
        "env: LANG".to_owned(),
        "limits: timeout 30s, max_argument_bytes 4096, max_depth 8, max_output_bytes 65536, max_concurrent 4, calls_per_session 100, bytes_per_session 1000000".to_owned(),
        "limits.tool.fs_read: timeout 5s, rate 10/min, max_output_bytes 1024".to_owned(),
        "approval timeout: 2m".to_owned(),
        "audit record_args: add".to_owned(),
        "audit redact: path".to_owned(),
        "audit fsync: at least every-record".to_owned(),
        "discovery defer: on".to_owned(),
        "discovery always: add".to_owned(),
        "examples: 0".to_owned(),
    ];

    let run = setup.cli(&["policy", "check"]).expect_code(0);
    let mut text = format!("{file}: the policy loads\n");
    for line in &expected {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str("0 examples passed\n");
    assert_eq!(run.out, text);

    let report = setup
        .cli(&["policy", "check", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["summary"], json!(expected), "{report}");
}

#[test]
fn policy_check_of_an_empty_file_shows_the_defaults_in_force() {
    let setup = Setup::new("");
    let report = setup
        .cli(&["policy", "check", "--json"])
        .expect_code(0)
        .json();
    let summary: Vec<&str> = report["summary"]
        .as_array()
        .expect("a summary")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for line in [
        "fs deny: none",
        "net deny: none",
        "net http: refused (https only)",
        "limits: timeout none, max_argument_bytes 1048576, max_depth 64, max_output_bytes 4194304, max_concurrent 64, calls_per_session unlimited, bytes_per_session unlimited",
        "approval timeout: 1m",
        "audit record_args: none",
        "audit redact: none",
        "discovery defer: off",
    ] {
        assert!(
            summary.contains(&line),
            "{line:?} missing from {summary:#?}"
        );
    }
    assert!(
        !summary.iter().any(|line| line.starts_with("limits.tool.")),
        "no [limits.tool.NAME] table, no line: {summary:#?}"
    );
}
