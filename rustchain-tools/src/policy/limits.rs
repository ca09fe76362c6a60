//! Limits: timeouts, output caps, rates and session budgets, and the one
//! duration grammar the policy, `#[tool(timeout)]` and the CLI share.

use std::time::Duration;

use crate::ToolDescriptor;

/// The default bound on a tool's JSON output.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 4 << 20;
/// The default bound on calls running at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 64;
/// The largest `max_concurrent` a policy may set (the semaphore's own bound is far larger).
pub const MAX_CONCURRENT_LIMIT: usize = 1 << 20;
/// How long an approver has, unless the policy says otherwise.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(60);

/// What the policy needs to know of a tool to decide on it: its name,
/// whether it declares permissions, and its own timeout. A linked tool's
/// [`ToolDescriptor`] converts into it; a tool registered at run time, which
/// has no static descriptor, builds one.
///
/// ```
/// use std::path::Path;
/// use std::time::Duration;
/// use rustchain_tools::Policy;
/// use rustchain_tools::policy::{ToolFacts, Verdict};
///
/// let policy = Policy::from_toml("[limits]\ntimeout = \"30s\"\n", "rustchain.toml", Path::new("."))
///     .unwrap();
/// let remote = ToolFacts { name: "remote_search", declares_permissions: false, timeout: None };
/// assert_eq!(policy.decide_tool(remote).verdict, Verdict::Allow);
/// assert_eq!(policy.limits_for(remote).timeout, Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolFacts<'a> {
    /// The tool's name.
    pub name: &'a str,
    /// Whether it declares any permission (`#[fs]`, `#[net]`, `#[run]`, `#[env]`).
    pub declares_permissions: bool,
    /// The timeout the tool declares for itself.
    pub timeout: Option<Duration>,
}

impl<'a> From<&'a ToolDescriptor> for ToolFacts<'a> {
    fn from(tool: &'a ToolDescriptor) -> ToolFacts<'a> {
        ToolFacts {
            name: tool.name,
            declares_permissions: !tool.permissions.is_empty(),
            timeout: tool.timeout,
        }
    }
}

/// The effective limits of one tool under a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolLimits {
    /// The timeout: the policy's for this tool, else the tool's own, else the policy default.
    pub timeout: Option<Duration>,
    /// Largest output accepted, in bytes of JSON.
    pub max_output_bytes: usize,
    /// At most this many calls per window.
    pub rate: Option<Rate>,
}

/// A rate limit: `calls` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many calls.
    pub calls: u32,
    /// In how long a window.
    pub per: Duration,
}

/// Session budgets: every call and every byte in or out counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Budget {
    /// Most calls in one session.
    pub calls: Option<u64>,
    /// Most argument and output bytes in one session.
    pub bytes: Option<u64>,
}

/// A `[limits.tool.NAME]` table, compiled, with the line of its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ToolOverride {
    pub(super) timeout: Option<Duration>,
    pub(super) rate: Option<Rate>,
    pub(super) max_output_bytes: Option<usize>,
    pub(super) line: usize,
}

/// Parses a positive duration in humantime's grammar: a whole number and a
/// unit, repeated (`"500ms"`, `"30s"`, `"5m"`, `"1h 30m"`, `"2days"`). The
/// policy, `#[tool(timeout = "...")]` and the CLI all read durations so.
///
/// ```
/// use std::time::Duration;
/// use rustchain_tools::policy::parse_duration;
///
/// assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
/// assert_eq!(parse_duration("0s"), None);
/// assert_eq!(parse_duration("30"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim())
        .ok()
        .filter(|duration| !duration.is_zero())
}

/// Parses `"10/min"`, `"5/s"`, `"100/h"`, `"1000/day"`.
pub(super) fn parse_rate(text: &str) -> Option<Rate> {
    let (calls, per) = text.trim().split_once('/')?;
    let calls: u32 = calls.trim().parse().ok().filter(|&n| n > 0)?;
    let per = match per.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        "d" | "day" => Duration::from_secs(86_400),
        _ => return None,
    };
    Some(Rate { calls, per })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_humantimes_grammar_and_refuse_zero() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration(" 5m "), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("5min"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30 seconds"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        for bad in ["0s", "0ms", "30", "", "s", "-1s", "soon", "30 parsecs"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rates_are_calls_per_unit() {
        assert_eq!(
            parse_rate("10/min"),
            Some(Rate {
                calls: 10,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(parse_rate("0/min"), None);
        assert_eq!(parse_rate("10 per min"), None);
        assert_eq!(parse_rate("10/fortnight"), None);
    }
}
