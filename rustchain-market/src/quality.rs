//! The quality report of a package version, computed from what it publishes.
//!
//! Seven parts, each worth at most its weight; the score is their sum (0-100):
//!
//! | part | weight | full marks when |
//! |------|--------|-----------------|
//! | `descriptions` | 15 | every tool has a description |
//! | `parameters` | 15 | every parameter has a description (a tool without parameters counts as described) |
//! | `strict` | 15 | every tool's definition is exact in each provider format: `openai-strict`, `anthropic`, `gemini` (the OpenAPI-subset `parameters`), `mcp`; points in proportion to the (tool, provider) pairs that lose nothing |
//! | `security` | 25 | the security scan finds nothing: points are the scan's score (100 less 40 per high, 15 per medium, 3 per low finding of the worst tool) times 25/100 |
//! | `permissions` | 10 | the tools touch nothing: 10 less 2 per distinct permission kind declared (`fs_read`, `fs_write`, `net`, `run`, `run_args`, `env`), at least 0 |
//! | `tests` | 15 | the crate's tests ran and passed (`tools publish --run-tests`); not run or failed gives 0 |
//! | `docs` | 5 | the Markdown reference (`tools docs`) is generated for every tool |
//!
//! Points are whole numbers, rounded down per part.
//!
//! ```
//! use rustchain_market::quality::{Quality, TestOutcome};
//! use rustchain_tools::{Manifest, Registry};
//!
//! let quality = Quality::of(&Manifest::of(Registry::global()), TestOutcome::NotRun);
//! assert_eq!(quality.score, quality.parts.iter().map(|part| part.points).sum::<u32>());
//! assert!(quality.score <= 85, "tests that did not run earn nothing");
//! ```

use std::collections::BTreeSet;

use rustchain_tools::Manifest;
use rustchain_tools::formats::{Format, FormatOptions, GeminiParameters, tool_definition};
use rustchain_tools::scan::{Scan, Severity};
use serde::{Deserialize, Serialize};

/// The weight of each part, in the order the report lists them.
pub const WEIGHTS: [(&str, u32); 7] = [
    ("descriptions", 15),
    ("parameters", 15),
    ("strict", 15),
    ("security", 25),
    ("permissions", 10),
    ("tests", 15),
    ("docs", 5),
];

/// The provider formats whose definitions are checked for loss.
const STRICT_FORMATS: [(Format, &str); 4] = [
    (Format::OpenAiStrict, "openai-strict"),
    (Format::Anthropic, "anthropic"),
    (Format::Gemini, "gemini"),
    (Format::Mcp, "mcp"),
];

/// Whether the crate's tests ran, and how they ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// Not run (`tools publish` without `--run-tests`).
    NotRun,
    /// `cargo test` ran and passed.
    Passed,
    /// `cargo test` ran and failed.
    Failed,
}

/// One part of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityPart {
    /// Its name (see [`WEIGHTS`]).
    pub part: String,
    /// The points earned.
    pub points: u32,
    /// The most it can earn: its weight.
    pub max: u32,
    /// What was measured, for people.
    pub detail: String,
}

/// Security findings by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCounts {
    /// High findings.
    pub high: u32,
    /// Medium findings.
    pub medium: u32,
    /// Low findings.
    pub low: u32,
}

impl FindingCounts {
    /// The most severe level with a finding, `None` when there is none.
    pub fn worst(&self) -> Option<Severity> {
        if self.high > 0 {
            Some(Severity::High)
        } else if self.medium > 0 {
            Some(Severity::Medium)
        } else if self.low > 0 {
            Some(Severity::Low)
        } else {
            None
        }
    }
}

/// The whole report: the score, its parts, and the measures search filters on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quality {
    /// The sum of the parts' points, 0-100.
    pub score: u32,
    /// Each part, in [`WEIGHTS`] order.
    pub parts: Vec<QualityPart>,
    /// Security findings by severity.
    pub findings: FindingCounts,
    /// The distinct permission kinds the tools declare, sorted.
    pub permissions: Vec<String>,
    /// Whether the tests ran and passed.
    pub tests: TestOutcome,
}

