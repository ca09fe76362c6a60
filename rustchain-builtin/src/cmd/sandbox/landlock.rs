//! The Landlock ruleset of one run: which files the child may execute, read
//! and write, and which TCP it may use ([`NetAccess`]).
//!
//! Built in the parent; the child only calls `landlock_restrict_self` with
//! its descriptor.

use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use rustchain_tools::ToolError;
use rustchain_tools::policy::Grants;
use rustchain_tools::policy::sandbox::{DEVICES, SYSTEM_FILES, SYSTEM_FOLDERS};

use super::LandlockStatus;

/// The TCP a child may use under Landlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NetAccess {
    /// No bind, no connect: an entry without hosts.
    None,
    /// Connect to this port only (the proxy's, in the child's own network
    /// namespace), bind none: an entry with hosts.
    ProxyOnly(u16),
    /// Not restricted by Landlock: an entry with hosts that accepts weaker
    /// confinement, run where there are no namespaces (so no proxy).
    Unrestricted,
}

/// A Landlock ruleset built for one run, or none.
#[derive(Debug)]
pub(super) struct Landlock {
    #[cfg(target_os = "linux")]
    ruleset: Option<std::os::fd::OwnedFd>,
    pub(super) status: LandlockStatus,
}

impl Landlock {
    pub(super) fn none() -> Landlock {
        Landlock {
            #[cfg(target_os = "linux")]
            ruleset: None,
            status: LandlockStatus::NotSupported,
        }
    }

    #[cfg(target_os = "linux")]
    pub(super) fn fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        self.ruleset.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn fd(&self) -> RawFd {
        -1
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn prepare(
        _rules: &[(PathBuf, Grant)],
        _net: NetAccess,
    ) -> Result<Landlock, ToolError> {
        Ok(Landlock::none())
    }

    /// Asks for every restriction of Landlock ABI 6 first (files, TCP,
    /// signals and abstract sockets scoped to the sandbox); if the kernel has
    /// less, for what it has ("partial"); with none, says so.
    #[cfg(target_os = "linux")]
    pub(super) fn prepare(
        rules: &[(PathBuf, Grant)],
        net: NetAccess,
    ) -> Result<Landlock, ToolError> {
        use landlock::CompatLevel;
        if let Ok(Some(fd)) = linux::ruleset(CompatLevel::HardRequirement, rules, net) {
            return Ok(Landlock {
                ruleset: Some(fd),
                status: LandlockStatus::Full,
            });
        }
        match linux::ruleset(CompatLevel::BestEffort, rules, net) {
            Ok(Some(fd)) => Ok(Landlock {
                ruleset: Some(fd),
                status: LandlockStatus::Partial,
            }),
            Ok(None) => Ok(Landlock::none()),
            Err(err) => Err(ToolError::new(
                rustchain_tools::ErrorKind::Failed,
                format!(
                    "the Landlock sandbox could not be built, so the program was not run: {err}"
                ),
            )),
        }
    }
}

/// What a rule grants beneath a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grant {
    /// Execute and read one file: the program, its interpreter, its helpers.
    Execute,
    /// Read and list, never execute: system folders (libraries, data).
    System,
    /// Read single system files (the loader's cache, time zone, certificates).
    ReadFile,
    /// Read and write device files like `/dev/null`.
    Device,
    /// Read and list: read roots.
    Read,
    /// Create, write, truncate, rename, remove; never read, list or execute,
    /// nor make links, devices, pipes or sockets: write roots (a root granted
    /// for reading too gets both rules, and Landlock unites them).
    Write,
}

