//! What `policy check` shows of a policy: everything the file decides, one
//! line per table or key, with the value in force where the file is silent
//! (the defaults), so a reader sees the whole policy without the file.

use std::path::PathBuf;
use std::time::Duration;

use super::Policy;
use super::decision::{Verdict, list};
use super::grants::{Confinement, Grant, ProgramGrant};
use super::limits::{Rate, ToolOverride};
use globset::GlobMatcher;

impl Policy {
    /// What the policy decides, one line each, for `policy check`: the tool
    /// rules, the grants (`[fs]`, `[net]`, `[[programs]]`, `[env]`), the
    /// limits, approval, audit and discovery settings in force (defaults
    /// included), and the number of examples.
    ///
    /// ```
    /// use std::path::Path;
    /// use rustchain_tools::Policy;
    ///
    /// let policy = Policy::from_toml("[approval]\ntimeout = \"2m\"\n", "rustchain.toml", Path::new("."))
    ///     .unwrap();
    /// assert!(policy.summary().contains(&"approval timeout: 2m".to_owned()));
    /// ```
    pub fn summary(&self) -> Vec<String> {
        let mut lines = self.tool_lines();
        self.grant_lines(&mut lines);
        lines.push(self.limit_line());
        for (tool, own) in &self.tool_limits {
            lines.push(format!("limits.tool.{tool}: {}", tool_limit_text(own)));
        }
        lines.push(format!(
            "approval timeout: {}",
            duration_text(self.approval_timeout)
        ));
        lines.push(format!(
            "audit record_args: {}",
            list_globs(&self.record_args)
        ));
        lines.push(format!(
            "audit redact: {}",
            list(self.redact.iter().cloned())
        ));
        lines.push(match self.audit_fsync {
            Some(fsync) => format!("audit fsync: at least {fsync}"),
            None => "audit fsync: as the program sets it (default never)".to_owned(),
        });
        let discovery = &self.discovery;
        lines.push(format!(
            "discovery defer: {}",
            if discovery.defer { "on" } else { "off" }
        ));
        lines.push(format!(
            "discovery always: {}",
            list_globs(&discovery.always)
        ));
        lines.push(format!("examples: {}", self.examples.len()));
        lines
    }

    /// `default` and the `[tools]` rules, one line per verdict that has any.
    fn tool_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "unnamed tools: {}",
            if self.default_deny.is_some() {
                "denied"
            } else {
                "allowed when they declare no permissions"
            }
        )];
        for verdict in [Verdict::Allow, Verdict::Ask, Verdict::Deny] {
            let globs: Vec<String> = self
                .tool_rules
                .iter()
                .filter(|r| r.verdict == verdict)
                .map(|r| r.glob.glob().to_string())
                .collect();
            if !globs.is_empty() {
                lines.push(format!("tools {verdict}: {}", globs.join(", ")));
            }
        }
        lines
    }

    /// `[fs]`, `[net]`, `[[programs]]` and `[env]`.
    fn grant_lines(&self, lines: &mut Vec<String>) {
        let g = &self.grants;
        let paths = |roots: &[PathBuf]| list(roots.iter().map(|r| r.display().to_string()));
        // The rules of one kind as written, each with its place.
        let rules = |kind: fn(&Grant) -> bool| {
            list(
                g.iter()
                    .filter(|(grant, _)| kind(grant))
                    .map(|(_, rule)| rule.text.clone()),
            )
        };
        lines.push(format!("fs read: {}", paths(g.fs_read_roots())));
        lines.push(format!("fs write: {}", paths(g.fs_write_roots())));
        lines.push(format!(
            "fs deny: {}",
            rules(|grant| matches!(grant, Grant::FsDeny(_)))
        ));
        lines.push(format!(
            "net allow: {}",
            rules(|grant| matches!(grant, Grant::NetAllow(_)))
        ));
        lines.push(format!(
            "net deny: {}",
            rules(|grant| matches!(grant, Grant::NetDeny(_)))
        ));
        lines.push(format!(
            "net http: {}",
            if g.allows_http() {
                "allowed to granted hosts"
            } else {
                "refused (https only)"
            }
        ));
        lines.push(format!(
            "programs: {}",
            list(g.programs().iter().map(program_summary))
        ));
        lines.push(format!("env: {}", list(g.env().iter().cloned())));
    }

    /// `[limits]`: every limit in force, the defaults included.
    fn limit_line(&self) -> String {
        let timeout = self
            .default_timeout
            .map_or_else(|| "none".to_owned(), duration_text);
        let budget =
            |value: Option<u64>| value.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
        format!(
            "limits: timeout {timeout}, max_argument_bytes {}, max_depth {}, max_output_bytes {}, max_concurrent {}, calls_per_session {}, bytes_per_session {}",
            self.arg_limits.max_bytes,
            self.arg_limits.max_depth,
            self.max_output_bytes,
            self.max_concurrent,
            budget(self.budget.calls),
            budget(self.budget.bytes),
        )
    }
}

