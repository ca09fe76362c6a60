//! JSON Schemas (2020-12) for a tool's input and output, built from its signature.
//!
//! Each schema gets a fresh [`SchemaGenerator`]: schemars keeps every type it
//! has seen in a generator's `$defs`, so a shared one would leak one tool's
//! definitions into another's schema.

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
/// the required ones listed, and nothing else allowed.
///
/// ```
/// use rustchain_tools::{schema::input_schema, ParamInfo};
/// static PARAMS: [ParamInfo; 1] = [ParamInfo { name: "city", description: "City name", required: true }];
/// let schema = input_schema::<(String,)>(&PARAMS);
/// assert_eq!(schema.get("required").unwrap(), &serde_json::json!(["city"]));
/// assert_eq!(schema.get("additionalProperties").unwrap(), &serde_json::json!(false));
/// ```
pub fn input_schema<P: ParamList>(params: &'static [ParamInfo]) -> Schema {
    let mut generator = generator();
    let types = P::schemas(&mut generator);
    let mut properties = Map::with_capacity(params.len());
    for (param, schema) in params.iter().zip(types) {
        properties.insert(param.name.to_owned(), described(schema, param.description));
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
    let definitions = generator.take_definitions(true);
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
