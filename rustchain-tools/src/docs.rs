//! A Markdown reference of a tool set, from its [`Manifest`]: what
//! `rustchain tools docs` prints, for a README or a docs site.
//!
//! Per tool: its description, a parameter table (name, type, required or
//! optional, description), what it declares it touches, its hints and tags,
//! its result type, where it was defined, and an example call whose
//! arguments satisfy its schema.
//!
//! ```
//! use rustchain_tools::{Manifest, Registry, docs};
//!
//! let text = docs::markdown(&Manifest::of(Registry::global()), "my-agent");
//! assert!(text.starts_with("# Tools\n"));
//! ```

use serde_json::{Map, Value, json};

use crate::manifest::{Manifest, ToolManifest};

/// The Markdown reference of every tool in `manifest`; example calls start
/// with `program` (the binary that serves the tools).
pub fn markdown(manifest: &Manifest, program: &str) -> String {
    let mut out = String::from("# Tools\n\n");
    let count = manifest.tools.len();
    out.push_str(&format!(
        "{count} tool{} linked into `{program}`.\n\n",
        if count == 1 { "" } else { "s" }
    ));
    if count > 0 {
        out.push_str("| tool | description |\n| --- | --- |\n");
        for tool in &manifest.tools {
            out.push_str(&format!(
                "| [`{}`](#{}) | {} |\n",
                tool.name,
                anchor(&tool.name),
                cell(first_sentence(&tool.description))
            ));
        }
    }
    for tool in &manifest.tools {
        out.push('\n');
        section(&mut out, tool, program);
    }
    out
}

fn section(out: &mut String, tool: &ToolManifest, program: &str) {
    out.push_str(&format!("## {}\n\n", tool.name));
    if let Some(title) = &tool.title {
        out.push_str(&format!("**{}**\n\n", title.trim()));
    }
    out.push_str(tool.description.trim());
    out.push_str("\n\n");
    let schema = tool.input_schema.as_value();
    let properties = schema.get("properties").and_then(Value::as_object);
    if tool.params.is_empty() {
        out.push_str("Takes no arguments.\n\n");
    } else {
        out.push_str("| parameter | type | required | description |\n| --- | --- | --- | --- |\n");
        for param in &tool.params {
            let ty = properties
                .and_then(|properties| properties.get(&param.name))
                .map_or_else(|| "any".to_owned(), |property| type_of(property, schema));
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                param.name,
                cell(&ty),
                if param.required { "yes" } else { "no" },
                cell(&param.description)
            ));
        }
        out.push('\n');
    }
    let output = tool.output_schema.as_value();
    out.push_str(&format!(
        "- **Returns:** {}\n",
        type_of(output, output).replace('|', "or")
    ));
    if !tool.permissions.is_empty() {
        let touches: Vec<String> = tool
            .permissions
            .iter()
            .map(|permission| {
                let kind = serde_json::to_value(permission.kind)
                    .ok()
                    .and_then(|kind| kind.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!("`{}` ({kind})", permission.param)
            })
            .collect();
        out.push_str(&format!("- **Touches:** {}\n", touches.join(", ")));
    }
    let hints = hints(tool);
    if !hints.is_empty() {
        out.push_str(&format!("- **Hints:** {}\n", hints.join(", ")));
    }
    if !tool.tags.is_empty() {
        out.push_str(&format!("- **Tags:** {}\n", tool.tags.join(", ")));
    }
    if let Some(ms) = tool.timeout_ms {
        out.push_str(&format!("- **Timeout:** {ms} ms\n"));
    }
    out.push_str(&format!("- **Defined in:** {}\n\n", tool.source));
    let example = example_args(tool);
    out.push_str(&format!(
        "```sh\n{program} tools call {} --args {}\n```\n",
        tool.name,
        shell_quote(&example.to_string())
    ));
}

fn hints(tool: &ToolManifest) -> Vec<&'static str> {
    let annotations = &tool.annotations;
    [
        (annotations.read_only, "read-only"),
        (annotations.destructive, "destructive"),
        (annotations.idempotent, "idempotent"),
        (annotations.open_world, "open world"),
    ]
    .into_iter()
    .filter_map(|(hint, name)| (hint == Some(true)).then_some(name))
    .collect()
}

/// A readable type for a property schema: `string`, `integer or null`,
/// `array of string`, `"celsius" or "fahrenheit"`, a `$ref`'s name.
fn type_of(schema: &Value, root: &Value) -> String {
    let Value::Object(object) = schema else {
        return "any".to_owned();
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let resolved = reference
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs")?.get(name));
        return match resolved {
            Some(definition) if definition.get("enum").is_some() => type_of(definition, root),
            _ => reference.rsplit('/').next().unwrap_or(reference).to_owned(),
        };
    }
    if let Some(Value::Array(values)) = object.get("enum") {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = object.get(combinator) {
            return branches
                .iter()
                .map(|branch| type_of(branch, root))
                .collect::<Vec<_>>()
                .join(" | ");
        }
    }
    let one = |ty: &str| match ty {
        "array" => match object.get("items") {
            Some(items) => format!("array of {}", type_of(items, root)),
            None => "array".to_owned(),
        },
        other => other.to_owned(),
    };
    match object.get("type") {
        Some(Value::String(ty)) => one(ty),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .map(one)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_owned(),
    }
}

