//! Every linked tool's schemas: valid JSON Schema 2020-12, shaped as models need.

use my_tools as _;
use rustchain::{Executor, Registry, ToolContext};
use rustchain_builtin as _;
use serde_json::{Value, json};

fn input_schema(name: &str) -> Value {
    Registry::global()
        .get(name)
        .unwrap_or_else(|| panic!("`{name}` should be linked"))
        .input_schema()
        .as_value()
        .clone()
}

#[test]
fn every_schema_of_every_linked_tool_passes_the_2020_12_metaschema() {
    let registry = Registry::global();
    assert!(
        registry.len() >= 6,
        "the example and built-in tools are linked"
    );
    for tool in registry.tools() {
        for (which, schema) in [
            ("input", tool.input_schema()),
            ("output", tool.output_schema()),
        ] {
            if let Err(err) = jsonschema::draft202012::meta::validate(schema.as_value()) {
                panic!(
                    "{which} schema of `{}` is invalid: {err}\n{schema:#?}",
                    tool.name()
                );
            }
        }
    }
}

#[test]
fn the_input_schema_is_a_closed_object_with_every_property_described_in_parameter_order() {
    for tool in Registry::global().tools() {
        let schema = tool.input_schema().as_value();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["type"], "object", "{}", tool.name());
        assert_eq!(schema["additionalProperties"], false, "{}", tool.name());
        let properties = schema["properties"]
            .as_object()
            .expect("properties is an object");
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        let params: Vec<&str> = tool.descriptor().params.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            params,
            "properties follow parameter order in `{}`",
            tool.name()
        );
        for (name, property) in properties {
            let description = property["description"].as_str().unwrap_or_default();
            assert!(
                !description.is_empty(),
                "`{}.{name}` is described",
                tool.name()
            );
        }
    }
}

#[test]
fn descriptions_come_from_doc_comments_and_options_are_not_required() {
    let schema = input_schema("get_weather");
    assert_eq!(
        schema["properties"]["city"]["description"],
        "The city, like \"Oslo\"."
    );
    assert_eq!(
        schema["properties"]["units"]["description"],
        "Celsius unless asked otherwise."
    );
    assert_eq!(schema["required"], json!(["city"]));
    let tool = Registry::global().get("get_weather").unwrap();
    assert_eq!(
        tool.descriptor().description,
        "Reports the weather for a city (a deterministic stand-in for a real service)."
    );
    assert_eq!(tool.descriptor().title, Some("Get weather"));
}

#[test]
fn the_context_parameter_never_appears_in_the_schema() {
    let schema = input_schema("slow_echo");
    let names: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["message", "delay_ms"]);
}

#[test]
fn each_tool_has_only_its_own_definitions() {
    // get_weather uses `Units`; path_length uses `Point`. A shared generator
    // would leak one into the other.
    let weather = input_schema("get_weather");
    let path = input_schema("path_length");
    assert!(weather["$defs"].get("Units").is_some(), "{weather:#}");
    assert!(weather["$defs"].get("Point").is_none(), "{weather:#}");
    assert!(path["$defs"].get("Point").is_some(), "{path:#}");
    assert!(path["$defs"].get("Units").is_none(), "{path:#}");
    assert!(input_schema("add").get("$defs").is_none());
}

#[test]
fn the_output_schema_describes_the_ok_type() {
    let tool = Registry::global().get("get_weather").unwrap();
    let output = tool.output_schema().as_value();
    assert_eq!(output["title"], "Report");
    assert!(
        output["properties"].get("temperature").is_some(),
        "{output:#}"
    );
    let add = Registry::global().get("add").unwrap();
    assert_eq!(add.output_schema().as_value()["type"], "integer");
}

#[test]
fn schemas_are_built_once_and_cached() {
    let tool = Registry::global().get("add").unwrap();
    assert!(std::ptr::eq(tool.input_schema(), tool.input_schema()));
    assert!(std::ptr::eq(tool.output_schema(), tool.output_schema()));
}

#[test]
fn what_the_schema_accepts_the_decoder_accepts_and_the_other_way_round() {
    let cases: &[(&str, Value)] = &[
        ("add", json!({"a": 1, "b": 2})),
        ("add", json!({"a": 1})),
        ("add", json!({"a": 1, "b": 2, "c": 3})),
        ("add", json!({"a": "1", "b": 2})),
        ("get_weather", json!({"city": "Oslo"})),
        ("get_weather", json!({"city": "Oslo", "units": "celsius"})),
        ("get_weather", json!({"city": "Oslo", "units": "kelvin"})),
        ("path_length", json!({"points": [{"x": 1, "y": 2}]})),
        ("path_length", json!({"points": [{"x": 1}]})),
        ("path_length", json!({"points": [{"x": 1, "y": 2, "z": 3}]})),
        ("text_stats", json!({"text": "a b"})),
        ("text_stats", json!({})),
    ];
    let executor = Executor::new(Registry::global());
    for (name, args) in cases {
        let schema = input_schema(name);
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let schema_says = validator.is_valid(args);
        let decoded = executor.call_value_blocking(name, args, ToolContext::new());
        assert_eq!(
            schema_says,
            decoded.is_ok(),
            "`{name}` with {args}: schema says {schema_says}, decoder says {decoded:?}"
        );
    }
}
