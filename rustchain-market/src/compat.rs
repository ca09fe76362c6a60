//! Compatibility between two versions of a package: what in the new one
//! would break a caller of the old one.
//!
//! Breaking, each a [`ChangeKind`]: a tool removed, a parameter removed, a
//! required parameter added (or an optional one made required), a
//! parameter's type narrowed (a type it accepted is no longer accepted;
//! `integer` to `number` widens), an enum narrowed (a value it accepted is
//! gone, or an enum where there was none), the output's shape changed (its
//! schema differs in anything but descriptions and titles), and permissions
//! widened (a permission declared that the old tool did not declare).
//! Anything else (a tool added, an optional parameter added, a type or an
//! enum widened, a description reworded) is compatible.
//!
//! A breaking change needs a major version, as Cargo reads semver: 1.2.3 to
//! 2.0.0, and for 0.x the minor is the major (0.3.1 to 0.4.0; 0.0.3 to 0.0.4).
//!
//! ```
//! use rustchain_market::compat::is_major_bump;
//! let v = |t| semver::Version::parse(t).unwrap();
//! assert!(is_major_bump(&v("1.2.3"), &v("2.0.0")));
//! assert!(!is_major_bump(&v("1.2.3"), &v("1.3.0")));
//! assert!(is_major_bump(&v("0.3.1"), &v("0.4.0")));
//! assert!(!is_major_bump(&v("0.3.1"), &v("0.3.2")));
//! assert!(is_major_bump(&v("0.0.3"), &v("0.0.4")));
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::error::{MarketError, MarketErrorKind};
use crate::index::PackageLog;
use crate::package::{Package, PackageTool};

/// What kind of breaking change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A tool of the old version is gone.
    ToolRemoved,
    /// A parameter of the old tool is gone.
    ParamRemoved,
    /// A parameter is required that was not (new, or optional before).
    RequiredAdded,
    /// A parameter no longer accepts a type it accepted.
    TypeNarrowed,
    /// A parameter no longer accepts a value its enum listed.
    EnumNarrowed,
    /// The output schema changed (descriptions and titles aside).
    OutputChanged,
    /// The tool declares a permission it did not.
    PermissionsWidened,
}

/// One breaking change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Its kind.
    pub kind: ChangeKind,
    /// The tool concerned.
    pub tool: String,
    /// What changed, for people.
    pub detail: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.tool, self.detail)
    }
}

/// Whether `new` is a major bump over `old` as Cargo reads semver, so it
/// may break callers.
pub fn is_major_bump(old: &semver::Version, new: &semver::Version) -> bool {
    if new <= old {
        return false;
    }
    if old.major > 0 {
        new.major > old.major
    } else if old.minor > 0 {
        new.major > 0 || new.minor > old.minor
    } else {
        new.major > 0 || new.minor > 0 || new.patch > old.patch
    }
}

/// Refuses `new` when it breaks callers of the latest version in `log`
/// without a major bump; the message lists each change. The check
/// [`Index::publish`](crate::Index::publish) is given by `tools publish`.
pub fn require_compatible(log: &PackageLog, new: &Package) -> Result<(), MarketError> {
    let Some(latest) = log.latest() else {
        return Ok(());
    };
    let version = new.version()?;
    if is_major_bump(&latest.version, &version) {
        return Ok(());
    }
    let changes = breaking_changes(&latest.package, new);
    if changes.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = changes.iter().map(Change::to_string).collect();
    Err(MarketError::new(
        MarketErrorKind::Breaking,
        format!(
            "{} {version} breaks callers of {}: {}; publish it as a major version ({}) or keep the old behaviour",
            new.metadata.name,
            latest.version,
            listed.join("; "),
            next_major(&latest.version)
        ),
    ))
}

/// The lowest version a breaking change may take after `version`.
pub fn next_major(version: &semver::Version) -> semver::Version {
    if version.major > 0 {
        semver::Version::new(version.major + 1, 0, 0)
    } else if version.minor > 0 {
        semver::Version::new(0, version.minor + 1, 0)
    } else {
        semver::Version::new(0, 0, version.patch + 1)
    }
}

/// Every breaking change from `old` to `new`, by tool name, then kind.
pub fn breaking_changes(old: &Package, new: &Package) -> Vec<Change> {
    let mut changes = Vec::new();
    for before in &old.tools {
        match new.tool(&before.name) {
            None => changes.push(Change {
                kind: ChangeKind::ToolRemoved,
                tool: before.name.clone(),
                detail: "the tool was removed".to_owned(),
            }),
            Some(after) => tool_changes(before, after, &mut changes),
        }
    }
    changes.sort_by(|a, b| a.tool.cmp(&b.tool).then(a.kind.cmp(&b.kind)));
    changes
}

