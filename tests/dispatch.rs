//! Calling tools by name with JSON arguments: decoding, errors, async, timeouts.

use my_tools as _;
use std::path::Path;

use rustchain::{ErrorKind, Executor, Policy, Registry, ToolContext, ToolError, tool};
use rustchain_builtin as _;

fn call(name: &str, args: &str) -> Result<serde_json::Value, ToolError> {
    Executor::new(Registry::global())
        .call_blocking(name, args, ToolContext::new())
        .map(|out| out.to_value())
}

fn invalid(name: &str, args: &str) -> ToolError {
    let err = call(name, args).expect_err("the call should be refused");
    assert_eq!(err.kind(), ErrorKind::InvalidArguments, "{err}");
    err
}

#[test]
fn a_sync_tool_returns_its_value_as_json() {
    assert_eq!(call("add", r#"{"a": 2, "b": 40}"#).unwrap(), 42);
    // Argument order in the object does not matter.
    assert_eq!(call("add", r#"{"b": 1, "a": -3}"#).unwrap(), -2);
}

#[test]
fn structs_enums_and_options_decode_from_the_text() {
    let report = call("get_weather", r#"{"city": "Oslo", "units": "fahrenheit"}"#).unwrap();
    assert_eq!(report["city"], "Oslo");
    assert_eq!(report["units"], "fahrenheit");
    assert_eq!(report["temperature"], 39.2);

    let length = call(
        "path_length",
        r#"{"points": [{"x": 0, "y": 0}, {"x": 3, "y": 4}]}"#,
    )
    .unwrap();
    assert_eq!(length, 5.0);
}

#[test]
fn an_absent_optional_argument_is_none_and_null_is_none_too() {
    assert_eq!(
        call("get_weather", r#"{"city": "Oslo"}"#).unwrap()["units"],
        "celsius"
    );
    assert_eq!(
        call("get_weather", r#"{"city": "Oslo", "units": null}"#).unwrap()["units"],
        "celsius"
    );
}

/// Refuses every call, the way a tool that confines itself does.
#[tool]
fn refuses(
    /// What to say.
    why: String,
) -> Result<u32, ToolError> {
    Err(ToolError::new(ErrorKind::Denied, why))
}

/// The runtime's error under another name.
type Refusal = rustchain::ToolError;

/// Refuses every call through an alias of the runtime's error.
#[tool]
fn refuses_by_alias(
    /// What to say.
    why: String,
) -> Result<u32, Refusal> {
    Err(ToolError::new(ErrorKind::Timeout, why))
}

/// A tool crate's own error type that happens to be called `ToolError`.
mod own {
    use rustchain::tool;

    /// Not the runtime's: only its message reaches the caller.
    #[derive(Debug)]
    pub struct ToolError(pub String);

    impl std::fmt::Display for ToolError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "own error: {}", self.0)
        }
    }

    /// Fails with the crate's own `ToolError`.
    #[tool]
    pub fn fails_with_own_error(
        /// What to say.
        why: String,
    ) -> Result<u32, ToolError> {
        Err(ToolError(why))
    }
}

/// Named like a generated helper, to prove the names cannot collide.
#[tool]
fn input_schema(
    /// A number to echo.
    n: u32,
) -> u32 {
    n
}

#[test]
fn a_tool_may_have_the_name_of_a_generated_helper() {
    assert_eq!(call("input_schema", r#"{"n": 7}"#).unwrap(), 7);
}

#[tokio::test]
async fn a_call_dropped_by_its_caller_still_leaves_its_result_record() {
    let audit = std::sync::Arc::new(rustchain::exec::MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .audit(audit.clone())
        .build()
        .unwrap();
    let args = r#"{"message": "hi", "delay_ms": 60000}"#;
    let call = executor.call("slow_echo", args, ToolContext::new());
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(50), call)
            .await
            .is_err()
    );
    let events = audit.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["decision", "result"], "{events:#?}");
    assert_eq!(events[1]["error.type"], "cancelled");
}

#[test]
fn unknown_tool_names_share_one_metrics_entry() {
    let executor = Executor::new(Registry::global());
    for name in ["nope1", "nope2", "nope3"] {
        assert!(
            executor
                .call_blocking(name, "{}", ToolContext::new())
                .is_err()
        );
    }
    let metrics = executor.metrics();
    assert_eq!(metrics.len(), 1, "{metrics:?}");
    assert_eq!(metrics["<unknown>"].calls, 3);
}

#[test]
fn a_very_long_unknown_name_gets_no_costly_suggestion() {
    let name = "x".repeat(100_000);
    let err = call(&name, "{}").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().len() < 1_000, "the name is shown bounded");
}

#[test]
fn a_tool_returning_a_tool_error_keeps_its_kind() {
    let err = call("refuses", r#"{"why": "outside the root"}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_eq!(err.message(), "outside the root");
}

#[test]
fn the_runtimes_error_keeps_its_kind_under_an_alias_and_an_own_type_named_alike_is_failed() {
    let err = call("refuses_by_alias", r#"{"why": "too slow"}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.message(), "too slow");
    let err = call("fails_with_own_error", r#"{"why": "no"}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Failed, "{err}");
    assert_eq!(err.message(), "own error: no");
}

#[test]
fn a_tool_error_is_a_failed_call_with_the_tools_message() {
    let err = call("get_weather", r#"{"city": "  "}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Failed);
    assert!(err.message().contains("the city is empty"), "{err}");
}

#[test]
fn an_unknown_tool_is_not_found_with_a_hint() {
    let err = call("ad", "{}").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("did you mean `add`"), "{err}");
}

#[test]
fn unknown_arguments_are_refused_naming_the_real_ones() {
    let err = invalid("add", r#"{"a": 1, "b": 2, "c": 3}"#);
    assert!(err.message().contains("unknown argument `c`"), "{err}");
    assert_eq!(err.path(), Some("c"));
    assert!(err.message().contains("`a`, `b`"), "{err}");
}

#[test]
fn unknown_fields_inside_a_struct_are_refused_with_their_path() {
    let err = invalid(
        "path_length",
        r#"{"points": [{"x": 0, "y": 0}, {"x": 1, "y": 1, "z": 9}]}"#,
    );
    assert_eq!(err.path(), Some("points[1].z"), "{err}");
}

#[test]
fn a_wrong_type_deep_inside_an_argument_is_refused_with_its_path() {
    // The decoder tracks no path on its first pass; a failure is decoded
    // again, tracking, so the path is still exact.
    let err = invalid(
        "path_length",
        r#"{"points": [{"x": 0, "y": 0}, {"x": 1, "y": "one"}]}"#,
    );
    assert_eq!(err.path(), Some("points[1].y"), "{err}");
    assert!(err.message().contains("argument `points[1].y`"), "{err}");
    let err = invalid("path_length", r#"{"points": [{"x": 0, "y": 0}, {"x": 1}]}"#);
    assert_eq!(err.path(), Some("points[1]"), "{err}");
    assert!(err.message().contains("missing field `y`"), "{err}");
}

#[test]
fn a_duplicate_key_is_refused_not_last_one_wins() {
    let err = invalid("get_weather", r#"{"city": "Oslo", "city": "../x"}"#);
    assert_eq!(err.path(), Some("city"));
    assert!(err.message().contains("more than once"), "{err}");
}

#[test]
fn a_missing_required_argument_is_named_with_its_description() {
    let err = invalid("add", r#"{"a": 1}"#);
    assert_eq!(err.path(), Some("b"));
    assert!(
        err.message().contains("missing required argument `b`"),
        "{err}"
    );
    assert!(err.message().contains("The second addend."), "{err}");
}

#[test]
fn wrong_types_are_refused_with_path_and_expectation() {
    let err = invalid("add", r#"{"a": "10", "b": 2}"#);
    assert_eq!(err.path(), Some("a"));
    assert!(err.message().contains("expected i64"), "{err}");

    let err = invalid("add", r#"{"a": 1.0, "b": 2}"#);
    assert_eq!(err.path(), Some("a"));

    let err = invalid("add", r#"{"a": 1e400, "b": 2}"#);
    assert_eq!(err.path(), Some("a"));

    let err = invalid("get_weather", r#"{"city": "Oslo", "units": "kelvin"}"#);
    assert_eq!(err.path(), Some("units"));
    assert!(err.message().contains("celsius"), "{err}");
}

#[test]
fn text_that_is_not_an_object_is_refused() {
    for args in [
        "[1, 2]",
        "42",
        "\"a\"",
        "{",
        r#"{"a": 1, "b": 2} trailing"#,
        "{\"a\": 1,}",
    ] {
        let err = invalid("add", args);
        assert!(!err.message().is_empty());
    }
}

#[test]
fn text_that_is_not_json_says_so_with_the_position() {
    for (args, position) in [
        ("{", "line 1 column 1"),
        (r#"{"a": 1,}"#, "line 1 column 9"),
        (r#"{"a": tru}"#, "line 1 column"),
        ("{\n  \"a\": 1\n  \"b\": 2}", "line 3 column"),
        (r#"{"a": 1, "b": 2} trailing"#, "line 1 column 18"),
        ("hello", "line 1 column 1"),
    ] {
        let err = invalid("add", args);
        assert!(err.message().contains("not valid JSON"), "{args}: {err}");
        assert!(err.message().contains(position), "{args}: {err}");
    }
    // Valid JSON of the wrong shape is a different message.
    let err = invalid("add", "[1, 2]");
    assert!(!err.message().contains("not valid JSON"), "{err}");
}

/// No `Deserialize`, no `JsonSchema`, no guard: no tool may take it.
struct Unfit;

#[test]
#[allow(
    clippy::needless_borrow,
    unused_imports,
    reason = "the borrow and the imports are the dispatch under test, written as #[tool] writes them (a tuple of flat types decodes through an inherent method, not `DecodeParams`)"
)]
fn the_fallbacks_behind_one_error_per_mistake_run_no_tool_body() {
    use rustchain::__private::{
        DecodeParams as _, Finish, GuardCheck as _, GuardProbe, GuardRefused as _, ParamsOf,
        RefuseParams as _, finish,
    };
    use rustchain::{ParamInfo, ToolOutput};
    fn encode_u32(value: u32) -> Result<ToolOutput, ToolError> {
        ToolOutput::encode(&value)
    }
    static PARAMS: [ParamInfo; 1] = [ParamInfo {
        name: "x",
        description: "A value.",
        required: true,
    }];

    // A tuple the decoder cannot build: an error, never a value.
    let unfit = ParamsOf::<(Unfit,)>::NEW;
    let decoded = (&unfit).decode(r#"{"x": 1}"#, &PARAMS);
    let err = decoded.err().expect("the fallback decodes nothing");
    assert!(err.message().contains("internal error"), "{err}");
    assert_eq!((&unfit).input_schema(&PARAMS).as_value(), &false);
    // A tuple it can build goes to the real decoder.
    let (x,) = (&ParamsOf::<(u32,)>::NEW)
        .decode(r#"{"x": 7}"#, &PARAMS)
        .unwrap();
    assert_eq!(x, 7);
    // The same for a whole sync call through the shared driver: the
    // fallback calls nothing, the real one decodes and calls.
    fn never(_: Unfit) -> u32 {
        panic!("a tool body ran through the fallback")
    }
    let finish = |encode| Finish {
        finish: finish::value,
        encode,
    };
    let ctx = ToolContext::new();
    let (unfit_call, unfit_encode) = (never as fn(_) -> _, encode_u32 as fn(u32) -> _);
    let refused = (&unfit).call_sync(
        &ctx,
        r#"{"x": 1}"#,
        &PARAMS,
        None,
        unfit_call,
        finish(unfit_encode),
    );
    assert!(refused.unwrap_err().message().contains("internal error"));
    let doubled = (&ParamsOf::<(u32,)>::NEW)
        .call_sync(
            &ctx,
            r#"{"x": 7}"#,
            &PARAMS,
            None,
            (|x| x * 2) as fn(u32) -> u32,
            finish(encode_u32),
        )
        .unwrap();
    assert_eq!(doubled.as_json(), "14");

    // A value no guard can check: denied, whatever it holds.
    let value = Unfit;
    let mut checked = Vec::new();
    let err = (&GuardProbe(&value))
        .guard_value()
        .each_value(&mut |text| {
            checked.push(text.to_owned());
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(checked.is_empty());
    // A path is checked as itself.
    let path = std::path::PathBuf::from("/data/a.txt");
    (&GuardProbe(&path))
        .guard_value()
        .each_value(&mut |text| {
            checked.push(text.to_owned());
            Ok(())
        })
        .unwrap();
    assert_eq!(checked, ["/data/a.txt"]);
}

#[test]
fn empty_text_and_null_mean_no_arguments() {
    assert!(call("time_now", "").unwrap().as_u64().unwrap() > 1_600_000_000_000);
    assert!(call("time_now", "null").unwrap().is_u64());
    assert!(call("time_now", "{}").unwrap().is_u64());
    let err = invalid("time_now", r#"{"x": 1}"#);
    assert!(err.message().contains("takes no arguments"), "{err}");
}

#[test]
fn oversized_or_deeply_nested_text_is_refused_before_parsing() {
    let policy = Policy::from_toml(
        "[limits]\nmax_argument_bytes = 64\nmax_depth = 8\n",
        "<test>",
        Path::new("."),
    )
    .unwrap();
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .build()
        .unwrap();
    let long = format!(r#"{{"text": "{}"}}"#, "x".repeat(100));
    let err = executor
        .call_blocking("text_stats", &long, ToolContext::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArguments);
    assert!(
        err.message().contains("over the limit of 64 bytes"),
        "{err}"
    );
    // "More than", not the length: a reader that stops one byte past the
    // limit (the CLI's stdin) would otherwise report the cap plus one.
    assert!(err.message().contains("more than 64 bytes"), "{err}");
    let one_over = format!(r#"{{"text": "{}"}}"#, "x".repeat(64 - 12 + 1));
    assert_eq!(one_over.len(), 65);
    let err = executor
        .call_blocking("text_stats", &one_over, ToolContext::new())
        .unwrap_err();
    assert!(err.message().contains("more than 64 bytes"), "{err}");
    assert!(!err.message().contains("65"), "{err}");

    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let err = Executor::new(Registry::global())
        .call_blocking("text_stats", &deep, ToolContext::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArguments);
    assert!(err.message().contains("nested more than"), "{err}");

    // Brackets inside strings do not count as nesting.
    let brackets = format!(r#"{{"text": "{}"}}"#, "[".repeat(100));
    assert_eq!(call("text_stats", &brackets).unwrap()["chars"], 100);
}

#[test]
fn an_async_tool_runs_from_blocking_code() {
    let out = call("slow_echo", r#"{"message": "hi", "delay_ms": 1}"#).unwrap();
    assert_eq!(out, "hi");
}

#[tokio::test]
async fn an_async_tool_runs_on_tokio() {
    let out = Executor::new(Registry::global())
        .call(
            "slow_echo",
            r#"{"message": "hi", "delay_ms": 1}"#,
            ToolContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.as_json(), "\"hi\"");
}

#[tokio::test]
async fn a_tool_past_its_timeout_is_stopped_with_a_timeout_error() {
    // slow_echo declares timeout = "2s".
    let err = Executor::new(Registry::global())
        .call(
            "slow_echo",
            r#"{"message": "hi", "delay_ms": 60000}"#,
            ToolContext::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("2s"), "{err}");
}

#[tokio::test]
async fn cancelling_the_callers_token_cancels_the_call() {
    let token = rustchain::CancellationToken::new();
    let ctx = ToolContext::new().with_cancellation(token.clone());
    let executor = Executor::new(Registry::global());
    let call = executor.call("slow_echo", r#"{"message": "hi", "delay_ms": 60000}"#, ctx);
    let cancel = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        token.cancel();
    };
    let (result, ()) = tokio::join!(call, cancel);
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Cancelled);
}

#[tokio::test]
async fn a_blocking_call_inside_a_runtime_does_not_deadlock() {
    let out = Executor::new(Registry::global())
        .call_blocking(
            "slow_echo",
            r#"{"message": "hi", "delay_ms": 1}"#,
            ToolContext::new(),
        )
        .unwrap();
    assert_eq!(out.as_json(), "\"hi\"");
}

#[test]
fn parsed_arguments_are_accepted_too() {
    let out = Executor::new(Registry::global())
        .call_value_blocking(
            "add",
            &serde_json::json!({"a": 1, "b": 1}),
            ToolContext::new(),
        )
        .unwrap();
    assert_eq!(out.as_json(), "2");
}

/// Sleeps in steps of a millisecond, stopping early when its context says so;
/// reports the thread it ran on.
#[tool(timeout = "40ms")]
fn patient_sleeper(
    ctx: &ToolContext,
    /// How long, in milliseconds.
    ms: u64,
    /// Whether to stop when the context is cancelled.
    cooperative: bool,
) -> String {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(ms) {
        if cooperative && ctx.is_cancelled() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    format!("{:?}", std::thread::current().id())
}

#[test]
fn a_sync_tool_with_a_timeout_runs_on_the_callers_thread_and_finishes_in_time() {
    let out = Executor::new(Registry::global())
        .call_blocking(
            "patient_sleeper",
            r#"{"ms": 1, "cooperative": false}"#,
            ToolContext::new(),
        )
        .expect("a quick call is within its 40ms");
    let here = format!("{:?}", std::thread::current().id());
    assert_eq!(out.as_json(), serde_json::to_string(&here).unwrap());
}

#[test]
fn a_sync_tool_that_overruns_its_timeout_gets_a_timeout_error_and_sees_the_deadline() {
    let executor = Executor::new(Registry::global());
    // A tool that looks at its context stops at the deadline.
    let started = std::time::Instant::now();
    let err = executor
        .call_blocking(
            "patient_sleeper",
            r#"{"ms": 5000, "cooperative": true}"#,
            ToolContext::new(),
        )
        .expect_err("past its deadline");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("40ms"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // One that does not look keeps the thread until it returns; its result
    // is still refused.
    let started = std::time::Instant::now();
    let err = executor
        .call_blocking(
            "patient_sleeper",
            r#"{"ms": 120, "cooperative": false}"#,
            ToolContext::new(),
        )
        .expect_err("past its deadline");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(120));
}

/// Keeps a clone of its context past the call, as a tool that hands its
/// context to a background thread does. Its timeout is short enough to be
/// kept on the precise clock (D-63), so each call's deadline is its own.
#[tool(timeout = "50ms")]
fn keeps_its_context(
    ctx: &ToolContext,
    /// What to return.
    n: u32,
) -> u32 {
    KEPT.lock().unwrap().push(ctx.clone());
    n
}

static KEPT: std::sync::Mutex<Vec<ToolContext>> = std::sync::Mutex::new(Vec::new());

#[test]
fn a_context_kept_past_its_call_stays_that_calls_and_is_not_reused() {
    let executor = Executor::new(Registry::global());
    let call = |n: u32| {
        executor
            .call_blocking(
                "keeps_its_context",
                &format!(r#"{{"n": {n}}}"#),
                ToolContext::new(),
            )
            .map(|out| out.as_json().to_owned())
    };
    assert_eq!(call(1).unwrap(), "1");
    let first_deadline = KEPT.lock().unwrap()[0].deadline();
    assert!(
        first_deadline.is_some(),
        "the tool's timeout set a deadline"
    );
    // Calls in between (of this and other tools) must not take over the
    // gate the kept context still points at.
    for n in 2..5 {
        assert_eq!(call(n).unwrap(), n.to_string());
        assert_eq!(
            executor
                .call_blocking("input_schema", r#"{"n": 9}"#, ToolContext::new())
                .unwrap()
                .as_json(),
            "9"
        );
    }
    let kept = KEPT.lock().unwrap();
    assert_eq!(kept.len(), 4);
    assert_eq!(
        kept[0].deadline(),
        first_deadline,
        "the first call's context still sees its own call's deadline"
    );
    // Its call is over: a late guard check is refused, not taken as the
    // check of some later call.
    let late = kept[0].__check(&[]).unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Cancelled);
    let deadlines: std::collections::BTreeSet<_> = kept.iter().map(|ctx| ctx.deadline()).collect();
    assert_eq!(deadlines.len(), 4, "each call had its own gate");
}

#[test]
fn the_last_clone_of_an_executor_lets_go_of_its_session_and_spare_gate() {
    // The audit sink is held by the session only: its count says whether
    // the session (which the spare gate holds too) was dropped.
    let audit = std::sync::Arc::new(rustchain::exec::MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .audit(audit.clone())
        .build()
        .expect("no policy to check");
    let clone = executor.clone();
    for executor in [&executor, &clone] {
        executor
            .call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new())
            .expect("add runs");
    }
    assert_eq!(
        std::sync::Arc::strong_count(&audit),
        2,
        "the session holds it"
    );
    drop(executor);
    clone
        .call_blocking("add", r#"{"a": 3, "b": 4}"#, ToolContext::new())
        .expect("a clone still runs calls");
    assert_eq!(
        std::sync::Arc::strong_count(&audit),
        2,
        "a clone keeps the session"
    );
    drop(clone);
    assert_eq!(
        std::sync::Arc::strong_count(&audit),
        1,
        "the spare gate kept the session alive"
    );
}

/// Keeps a clone of its context, and has no timeout and no guards: its
/// call goes from open to allowed in one step.
#[tool]
fn keeps_a_plain_context(
    ctx: &ToolContext,
    /// What to return.
    n: u32,
) -> u32 {
    *KEPT_PLAIN.lock().unwrap() = Some(ctx.clone());
    n
}

static KEPT_PLAIN: std::sync::Mutex<Option<ToolContext>> = std::sync::Mutex::new(None);

#[test]
fn a_context_kept_past_its_call_cannot_check_and_proceed_again() {
    let executor = Executor::new(Registry::global());
    executor
        .call_blocking("keeps_a_plain_context", r#"{"n": 7}"#, ToolContext::new())
        .expect("the call runs");
    let kept = KEPT_PLAIN
        .lock()
        .unwrap()
        .take()
        .expect("the tool kept its context");
    let late = kept.__check_and_proceed(&[]).unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Cancelled, "{late}");
    // The executor's next call gets a gate of its own, and runs.
    executor
        .call_blocking("keeps_a_plain_context", r#"{"n": 8}"#, ToolContext::new())
        .expect("the next call runs");
}

/// One executor, one spare gate, calls of tools with different standings in
/// turn: each call is judged by its own tool's guards and limits, never by
/// those of the tool the reused gate served last (D-54).
#[test]
fn calls_of_different_tools_in_turn_each_get_their_own_tools_standing() {
    let executor = Executor::new(Registry::global());
    for _ in 0..3 {
        let sum = executor
            .call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new())
            .expect("a plain call runs");
        assert_eq!(sum.as_json(), "3");
        // Under no policy a declared path is refused, whichever gate checks it.
        let refused = executor
            .call_blocking("read_note", r#"{"path": "Cargo.toml"}"#, ToolContext::new())
            .expect_err("no policy grants a path");
        assert_eq!(refused.kind(), ErrorKind::Denied, "{refused}");
        // The 40ms timeout is this tool's own, and fires on the caller's thread.
        let late = executor
            .call_blocking(
                "patient_sleeper",
                r#"{"ms": 80, "cooperative": false}"#,
                ToolContext::new(),
            )
            .expect_err("past its timeout");
        assert_eq!(late.kind(), ErrorKind::Timeout, "{late}");
        let quick = executor
            .call_blocking(
                "patient_sleeper",
                r#"{"ms": 1, "cooperative": false}"#,
                ToolContext::new(),
            )
            .expect("within its timeout");
        let here = format!("{:?}", std::thread::current().id());
        assert_eq!(quick.as_json(), serde_json::to_string(&here).unwrap());
    }
    let metrics = executor.metrics();
    assert_eq!((metrics["add"].calls, metrics["add"].ok), (3, 3));
    assert_eq!(
        (metrics["read_note"].calls, metrics["read_note"].denied),
        (3, 3)
    );
    let sleeper = &metrics["patient_sleeper"];
    assert_eq!((sleeper.calls, sleeper.ok), (6, 3));
    assert_eq!(sleeper.errors.get("timeout"), Some(&3));
}

/// A plain call (no approval, limits or trail) is still counted, from any
/// thread, once per call: the metrics are public, and no path skips them.
#[test]
fn plain_calls_are_counted_from_every_thread() {
    let executor = Executor::new(Registry::global());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..50 {
                    executor
                        .call_blocking("add", r#"{"a": 1, "b": 2}"#, ToolContext::new())
                        .expect("a plain call runs");
                }
            });
        }
    });
    let add = &executor.metrics()["add"];
    assert_eq!((add.calls, add.ok), (200, 200));
}

/// Keeps its context past the call, under a timeout (its own list: the
/// tests run in parallel).
#[tool(timeout = "30s")]
fn keeps_a_timed_context(ctx: &ToolContext) -> u32 {
    KEPT_TIMED.lock().unwrap().push(ctx.clone());
    1
}

/// Keeps its context past the call, with no timeout.
#[tool]
fn keeps_an_untimed_context(ctx: &ToolContext) -> u32 {
    KEPT_TIMED.lock().unwrap().push(ctx.clone());
    2
}

static KEPT_TIMED: std::sync::Mutex<Vec<ToolContext>> = std::sync::Mutex::new(Vec::new());

/// A sync tool's deadline, set as its call is allowed, is seen by the tool
/// (through its context, from another thread too) and belongs to that call:
/// a later call of a tool without a timeout has none.
#[test]
fn a_deadline_is_the_calls_own_and_seen_from_another_thread() {
    let executor = Executor::new(Registry::global());
    for name in ["keeps_a_timed_context", "keeps_an_untimed_context"] {
        executor
            .call_blocking(name, "{}", ToolContext::new())
            .expect("the call runs");
    }
    let kept = std::mem::take(&mut *KEPT_TIMED.lock().unwrap());
    let [timed, untimed] = <[ToolContext; 2]>::try_from(kept).expect("two contexts");
    let seen = std::thread::scope(|scope| scope.spawn(|| timed.deadline()).join().unwrap());
    assert!(seen.is_some(), "the 30s timeout set a deadline");
    assert_eq!(seen, timed.deadline());
    assert!(
        seen.unwrap() > std::time::Instant::now(),
        "30s from the call"
    );
    assert_eq!(
        untimed.deadline(),
        None,
        "a tool without a timeout has no deadline"
    );
}

/// An executor whose policy gives `patient_sleeper` a timeout of `timeout`.
fn sleeper_timed(timeout: &str) -> Executor {
    let policy = Policy::from_toml(
        &format!("[limits.tool.patient_sleeper]\ntimeout = \"{timeout}\"\n"),
        "<test>",
        Path::new("."),
    )
    .unwrap();
    Executor::builder(Registry::global())
        .policy(policy)
        .build()
        .unwrap()
}

/// A timeout far longer than the coarse clock's tick is kept on that
/// clock (D-63): its deadline counts from the call's admission within a
/// tick, and a sync tool that overruns it is still reported as timed out,
/// whether it looks at its context or not.
#[test]
fn a_long_timeout_kept_on_the_coarse_clock_still_times_a_sync_call_out() {
    // One tick is at most 10 ms (HZ = 100): 1.5 s is coarse on any kernel.
    let executor = sleeper_timed("1500ms");
    let started = std::time::Instant::now();
    let err = executor
        .call_blocking(
            "patient_sleeper",
            r#"{"ms": 5000, "cooperative": true}"#,
            ToolContext::new(),
        )
        .expect_err("past its deadline");
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("1.5s"), "{err}");
    // Stopped at the deadline, within a tick and a step of the sleeper.
    assert!(took >= std::time::Duration::from_millis(1480), "{took:?}");
    assert!(took < std::time::Duration::from_millis(2500), "{took:?}");
    let err = executor
        .call_blocking(
            "patient_sleeper",
            r#"{"ms": 1600, "cooperative": false}"#,
            ToolContext::new(),
        )
        .expect_err("past its deadline");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // In time: its result stands.
    executor
        .call_blocking(
            "patient_sleeper",
            r#"{"ms": 1, "cooperative": false}"#,
            ToolContext::new(),
        )
        .expect("well within its deadline");
}

/// Keeps its context past the call, under a timeout (its own list).
#[tool(timeout = "30s")]
fn keeps_its_30s_context(ctx: &ToolContext) -> u32 {
    KEPT_30S.lock().unwrap().push(ctx.clone());
    1
}

static KEPT_30S: std::sync::Mutex<Vec<ToolContext>> = std::sync::Mutex::new(Vec::new());

/// The deadline a tool sees under a coarse-clock timeout is its admission
/// plus the timeout, within the clock's tick (10 ms at most).
#[test]
fn a_coarse_deadline_is_within_a_tick_of_admission_plus_the_timeout() {
    let before = std::time::Instant::now();
    Executor::new(Registry::global())
        .call_blocking("keeps_its_30s_context", "{}", ToolContext::new())
        .expect("the call runs");
    let after = std::time::Instant::now();
    let kept = KEPT_30S.lock().unwrap().pop().expect("the kept context");
    let deadline = kept.deadline().expect("30s");
    let tick = std::time::Duration::from_millis(11);
    let timeout = std::time::Duration::from_secs(30);
    assert!(
        deadline + tick >= before + timeout,
        "{deadline:?} {before:?}"
    );
    assert!(deadline <= after + timeout + tick, "{deadline:?} {after:?}");
}

/// Calls from several threads at once are each counted once: the calls
/// that hold the executor's spare gate count on a counter of their own,
/// written by one of them at a time (D-62), the rest on the shared one.
#[test]
fn calls_from_many_threads_at_once_are_each_counted_once() {
    let executor = Executor::new(Registry::global());
    let (threads, calls) = (4, 2_000);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..calls {
                    let out = executor
                        .call_blocking("add", r#"{"a":2,"b":40}"#, ToolContext::new())
                        .expect("add runs");
                    assert_eq!(out.as_json(), "42");
                }
            });
        }
    });
    let seen = &executor.metrics()["add"];
    assert_eq!((seen.calls, seen.ok), (threads * calls, threads * calls));
}

/// Joins its words around the call's id: the context between two
/// arguments that own heap memory.
#[tool]
fn join_around_the_call(
    /// Words before.
    before: Vec<String>,
    ctx: &ToolContext,
    /// Words after.
    after: Option<String>,
) -> String {
    let mut words = before;
    words.push(ctx.call_id().to_owned());
    words.extend(after);
    words.join(" ")
}

#[test]
fn a_tool_with_the_context_between_its_arguments_gets_each_in_its_place() {
    let out = Executor::new(Registry::global())
        .call_blocking(
            "join_around_the_call",
            r#"{"after": "z", "before": ["a", "b"]}"#,
            ToolContext::new().with_call_id("c1"),
        )
        .unwrap();
    assert_eq!(out.to_value(), "a b c1 z");
    let out = call("join_around_the_call", r#"{"before": []}"#).unwrap();
    assert_eq!(out.as_str().map(str::len), Some(36), "only the id: {out}");
    invalid("join_around_the_call", r#"{"before": [1]}"#);
}
