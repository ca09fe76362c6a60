//! Tools of different parameter shapes, linked into the fuzz targets that
//! call tools (`decode_args`, `mcp_framing`), and helpers the targets share.
//!
//! Every tool here is pure and total: whatever arguments decode, it returns
//! a value. So any error a call reports other than `invalid_arguments` is a
//! finding, not the tool's own failure.

use std::collections::BTreeMap;

use rustchain::tool;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Adds two integers, wrapping on overflow.
#[tool(read_only)]
pub fn add(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a.wrapping_add(b)
}

/// Greets `name`, optionally several times and loudly.
#[tool(read_only)]
pub fn greet(
    /// Who to greet.
    name: String,
    /// How many times (default once).
    times: Option<u8>,
    /// Shout (default no).
    loud: Option<bool>,
) -> String {
    let greeting = format!("hello {name}");
    let greeting = if loud.unwrap_or(false) {
        greeting.to_uppercase()
    } else {
        greeting
    };
    vec![greeting; usize::from(times.unwrap_or(1).min(4))].join(" ")
}

/// A stop on a trip: nested, with unknown fields refused and a default.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    /// Where.
    pub place: String,
    /// How many nights (default 1).
    #[serde(default = "one")]
    pub nights: u32,
    /// A note.
    pub note: Option<String>,
}

fn one() -> u32 {
    1
}

/// How a trip is travelled: an externally tagged enum with a data variant.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// On foot.
    Walk,
    /// By train, in a class.
    Train {
        /// First or second class.
        class: u8,
    },
}

/// Plans a trip: a list of nested structs, an enum and a float.
#[tool(read_only)]
pub fn plan(
    /// The stops, in order.
    stops: Vec<Stop>,
    /// How to travel.
    mode: Mode,
    /// A budget factor.
    ratio: f64,
) -> String {
    let nights: u64 = stops.iter().map(|stop| u64::from(stop.nights)).sum();
    format!("{} stops, {nights} nights, {mode:?}, x{ratio}", stops.len())
}

/// Counts labels: a map and arbitrary JSON.
#[tool(read_only)]
pub fn tally(
    /// Labels and their counts.
    labels: BTreeMap<String, u32>,
    /// Anything at all.
    extra: serde_json::Value,
) -> u64 {
    let total: u64 = labels.values().map(|count| u64::from(*count)).sum();
    total.wrapping_add(u64::from(!extra.is_null()))
}

/// Echoes text from an async tool (called through the shared runtime).
#[tool(read_only)]
pub async fn echo(
    /// What to echo.
    text: String,
) -> String {
    text
}

/// The names of the tools above, in the order a target's selector byte picks them.
pub const TOOLS: [&str; 5] = ["add", "greet", "plan", "tally", "echo"];

/// The signing key the audit seeds are signed with and `audit_verify`
/// trusts: fixed, so a seed's checkpoints verify against it.
pub fn trusted_key() -> rustchain_tools::audit::SigningKey {
    rustchain_tools::audit::SigningKey::from_bytes(&[7; 32])
}

/// Writes real trails into `dir` as `audit_verify` inputs, so the fuzzer
/// starts from records, hash links and signatures that verify and mutates
/// from there: one signed by [`trusted_key`] with its sidecar, the same
/// trail alone, and one without checkpoints.
///
/// Made by the current writer rather than kept as files, so the seeds follow
/// the trail's format as it changes.
pub fn write_audit_seeds(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use rustchain_tools::audit::{AuditEvent, AuditOptions, AuditTrail, Decision, digest};

    let work = tempfile::tempdir()?;
    let options = [
        (
            "signed",
            AuditOptions::default().with_checkpoints(2, trusted_key()),
        ),
        ("unsigned", AuditOptions::default()),
    ];
    for (name, options) in options {
        let path = work.path().join(format!("{name}.jsonl"));
        let (trail, _) = AuditTrail::open(&path, options)?;
        for call in 0..5 {
            let args = format!(r#"{{"a": {call}, "b": 1}}"#);
            trail.append(&AuditEvent::Decision {
                tool: "add",
                call_id: &format!("call_{call}"),
                caller: None,
                decision: if call == 3 {
                    Decision::Deny
                } else {
                    Decision::Allow
                },
                rule: Some("tools.allow = [\"add\"]"),
                reason: None,
                approver: None,
                args_digest: &digest(args.as_bytes()),
                args: None,
            })?;
        }
        trail.close()?;
        let records = std::fs::read(&path)?;
        let mut alone = vec![0];
        alone.extend_from_slice(&records);
        std::fs::write(dir.join(format!("{name}-alone")), alone)?;
        let sidecar = path.with_file_name(format!("{name}.jsonl.checkpoint"));
        if let Ok(sidecar) = std::fs::read(sidecar) {
            let mut both = vec![1];
            both.extend_from_slice(&records);
            both.push(0);
            both.extend_from_slice(&sidecar);
            std::fs::write(dir.join(format!("{name}-with-sidecar")), both)?;
        }
    }
    Ok(())
}
