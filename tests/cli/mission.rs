//! `mission validate` and `mission execute`: every validation error named
//! with its file, line and step before anything runs; the DAG run through
//! the executor (denials, timeouts, failures skipping dependents,
//! fail_fast, cancellation) with `mission.id` and `mission.step` in the
//! audit trail; the dry run.

use std::sync::Arc;
use std::time::Duration;

use rustchain::mission::run::{self, StepStatus};
use rustchain::mission::{Mission, ProblemKind};
use rustchain::{CancellationToken, Executor, Registry, exec::MemoryAudit};
use serde_json::Value;

use super::{Setup, records, write};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/missions/weather_demo.yaml"
);

/// A setup with no grants (tools that declare no permissions run) and the mission `yaml` beside it.
fn with_mission(policy: &str, yaml: &str) -> (Setup, String) {
    let setup = Setup::new(policy);
    let file = write(setup.dir.path(), "mission.yaml", yaml);
    (setup, file)
}

fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id} in {report}"))
}

// ---- validation: every problem, with file, line and step, before anything runs ----

#[test]
fn the_quickstart_mission_is_valid() {
    let run = super::cli(&["--no-audit", "mission", "validate", EXAMPLE]).expect_code(0);
    assert!(
        run.out.contains("mission `tool_demo` (3 steps) is valid"),
        "{}",
        run.out
    );
}

#[test]
fn a_cycle_is_named_with_its_steps_and_nothing_runs() {
    let (setup, file) = with_mission(
        "",
        "version: 1\nname: loop\nsteps:\n  - id: a\n    tool: add\n    depends_on: [b]\n    args: {a: 1, b: 2}\n  - id: b\n    tool: add\n    depends_on: [a]\n    args: {a: 1, b: 2}\n",
    );
    let run = setup.cli(&["mission", "execute", &file]).expect_code(2);
    assert!(
        run.err.contains(&format!(
            "{file}:6: step `a`: the steps depend on each other in a circle: a -> b -> a"
        )),
        "{}",
        run.err
    );
    assert!(run.err.contains("nothing was run"), "{}", run.err);
    assert!(
        !std::path::Path::new(&setup.trail).exists(),
        "no call was made, so no trail"
    );
}

