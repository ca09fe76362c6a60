//! A mission file read from YAML into [`Mission`], keeping the line of every
//! step and field so that later checks can point at it.

use std::collections::BTreeMap;
use std::time::Duration;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::Value;

use super::{Config, Mission, Problem, ProblemKind, Step};

const TOP_KEYS: &[&str] = &[
    "version",
    "name",
    "description",
    "policy",
    "vars",
    "config",
    "steps",
];
const CONFIG_KEYS: &[&str] = &["max_parallel", "fail_fast", "timeout"];
const STEP_KEYS: &[&str] = &[
    "id",
    "tool",
    "args",
    "depends_on",
    "timeout",
    "continue_on_error",
    "when",
];

/// Collects problems while reading one file.
struct Reader<'f> {
    file: &'f str,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn problem(
        &mut self,
        kind: ProblemKind,
        line: usize,
        step: Option<&str>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            kind,
            file: self.file.to_owned(),
            line,
            step: step.map(str::to_owned),
            message: message.into(),
        });
    }

    /// The mapping's entries by key, each with its line; unknown keys reported.
    fn entries<'n, 'i>(
        &mut self,
        node: &'n MarkedYaml<'i>,
        allowed: &[&str],
        what: &str,
        step: Option<&str>,
    ) -> BTreeMap<String, (usize, &'n MarkedYaml<'i>)> {
        let mut found = BTreeMap::new();
        let YamlData::Mapping(map) = &node.data else {
            self.problem(
                ProblemKind::InvalidValue,
                line(node),
                step,
                format!("{what} must be a mapping of keys to values"),
            );
            return found;
        };
        for (key, value) in map.iter() {
            let Some(name) = scalar_text(key) else {
                self.problem(
                    ProblemKind::InvalidValue,
                    line(key),
                    step,
                    format!("a key in {what} must be a plain word"),
                );
                continue;
            };
            if !allowed.contains(&name.as_str()) {
                let hint = allowed
                    .iter()
                    .find(|known| strsim::levenshtein(known, &name) <= 2)
                    .map_or_else(String::new, |near| format!(" (did you mean `{near}`?)"));
                self.problem(
                    ProblemKind::UnknownKey,
                    line(key),
                    step,
                    format!(
                        "unknown key `{name}` in {what}{hint}; expected one of: {}",
                        allowed.join(", ")
                    ),
                );
                continue;
            }
            found.insert(name, (line(key), value));
        }
        found
    }

    fn text(&mut self, node: &MarkedYaml<'_>, what: &str, step: Option<&str>) -> Option<String> {
        let text = scalar_text(node);
        if text.is_none() {
            self.problem(
                ProblemKind::InvalidValue,
                line(node),
                step,
                format!("{what} must be text"),
            );
        }
        text
    }

    fn duration(
        &mut self,
        node: &MarkedYaml<'_>,
        what: &str,
        step: Option<&str>,
    ) -> Option<Duration> {
        let text = self.text(node, what, step)?;
        match humantime::parse_duration(&text) {
            Ok(duration) if !duration.is_zero() => Some(duration),
            _ => {
                self.problem(
                    ProblemKind::InvalidValue,
                    line(node),
                    step,
                    format!("{what} `{text}` is not a duration such as `30s` or `2m`"),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &MarkedYaml<'_>, what: &str, step: Option<&str>) -> Option<bool> {
        match &node.data {
            YamlData::Value(Scalar::Boolean(b)) => Some(*b),
            _ => {
                self.problem(
                    ProblemKind::InvalidValue,
                    line(node),
                    step,
                    format!("{what} must be true or false"),
                );
                None
            }
        }
    }
}

/// The 1-based line a node starts on.
fn line(node: &MarkedYaml<'_>) -> usize {
    node.span.start.line().max(1)
}

/// A scalar's text, whatever YAML resolved it to (`version: 1` is "1").
fn scalar_text(node: &MarkedYaml<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Representation(s, ..) => Some(s.to_string()),
        _ => None,
    }
}

/// A YAML node as JSON, the form tool arguments take.
fn to_json(node: &MarkedYaml<'_>) -> Result<Value, (usize, String)> {
    Ok(match &node.data {
        YamlData::Value(Scalar::Null) => Value::Null,
        YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        YamlData::Value(Scalar::Integer(i)) => Value::from(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => serde_json::Number::from_f64(f.into_inner())
            .map(Value::Number)
            .ok_or_else(|| (line(node), format!("{f} has no JSON form")))?,
        YamlData::Value(Scalar::String(s)) | YamlData::Representation(s, ..) => {
            Value::String(s.to_string())
        }
        YamlData::Sequence(items) => {
            Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        YamlData::Mapping(map) => {
            let mut object = serde_json::Map::new();
            for (key, value) in map.iter() {
                let key = scalar_text(key)
                    .ok_or_else(|| (line(key), "a key must be a plain word".to_owned()))?;
                object.insert(key, to_json(value)?);
            }
            Value::Object(object)
        }
        YamlData::Tagged(_, inner) => to_json(inner)?,
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err((
                line(node),
                "aliases and tags other than plain values are not supported here".to_owned(),
            ));
        }
    })
}

/// Reads a mission from `source`; `file` names it in problems. Every problem
/// in the file's shape is reported, not only the first.
pub(super) fn parse(source: &str, file: &str) -> Result<Mission, Vec<Problem>> {
    let mut reader = Reader {
        file,
        problems: Vec::new(),
    };
    let documents = match MarkedYaml::load_from_str(source) {
        Ok(documents) => documents,
        Err(err) => {
            let at = err.marker().line().max(1);
            reader.problem(
                ProblemKind::Syntax,
                at,
                None,
                format!("not valid YAML: {}", err.info()),
            );
            return Err(reader.problems);
        }
    };
    let Some(root) = documents.first() else {
        reader.problem(
            ProblemKind::MissingField,
            1,
            None,
            "the file is empty; a mission needs `version`, `name` and `steps`",
        );
        return Err(reader.problems);
    };
    let top = reader.entries(root, TOP_KEYS, "the mission", None);
    let mut mission = Mission {
        file: file.to_owned(),
        version: String::new(),
        name: String::new(),
        description: None,
        policy: None,
        vars: BTreeMap::new(),
        config: Config::default(),
        steps: Vec::new(),
    };
    for required in ["version", "name", "steps"] {
        if !top.contains_key(required) {
            reader.problem(
                ProblemKind::MissingField,
                line(root),
                None,
                format!("the mission has no `{required}`"),
            );
        }
    }
    if let Some((_, node)) = top.get("version") {
        mission.version = reader.text(node, "`version`", None).unwrap_or_default();
        if !mission.version.is_empty() && mission.version != "1" && mission.version != "1.0" {
            reader.problem(
                ProblemKind::InvalidValue,
                line(node),
                None,
                format!(
                    "version `{}` is not supported; this program reads version 1",
                    mission.version
                ),
            );
        }
    }
    if let Some((_, node)) = top.get("name") {
        mission.name = reader.text(node, "`name`", None).unwrap_or_default();
    }
    if let Some((_, node)) = top.get("description") {
        mission.description = reader.text(node, "`description`", None);
    }
    if let Some((_, node)) = top.get("policy") {
        mission.policy = reader.text(node, "`policy`", None);
    }
    if let Some((_, node)) = top.get("vars") {
        if !matches!(node.data, YamlData::Mapping(_)) {
            reader.problem(
                ProblemKind::InvalidValue,
                line(node),
                None,
                "`vars` must be a mapping of names to values",
            );
        }
        for (name, (at, value)) in vars(node) {
            match to_json(value) {
                Ok(value) => {
                    mission.vars.insert(name, value);
                }
                Err((at_inner, message)) => {
                    reader.problem(ProblemKind::InvalidValue, at_inner.max(at), None, message)
                }
            }
        }
    }
    if let Some((_, node)) = top.get("config") {
        mission.config = config(&mut reader, node);
    }
    if let Some((at, node)) = top.get("steps") {
        match &node.data {
            YamlData::Sequence(items) if !items.is_empty() => {
                mission.steps = items
                    .iter()
                    .filter_map(|item| step(&mut reader, item))
                    .collect();
            }
            _ => reader.problem(
                ProblemKind::InvalidValue,
                *at,
                None,
                "`steps` must be a list with at least one step",
            ),
        }
    }
    if reader.problems.is_empty() {
        Ok(mission)
    } else {
        Err(reader.problems)
    }
}

/// `vars` accepts any key, so its entries are read here rather than checked
/// against a list.
fn vars<'n, 'i>(node: &'n MarkedYaml<'i>) -> Vec<(String, (usize, &'n MarkedYaml<'i>))> {
    let YamlData::Mapping(map) = &node.data else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(key, value)| Some((scalar_text(key)?, (line(key), value))))
        .collect()
}

fn config(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Config {
    let mut config = Config::default();
    let entries = reader.entries(node, CONFIG_KEYS, "`config`", None);
    if let Some((_, value)) = entries.get("max_parallel") {
        match &value.data {
            YamlData::Value(Scalar::Integer(n)) if (1..=1024).contains(n) => {
                config.max_parallel = usize::try_from(*n).unwrap_or(1);
            }
            _ => reader.problem(
                ProblemKind::InvalidValue,
                line(value),
                None,
                "`max_parallel` must be a whole number from 1 to 1024",
            ),
        }
    }
    if let Some((_, value)) = entries.get("fail_fast") {
        config.fail_fast = reader.boolean(value, "`fail_fast`", None).unwrap_or(false);
    }
    if let Some((_, value)) = entries.get("timeout") {
        config.timeout = reader.duration(value, "`timeout`", None);
    }
    config
}

fn step(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Step> {
    let at = line(node);
    let id = match &node.data {
        YamlData::Mapping(map) => map
            .iter()
            .find(|(key, _)| scalar_text(key).as_deref() == Some("id"))
            .and_then(|(_, value)| scalar_text(value)),
        _ => None,
    };
    let label = id.as_deref();
    let entries = reader.entries(
        node,
        STEP_KEYS,
        &format!("step `{}`", label.unwrap_or("?")),
        label,
    );
    let Some(id) = id else {
        reader.problem(ProblemKind::MissingField, at, None, "a step has no `id`");
        return None;
    };
    let valid_id = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_id {
        reader.problem(
            ProblemKind::InvalidValue,
            at,
            Some(&id),
            format!(
                "step id `{id}` must start with a letter and hold only letters, digits, `_` and `-`"
            ),
        );
    }
    let mut step = Step {
        id: id.clone(),
        tool: String::new(),
        args: Value::Object(serde_json::Map::new()),
        depends_on: Vec::new(),
        timeout: None,
        continue_on_error: false,
        when: None,
        line: at,
        lines: BTreeMap::new(),
    };
    for (key, (key_line, _)) in &entries {
        step.lines.insert(key.clone(), *key_line);
    }
    match entries.get("tool") {
        Some((_, value)) => step.tool = reader.text(value, "`tool`", Some(&id)).unwrap_or_default(),
        None => reader.problem(
            ProblemKind::MissingField,
            at,
            Some(&id),
            format!("step `{id}` has no `tool`"),
        ),
    }
    if let Some((key_line, value)) = entries.get("args") {
        match to_json(value) {
            Ok(args @ Value::Object(_)) => step.args = args,
            Ok(Value::Null) => {}
            Ok(_) => reader.problem(
                ProblemKind::InvalidValue,
                *key_line,
                Some(&id),
                "`args` must be a mapping of argument names to values",
            ),
            Err((bad, message)) => {
                reader.problem(ProblemKind::InvalidValue, bad, Some(&id), message)
            }
        }
    }
    if let Some((key_line, value)) = entries.get("depends_on") {
        match &value.data {
            YamlData::Sequence(items) => {
                for item in items.iter() {
                    if let Some(dep) = reader.text(item, "an entry of `depends_on`", Some(&id)) {
                        step.depends_on.push(dep);
                    }
                }
            }
            _ => match scalar_text(value) {
                Some(dep) => step.depends_on.push(dep),
                None => reader.problem(
                    ProblemKind::InvalidValue,
                    *key_line,
                    Some(&id),
                    "`depends_on` must be a step id or a list of them",
                ),
            },
        }
    }
    if let Some((_, value)) = entries.get("timeout") {
        step.timeout = reader.duration(value, "`timeout`", Some(&id));
    }
    if let Some((_, value)) = entries.get("continue_on_error") {
        step.continue_on_error = reader
            .boolean(value, "`continue_on_error`", Some(&id))
            .unwrap_or(false);
    }
    if let Some((_, value)) = entries.get("when") {
        step.when = match to_json(value) {
            Ok(Value::String(text)) => Some(text),
            Ok(other) => Some(other.to_string()),
            Err((bad, message)) => {
                reader.problem(ProblemKind::InvalidValue, bad, Some(&id), message);
                None
            }
        };
    }
    Some(step)
}
