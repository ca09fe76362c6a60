//! What confines the child from its first instruction, so that a process a
//! call starts can do nothing the policy would refuse to the call itself:
//!
//! - [`executables`]: it may execute only the granted program, the helpers
//!   its `[[programs]]` entry lists, and their interpreters (Landlock);
//! - [`landlock`]: it reads the read roots and writes the write roots (a
//!   write-only root is not readable), reads a short list of system paths,
//!   binds no TCP port, and connects to none but, with granted hosts, the
//!   proxy's;
//! - [`masks`]: paths the deny globs cover are masked in a private mount
//!   namespace, and write roots are `noexec`;
//! - [`namespaces`]: its own PID namespace (nothing it starts outlives it)
//!   and its own network namespace;
//! - [`network`]: with granted hosts, that namespace's only way out, a
//!   listener the executor's proxy accepts on;
//! - [`limits`]: resource limits, no new privileges, death with its parent.
//!
//! Where the kernel lacks a mechanism, or a deny glob cannot be masked, the
//! run is refused, naming the rule and the reason, unless the program entry
//! accepts weaker confinement (`confinement = "weaker"`).
//!
//! Everything that needs memory or the file system is prepared here, in the
//! parent; the child only makes raw system calls ([`setup`]).

pub(crate) mod executables;
pub(crate) mod landlock;
pub(crate) mod limits;
pub(crate) mod masks;
pub(crate) mod namespaces;
pub(crate) mod network;
mod setup;

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use rustchain_tools::policy::sandbox::Mechanisms;
use rustchain_tools::policy::{Confinement, Grants, ProgramGrant};
use rustchain_tools::{ErrorKind, ToolError};

use self::landlock::{Landlock, NetAccess};
use self::limits::Limits;
use self::masks::Mount;
use self::namespaces::Namespaces;
use self::setup::ChildMount;
pub(crate) use self::setup::ChildSetup;

/// Whether Landlock confines the program's file system access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LandlockStatus {
    /// Every requested restriction is enforced.
    Full,
    /// The kernel knows an older Landlock: some restrictions are enforced.
    Partial,
    /// Not enforced: not Linux, a kernel without Landlock, or a program
    /// that accepts weaker confinement run where it is missing.
    NotSupported,
}

/// The confinement of one run, ready before the child starts.
#[derive(Debug)]
pub(super) struct Sandbox {
    landlock: Landlock,
    limits: Limits,
    namespaces: Option<Namespaces>,
    mounts: Vec<Mount>,
    /// Whether the child reaches its hosts through the executor's proxy.
    proxied: bool,
}

impl Sandbox {
    /// Everything from the policy: what the program may execute, read,
    /// write and reach, and the time bound; refused when the kernel cannot
    /// enforce it and the program does not accept weaker confinement.
    pub(super) fn prepare(
        grants: &Grants,
        program: &ProgramGrant,
        time_bound: Duration,
        mechanisms: Mechanisms,
    ) -> Result<Sandbox, ToolError> {
        let weaker = program.confinement == Confinement::Weaker;
        let refuse = |why: String| {
            Err(ToolError::new(
                ErrorKind::Denied,
                format!(
                    "{} was not run: {why}; the policy can accept this with `confinement = \"weaker\"` in its [[programs]] entry",
                    program.path.display()
                ),
            ))
        };
        let executables = executables::executables(&program.path, &program.helpers);
        let hosts = !program.hosts.is_empty();
        // With namespaces, hosts are reached through the proxy only; a
        // program accepting weaker confinement where there are none gets
        // the host's network, as it would get its files.
        let proxied = hosts && mechanisms.namespaces;
        let net = match (hosts, proxied) {
            (false, _) => NetAccess::None,
            (true, true) => NetAccess::ProxyOnly(network::PROXY_PORT),
            (true, false) => NetAccess::Unrestricted,
        };
        let landlock = if mechanisms.landlock() {
            Landlock::prepare(&landlock::rules(grants, &executables), net)?
        } else {
            Landlock::none()
        };
        if landlock.status == LandlockStatus::NotSupported && !weaker {
            return refuse(
                "this kernel has no Landlock, so what the program may execute, read and write cannot be enforced".to_owned(),
            );
        }
        let (mut mounts, unmaskable) = masks::plan(grants, &executables);
        if let Some(first) = unmaskable.first()
            && !weaker
        {
            return refuse(format!(
                "the deny rule fs.deny {:?} cannot be enforced for it: {}",
                first.glob, first.reason
            ));
        }
        let namespaces = if mechanisms.namespaces {
            Some(Namespaces::for_run())
        } else if weaker {
            mounts.clear();
            None
        } else {
            return refuse(
                "this machine does not let it be started in its own mount, PID and network namespaces, so denied paths, its network and its descendants cannot be confined".to_owned(),
            );
        };
        Ok(Sandbox {
            landlock,
            limits: Limits::for_run(time_bound),
            namespaces,
            mounts,
            proxied,
        })
    }

    /// Limits only, no Landlock nor namespaces: what a machine without them gives.
    #[cfg(test)]
    pub(super) fn unconfined(time_bound: Duration) -> Sandbox {
        Sandbox {
            landlock: Landlock::none(),
            limits: Limits::for_run(time_bound),
            namespaces: None,
            mounts: Vec::new(),
            proxied: false,
        }
    }

    /// Whether Landlock will confine the child.
    pub(super) fn landlock_status(&self) -> LandlockStatus {
        self.landlock.status
    }

    /// Whether the child reaches its granted hosts through the executor's
    /// proxy (its entry grants hosts, and it has its own network namespace).
    pub(super) fn proxied(&self) -> bool {
        self.proxied
    }

    /// Whether the child runs in its own namespaces.
    pub(super) fn isolated(&self) -> bool {
        self.namespaces.is_some()
    }

    /// What the child applies to itself; `workdir` is the folder it enters,
    /// by handle and (after the mounts) by name.
    pub(super) fn child_setup(&self, workdir: Option<RawFd>, workdir_path: &Path) -> ChildSetup {
        let c_path = |path: &Path| {
            CString::new(path.as_os_str().as_bytes())
                .expect("roots and the paths found under them hold no NUL byte")
        };
        let mounts = self
            .mounts
            .iter()
            .map(|mount| match mount {
                Mount::Root { path, flags } => ChildMount::Root {
                    path: c_path(path),
                    flags: *flags,
                },
                Mount::MaskFolder(path) => ChildMount::MaskFolder(c_path(path)),
                Mount::MaskFile(path) => ChildMount::MaskFile(c_path(path)),
            })
            .collect();
        ChildSetup {
            limits: self.limits.0,
            workdir: workdir.unwrap_or(-1),
            workdir_path: workdir.map(|_| c_path(workdir_path)),
            landlock: self.landlock.fd(),
            // SAFETY: getpid has no preconditions.
            parent: unsafe { libc::getpid() },
            unshare: self.namespaces.as_ref().map_or(0, |n| n.flags),
            id_maps: self.namespaces.as_ref().and_then(|n| n.id_maps.clone()),
            mounts,
            proxy_channel: -1,
        }
    }
}
