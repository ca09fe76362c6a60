//! What calls run under, set up the same way by every front end (the CLI, the
//! MCP server, missions): the policy file found and loaded with its inline
//! examples checked once, the audit trail placed, opened and signed as asked,
//! and who approves calls the policy marks `ask`.
//!
//! ```no_run
//! use rustchain_tools::Registry;
//! use rustchain_tools::exec::{Settings, TerminalApprover};
//!
//! let setup = Settings::from_env()          // $RUSTCHAIN_POLICY, $RUSTCHAIN_AUDIT
//!     .approver(TerminalApprover)
//!     .open(Registry::global())?;
//! if let Some(trail) = &setup.trail && trail.created {
//!     eprintln!("note: recording calls in {}", trail.path.display());
//! }
//! # Ok::<(), rustchain_tools::exec::SetupError>(())
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Approver, Executor};
use crate::audit::{self, AuditError, AuditErrorKind, AuditOptions, AuditTrail, Fsync, Recovery};
use crate::{Policy, PolicyError, Registry};

/// The policy file looked for in the working directory when none is named.
pub const POLICY_FILE: &str = "rustchain.toml";
/// The environment variable naming the policy file.
pub const POLICY_ENV: &str = "RUSTCHAIN_POLICY";
/// The environment variable naming the audit trail.
pub const AUDIT_ENV: &str = "RUSTCHAIN_AUDIT";
/// Records between signed checkpoints unless set otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 100;
/// Where the default trail goes, relative to the folder of the policy file in use.
pub const TRAIL_BESIDE_POLICY: &str = ".rustchain/audit.jsonl";
/// Where the default trail goes, relative to the user's state directory,
/// when no policy file is in use.
pub const TRAIL_IN_STATE_DIR: &str = "rustchain/audit.jsonl";

/// Where calls are recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    /// Beside the policy file in use ([`TRAIL_BESIDE_POLICY`]), or, with no
    /// policy file, in the user's state directory ([`TRAIL_IN_STATE_DIR`]).
    Default,
    /// This file; its directory must exist.
    File(PathBuf),
    /// Nowhere: for experiments only, calls leave no trace.
    Off,
}

/// The policy file a setup uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLocation {
    /// The file.
    pub path: PathBuf,
    /// Named by the caller (a flag, the environment): it must exist. The
    /// default may be missing, and then nothing is granted.
    pub named: bool,
}

impl PolicyLocation {
    /// Whether a policy file is in use: named, or the default one present.
    pub fn in_use(&self) -> bool {
        self.named || self.path.is_file()
    }
}

/// What calls run under, before it is set up: where the policy and the audit
/// trail are, the trail's signing key, and the approver.
#[derive(Clone)]
pub struct Settings {
    policy: Option<PathBuf>,
    working_dir: PathBuf,
    audit: AuditTarget,
    audit_key: Option<PathBuf>,
    checkpoint_every: u64,
    fsync: Fsync,
    state_dir: Option<PathBuf>,
    approver: Option<Arc<dyn Approver>>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("policy", &self.policy_location())
            .field("audit", &self.audit)
            .field("audit_key", &self.audit_key)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("fsync", &self.fsync)
            .field("approver", &self.approver.is_some())
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::new()
    }
}

impl Settings {
    /// The defaults: `./rustchain.toml` if present (else nothing is granted),
    /// the default trail, no signing key, nobody to approve.
    pub fn new() -> Settings {
        Settings {
            policy: None,
            working_dir: PathBuf::from("."),
            audit: AuditTarget::Default,
            audit_key: None,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            fsync: Fsync::default(),
            state_dir: None,
            approver: None,
        }
    }

    /// The defaults, with the policy and the trail named by `$RUSTCHAIN_POLICY`
    /// and `$RUSTCHAIN_AUDIT` where they are set and not empty.
    pub fn from_env() -> Settings {
        Settings::from_lookup(|name| std::env::var_os(name))
    }

    /// [`Settings::from_env`] reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Settings {
        let named = |name| {
            lookup(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        let mut settings = Settings::new();
        settings.policy = named(POLICY_ENV);
        if let Some(trail) = named(AUDIT_ENV) {
            settings.audit = AuditTarget::File(trail);
        }
        settings
    }

    /// Uses the policy in `file`, which must exist.
    pub fn policy_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.policy = Some(file.into());
        self
    }

