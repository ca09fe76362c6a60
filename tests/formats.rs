//! Provider formats and tool-call adapters: golden definitions, every linked
//! tool in every format, the fallback from strict mode, and the providers'
//! own SDK code (from Python, offline) over all of it.

use std::collections::BTreeMap;
use std::process::Command;

use my_tools as _;
use rustchain::formats::anthropic::{ToolSearch, deferred_definitions};
use rustchain::formats::{
    CallFormatErrorKind, Format, FormatOptions, FormatWarningKind, GeminiParameters, OpenAiApi,
    Provider, ToolCall, calls, tool_definition,
};
use rustchain::policy::Discovery;
use rustchain::{Executor, Manifest, Registry, ToolManifest, tool};
use rustchain_builtin as _;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

#[path = "support/python.rs"]
mod python;

/// A nested struct with a serde default that does not accept `null`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "only decoded")]
struct Stop {
    /// Where.
    place: String,
    /// How many nights (default 1).
    #[serde(default = "one")]
    nights: u32,
    /// A note.
    note: Option<String>,
}

fn one() -> u32 {
    1
}

/// Plans a trip through stops (nested objects, defaults: strict-compatible).
#[tool]
fn plan_trip(
    /// The stops, in order.
    stops: Vec<Stop>,
    /// Travel by night.
    overnight: Option<bool>,
) -> u32 {
    stops.iter().map(|stop| stop.nights).sum::<u32>() + u32::from(overnight.unwrap_or(false))
}

/// Stores a record (a free-form map and any JSON: cannot be strict).
#[tool]
fn store_record(
    /// Labels, any key.
    labels: BTreeMap<String, String>,
    /// Any JSON at all.
    extra: Value,
) -> usize {
    labels.len() + usize::from(!extra.is_null())
}

fn manifest(name: &str) -> ToolManifest {
    ToolManifest::of(
        Registry::global()
            .get(name)
            .unwrap_or_else(|| panic!("`{name}` is linked")),
    )
}

fn define(name: &str, format: Format, options: FormatOptions) -> (Value, Vec<FormatWarningKind>) {
    let definition = tool_definition(&manifest(name), format, &options);
    let kinds = definition.warnings.iter().map(|w| w.kind()).collect();
    (definition.value, kinds)
}

const WEATHER: &str =
    "Reports the weather for a city (a deterministic stand-in for a real service).";

#[test]
fn openai_definitions_of_get_weather_are_golden() {
    let (strict, warnings) = define(
        "get_weather",
        Format::OpenAiStrict,
        FormatOptions::default(),
    );
    assert!(warnings.is_empty());
    // schemars writes documented unit variants as `oneOf` consts; strict mode takes `anyOf`.
    let units = json!({
        "description": "Units for a temperature.",
        "anyOf": [
            {"type": "string", "const": "celsius", "description": "Degrees Celsius."},
            {"type": "string", "const": "fahrenheit", "description": "Degrees Fahrenheit."}
        ]
    });
    assert_eq!(
        strict["function"]["parameters"],
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, like \"Oslo\"."},
                "units": {
                    "anyOf": [{"$ref": "#/$defs/Units"}, {"type": "null"}],
                    "description": "Celsius unless asked otherwise."
                }
            },
            "required": ["city", "units"],
            "additionalProperties": false,
            "$defs": {"Units": units}
        })
    );
    assert_eq!(strict["type"], "function");
    assert_eq!(strict["function"]["name"], "get_weather");
    assert_eq!(strict["function"]["description"], WEATHER);
    assert_eq!(strict["function"]["strict"], true);

    let options = FormatOptions {
        openai_api: OpenAiApi::Responses,
        ..FormatOptions::default()
    };
    let (flat, _) = define("get_weather", Format::OpenAi, options);
    let mut plain = manifest("get_weather").input_schema.as_value().clone();
    plain.as_object_mut().unwrap().remove("$schema");
    assert_eq!(
        flat,
        json!({"type": "function", "name": "get_weather", "description": WEATHER, "parameters": plain, "strict": false})
    );
}

