//! Gemini function declarations (`gemini`) and `functionCall` parts.
//!
//! A declaration is `{"name", "description", "parameters_json_schema"}`, or
//! with [`GeminiParameters::OpenApi`] `{"name", "description", "parameters"}`:
//! the two fields are mutually exclusive, and Gemini prefers the first.
//!
//! `parameters_json_schema` keeps to the JSON Schema subset of the
//! `google-genai` SDK's `JSONSchema` type, which its `Schema.from_json_schema`
//! converts without refusing a field: `type` (one or a list, `null` included),
//! `format`, `title`, `description`, `default`, `enum`, `items`, `minItems`,
//! `maxItems`, `properties`, `required`, `minProperties`, `maxProperties`,
//! `additionalProperties`, `minimum`, `maximum`, `minLength`, `maxLength`,
//! `pattern`, `anyOf`, `$ref` and `$defs` (at the root). So:
//!
//! - `$schema` is dropped; `oneOf` becomes `anyOf` (serde enums' branches
//!   never overlap); `const: X` becomes `enum: [X]`.
//! - `format` is kept where Gemini defines it (`float`, `double` for numbers,
//!   `int32`, `int64` for integers, `enum`, `date-time` for strings) and
//!   dropped otherwise; other validation keywords (`exclusiveMinimum`,
//!   `multipleOf`, `uniqueItems`, ...) move into the description as a note.
//! - Keywords no subset can express (`allOf`, `not`, `prefixItems`, ...) are
//!   noted the same way, with a [`FormatWarningKind::Lossy`] warning.
//!
//! `parameters` is the OpenAPI 3.0 subset of Gemini's `Schema` type, built
//! from the above: upper-case `type` (`STRING`, `OBJECT`, ...), `nullable:
//! true` instead of a `null` type or branch, every `$ref` inlined (a
//! recursive one cannot be, and becomes a described `OBJECT`), no
//! `additionalProperties` (a map becomes an `OBJECT` without properties),
//! string `enum`s only; each loss of meaning gives a `Lossy` warning.
//!
//! Tool calls are `{"functionCall": {"id"?, "name", "args"}}` parts of a
//! model `Content` (`function_call` as the Python SDK dumps it is read too).
//! Results are `{"functionResponse": {"id"?, "name", "response"}}` parts,
//! with the output under `response.output` or the failure under
//! `response.error`, as the Gemini API documents those keys.

use serde_json::{Map, Value, json};

use super::calls::{self, CallFormatError, CallFormatErrorKind, ToolCall, error_text};
use super::{FormatWarning, FormatWarningKind, GeminiParameters, parameters_of, walk};
use crate::{ToolError, ToolManifest, ToolOutput};

/// Keywords `parameters_json_schema` keeps.
const JSON_SCHEMA_KEYWORDS: [&str; 21] = [
    "type",
    "format",
    "title",
    "description",
    "default",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "additionalProperties",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "$ref",
];

