//! OpenAI's strict mode (Structured Outputs for function calling): the schema
//! transform, and the reasons a schema cannot be strict.
//!
//! The rules, from OpenAI's Structured Outputs guide ("Supported schemas")
//! and the checks of pydantic-ai's `OpenAIJsonSchemaTransformer`:
//!
//! - The root is an object, not an `anyOf`.
//! - Every object has `additionalProperties: false` and lists every property
//!   in `required`. An optional property must then accept `null` to be left
//!   out: the properties our decoder treats as optional (`Option<T>`) already
//!   do, so they only join `required`. A property with a serde default that
//!   does not accept `null` joins `required` as it is, so the model always
//!   sends a value the decoder takes (making it nullable would let the model
//!   send a `null` the decoder refuses).
//! - Supported keywords only: `type` (one, or a list with `null`), `properties`,
//!   `required`, `additionalProperties: false`, `items`, `anyOf`, `enum`,
//!   `const`, `$ref` (to `#` or `#/$defs/NAME`, with no siblings), `$defs`,
//!   `description`, `pattern` (without lookaround), `format` (`date-time`,
//!   `time`, `date`, `duration`, `email`, `hostname`, `ipv4`, `ipv6`, `uuid`),
//!   `multipleOf`, `minimum`, `maximum`, `exclusiveMinimum`,
//!   `exclusiveMaximum`, `minItems`, `maxItems`.
//! - No `default` (dropped: a left-out value is sent as `null`), no `title`.
//! - `oneOf` becomes `anyOf`: schemars writes `oneOf` for serde enums, whose
//!   branches never overlap (distinct tags or constants), so "exactly one"
//!   and "at least one" accept the same values.
//! - A `$ref` with siblings (a parameter's description beside it) becomes
//!   `{"anyOf": [{"$ref": ...}], ...siblings}`, which strict mode allows.
//! - A type list naming `object` or `array` becomes an `anyOf`, one branch a type.
//! - Validation keywords strict mode lacks (`minLength`, `maxLength`,
//!   `uniqueItems`, `minProperties`, `maxProperties`, an unsupported string
//!   `format`) move into the description as a note; integer formats such as
//!   `uint32` are dropped, their range being in `minimum` / `maximum`.
//! - At most 10 levels of nested objects and 5000 properties in the schema
//!   and in each definition, at most 1000 enum values.
//!
//! A schema that needs what strict mode cannot say is not strict-compatible,
//! and each reason is reported with its JSON Pointer: a map (an object whose
//! `additionalProperties` is a schema or `true`), a value of any type (a
//! `serde_json::Value`: `true`, `{}` or only a description), an array with
//! untyped items, and `allOf`, `not`, `if`/`then`/`else`, `prefixItems`
//! (tuples), `patternProperties`, `propertyNames`, `dependentSchemas`,
//! `dependentRequired`, `contains`, `unevaluatedProperties`,
//! `unevaluatedItems`, or a `$ref` into anything but `$defs`.

use serde_json::{Map, Value};

use super::walk::{self, ANNOTATIONS};

/// Keywords strict mode accepts and this transform keeps.
const SUPPORTED: [&str; 20] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "const",
    "$ref",
    "$defs",
    "description",
    "pattern",
    "format",
    "multipleOf",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
];

