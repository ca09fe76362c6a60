//! What calls run under on the command line: the global options turned into
//! the runtime's [`Settings`] (policy file, audit trail, signing key), and
//! who answers the policy's `ask` rules.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Args;
use rustchain_tools::audit::{AuditError, Fsync, Recovery};
use rustchain_tools::exec::{
    AuditTarget, DEFAULT_CHECKPOINT_EVERY, PolicyLocation, Settings, Setup, SetupError,
    TerminalApprover,
};
use rustchain_tools::{Executor, PolicyError, Registry};

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

    /// The audit trail [env: RUSTCHAIN_AUDIT] [default: .rustchain/audit.jsonl beside the policy]
    ///
    /// Every call is recorded in it: a decision before the tool runs and a
    /// result after. A named trail is created by the first call (its
    /// directory must exist). By default the trail is .rustchain/audit.jsonl
    /// in the policy file's folder or, with no policy file, rustchain/audit.jsonl
    /// in the user's state directory ($XDG_STATE_HOME or ~/.local/state).
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

    /// When the trail's records are forced to disk: never, every-record or N
    ///
    /// Every record is written to the file before its call goes on, so a
    /// killed process loses nothing it acknowledged whatever this says. It
    /// decides what a power failure or a kernel crash may lose: never (the
    /// default) what the kernel had not written back yet (typically the
    /// last 5 to 30 seconds); every-record nothing, at one fsync per batch
    /// of concurrent records (about a third of a millisecond alone); N up to
    /// N - 1 records.
    #[arg(
        long,
        global = true,
        value_name = "WHEN",
        conflicts_with = "no_audit",
        help_heading = HEADING
    )]
    audit_fsync: Option<Fsync>,
}

/// What calls run under in this run of the CLI: the runtime's [`Settings`]
/// from the global options and the environment. Setting up lives in the
/// runtime; this only translates flags and says what happened.
#[derive(Debug)]
pub(super) struct Governance {
    settings: Settings,
}

/// Why calls cannot be made, and what to do about it, for people;
/// `program` is the CLI's name.
pub(super) fn setup_advice(err: &SetupError, program: &str) -> String {
    match err {
        SetupError::Policy(err) => format!(
            "error: {err}\n  the policy is refused, so nothing was run; `{program} policy check {}` checks it\n",
            err.origin
        ),
        SetupError::Audit(err) => format!(
            "error: {err}\n  no call is made without its audit trail (`--no-audit` records nothing, for experiments)\n"
        ),
    }
}

impl Governance {
    /// The settings from the global options, with `env` looking up variables:
    /// a flag beats the environment, which beats the default.
    pub(super) fn new(args: GovernanceArgs, env: impl Fn(&str) -> Option<OsString>) -> Self {
        let mut settings = Settings::from_lookup(env);
        if let Some(policy) = args.policy {
            settings = settings.policy_file(policy);
        }
        if args.no_audit {
            settings = settings.audit(AuditTarget::Off);
        } else if let Some(trail) = args.audit {
            settings = settings.audit(AuditTarget::File(trail));
        }
        if let Some(key) = args.audit_key {
            let every = args.checkpoint_every.unwrap_or(DEFAULT_CHECKPOINT_EVERY);
            settings = settings.audit_key(key, every);
        }
        if let Some(fsync) = args.audit_fsync {
            settings = settings.audit_fsync(fsync);
        }
        Governance { settings }
    }

    /// The policy file in use, named or default.
    pub(super) fn policy_location(&self) -> PolicyLocation {
        self.settings.policy_location()
    }

    /// These settings with `file` as the policy, unless a flag or the
    /// environment named one (a mission file's own `policy`).
    pub(super) fn with_default_policy(&self, file: &Path) -> Governance {
        let mut settings = self.settings.clone();
        if !settings.policy_location().named {
            settings = settings.policy_file(file);
        }
        Governance { settings }
    }

    /// The trail `audit verify` and `audit report` read when none is named:
    /// the one calls are recorded in (its default place even with `--no-audit`).
    pub(super) fn trail(&self) -> Result<PathBuf, AuditError> {
        let recorded = match self.settings.audit_location()? {
            Some(path) => Some(path),
            None => self
                .settings
                .clone()
                .audit(AuditTarget::Default)
                .audit_location()?,
        };
        Ok(recorded.expect("the default trail is always somewhere"))
    }

