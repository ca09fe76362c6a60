//! The owned, serializable description of a tool that every front end shares.
//!
//! A [`ToolManifest`] says everything a reader outside the program needs to
//! know about one tool: its name and description, its input and output
//! schemas with a digest of each, what it declares it will touch, its hints,
//! tags, timeout and where it was defined. A [`Manifest`] is a whole tool set
//! in name order. The CLI's `tools list --json` and `tools show --json` print
//! them; MCP `tools/list`, generated docs, a lock file, the security scan and
//! a marketplace index read the same data, so it is built in one place,
//! [`ToolManifest::of`].
//!
//! Everything is owned (no `&'static`), so a manifest read back from a file
//! is the same type as one built from the linked tools:
//!
//! ```
//! use rustchain_tools::{Manifest, Registry};
//!
//! let manifest = Manifest::of(Registry::global());
//! let text = serde_json::to_string(&manifest).expect("a manifest serializes");
//! assert_eq!(Manifest::from_json(&text), Ok(manifest));
//! ```
//!
//! Readers refuse what they do not understand: every manifest carries
//! [`FORMAT`], and [`Manifest::from_json`] / [`ToolManifest::from_json`]
//! refuse another format, a schema whose digest does not match, and a tool
//! set out of name order, each with a [`ManifestErrorKind`].

use std::fmt;
use std::time::Duration;

use schemars::Schema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Annotations, PermissionKind, Registry, Tool};

/// The manifest format this build writes and reads.
///
/// It changes when a field changes meaning or a reader could no longer
/// understand what is written; readers refuse any other value. A field
/// added that older readers may safely skip does not change it (unknown
/// fields are ignored when reading).
pub const FORMAT: u32 = 1;

/// One tool, described for readers outside the program: front ends, files, indices.
///
/// Built from a registry entry with [`ToolManifest::of`]; serialized with the
/// field names below (`async`, `source.crate` and `source.version` are
/// renamed for JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolManifest {
    /// The manifest format ([`FORMAT`]) this was written in.
    pub format: u32,
    /// The tool's name, as models call it.
    pub name: String,
    /// A short human-readable title, if the author gave one.
    pub title: Option<String>,
    /// What the tool does, from its doc comment (or `description = "..."`).
    pub description: String,
    /// Behaviour hints (MCP tool annotations: `readOnlyHint`, ...); absent hints are omitted.
    pub annotations: Annotations,
    /// Free-form labels, in the order the author wrote them.
    pub tags: Vec<String>,
    /// The parameters the model fills in, in declaration order.
    pub params: Vec<ParamManifest>,
    /// What the tool declares it will touch, one entry per guarded parameter;
    /// empty for pure computation.
    pub permissions: Vec<PermissionManifest>,
    /// The tool's own timeout in milliseconds, if it declared one.
    pub timeout_ms: Option<u64>,
    /// Whether the tool is an `async fn` (run on tokio) rather than a plain function.
    #[serde(rename = "async")]
    pub is_async: bool,
    /// Where the tool was defined: crate name and version, module, file and line.
    pub source: ManifestSource,
    /// The input schema (JSON Schema 2020-12), as the registry builds it.
    pub input_schema: Schema,
    /// [`schema_digest`] of `input_schema`.
    pub input_schema_digest: String,
    /// The output schema (JSON Schema 2020-12), as the registry builds it.
    pub output_schema: Schema,
    /// [`schema_digest`] of `output_schema`.
    pub output_schema_digest: String,
}

/// One parameter of a tool, as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamManifest {
    /// The argument's name in the JSON object.
    pub name: String,
    /// What the parameter means, from its `///` comment.
    pub description: String,
    /// Whether the model must supply it.
    pub required: bool,
}

/// Something a tool declares it will touch, named after the parameter that carries it.
///
/// A kind this build does not know makes the whole manifest unreadable rather
/// than silently dropping a permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionManifest {
    /// What kind of resource (`fs_read`, `fs_write`, `net`, `run`, `run_args`, `env`).
    pub kind: PermissionKind,
    /// The parameter whose value names the resource.
    pub param: String,
}