#[test]
fn anthropic_gemini_and_mcp_definitions_of_add_are_golden() {
    let schema = manifest("add").input_schema.as_value().clone();
    let mut input = schema.clone();
    input.as_object_mut().unwrap().remove("$schema");
    let (anthropic, _) = define("add", Format::Anthropic, FormatOptions::default());
    assert_eq!(
        anthropic,
        json!({"name": "add", "description": "Adds two integers.", "input_schema": input})
    );
    let options = FormatOptions {
        gemini_parameters: GeminiParameters::OpenApi,
        ..FormatOptions::default()
    };
    let (gemini, warnings) = define("add", Format::Gemini, options);
    assert!(warnings.is_empty());
    assert_eq!(
        gemini,
        json!({"name": "add", "description": "Adds two integers.", "parameters": {
            "type": "OBJECT",
            "properties": {
                "a": {"type": "INTEGER", "format": "int64", "description": "The first addend."},
                "b": {"type": "INTEGER", "format": "int64", "description": "The second addend."}
            },
            "required": ["a", "b"]
        }})
    );
    let (mcp, _) = define("add", Format::Mcp, FormatOptions::default());
    assert_eq!(
        mcp,
        json!({
            "name": "add",
            "description": "Adds two integers.",
            "inputSchema": schema,
            "outputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {"result": {"type": "integer", "format": "int64", "title": "int64"}},
                "required": ["result"],
                "additionalProperties": false
            },
            "annotations": {"readOnlyHint": true, "idempotentHint": true}
        })
    );
}

#[test]
fn a_map_or_any_value_falls_back_from_strict_and_says_where() {
    let definition = tool_definition(
        &manifest("store_record"),
        Format::OpenAiStrict,
        &FormatOptions::default(),
    );
    assert_eq!(definition.value["function"]["strict"], false);
    let [warning] = definition.warnings.as_slice() else {
        panic!("one warning: {:?}", definition.warnings)
    };
    assert_eq!(warning.kind(), FormatWarningKind::NotStrict);
    assert_eq!(warning.tool(), "store_record");
    assert!(
        warning.message().contains("`/properties/labels` is a map"),
        "{warning}"
    );
    assert!(
        warning
            .message()
            .contains("`/properties/extra` accepts any JSON value"),
        "{warning}"
    );
}

#[test]
fn what_strict_mode_makes_a_model_send_the_decoder_accepts() {
    let (definition, warnings) =
        define("plan_trip", Format::OpenAiStrict, FormatOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let parameters = &definition["function"]["parameters"];
    assert_eq!(parameters["required"], json!(["stops", "overnight"]));
    let stop = &parameters["$defs"]["Stop"];
    assert_eq!(stop["required"], json!(["place", "nights", "note"]));
    // `nights` has a default but takes no null: required, not nullable.
    assert!(
        !rustchain_accepts_null(&stop["properties"]["nights"]),
        "{stop}"
    );
    // Every key present, optional ones null, as strict mode makes a model write.
    let args = json!({"stops": [{"place": "Oslo", "nights": 2, "note": null}], "overnight": null});
    let validator = jsonschema::validator_for(parameters).expect("a valid schema");
    assert!(validator.is_valid(&args));
    let executor = Executor::new(Registry::global());
    let out = executor
        .call_value_blocking("plan_trip", &args, rustchain::ToolContext::new())
        .expect("the decoder takes what strict mode sends");
    assert_eq!(out.as_json(), "2");
}

fn rustchain_accepts_null(schema: &Value) -> bool {
    jsonschema::validator_for(schema)
        .map(|validator| validator.is_valid(&Value::Null))
        .unwrap_or(false)
}

/// Every definition of `tool` the Python checker reads, by format name.
fn all_formats(tool: &ToolManifest) -> Value {
    let default = FormatOptions::default();
    let responses = FormatOptions {
        openai_api: OpenAiApi::Responses,
        ..default
    };
    let openapi = FormatOptions {
        gemini_parameters: GeminiParameters::OpenApi,
        ..default
    };
    let mut formats = serde_json::Map::new();
    for format in Format::ALL {
        formats.insert(
            format.as_str().into(),
            tool_definition(tool, format, &default).value,
        );
    }
    formats.insert(
        "openai-responses".into(),
        tool_definition(tool, Format::OpenAiStrict, &responses).value,
    );
    formats.insert(
        "gemini-openapi".into(),
        tool_definition(tool, Format::Gemini, &openapi).value,
    );
    Value::Object(formats)
}

#[test]
fn every_definition_passes_the_2020_12_metaschema_and_has_an_object_root() {
    for tool in Registry::global().tools() {
        let manifest = ToolManifest::of(tool);
        let formats = all_formats(&manifest);
        for schema in [
            &formats["json-schema"],
            &formats["openai"]["function"]["parameters"],
            &formats["openai-strict"]["function"]["parameters"],
            &formats["anthropic"]["input_schema"],
            &formats["gemini"]["parameters_json_schema"],
            &formats["mcp"]["inputSchema"],
            &formats["mcp"]["outputSchema"],
        ] {
            if let Err(err) = jsonschema::draft202012::meta::validate(schema) {
                panic!("`{}`: {err}\n{schema:#}", manifest.name);
            }
            assert_eq!(schema["type"], "object", "`{}`: {schema}", manifest.name);
        }
        assert_eq!(formats["gemini-openapi"]["parameters"]["type"], "OBJECT");
        let strict = tool_definition(&manifest, Format::OpenAiStrict, &FormatOptions::default());
        assert_eq!(
            strict.value["function"]["strict"],
            strict.warnings.is_empty(),
            "`{}`: strict exactly when nothing is said against it",
            manifest.name
        );
    }
}

/// Runs `tests/support/provider_sdks.py MODE ARGS...`; `None` when no
/// interpreter has the SDKs (and CI does not require one).
fn provider_sdks(args: &[&str]) -> Option<Value> {
    let python = python::python_with(&[
        "pydantic_ai",
        "anthropic",
        "google.genai",
        "openai",
        "jsonschema",
        "mcp",
    ])?;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/provider_sdks.py"
    );
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "provider_sdks.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert!(
        report
            .get("failures")
            .is_none_or(|failures| failures.as_array().is_some_and(Vec::is_empty)),
        "the SDKs refused:\n{report:#}"
    );
    Some(report)
}