/// Keywords whose loss changes what a schema accepts, not only how strictly.
const STRUCTURAL: [&str; 12] = [
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "prefixItems",
    "patternProperties",
    "propertyNames",
    "dependentSchemas",
    "contains",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// Keywords of Gemini's OpenAPI-subset `Schema`, as the REST API spells them.
const OPENAPI_KEYWORDS: [&str; 22] = [
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// The Gemini function declaration of `tool`, with what it could not express.
///
/// ```
/// use rustchain_tools::formats::{GeminiParameters, gemini};
/// use rustchain_tools::{Registry, ToolManifest};
///
/// for tool in Registry::global().tools() {
///     let (declaration, _) = gemini::definition(&ToolManifest::of(tool), GeminiParameters::OpenApi);
///     assert_eq!(declaration["parameters"]["type"], "OBJECT");
/// }
/// ```
pub fn definition(tool: &ToolManifest, which: GeminiParameters) -> (Value, Vec<FormatWarning>) {
    let mut lost = Vec::new();
    let schema = json_schema(parameters_of(tool), &mut lost);
    let (key, schema) = match which {
        GeminiParameters::Json => ("parameters_json_schema", schema),
        GeminiParameters::OpenApi => ("parameters", openapi(schema, &mut lost)),
    };
    let warnings = lost
        .into_iter()
        .map(|loss| FormatWarning::new(FormatWarningKind::Lossy, &tool.name, loss))
        .collect();
    let declaration = json!({"name": tool.name, "description": tool.description, key: schema});
    (declaration, warnings)
}

/// `parameters` within the SDK's `JSONSchema` subset; structural losses are
/// added to `lost`.
fn json_schema(mut parameters: Value, lost: &mut Vec<String>) -> Value {
    walk::post_order(&mut parameters, "", &mut |node, path| {
        if node == &Value::Bool(true) && !path.ends_with("/additionalProperties") {
            *node = Value::Object(Map::new());
        }
        let Value::Object(object) = node else {
            return;
        };
        if let Some(one_of) = object.shift_remove("oneOf") {
            object.entry("anyOf").or_insert(one_of);
        }
        if let Some(constant) = object.shift_remove("const") {
            object.insert("enum".into(), Value::Array(vec![constant]));
        }
        let keep = |key: &str, value: &Value| match key {
            "format" => value.as_str().is_some_and(is_gemini_format),
            // `$defs` is kept at the root only, where the SDK resolves it.
            "$defs" => path.is_empty(),
            _ => JSON_SCHEMA_KEYWORDS.contains(&key),
        };
        let silent = |key: &str, value: &Value| {
            walk::ANNOTATIONS.contains(&key)
                || (key == "format" && value.as_str().is_some_and(walk::is_numeric_format))
        };
        let moved = walk::move_to_description(object, keep, silent);
        for keyword in moved
            .iter()
            .filter(|key| STRUCTURAL.contains(&key.as_str()))
        {
            lost.push(format!(
                "Gemini cannot express `{keyword}` at `{}`; it is only described",
                display_path(path)
            ));
        }
    });
    parameters
}

/// Gemini's documented formats: `float` and `double` for numbers, `int32`
/// and `int64` for integers, `enum` and `date-time` for strings.
fn is_gemini_format(format: &str) -> bool {
    matches!(
        format,
        "float" | "double" | "int32" | "int64" | "enum" | "date-time"
    )
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

/// A `parameters_json_schema` as the OpenAPI-subset `parameters`.
fn openapi(mut schema: Value, lost: &mut Vec<String>) -> Value {
    let definitions = match &mut schema {
        Value::Object(root) => match root.shift_remove("$defs") {
            Some(Value::Object(definitions)) => definitions,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    inline_refs(&mut schema, &definitions, &mut Vec::new(), lost);
    walk::post_order(&mut schema, "", &mut |node, path| {
        walk::split_type_list(node, |types| {
            types.iter().filter(|ty| *ty != "null").count() > 1
        });
        let Value::Object(object) = node else {
            return;
        };
        nullable_from_types(object);
        if let Some(extra) = object.shift_remove("additionalProperties")
            && extra != Value::Bool(false)
        {
            lost.push(format!(
                "`{}` is a map; Gemini's `parameters` cannot say which keys it takes",
                display_path(path)
            ));
        }
        let strings_only = |values: &Value| {
            values
                .as_array()
                .is_some_and(|values| values.iter().all(Value::is_string))
        };
        if object
            .get("enum")
            .is_some_and(|values| !strings_only(values))
        {
            lost.push(format!(
                "`{}` has an enum of non-strings, which `parameters` cannot hold; it is only described",
                display_path(path)
            ));
        }
        let keep = |key: &str, value: &Value| {
            OPENAPI_KEYWORDS.contains(&key) && (key != "enum" || strings_only(value))
        };
        walk::move_to_description(object, keep, |_, _| false);
    });
    schema
}

/// Replaces every `$ref` to a definition by the definition, its own keywords
/// (a description) over the definition's; a recursive one cannot be, and
/// becomes a described object.
fn inline_refs(
    node: &mut Value,
    definitions: &Map<String, Value>,
    stack: &mut Vec<String>,
    lost: &mut Vec<String>,
) {
    let Value::Object(object) = node else {
        return;
    };
    if let Some(Value::String(reference)) = object.shift_remove("$ref") {
        let name = reference
            .strip_prefix("#/$defs/")
            .unwrap_or(&reference)
            .to_owned();
        match definitions.get(&name) {
            Some(definition) if !stack.contains(&name) => {
                let mut inlined = definition.clone();
                stack.push(name);
                inline_refs(&mut inlined, definitions, stack, lost);
                stack.pop();
                if let Value::Object(inlined) = inlined {
                    for (key, value) in inlined {
                        object.entry(key).or_insert(value);
                    }
                }
            }
            _ => {
                lost.push(format!(
                    "`{reference}` is recursive or unknown; Gemini's `parameters` cannot refer to it"
                ));
                object.insert("type".into(), "object".into());
                let note = format!("(a `{name}`)");
                let description = match object.get("description").and_then(Value::as_str) {
                    Some(text) => format!("{text} {note}"),
                    None => note,
                };
                object.insert("description".into(), description.into());
            }
        }
        return;
    }
    for (key, value) in object.iter_mut() {
        match (key.as_str(), value) {
            ("properties", Value::Object(children)) => children
                .values_mut()
                .for_each(|child| inline_refs(child, definitions, stack, lost)),
            ("items" | "additionalProperties", child) => {
                inline_refs(child, definitions, stack, lost)
            }
            ("anyOf", Value::Array(branches)) => branches
                .iter_mut()
                .for_each(|branch| inline_refs(branch, definitions, stack, lost)),
            _ => {}
        }
    }
}

/// Upper-case types, and `nullable: true` for a `null` type or branch; an
/// `anyOf` left with one branch is merged into its parent.
fn nullable_from_types(object: &mut Map<String, Value>) {
    let mut nullable = false;
    // Rewritten in place, so `type` keeps its position.
    if let Some(ty) = object.get_mut("type") {
        let upper = match ty {
            Value::String(one) => Some(one.to_uppercase()),
            // After the split, a list holds one type besides `null`.
            Value::Array(types) => {
                nullable = types.iter().any(|ty| ty == "null");
                types
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|ty| *ty != "null")
                    .map(str::to_uppercase)
            }
            _ => None,
        };
        match upper {
            Some(upper) => *ty = upper.into(),
            None => {
                object.shift_remove("type");
            }
        }
    }
    if let Some(Value::Array(branches)) = object.get_mut("anyOf") {
        // Branches a type list was just split into have not been visited yet.
        for branch in branches.iter_mut() {
            if let Some(Value::String(ty)) = branch.get_mut("type") {
                *ty = ty.to_uppercase();
            }
        }
        let before = branches.len();
        branches.retain(|branch| branch.get("type").and_then(Value::as_str) != Some("NULL"));
        nullable |= branches.len() < before;
        if branches.len() == 1
            && let Some(Value::Object(only)) = branches.pop()
        {
            object.shift_remove("anyOf");
            for (key, value) in only {
                object.entry(key).or_insert(value);
            }
        }
    }
    if nullable {
        object.insert("nullable".into(), true.into());
    }
}

const FUNCTION_CALL: &str = "a Gemini functionCall";

/// One part holding a `functionCall` (or the `functionCall` object itself).
pub(crate) fn parse_call(item: &Value) -> Result<ToolCall, CallFormatError> {
    let part = calls::object(item, "a Gemini part")?;
    let call = match part
        .get("functionCall")
        .or_else(|| part.get("function_call"))
    {
        Some(call) => calls::object(call, FUNCTION_CALL)?,
        // A bare FunctionCall, as the SDK's `response.function_calls` lists them.
        None if part.contains_key("name") => part,
        None => {
            return Err(CallFormatError::new(
                CallFormatErrorKind::NotAToolCall,
                "a Gemini part must hold a `functionCall`",
            ));
        }
    };
    Ok(ToolCall {
        id: calls::optional_string_field(call, "id", FUNCTION_CALL)?,
        name: calls::string_field(call, "name", FUNCTION_CALL)?,
        arguments: calls::arguments_text(call.get("args")),
    })
}

/// The `functionCall` parts of a response (its first candidate), a
/// candidate, a content, or a list of parts.
pub(crate) fn calls_in(turn: &Value) -> Result<Vec<ToolCall>, CallFormatError> {
    let mut turn = turn;
    if let Some(first) = turn
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|candidates| candidates.first())
    {
        turn = first;
    }
    if let Some(content) = turn.get("content") {
        turn = content;
    }
    let parts = match turn {
        Value::Object(content) => match content.get("parts") {
            Some(parts) => calls::list(parts, "the `parts` of a Gemini content")?,
            None => return Ok(Vec::new()),
        },
        other => calls::list(other, "Gemini parts")?,
    };
    parts
        .iter()
        .filter(|part| {
            part.get("functionCall")
                .or_else(|| part.get("function_call"))
                .is_some()
        })
        .map(parse_call)
        .collect()
}

/// The `functionResponse` part that answers a `functionCall`.
pub(crate) fn result(call: &ToolCall, outcome: &Result<ToolOutput, ToolError>) -> Value {
    let response = match outcome {
        Ok(output) => json!({"output": output.to_value()}),
        Err(err) => json!({"error": error_text(err)}),
    };
    let mut function_response = Map::new();
    if let Some(id) = &call.id {
        function_response.insert("id".into(), id.clone().into());
    }
    function_response.insert("name".into(), call.name.clone().into());
    function_response.insert("response".into(), response);
    json!({"functionResponse": function_response})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_schema_subset_has_no_one_of_const_or_unknown_formats() {
        let mut lost = Vec::new();
        let schema = json_schema(
            json!({
                "type": "object",
                "properties": {
                    "method": {"anyOf": [{"$ref": "#/$defs/Method"}, {"type": "null"}]},
                    "n": {"type": "integer", "format": "uint64", "minimum": 0, "exclusiveMaximum": 9},
                    "pair": {"type": "array", "prefixItems": [{"type": "string"}]},
                    "json": true
                },
                "$defs": {"Method": {"oneOf": [{"type": "string", "const": "GET", "description": "Read."}]}}
            }),
            &mut lost,
        );
        assert_eq!(
            schema["$defs"]["Method"],
            json!({"anyOf": [{"type": "string", "enum": ["GET"], "description": "Read."}]})
        );
        assert_eq!(
            schema["properties"]["n"],
            json!({"type": "integer", "minimum": 0, "description": "(exclusiveMaximum: 9)"})
        );
        assert_eq!(schema["properties"]["json"], json!({}));
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert!(
            lost[0].contains("`prefixItems` at `/properties/pair`"),
            "{lost:?}"
        );
    }

    #[test]
    fn the_openapi_subset_inlines_references_and_says_nullable() {
        let mut lost = Vec::new();
        let schema = openapi(
            json!({
                "type": "object",
                "properties": {
                    "units": {"anyOf": [{"$ref": "#/$defs/Units"}, {"type": "null"}], "description": "Units."},
                    "days": {"type": ["integer", "null"], "format": "int32"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "tree": {"$ref": "#/$defs/Tree"}
                },
                "required": ["labels"],
                "additionalProperties": false,
                "$defs": {
                    "Units": {"type": "string", "enum": ["c", "f"]},
                    "Tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Tree"}}}
                }
            }),
            &mut lost,
        );
        assert_eq!(schema.get("$defs"), None);
        assert_eq!(schema.get("additionalProperties"), None);
        let properties = &schema["properties"];
        assert_eq!(
            properties["units"],
            json!({"type": "STRING", "enum": ["c", "f"], "description": "Units.", "nullable": true})
        );
        assert_eq!(
            properties["days"],
            json!({"type": "INTEGER", "format": "int32", "nullable": true})
        );
        assert_eq!(properties["labels"], json!({"type": "OBJECT"}));
        assert_eq!(properties["tree"]["properties"]["child"]["type"], "OBJECT");
        let text = lost.join("\n");
        assert!(text.contains("`/properties/labels` is a map"), "{text}");
        assert!(text.contains("`#/$defs/Tree` is recursive"), "{text}");
    }
}