/// Where a tool was defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSource {
    /// The defining crate's package name (`crate` in JSON).
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// The defining crate's version (`version` in JSON).
    #[serde(rename = "version")]
    pub crate_version: String,
    /// The Rust module path of the tool function (`module` in JSON).
    #[serde(rename = "module")]
    pub module_path: String,
    /// The source file, as `file!()` names it.
    pub file: String,
    /// The line of the tool function.
    pub line: u32,
}

impl fmt::Display for ManifestSource {
    /// `my-tools 0.1.0 at src/lib.rs:10`, as [`SourceLocation`](crate::SourceLocation) shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} at {}:{}",
            self.crate_name, self.crate_version, self.file, self.line
        )
    }
}

impl ToolManifest {
    /// The manifest of one registry entry: its descriptor's data, both
    /// schemas (built and cached by the registry) and their digests.
    ///
    /// ```
    /// use rustchain_tools::{Registry, ToolManifest};
    ///
    /// for tool in Registry::global().tools() {
    ///     let manifest = ToolManifest::of(tool);
    ///     assert_eq!(manifest.name, tool.name());
    /// }
    /// ```
    pub fn of(tool: Tool<'_>) -> ToolManifest {
        let d = tool.descriptor();
        let input_schema = tool.input_schema().clone();
        let output_schema = tool.output_schema().clone();
        ToolManifest {
            format: FORMAT,
            name: d.name.to_owned(),
            title: d.title.map(str::to_owned),
            description: d.description.to_owned(),
            annotations: d.annotations,
            tags: d.tags.iter().map(|&tag| tag.to_owned()).collect(),
            params: d
                .params
                .iter()
                .map(|p| ParamManifest {
                    name: p.name.to_owned(),
                    description: p.description.to_owned(),
                    required: p.required,
                })
                .collect(),
            permissions: d
                .permissions
                .iter()
                .map(|p| PermissionManifest {
                    kind: p.kind,
                    param: p.param.to_owned(),
                })
                .collect(),
            timeout_ms: d.timeout.map(millis),
            is_async: d.invoke.is_async(),
            source: ManifestSource {
                crate_name: d.source.crate_name.to_owned(),
                crate_version: d.source.crate_version.to_owned(),
                module_path: d.source.module_path.to_owned(),
                file: d.source.file.to_owned(),
                line: d.source.line,
            },
            input_schema_digest: schema_digest(&input_schema),
            input_schema,
            output_schema_digest: schema_digest(&output_schema),
            output_schema,
        }
    }

    /// The tool's own timeout, if it declared one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }

