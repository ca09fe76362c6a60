//! What calls run under on the command line: the policy file and the audit
//! trail named by the global options (or their defaults in the working
//! directory), and who answers the policy's `ask` rules.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use rustchain_tools::audit::{self, AuditError, AuditOptions, AuditTrail, Recovery};
use rustchain_tools::exec::TerminalApprover;
use rustchain_tools::{Executor, Policy, PolicyError, Registry};

/// The policy file used when none is named.
pub(super) const DEFAULT_POLICY: &str = "rustchain.toml";
/// The audit trail used when none is named.
pub(super) const DEFAULT_AUDIT: &str = "rustchain-audit.jsonl";
/// Names the policy file when `--policy` is absent.
pub(super) const POLICY_ENV: &str = "RUSTCHAIN_POLICY";
/// Names the audit trail when `--audit` is absent.
pub(super) const AUDIT_ENV: &str = "RUSTCHAIN_AUDIT";
/// Records between signed checkpoints when `--checkpoint-every` is absent.
const DEFAULT_CHECKPOINT_EVERY: u64 = 100;

const HEADING: &str = "Policy and audit (for every command)";

/// The global options naming the policy and the audit trail.
#[derive(Debug, Args)]
pub(super) struct GovernanceArgs {
    /// The policy file [env: RUSTCHAIN_POLICY] [default: ./rustchain.toml]
    ///
    /// The policy every call runs under. Named here or by $RUSTCHAIN_POLICY,
    /// the file must exist; the default ./rustchain.toml may be missing, and
    /// then nothing is granted: only tools that declare no permissions run.
    #[arg(long, global = true, value_name = "FILE", help_heading = HEADING)]
    policy: Option<PathBuf>,

    /// The audit trail [env: RUSTCHAIN_AUDIT] [default: ./rustchain-audit.jsonl]
    ///
    /// Every call is recorded in it: a decision before the tool runs and a
    /// result after. Created by the first call (its directory must exist).
    #[arg(long, global = true, value_name = "FILE", help_heading = HEADING)]
    audit: Option<PathBuf>,

    /// Record nothing, for experiments only
    ///
    /// Calls made this way leave no trace in any audit trail. Use it to try
    /// tools out, never where calls must be accounted for.
    #[arg(
        long,
        global = true,
        conflicts_with_all = ["audit", "audit_key"],
        help_heading = HEADING
    )]
    no_audit: bool,

    /// Sign checkpoints into the trail with this key (from `audit keygen`)
    ///
    /// Every N records (--checkpoint-every), a record signing the chain so far
    /// with this Ed25519 key, also kept in FILE.checkpoint beside the trail,
    /// so `audit verify --key KEY_FILE.pub` finds a rewritten chain or a cut
    /// tail. Keep the key outside every root a tool may read.
    #[arg(long, global = true, value_name = "KEY_FILE", help_heading = HEADING)]
    audit_key: Option<PathBuf>,

    /// With --audit-key: a checkpoint every N records [default: 100]
    #[arg(
        long,
        global = true,
        value_name = "N",
        requires = "audit_key",
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = HEADING
    )]
    checkpoint_every: Option<u64>,
}

/// A file named by a flag or an environment variable, or the default one.
#[derive(Debug, Clone)]
pub(super) struct Named {
    pub(super) path: PathBuf,
    /// Named by the user: it must exist. The default may be missing.
    pub(super) given: bool,
}

impl Named {
    fn resolve(flag: Option<PathBuf>, env: Option<OsString>, default: &str) -> Named {
        let named = flag.or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from));
        Named {
            given: named.is_some(),
            path: named.unwrap_or_else(|| PathBuf::from(default)),
        }
    }
}

/// The policy and audit settings of one run of the CLI, resolved.
#[derive(Debug)]
pub(super) struct Governance {
    pub(super) policy: Named,
    pub(super) audit: Named,
    /// `false` with `--no-audit`.
    record: bool,
    audit_key: Option<PathBuf>,
    checkpoint_every: u64,
}

/// Why calls cannot be made: the policy or the audit trail is unusable.
#[derive(Debug)]
pub(super) enum SetupError {
    /// The policy does not load, or one of its examples fails.
    Policy(PolicyError),
    /// The audit trail (or its signing key) cannot be opened.
    Audit(AuditError),
}