#[test]
fn the_providers_own_sdks_accept_every_definition_of_every_linked_tool() {
    let tools: serde_json::Map<String, Value> = Registry::global()
        .tools()
        .map(|tool| {
            let manifest = ToolManifest::of(tool);
            (manifest.name.clone(), all_formats(&manifest))
        })
        .collect();
    let count = tools.len();
    assert!(tools.contains_key("store_record") && tools.contains_key("http_request"));
    let file = tempfile::NamedTempFile::new().expect("a scratch file");
    std::fs::write(file.path(), Value::Object(tools).to_string()).expect("written");
    let path = file.path().to_str().expect("a UTF-8 path");
    let Some(report) = provider_sdks(&["definitions", path]) else {
        return;
    };
    let failures = report["failures"].as_array().expect("a list");
    assert!(failures.is_empty(), "{:#}", report["failures"]);
    for check in [
        "openai-strict",
        "anthropic transform_schema",
        "gemini json schema",
        "gemini openapi",
        "mcp Tool",
    ] {
        assert_eq!(
            report["checked"][check], count,
            "{check} ran for every tool: {report}"
        );
    }
    assert_eq!(
        report["checked"]["gemini refuses the raw schema"], 1,
        "{report}"
    );
}

#[test]
fn tool_calls_the_sdks_write_run_and_their_results_are_what_the_sdks_accept() {
    let Some(payloads) = provider_sdks(&["calls"]) else {
        return;
    };
    let executor = Executor::new(Registry::global());
    let providers = [
        ("openai-chat", Provider::OpenAiChat),
        ("openai-responses", Provider::OpenAiResponses),
        ("anthropic", Provider::Anthropic),
        ("gemini", Provider::Gemini),
    ];
    let mut replies = serde_json::Map::new();
    for (key, provider) in providers {
        let payload = &payloads[key];
        let call = provider
            .parse_call(payload)
            .expect("the SDK's own shape parses");
        assert_eq!(call.name, "add");
        assert_eq!(
            serde_json::from_str::<Value>(&call.arguments).ok(),
            Some(json!({"a": 2, "b": 40}))
        );
        let ok = calls::run_blocking(&executor, provider, payload).expect("runs");
        let mut bad = call.clone();
        bad.arguments = "{\"a\": \"two\"}".into();
        let outcome =
            executor.call_blocking(&bad.name, &bad.arguments, rustchain::ToolContext::new());
        let error = provider.result(&bad, &outcome).expect("an error result");
        replies.insert(key.into(), json!([ok, error]));
    }
    assert_eq!(
        replies["openai-chat"][0],
        json!({"role": "tool", "tool_call_id": "call_Qx1", "content": "42"})
    );
    assert_eq!(
        replies["openai-responses"][0],
        json!({"type": "function_call_output", "call_id": "call_Rx2", "output": "42"})
    );
    assert_eq!(
        replies["anthropic"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_01A", "content": "42"})
    );
    assert_eq!(replies["anthropic"][1]["is_error"], true);
    assert!(
        replies["anthropic"][1]["content"]
            .as_str()
            .is_some_and(|text| text.starts_with("error[invalid_arguments]")),
        "{}",
        replies["anthropic"][1]
    );
    assert_eq!(
        replies["gemini"][0],
        json!({"functionResponse": {"id": "gem-1", "name": "add", "response": {"output": 42}}})
    );
    assert!(replies["gemini"][1]["functionResponse"]["response"]["error"].is_string());
    let file = tempfile::NamedTempFile::new().expect("a scratch file");
    std::fs::write(file.path(), Value::Object(replies).to_string()).expect("written");
    let report =
        provider_sdks(&["results", file.path().to_str().expect("UTF-8")]).expect("python ran once");
    assert_eq!(report["checked"]["result"], 8, "{report}");
}

#[test]
fn whole_turns_give_every_call_and_skip_the_rest() {
    let message = json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{}"}},
        {"id": "call_2", "type": "custom", "custom": {"name": "grammar", "input": "x"}},
        {"id": "call_3", "type": "function", "function": {"name": "time_now", "arguments": ""}}
    ]});
    let found = Provider::OpenAiChat.calls_in(&message).expect("a message");
    assert_eq!(
        found.iter().map(|c| c.id.as_deref()).collect::<Vec<_>>(),
        [Some("call_1"), Some("call_3")]
    );
    let anthropic = json!({"role": "assistant", "content": [
        {"type": "text", "text": "Let me add."},
        {"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 1, "b": 2}}
    ]});
    let found = Provider::Anthropic.calls_in(&anthropic).expect("a message");
    assert_eq!(
        found,
        [ToolCall {
            id: Some("toolu_1".into()),
            name: "add".into(),
            arguments: r#"{"a":1,"b":2}"#.into()
        }]
    );
    let gemini = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Adding."}, {"functionCall": {"name": "add", "args": {"a": 1, "b": 2}}}
    ]}}]});
    let found = Provider::Gemini.calls_in(&gemini).expect("a response");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, None);
    let responses = json!({"output": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "add", "arguments": "{\"a\":1,\"b\":2}"}
    ]});
    let found = Provider::OpenAiResponses
        .calls_in(&responses)
        .expect("a response");
    assert_eq!(
        found[0].id.as_deref(),
        Some("call_9"),
        "the call id, not the item id"
    );
    assert_eq!(
        Provider::Anthropic.calls_in(&json!({"role": "assistant", "content": "hi"})),
        Ok(vec![])
    );
}