/// Every path the child may use, and how. Nothing else: no `/proc` (where the
/// agent's own environment could be read), no `/tmp`, no home folder, no
/// program but `executables`. The working directory is inside a read root,
/// or `/` when none is granted, where nothing is readable.
pub(super) fn rules(grants: &Grants, executables: &[PathBuf]) -> Vec<(PathBuf, Grant)> {
    let mut rules: Vec<(PathBuf, Grant)> = Vec::new();
    let mut add = |path: &Path, grant| rules.push((path.to_path_buf(), grant));
    for folder in SYSTEM_FOLDERS {
        add(Path::new(folder), Grant::System);
    }
    for file in executables {
        add(file, Grant::Execute);
    }
    for file in SYSTEM_FILES {
        add(Path::new(file), Grant::ReadFile);
    }
    for device in DEVICES {
        add(Path::new(device), Grant::Device);
    }
    for root in grants.fs_read_roots() {
        add(root, Grant::Read);
    }
    for root in grants.fs_write_roots() {
        add(root, Grant::Write);
    }
    rules
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::OwnedFd;
    use std::path::PathBuf;

    use landlock::{
        ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, Ruleset,
        RulesetAttr, RulesetCreatedAttr, RulesetError, Scope, make_bitflags, path_beneath_rules,
    };

    use super::{Grant, NetAccess};

    /// The Landlock version whose file-system rights are all asked for.
    const ABI_WANTED: ABI = ABI::V6;

    fn access(grant: Grant) -> BitFlags<AccessFs> {
        match grant {
            Grant::Execute => make_bitflags!(AccessFs::{Execute | ReadFile}),
            Grant::System => make_bitflags!(AccessFs::{ReadFile | ReadDir}),
            Grant::ReadFile => make_bitflags!(AccessFs::{ReadFile | ReadDir}),
            Grant::Device => make_bitflags!(AccessFs::{ReadFile | WriteFile | Truncate | IoctlDev}),
            Grant::Read => make_bitflags!(AccessFs::{ReadFile | ReadDir}),
            Grant::Write => make_bitflags!(AccessFs::{
                WriteFile | Truncate | MakeReg | MakeDir | RemoveFile | RemoveDir | Refer
            }),
        }
    }

    /// The ruleset's descriptor, or `None` when the kernel has no Landlock.
    /// Paths that do not exist are left out (there is nothing to grant).
    /// Every TCP bind and connect is refused but what `net` allows.
    pub(super) fn ruleset(
        level: CompatLevel,
        rules: &[(PathBuf, Grant)],
        net: NetAccess,
    ) -> Result<Option<OwnedFd>, RulesetError> {
        let mut ruleset = Ruleset::default()
            .set_compatibility(level)
            .handle_access(AccessFs::from_all(ABI_WANTED))?
            .scope(Scope::from_all(ABI_WANTED))?;
        if net != NetAccess::Unrestricted {
            ruleset = ruleset.handle_access(AccessNet::from_all(ABI_WANTED))?;
        }
        let mut ruleset = ruleset.create()?;
        for (path, grant) in rules {
            ruleset = ruleset.add_rules(path_beneath_rules([path], access(*grant)))?;
        }
        if let NetAccess::ProxyOnly(port) = net {
            ruleset = ruleset.add_rule(NetPort::new(port, AccessNet::ConnectTcp))?;
        }
        Ok(ruleset.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_files_are_executable() {
        let grants = Grants::default();
        let rules = rules(&grants, &[PathBuf::from("/opt/tool/bin/run")]);
        let runnable: Vec<_> = rules
            .iter()
            .filter(|(_, grant)| *grant == Grant::Execute)
            .map(|(path, _)| path.clone())
            .collect();
        assert_eq!(runnable, [PathBuf::from("/opt/tool/bin/run")]);
        assert!(
            !rules
                .iter()
                .any(|(path, _)| path.starts_with("/proc") || path.starts_with("/tmp"))
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_ruleset_is_built_and_its_status_reported() {
        let rules = rules(&Grants::default(), &[PathBuf::from("/bin/echo")]);
        let landlock =
            Landlock::prepare(&rules, NetAccess::None).expect("building a ruleset does not fail");
        // Whatever this kernel supports, the status says it, and a
        // descriptor exists exactly when something will be enforced.
        assert_eq!(
            landlock.fd() >= 0,
            landlock.status != LandlockStatus::NotSupported
        );
    }
}
