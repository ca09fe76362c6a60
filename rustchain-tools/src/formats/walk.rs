//! Walking a JSON Schema's subschemas, and the rewrites several provider
//! transforms share.
//!
//! Only schema positions are visited (`properties`, `items`, `anyOf`, ...),
//! never values: a `const`, `default` or `enum` that happens to look like a
//! schema is left as written.

use rustchain_core::schema::{SubschemaAt, each_subschema};
use serde_json::{Map, Value};

/// The keywords that say what type a value has: a schema with none of them
/// accepts any JSON value (`{}`, or one with only a description).
pub(crate) const TYPE_BEARING: [&str; 7] =
    ["type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"];

/// Keywords that only describe, never constrain: a transform may keep or drop
/// them without changing what a schema accepts.
pub(crate) const ANNOTATIONS: [&str; 8] = [
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

/// Calls `visit` on every subschema of `schema` and then on `schema` itself
/// (children before parents), with each one's JSON Pointer from the root.
///
/// A parent therefore sees its children already rewritten, and `visit` may
/// replace a node whole (a `true` schema by an object, say). Which keys hold
/// subschemas is the core's [`each_subschema`]'s to say.
pub(crate) fn post_order(schema: &mut Value, path: &str, visit: &mut impl FnMut(&mut Value, &str)) {
    each_subschema(schema, |at, subschema| {
        let path = match at {
            SubschemaAt::Keyword(key) => format!("{path}/{key}"),
            SubschemaAt::Item(key, index) => format!("{path}/{key}/{index}"),
            SubschemaAt::Entry(key, name) => format!("{path}/{key}/{}", pointer_escape(name)),
        };
        post_order(subschema, &path, visit);
    });
    visit(schema, path);
}

/// `name` escaped for a JSON Pointer (RFC 6901): `~` as `~0`, `/` as `~1`.
fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Whether `schema` says what type its values have (see [`TYPE_BEARING`]).
pub(crate) fn is_typed(schema: &Map<String, Value>) -> bool {
    TYPE_BEARING.iter().any(|key| schema.contains_key(*key))
}

/// Keywords that apply to one JSON type only, so splitting a type list
/// (`"type": ["array", "null"]`) moves each to its own branch.
fn applies_to(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "minLength" | "maxLength" | "pattern" | "contentEncoding" | "contentMediaType" => "string",
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => "number",
        "items" | "prefixItems" | "minItems" | "maxItems" | "uniqueItems" | "contains"
        | "minContains" | "maxContains" | "unevaluatedItems" => "array",
        "properties"
        | "required"
        | "additionalProperties"
        | "patternProperties"
        | "propertyNames"
        | "minProperties"
        | "maxProperties"
        | "unevaluatedProperties"
        | "dependentRequired"
        | "dependentSchemas" => "object",
        _ => return None,
    })
}

/// Rewrites a type list (`"type": ["string", "null"]`) as an `anyOf` with one
/// branch per type, each holding the keywords that apply to it. Annotations,
/// `enum` and `const` stay at the top; `format` goes with the first non-null
/// type, as it describes that one.
///
/// Anthropic's SDK refuses type lists, and OpenAI's strict checkers do not
/// look inside them, so both transforms use this. A single-type list becomes
/// that type. `when` picks the lists to rewrite (all of them, or only those
/// naming a structured type).
pub(crate) fn split_type_list(schema: &mut Value, when: impl Fn(&[Value]) -> bool) {
    let Value::Object(object) = schema else {
        return;
    };
    let Some(Value::Array(types)) = object.get("type").cloned() else {
        return;
    };
    if types.len() == 1 {
        object.insert("type".into(), types[0].clone());
        return;
    }
    if !when(&types) {
        return;
    }
    object.shift_remove("type");
    let mut branches: Vec<Map<String, Value>> = types
        .iter()
        .map(|ty| Map::from_iter([("type".to_owned(), ty.clone())]))
        .collect();
    let first_typed = types.iter().position(|ty| ty != "null");
    let keys: Vec<String> = object.keys().cloned().collect();
    for key in keys {
        let target = match (key.as_str(), applies_to(&key)) {
            ("format", _) => first_typed,
            (_, Some(kind)) => types
                .iter()
                .position(|ty| ty == kind || (kind == "number" && ty == "integer")),
            (_, None) => None,
        };
        if let Some(index) = target
            && let Some(value) = object.shift_remove(&key)
        {
            branches[index].insert(key, value);
        }
    }
    let any_of = branches.into_iter().map(Value::Object).collect();
    object.insert("anyOf".into(), Value::Array(any_of));
}