impl Quality {
    /// The report for the tools of `manifest`, with the tests' outcome.
    pub fn of(manifest: &Manifest, tests: TestOutcome) -> Quality {
        let tools = &manifest.tools;
        let described = tools
            .iter()
            .filter(|t| !t.description.trim().is_empty())
            .count();
        let params: Vec<_> = tools.iter().flat_map(|t| &t.params).collect();
        let params_described = params
            .iter()
            .filter(|p| !p.description.trim().is_empty())
            .count();

        let options = FormatOptions {
            gemini_parameters: GeminiParameters::OpenApi,
            ..FormatOptions::default()
        };
        let mut exact_per_format = Vec::new();
        for (format, label) in STRICT_FORMATS {
            let exact = tools
                .iter()
                .filter(|tool| tool_definition(tool, format, &options).warnings.is_empty())
                .count();
            exact_per_format.push((label, exact));
        }
        let exact_pairs: usize = exact_per_format.iter().map(|(_, n)| n).sum();

        let scan = Scan::of(manifest, None, None);
        let mut findings = FindingCounts::default();
        for finding in &scan.findings {
            match finding.severity {
                Severity::High => findings.high += 1,
                Severity::Medium => findings.medium += 1,
                Severity::Low => findings.low += 1,
            }
        }
        let permissions: BTreeSet<String> = tools
            .iter()
            .flat_map(|t| &t.permissions)
            .map(|p| {
                serde_json::to_value(p.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        let docs = rustchain_tools::docs::markdown(manifest, "rustchain");
        let documented = tools
            .iter()
            .filter(|tool| docs.contains(&format!("`{}`", tool.name)))
            .count();

        // An empty set (no tools, no parameters) has nothing missing: full marks.
        let share = |weight: u32, part: usize, whole: usize| -> u32 {
            (part * weight as usize)
                .checked_div(whole)
                .map_or(weight, |points| u32::try_from(points).unwrap_or(weight))
        };
        let weight = |name: &str| {
            WEIGHTS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, w)| *w)
        };
        let strict_detail = exact_per_format
            .iter()
            .map(|(label, n)| format!("{label} {n}/{}", tools.len()))
            .collect::<Vec<_>>()
            .join(", ");
        let parts = vec![
            part(
                "descriptions",
                share(weight("descriptions"), described, tools.len()),
                format!("{described}/{} tools described", tools.len()),
            ),
            part(
                "parameters",
                share(weight("parameters"), params_described, params.len()),
                format!("{params_described}/{} parameters described", params.len()),
            ),
            part(
                "strict",
                share(
                    weight("strict"),
                    exact_pairs,
                    tools.len() * STRICT_FORMATS.len(),
                ),
                format!("exact definitions: {strict_detail}"),
            ),
            part(
                "security",
                scan.score * weight("security") / 100,
                format!(
                    "scan score {}/100: {} high, {} medium, {} low",
                    scan.score, findings.high, findings.medium, findings.low
                ),
            ),
            part(
                "permissions",
                weight("permissions").saturating_sub(2 * permissions.len() as u32),
                if permissions.is_empty() {
                    "touches nothing".to_owned()
                } else {
                    permissions.iter().cloned().collect::<Vec<_>>().join(", ")
                },
            ),
            part(
                "tests",
                if tests == TestOutcome::Passed {
                    weight("tests")
                } else {
                    0
                },
                match tests {
                    TestOutcome::NotRun => "not run (--run-tests runs them)".to_owned(),
                    TestOutcome::Passed => "cargo test passed".to_owned(),
                    TestOutcome::Failed => "cargo test failed".to_owned(),
                },
            ),
            part(
                "docs",
                share(weight("docs"), documented, tools.len()),
                format!("reference generated for {documented}/{} tools", tools.len()),
            ),
        ];
        Quality {
            score: parts.iter().map(|p| p.points).sum(),
            parts,
            findings,
            permissions: permissions.into_iter().collect(),
            tests,
        }
    }
}

fn part(name: &str, points: u32, detail: String) -> QualityPart {
    let max = WEIGHTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, w)| *w);
    QualityPart {
        part: name.to_owned(),
        points: points.min(max),
        max,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_add_up_to_100() {
        assert_eq!(WEIGHTS.iter().map(|(_, w)| w).sum::<u32>(), 100);
    }

    fn manifest(json: serde_json::Value) -> Manifest {
        let mut manifest: Manifest = serde_json::from_value(json).expect("a manifest");
        for tool in &mut manifest.tools {
            tool.input_schema_digest = rustchain_tools::manifest::schema_digest(&tool.input_schema);
            tool.output_schema_digest =
                rustchain_tools::manifest::schema_digest(&tool.output_schema);
        }
        manifest
    }

    pub(crate) fn tool(
        name: &str,
        description: &str,
        param_description: &str,
    ) -> serde_json::Value {
        serde_json::json!({
            "format": 1, "name": name, "title": null, "description": description,
            "annotations": {}, "tags": [], "params": [{"name": "text", "description": param_description, "required": true}],
            "permissions": [], "timeout_ms": null, "async": false,
            "source": {"crate": "t", "version": "0.1.0", "module": "t", "file": "src/lib.rs", "line": 1},
            "input_schema": {"type": "object", "properties": {"text": {"type": "string", "description": param_description}}, "required": ["text"], "additionalProperties": false},
            "input_schema_digest": "", "output_schema": {"type": "string"}, "output_schema_digest": ""
        })
    }

    #[test]
    fn a_described_pure_tool_scores_all_but_the_tests() {
        let quality = Quality::of(
            &manifest(
                serde_json::json!({"format": 1, "tools": [tool("slug", "Makes a slug.", "The title.")]}),
            ),
            TestOutcome::NotRun,
        );
        assert_eq!(quality.score, 85, "{quality:#?}");
        let passed = Quality::of(
            &manifest(
                serde_json::json!({"format": 1, "tools": [tool("slug", "Makes a slug.", "The title.")]}),
            ),
            TestOutcome::Passed,
        );
        assert_eq!(passed.score, 100, "{passed:#?}");
    }

    #[test]
    fn missing_descriptions_cost_points_and_show_in_the_breakdown() {
        let quality = Quality::of(
            &manifest(
                serde_json::json!({"format": 1, "tools": [tool("a", "Does a.", ""), tool("b", "Does b.", "The text.")]}),
            ),
            TestOutcome::NotRun,
        );
        let parameters = quality
            .parts
            .iter()
            .find(|p| p.part == "parameters")
            .expect("listed");
        assert_eq!(
            (parameters.points, parameters.detail.as_str()),
            (7, "1/2 parameters described")
        );
        assert!(
            quality.findings.low + quality.findings.medium > 0,
            "the scan reports it too: {quality:#?}"
        );
        assert!(quality.score < 85);
    }
}