    /// Looks for the default policy file in `dir` instead of the working directory.
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = dir.into();
        self
    }

    /// Records calls as `target` says.
    pub fn audit(mut self, target: AuditTarget) -> Self {
        self.audit = target;
        self
    }

    /// Signs checkpoints into the trail with the Ed25519 key in `key_file`
    /// (from `audit keygen`), one every `every` records.
    pub fn audit_key(mut self, key_file: impl Into<PathBuf>, every: u64) -> Self {
        self.audit_key = Some(key_file.into());
        self.checkpoint_every = every;
        self
    }

    /// Forces the trail's records to disk as `fsync` says (default
    /// [`Fsync::Never`]: a killed process loses nothing it acknowledged; see
    /// [`Fsync`] for what a power failure loses under each setting).
    pub fn audit_fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// Uses `dir` as the user's state directory (default: the platform's,
    /// `$XDG_STATE_HOME` or `~/.local/state` on Linux).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Who approves calls the policy marks `ask` (default: nobody, so they are denied).
    pub fn approver(mut self, approver: impl Approver) -> Self {
        self.approver = Some(Arc::new(approver));
        self
    }

    /// The policy file these settings use, named or default.
    pub fn policy_location(&self) -> PolicyLocation {
        match &self.policy {
            Some(path) => PolicyLocation {
                path: path.clone(),
                named: true,
            },
            None => PolicyLocation {
                // `rustchain.toml`, not `./rustchain.toml`, in messages.
                path: if self.working_dir == Path::new(".") {
                    PathBuf::from(POLICY_FILE)
                } else {
                    self.working_dir.join(POLICY_FILE)
                },
                named: false,
            },
        }
    }

    /// Where calls are recorded, or `None` when they are not.
    ///
    /// # Errors
    /// [`AuditErrorKind::NotFound`] when the default trail belongs in the
    /// user's state directory and this platform has none.
    pub fn audit_location(&self) -> Result<Option<PathBuf>, AuditError> {
        match &self.audit {
            AuditTarget::Off => Ok(None),
            AuditTarget::File(path) => Ok(Some(path.clone())),
            AuditTarget::Default => {
                let policy = self.policy_location();
                if policy.in_use() {
                    let folder = policy.path.parent().unwrap_or(Path::new(""));
                    return Ok(Some(folder.join(TRAIL_BESIDE_POLICY)));
                }
                let state = self
                    .state_dir
                    .clone()
                    .or_else(dirs::state_dir)
                    .or_else(dirs::data_local_dir)
                    .ok_or_else(|| {
                        AuditError::new(
                            AuditErrorKind::NotFound,
                            Path::new(TRAIL_IN_STATE_DIR),
                            "this system has no state directory for the default audit trail; name one with --audit or $RUSTCHAIN_AUDIT",
                        )
                    })?;
                Ok(Some(state.join(TRAIL_IN_STATE_DIR)))
            }
        }
    }

    /// The policy, loaded but not yet checked against the linked tools.
    pub fn load_policy(&self) -> Result<Policy, PolicyError> {
        let location = self.policy_location();
        if location.named {
            Policy::load(&location.path)
        } else {
            Policy::load_or_default(&location.path)
        }
    }

    /// An executor for dry runs (`policy check`, `policy explain`): the
    /// policy loaded and its inline examples checked, recording nothing and
    /// asking nobody.
    pub fn dry_run(&self, registry: &'static Registry) -> Result<Executor, PolicyError> {
        Executor::builder(registry)
            .policy(self.load_policy()?)
            .build()
    }

    /// Sets up calls: loads the policy, checks it against the linked tools
    /// and runs its inline examples (once, before the trail is touched, so a
    /// refused policy leaves no file behind), opens the trail (creating the
    /// default one's folder), and attaches the approver. What deserves a
    /// look but refuses nothing is in `setup.executor.policy().warnings()`.
    pub fn open(self, registry: &'static Registry) -> Result<Setup, SetupError> {
        // Checked against the linked tools and its examples run by a dry-run
        // executor; the checked policy (with its warnings) is the one used.
        let checked = self.dry_run(registry).map_err(SetupError::Policy)?;
        let mut builder = Executor::builder(registry).policy(checked.policy().clone());
        builder.approver = self.approver.clone();
        let trail = match self.audit_location().map_err(SetupError::Audit)? {
            None => None,
            Some(path) => {
                let (trail, opened) = self.open_trail(&path, checked.policy())?;
                builder = builder.audit(Arc::new(trail));
                Some(opened)
            }
        };
        Ok(Setup {
            executor: builder.build_unchecked(),
            trail,
        })
    }

    /// Opens the trail at `path`, written at least as durably as `policy`'s
    /// `[audit] fsync` says.
    fn open_trail(
        &self,
        path: &Path,
        policy: &Policy,
    ) -> Result<(AuditTrail, OpenedTrail), SetupError> {
        let fsync = match policy.audit_fsync() {
            Some(floor) => self.fsync.at_least(floor),
            None => self.fsync,
        };
        let mut options = AuditOptions::default().with_fsync(fsync);
        if let Some(key) = &self.audit_key {
            let key = audit::load_signing_key(key).map_err(SetupError::Audit)?;
            options = options.with_checkpoints(self.checkpoint_every, key);
        }
        if self.audit == AuditTarget::Default
            && let Some(folder) = path.parent()
        {
            std::fs::create_dir_all(folder).map_err(|err| {
                SetupError::Audit(AuditError::new(
                    AuditErrorKind::Io,
                    path,
                    format!(
                        "cannot create the folder {} for the audit trail: {err}",
                        folder.display()
                    ),
                ))
            })?;
        }
        let created = !path.exists();
        let (trail, report) = AuditTrail::open(path, options).map_err(SetupError::Audit)?;
        Ok((
            trail,
            OpenedTrail {
                path: path.to_path_buf(),
                created,
                recovery: report.recovery,
            },
        ))
    }
}