    /// An executor for dry runs under the policy at `file`, or the global
    /// one when `file` is `None`: the policy loaded and its examples checked.
    pub(super) fn dry_run(
        &self,
        registry: &'static Registry,
        file: Option<&Path>,
    ) -> Result<Executor, PolicyError> {
        match file {
            Some(file) => self.settings.clone().policy_file(file).dry_run(registry),
            None => self.settings.dry_run(registry),
        }
    }

    /// Calls set up as `tools call` makes them: the policy (its examples
    /// checked), the audit trail unless `--no-audit`, and a terminal prompt
    /// for `ask` rules when a person is at the terminal (otherwise nobody
    /// answers, so `ask` denies).
    pub(super) fn open(
        &self,
        registry: &'static Registry,
        interactive: bool,
    ) -> Result<Setup, SetupError> {
        let mut settings = self.settings.clone();
        if interactive {
            settings = settings.approver(TerminalApprover);
        }
        settings.open(registry)
    }

    /// Calls set up as [`Governance::open`] makes them, with `approver`
    /// answering `ask` rules (`mcp serve`: the client, by elicitation).
    #[cfg(feature = "mcp")]
    pub(super) fn open_approved_by(
        &self,
        registry: &'static Registry,
        approver: impl rustchain_tools::exec::Approver,
    ) -> Result<Setup, SetupError> {
        self.settings.clone().approver(approver).open(registry)
    }
}

/// What people are told about a setup before its calls: the policy's
/// warnings, where a new audit trail went, and a torn end it cut.
pub(super) fn setup_notes(setup: &Setup) -> String {
    let mut notes = String::new();
    for warning in setup.executor.policy().warnings() {
        notes.push_str(&format!("warning: {warning}\n"));
    }
    let Some(trail) = &setup.trail else {
        return notes;
    };
    if trail.created {
        notes.push_str(&format!(
            "note: created the audit trail {}; every call is recorded there\n",
            trail.path.display()
        ));
    }
    if let Some(recovery) = &trail.recovery {
        notes.push_str(&recovery_note(&trail.path, recovery));
    }
    notes
}

/// A note for people about a torn end the trail cut when it was opened.
fn recovery_note(trail: &Path, recovery: &Recovery) -> String {
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

    fn args(policy: Option<&str>, audit: Option<&str>, no_audit: bool) -> GovernanceArgs {
        GovernanceArgs {
            policy: policy.map(PathBuf::from),
            audit: audit.map(PathBuf::from),
            no_audit,
            audit_key: None,
            checkpoint_every: None,
            audit_fsync: None,
        }
    }

    fn env(name: &str) -> Option<OsString> {
        match name {
            "RUSTCHAIN_POLICY" => Some("env.toml".into()),
            "RUSTCHAIN_AUDIT" => Some("env.jsonl".into()),
            _ => None,
        }
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_default() {
        let flagged = Governance::new(args(Some("a.toml"), Some("a.jsonl"), false), env);
        assert_eq!(flagged.policy_location().path, Path::new("a.toml"));
        assert_eq!(flagged.trail().expect("a trail"), Path::new("a.jsonl"));
        let from_env = Governance::new(args(None, None, false), env);
        assert_eq!(from_env.policy_location().path, Path::new("env.toml"));
        assert!(from_env.policy_location().named);
        assert_eq!(from_env.trail().expect("a trail"), Path::new("env.jsonl"));
        let default = Governance::new(args(None, None, false), |_| None);
        assert_eq!(default.policy_location().path, Path::new("rustchain.toml"));
        assert!(!default.policy_location().named);
    }

    #[test]
    fn no_audit_still_lets_verify_find_the_trail_calls_would_use() {
        let governance = Governance::new(args(Some("dir/p.toml"), None, true), |_| None);
        assert_eq!(
            governance.trail().expect("a trail"),
            Path::new("dir/.rustchain/audit.jsonl")
        );
    }
}
