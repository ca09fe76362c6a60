//! The 32 tools every framework in the comparison serves: `add` and 31
//! others of the same shape, so a lookup searches a table of realistic size.
//! The framework's own are `#[tool]` functions here; the peers' are built
//! from [`NAMES`] in the bench.

use rustchain::{Executor, Policy, Registry, tool};

/// The names of the 32 tools, `add` first.
pub const NAMES: [&str; 32] = [
    "add", "op_01", "op_02", "op_03", "op_04", "op_05", "op_06", "op_07", "op_08", "op_09",
    "op_10", "op_11", "op_12", "op_13", "op_14", "op_15", "op_16", "op_17", "op_18", "op_19",
    "op_20", "op_21", "op_22", "op_23", "op_24", "op_25", "op_26", "op_27", "op_28", "op_29",
    "op_30", "op_31",
];

/// An executor over the linked tools under the policy `toml` (a
/// `rustchain.toml`'s text), as the benches and the profile build theirs.
pub fn executor_with_policy(toml: &str) -> Executor {
    let policy =
        Policy::from_toml(toml, "<bench>", std::path::Path::new(".")).expect("a valid policy");
    Executor::builder(Registry::global())
        .policy(policy)
        .build()
        .expect("the policy fits the tools")
}

/// The policy that allows `add` by name and nothing else.
pub const ALLOW_ADD: &str = "[tools]\nallow = [\"add\"]\n";

/// A policy that only sets a default timeout: every call gets a deadline.
pub const TIMEOUT_30S: &str = "[limits]\ntimeout = \"30s\"\n";

/// The arguments every tool takes.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddArgs {
    /// The first addend.
    pub a: i64,
    /// The second addend.
    pub b: i64,
}

/// The floor: what a developer writes by hand for the same 32 tools, a
/// `match` on the name and `serde_json` into a derived struct.
pub fn hand_written(name: &str, args: &str) -> Result<String, String> {
    match name {
        "add" => add_by_hand(args),
        "op_01" => add_by_hand(args),
        "op_02" => add_by_hand(args),
        "op_03" => add_by_hand(args),
        "op_04" => add_by_hand(args),
        "op_05" => add_by_hand(args),
        "op_06" => add_by_hand(args),
        "op_07" => add_by_hand(args),
        "op_08" => add_by_hand(args),
        "op_09" => add_by_hand(args),
        "op_10" => add_by_hand(args),
        "op_11" => add_by_hand(args),
        "op_12" => add_by_hand(args),
        "op_13" => add_by_hand(args),
        "op_14" => add_by_hand(args),
        "op_15" => add_by_hand(args),
        "op_16" => add_by_hand(args),
        "op_17" => add_by_hand(args),
        "op_18" => add_by_hand(args),
        "op_19" => add_by_hand(args),
        "op_20" => add_by_hand(args),
        "op_21" => add_by_hand(args),
        "op_22" => add_by_hand(args),
        "op_23" => add_by_hand(args),
        "op_24" => add_by_hand(args),
        "op_25" => add_by_hand(args),
        "op_26" => add_by_hand(args),
        "op_27" => add_by_hand(args),
        "op_28" => add_by_hand(args),
        "op_29" => add_by_hand(args),
        "op_30" => add_by_hand(args),
        "op_31" => add_by_hand(args),
        _ => Err(format!("no tool named {name}")),
    }
}

fn add_by_hand(args: &str) -> Result<String, String> {
    let AddArgs { a, b } = serde_json::from_str(args).map_err(|e| e.to_string())?;
    serde_json::to_string(&(a + b)).map_err(|e| e.to_string())
}

/// Adds two integers (add).
#[tool]
pub fn add(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_01).
#[tool]
pub fn op_01(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_02).
#[tool]
pub fn op_02(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_03).
#[tool]
pub fn op_03(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_04).
#[tool]
pub fn op_04(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_05).
#[tool]
pub fn op_05(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_06).
#[tool]
pub fn op_06(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_07).
#[tool]
pub fn op_07(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_08).
#[tool]
pub fn op_08(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_09).
#[tool]
pub fn op_09(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_10).
#[tool]
pub fn op_10(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_11).
#[tool]
pub fn op_11(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_12).
#[tool]
pub fn op_12(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_13).
#[tool]
pub fn op_13(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_14).
#[tool]
pub fn op_14(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_15).
#[tool]
pub fn op_15(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_16).
#[tool]
pub fn op_16(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_17).
#[tool]
pub fn op_17(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_18).
#[tool]
pub fn op_18(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_19).
#[tool]
pub fn op_19(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_20).
#[tool]
pub fn op_20(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_21).
#[tool]
pub fn op_21(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_22).
#[tool]
pub fn op_22(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_23).
#[tool]
pub fn op_23(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_24).
#[tool]
pub fn op_24(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_25).
#[tool]
pub fn op_25(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_26).
#[tool]
pub fn op_26(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_27).
#[tool]
pub fn op_27(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_28).
#[tool]
pub fn op_28(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_29).
#[tool]
pub fn op_29(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_30).
#[tool]
pub fn op_30(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Adds two integers (op_31).
#[tool]
pub fn op_31(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}
