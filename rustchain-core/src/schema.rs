//! JSON Schemas (2020-12) for a tool's input and output, built from its signature.
//!
//! Each schema gets a fresh [`SchemaGenerator`]: schemars keeps every type it
//! has seen in a generator's `$defs`, so a shared one would leak one tool's
//! definitions into another's schema.
//!
//! Every object in an input schema is closed (`additionalProperties: false`),
//! nested ones and those under `$defs` included, because the decoder refuses
//! an unknown field at any depth. An object that already says what extra keys
//! it takes (a map: `additionalProperties: {...}` or `true`) keeps that, and
//! so does the `true` schema of a `serde_json::Value`: the decoder takes any
//! key there too.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value};

use crate::ParamInfo;
use crate::decode::ParamList;

/// The `$schema` URI of every schema built here.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12().into_generator()
}

/// The input schema of a tool whose parameters have types `P` and are described by `params`:
/// an object with one described property per parameter, in parameter order,
/// the required ones listed, and nothing else allowed, at any depth.
///
/// ```
/// use rustchain_core::{schema::input_schema, ParamInfo};
/// static PARAMS: [ParamInfo; 1] = [ParamInfo { name: "city", description: "City name", required: true }];
/// let schema = input_schema::<(String,)>(&PARAMS);
/// assert_eq!(schema.get("required").unwrap(), &serde_json::json!(["city"]));
/// assert_eq!(schema.get("additionalProperties").unwrap(), &serde_json::json!(false));
/// ```
pub fn input_schema<P: ParamList>(params: &'static [ParamInfo]) -> Schema {
    let mut generator = generator();
    let types = P::schemas(&mut generator);
    input_schema_from(params, types, generator)
}

/// [`input_schema`] from the parameter types' schemas, made by `generator`:
/// the part that does not depend on the types, compiled once (D-66).
fn input_schema_from(
    params: &'static [ParamInfo],
    types: Vec<Schema>,
    mut generator: SchemaGenerator,
) -> Schema {
    let mut properties = Map::with_capacity(params.len());
    for (param, schema) in params.iter().zip(types) {
        let mut property = described(schema, param.description);
        close_objects(&mut property);
        properties.insert(param.name.to_owned(), property);
    }
    let mut root = Map::new();
    root.insert("$schema".into(), DIALECT.into());
    root.insert("type".into(), "object".into());
    root.insert("properties".into(), Value::Object(properties));
    let required: Vec<Value> = params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.into())
        .collect();
    if !required.is_empty() {
        root.insert("required".into(), Value::Array(required));
    }
    root.insert("additionalProperties".into(), false.into());
    let mut definitions = generator.take_definitions(true);
    definitions.values_mut().for_each(close_objects);
    if !definitions.is_empty() {
        root.insert("$defs".into(), Value::Object(definitions));
    }
    Schema::from(root)
}

/// The output schema of a tool returning `T` (the `Ok` type for a `Result`).
pub fn output_schema<T: JsonSchema>() -> Schema {
    generator().into_root_schema_for::<T>()
}

/// `schema` with `description` added; a `true` schema becomes `{description}`.
fn described(schema: Schema, description: &str) -> Value {
    let mut value = schema.to_value();
    match &mut value {
        Value::Object(object) => {
            object.insert("description".into(), description.into());
        }
        _ => {
            // `true` (any value) or `false` (none): keep the meaning, add the text.
            let accepts_anything = value.as_bool().unwrap_or(true);
            let mut object = Map::new();
            if !accepts_anything {
                object.insert("not".into(), Value::Object(Map::new()));
            }
            object.insert("description".into(), description.into());
            value = Value::Object(object);
        }
    }
    value
}

/// Keywords whose value is one schema.
const ONE_SCHEMA: [&str; 10] = [
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
];

/// Keywords whose value is a list of schemas.
const SCHEMA_LISTS: [&str; 4] = ["prefixItems", "allOf", "anyOf", "oneOf"];

/// Keywords whose value maps names to schemas.
const SCHEMA_MAPS: [&str; 4] = [
    "properties",
    "patternProperties",
    "$defs",
    "dependentSchemas",
];