/// Whether a type list names a structured type (`object` or `array`).
pub(crate) fn names_structured_type(types: &[Value]) -> bool {
    types.iter().any(|ty| ty == "object" || ty == "array")
}

/// Moves the `keywords` of `schema` that `keep` refuses into its description,
/// as `(key: value, ...)`, so a model still reads a constraint the provider
/// cannot state; returns what was moved.
///
/// `silent` keywords are dropped without a note (annotations and the like).
pub(crate) fn move_to_description(
    schema: &mut Map<String, Value>,
    keep: impl Fn(&str, &Value) -> bool,
    silent: impl Fn(&str, &Value) -> bool,
) -> Vec<String> {
    let refused: Vec<String> = schema
        .iter()
        .filter(|(key, value)| !keep(key, value))
        .map(|(key, _)| key.clone())
        .collect();
    let mut notes = Vec::new();
    for key in &refused {
        let Some(value) = schema.shift_remove(key) else {
            continue;
        };
        if !silent(key, &value) {
            notes.push(format!("{key}: {}", compact(&value)));
        }
    }
    if !notes.is_empty() {
        let note = format!("({})", notes.join(", "));
        let description = match schema.get("description").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => format!("{text} {note}"),
            _ => note,
        };
        schema.insert("description".into(), description.into());
    }
    refused
}

/// A value as short text for a description: strings unquoted.
fn compact(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Formats of integers and floats as schemars writes them (`uint32`,
/// `double`, ...): the range they imply is already in `minimum` / `maximum`
/// where it matters, so dropping one loses nothing a model needs.
pub(crate) fn is_numeric_format(format: &str) -> bool {
    matches!(
        format,
        "int"
            | "int8"
            | "int16"
            | "int32"
            | "int64"
            | "int128"
            | "uint"
            | "uint8"
            | "uint16"
            | "uint32"
            | "uint64"
            | "uint128"
            | "float"
            | "double"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn post_order_visits_children_first_with_their_pointers() {
        let mut schema = json!({
            "properties": {"a/b": {"items": {"type": "string"}}},
            "anyOf": [{"type": "null"}],
            "const": {"properties": {"not": "a schema"}}
        });
        let mut seen = Vec::new();
        post_order(&mut schema, "", &mut |_, path| seen.push(path.to_owned()));
        assert_eq!(
            seen,
            ["/properties/a~1b/items", "/properties/a~1b", "/anyOf/0", ""]
        );
    }

    #[test]
    fn a_type_list_splits_into_branches_that_keep_their_own_keywords() {
        let mut schema = json!({
            "type": ["array", "null"],
            "items": {"type": "string"},
            "minItems": 1,
            "description": "Tags."
        });
        split_type_list(&mut schema, |_| true);
        assert_eq!(
            schema,
            json!({
                "description": "Tags.",
                "anyOf": [
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    {"type": "null"}
                ]
            })
        );
        let mut integer = json!({"type": ["integer", "null"], "format": "uint32", "minimum": 0});
        split_type_list(&mut integer, |_| true);
        assert_eq!(
            integer,
            json!({"anyOf": [{"type": "integer", "format": "uint32", "minimum": 0}, {"type": "null"}]})
        );
        let mut primitive = json!({"type": ["string", "null"]});
        split_type_list(&mut primitive, names_structured_type);
        assert_eq!(primitive, json!({"type": ["string", "null"]}), "left alone");
    }

    #[test]
    fn refused_keywords_become_a_note_in_the_description() {
        let mut schema =
            json!({"type": "string", "minLength": 1, "description": "A name.", "$comment": "x"});
        let Value::Object(object) = &mut schema else {
            unreachable!("an object literal")
        };
        let moved = move_to_description(
            object,
            |key, _| matches!(key, "type" | "description"),
            |key, _| key == "$comment",
        );
        assert_eq!(moved, ["minLength", "$comment"]);
        assert_eq!(
            schema,
            json!({"type": "string", "description": "A name. (minLength: 1)"})
        );
    }
}