/// A `[limits.tool.NAME]` table: the keys it sets.
fn tool_limit_text(own: &ToolOverride) -> String {
    let mut set = Vec::new();
    if let Some(timeout) = own.timeout {
        set.push(format!("timeout {}", duration_text(timeout)));
    }
    if let Some(rate) = own.rate {
        set.push(format!("rate {}", rate_text(rate)));
    }
    if let Some(bytes) = own.max_output_bytes {
        set.push(format!("max_output_bytes {bytes}"));
    }
    if set.is_empty() {
        "nothing set".to_owned()
    } else {
        set.join(", ")
    }
}

/// Globs as written, or `none`.
fn list_globs(globs: &[GlobMatcher]) -> String {
    list(globs.iter().map(|glob| glob.glob().to_string()))
}

/// A duration in the grammar the policy reads (`30s`, `1m 30s`).
fn duration_text(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// A rate as the policy writes it: `10/min`.
fn rate_text(rate: Rate) -> String {
    let unit = match rate.per.as_secs() {
        1 => "s",
        60 => "min",
        3600 => "h",
        86_400 => "day",
        _ => return format!("{} per {}", rate.calls, duration_text(rate.per)),
    };
    format!("{}/{unit}", rate.calls)
}

/// One program: its path, the argument forms it may be given, the flags it
/// may not be given, what it may execute, its network and, when it accepts
/// less, its confinement.
fn program_summary(program: &ProgramGrant) -> String {
    let mut text = program.path.display().to_string();
    if let Some(allowed) = &program.allow_args {
        text.push_str(&format!(" (allowed arguments: {})", allowed.listed()));
    }
    if !program.deny_flags.is_empty() {
        text.push_str(&format!(
            " (denied flags: {})",
            program.deny_flags.join(", ")
        ));
    }
    if !program.helpers.is_empty() {
        let helpers: Vec<String> = program
            .helpers
            .iter()
            .map(|h| h.display().to_string())
            .collect();
        text.push_str(&format!(" (helpers: {})", helpers.join(", ")));
    }
    if program.hosts.is_empty() {
        text.push_str(" (no network)");
    } else {
        text.push_str(&format!(
            " (reaches {} only, through the executor's proxy)",
            program.hosts.join(", ")
        ));
    }
    if program.confinement == Confinement::Weaker {
        text.push_str(" (accepts weaker confinement)");
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn summary(text: &str) -> Vec<String> {
        Policy::from_toml(text, "p.toml", Path::new("/"))
            .expect("a valid policy")
            .summary()
    }

    #[test]
    fn rates_and_durations_are_written_in_the_policys_own_grammar() {
        for (text, shown) in [
            ("10/min", "10/min"),
            ("5/s", "5/s"),
            ("100/h", "100/h"),
            ("2/day", "2/day"),
        ] {
            let lines = summary(&format!("[limits.tool.add]\nrate = \"{text}\"\n"));
            assert!(
                lines.contains(&format!("limits.tool.add: rate {shown}")),
                "{lines:?}"
            );
        }
        let lines = summary("[limits]\ntimeout = \"1h 30m\"\n[approval]\ntimeout = \"90s\"\n");
        assert!(
            lines[..]
                .iter()
                .any(|l| l.starts_with("limits: timeout 1h 30m, ")),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"approval timeout: 1m 30s".to_owned()),
            "{lines:?}"
        );
    }

    #[test]
    fn a_programs_allowed_argument_forms_are_listed_as_written() {
        let programs = |text: &str| {
            summary(text)
                .into_iter()
                .find(|line| line.starts_with("programs: "))
                .expect("a programs line")
        };
        assert_eq!(
            programs(
                "[[programs]]\npath = \"/usr/bin/git\"\nallow_args = [\"status\", \"log **\", \"\"]\ndeny_flags = [\"-c\"]\n"
            ),
            "programs: /usr/bin/git (allowed arguments: \"status\", \"log **\", \"\" (no arguments)) (denied flags: -c) (no network)"
        );
        assert_eq!(
            programs("[[programs]]\npath = \"/bin/true\"\nallow_args = []\n"),
            "programs: /bin/true (allowed arguments: \"\" (no arguments)) (no network)"
        );
        assert_eq!(
            programs("[[programs]]\npath = \"/bin/true\"\n"),
            "programs: /bin/true (no network)"
        );
    }

    #[test]
    fn the_empty_policy_shows_the_defaults_in_force() {
        let lines = Policy::default().summary();
        assert_eq!(
            lines,
            [
                "unnamed tools: allowed when they declare no permissions",
                "fs read: none",
                "fs write: none",
                "fs deny: none",
                "net allow: none",
                "net deny: none",
                "net http: refused (https only)",
                "programs: none",
                "env: none",
                "limits: timeout none, max_argument_bytes 1048576, max_depth 64, max_output_bytes 4194304, max_concurrent 64, calls_per_session unlimited, bytes_per_session unlimited",
                "approval timeout: 1m",
                "audit record_args: none",
                "audit redact: none",
                "audit fsync: as the program sets it (default never)",
                "discovery defer: off",
                "discovery always: none",
                "examples: 0",
            ]
        );
    }
}
