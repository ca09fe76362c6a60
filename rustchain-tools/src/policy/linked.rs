//! Checking a policy against the tools a program links: what the file alone
//! cannot tell. Runs once, when an executor is built (beside the inline
//! examples, which need the tools too).
//!
//! One policy file may serve several programs, each linking some tools, so
//! a name this program does not have is not wrong in itself: it is a
//! [warning](super::PolicyWarning). But a name one or two edits from one it
//! does have is a typo, and a typo in a limit or a redaction is protection
//! that silently never applies: that is an error, with the line and the
//! name meant.
//!
//! - `[limits.tool.NAME]`: NAME is checked against the linked tools.
//! - `[audit] redact`: each entry against the fields the linked tools take
//!   (skipped when some tool takes free-form objects, where any name may come).
//! - `[[examples]]`: an example for a tool not linked is not run; one
//!   for a misspelled tool is an error, as a failing example is.
//! - `[discovery] always`: a glob that matches no linked tool; a plain name
//!   one or two edits from a linked tool is an error (the tool meant would
//!   silently be deferred).

use std::collections::BTreeSet;

use serde_json::Value;

use super::Policy;
use super::error::{PolicyError, PolicyErrorKind, PolicyWarning, PolicyWarningKind};
use crate::Registry;

impl Policy {
    /// Checks the policy against the tools of `registry`: an error for a
    /// `[limits.tool.NAME]` or `[audit] redact` entry that misspells a tool
    /// or field the program has; [`warnings`](Policy::warnings) for names it
    /// does not have at all and for inline examples of tools it does not link.
    /// [`ExecutorBuilder::build`] calls this; call it yourself only to check
    /// a policy without an executor.
    ///
    /// [`ExecutorBuilder::build`]: crate::ExecutorBuilder::build
    ///
    /// ```
    /// use std::path::Path;
    /// use rustchain_tools::policy::{Policy, PolicyWarningKind};
    /// use rustchain_tools::Registry;
    ///
    /// let empty = Registry::build([]).unwrap();
    /// let mut policy = Policy::from_toml(
    ///     "[limits.tool.fs_read]\nrate = \"1/s\"\n",
    ///     "rustchain.toml",
    ///     Path::new("."),
    /// )
    /// .unwrap();
    /// policy.check_linked(&empty).unwrap();
    /// assert_eq!(policy.warnings()[0].kind, PolicyWarningKind::UnlinkedTool);
    /// assert_eq!(policy.warnings()[0].line, Some(1));
    /// ```
    pub fn check_linked(&mut self, registry: &Registry) -> Result<(), PolicyError> {
        // What loading found stays; what linking finds is found afresh.
        let mut warnings: Vec<PolicyWarning> = self
            .warnings
            .iter()
            .filter(|w| w.kind == PolicyWarningKind::UnreachableDeny)
            .cloned()
            .collect();
        let linked: Vec<&str> = registry.tools().map(|tool| tool.name()).collect();
        for (name, limits) in &self.tool_limits {
            if registry.get(name).is_some() {
                continue;
            }
            if let Some(meant) = misspelled(name, linked.iter().copied()) {
                return Err(PolicyError::new(
                    PolicyErrorKind::UnknownTool,
                    &self.origin,
                    Some(limits.line),
                    format!(
                        "[limits.tool.{name}] names no tool; did you mean `{meant}`? As written, its limits would never apply"
                    ),
                ));
            }
            warnings.push(self.warning(
                PolicyWarningKind::UnlinkedTool,
                Some(limits.line),
                format!("[limits.tool.{name}] names a tool this program does not link; its limits apply to nothing here"),
            ));
        }
        self.check_redacted_fields(registry, &mut warnings)?;
        self.check_always_loaded(&linked, &mut warnings)?;
        for example in &self.examples {
            if registry.get(&example.tool).is_none() {
                if let Some(meant) = misspelled(&example.tool, linked.iter().copied()) {
                    return Err(PolicyError::new(
                        PolicyErrorKind::FailingExample,
                        &self.origin,
                        Some(example.line),
                        format!(
                            "the example calls `{}`, which names no tool; did you mean `{meant}`?",
                            crate::suggest::shown(&example.tool)
                        ),
                    ));
                }
                warnings.push(self.warning(
                    PolicyWarningKind::UnlinkedExample,
                    Some(example.line),
                    format!(
                        "the example calling `{}` was not checked: this program does not link that tool",
                        crate::suggest::shown(&example.tool)
                    ),
                ));
            }
        }
        self.warnings = warnings;
        Ok(())
    }

