//! The readiness checklist `tools publish` shows: each check passes, warns
//! or blocks, and says how to fix what it does not pass.
//!
//! A package is ready when nothing blocks. A dry run and a real publish
//! run the same checks; only a missing signing key differs (it blocks a
//! real publish, and is a warning for a dry run).

use serde::Serialize;

use crate::compat::{breaking_changes, is_major_bump, next_major};
use crate::index::PackageLog;
use crate::package::{Package, is_package_name};
use crate::quality::TestOutcome;
use crate::sign::PublicKey;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Pass,
    /// Worth fixing; does not stop a publish.
    Warn,
    /// Stops a publish until fixed.
    Block,
}

impl Status {
    /// `pass`, `warn` or `block`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Block => "block",
        }
    }
}

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked, one word.
    pub item: &'static str,
    /// How it ended.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it, when it did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// What the index holds for the package, as far as it could be read.
#[derive(Debug, Clone)]
pub enum IndexState {
    /// No index there yet, or no file for this package: a new package.
    New,
    /// The package's file, verified.
    Log(PackageLog),
    /// The index could not be read; the message says why.
    Unreadable(String),
}

/// The signing key, as far as it could be loaded.
#[derive(Debug, Clone)]
pub enum KeyState {
    /// Loaded; its public key.
    Loaded(PublicKey),
    /// None or unreadable; the message says why.
    Missing(String),
}

/// Every check, in the order shown.
pub fn checklist(
    package: &Package,
    index: &IndexState,
    key: &KeyState,
    dry_run: bool,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut add = |item, status, detail: String, fix: Option<String>| {
        checks.push(Check {
            item,
            status,
            detail,
            fix,
        });
    };
    let meta = &package.metadata;
    if is_package_name(&meta.name) {
        add(
            "name",
            Status::Pass,
            format!("`{}` is a package name", meta.name),
            None,
        );
    } else {
        add(
            "name",
            Status::Block,
            format!("`{}` is not a package name", meta.name),
            Some("use an ASCII letter, then letters, digits, `-` and `_` (at most 64)".into()),
        );
    }
    let version = package.version();
    match &version {
        Ok(version) => add(
            "version",
            Status::Pass,
            format!("{version} is a semver version"),
            None,
        ),
        Err(err) => add(
            "version",
            Status::Block,
            err.message().to_owned(),
            Some("set `version = \"0.1.0\"` (or higher) in [package]".into()),
        ),
    }
    match &meta.license {
        Some(license) if !license.trim().is_empty() => {
            add("license", Status::Pass, license.clone(), None)
        }
        _ => add(
            "license",
            Status::Block,
            "no license".into(),
            Some("set `license = \"MIT OR Apache-2.0\"` (an SPDX expression) in [package]".into()),
        ),
    }
    match &meta.description {
        Some(text) if !text.trim().is_empty() => add(
            "description",
            Status::Pass,
            "the crate is described".into(),
            None,
        ),
        _ => add(
            "description",
            Status::Warn,
            "the crate has no description".into(),
            Some("set `description = \"...\"` in [package]".into()),
        ),
    }
    let undescribed: Vec<&str> = package
        .tools
        .iter()
        .filter(|t| t.description.trim().is_empty())
        .map(|t| t.name.as_str())
        .collect();
    if package.tools.is_empty() {
        add(
            "tools",
            Status::Block,
            "no tools".into(),
            Some("name the tools to publish, or the crate with --crate".into()),
        );
    } else if !undescribed.is_empty() {
        add(
            "tools",
            Status::Block,
            format!("no description: {}", undescribed.join(", ")),
            Some("write a doc comment on each tool function".into()),
        );
    } else {
        add(
            "tools",
            Status::Pass,
            format!("{} described", count(package.tools.len(), "tool", "tools")),
            None,
        );
    }
    let bare: Vec<String> = package
        .tools
        .iter()
        .flat_map(|t| {
            t.params
                .iter()
                .filter(|p| p.description.trim().is_empty())
                .map(move |p| format!("{}.{}", t.name, p.name))
        })
        .collect();
    if bare.is_empty() {
        add(
            "parameters",
            Status::Pass,
            "every parameter is described".into(),
            None,
        );
    } else {
        add(
            "parameters",
            Status::Warn,
            format!("no description: {}", bare.join(", ")),
            Some("write a `///` comment on each parameter".into()),
        );
    }
    let mismatched: Vec<&str> = package
        .tools
        .iter()
        .filter(|t| !t.digests_match())
        .map(|t| t.name.as_str())
        .collect();
    if mismatched.is_empty() {
        add(
            "schemas",
            Status::Pass,
            "every schema matches its digest".into(),
            None,
        );
    } else {
        add(
            "schemas",
            Status::Block,
            format!("schema digests do not match: {}", mismatched.join(", ")),
            Some("publish from the linked tools, not an edited manifest".into()),
        );
    }
    let findings = package.quality.findings;
    let (status, fix) = match findings.worst() {
        None => (Status::Pass, None),
        Some(rustchain_tools::scan::Severity::High) => (
            Status::Block,
            Some("fix the high findings `rustchain tools security-scan` lists".to_owned()),
        ),
        Some(_) => (
            Status::Warn,
            Some("see `rustchain tools security-scan`".to_owned()),
        ),
    };
    add(
        "security",
        status,
        format!(
            "{} high, {} medium, {} low findings",
            findings.high, findings.medium, findings.low
        ),
        fix,
    );
    match package.quality.tests {
        TestOutcome::Passed => add("tests", Status::Pass, "cargo test passed".into(), None),
        TestOutcome::Failed => add(
            "tests",
            Status::Block,
            "cargo test failed".into(),
            Some("make the crate's tests pass".into()),
        ),
        TestOutcome::NotRun => add(
            "tests",
            Status::Warn,
            "not run".into(),
            Some("add --run-tests to run `cargo test` on the crate".into()),
        ),
    }
    index_checks(package, version.ok().as_ref(), index, key, &mut add);
    match key {
        KeyState::Loaded(public) => add("key", Status::Pass, format!("signs as {public}"), None),
        KeyState::Missing(why) => add(
            "key",
            if dry_run { Status::Warn } else { Status::Block },
            why.clone(),
            Some("`rustchain market keygen` makes one (a real publish needs it)".into()),
        ),
    }
    checks
}

