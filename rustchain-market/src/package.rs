//! What one version of a package says about itself: the crate's metadata,
//! each tool's definition, and the quality report.
//!
//! The metadata is the `[package]` table of the tool crate's `Cargo.toml`
//! (or of a tool file's cargo frontmatter): name, version, description,
//! license, authors, repository. The tools are the linked tools' manifests,
//! less where their source lives (a path on the publisher's machine says
//! nothing to a reader of the index).

use rustchain_tools::manifest::{ParamManifest, PermissionManifest, schema_digest};
use rustchain_tools::{Annotations, ToolManifest};
use schemars::Schema;
use serde::{Deserialize, Serialize};

use crate::error::{MarketError, MarketErrorKind};
use crate::quality::Quality;

/// A crate's metadata, from its `[package]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateMetadata {
    /// The package name.
    pub name: String,
    /// The version (semver).
    pub version: String,
    /// What the crate is for, one paragraph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An SPDX license expression (`MIT OR Apache-2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Who wrote it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// Where its source is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

impl CrateMetadata {
    /// Reads the fields above from a `[package]` table; `name` and `version`
    /// fall back to `name` and `version` given (the ones the tool manifests
    /// carry) when the table has none. A field inherited from a workspace
    /// (`license.workspace = true`) is refused: say it in the crate itself.
    pub fn from_package_table(
        table: &toml::Table,
        name: &str,
        version: &str,
    ) -> Result<CrateMetadata, MarketError> {
        let text = |key: &str| -> Result<Option<String>, MarketError> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(text)) => Ok(Some(text.clone())),
                Some(toml::Value::Table(_)) => Err(MarketError::new(
                    MarketErrorKind::Invalid,
                    format!(
                        "`{key}` is inherited from the workspace: write it in the tool crate's own [package]"
                    ),
                )),
                Some(_) => Err(MarketError::new(
                    MarketErrorKind::Invalid,
                    format!("[package] `{key}` must be a string"),
                )),
            }
        };
        let authors = match table.get("authors") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            Some(_) => {
                return Err(MarketError::new(
                    MarketErrorKind::Invalid,
                    "[package] `authors` must be a list of strings",
                ));
            }
        };
        Ok(CrateMetadata {
            name: text("name")?.unwrap_or_else(|| name.to_owned()),
            version: text("version")?.unwrap_or_else(|| version.to_owned()),
            description: text("description")?,
            license: text("license")?,
            authors,
            repository: text("repository")?,
        })
    }
}

/// One tool of a package, as the index shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageTool {
    /// The tool's name, as models call it.
    pub name: String,
    /// What the tool does.
    pub description: String,
    /// Its parameters, in declaration order.
    pub params: Vec<ParamManifest>,
    /// What it declares it will touch.
    pub permissions: Vec<PermissionManifest>,
    /// Behaviour hints (MCP tool annotations).
    pub annotations: Annotations,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// The input schema (JSON Schema 2020-12).
    pub input_schema: Schema,
    /// `sha256:` digest of the input schema's canonical JSON.
    pub input_schema_digest: String,
    /// The output schema (JSON Schema 2020-12).
    pub output_schema: Schema,
    /// `sha256:` digest of the output schema's canonical JSON.
    pub output_schema_digest: String,
}

impl PackageTool {
    /// The index's view of a linked tool's manifest.
    pub fn of(tool: &ToolManifest) -> PackageTool {
        PackageTool {
            name: tool.name.clone(),
            description: tool.description.clone(),
            params: tool.params.clone(),
            permissions: tool.permissions.clone(),
            annotations: tool.annotations,
            tags: tool.tags.clone(),
            input_schema: tool.input_schema.clone(),
            input_schema_digest: tool.input_schema_digest.clone(),
            output_schema: tool.output_schema.clone(),
            output_schema_digest: tool.output_schema_digest.clone(),
        }
    }

    /// Whether both digests are the digests of their schemas.
    pub fn digests_match(&self) -> bool {
        schema_digest(&self.input_schema) == self.input_schema_digest
            && schema_digest(&self.output_schema) == self.output_schema_digest
    }
}

/// One version of a package: metadata, tools (by name), quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// The crate's metadata.
    #[serde(flatten)]
    pub metadata: CrateMetadata,
    /// Every tool the version provides, ordered by name.
    pub tools: Vec<PackageTool>,
    /// The computed quality report.
    pub quality: Quality,
}

impl Package {
    /// The tool called `name`, if the version has one.
    pub fn tool(&self, name: &str) -> Option<&PackageTool> {
        self.tools.iter().find(|tool| tool.name == name)
    }

    /// The version, parsed.
    pub fn version(&self) -> Result<semver::Version, MarketError> {
        parse_version(&self.metadata.version)
    }
}

/// Reads a semver version, with an error that says what is wrong.
pub fn parse_version(text: &str) -> Result<semver::Version, MarketError> {
    semver::Version::parse(text).map_err(|err| {
        MarketError::new(
            MarketErrorKind::Invalid,
            format!("`{text}` is not a semver version like 1.2.3: {err}"),
        )
    })
}

/// Whether `name` is a Cargo package name: an ASCII letter, then letters,
/// digits, `-` and `_`, at most 64 characters.
pub fn is_package_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_comes_from_the_package_table_and_falls_back_to_the_manifest() {
        let table: toml::Table = toml::from_str(
            "license = \"MIT\"\nauthors = [\"A <a@example.invalid>\"]\ndescription = \"d\"",
        )
        .expect("TOML");
        let metadata = CrateMetadata::from_package_table(&table, "t", "0.2.0").expect("valid");
        assert_eq!(metadata.name, "t");
        assert_eq!(metadata.version, "0.2.0");
        assert_eq!(metadata.license.as_deref(), Some("MIT"));
        assert_eq!(metadata.authors, ["A <a@example.invalid>"]);
        let inherited: toml::Table = toml::from_str("license.workspace = true").expect("TOML");
        let err =
            CrateMetadata::from_package_table(&inherited, "t", "1.0.0").expect_err("inherited");
        assert!(err.message().contains("workspace"), "{err}");
    }

    #[test]
    fn package_names_are_cargos() {
        assert!(is_package_name("my_tool"));
        assert!(is_package_name("weather-tools2"));
        assert!(!is_package_name("2fast"));
        assert!(!is_package_name("../etc"));
        assert!(!is_package_name(""));
        assert!(!is_package_name(&"a".repeat(65)));
    }
}