impl SetupError {
    /// The error and what to do about it, for people; `program` is the CLI's name.
    pub(super) fn message(&self, program: &str) -> String {
        match self {
            SetupError::Policy(err) => format!(
                "error: {err}\n  the policy is refused, so nothing was run; `{program} policy check {}` checks it\n",
                err.origin
            ),
            SetupError::Audit(err) => format!(
                "error: {err}\n  no call is made without its audit trail (`--no-audit` records nothing, for experiments)\n"
            ),
        }
    }
}

impl Governance {
    /// The settings from the global options, with `env` looking up variables.
    pub(super) fn new(args: GovernanceArgs, env: impl Fn(&str) -> Option<OsString>) -> Self {
        Governance {
            policy: Named::resolve(args.policy, env(POLICY_ENV), DEFAULT_POLICY),
            audit: Named::resolve(args.audit, env(AUDIT_ENV), DEFAULT_AUDIT),
            record: !args.no_audit,
            audit_key: args.audit_key,
            checkpoint_every: args.checkpoint_every.unwrap_or(DEFAULT_CHECKPOINT_EVERY),
        }
    }

    /// The policy at `file`, or at the global policy path when `file` is `None`.
    /// A file someone named must exist; a missing default means no grants.
    pub(super) fn load_policy(&self, file: Option<&Path>) -> Result<Policy, PolicyError> {
        match file {
            Some(file) => Policy::load(file),
            None if self.policy.given => Policy::load(&self.policy.path),
            None => Policy::load_or_default(&self.policy.path),
        }
    }

    /// The executor `tools call` goes through: the policy (its examples
    /// checked), the audit trail unless `--no-audit`, and a terminal prompt
    /// for `ask` rules when a person is at the terminal (otherwise nobody
    /// answers, so `ask` denies).
    ///
    /// Also returns what opening the trail cut from a torn end, if anything.
    pub(super) fn executor(
        &self,
        registry: &'static Registry,
        interactive: bool,
    ) -> Result<(Executor, Option<Recovery>), SetupError> {
        let policy = self.load_policy(None).map_err(SetupError::Policy)?;
        // The examples are checked before the trail is touched, so a refused
        // policy leaves no file behind.
        checked(registry, policy.clone()).map_err(SetupError::Policy)?;
        let mut builder = Executor::builder(registry).policy(policy);
        let mut recovery = None;
        if self.record {
            let (trail, opened) = AuditTrail::open(&self.audit.path, self.audit_options()?)
                .map_err(SetupError::Audit)?;
            recovery = opened.recovery;
            builder = builder.audit(Arc::new(trail));
        }
        if interactive {
            builder = builder.approver(TerminalApprover);
        }
        let executor = builder.build().map_err(SetupError::Policy)?;
        Ok((executor, recovery))
    }

    fn audit_options(&self) -> Result<AuditOptions, SetupError> {
        let options = AuditOptions::default();
        match &self.audit_key {
            None => Ok(options),
            Some(key) => {
                let key = audit::load_signing_key(key).map_err(SetupError::Audit)?;
                Ok(options.with_checkpoints(self.checkpoint_every, key))
            }
        }
    }
}

/// An executor over `registry` under `policy`, once its inline examples pass;
/// it records nothing and asks nobody.
pub(super) fn checked(
    registry: &'static Registry,
    policy: Policy,
) -> Result<Executor, PolicyError> {
    Executor::builder(registry).policy(policy).build()
}

/// A note for people about a torn end the trail cut when it was opened.
pub(super) fn recovery_note(trail: &Path, recovery: &Recovery) -> String {
    format!(
        "note: {} ended in a torn write ({}); its last {} bytes (digest {}) were cut and the cut recorded as {}\n",
        trail.display(),
        recovery.reason.as_str(),
        recovery.cut_bytes,
        recovery.cut_digest,
        recovery.record
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_default() {
        let named = Named::resolve(Some("a.toml".into()), Some("b.toml".into()), "c.toml");
        assert_eq!(
            (named.path.as_path(), named.given),
            (Path::new("a.toml"), true)
        );
        let named = Named::resolve(None, Some("b.toml".into()), "c.toml");
        assert_eq!(
            (named.path.as_path(), named.given),
            (Path::new("b.toml"), true)
        );
        let named = Named::resolve(None, Some("".into()), "c.toml");
        assert_eq!(
            (named.path.as_path(), named.given),
            (Path::new("c.toml"), false)
        );
        let named = Named::resolve(None, None, "c.toml");
        assert_eq!(
            (named.path.as_path(), named.given),
            (Path::new("c.toml"), false)
        );
    }
}