#[test]
fn malformed_payloads_are_typed_errors_and_bad_arguments_go_back_to_the_model() {
    let kind =
        |provider: Provider, payload: Value| provider.parse_call(&payload).map_err(|e| e.kind());
    assert_eq!(
        kind(Provider::OpenAiChat, json!("call")),
        Err(CallFormatErrorKind::NotAnObject)
    );
    assert_eq!(
        kind(
            Provider::OpenAiChat,
            json!({"id": "c", "type": "function", "function": {"name": "add", "arguments": {"a": 1}}})
        ),
        Err(CallFormatErrorKind::WrongType),
        "OpenAI sends arguments as a string"
    );
    assert_eq!(
        kind(
            Provider::OpenAiChat,
            json!({"type": "function", "function": {"name": "add", "arguments": "{}"}})
        ),
        Err(CallFormatErrorKind::MissingField)
    );
    assert_eq!(
        kind(
            Provider::OpenAiResponses,
            json!({"type": "message", "id": "m"})
        ),
        Err(CallFormatErrorKind::NotAToolCall)
    );
    assert_eq!(
        kind(
            Provider::Anthropic,
            json!({"type": "tool_use", "name": "add", "input": {}})
        ),
        Err(CallFormatErrorKind::MissingField)
    );
    assert_eq!(
        kind(Provider::Anthropic, json!({"type": "text", "text": "hi"})),
        Err(CallFormatErrorKind::NotAToolCall)
    );
    assert_eq!(
        kind(Provider::Gemini, json!({"text": "hi"})),
        Err(CallFormatErrorKind::NotAToolCall)
    );
    assert_eq!(
        kind(Provider::Gemini, json!({"functionCall": {"args": {}}})),
        Err(CallFormatErrorKind::MissingField)
    );
    assert_eq!(
        Provider::OpenAiChat
            .calls_in(&json!({"tool_calls": {"id": "x"}}))
            .map_err(|e| e.kind()),
        Err(CallFormatErrorKind::WrongType)
    );

    // Arguments that are not JSON, or not an object, are the model's to fix.
    let executor = Executor::new(Registry::global());
    let call = json!({"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 1,"}});
    let reply = calls::run_blocking(&executor, Provider::OpenAiChat, &call).expect("a result");
    assert_eq!(reply["tool_call_id"], "call_1");
    assert!(
        reply["content"]
            .as_str()
            .is_some_and(|t| t.starts_with("error[invalid_arguments]")),
        "{reply}"
    );
    let tool_use = json!({"type": "tool_use", "id": "toolu_2", "name": "add", "input": [1, 2]});
    let reply = calls::run_blocking(&executor, Provider::Anthropic, &tool_use).expect("a result");
    assert_eq!(reply["is_error"], true, "{reply}");
    let unknown = json!({"functionCall": {"name": "no_such_tool", "args": {}}});
    let reply = calls::run_blocking(&executor, Provider::Gemini, &unknown).expect("a result");
    assert!(
        reply["functionResponse"]["response"]["error"]
            .as_str()
            .is_some_and(|t| t.contains("not_found")),
        "{reply}"
    );
    // A Gemini call has no id to give an OpenAI result.
    let gemini_call = Provider::Gemini.parse_call(&unknown).expect("parses");
    let outcome = executor.call_blocking("add", "{}", rustchain::ToolContext::new());
    assert_eq!(
        Provider::OpenAiChat
            .result(&gemini_call, &outcome)
            .map_err(|e| e.kind()),
        Err(CallFormatErrorKind::MissingField)
    );
}

