//! `server.json` for the MCP Registry: a package as an MCP server listing.
//!
//! The MCP Registry's schema (modelcontextprotocol/registry,
//! `docs/reference/server-json/server.schema.json`, 2025-12-11) requires
//! `name` (reverse-DNS namespace, one `/`, the server's name), `description`
//! (1-100 characters) and `version`. Its package types are npm, PyPI, NuGet,
//! OCI and MCPB; a Rust tool crate is none of them, so the export lists no
//! `packages` and says how to serve the tools (`rustchain mcp serve` in an
//! agent that links the crate) under `_meta`, in the publisher-provided
//! namespace the schema reserves for this.

use serde_json::{Value, json};

use crate::error::{MarketError, MarketErrorKind};
use crate::package::Package;

/// The schema the export follows.
pub const SERVER_SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/// The longest description the registry takes.
const MAX_DESCRIPTION: usize = 100;

/// The `server.json` of `package`; `namespace` is the reverse-DNS part of
/// the name (`io.github.owner`), derived from a GitHub repository when not given.
pub fn server_json(package: &Package, namespace: Option<&str>) -> Result<Value, MarketError> {
    let meta = &package.metadata;
    let namespace = match namespace {
        Some(namespace) => namespace.to_owned(),
        None => github_owner(meta.repository.as_deref()).map(|owner| format!("io.github.{owner}")).ok_or_else(|| {
            MarketError::new(
                MarketErrorKind::Invalid,
                "the MCP Registry names a server NAMESPACE/NAME: give --namespace (io.github.OWNER, or a reverse-DNS domain you own), or a GitHub `repository` in [package]",
            )
        })?,
    };
    let valid_namespace = !namespace.is_empty()
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid_namespace {
        return Err(MarketError::new(
            MarketErrorKind::Invalid,
            format!("--namespace {namespace}: letters, digits, `.` and `-` only (io.github.owner)"),
        ));
    }
    let description = meta
        .description
        .clone()
        .or_else(|| package.tools.first().map(|tool| tool.description.clone()))
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| {
            MarketError::new(
                MarketErrorKind::Invalid,
                "the MCP Registry needs a description: set `description` in [package]",
            )
        })?;
    let mut server = json!({
        "$schema": SERVER_SCHEMA,
        "name": format!("{namespace}/{}", meta.name),
        "description": shorten(description.trim(), MAX_DESCRIPTION),
        "version": meta.version,
        "_meta": {
            "io.modelcontextprotocol.registry/publisher-provided": {
                "rustchain": {
                    "crate": meta.name,
                    "version": meta.version,
                    "license": meta.license,
                    "serve": "link the crate into an agent (`rustchain tools register`) and run `rustchain mcp serve`",
                    "tools": package.tools.iter().map(|tool| json!({
                        "name": tool.name,
                        "description": tool.description,
                        "permissions": tool.permissions,
                        "inputSchemaDigest": tool.input_schema_digest,
                    })).collect::<Vec<_>>(),
                    "quality": package.quality.score,
                }
            }
        }
    });
    if let Some(url) = meta
        .repository
        .as_deref()
        .filter(|url| url.starts_with("https://"))
    {
        let source = url
            .trim_start_matches("https://")
            .split(['/', '.'])
            .next()
            .unwrap_or("git");
        server["repository"] = json!({"url": url, "source": source});
    }
    Ok(server)
}

fn github_owner(repository: Option<&str>) -> Option<String> {
    let rest = repository?.strip_prefix("https://github.com/")?;
    let owner = rest.split('/').next()?;
    (!owner.is_empty() && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| owner.to_ascii_lowercase())
}

/// `text` cut to at most `max` characters at a word boundary, with `…`.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    let at = cut
        .rfind(' ')
        .filter(|&at| at > max / 2)
        .unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_description_is_cut_at_a_word_within_the_limit() {
        let long = "word ".repeat(40);
        let short = shorten(long.trim(), MAX_DESCRIPTION);
        assert!(
            short.chars().count() <= MAX_DESCRIPTION && short.ends_with("word…"),
            "{short}"
        );
        assert_eq!(shorten("short", MAX_DESCRIPTION), "short");
    }

    #[test]
    fn the_namespace_comes_from_a_github_repository() {
        assert_eq!(
            github_owner(Some("https://github.com/Acme-Corp/tools")).as_deref(),
            Some("acme-corp")
        );
        assert_eq!(github_owner(Some("https://example.org/x")), None);
        assert_eq!(github_owner(None), None);
    }
}