    /// Reads one tool's manifest from JSON text, refusing another format or a
    /// schema whose digest does not match (see [`ToolManifest::check`]).
    pub fn from_json(text: &str) -> Result<ToolManifest, ManifestError> {
        let manifest: ToolManifest = parse(text)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks what deserializing alone cannot: the format is [`FORMAT`] and
    /// each schema digest is the digest of its schema. Readers of other file
    /// formats (a TOML lock file, say) call this after deserializing.
    pub fn check(&self) -> Result<(), ManifestError> {
        check_format(self.format, Some(&self.name))?;
        for (which, schema, digest) in [
            ("input", &self.input_schema, &self.input_schema_digest),
            ("output", &self.output_schema, &self.output_schema_digest),
        ] {
            let actual = schema_digest(schema);
            if actual != *digest {
                return Err(ManifestError::new(
                    ManifestErrorKind::DigestMismatch,
                    format!(
                        "the {which} schema of `{}` has digest {actual}, but the manifest says {digest}",
                        self.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A whole tool set: every tool's manifest, ordered by name.
///
/// What `tools list --json` prints, and what a lock file or a marketplace
/// index holds. The order is by name (byte order), so two builds of the same
/// tools write the same text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format ([`FORMAT`]) this was written in.
    pub format: u32,
    /// Every tool, ordered by name, each name once.
    pub tools: Vec<ToolManifest>,
}

impl Manifest {
    /// The manifest of every tool in `registry`, ordered by name.
    pub fn of(registry: &Registry) -> Manifest {
        Manifest::new(registry.tools().map(ToolManifest::of))
    }

    /// A manifest of `tools`, put in name order.
    pub fn new(tools: impl IntoIterator<Item = ToolManifest>) -> Manifest {
        let mut tools: Vec<ToolManifest> = tools.into_iter().collect();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        Manifest {
            format: FORMAT,
            tools,
        }
    }

    /// The tool called `name`, if the set has one (found by name order, which
    /// [`Manifest::new`] makes and [`Manifest::check`] checks).
    pub fn get(&self, name: &str) -> Option<&ToolManifest> {
        self.tools
            .binary_search_by(|tool| tool.name.as_str().cmp(name))
            .ok()
            .map(|position| &self.tools[position])
    }

    /// Reads a tool set from JSON text, refusing another format, a schema
    /// whose digest does not match, and tools out of name order or named twice.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = parse(text)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks what deserializing alone cannot: the set's format and every
    /// tool's ([`ToolManifest::check`]), and the name order (each name once).
    pub fn check(&self) -> Result<(), ManifestError> {
        check_format(self.format, None)?;
        if let Some(pair) = self
            .tools
            .windows(2)
            .find(|pair| pair[0].name >= pair[1].name)
        {
            let problem = if pair[0].name == pair[1].name {
                "is listed twice"
            } else {
                "comes before a name that sorts earlier"
            };
            return Err(ManifestError::new(
                ManifestErrorKind::Malformed,
                format!(
                    "the tools must be in name order, each once; `{}` {problem} (`{}`)",
                    pair[0].name, pair[1].name
                ),
            ));
        }
        self.tools.iter().try_for_each(ToolManifest::check)
    }
}

/// The digest of a schema: `sha256:` and the 64 lowercase hex digits of the
/// SHA-256 of its [`canonical_json`] text.
///
/// Two schemas that differ only in key order or whitespace have the same
/// digest; any other change gives another.
///
/// ```
/// use rustchain_tools::manifest::schema_digest;
///
/// let schema: schemars::Schema = serde_json::from_str(r#"{"type": "integer"}"#).unwrap();
/// assert_eq!(
///     schema_digest(&schema),
///     // printf '{"type":"integer"}' | sha256sum
///     "sha256:f0765dbf409c74f001806c446f2cf171d8c46b5b15779d54423dde921a4b0670",
/// );
/// ```
pub fn schema_digest(schema: &Schema) -> String {
    crate::audit::digest(canonical_json(schema.as_value()).as_bytes())
}

/// `value` as canonical JSON text: the one text a digest is taken of.
///
/// Canonical here means: object keys sorted by their UTF-8 bytes (at every
/// depth), array order kept, no whitespace at all, strings escaped as
/// `serde_json` writes them (`"` `\` and control characters escaped,
/// everything else as UTF-8), and numbers as `serde_json` writes them
/// (integers in decimal, floats in their shortest round-trip form, so `1`
/// and `1.0` differ). It is close to RFC 8785 but not the same: that sorts
/// keys by UTF-16 code units and writes numbers the JavaScript way.
///
/// ```
/// use rustchain_tools::manifest::canonical_json;
///
/// let value: serde_json::Value = serde_json::from_str(r#"{ "b": [2, 1], "a": {"y": "é", "x": 1.5} }"#).unwrap();
/// assert_eq!(canonical_json(&value), r#"{"a":{"x":1.5,"y":"é"},"b":[2,1]}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut text = String::new();
    push_canonical(&mut text, value);
    text
}

fn push_canonical(text: &mut String, value: &Value) {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            text.push('{');
            for (position, (key, value)) in entries.into_iter().enumerate() {
                if position > 0 {
                    text.push(',');
                }
                push_string(text, key);
                text.push(':');
                push_canonical(text, value);
            }
            text.push('}');
        }
        Value::Array(items) => {
            text.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    text.push(',');
                }
                push_canonical(text, item);
            }
            text.push(']');
        }
        // A leaf's compact form is serde_json's own, which has no whitespace.
        leaf => text.push_str(&leaf.to_string()),
    }
}

fn push_string(text: &mut String, string: &str) {
    text.push_str(&serde_json::to_string(string).expect("a string always serializes to JSON"));
}

/// What is wrong with a manifest that is read, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// Not JSON, not the manifest's shape (a missing field, an unknown
    /// permission kind), or a tool set out of name order.
    Malformed,
    /// Written in a format this build does not read.
    UnsupportedFormat,
    /// A schema's digest is not the digest of that schema (it was edited, or
    /// the digest was).
    DigestMismatch,
}

impl ManifestErrorKind {
    /// The stable snake-case name of this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            ManifestErrorKind::Malformed => "malformed",
            ManifestErrorKind::UnsupportedFormat => "unsupported_format",
            ManifestErrorKind::DigestMismatch => "digest_mismatch",
        }
    }
}

