//! The policy file as written: TOML, every table closed to unknown keys, with
//! source positions kept so every error can name its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// `rustchain.toml`, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// What happens to a tool no rule names: "allow" (the default) or "deny".
    pub default: Option<Spanned<String>>,
    #[serde(default)]
    pub tools: ToolRules,
    #[serde(default)]
    pub fs: FsGrants,
    #[serde(default)]
    pub net: NetGrants,
    #[serde(default)]
    pub programs: Vec<ProgramGrant>,
    #[serde(default)]
    pub env: EnvGrants,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub approval: Approval,
    #[serde(default)]
    pub audit: Audit,
    #[serde(default)]
    pub examples: Vec<Example>,
    #[serde(default)]
    pub discovery: Discovery,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRules {
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    #[serde(default)]
    pub ask: Vec<Spanned<String>>,
    #[serde(default)]
    pub deny: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsGrants {
    #[serde(default)]
    pub read: Vec<Spanned<String>>,
    #[serde(default)]
    pub write: Vec<Spanned<String>>,
    #[serde(default)]
    pub deny: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetGrants {
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    #[serde(default)]
    pub deny: Vec<Spanned<String>>,
    /// Whether plain `http` is allowed to the granted hosts (https always is).
    #[serde(default)]
    pub http: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramGrant {
    pub path: Spanned<String>,
    /// The only argument forms allowed (`"log **"`); absent: any arguments.
    pub allow_args: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub deny_flags: Vec<Spanned<String>>,
    /// Other programs it may start (absolute paths): nothing else can be executed.
    #[serde(default)]
    pub helpers: Vec<Spanned<String>>,
    /// Hosts it may reach; none means no network at all.
    #[serde(default)]
    pub hosts: Vec<Spanned<String>>,
    /// "full" (the default) or "weaker": whether it may run where the kernel
    /// cannot confine it as the policy says.
    pub confinement: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvGrants {
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub timeout: Option<Spanned<String>>,
    pub max_argument_bytes: Option<usize>,
    pub max_depth: Option<usize>,
    pub max_output_bytes: Option<usize>,
    pub max_concurrent: Option<Spanned<usize>>,
    pub calls_per_session: Option<u64>,
    pub bytes_per_session: Option<u64>,
    #[serde(default)]
    pub tool: BTreeMap<String, Spanned<ToolLimits>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolLimits {
    pub timeout: Option<Spanned<String>>,
    pub rate: Option<Spanned<String>>,
    pub max_output_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub timeout: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// Tool globs whose arguments are recorded in full (after redaction).
    #[serde(default)]
    pub record_args: Vec<Spanned<String>>,
    /// Argument field names replaced by `"[redacted]"` wherever they appear.
    #[serde(default)]
    pub redact: Vec<Spanned<String>>,
    /// When the trail's records are forced to disk, at least: a word
    /// (`"never"`, `"every-record"`) or a number of records, quoted or not.
    pub fsync: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovery {
    /// Whether front ends that can (the MCP server) list only the
    /// always-loaded tools plus `tool_search`, and the rest once found.
    #[serde(default)]
    pub defer: bool,
    /// Tool globs listed from the start when listing is deferred.
    #[serde(default)]
    pub always: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub tool: Spanned<String>,
    #[serde(default = "empty_args")]
    pub args: toml::Table,
    pub expect: Spanned<String>,
}

fn empty_args() -> toml::Table {
    toml::Table::new()
}
