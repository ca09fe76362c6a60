//! How a tool looks on the command line: as JSON for programs, as text for people.

use std::fmt::{Display, Write as _};

use rustchain_tools::manifest::PermissionManifest;
use rustchain_tools::{Annotations, ToolError, ToolManifest};
use serde::Serialize;
use serde_json::{Value, json};

/// `value` (a manifest) as JSON.
pub(super) fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("a manifest serializes: its keys are strings")
}

/// A tool's manifest without its two schemas (their digests stay), for
/// listings that would otherwise be mostly schema: `tools list --compact`
/// and `tools search`.
pub(super) fn compact(manifest: &ToolManifest) -> Value {
    let mut value = to_json(manifest);
    if let Value::Object(object) = &mut value {
        object.remove("input_schema");
        object.remove("output_schema");
    }
    value
}

/// A successful call's result, as `tools call --json` reports it.
pub(super) fn call_ok(output: Value) -> Value {
    json!({ "ok": true, "output": output })
}

/// A failed call, as `tools call --json` reports it; `path` is `null` when unknown.
pub(super) fn call_error(err: &ToolError) -> Value {
    json!({
        "ok": false,
        "error": { "kind": err.kind(), "message": err.message(), "path": err.path() },
    })
}

/// `value` as indented JSON text ending in a newline.
pub(super) fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value)
        .expect("a serde_json::Value always serializes: its keys are strings");
    text.push('\n');
    text
}

/// What the output streams are attached to: a terminal's width (tables
/// fit it) and whether to colour (only on a terminal, never under `NO_COLOR`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Terminal {
    /// Columns of the terminal stdout is, `None` when it is not one.
    pub(super) width: Option<usize>,
    /// Whether stdout and stderr are terminals and `NO_COLOR` is unset or empty.
    pub(super) colour: bool,
}

/// A colour for [`Terminal::paint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Colour {
    Red,
    Yellow,
    Dim,
}

impl Terminal {
    /// The process's own streams.
    pub(super) fn detect() -> Terminal {
        use std::io::IsTerminal;
        let stdout = std::io::stdout().is_terminal();
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Terminal {
            width: stdout
                .then(terminal_size::terminal_size)
                .flatten()
                .map(|(width, _)| usize::from(width.0)),
            colour: stdout && std::io::stderr().is_terminal() && !no_colour,
        }
    }

    /// `text` in `colour` when colouring, else as it is.
    pub(super) fn paint(&self, text: &str, colour: Colour) -> String {
        if !self.colour {
            return text.to_owned();
        }
        let code = match colour {
            Colour::Red => "31",
            Colour::Yellow => "33",
            Colour::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// The narrowest the description column gets before a table runs past the
/// terminal instead.
const MIN_DESCRIPTION: usize = 20;

/// An aligned table of tools for people: name, first line of description,
/// tags; descriptions are cut (`…`) so lines fit `width` when it is known.
pub(super) fn table<'m>(
    tools: impl IntoIterator<Item = &'m ToolManifest>,
    width: Option<usize>,
) -> String {
    let mut rows: Vec<[String; 3]> = tools
        .into_iter()
        .map(|tool| {
            [
                tool.name.clone(),
                first_line(&tool.description),
                tool.tags.join(", "),
            ]
        })
        .collect();
    let header = ["NAME", "DESCRIPTION", "TAGS"].map(str::to_owned);
    if let Some(width) = width {
        let widest = |column: usize| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        };
        let room = width
            .saturating_sub(widest(0) + widest(2) + 4)
            .max(MIN_DESCRIPTION);
        for row in &mut rows {
            row[1] = cut(&row[1], room);
        }
    }
    aligned(std::iter::once(&header).chain(&rows))
}

/// `text` in at most `max` characters, the last one `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(max.saturating_sub(1)).collect();
    kept.truncate(kept.trim_end().len());
    kept.push('…');
    kept
}

/// Lays out rows in columns as wide as their widest cell, two spaces apart.
pub(super) fn aligned<'a, const N: usize>(
    rows: impl Iterator<Item = &'a [String; N]> + Clone,
) -> String {
    let mut widths = [0; N];
    for row in rows.clone() {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            push(&mut line, format_args!("{cell:<width$}  "));
        }
        push_line(&mut text, line.trim_end());
    }
    text
}

/// Everything about one tool, for people.
pub(super) fn describe(tool: &ToolManifest) -> String {
    let mut text = String::new();
    match &tool.title {
        Some(title) => push_line(&mut text, format_args!("{} ({title})", tool.name)),
        None => push_line(&mut text, &tool.name),
    }
    for line in tool.description.lines() {
        push_line(&mut text, format!("  {line}").trim_end());
    }
    push_line(&mut text, "");
    text.push_str(&parameters(tool));
    push_line(&mut text, "");
    let permissions: Vec<String> = tool
        .permissions
        .iter()
        .map(|p| format!("{} ({})", permission_kind(p), p.param))
        .collect();
    let facts = [
        ["Annotations:", &annotations_text(&tool.annotations)],
        ["Tags:", &or_none(tool.tags.join(", "))],
        ["Permissions:", &or_none(permissions.join(", "))],
        [
            "Timeout:",
            &tool
                .timeout()
                .map_or("none".to_owned(), |t| format!("{t:?}")),
        ],
        [
            "Runs:",
            if tool.is_async {
                "async fn, on tokio"
            } else {
                "synchronously"
            },
        ],
        [
            "Source:",
            &format!("{} (module {})", tool.source, tool.source.module_path),
        ],
    ]
    .map(|[label, value]| [label.to_owned(), value.to_owned()]);
    text.push_str(&aligned(facts.iter()));
    text
}