/// Arguments for the example call: every required parameter, with a value
/// of its type (its default or first enum value when it has one).
fn example_args(tool: &ToolManifest) -> Value {
    let schema = tool.input_schema.as_value();
    let properties = schema.get("properties").and_then(Value::as_object);
    let mut args = Map::new();
    for param in tool.params.iter().filter(|param| param.required) {
        let property = properties.and_then(|properties| properties.get(&param.name));
        args.insert(
            param.name.clone(),
            property.map_or(Value::Null, |property| example_value(property, schema, 0)),
        );
    }
    Value::Object(args)
}

fn example_value(schema: &Value, root: &Value, depth: usize) -> Value {
    let Value::Object(object) = schema else {
        return Value::Null;
    };
    if depth > 8 {
        return Value::Null;
    }
    if let Some(value) = object.get("default").or(object.get("const")) {
        return value.clone();
    }
    if let Some(Value::Array(values)) = object.get("enum")
        && let Some(first) = values.first()
    {
        return first.clone();
    }
    if let Some(definition) = object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.strip_prefix("#/$defs/"))
        .and_then(|name| root.get("$defs")?.get(name))
    {
        return example_value(definition, root, depth + 1);
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = object.get(combinator)
            && let Some(first) = branches.first()
        {
            return example_value(first, root, depth + 1);
        }
    }
    let ty = match object.get("type") {
        Some(Value::String(ty)) => ty.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|ty| *ty != "null")
            .unwrap_or("null"),
        _ => "null",
    };
    match ty {
        "string" => json!("text"),
        "integer" => json!(object.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
        "number" => json!(object.get("minimum").and_then(Value::as_f64).unwrap_or(1.5)),
        "boolean" => json!(true),
        "array" => Value::Array(Vec::new()),
        "object" => {
            let required = object.get("required").and_then(Value::as_array);
            let properties = object.get("properties").and_then(Value::as_object);
            let mut fields = Map::new();
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                let property = properties.and_then(|properties| properties.get(name));
                fields.insert(
                    name.to_owned(),
                    property.map_or(Value::Null, |property| {
                        example_value(property, root, depth + 1)
                    }),
                );
            }
            Value::Object(fields)
        }
        _ => Value::Null,
    }
}

/// `text` as one POSIX shell word: single-quoted, each `'` as `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` fit for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', r"\|")
}

/// The first sentence (or line) of a description, for the summary table.
fn first_sentence(text: &str) -> &str {
    let text = text.trim();
    let line = text.lines().next().unwrap_or_default();
    match line.find(". ") {
        Some(end) => &line[..=end],
        None => line,
    }
}

/// GitHub's anchor for a `## name` heading: lower case, `_` and `-` kept.
fn anchor(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_read_as_people_write_them() {
        let root = json!({"$defs": {"Units": {"enum": ["celsius", "fahrenheit"]}, "Point": {"type": "object"}}});
        for (schema, shown) in [
            (json!({"type": "string"}), "string"),
            (json!({"type": ["integer", "null"]}), "integer | null"),
            (
                json!({"type": "array", "items": {"type": "string"}}),
                "array of string",
            ),
            (
                json!({"$ref": "#/$defs/Units"}),
                r#""celsius" | "fahrenheit""#,
            ),
            (json!({"$ref": "#/$defs/Point"}), "Point"),
            (
                json!({"anyOf": [{"$ref": "#/$defs/Point"}, {"type": "null"}]}),
                "Point | null",
            ),
            (json!(true), "any"),
        ] {
            assert_eq!(type_of(&schema, &root), shown, "{schema}");
        }
    }

    #[test]
    fn example_values_follow_the_schema() {
        let root = json!({"$defs": {"Units": {"enum": ["celsius", "fahrenheit"]}}});
        for (schema, value) in [
            (json!({"type": "string"}), json!("text")),
            (json!({"type": "integer", "minimum": 3}), json!(3)),
            (json!({"type": ["boolean", "null"]}), json!(true)),
            (json!({"$ref": "#/$defs/Units"}), json!("celsius")),
            (json!({"type": "string", "default": "x"}), json!("x")),
            (
                json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}, "required": ["a"]}),
                json!({"a": 1}),
            ),
        ] {
            assert_eq!(example_value(&schema, &root, 0), value, "{schema}");
        }
    }

    #[test]
    fn text_is_quoted_for_the_shell_and_for_table_cells() {
        assert_eq!(shell_quote(r#"{"q":"it's"}"#), r#"'{"q":"it'\''s"}'"#);
        assert_eq!(cell("a | b\nc"), r"a \| b c");
        assert_eq!(
            first_sentence("Adds two. Then more.\nAnd more."),
            "Adds two."
        );
        assert_eq!(anchor("fs_read"), "fs_read");
    }
}