/// Keywords whose meaning strict mode cannot express at all.
const IMPOSSIBLE: [&str; 13] = [
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "prefixItems",
    "patternProperties",
    "propertyNames",
    "dependentSchemas",
    "dependentRequired",
    "contains",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// The string formats strict mode accepts.
const FORMATS: [&str; 9] = [
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

const MAX_DEPTH: usize = 10;
const MAX_PROPERTIES: usize = 5000;
const MAX_ENUM_VALUES: usize = 1000;

/// The strict-mode form of `parameters` (an input schema without `$schema`),
/// or every reason it cannot be strict, each naming where.
pub(crate) fn strict_parameters(parameters: &Value) -> Result<Value, Vec<String>> {
    let mut schema = parameters.clone();
    let mut problems = Vec::new();
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        problems.push("the root is not an object schema".to_owned());
    }
    walk::post_order(&mut schema, "", &mut |node, _| {
        walk::split_type_list(node, walk::names_structured_type);
    });
    walk::post_order(&mut schema, "", &mut |node, path| {
        strict_node(node, path, &mut problems);
    });
    check_size(&schema, &mut problems);
    if problems.is_empty() {
        Ok(schema)
    } else {
        Err(problems)
    }
}

/// Makes one subschema strict, or says why it cannot be.
fn strict_node(node: &mut Value, path: &str, problems: &mut Vec<String>) {
    let at = where_(path);
    if matches!(node, Value::Bool(_)) && path.ends_with("/additionalProperties") {
        // `false` closes the object; `true` makes it a map, which its object reports.
        return;
    }
    let object = match node {
        Value::Object(object) => object,
        Value::Bool(true) => {
            return problems.push(format!(
                "{at} accepts any JSON value; strict mode needs a type"
            ));
        }
        Value::Bool(false) => return problems.push(format!("{at} accepts no value at all")),
        _ => return problems.push(format!("{at} is not a schema")),
    };
    for keyword in IMPOSSIBLE {
        if object.contains_key(keyword) {
            problems.push(format!(
                "{at} uses `{keyword}`, which strict mode does not support"
            ));
        }
    }
    if !walk::is_typed(object) {
        return problems.push(format!(
            "{at} accepts any JSON value (a `serde_json::Value`?); strict mode needs a type"
        ));
    }
    if let Some(one_of) = object.shift_remove("oneOf") {
        if object.contains_key("anyOf") {
            problems.push(format!("{at} has both `oneOf` and `anyOf`"));
        }
        object.insert("anyOf".into(), one_of);
    }
    keep_supported(object);
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        if !is_definition_ref(reference) {
            problems.push(format!(
                "{at} refers to `{reference}`; strict mode resolves only `#` and `#/$defs/NAME`"
            ));
        }
        if object.len() > 1 {
            let reference = object.shift_remove("$ref").unwrap_or_default();
            let branch = Map::from_iter([("$ref".to_owned(), reference)]);
            object.insert("anyOf".into(), Value::Array(vec![Value::Object(branch)]));
        }
    }
    match object.get("type").and_then(Value::as_str) {
        Some("object") => close_object(object, &at, problems),
        Some("array") => {
            let typed_items = object
                .get("items")
                .and_then(Value::as_object)
                .is_some_and(walk::is_typed);
            if !typed_items {
                problems.push(format!("{at} is an array whose items have no type"));
            }
        }
        _ => {}
    }
}

/// Keeps the supported keywords, notes the constraints it cannot keep in the
/// description, and drops annotations and integer formats silently.
fn keep_supported(object: &mut Map<String, Value>) {
    let keep = |key: &str, value: &Value| match key {
        "format" => value
            .as_str()
            .is_some_and(|format| FORMATS.contains(&format)),
        "pattern" => value
            .as_str()
            .is_some_and(|pattern| !has_lookaround(pattern)),
        _ => SUPPORTED.contains(&key) || IMPOSSIBLE.contains(&key),
    };
    let silent = |key: &str, value: &Value| {
        ANNOTATIONS.contains(&key)
            || key == "$schema"
            || (key == "format" && value.as_str().is_some_and(walk::is_numeric_format))
    };
    walk::move_to_description(object, keep, silent);
}

/// Closes an object and requires every property.
fn close_object(object: &mut Map<String, Value>, at: &str, problems: &mut Vec<String>) {
    match object.get("additionalProperties") {
        None | Some(Value::Bool(false)) => {
            object.insert("additionalProperties".into(), false.into());
        }
        Some(_) => problems.push(format!(
            "{at} is a map (it takes keys it does not name); strict mode needs every key named"
        )),
    }
    let names: Vec<Value> = match object
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(properties) => properties.keys().cloned().map(Value::String).collect(),
        _ => return problems.push(format!("{at} has `properties` that are not an object")),
    };
    object.insert("required".into(), Value::Array(names));
}