/// The deferred Anthropic tools of every linked tool, `add` and `text_*`
/// loaded from the start.
fn deferred_tools(search: ToolSearch) -> Vec<Value> {
    let discovery = Discovery::deferred(["add", "text_*"]).expect("valid globs");
    deferred_definitions(&Manifest::of(Registry::global()), &discovery, search)
}

#[test]
fn deferred_anthropic_tools_are_golden() {
    let tools = deferred_tools(ToolSearch::Regex);
    assert_eq!(
        tools.last(),
        Some(&json!({"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}))
    );
    assert_eq!(
        deferred_tools(ToolSearch::Bm25).last(),
        Some(&json!({"type": "tool_search_tool_bm25_20251119", "name": "tool_search_tool_bm25"}))
    );
    let by_name = |name: &str| {
        tools
            .iter()
            .find(|tool| tool["name"] == name)
            .unwrap_or_else(|| panic!("{name} is defined"))
            .clone()
    };
    let (add, _) = define("add", Format::Anthropic, FormatOptions::default());
    assert_eq!(by_name("add"), add, "always loaded: as without deferral");
    assert!(by_name("text_stats").get("defer_loading").is_none());
    let (fs_read, _) = define("fs_read", Format::Anthropic, FormatOptions::default());
    let mut deferred = fs_read;
    deferred["defer_loading"] = json!(true);
    assert_eq!(by_name("fs_read"), deferred);
    // Every linked tool once, and the search tool.
    assert_eq!(tools.len(), Registry::global().len() + 1);
    let loaded: Vec<&str> = tools
        .iter()
        .filter(|tool| tool.get("defer_loading").is_none())
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert!(
        loaded.iter().all(|name| *name == "add"
            || name.starts_with("text_")
            || name.starts_with("tool_search_tool_")),
        "{loaded:?}"
    );
}

#[test]
fn the_anthropic_sdk_accepts_deferred_tools_and_its_tool_search() {
    let requests = json!({
        "bm25": deferred_tools(ToolSearch::Bm25),
        "regex": deferred_tools(ToolSearch::Regex),
    });
    let expected_deferred = requests["bm25"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|tool| tool.get("defer_loading").is_some())
        .count();
    assert!(expected_deferred > 10, "{requests}");
    let file = tempfile::NamedTempFile::new().expect("a scratch file");
    std::fs::write(file.path(), requests.to_string()).expect("written");
    let path = file.path().to_str().expect("a UTF-8 path");
    let Some(report) = provider_sdks(&["deferred", path]) else {
        return;
    };
    let checked = &report["checked"];
    for label in ["bm25", "regex"] {
        assert_eq!(
            checked[format!("{label} deferred")],
            expected_deferred,
            "{report}"
        );
    }
    assert_eq!(checked["anthropic ToolUnionParam list"], 2, "{report}");
    assert_eq!(
        checked["anthropic ToolSearchToolBm25_20251119Param"], 1,
        "{report}"
    );
    assert_eq!(
        checked["anthropic ToolSearchToolRegex20251119Param"], 1,
        "{report}"
    );
    assert_eq!(checked["misspelt key refused"], 1, "{report}");
}