#[test]
fn a_reference_to_a_step_that_is_not_a_dependency_is_refused() {
    let (setup, file) = with_mission(
        "",
        "version: 1\nname: refs\nsteps:\n  - id: first\n    tool: text_stats\n    args: {text: hi}\n  - id: second\n    tool: text_stats\n    args:\n      text: \"${{ steps.first.output.words }}\"\n  - id: third\n    tool: text_stats\n    depends_on: [ghost]\n    args: {text: \"${{ vars.nope }}\"}\n",
    );
    let run = setup
        .cli(&["mission", "validate", &file, "--json"])
        .expect_code(2);
    let problems = run.json()["problems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |kind: &str| {
        problems
            .iter()
            .find(|p| p["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {problems:?}"))
            .clone()
    };
    let not_dep = find("not_a_dependency");
    assert_eq!(
        (not_dep["step"].as_str(), not_dep["line"].as_u64()),
        (Some("second"), Some(9))
    );
    assert!(
        not_dep["message"]
            .as_str()
            .unwrap_or_default()
            .contains("add `first` to `depends_on`")
    );
    let unknown = find("unknown_step");
    assert_eq!(
        (unknown["step"].as_str(), unknown["line"].as_u64()),
        (Some("third"), Some(13))
    );
    let var = find("bad_reference");
    assert!(
        var["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--var nope="),
        "{var}"
    );
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn unknown_tools_keys_and_missing_fields_are_all_reported_with_lines() {
    let (setup, file) = with_mission(
        "",
        "version: 1\nname: typos\nconfg: {}\nsteps:\n  - id: a\n    tool: get_wether\n    args: {city: Oslo}\n  - id: b\n    args: {}\n  - id: c\n    tool: add\n    dependson: [a]\n",
    );
    let run = setup.cli(&["mission", "validate", &file]).expect_code(2);
    assert!(
        run.err.contains(&format!(
            "{file}:3: unknown key `confg` in the mission (did you mean `config`?)"
        )),
        "{}",
        run.err
    );
    assert!(
        run.err
            .contains(&format!("{file}:8: step `b`: step `b` has no `tool`")),
        "{}",
        run.err
    );
    assert!(
        run.err
            .contains(&format!("{file}:12: step `c`: unknown key `dependson`")),
        "{}",
        run.err
    );
    // Shape problems stop before the tools are looked at; fix them and the tool is next.
    let fixed = "version: 1\nname: typos\nsteps:\n  - id: a\n    tool: get_wether\n    args: {city: Oslo}\n";
    let file = write(setup.dir.path(), "fixed.yaml", fixed);
    let run = setup.cli(&["mission", "validate", &file]).expect_code(2);
    assert!(
        run.err.contains(&format!("{file}:5: step `a`:")) && run.err.contains("get_weather"),
        "{}",
        run.err
    );
}

#[test]
fn arguments_that_fail_the_tools_schema_are_refused_before_the_run() {
    let (setup, file) = with_mission(
        "",
        "version: 1\nname: args\nvars: {n: seven}\nsteps:\n  - id: sum\n    tool: add\n    args:\n      a: ${{ vars.n }}\n      c: 1\n",
    );
    let run = setup.cli(&["mission", "execute", &file]).expect_code(2);
    for expected in [
        "`a` must be integer, not \"seven\"",
        "unknown argument `c`",
        "missing required argument `b`",
    ] {
        assert!(run.err.contains(expected), "{expected} in {}", run.err);
    }
    assert!(
        run.err
            .contains(&format!("{file}:7: step `sum`: arguments for `add`")),
        "{}",
        run.err
    );
    // The same file with a number for the variable passes.
    let run = setup
        .cli(&["mission", "validate", &file, "--var", "n=7"])
        .expect_code(2);
    assert!(!run.err.contains("must be integer"), "{}", run.err);
}

#[test]
fn a_file_that_is_not_yaml_or_not_there_is_a_problem_not_a_panic() {
    let (setup, file) = with_mission("", "version: 1\nname: [unclosed\nsteps: x\n");
    let run = setup.cli(&["mission", "validate", &file]).expect_code(2);
    assert!(run.err.contains("not valid YAML"), "{}", run.err);
    let run = setup
        .cli(&["mission", "validate", "/no/such/mission.yaml"])
        .expect_code(2);
    assert!(run.err.contains("cannot read the mission"), "{}", run.err);
    for garbage in [
        "",
        "- 1\n- 2",
        "steps: [1, 2]",
        "version: 1\nname: x\nsteps:\n  - id: [a]\n",
        "a: *b",
        "!!binary x",
        "steps:\n  - {id: a, tool: add, args: [1]}\n",
        "\u{feff}\t:",
    ] {
        assert!(Mission::parse(garbage, "g.yaml").is_err(), "{garbage:?}");
    }
}

// ---- execution ----

#[test]
fn the_quickstart_mission_runs_and_every_record_carries_the_mission_and_step() {
    let setup = Setup::new("");
    let run = setup
        .cli(&[
            "mission",
            "execute",
            EXAMPLE,
            "--var",
            "city=Bergen",
            "--json",
        ])
        .expect_code(0);
    let report = run.json();
    assert_eq!(report["ok"], true);
    assert_eq!(step(&report, "weather")["output"]["city"], "Bergen");
    // "It is 6 degrees in Bergen and 42.8 F in Lisbon." has 11 words.
    assert_eq!(step(&report, "sentence")["output"]["words"], 11, "{report}");
    let records = records(&setup.trail);
    assert_eq!(records.len(), 6, "a decision and a result per step");
    for record in &records {
        assert_eq!(record["mission.id"], "tool_demo", "{record}");
        assert_eq!(record["client.name"], "rustchain mission", "{record}");
    }
    let steps: Vec<&str> = records
        .iter()
        .filter_map(|r| r["mission.step"].as_str())
        .collect();
    for id in ["weather", "weather_other", "sentence"] {
        assert_eq!(
            steps.iter().filter(|s| **s == id).count(),
            2,
            "{id} in {steps:?}"
        );
    }
    // The progress lines went to stderr, the summary to stdout without --json.
    assert!(
        run.err.contains("succeeded  sentence (text_stats)"),
        "{}",
        run.err
    );
    let run = setup.cli(&["mission", "execute", EXAMPLE]).expect_code(0);
    assert!(
        run.out.contains("mission `tool_demo`: 3 succeeded in"),
        "{}",
        run.out
    );
}

#[test]
fn a_denied_step_fails_skips_its_dependents_and_the_denial_is_recorded_with_the_step() {
    let (setup, file) = with_mission(
        "[tools]\ndeny = [\"add\"]\n",
        "version: 1\nname: denied\nsteps:\n  - id: sum\n    tool: add\n    args: {a: 1, b: 2}\n  - id: after\n    tool: text_stats\n    depends_on: [sum]\n    args: {text: \"${{ steps.sum.output }}\"}\n  - id: apart\n    tool: text_stats\n    args: {text: free}\n",
    );
    let run = setup.cli(&["mission", "execute", &file]).expect_code(1);
    assert!(
        run.out.contains("\nsum: ") && run.out.contains("denied"),
        "{}",
        run.out
    );
    assert!(
        run.out
            .contains("\nafter: skipped: `sum` did not succeed\n"),
        "{}",
        run.out
    );
    let report = setup
        .cli(&["mission", "execute", &file, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["ok"], false);
    assert_eq!(step(&report, "sum")["status"], "failed");
    assert_eq!(step(&report, "sum")["error_type"], "denied");
    assert_eq!(step(&report, "after")["status"], "skipped");
    assert!(
        step(&report, "after")["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`sum` did not succeed")
    );
    assert_eq!(step(&report, "apart")["status"], "succeeded");
    let denial = records(&setup.trail)
        .into_iter()
        .find(|r| r["decision"] == "deny")
        .expect("the denial is recorded");
    assert_eq!(
        (
            denial["mission.id"].as_str(),
            denial["mission.step"].as_str()
        ),
        (Some("denied"), Some("sum"))
    );
}

#[test]
fn a_step_past_its_timeout_is_cancelled_and_recorded() {
    let (setup, file) = with_mission(
        "",
        "version: 1\nname: slow\nsteps:\n  - id: wait\n    tool: slow_echo\n    timeout: 100ms\n    args: {message: hi, delay_ms: 1500}\n  - id: next\n    tool: text_stats\n    depends_on: [wait]\n    args: {text: x}\n",
    );
    let started = std::time::Instant::now();
    let report = setup
        .cli(&["mission", "execute", &file, "--json"])
        .expect_code(1)
        .json();
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "the timeout cut the call short"
    );
    assert_eq!(step(&report, "wait")["status"], "timed_out", "{report}");
    assert_eq!(step(&report, "wait")["error_type"], "timeout");
    assert_eq!(step(&report, "next")["status"], "skipped");
    let result = records(&setup.trail)
        .into_iter()
        .find(|r| r["kind"] == "result" && r["mission.step"] == "wait")
        .expect("the cancelled call has its result record");
    assert_eq!(result["outcome"], "error", "{result}");
}

#[test]
fn a_failed_step_skips_its_dependents_unless_it_may_fail_and_when_can_skip() {
    let (setup, file) = with_mission(
        "",
        "version: 1\nname: failing\nvars: {go: false}\nsteps:\n  - id: bad\n    tool: get_weather\n    args: {city: \" \"}\n  - id: child\n    tool: text_stats\n    depends_on: [bad]\n    args: {text: x}\n  - id: grandchild\n    tool: text_stats\n    depends_on: [child]\n    args: {text: x}\n  - id: tolerant\n    tool: get_weather\n    continue_on_error: true\n    args: {city: \"\"}\n  - id: after_tolerant\n    tool: text_stats\n    depends_on: [tolerant]\n    args: {text: x}\n  - id: gated\n    tool: text_stats\n    when: ${{ vars.go }}\n    args: {text: x}\n",
    );
    let report = setup
        .cli(&["mission", "execute", &file, "--json"])
        .expect_code(1)
        .json();
    let status = |id| {
        step(&report, id)["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(status("bad"), "failed");
    assert!(
        step(&report, "bad")["message"]
            .as_str()
            .unwrap_or_default()
            .contains("the city is empty")
    );
    assert_eq!(status("child"), "skipped");
    assert_eq!(status("grandchild"), "skipped");
    assert_eq!(status("tolerant"), "failed");
    assert_eq!(status("after_tolerant"), "succeeded");
    assert_eq!(status("gated"), "skipped");
    // No call was made for a skipped step.
    let steps: Vec<String> = records(&setup.trail)
        .iter()
        .filter_map(|r| r["mission.step"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !steps.iter().any(|s| s == "child" || s == "gated"),
        "{steps:?}"
    );
}

#[test]
fn fail_fast_stops_the_steps_not_yet_started() {
    let (setup, file) = with_mission(
        "",
        "version: 1\nname: fast\nconfig: {max_parallel: 1, fail_fast: true}\nsteps:\n  - id: bad\n    tool: get_weather\n    args: {city: \"\"}\n  - id: other\n    tool: text_stats\n    args: {text: x}\n",
    );
    let report = setup
        .cli(&["mission", "execute", &file, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(step(&report, "bad")["status"], "failed");
    assert_eq!(step(&report, "other")["status"], "not_run", "{report}");
    // Without fail_fast the independent step runs.
    let file = write(
        setup.dir.path(),
        "slow.yaml",
        &std::fs::read_to_string(&file)
            .unwrap_or_default()
            .replace("fail_fast: true", "fail_fast: false"),
    );
    let report = setup
        .cli(&["mission", "execute", &file, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(step(&report, "other")["status"], "succeeded");
}

#[test]
fn independent_steps_run_at_once_up_to_max_parallel() {
    let yaml = |parallel| {
        format!(
            "version: 1\nname: par\nconfig: {{max_parallel: {parallel}}}\nsteps:\n  - id: a\n    tool: slow_echo\n    args: {{message: a, delay_ms: 500}}\n  - id: b\n    tool: slow_echo\n    args: {{message: b, delay_ms: 500}}\n  - id: c\n    tool: slow_echo\n    args: {{message: c, delay_ms: 500}}\n"
        )
    };
    let (setup, file) = with_mission("", &yaml(3));
    let started = std::time::Instant::now();
    setup.cli(&["mission", "execute", &file]).expect_code(0);
    let parallel = started.elapsed();
    let file = write(setup.dir.path(), "serial.yaml", &yaml(1));
    let started = std::time::Instant::now();
    setup.cli(&["mission", "execute", &file]).expect_code(0);
    let serial = started.elapsed();
    assert!(
        parallel < Duration::from_millis(1400),
        "three 500 ms steps at once: {parallel:?}"
    );
    assert!(
        serial >= Duration::from_millis(1500),
        "one at a time: {serial:?}"
    );
}

#[test]
fn the_dry_run_shows_verdicts_and_runs_nothing() {
    let setup = Setup::new("[tools]\ndeny = [\"text_*\"]\n");
    let run = setup
        .cli(&["mission", "execute", EXAMPLE, "--dry-run"])
        .expect_code(0);
    assert!(
        run.out
            .contains("wave 1  weather  get_weather {\"city\":\"Oslo\"}"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("wave 2  sentence  text_stats"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("policy: deny by tools.deny"),
        "{}",
        run.out
    );
    assert!(run.out.contains("note: the tool rule only"), "{}", run.out);
    let json = setup
        .cli(&["mission", "execute", EXAMPLE, "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(json["steps"][0]["verdict"], "allow", "{json}");
    assert!(
        !std::path::Path::new(&setup.trail).exists(),
        "a dry run records nothing"
    );
}

/// Cancelling a run (what Ctrl-C does) cancels its running calls, which are
/// still recorded, and starts nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_cancels_its_running_steps_and_records_them() {
    let yaml = "version: 1\nname: cancel\nsteps:\n  - id: wait\n    tool: slow_echo\n    args: {message: hi, delay_ms: 1800}\n  - id: then\n    tool: text_stats\n    depends_on: [wait]\n    args: {text: x}\n";
    let mission = Mission::parse(yaml, "cancel.yaml").expect("a valid mission");
    mission.validate(Registry::global()).expect("valid");
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .audit(audit.clone())
        .build()
        .expect("an executor");
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        canceller.cancel();
    });
    let started = std::time::Instant::now();
    let report = run::run(&executor, &mission, cancel, &|_| {}).await;
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(report.cancelled && !report.ok);
    assert_eq!(report.steps[0].status, StepStatus::Cancelled, "{report:?}");
    assert_eq!(report.steps[1].status, StepStatus::Cancelled);
    let events = audit.events();
    let result = events
        .iter()
        .find(|e| e["kind"] == "result")
        .expect("the cancelled call is recorded");
    // `cancelled` from the executor, or `failed` when slow_echo's own
    // watch on its cancellation answers first.
    assert!(
        result["error.type"] == "cancelled" || result["error.type"] == "failed",
        "{result}"
    );
    assert_eq!(result["mission.step"], "wait");
    assert_eq!(events.len(), 2, "nothing more started: {events:?}");
}

#[test]
fn problems_carry_a_kind_callers_can_match() {
    let err =
        Mission::parse("version: 2\nname: x\nsteps: []\n", "k.yaml").expect_err("two problems");
    let kinds: Vec<ProblemKind> = err.problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [ProblemKind::InvalidValue, ProblemKind::InvalidValue]
    );
    assert_eq!(err.problems[0].line, 1);
}

#[test]
fn a_missions_own_policy_applies_unless_one_is_named() {
    let (setup, _) = with_mission("", "");
    write(
        setup.dir.path(),
        "strict.toml",
        "[tools]\ndeny = [\"text_*\"]\n",
    );
    let file = write(
        setup.dir.path(),
        "own.yaml",
        "version: 1\nname: own\npolicy: strict.toml\nsteps:\n  - id: count\n    tool: text_stats\n    args: {text: x}\n",
    );
    let trail = setup.trail.as_str();
    let report = super::cli(&["--audit", trail, "mission", "execute", &file, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(step(&report, "count")["error_type"], "denied", "{report}");
    // A policy named on the command line wins over the mission's.
    let report = setup
        .cli(&["mission", "execute", &file, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(step(&report, "count")["status"], "succeeded");
}

#[test]
fn fail_fast_cancels_the_steps_still_running() {
    let (setup, file) = with_mission(
        "",
        "version: 1\nname: fast\nconfig: {max_parallel: 2, fail_fast: true}\nsteps:\n  - id: slow\n    tool: slow_echo\n    args: {message: hi, delay_ms: 1800}\n  - id: bad\n    tool: get_weather\n    args: {city: \"\"}\n",
    );
    let started = std::time::Instant::now();
    let report = setup
        .cli(&["mission", "execute", &file, "--json"])
        .expect_code(1)
        .json();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the slow step was cut short"
    );
    assert_eq!(step(&report, "bad")["status"], "failed");
    assert_eq!(step(&report, "slow")["status"], "cancelled", "{report}");
    let result = records(&setup.trail)
        .into_iter()
        .find(|r| r["kind"] == "result" && r["mission.step"] == "slow")
        .expect("the cancelled call is recorded");
    // `cancelled` from the executor, or `failed` when slow_echo's own
    // watch on its cancellation answers first.
    assert!(
        result["error.type"] == "cancelled" || result["error.type"] == "failed",
        "{result}"
    );
}

#[test]
fn audit_report_mission_keeps_the_calls_of_that_mission() {
    let setup = Setup::new("");
    setup.cli(&["mission", "execute", EXAMPLE]).expect_code(0);
    setup
        .cli(&["tools", "call", "add", "--args", r#"{"a": 1, "b": 2}"#])
        .expect_code(0);
    let trail = setup.trail.as_str();
    let all = super::cli(&["audit", "report", trail, "--json"]).expect_code(0);
    assert!(all.out.contains("\"add\""), "{}", all.out);
    let only =
        super::cli(&["audit", "report", trail, "--mission", "tool_demo", "--json"]).expect_code(0);
    assert!(
        only.out.contains("get_weather") && only.out.contains("text_stats"),
        "{}",
        only.out
    );
    assert!(
        !only.out.contains("\"add\""),
        "the call outside the mission is left out: {}",
        only.out
    );
}

#[test]
fn each_run_has_its_own_id_in_the_report_and_the_trail_and_audit_report_tells_runs_apart() {
    let setup = Setup::new("");
    let execute = || {
        let run = setup
            .cli(&["mission", "execute", EXAMPLE, "--json"])
            .expect_code(0);
        let id = run.json()["run_id"]
            .as_str()
            .expect("the report names its run")
            .to_owned();
        let parsed = uuid::Uuid::parse_str(&id).expect("the run id is a UUID");
        assert_eq!(parsed.get_version_num(), 7, "{id}");
        id
    };
    let (first, second) = (execute(), execute());
    assert_ne!(first, second);
    let records = records(&setup.trail);
    assert_eq!(
        records.len(),
        12,
        "two runs of three steps, two records each"
    );
    for (records, id) in [(&records[..6], &first), (&records[6..], &second)] {
        for record in records {
            assert_eq!(record["mission.run_id"], id.as_str(), "{record}");
            assert_eq!(record["mission.id"], "tool_demo", "{record}");
        }
    }
    let trail = setup.trail.as_str();
    let calls = |mission: &str| {
        let run = super::cli(&["audit", "report", trail, "--mission", mission, "--json"])
            .expect_code(0)
            .json();
        let tool = run["tools"]
            .as_array()
            .and_then(|tools| tools.iter().find(|t| t["tool"] == "text_stats"))
            .cloned()
            .unwrap_or_else(|| panic!("text_stats in {run}"));
        tool["calls"].as_u64().expect("a count of calls")
    };
    assert_eq!(calls("tool_demo"), 2, "the mission's name: every run");
    assert_eq!(calls(&first), 1, "a run's id: that run alone");
    assert_eq!(calls(&second), 1);
}