/// `#` or `#/$defs/NAME`: the only pointers strict mode resolves.
fn is_definition_ref(reference: &str) -> bool {
    reference == "#"
        || reference
            .strip_prefix("#/$defs/")
            .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

fn has_lookaround(pattern: &str) -> bool {
    ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .any(|token| pattern.contains(token))
}

/// Where a problem is, for people: `the root` or `` `/properties/x` ``.
fn where_(path: &str) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        format!("`{path}`")
    }
}

/// OpenAI's size limits, counted as the API does: the root and each
/// definition on their own, without following `$ref`s.
fn check_size(schema: &Value, problems: &mut Vec<String>) {
    let mut parts = vec![("the root".to_owned(), schema)];
    if let Some(Value::Object(definitions)) = schema.get("$defs") {
        parts.extend(
            definitions
                .iter()
                .map(|(name, definition)| (format!("`$defs/{name}`"), definition)),
        );
    }
    let mut properties = 0;
    let mut enum_values = 0;
    for (name, part) in parts {
        let depth = object_depth(part, &mut properties, &mut enum_values);
        if depth > MAX_DEPTH {
            problems.push(format!(
                "{name} nests objects {depth} deep; strict mode allows {MAX_DEPTH}"
            ));
        }
    }
    if properties > MAX_PROPERTIES {
        problems.push(format!(
            "the schema has {properties} properties; strict mode allows {MAX_PROPERTIES}"
        ));
    }
    if enum_values > MAX_ENUM_VALUES {
        problems.push(format!(
            "the schema has {enum_values} enum values; strict mode allows {MAX_ENUM_VALUES}"
        ));
    }
}