impl fmt::Display for ManifestErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A manifest that cannot be read: a kind to match on and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    kind: ManifestErrorKind,
    message: String,
}

impl ManifestError {
    fn new(kind: ManifestErrorKind, message: impl Into<String>) -> Self {
        ManifestError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> ManifestErrorKind {
        self.kind
    }

    /// What is wrong, in words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ManifestError {}

/// Parses `text` as `T`, looking at its `format` first: a newer format may
/// not have this shape at all, and its reader should hear "unsupported
/// format", not "missing field".
fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ManifestError> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        ManifestError::new(
            ManifestErrorKind::Malformed,
            format!("a manifest is JSON: {err}"),
        )
    })?;
    match value.get("format") {
        Some(Value::Number(number)) => match number.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(format) => check_format(format, None)?,
            None => return Err(unsupported(&number.to_string(), None)),
        },
        Some(other) => return Err(unsupported(&other.to_string(), None)),
        None => {
            return Err(ManifestError::new(
                ManifestErrorKind::Malformed,
                "a manifest names its `format`; this has none",
            ));
        }
    }
    serde_json::from_value(value).map_err(|err| {
        ManifestError::new(
            ManifestErrorKind::Malformed,
            format!("not a manifest: {err}"),
        )
    })
}

fn check_format(format: u32, tool: Option<&str>) -> Result<(), ManifestError> {
    if format == FORMAT {
        Ok(())
    } else {
        Err(unsupported(&format.to_string(), tool))
    }
}

