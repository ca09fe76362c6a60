//! `${{ vars.city }}` and `${{ steps.fetch.output.body }}`: the references a
//! mission's arguments and `when` conditions make, found and filled in.

use std::collections::BTreeMap;

use serde_json::Value;

/// What a reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A mission variable, and a path inside its value.
    Var {
        /// The variable's name.
        name: String,
        /// Object keys or array indexes below it.
        path: Vec<String>,
    },
    /// An earlier step's output, and a path inside it.
    Step {
        /// The step's id.
        id: String,
        /// Object keys or array indexes below `output`.
        path: Vec<String>,
    },
}

/// Every reference in `text`, or why one cannot be read.
///
/// ```
/// use rustchain_tools::mission::template::{references, Reference};
/// let found = references("${{ vars.city }} on ${{ steps.fetch.output.day }}").unwrap();
/// assert_eq!(found[0], Reference::Var { name: "city".into(), path: vec![] });
/// assert_eq!(found[1], Reference::Step { id: "fetch".into(), path: vec!["day".into()] });
/// ```
pub fn references(text: &str) -> Result<Vec<Reference>, String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let after = &rest[start + 3..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("`${{{{` without its closing `}}}}` in {text:?}"))?;
        found.push(parse(after[..end].trim())?);
        rest = &after[end + 2..];
    }
    Ok(found)
}

fn parse(expression: &str) -> Result<Reference, String> {
    let parts: Vec<&str> = expression.split('.').collect();
    if parts
        .iter()
        .any(|part| part.trim().is_empty() || part.trim() != *part)
    {
        return Err(format!(
            "`{expression}` is not a reference: write `vars.NAME` or `steps.ID.output.FIELD`"
        ));
    }
    let owned = |parts: &[&str]| parts.iter().map(|p| (*p).to_owned()).collect();
    match parts.as_slice() {
        ["vars", name, path @ ..] => Ok(Reference::Var {
            name: (*name).to_owned(),
            path: owned(path),
        }),
        ["steps", id, "output", path @ ..] => Ok(Reference::Step {
            id: (*id).to_owned(),
            path: owned(path),
        }),
        ["steps", id, ..] => Err(format!(
            "`{expression}` names step `{id}` but not its output: write `steps.{id}.output` or `steps.{id}.output.FIELD`"
        )),
        _ => Err(format!(
            "`{expression}` is not a reference: write `vars.NAME` or `steps.ID.output.FIELD`"
        )),
    }
}

/// The values references resolve to: the mission's variables and the
/// outputs of the steps that have finished.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Variables by name.
    pub vars: BTreeMap<String, Value>,
    /// Outputs by step id.
    pub outputs: BTreeMap<String, Value>,
}

impl Scope {
    /// The value `reference` names, or why there is none.
    pub fn lookup(&self, reference: &Reference) -> Result<&Value, String> {
        let (root, path, shown) = match reference {
            Reference::Var { name, path } => (self.vars.get(name), path, format!("vars.{name}")),
            Reference::Step { id, path } => {
                (self.outputs.get(id), path, format!("steps.{id}.output"))
            }
        };
        let mut value = root.ok_or_else(|| format!("`{shown}` has no value"))?;
        let mut at = shown;
        for key in path {
            let next = match value {
                Value::Object(map) => map.get(key),
                Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            value = next.ok_or_else(|| format!("`{at}` has no `{key}`"))?;
            at = format!("{at}.{key}");
        }
        Ok(value)
    }

    /// `value` with every reference in its strings filled in. A string that
    /// is one reference alone takes the referenced value as it is (a number
    /// stays a number); references inside longer text are written in (a
    /// string as itself, anything else as JSON).
    pub fn fill(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) => self.fill_text(text)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.fill(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.fill(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn fill_text(&self, text: &str) -> Result<Value, String> {
        let trimmed = text.trim();
        if trimmed.starts_with("${{")
            && trimmed.ends_with("}}")
            && trimmed.matches("${{").count() == 1
        {
            let reference = parse(trimmed[3..trimmed.len() - 2].trim())?;
            return self.lookup(&reference).cloned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("`${{{{` without its closing `}}}}` in {text:?}"))?;
            match self.lookup(&parse(after[..end].trim())?)? {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }
}

/// Whether a filled-in `when` lets its step run: anything but `false`,
/// `null`, `0`, an empty string or the strings "false" and "0".
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !matches!(s.trim(), "" | "false" | "0"),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        let mut scope = Scope::default();
        scope.vars.insert("city".into(), json!("Oslo"));
        scope.vars.insert("days".into(), json!(3));
        scope
            .outputs
            .insert("fetch".into(), json!({"body": "sunny", "list": [1, 2]}));
        scope
    }

    #[test]
    fn a_lone_reference_keeps_its_type_and_text_interpolates() {
        let filled = scope()
            .fill(&json!({"n": "${{ vars.days }}", "s": "in ${{ vars.city }}: ${{steps.fetch.output.body}} x${{ vars.days }}", "i": "${{ steps.fetch.output.list.1 }}"}))
            .unwrap();
        assert_eq!(filled, json!({"n": 3, "s": "in Oslo: sunny x3", "i": 2}));
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        assert!(references("${{ vars.city").unwrap_err().contains("closing"));
        assert!(
            references("${{ steps.fetch.body }}")
                .unwrap_err()
                .contains("steps.fetch.output")
        );
        assert!(
            references("${{ env.HOME }}")
                .unwrap_err()
                .contains("not a reference")
        );
        assert!(references("${{ vars..x }}").is_err());
        assert!(
            scope()
                .fill(&json!("${{ vars.nope }}"))
                .unwrap_err()
                .contains("vars.nope")
        );
        assert!(
            scope()
                .fill(&json!("${{ steps.fetch.output.missing }}"))
                .unwrap_err()
                .contains("missing")
        );
    }

    #[test]
    fn when_is_false_only_for_falsy_values() {
        for falsy in [
            json!(false),
            json!(null),
            json!(0),
            json!(""),
            json!("false"),
            json!("0"),
        ] {
            assert!(!truthy(&falsy), "{falsy}");
        }
        for truthy_value in [json!(true), json!(1), json!("yes"), json!([]), json!({})] {
            assert!(truthy(&truthy_value), "{truthy_value}");
        }
    }
}