    fn check_always_loaded(
        &self,
        linked: &[&str],
        warnings: &mut Vec<PolicyWarning>,
    ) -> Result<(), PolicyError> {
        let discovery = &self.discovery;
        for (glob, line) in discovery.always.iter().zip(&discovery.always_lines) {
            if linked.iter().any(|tool| glob.is_match(tool)) {
                continue;
            }
            let written = glob.glob().glob();
            let plain = !written.contains(['*', '?', '[', '{']);
            if plain && let Some(meant) = misspelled(written, linked.iter().copied()) {
                return Err(PolicyError::new(
                    PolicyErrorKind::UnknownTool,
                    &self.origin,
                    *line,
                    format!(
                        "[discovery] always names `{written}`, which is no tool; did you mean `{meant}`? As written, `{meant}` would be deferred"
                    ),
                ));
            }
            warnings.push(self.warning(
                PolicyWarningKind::UnlinkedTool,
                *line,
                format!("[discovery] always: `{written}` matches no tool this program links"),
            ));
        }
        Ok(())
    }

    fn check_redacted_fields(
        &self,
        registry: &Registry,
        warnings: &mut Vec<PolicyWarning>,
    ) -> Result<(), PolicyError> {
        if self.redact.is_empty() {
            return Ok(());
        }
        let fields = ReceivableFields::of(registry);
        if fields.any {
            return Ok(());
        }
        for field in &self.redact {
            let lower = field.to_ascii_lowercase();
            if fields.names.contains(&lower) {
                continue;
            }
            let line = self.redact_lines.get(field).copied();
            if let Some(meant) = misspelled(&lower, fields.names.iter().map(String::as_str)) {
                return Err(PolicyError::new(
                    PolicyErrorKind::UnknownField,
                    &self.origin,
                    line,
                    format!(
                        "[audit] redact names `{field}`, a field no linked tool takes; did you mean `{meant}`? As written, it would never redact anything"
                    ),
                ));
            }
            warnings.push(self.warning(
                PolicyWarningKind::UnreceivedField,
                line,
                format!("[audit] redact names `{field}`, a field no tool of this program takes"),
            ));
        }
        Ok(())
    }

    fn warning(
        &self,
        kind: PolicyWarningKind,
        line: Option<usize>,
        message: String,
    ) -> PolicyWarning {
        PolicyWarning {
            kind,
            origin: self.origin.clone(),
            line,
            message,
        }
    }
}

/// The name among `known` that `name` is most likely a typo of: one edit
/// away for short names, two for names of six characters or more. A swap
/// of two neighbours counts as one edit (`txet` is a typo of `text`).
fn misspelled<'k>(name: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let most = if name.chars().count() >= 6 { 2 } else { 1 };
    known
        .map(|candidate| (strsim::osa_distance(name, candidate), candidate))
        .filter(|&(distance, _)| distance <= most)
        .min()
        .map(|(_, candidate)| candidate)
}

/// The argument field names the linked tools can receive, lower-cased (the
/// redaction matches names ASCII case-insensitively), and whether some tool
/// accepts objects with any field names (a map, a `serde_json::Value`).
#[derive(Debug, Default)]
struct ReceivableFields {
    names: BTreeSet<String>,
    any: bool,
}

impl ReceivableFields {
    fn of(registry: &Registry) -> ReceivableFields {
        let mut fields = ReceivableFields::default();
        for tool in registry.tools() {
            fields.walk(tool.input_schema().as_value());
        }
        fields
    }