fn unsupported(format: &str, tool: Option<&str>) -> ManifestError {
    let whose = tool.map_or_else(String::new, |name| format!(" of `{name}`"));
    ManifestError::new(
        ManifestErrorKind::UnsupportedFormat,
        format!("the manifest{whose} is in format {format}; this build reads format {FORMAT} only"),
    )
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{input_schema, output_schema};
    use crate::{
        Invoke, ParamInfo, Permission, SourceLocation, ToolContext, ToolDescriptor, ToolError,
        ToolFuture, ToolOutput,
    };
    use serde_json::json;

    fn nothing(_: &ToolContext, _: &str) -> Result<ToolOutput, ToolError> {
        Err(ToolError::new(crate::ErrorKind::Failed, "never called"))
    }

    fn nothing_async<'a>(_: &'a ToolContext, _: &'a str) -> Result<ToolFuture<'a>, ToolError> {
        Err(ToolError::new(crate::ErrorKind::Failed, "never called"))
    }

    static COPY_PARAMS: [ParamInfo; 3] = [
        ParamInfo {
            name: "from",
            description: "The file to copy.",
            required: true,
        },
        ParamInfo {
            name: "to",
            description: "Where the copy goes.",
            required: true,
        },
        ParamInfo {
            name: "limit",
            description: "At most this many bytes.",
            required: false,
        },
    ];

    /// A tool declaring everything a descriptor can: title, hints, tags,
    /// permissions, a timeout, async.
    static COPY: ToolDescriptor = ToolDescriptor {
        name: "copy_file",
        title: Some("Copy a file"),
        description: "Copies a file.\n\nThe target is replaced.",
        annotations: Annotations {
            read_only: Some(false),
            destructive: Some(true),
            idempotent: Some(true),
            open_world: None,
        },
        tags: &["files", "copy"],
        permissions: &[
            Permission {
                kind: PermissionKind::FsRead,
                param: "from",
            },
            Permission {
                kind: PermissionKind::FsWrite,
                param: "to",
            },
        ],
        timeout: Some(Duration::from_millis(1500)),
        params: &COPY_PARAMS,
        source: SourceLocation {
            crate_name: "file-tools",
            crate_version: "2.3.4",
            module_path: "file_tools::copy",
            file: "src/copy.rs",
            line: 42,
        },
        input_schema: input_schema::<(String, String, Option<u64>)>,
        output_schema: output_schema::<u64>,
        invoke: Invoke::Async(nothing_async),
    };

    /// A tool declaring nothing at all.
    static NOW: ToolDescriptor = ToolDescriptor {
        name: "now",
        title: None,
        description: "The time.",
        annotations: Annotations::NONE,
        tags: &[],
        permissions: &[],
        timeout: None,
        params: &[],
        source: SourceLocation {
            crate_name: "clock",
            crate_version: "0.1.0",
            module_path: "clock",
            file: "src/lib.rs",
            line: 7,
        },
        input_schema: input_schema::<()>,
        output_schema: output_schema::<String>,
        invoke: Invoke::Sync(nothing),
    };

    fn registry() -> Registry {
        Registry::build([&NOW, &COPY]).expect("two distinct names")
    }

    #[test]
    fn every_tools_manifest_carries_what_its_descriptor_declares() {
        let registry = registry();
        for tool in registry.tools() {
            let d = tool.descriptor();
            let manifest = ToolManifest::of(tool);
            assert_eq!(manifest.format, FORMAT);
            assert_eq!(manifest.name, d.name);
            assert_eq!(manifest.title.as_deref(), d.title);
            assert_eq!(manifest.description, d.description);
            assert_eq!(manifest.annotations, d.annotations);
            assert_eq!(manifest.tags, d.tags);
            let permissions: Vec<(PermissionKind, &str)> = manifest
                .permissions
                .iter()
                .map(|p| (p.kind, p.param.as_str()))
                .collect();
            let declared: Vec<(PermissionKind, &str)> =
                d.permissions.iter().map(|p| (p.kind, p.param)).collect();
            assert_eq!(permissions, declared);
            assert_eq!(manifest.timeout(), d.timeout);
            assert_eq!(manifest.is_async, d.invoke.is_async());
            assert_eq!(manifest.source.crate_name, d.source.crate_name);
            assert_eq!(manifest.source.crate_version, d.source.crate_version);
            assert_eq!(manifest.source.to_string(), d.source.to_string());
            assert_eq!(&manifest.input_schema, tool.input_schema());
            assert_eq!(&manifest.output_schema, tool.output_schema());
            assert_eq!(manifest.check(), Ok(()));
        }

        let copy = ToolManifest::of(registry.get("copy_file").expect("linked above"));
        assert_eq!(copy.title.as_deref(), Some("Copy a file"));
        assert_eq!(copy.tags, ["files", "copy"], "in the order written");
        assert_eq!(copy.timeout_ms, Some(1500));
        assert!(copy.is_async);
        assert_eq!(
            copy.params
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["from", "to", "limit"],
            "in declaration order"
        );
        assert!(!copy.params[2].required);
        assert_eq!(
            serde_json::to_value(&copy.permissions).expect("serializes"),
            json!([{"kind": "fs_read", "param": "from"}, {"kind": "fs_write", "param": "to"}])
        );
        assert_eq!(
            serde_json::to_value(copy.annotations).expect("serializes"),
            json!({"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true})
        );
        assert_eq!(copy.source.module_path, "file_tools::copy");
        assert_eq!(copy.source.line, 42);
    }

    #[test]
    fn the_json_keeps_the_existing_listing_names() {
        let value = serde_json::to_value(ToolManifest::of(
            registry().get("copy_file").expect("linked above"),
        ))
        .expect("serializes");
        assert_eq!(value["async"], true);
        assert_eq!(value["timeout_ms"], 1500);
        assert_eq!(
            value["source"],
            json!({"crate": "file-tools", "version": "2.3.4", "module": "file_tools::copy", "file": "src/copy.rs", "line": 42})
        );
        assert_eq!(value["input_schema"]["required"], json!(["from", "to"]));
        assert!(
            value["input_schema_digest"]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:") && d.len() == 7 + 64),
            "{value}"
        );
    }

    #[test]
    fn a_manifest_survives_a_round_trip_unchanged() {
        let manifest = Manifest::of(&registry());
        assert_eq!(
            manifest
                .tools
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["copy_file", "now"]
        );
        for text in [
            serde_json::to_string(&manifest).expect("serializes"),
            serde_json::to_string_pretty(&manifest).expect("serializes"),
        ] {
            assert_eq!(Manifest::from_json(&text), Ok(manifest.clone()));
        }
        for tool in &manifest.tools {
            let text = serde_json::to_string(tool).expect("serializes");
            assert_eq!(ToolManifest::from_json(&text).as_ref(), Ok(tool));
        }
    }

    #[test]
    fn tools_are_put_in_name_order_and_found_by_name() {
        let registry = registry();
        let mut backwards: Vec<ToolManifest> = registry.tools().map(ToolManifest::of).collect();
        backwards.reverse();
        let manifest = Manifest::new(backwards);
        assert_eq!(manifest, Manifest::of(&registry));
        assert_eq!(manifest.get("now").map(|t| t.name.as_str()), Some("now"));
        assert_eq!(manifest.get("copy_file").map(|t| t.is_async), Some(true));
        assert_eq!(manifest.get("nope"), None);
    }

    #[test]
    fn canonical_text_sorts_keys_at_every_depth_and_has_no_whitespace() {
        let one: Value =
            serde_json::from_str(r#"{"b": {"z": [3, {"y": 1, "x": 2}], "a": null}, "a": "\n"}"#)
                .expect("JSON");
        let other: Value =
            serde_json::from_str(r#"{"a":"\n","b":{"a":null,"z":[3,{"x":2,"y":1}]}}"#)
                .expect("JSON");
        // serde_json keeps insertion order here (`preserve_order`), so the two
        // really are written differently before canonicalization.
        assert_ne!(one.to_string(), other.to_string());
        let canonical = r#"{"a":"\n","b":{"a":null,"z":[3,{"x":2,"y":1}]}}"#;
        assert_eq!(canonical_json(&one), canonical);
        assert_eq!(canonical_json(&other), canonical);
        assert_eq!(
            canonical_json(&json!([2, 1])),
            "[2,1]",
            "array order is kept"
        );
        assert_eq!(canonical_json(&json!(1.0)), "1.0");
        assert_eq!(canonical_json(&json!("é\u{1}")), "\"é\\u0001\"");
    }

    #[test]
    fn the_digest_ignores_key_order_and_whitespace() {
        let one: Schema =
            serde_json::from_str(r#"{"type": "object", "properties": {"b": {}, "a": {}}}"#)
                .expect("a schema");
        let other: Schema = serde_json::from_str(
            r#"{
                "properties": {"a": {}, "b": {}},
                "type": "object"
            }"#,
        )
        .expect("a schema");
        assert_eq!(schema_digest(&one), schema_digest(&other));
        // The digest of the canonical text, computed independently:
        // printf '{"a":1}' | sha256sum
        let known: Schema = serde_json::from_str(r#"{ "a" : 1 }"#).expect("a schema");
        assert_eq!(
            schema_digest(&known),
            "sha256:015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
    }

    #[test]
    fn the_digest_is_stable_and_changes_with_the_schema() {
        let registry = registry();
        let tool = registry.get("copy_file").expect("linked above");
        let first = ToolManifest::of(tool);
        let again = ToolManifest::of(tool);
        assert_eq!(first.input_schema_digest, again.input_schema_digest);
        assert_ne!(first.input_schema_digest, first.output_schema_digest);

        let mut changed = first.input_schema.clone();
        changed.insert("additionalProperties".into(), true.into());
        assert_ne!(schema_digest(&changed), first.input_schema_digest);
        let mut described = first.input_schema.clone();
        described.insert("description".into(), "one word more".into());
        assert_ne!(schema_digest(&described), first.input_schema_digest);
        // A number's spelling is part of the schema text.
        let one: Schema = serde_json::from_str(r#"{"maximum": 1}"#).expect("a schema");
        let one_point_zero: Schema = serde_json::from_str(r#"{"maximum": 1.0}"#).expect("a schema");
        assert_ne!(schema_digest(&one), schema_digest(&one_point_zero));
    }

    /// The JSON of the test registry's manifest, for tampering with.
    fn manifest_value() -> Value {
        serde_json::to_value(Manifest::of(&registry())).expect("serializes")
    }

    fn kind_of(value: &Value) -> Option<ManifestErrorKind> {
        Manifest::from_json(&value.to_string())
            .err()
            .map(|err| err.kind())
    }

    #[test]
    fn a_schema_edited_without_its_digest_is_refused() {
        let mut loosened = manifest_value();
        loosened["tools"][0]["input_schema"]["additionalProperties"] = true.into();
        let err = Manifest::from_json(&loosened.to_string()).expect_err("edited");
        assert_eq!(err.kind(), ManifestErrorKind::DigestMismatch);
        assert!(
            err.message().contains("input schema of `copy_file`"),
            "{err}"
        );

        let mut digest = manifest_value();
        digest["tools"][1]["output_schema_digest"] = format!("sha256:{}", "0".repeat(64)).into();
        let err = Manifest::from_json(&digest.to_string()).expect_err("edited");
        assert_eq!(err.kind(), ManifestErrorKind::DigestMismatch);
        assert!(err.message().contains("output schema of `now`"), "{err}");

        // Reordering a schema's keys is not an edit.
        let mut reordered = manifest_value();
        let schema = reordered["tools"][0]["input_schema"]
            .as_object()
            .expect("an object")
            .clone();
        reordered["tools"][0]["input_schema"] = Value::Object(schema.into_iter().rev().collect());
        assert_eq!(kind_of(&reordered), None);
    }

    #[test]
    fn another_format_is_refused_even_when_its_shape_is_unknown() {
        assert_eq!(
            kind_of(&json!({"format": 2, "entries": []})),
            Some(ManifestErrorKind::UnsupportedFormat)
        );
        assert_eq!(
            kind_of(&json!({"format": "1", "tools": []})),
            Some(ManifestErrorKind::UnsupportedFormat)
        );
        assert_eq!(
            kind_of(&json!({"format": -1, "tools": []})),
            Some(ManifestErrorKind::UnsupportedFormat)
        );
        assert_eq!(
            kind_of(&json!({"tools": []})),
            Some(ManifestErrorKind::Malformed)
        );
        let mut inner = manifest_value();
        inner["tools"][1]["format"] = 7.into();
        let err = Manifest::from_json(&inner.to_string()).expect_err("format 7");
        assert_eq!(err.kind(), ManifestErrorKind::UnsupportedFormat);
        assert!(err.message().contains("of `now`"), "{err}");
        assert_eq!(
            ToolManifest::from_json(r#"{"format": 2}"#).map_err(|err| err.kind()),
            Err(ManifestErrorKind::UnsupportedFormat)
        );
        assert_eq!(
            kind_of(&json!({"format": 1, "tools": []})),
            None,
            "an empty set is a set"
        );
    }

    #[test]
    fn malformed_manifests_are_refused() {
        assert_eq!(
            Manifest::from_json("{format: 1}").map_err(|err| err.kind()),
            Err(ManifestErrorKind::Malformed)
        );
        let mut unknown_kind = manifest_value();
        unknown_kind["tools"][0]["permissions"][0]["kind"] = "fs_exec".into();
        assert_eq!(kind_of(&unknown_kind), Some(ManifestErrorKind::Malformed));

        let mut missing = manifest_value();
        if let Some(tool) = missing["tools"][0].as_object_mut() {
            tool.remove("permissions");
        }
        assert_eq!(kind_of(&missing), Some(ManifestErrorKind::Malformed));

        let mut swapped = manifest_value();
        if let Some(tools) = swapped["tools"].as_array_mut() {
            tools.reverse();
        }
        assert_eq!(kind_of(&swapped), Some(ManifestErrorKind::Malformed));

        let mut twice = manifest_value();
        let first = twice["tools"][0].clone();
        twice["tools"][1] = first;
        let err = Manifest::from_json(&twice.to_string()).expect_err("a name twice");
        assert_eq!(err.kind(), ManifestErrorKind::Malformed);
        assert!(
            err.message().contains("`copy_file` is listed twice"),
            "{err}"
        );
    }
}
