//! The dry run: what the policy decides for a call, without running it or
//! recording anything (`explain`), and the policy's inline examples, which
//! are dry runs that must get the verdict they expect.

use std::sync::Arc;

use super::gate::Mode;
use super::{Executor, run_guarded, start_guarded};
use crate::policy::{Decision, PolicyError, PolicyErrorKind, Verdict};
use crate::{ErrorKind, Invoke, ToolContext};

/// What the policy decides for one call, rule by rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// The overall verdict.
    pub verdict: Verdict,
    /// Every decision taken: the tool's first, then one per guarded value.
    pub decisions: Vec<Decision>,
    /// Why the call could not be judged (unknown tool, invalid arguments), if so.
    pub error: Option<String>,
}

impl Explanation {
    /// The decision that settled the verdict: the last one that gives it.
    ///
    /// Decisions are taken in order and the first denial ends them, so a
    /// denial is always the last decision. An allowed call is settled by
    /// its last grant (the tool rule only let its values be checked), which
    /// names the rule a person would change: `fs.read "/" (rustchain.toml:3)`
    /// rather than `default`. Only the tool rule can ask. `None` when the
    /// call could not be judged at all.
    ///
    /// ```
    /// use rustchain_tools::exec::Explanation;
    /// use rustchain_tools::policy::{Decision, Verdict};
    ///
    /// let decision = |verdict, rule: &'static str| Decision { verdict, rule: rule.into(), reason: "".into() };
    /// let explanation = Explanation {
    ///     verdict: Verdict::Allow,
    ///     decisions: vec![decision(Verdict::Allow, "default"), decision(Verdict::Allow, "fs.read \"data\"")],
    ///     error: None,
    /// };
    /// assert_eq!(explanation.deciding().map(|d| &*d.rule), Some("fs.read \"data\""));
    /// ```
    pub fn deciding(&self) -> Option<&Decision> {
        self.decisions
            .iter()
            .rev()
            .find(|decision| decision.verdict == self.verdict)
    }
}

impl Executor {
    /// What the policy decides for this call, without running it or recording anything.
    pub fn explain(&self, name: &str, args: &str) -> Explanation {
        let ctx = ToolContext::new();
        let gate = match self.begin(name, args, &ctx, Mode::DryRun, super::Inline::Never) {
            Ok((gate, _)) => gate,
            Err(error) if error.kind() == ErrorKind::Denied => {
                let tool = self.shared.registry.get(name).map(|t| t.descriptor());
                let decisions = tool
                    .map(|t| vec![self.shared.policy.decide_tool(t)])
                    .unwrap_or_default();
                return Explanation {
                    verdict: Verdict::Deny,
                    decisions,
                    error: None,
                };
            }
            Err(error) => {
                return Explanation {
                    verdict: Verdict::Deny,
                    decisions: Vec::new(),
                    error: Some(error.to_string()),
                };
            }
        };
        let ctx = ctx.__with_control(Arc::clone(&gate) as _);
        let outcome = match gate.tool.invoke {
            Invoke::Sync(invoke) => run_guarded(|| invoke(&ctx, args)).map(drop),
            // Decoding and guards run before the future is made; dropping it runs nothing.
            Invoke::Async(invoke) => start_guarded(|| invoke(&ctx, args)).map(drop),
            Invoke::Registered => match gate.registered {
                Some(tool) => {
                    start_guarded(|| crate::registered::start(tool, &ctx, args)).map(drop)
                }
                None => Err(crate::ToolError::new(
                    ErrorKind::Failed,
                    "a registered tool without its executor",
                )),
            },
        };
        let mut decisions = gate.dry_run_decisions();
        let (error, refused) = match &outcome {
            Err(error) if error.kind() == ErrorKind::InvalidArguments => {
                (Some(error.to_string()), false)
            }
            Err(error) if error.kind() == ErrorKind::Denied => (None, true),
            _ => (None, false),
        };
        // A value refused before any rule was asked (a tool's own input check)
        // is a denial too, even with no decision to show for it.
        if let (true, Err(error)) = (refused, &outcome)
            && !decisions.iter().any(|d| d.verdict == Verdict::Deny)
        {
            decisions.push(Decision {
                verdict: Verdict::Deny,
                rule: "input".into(),
                reason: error.message().to_owned().into(),
            });
        }
        let verdict =
            if error.is_some() || refused || decisions.iter().any(|d| d.verdict == Verdict::Deny) {
                Verdict::Deny
            } else {
                decisions[0].verdict
            };
        Explanation {
            verdict,
            decisions,
            error,
        }
    }

    /// Checks the policy's inline examples; the first that does not get its
    /// expected verdict (or cannot be judged) refuses the policy. Examples
    /// for tools this program does not link are skipped: they are
    /// [warnings](crate::Policy::warnings), since one file may serve several programs.
    pub fn check_examples(&self) -> Result<(), PolicyError> {
        let policy = &self.shared.policy;
        let linked = policy
            .examples()
            .iter()
            .filter(|example| self.shared.registry.get(&example.tool).is_some());
        for example in linked {
            let fail = |message: String| {
                PolicyError::new(
                    PolicyErrorKind::FailingExample,
                    policy.origin(),
                    Some(example.line),
                    message,
                )
            };
            let explanation = self.explain(&example.tool, &example.args.to_string());
            if let Some(error) = &explanation.error {
                return Err(fail(format!(
                    "the example calling `{}` cannot be judged: {error}",
                    example.tool
                )));
            }
            if explanation.verdict != example.expect {
                let deciding = explanation
                    .deciding()
                    .map_or_else(String::new, |d| format!(" by {}: {}", d.rule, d.reason));
                return Err(fail(format!(
                    "the example calling `{}` with {} expects {} but gets {}{deciding}",
                    example.tool, example.args, example.expect, explanation.verdict
                )));
            }
        }
        Ok(())
    }
}