fn index_checks(
    package: &Package,
    version: Option<&semver::Version>,
    index: &IndexState,
    key: &KeyState,
    add: &mut impl FnMut(&'static str, Status, String, Option<String>),
) {
    let log = match index {
        IndexState::New => {
            add(
                "index",
                Status::Pass,
                "a new package in the index".into(),
                None,
            );
            add(
                "compatibility",
                Status::Pass,
                "no earlier version".into(),
                None,
            );
            return;
        }
        IndexState::Unreadable(why) => {
            add(
                "index",
                Status::Block,
                why.clone(),
                Some("name a readable index with --index".into()),
            );
            return;
        }
        IndexState::Log(log) => log,
    };
    if let Some(first) = log.untrusted().next() {
        let why = first
            .distrust
            .as_ref()
            .map_or(String::new(), |(_, why)| why.clone());
        add(
            "index",
            Status::Block,
            format!("the package's file in the index does not verify: {why}"),
            Some("restore it from a trusted copy (`rustchain market mirror`)".into()),
        );
        return;
    }
    let owner = log.trusted().next().map(|e| e.key.clone());
    match (key, &owner) {
        (KeyState::Loaded(public), Some(owner)) if public.to_string() != *owner => {
            add(
                "owner",
                Status::Block,
                format!("`{}` belongs to {owner}", log.name),
                Some("sign with the owner's key (--key)".into()),
            );
        }
        _ => {}
    }
    let Some(version) = version else { return };
    match (log.get(version), log.highest()) {
        (Some(_), _) => add(
            "index",
            Status::Block,
            format!("{version} is already in the index"),
            Some("bump the version".into()),
        ),
        (None, Some(highest)) if highest.version > *version => add(
            "index",
            Status::Block,
            format!(
                "{version} is lower than {}, the highest in the index",
                highest.version
            ),
            Some("publish a higher version".into()),
        ),
        (None, Some(highest)) => add(
            "index",
            Status::Pass,
            format!("{version} follows {}", highest.version),
            None,
        ),
        (None, None) => add(
            "index",
            Status::Pass,
            "a new package in the index".into(),
            None,
        ),
    }
    match log.latest() {
        None => add(
            "compatibility",
            Status::Pass,
            "no earlier version".into(),
            None,
        ),
        Some(latest) => {
            let changes = breaking_changes(&latest.package, package);
            if changes.is_empty() {
                add(
                    "compatibility",
                    Status::Pass,
                    format!("compatible with {}", latest.version),
                    None,
                );
            } else if is_major_bump(&latest.version, version) {
                add(
                    "compatibility",
                    Status::Pass,
                    format!(
                        "{} breaking changes since {}, in a major version",
                        changes.len(),
                        latest.version
                    ),
                    None,
                );
            } else {
                let listed: Vec<String> = changes.iter().map(ToString::to_string).collect();
                add(
                    "compatibility",
                    Status::Block,
                    format!(
                        "breaks callers of {}: {}",
                        latest.version,
                        listed.join("; ")
                    ),
                    Some(format!(
                        "publish it as {} or keep the old behaviour",
                        next_major(&latest.version)
                    )),
                );
            }
        }
    }
}

/// Whether nothing in `checks` blocks.
pub fn ready(checks: &[Check]) -> bool {
    checks.iter().all(|check| check.status != Status::Block)
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
