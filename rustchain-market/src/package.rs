//! What one version of a package says about itself: the crate's metadata,
//! each tool's definition, and the quality report.
//!
//! The metadata is the `[package]` table of the tool crate's `Cargo.toml`
//! (or of a tool file's cargo frontmatter): name, version, description,
//! license, authors, repository. The tools are the linked tools' manifests,
//! less where their source lives (a path on the publisher's machine says
//! nothing to a reader of the index).
//!
//! Fields a crate inherits from its workspace (`license.workspace = true`)
//! are resolved from the workspace root's `[workspace.package]`, as Cargo
//! resolves them: [`inherit_workspace_fields`].

use std::path::{Path, PathBuf};

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
    /// carry) when the table has none. A field still inherited from a
    /// workspace (`license.workspace = true`) is refused: resolve it first
    /// with [`inherit_workspace_fields`].
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
                        "`{key}` is inherited from a workspace that was not read: name the crate's Cargo.toml (inside its workspace), or write it in the crate's own [package]"
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

/// Replaces each field of the `[package]` table `package` (read from the
/// `Cargo.toml` at `manifest`) that says `KEY.workspace = true` with the
/// workspace root's `[workspace.package].KEY`, as Cargo does.
///
/// The root is the `Cargo.toml` that `package.workspace` names, else the
/// first one with a `[workspace]` table from `manifest` itself upwards.
/// Refused: an inherited field with no workspace root above the crate, or
/// one the root's `[workspace.package]` does not give.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\n[workspace.package]\nlicense = \"MIT\"\n").unwrap();
/// std::fs::create_dir(dir.path().join("tools")).unwrap();
/// let manifest = dir.path().join("tools/Cargo.toml");
/// let mut package: toml::Table = toml::from_str("name = \"tools\"\nlicense.workspace = true").unwrap();
/// rustchain_market::package::inherit_workspace_fields(&mut package, &manifest).unwrap();
/// assert_eq!(package["license"].as_str(), Some("MIT"));
/// ```
pub fn inherit_workspace_fields(
    package: &mut toml::Table,
    manifest: &Path,
) -> Result<(), MarketError> {
    let inherited: Vec<String> = package
        .iter()
        .filter(|(_, value)| {
            value
                .get("workspace")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false)
        })
        .map(|(key, _)| key.clone())
        .collect();
    if inherited.is_empty() {
        return Ok(());
    }
    let explicit = package
        .get("workspace")
        .and_then(toml::Value::as_str)
        .map(PathBuf::from);
    let (root, workspace) = workspace_root(manifest, explicit.as_deref())?.ok_or_else(|| {
        MarketError::new(
            MarketErrorKind::Invalid,
            format!(
                "`{}` is inherited from a workspace, but no Cargo.toml with [workspace] is at or above {}: write it in the crate's own [package]",
                inherited[0],
                manifest.display()
            ),
        )
    })?;
    let given = workspace
        .get("package")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    for key in inherited {
        let value = given.get(&key).cloned().ok_or_else(|| {
            MarketError::new(
                MarketErrorKind::Invalid,
                format!(
                    "`{key}` is inherited from the workspace at {}, whose [workspace.package] has no `{key}`: add it there or in the crate",
                    root.display()
                ),
            )
        })?;
        package.insert(key, value);
    }
    Ok(())
}

/// The workspace root's `Cargo.toml` for the crate at `manifest`, and its
/// `[workspace]` table: `explicit` (a folder relative to the crate's) when
/// given, else the first `Cargo.toml` with `[workspace]` from the crate up.
fn workspace_root(
    manifest: &Path,
    explicit: Option<&Path>,
) -> Result<Option<(PathBuf, toml::Table)>, MarketError> {
    let crate_dir = manifest.parent().unwrap_or(Path::new("."));
    if let Some(folder) = explicit {
        let root = crate_dir.join(folder).join("Cargo.toml");
        return Ok(workspace_table(&root)?.map(|table| (root, table)));
    }
    if let Some(table) = workspace_table(manifest)? {
        return Ok(Some((manifest.to_path_buf(), table)));
    }
    for dir in crate_dir.ancestors().skip(1) {
        let candidate = dir.join("Cargo.toml");
        if let Some(table) = workspace_table(&candidate)? {
            return Ok(Some((candidate, table)));
        }
    }
    Ok(None)
}

