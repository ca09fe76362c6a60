//! The vocabulary of deciding: verdicts, decisions, and the values judged.

use std::borrow::Cow;
use std::fmt;

use crate::PermissionKind;

/// What the policy says about a call or a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// May run.
    Allow,
    /// May run once a person approves.
    Ask,
    /// May not run.
    Deny,
}

impl Verdict {
    pub(super) fn parse(text: &str) -> Option<Verdict> {
        match text {
            "allow" => Some(Verdict::Allow),
            "ask" => Some(Verdict::Ask),
            "deny" => Some(Verdict::Deny),
            _ => None,
        }
    }

    /// `"allow"`, `"ask"` or `"deny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Ask => "ask",
            Verdict::Deny => "deny",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict, the rule that gave it, and why, in words for a model or a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Allow, ask or deny.
    pub verdict: Verdict,
    /// The deciding rule, as written, with its place: `tools.deny "cmd_*" (rustchain.toml:7)`.
    pub rule: Cow<'static, str>,
    /// Why, and for a denial how to get access.
    pub reason: Cow<'static, str>,
}

impl Decision {
    pub(super) fn allow(rule: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Decision {
        Decision {
            verdict: Verdict::Allow,
            rule: rule.into(),
            reason: Cow::Owned(reason.into()),
        }
    }

    pub(super) fn deny(rule: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Decision {
        Decision {
            verdict: Verdict::Deny,
            rule: rule.into(),
            reason: Cow::Owned(reason.into()),
        }
    }

    /// `Ok` when this allows, else the decision itself (deny or ask).
    pub(super) fn allowed(self) -> Result<(), Decision> {
        match self.verdict {
            Verdict::Allow => Ok(()),
            _ => Err(self),
        }
    }
}

/// One value a tool declared it will use, to be checked against the grants.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// What kind of resource.
    pub kind: PermissionKind,
    /// The parameter that carries it.
    pub param: &'static str,
    /// The value the model sent.
    pub value: &'a str,
}

/// Why one value is refused, before it is worded for its tool and parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// The rule that refuses it (or the table that grants nothing that fits).
    pub(super) rule: String,
    /// Why, and how to get access.
    pub(super) reason: String,
}

impl Refusal {
    pub(super) fn new(rule: impl Into<String>, reason: impl Into<String>) -> Refusal {
        Refusal {
            rule: rule.into(),
            reason: reason.into(),
        }
    }
}

/// A value's check: allowed by a rule, or refused.
pub(super) type Judged = Result<Decision, Refusal>;

/// `value` bounded for a message: at most 200 characters.
pub(super) fn shown(value: &str) -> String {
    let mut shown: String = value.chars().take(200).collect();
    if shown.len() < value.len() {
        shown.push_str("...");
    }
    shown
}

/// Items joined by commas, or `none`.
pub(super) fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}
