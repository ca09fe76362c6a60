//! Every rule a mission can break, checked before anything runs: step ids,
//! dependencies and cycles, tools, references, and arguments against each
//! tool's schema.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::template::{self, Reference, Scope};
use super::{Mission, Problem, ProblemKind, Step};
use crate::Registry;

/// Every problem in `mission`, in the order of its steps.
pub(super) fn check(mission: &Mission, registry: &Registry) -> Vec<Problem> {
    let mut problems = Vec::new();
    let problem = |step: &Step, key: &str, kind, message: String| Problem {
        kind,
        file: mission.file.clone(),
        line: step.line_of(key),
        step: Some(step.id.clone()),
        message,
    };
    let mut seen = BTreeSet::new();
    for step in &mission.steps {
        if !seen.insert(step.id.as_str()) {
            problems.push(problem(
                step,
                "id",
                ProblemKind::DuplicateStep,
                format!("another step is already called `{}`", step.id),
            ));
        }
        for dep in &step.depends_on {
            if mission.step(dep).is_none() {
                problems.push(problem(
                    step,
                    "depends_on",
                    ProblemKind::UnknownStep,
                    format!("`depends_on` names `{dep}`, which is no step of this mission"),
                ));
            } else if dep == &step.id {
                problems.push(problem(
                    step,
                    "depends_on",
                    ProblemKind::Cycle,
                    "a step cannot depend on itself".into(),
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(mission) {
        let first = mission.step(&cycle[0]).expect("a cycle is made of steps");
        problems.push(problem(
            first,
            "depends_on",
            ProblemKind::Cycle,
            format!(
                "the steps depend on each other in a circle: {}",
                cycle.join(" -> ")
            ),
        ));
    }
    for step in &mission.steps {
        let ancestors = ancestors(mission, step);
        for (key, value) in [
            ("args", step.args.clone()),
            ("when", step.when.clone().map_or(Value::Null, Value::String)),
        ] {
            for text in strings(&value) {
                let references = match template::references(text) {
                    Ok(references) => references,
                    Err(message) => {
                        problems.push(problem(step, key, ProblemKind::BadReference, message));
                        continue;
                    }
                };
                for reference in references {
                    match reference {
                        Reference::Var { name, .. } if !mission.vars.contains_key(&name) => {
                            problems.push(problem(step, key, ProblemKind::BadReference, format!("`vars.{name}` is not defined; add it under `vars` or pass `--var {name}=...`")));
                        }
                        Reference::Step { id, .. } if mission.step(&id).is_none() => {
                            problems.push(problem(
                                step,
                                key,
                                ProblemKind::UnknownStep,
                                format!("`steps.{id}` names no step of this mission"),
                            ));
                        }
                        Reference::Step { id, .. } if !ancestors.contains(id.as_str()) => {
                            problems.push(problem(step, key, ProblemKind::NotADependency, format!("uses the output of `{id}` without depending on it; add `{id}` to `depends_on`")));
                        }
                        _ => {}
                    }
                }
            }
        }
        let Some(tool) = registry.get(&step.tool) else {
            if !step.tool.is_empty() {
                problems.push(problem(
                    step,
                    "tool",
                    ProblemKind::UnknownTool,
                    registry.not_found_message(&step.tool),
                ));
            }
            continue;
        };
        let scope = Scope {
            vars: mission.vars.clone(),
            outputs: BTreeMap::new(),
        };
        for message in check_args(tool.input_schema().as_value(), &step.args, &scope) {
            problems.push(problem(
                step,
                "args",
                ProblemKind::InvalidArguments,
                format!("arguments for `{}`: {message}", step.tool),
            ));
        }
    }
    problems
}

/// Every string inside `value`.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(text) => vec![text],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The steps `step` depends on, directly or through others.
fn ancestors<'m>(mission: &'m Mission, step: &'m Step) -> BTreeSet<&'m str> {
    let mut found = BTreeSet::new();
    let mut todo: Vec<&str> = step.depends_on.iter().map(String::as_str).collect();
    while let Some(id) = todo.pop() {
        if found.insert(id)
            && let Some(dep) = mission.step(id)
        {
            todo.extend(dep.depends_on.iter().map(String::as_str));
        }
    }
    found
}

/// One circle of dependencies, as step ids from its first back to it.
pub(super) fn find_cycle(mission: &Mission) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        mission: &Mission,
        id: &str,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(id).copied().unwrap_or(Mark::New) {
            Mark::Done => return None,
            Mark::Open => {
                let start = path.iter().position(|p| p == id).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(id.to_owned());
                return Some(cycle);
            }
            Mark::New => {}
        }
        marks.insert(id.to_owned(), Mark::Open);
        path.push(id.to_owned());
        let deps = mission
            .step(id)
            .map(|s| s.depends_on.clone())
            .unwrap_or_default();
        for dep in deps
            .iter()
            .filter(|dep| *dep != id && mission.step(dep).is_some())
        {
            if let Some(cycle) = visit(mission, dep, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(id.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    mission
        .steps
        .iter()
        .find_map(|step| visit(mission, &step.id, &mut marks, &mut Vec::new()))
}

/// What the tool's schema says about `args` that can be known before the
/// run: unknown and missing arguments, and the JSON type of each value that
/// does not wait on another step's output.
fn check_args(schema: &Value, args: &Value, scope: &Scope) -> Vec<String> {
    let mut messages = Vec::new();
    let Value::Object(args) = args else {
        return vec!["`args` must be a mapping".into()];
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    for (name, value) in args {
        let Some(property) = properties.and_then(|p| p.get(name)) else {
            if closed || properties.is_some() {
                let known: Vec<&str> = properties
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                messages.push(format!(
                    "unknown argument `{name}`; the tool takes: {}",
                    known.join(", ")
                ));
            }
            continue;
        };
        // A value that waits on a step's output is known only at run time.
        let Ok(filled) = scope.fill(value) else {
            continue;
        };
        if let Some(expected) = json_types(property)
            && !expected.iter().any(|t| has_type(&filled, t))
        {
            messages.push(format!(
                "`{name}` must be {}, not {filled}",
                expected.join(" or ")
            ));
        }
    }
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for name in required.filter_map(Value::as_str) {
        if !args.contains_key(name) {
            messages.push(format!("missing required argument `{name}`"));
        }
    }
    messages
}

/// The JSON types a property schema allows, when it says so plainly.
fn json_types(property: &Value) -> Option<Vec<&str>> {
    match property.get("type")? {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(types) => Some(types.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn has_type(value: &Value, json_type: &str) -> bool {
    match json_type {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}
