//! Every linked tool's schemas: valid JSON Schema 2020-12, shaped as models need.

use std::collections::{BTreeMap, HashMap};

use my_tools as _;
use rustchain::{Executor, Registry, ToolContext, tool};
use rustchain_builtin as _;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// A struct without `deny_unknown_fields`, nested at several depths below.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only decoded")]
struct Address {
    street: String,
    #[serde(default)]
    note: Option<String>,
}

/// Externally tagged, so a variant's fields sit in an object of their own.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only decoded")]
enum Kind {
    Person { age: u8 },
    Company,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only decoded")]
struct Contact {
    name: String,
    address: Address,
    others: Vec<Address>,
    /// A map: any key, each value an `Address`.
    labels: HashMap<String, Address>,
    /// Any JSON at all.
    extra: Value,
    kind: Kind,
}

/// Stores a contact (nested structs, maps and free-form JSON, for the schema tests).
#[tool]
fn save_contact(
    /// The contact.
    contact: Contact,
    /// A second address.
    backup: Option<Address>,
    /// Free-form metadata.
    meta: BTreeMap<String, Value>,
) -> usize {
    contact.others.len() + usize::from(backup.is_some()) + meta.len()
}

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
    let contact = json!({
        "name": "Ada",
        "address": {"street": "Main St"},
        "others": [{"street": "A"}, {"street": "B", "note": "back door"}],
        "labels": {"home": {"street": "C"}, "any key at all": {"street": "D"}},
        "extra": {"whatever": [1, {"deep": true}]},
        "kind": {"Person": {"age": 36}},
    });
    // The contact with `value` put at `pointer` (an object member).
    let with = |pointer: &str, value: Value| {
        let mut args = json!({"contact": contact.clone(), "meta": {}});
        let (parent, key) = pointer.rsplit_once('/').expect("a member pointer");
        args.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{parent} is an object"))
            .insert(key.to_owned(), value);
        args
    };
    let nested: Vec<Value> = vec![
        json!({"contact": contact, "meta": {}}),
        json!({"contact": contact, "backup": null, "meta": {"any": {"thing": 1}}}),
        json!({"contact": contact, "backup": {"street": "E"}, "meta": {}}),
        with("/backup", json!({"street": "E", "zip": "0150"})),
        with("/contact/nickname", json!("Countess")),
        with("/contact/address/zip", json!("0150")),
        with(
            "/contact/others",
            json!([{"street": "A"}, {"street": "B", "zip": 1}]),
        ),
        with("/contact/labels/work", json!({"street": "F", "zip": 1})),
        with("/contact/labels/work", json!({"street": "F"})),
        with("/contact/extra", json!({"zip": 1, "nested": {"zap": 2}})),
        with(
            "/contact/kind",
            json!({"Person": {"age": 36, "title": "Dr"}}),
        ),
        with("/contact/kind", json!("Company")),
        with(
            "/contact/kind",
            json!({"Person": {"age": 36}, "Company": null}),
        ),
    ];
    let nested = nested.into_iter().map(|args| ("save_contact", args));
    let cases: Vec<(&str, Value)> = cases.iter().cloned().chain(nested).collect();
    let executor = Executor::new(Registry::global());
    for (name, args) in &cases {
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

#[test]
fn an_unknown_field_at_any_depth_is_refused_with_its_path() {
    let contact = json!({
        "name": "Ada",
        "address": {"street": "Main St"},
        "others": [],
        "labels": {},
        "extra": null,
        "kind": "Company",
    });
    let executor = Executor::new(Registry::global());
    let refused = |patch: Value| {
        let mut args = json!({"contact": contact.clone(), "meta": {}});
        json_patch(&mut args, patch);
        executor
            .call_value_blocking("save_contact", &args, ToolContext::new())
            .expect_err("an unknown field is refused")
    };
    for (patch, path) in [
        (json!({"backup": {"street": "E", "zip": 1}}), "backup.zip"),
        (json!({"contact": {"nickname": "C"}}), "contact.nickname"),
        (
            json!({"contact": {"address": {"street": "S", "zip": 1}}}),
            "contact.address.zip",
        ),
        (
            json!({"contact": {"others": [{"street": "A"}, {"street": "B", "zip": 1}]}}),
            "contact.others[1].zip",
        ),
        (
            json!({"contact": {"labels": {"work": {"street": "F", "zip": 1}}}}),
            "contact.labels.work.zip",
        ),
        // Inside a struct variant the path names the variant, as a wrong
        // value's path there does.
        (
            json!({"contact": {"kind": {"Person": {"age": 3, "title": "Dr"}}}}),
            "contact.kind.Person.title",
        ),
    ] {
        let err = refused(patch.clone());
        assert_eq!(err.kind(), rustchain::ErrorKind::InvalidArguments, "{err}");
        assert_eq!(err.path(), Some(path), "{patch}: {err}");
        let field = path.rsplit('.').next().unwrap_or_default();
        assert!(
            err.message().contains(&format!("unknown field `{field}`")),
            "{patch}: {err}"
        );
    }
}

#[test]
fn every_object_in_every_input_schema_is_closed_unless_it_is_a_map() {
    fn check(tool: &str, at: &str, schema: &Value) {
        let Value::Object(object) = schema else {
            return;
        };
        if object.get("type") == Some(&json!("object")) {
            assert!(
                object.contains_key("additionalProperties"),
                "`{tool}`: the object at {at} says nothing about extra keys"
            );
        }
        for (key, value) in object {
            match value {
                Value::Object(children) if ["properties", "$defs"].contains(&key.as_str()) => {
                    for (name, child) in children {
                        check(tool, &format!("{at}/{key}/{name}"), child);
                    }
                }
                Value::Array(list)
                    if ["anyOf", "oneOf", "allOf", "prefixItems"].contains(&key.as_str()) =>
                {
                    for (i, child) in list.iter().enumerate() {
                        check(tool, &format!("{at}/{key}/{i}"), child);
                    }
                }
                _ if ["items", "additionalProperties"].contains(&key.as_str()) => {
                    check(tool, &format!("{at}/{key}"), value);
                }
                _ => {}
            }
        }
    }
    for tool in Registry::global().tools() {
        check(tool.name(), "#", tool.input_schema().as_value());
    }
    let schema = input_schema("save_contact");
    let defs = &schema["$defs"];
    assert_eq!(defs["Address"]["additionalProperties"], false, "{schema:#}");
    assert_eq!(defs["Contact"]["additionalProperties"], false, "{schema:#}");
    let variants = defs["Kind"]["oneOf"]
        .as_array()
        .expect("Kind is one of its variants");
    let person = variants
        .iter()
        .find_map(|variant| variant["properties"].get("Person"))
        .expect("the Person variant is an object");
    assert_eq!(person["additionalProperties"], false, "{schema:#}");
    // Maps take any key, in the schema as in the decoder.
    let labels = &defs["Contact"]["properties"]["labels"]["additionalProperties"];
    assert_eq!(labels["$ref"], "#/$defs/Address", "{schema:#}");
    assert_eq!(
        schema["properties"]["meta"]["additionalProperties"], true,
        "{schema:#}"
    );
}

/// Merges `patch` into `target`, object by object (RFC 7386 without deletion).
fn json_patch(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                json_patch(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}