/// Calls set up: the executor, and the trail it records into.
#[derive(Debug)]
pub struct Setup {
    /// Runs calls under the policy, recording into the trail.
    pub executor: Executor,
    /// The trail, unless calls are not recorded.
    pub trail: Option<OpenedTrail>,
}

/// The audit trail a setup opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedTrail {
    /// Where it is.
    pub path: PathBuf,
    /// Whether this setup created it: a front end says where, once.
    pub created: bool,
    /// The torn end that opening it cut and recorded, if there was one.
    pub recovery: Option<Recovery>,
}

/// Why calls cannot be set up: the policy or the audit trail is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The policy does not load, or one of its inline examples fails.
    #[error(transparent)]
    Policy(PolicyError),
    /// The audit trail (or its signing key) cannot be opened.
    #[error(transparent)]
    Audit(AuditError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().expect("a scratch folder")
    }

    #[test]
    fn the_environment_names_files_and_empty_values_do_not() {
        let settings = Settings::from_lookup(|name| match name {
            POLICY_ENV => Some("p.toml".into()),
            AUDIT_ENV => Some("".into()),
            _ => None,
        });
        assert_eq!(
            settings.policy_location(),
            PolicyLocation {
                path: "p.toml".into(),
                named: true
            }
        );
        assert_eq!(settings.audit, AuditTarget::Default);
    }

    #[test]
    fn the_default_trail_goes_beside_the_policy_in_use() {
        let dir = scratch();
        std::fs::write(dir.path().join(POLICY_FILE), "").expect("write the policy");
        let settings = Settings::new().working_dir(dir.path());
        assert_eq!(
            settings.audit_location().expect("a location"),
            Some(dir.path().join(".rustchain/audit.jsonl"))
        );
        let named = Settings::new().policy_file(dir.path().join("elsewhere.toml"));
        assert_eq!(
            named.audit_location().expect("a location"),
            Some(dir.path().join(".rustchain/audit.jsonl")),
            "a named policy places the trail even before it exists"
        );
    }

    #[test]
    fn without_a_policy_file_the_default_trail_is_in_the_state_dir() {
        let (work, state) = (scratch(), scratch());
        let settings = Settings::new()
            .working_dir(work.path())
            .state_dir(state.path());
        assert_eq!(
            settings.audit_location().expect("a location"),
            Some(state.path().join("rustchain/audit.jsonl"))
        );
        let setup = settings.open(Registry::global()).expect("set up");
        let trail = setup.trail.expect("a trail");
        assert!(trail.created && trail.path.is_file());
        assert!(
            std::fs::read_dir(work.path())
                .expect("list")
                .next()
                .is_none(),
            "nothing is created in the working directory"
        );
        let again = Settings::new()
            .working_dir(work.path())
            .state_dir(state.path())
            .open(Registry::global())
            .expect("set up again");
        assert!(!again.trail.expect("a trail").created, "created once");
    }

    #[test]
    fn a_refused_policy_creates_no_trail() {
        let dir = scratch();
        let policy = dir.path().join(POLICY_FILE);
        std::fs::write(&policy, "[tools]\nallow = [\"[\"]\n").expect("write");
        let err = Settings::new()
            .working_dir(dir.path())
            .open(Registry::global())
            .expect_err("a bad glob refuses the policy");
        assert!(matches!(err, SetupError::Policy(_)), "{err}");
        assert!(!dir.path().join(".rustchain").exists());
    }

    #[test]
    fn the_trail_is_forced_to_disk_as_the_fsync_setting_says() {
        let dir = scratch();
        for (fsync, syncs) in [
            (Fsync::Never, 0),
            (Fsync::EveryRecord, 3),
            (Fsync::EveryN(2), 1),
        ] {
            let path = dir.path().join(format!("{fsync}.jsonl"));
            let settings = Settings::new()
                .working_dir(dir.path())
                .audit(AuditTarget::File(path.clone()))
                .audit_fsync(fsync);
            let (trail, _) = settings
                .open_trail(&path, &Policy::default())
                .expect("opens");
            assert_eq!(trail.options().fsync, fsync);
            let event = crate::audit::AuditEvent::Result {
                tool: "add",
                call_id: "c1",
                caller: None,
                outcome: crate::audit::Outcome::Ok,
                error_type: None,
                duration: std::time::Duration::ZERO,
                output_bytes: 0,
                output_digest: None,
                args_digest: None,
            };
            for _ in 0..3 {
                trail.append(&event).expect("appends");
            }
            assert_eq!(trail.commit_stats().syncs, syncs, "{fsync}");
        }
        let default = Settings::new().working_dir(dir.path());
        let path = dir.path().join("default.jsonl");
        let (trail, _) = default
            .open_trail(&path, &Policy::default())
            .expect("opens");
        assert_eq!(
            trail.options().fsync,
            Fsync::Never,
            "the default costs no fsync"
        );
    }

    #[test]
    fn a_policys_audit_fsync_is_a_floor_a_program_can_raise_and_never_lower() {
        let dir = scratch();
        // (policy's floor, the program's setting, what the trail is opened with)
        for (floor, asked, opened) in [
            ("every-record", Fsync::Never, Fsync::EveryRecord),
            ("every-record", Fsync::EveryN(1), Fsync::EveryRecord),
            ("10", Fsync::Never, Fsync::EveryN(10)),
            ("10", Fsync::EveryN(100), Fsync::EveryN(10)),
            ("10", Fsync::EveryN(3), Fsync::EveryN(3)),
            ("10", Fsync::EveryRecord, Fsync::EveryRecord),
            ("never", Fsync::EveryN(5), Fsync::EveryN(5)),
            ("never", Fsync::Never, Fsync::Never),
        ] {
            std::fs::write(
                dir.path().join("rustchain.toml"),
                format!("[audit]\nfsync = \"{floor}\"\n"),
            )
            .expect("writes the policy");
            let path = dir.path().join("audit.jsonl");
            let settings = Settings::new()
                .working_dir(dir.path())
                .audit(AuditTarget::File(path.clone()))
                .audit_fsync(asked);
            let setup = settings.clone().open(Registry::global()).expect("set up");
            let policy = setup.executor.policy();
            let set = policy.audit_fsync().map(|fsync| fsync.to_string());
            assert_eq!(set.as_deref(), Some(floor));
            let (trail, _) = settings.open_trail(&path, policy).expect("opens");
            assert_eq!(
                trail.options().fsync,
                opened,
                "floor {floor}, asked {asked}"
            );
        }
    }

    #[test]
    fn a_named_trail_needs_its_folder_and_off_records_nothing() {
        let dir = scratch();
        let err = Settings::new()
            .working_dir(dir.path())
            .audit(AuditTarget::File(dir.path().join("missing/audit.jsonl")))
            .open(Registry::global())
            .expect_err("the folder is missing");
        assert!(
            matches!(&err, SetupError::Audit(e) if e.kind() == AuditErrorKind::NotFound),
            "{err}"
        );
        let off = Settings::new()
            .working_dir(dir.path())
            .audit(AuditTarget::Off)
            .open(Registry::global())
            .expect("set up");
        assert!(off.trail.is_none());
    }
}