/// Where a subschema sits in the schema that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubschemaAt<'a> {
    /// The value of a keyword that holds one schema (`items`, `not`, ...).
    Keyword(&'a str),
    /// An element of a keyword's list of schemas (`anyOf`, index 0).
    Item(&'a str, usize),
    /// An entry of a keyword's map of schemas (`properties`, `"name"`).
    Entry(&'a str, &'a str),
}

/// Calls `visit` on each direct subschema of `schema`, with where it sits.
///
/// Only schema positions are visited (`properties`, `items`, `anyOf`, ...),
/// never values: a `const`, `default` or `examples` value that happens to
/// look like a schema is not a subschema. The core closes objects with it;
/// the runtime's provider transforms walk schemas with it too.
///
/// ```
/// use rustchain_core::schema::{SubschemaAt, each_subschema};
/// let mut schema = serde_json::json!({
///     "properties": {"a": {"type": "string"}},
///     "anyOf": [{"type": "null"}],
///     "const": {"items": {}}
/// });
/// let mut seen = Vec::new();
/// each_subschema(&mut schema, |at, _| seen.push(format!("{at:?}")));
/// assert_eq!(seen, [r#"Entry("properties", "a")"#, r#"Item("anyOf", 0)"#]);
/// ```
pub fn each_subschema(schema: &mut Value, mut visit: impl FnMut(SubschemaAt<'_>, &mut Value)) {
    let Value::Object(object) = schema else {
        return; // `true` / `false`: no subschemas
    };
    for (key, value) in object.iter_mut() {
        let key = key.as_str();
        if ONE_SCHEMA.contains(&key) {
            visit(SubschemaAt::Keyword(key), value);
        } else if SCHEMA_LISTS.contains(&key) {
            if let Value::Array(list) = value {
                for (index, item) in list.iter_mut().enumerate() {
                    visit(SubschemaAt::Item(key, index), item);
                }
            }
        } else if SCHEMA_MAPS.contains(&key)
            && let Value::Object(map) = value
        {
            for (name, item) in map.iter_mut() {
                visit(SubschemaAt::Entry(key, name), item);
            }
        }
    }
}

/// Adds `additionalProperties: false` to every object schema within `schema`
/// (itself included) that does not say what extra keys it takes.
fn close_objects(schema: &mut Value) {
    if let Value::Object(object) = schema
        && is_object_schema(object)
        && !object.contains_key("additionalProperties")
        && !object.contains_key("unevaluatedProperties")
    {
        object.insert("additionalProperties".into(), false.into());
    }
    each_subschema(schema, |_, subschema| close_objects(subschema));
}

/// A schema of objects: `"type": "object"`, alone or among nullable types.
///
/// A bare `properties` without a type is left open: schemars writes those as
/// parts of a composition (`allOf`, a flattened enum's `oneOf`), where
/// closing one part would refuse the fields another part names.
fn is_object_schema(object: &Map<String, Value>) -> bool {
    match object.get("type") {
        Some(Value::String(ty)) => ty == "object",
        Some(Value::Array(types)) => types.iter().any(|ty| ty == "object"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::close_objects;
    use serde_json::json;

    #[test]
    fn objects_are_closed_at_every_depth_and_maps_keep_their_keys() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "inner": {"type": ["object", "null"], "properties": {"a": {"type": "integer"}}},
                "list": {"type": "array", "items": {"type": "object", "properties": {}}},
                "either": {"anyOf": [{"type": "object"}, {"type": "null"}]},
                "map": {"type": "object", "additionalProperties": {"type": "object"}},
                "free": {"type": "object", "additionalProperties": true},
                "any": true,
                "fixed": {"const": {"type": "object"}, "default": {"type": "object"}}
            },
            "$defs": {"Def": {"type": "object", "properties": {"b": {}}}}
        });
        close_objects(&mut schema);
        assert_eq!(schema["additionalProperties"], false);
        let properties = &schema["properties"];
        assert_eq!(properties["inner"]["additionalProperties"], false);
        assert_eq!(properties["list"]["items"]["additionalProperties"], false);
        assert_eq!(
            properties["either"]["anyOf"][0]["additionalProperties"],
            false
        );
        assert!(
            properties["either"]["anyOf"][1]
                .get("additionalProperties")
                .is_none()
        );
        // A map's values are objects of their own, closed too.
        assert_eq!(
            properties["map"]["additionalProperties"],
            json!({"type": "object", "additionalProperties": false})
        );
        assert_eq!(properties["free"]["additionalProperties"], true);
        assert_eq!(properties["any"], true);
        // Values, not schemas: left as written.
        assert_eq!(properties["fixed"]["const"], json!({"type": "object"}));
        assert_eq!(properties["fixed"]["default"], json!({"type": "object"}));
        assert_eq!(schema["$defs"]["Def"]["additionalProperties"], false);
    }
}