/// The `[workspace]` table of the `Cargo.toml` at `path`; `None` when the
/// file does not exist or has none.
fn workspace_table(path: &Path) -> Result<Option<toml::Table>, MarketError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(MarketError::io("read", path, &err)),
    };
    let mut toml: toml::Table = toml::from_str(&text).map_err(|err| {
        MarketError::new(
            MarketErrorKind::Invalid,
            format!("{} is not valid TOML: {err}", path.display()),
        )
    })?;
    match toml.remove("workspace") {
        Some(toml::Value::Table(table)) => Ok(Some(table)),
        _ => Ok(None),
    }
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

    /// A workspace in a scratch folder: the root's `[workspace.package]`
    /// and a member crate at `crates/tools` inheriting from it.
    fn workspace(root: &str, member: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a scratch folder");
        std::fs::write(dir.path().join("Cargo.toml"), root).expect("written");
        let crate_dir = dir.path().join("crates/tools");
        std::fs::create_dir_all(&crate_dir).expect("made");
        let manifest = crate_dir.join("Cargo.toml");
        std::fs::write(&manifest, member).expect("written");
        (dir, manifest)
    }

    fn package_of(manifest: &Path) -> toml::Table {
        let text = std::fs::read_to_string(manifest).expect("read");
        let mut toml: toml::Table = toml::from_str(&text).expect("TOML");
        match toml.remove("package") {
            Some(toml::Value::Table(table)) => table,
            _ => panic!("no [package]"),
        }
    }

    #[test]
    fn inherited_fields_come_from_the_workspace_roots_package_table() {
        let (_dir, manifest) = workspace(
            "[workspace]\nmembers = [\"crates/*\"]\n[workspace.package]\nversion = \"2.3.0\"\nlicense = \"MIT OR Apache-2.0\"\nauthors = [\"W. Orkspace\"]\nrepository = \"https://github.com/o/r\"\n",
            "[package]\nname = \"tools\"\nversion.workspace = true\nlicense.workspace = true\nauthors.workspace = true\nrepository = \"https://github.com/o/own\"\ndescription = \"Own.\"\n",
        );
        let mut package = package_of(&manifest);
        inherit_workspace_fields(&mut package, &manifest).expect("resolved");
        let metadata =
            CrateMetadata::from_package_table(&package, "tools", "0.0.1").expect("valid");
        assert_eq!(metadata.version, "2.3.0");
        assert_eq!(metadata.license.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(metadata.authors, ["W. Orkspace"]);
        // A field the crate gives itself is its own.
        assert_eq!(
            metadata.repository.as_deref(),
            Some("https://github.com/o/own")
        );
    }

    #[test]
    fn an_inherited_field_the_workspace_lacks_or_no_workspace_is_refused() {
        let (_dir, manifest) = workspace(
            "[workspace]\n[workspace.package]\nversion = \"1.0.0\"\n",
            "[package]\nname = \"tools\"\nlicense.workspace = true\n",
        );
        let mut package = package_of(&manifest);
        let err = inherit_workspace_fields(&mut package, &manifest).expect_err("no license");
        assert!(err.message().contains("has no `license`"), "{err}");
        let (_dir, manifest) = workspace(
            "[package]\nname = \"not-a-workspace\"\n",
            "[package]\nname = \"tools\"\nlicense.workspace = true\n",
        );
        let mut package = package_of(&manifest);
        let err = inherit_workspace_fields(&mut package, &manifest).expect_err("no workspace");
        assert!(
            err.message().contains("no Cargo.toml with [workspace]"),
            "{err}"
        );
    }

    #[test]
    fn a_workspace_root_that_is_itself_the_crate_and_an_explicit_root_are_read() {
        let (dir, _member) = workspace(
            "[workspace]\n[workspace.package]\nlicense = \"MIT\"\n[package]\nname = \"root\"\nlicense.workspace = true\n",
            "",
        );
        let root = dir.path().join("Cargo.toml");
        let mut package = package_of(&root);
        inherit_workspace_fields(&mut package, &root).expect("resolved");
        assert_eq!(package["license"].as_str(), Some("MIT"));
        // `package.workspace` names a root that is not an ancestor.
        let other = tempfile::tempdir().expect("a scratch folder");
        let manifest = other.path().join("Cargo.toml");
        let text = format!(
            "[package]\nname = \"tools\"\nworkspace = {:?}\nlicense.workspace = true\n",
            dir.path().display().to_string()
        );
        std::fs::write(&manifest, text).expect("written");
        let mut package = package_of(&manifest);
        inherit_workspace_fields(&mut package, &manifest).expect("resolved");
        assert_eq!(package["license"].as_str(), Some("MIT"));
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