fn tool_changes(before: &PackageTool, after: &PackageTool, changes: &mut Vec<Change>) {
    let mut push = |kind, detail: String| {
        changes.push(Change {
            kind,
            tool: before.name.clone(),
            detail,
        });
    };
    let old_root = before.input_schema.as_value();
    let new_root = after.input_schema.as_value();
    let old_required = required(old_root);
    let new_required = required(new_root);
    for (name, old_schema) in properties(old_root) {
        let Some(new_schema) = properties(new_root)
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s)
        else {
            push(
                ChangeKind::ParamRemoved,
                format!("parameter `{name}` was removed"),
            );
            continue;
        };
        let old_schema = resolve(old_root, old_schema);
        let new_schema = resolve(new_root, new_schema);
        let (old_types, new_types) = (types(old_root, old_schema), types(new_root, new_schema));
        let lost: Vec<&String> = old_types
            .iter()
            .filter(|t| {
                {
                    // An integer is a number: `integer` to `number` widens.
                    let still_accepted = new_types.contains(*t)
                        || (t.as_str() == "integer" && new_types.contains("number"));
                    !still_accepted
                }
            })
            .collect();
        if !lost.is_empty() {
            push(
                ChangeKind::TypeNarrowed,
                format!("parameter `{name}` no longer accepts {}", list(&lost)),
            );
        }
        if let Some(new_enum) = enum_values(new_root, new_schema) {
            match enum_values(old_root, old_schema) {
                None => push(
                    ChangeKind::EnumNarrowed,
                    format!(
                        "parameter `{name}` now only accepts {}",
                        list(&new_enum.iter().collect::<Vec<_>>())
                    ),
                ),
                Some(old_enum) => {
                    let gone: Vec<&String> =
                        old_enum.iter().filter(|v| !new_enum.contains(*v)).collect();
                    if !gone.is_empty() {
                        push(
                            ChangeKind::EnumNarrowed,
                            format!("parameter `{name}` no longer accepts {}", list(&gone)),
                        );
                    }
                }
            }
        }
    }
    for name in new_required.difference(&old_required) {
        let detail = if properties(old_root).iter().any(|(n, _)| n == name) {
            format!("parameter `{name}` is now required")
        } else {
            format!("required parameter `{name}` was added")
        };
        push(ChangeKind::RequiredAdded, detail);
    }
    if shape(before.output_schema.as_value()) != shape(after.output_schema.as_value()) {
        push(
            ChangeKind::OutputChanged,
            "the output's schema changed".to_owned(),
        );
    }
    for permission in &after.permissions {
        if !before.permissions.contains(permission) {
            let kind = serde_json::to_value(permission.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            push(
                ChangeKind::PermissionsWidened,
                format!("now declares {kind} on `{}`", permission.param),
            );
        }
    }
}

fn list(items: &[&String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn properties(schema: &Value) -> Vec<(String, &Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| props.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default()
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Follows a local `$ref` (`#/$defs/Name`) to what it names, a few steps at most.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        match root.pointer(target) {
            Some(found) => schema = found,
            None => break,
        }
    }
    schema
}

/// The JSON types a schema accepts; `any` when it does not say.
fn types(root: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = resolve(root, schema);
    if let Some(options) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        return options
            .iter()
            .flat_map(|option| types(root, option))
            .collect();
    }
    if let Some(value) = schema.get("const") {
        return BTreeSet::from([json_type(value)]);
    }
    match schema.get("type") {
        Some(Value::String(t)) => BTreeSet::from([t.clone()]),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => match schema.get("enum").and_then(Value::as_array) {
            Some(values) => values.iter().map(json_type).collect(),
            None => ["array", "boolean", "null", "number", "object", "string"]
                .map(str::to_owned)
                .into(),
        },
    }
}

fn json_type(value: &Value) -> String {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
    .to_owned()
}

/// The values a schema's `enum` (or its options' `enum`/`const`) allows, as JSON text; `None` for no enum.
fn enum_values(root: &Value, schema: &Value) -> Option<BTreeSet<String>> {
    let schema = resolve(root, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().map(Value::to_string).collect());
    }
    if let Some(value) = schema.get("const") {
        return Some(BTreeSet::from([value.to_string()]));
    }
    let options = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)?;
    let mut all = BTreeSet::new();
    for option in options {
        let option = resolve(root, option);
        if option.get("type").and_then(Value::as_str) == Some("null") {
            all.insert("null".to_owned());
            continue;
        }
        all.extend(enum_values(root, option)?);
    }
    Some(all)
}

/// A schema without its descriptions and titles: what a caller depends on.
fn shape(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| {
                    !matches!(
                        key.as_str(),
                        "description" | "title" | "examples" | "$comment"
                    )
                })
                .map(|(key, value)| (key.clone(), shape(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        leaf => leaf.clone(),
    }
}