/// The parameters block of [`describe`]: name, type, required or not, description.
fn parameters(tool: &ToolManifest) -> String {
    if tool.params.is_empty() {
        return "Parameters: none\n".to_owned();
    }
    let schema = tool.input_schema.as_value();
    let rows: Vec<[String; 4]> = tool
        .params
        .iter()
        .map(|p| {
            let kind = schema
                .pointer(&format!("/properties/{}", pointer_escape(&p.name)))
                .map_or_else(|| "any".to_owned(), type_label);
            let required = if p.required { "required" } else { "optional" };
            let first = first_line(&p.description);
            [format!("  {}", p.name), kind, required.to_owned(), first]
        })
        .collect();
    format!("Parameters:\n{}", aligned(rows.iter()))
}

/// A short name for the type a schema describes: `integer`, `Units`,
/// `array of Point`, `string | integer`; `null` is left out, as optionality
/// is shown on its own.
pub(super) fn type_label(schema: &Value) -> String {
    let named = |labels: Vec<String>| {
        let labels: Vec<String> = labels.into_iter().filter(|l| l != "null").collect();
        if labels.is_empty() {
            "null".to_owned()
        } else {
            labels.join(" | ")
        }
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    if let Some(choices) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        return named(choices.iter().map(type_label).collect());
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return named(values.iter().map(Value::to_string).collect());
    }
    match schema.get("type") {
        Some(Value::String(kind)) if kind == "array" => match schema.get("items") {
            Some(items) => format!("array of {}", type_label(items)),
            None => "array".to_owned(),
        },
        Some(Value::String(kind)) => kind.clone(),
        Some(Value::Array(kinds)) => named(
            kinds
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => "any".to_owned(),
    }
}

/// The first sentence of a description, for one-line listings: doc comments
/// wrap sentences over several lines, so the first paragraph is joined
/// first, then cut after its first sentence.
pub(super) fn first_line(description: &str) -> String {
    let paragraph: Vec<&str> = description
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect();
    let joined = paragraph.join(" ");
    match joined.find(". ") {
        Some(end) => joined[..=end].to_owned(),
        None => joined,
    }
}

/// The hints an author gave, in words; `none` when there are none.
fn annotations_text(annotations: &Annotations) -> String {
    let hint = |value: Option<bool>, yes: &'static str, no: &'static str| {
        value.map(|value| if value { yes } else { no })
    };
    let words: Vec<&str> = [
        hint(
            annotations.read_only,
            "read-only",
            "may modify its environment",
        ),
        hint(annotations.destructive, "destructive", "not destructive"),
        hint(annotations.idempotent, "idempotent", "not idempotent"),
        hint(annotations.open_world, "open-world", "closed-world"),
    ]
    .into_iter()
    .flatten()
    .collect();
    or_none(words.join(", "))
}

/// A permission kind's stable name (`fs_read`, `net`, ...), as the manifest serializes it.
fn permission_kind(permission: &PermissionManifest) -> String {
    match serde_json::to_value(permission.kind) {
        Ok(Value::String(name)) => name,
        _ => format!("{:?}", permission.kind),
    }
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "none".to_owned()
    } else {
        text
    }
}

/// A JSON Pointer token for `name` (RFC 6901: `~` and `/` escaped).
fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn push(text: &mut String, piece: impl Display) {
    write!(text, "{piece}").expect("writing to a String cannot fail");
}

fn push_line(text: &mut String, line: impl Display) {
    writeln!(text, "{line}").expect("writing to a String cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_labels_name_the_type_without_null() {
        assert_eq!(type_label(&json!({"type": "integer"})), "integer");
        assert_eq!(type_label(&json!({"type": ["string", "null"]})), "string");
        assert_eq!(
            type_label(&json!({"anyOf": [{"$ref": "#/$defs/Units"}, {"type": "null"}]})),
            "Units"
        );
        assert_eq!(
            type_label(&json!({"type": "array", "items": {"$ref": "#/$defs/Point"}})),
            "array of Point"
        );
        assert_eq!(type_label(&json!({"enum": ["a", "b"]})), "\"a\" | \"b\"");
        assert_eq!(type_label(&json!({})), "any");
    }

    #[test]
    fn tables_align_columns_and_trim_line_ends() {
        let rows = [
            ["NAME", "TAGS"].map(str::to_owned),
            ["add", ""].map(str::to_owned),
            ["get_weather", "weather"].map(str::to_owned),
        ];
        assert_eq!(
            aligned(rows.iter()),
            "NAME         TAGS\nadd\nget_weather  weather\n"
        );
    }

    #[test]
    fn annotations_read_as_words() {
        let annotations = Annotations {
            read_only: Some(true),
            destructive: Some(false),
            ..Annotations::NONE
        };
        assert_eq!(annotations_text(&annotations), "read-only, not destructive");
        assert_eq!(annotations_text(&Annotations::NONE), "none");
    }
}

#[cfg(test)]
mod terminal_tests {
    use super::*;

    #[test]
    fn descriptions_are_cut_to_fit_the_terminal_and_colour_needs_one() {
        assert_eq!(cut("Reads a file.", 40), "Reads a file.");
        assert_eq!(cut("Reads a whole file from disk", 10), "Reads a w…");
        assert_eq!(cut("Reads a whole file", 9), "Reads a…");
        let plain = Terminal::default();
        assert_eq!(plain.paint("HIGH", Colour::Red), "HIGH");
        let coloured = Terminal {
            width: Some(80),
            colour: true,
        };
        assert_eq!(coloured.paint("HIGH", Colour::Red), "\x1b[31mHIGH\x1b[0m");
    }
}

/// `1 line`, `2 lines`.
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