/// How many object levels nest in `schema` (not counting `$defs`), adding
/// its properties and enum values to the counts.
fn object_depth(schema: &Value, properties: &mut usize, enum_values: &mut usize) -> usize {
    let Value::Object(object) = schema else {
        return 0;
    };
    if let Some(Value::Array(values)) = object.get("enum") {
        *enum_values += values.len();
    }
    if let Some(Value::Object(children)) = object.get("properties") {
        *properties += children.len();
    }
    let children = object
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(Map::values)
        .chain(object.get("items"))
        .chain(
            object
                .get("anyOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    let mut deepest = 0;
    for child in children {
        deepest = deepest.max(object_depth(child, properties, enum_values));
    }
    let own = usize::from(object.get("type").and_then(Value::as_str) == Some("object"));
    deepest + own
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strict(schema: Value) -> Value {
        strict_parameters(&schema).unwrap_or_else(|problems| panic!("not strict: {problems:?}"))
    }

    fn problems(schema: Value) -> Vec<String> {
        strict_parameters(&schema).expect_err("cannot be strict")
    }

    #[test]
    fn optional_properties_become_required_and_keep_accepting_null() {
        let schema = strict(json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City."},
                "days": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
                "tags": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Tags."},
                "units": {"anyOf": [{"$ref": "#/$defs/Units"}, {"type": "null"}], "description": "Units."},
                "home": {"$ref": "#/$defs/Units", "description": "Home units."}
            },
            "required": ["city", "home"],
            "additionalProperties": false,
            "$defs": {"Units": {"type": "string", "enum": ["c", "f"], "default": "c", "title": "Units"}}
        }));
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City."},
                    "days": {"type": ["integer", "null"], "minimum": 0},
                    "tags": {"description": "Tags.", "anyOf": [
                        {"type": "array", "items": {"type": "string"}}, {"type": "null"}
                    ]},
                    "units": {"anyOf": [{"$ref": "#/$defs/Units"}, {"type": "null"}], "description": "Units."},
                    "home": {"description": "Home units.", "anyOf": [{"$ref": "#/$defs/Units"}]}
                },
                "required": ["city", "days", "tags", "units", "home"],
                "additionalProperties": false,
                "$defs": {"Units": {"type": "string", "enum": ["c", "f"]}}
            })
        );
    }

    #[test]
    fn nested_objects_are_closed_and_one_of_becomes_any_of() {
        let schema = strict(json!({
            "type": "object",
            "properties": {"kind": {"oneOf": [
                {"type": "string", "const": "Company"},
                {"type": "object", "properties": {"Person": {"type": "object", "properties": {"age": {"type": "integer", "default": 0}}}}}
            ]}},
            "required": ["kind"]
        }));
        let person = &schema["properties"]["kind"]["anyOf"][1];
        assert_eq!(person["additionalProperties"], false);
        assert_eq!(person["required"], json!(["Person"]));
        assert_eq!(person["properties"]["Person"]["required"], json!(["age"]));
        assert_eq!(
            person["properties"]["Person"]["properties"]["age"],
            json!({"type": "integer"})
        );
    }

    #[test]
    fn constraints_strict_mode_lacks_are_kept_as_notes() {
        let schema = strict(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 9, "description": "Name."},
                "ids": {"type": "array", "items": {"type": "string", "format": "uri"}, "uniqueItems": true},
                "when": {"type": "string", "format": "date-time"}
            },
            "required": ["name", "ids", "when"]
        }));
        let properties = &schema["properties"];
        assert_eq!(
            properties["name"],
            json!({"type": "string", "description": "Name. (minLength: 1, maxLength: 9)"})
        );
        assert_eq!(properties["ids"]["description"], "(uniqueItems: true)");
        assert_eq!(
            properties["ids"]["items"],
            json!({"type": "string", "description": "(format: uri)"})
        );
        assert_eq!(properties["when"]["format"], "date-time");
    }

    #[test]
    fn maps_free_form_values_and_tuples_cannot_be_strict_and_each_is_named() {
        let found = problems(json!({
            "type": "object",
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": ["object", "null"], "additionalProperties": true},
                "extra": {"description": "Any JSON."},
                "nested": {"type": "object", "properties": {"any": true}},
                "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
                "list": {"type": "array"}
            }
        }));
        let text = found.join("\n");
        for needle in [
            "`/properties/labels` is a map",
            "`/properties/free/anyOf/0` is a map",
            "`/properties/extra` accepts any JSON value",
            "`/properties/nested/properties/any` accepts any JSON value",
            "`/properties/pair` uses `prefixItems`",
            "`/properties/list` is an array whose items have no type",
        ] {
            assert!(text.contains(needle), "{needle} in\n{text}");
        }
    }

    #[test]
    fn references_outside_defs_and_compositions_are_refused() {
        let text = problems(json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/properties/b"},
                "b": {"allOf": [{"type": "string"}]},
                "c": {"type": "string", "not": {"const": "x"}}
            }
        }))
        .join("\n");
        assert!(text.contains("refers to `#/properties/b`"), "{text}");
        assert!(text.contains("`/properties/b` uses `allOf`"), "{text}");
        assert!(text.contains("`/properties/c` uses `not`"), "{text}");
        let root = problems(json!({"anyOf": [{"type": "object"}]}));
        assert!(root[0].contains("the root is not an object"), "{root:?}");
    }

    #[test]
    fn size_limits_are_counted_as_the_api_counts_them() {
        let mut deep = json!({"type": "string"});
        for _ in 0..11 {
            deep = json!({"type": "object", "properties": {"x": deep}, "required": ["x"]});
        }
        let text = problems(deep).join("\n");
        assert!(text.contains("nests objects 11 deep"), "{text}");
        let many: Vec<Value> = (0..1001).map(Value::from).collect();
        let text =
            problems(json!({"type": "object", "properties": {"n": {"enum": many}}})).join("\n");
        assert!(text.contains("1001 enum values"), "{text}");
        let mut ten = json!({"type": "string"});
        for _ in 0..10 {
            ten = json!({"type": "object", "properties": {"x": ten}});
        }
        strict(ten);
    }
}