    /// Every `properties` name at any depth (`$defs` included); and `any`
    /// when a schema accepts what it does not describe: `true`, `{}`, an
    /// object whose `additionalProperties` is not `false`.
    fn walk(&mut self, schema: &Value) {
        let object = match schema {
            Value::Bool(accepts) => {
                self.any |= *accepts;
                return;
            }
            Value::Object(object) => object,
            _ => return,
        };
        if !object
            .keys()
            .any(|key| CONSTRAINING.contains(&key.as_str()))
        {
            self.any = true;
        }
        let is_object = match object.get("type") {
            Some(Value::String(kind)) => kind == "object",
            Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "object"),
            _ => false,
        };
        match object.get("additionalProperties") {
            Some(Value::Bool(false)) => {}
            Some(extra) => self.walk_extra(extra),
            // JSON Schema: no `additionalProperties` accepts any other field.
            None if is_object
                && object.get("unevaluatedProperties") != Some(&Value::Bool(false)) =>
            {
                self.any = true;
            }
            None => {}
        }
        for (key, value) in object {
            match (key.as_str(), value) {
                ("properties", Value::Object(properties)) => {
                    self.names
                        .extend(properties.keys().map(|name| name.to_ascii_lowercase()));
                    properties.values().for_each(|schema| self.walk(schema));
                }
                ("$defs" | "definitions" | "patternProperties", Value::Object(schemas)) => {
                    schemas.values().for_each(|schema| self.walk(schema));
                }
                ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(schemas)) => {
                    schemas.iter().for_each(|schema| self.walk(schema));
                }
                ("items" | "not" | "if" | "then" | "else" | "contains", schema) => {
                    self.walk(schema)
                }
                _ => {}
            }
        }
    }

    /// A map's values: any field name may come as a key.
    fn walk_extra(&mut self, extra: &Value) {
        self.any = true;
        self.walk(extra);
    }
}

/// Keywords that limit what a schema accepts; a schema with none accepts anything.
const CONSTRAINING: &[&str] = &[
    "type",
    "$ref",
    "properties",
    "anyOf",
    "oneOf",
    "allOf",
    "enum",
    "const",
    "items",
    "not",
    "if",
    "prefixItems",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_near_miss_is_a_typo_and_a_far_name_is_not() {
        let tools = ["fs_read", "fs_write", "add"];
        assert_eq!(misspelled("fs_raed", tools.into_iter()), Some("fs_read"));
        assert_eq!(misspelled("fs_writ", tools.into_iter()), Some("fs_write"));
        assert_eq!(misspelled("ad", tools.into_iter()), Some("add"));
        assert_eq!(misspelled("dad", tools.into_iter()), Some("add"));
        assert_eq!(misspelled("get_weather", tools.into_iter()), None);
        // Two edits in a short name is another name, not a typo.
        assert_eq!(misspelled("abs", tools.into_iter()), None);
    }

    fn fields(schema: Value) -> ReceivableFields {
        let mut fields = ReceivableFields::default();
        fields.walk(&schema);
        fields
    }

    #[test]
    fn nested_and_defined_fields_are_receivable() {
        let found = fields(json!({
            "type": "object",
            "properties": {"path": {"type": "string"}, "auth": {"$ref": "#/$defs/Auth"}},
            "additionalProperties": false,
            "$defs": {"Auth": {"type": "object", "properties": {"Token": {"type": "string"}}, "additionalProperties": false}}
        }));
        assert!(!found.any);
        assert!(found.names.contains("path"));
        assert!(found.names.contains("token"), "lower-cased: {found:?}");
    }

    #[test]
    fn maps_and_free_form_values_receive_any_field() {
        let map = json!({"type": "object", "properties": {"headers": {"type": "object", "additionalProperties": {"type": "string"}}}, "additionalProperties": false});
        assert!(fields(map).any);
        let value =
            json!({"type": "object", "properties": {"body": true}, "additionalProperties": false});
        assert!(fields(value).any);
        let described = json!({"type": "object", "properties": {"body": {"description": "anything"}}, "additionalProperties": false});
        assert!(fields(described).any);
        let closed = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": false});
        assert!(!fields(closed).any);
    }
}
