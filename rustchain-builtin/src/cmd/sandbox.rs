//! What confines the child from its first instruction: resource limits, no
//! new privileges, a parent-death signal, and on Linux a Landlock ruleset
//! over the file system.
//!
//! Everything that needs memory or the file system is prepared here, in the
//! parent; the child, between `fork` and `exec`, only makes raw system calls
//! with numbers prepared for it (a forked copy of a threaded program may not
//! allocate or take a lock).

use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustchain_tools::ToolError;
use rustchain_tools::policy::Grants;

/// Whether Landlock confines the program's file system access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LandlockStatus {
    /// Every requested restriction is enforced.
    Full,
    /// The kernel knows an older Landlock: some restrictions are enforced.
    Partial,
    /// Not enforced: not Linux, or a kernel without Landlock.
    NotSupported,
}

/// Address space, in bytes: enough for common toolchains, a bound on runaways.
pub const MAX_ADDRESS_SPACE: u64 = 8 << 30;
/// Largest file the program may write, in bytes.
pub const MAX_FILE_SIZE: u64 = 1 << 30;
/// Processes the program may add to those its user already runs.
pub const MAX_NEW_PROCESSES: u64 = 256;

/// The confinement of one run, ready before the child starts.
#[derive(Debug)]
pub(super) struct Sandbox {
    landlock: Landlock,
    limits: Limits,
}

impl Sandbox {
    /// Limits from the run's time bound; Landlock from the policy's roots.
    pub(super) fn prepare(
        grants: &Grants,
        program: &Path,
        time_bound: Duration,
    ) -> Result<Sandbox, ToolError> {
        Ok(Sandbox {
            landlock: Landlock::prepare(grants, program)?,
            limits: Limits::for_run(time_bound),
        })
    }

    /// The same limits, and no Landlock: what a kernel without it gives.
    #[cfg(test)]
    pub(super) fn without_landlock(time_bound: Duration) -> Sandbox {
        Sandbox {
            landlock: Landlock::none(),
            limits: Limits::for_run(time_bound),
        }
    }

    /// Whether Landlock will confine the child.
    pub(super) fn landlock_status(&self) -> LandlockStatus {
        self.landlock.status
    }

    /// What the child applies to itself; `workdir` is the folder handle it enters.
    pub(super) fn child_setup(&self, workdir: Option<RawFd>) -> ChildSetup {
        ChildSetup {
            limits: self.limits.0,
            workdir: workdir.unwrap_or(-1),
            landlock: self.landlock.fd(),
            // SAFETY: getpid has no preconditions.
            parent: unsafe { libc::getpid() },
        }
    }
}

/// Resource limits as `(resource, soft, hard)`, never above what this process has.
#[derive(Debug, Clone, Copy)]
struct Limits([(libc::c_int, u64, u64); 5]);

impl Limits {
    fn for_run(time_bound: Duration) -> Limits {
        // CPU seconds: a program cannot outspend its wall-clock bound on one
        // core; on several it meets this limit (SIGXCPU, then SIGKILL) first.
        let cpu = time_bound.as_secs().saturating_add(1);
        let processes = user_processes().map_or(u64::MAX, |n| n.saturating_add(MAX_NEW_PROCESSES));
        let wanted = [
            (libc::RLIMIT_CPU as libc::c_int, cpu, cpu.saturating_add(1)),
            (
                libc::RLIMIT_AS as libc::c_int,
                MAX_ADDRESS_SPACE,
                MAX_ADDRESS_SPACE,
            ),
            (
                libc::RLIMIT_FSIZE as libc::c_int,
                MAX_FILE_SIZE,
                MAX_FILE_SIZE,
            ),
            (libc::RLIMIT_NPROC as libc::c_int, processes, processes),
            (libc::RLIMIT_CORE as libc::c_int, 0, 0),
        ];
        Limits(wanted.map(|(resource, soft, hard)| {
            let hard = hard.min(current_hard_limit(resource));
            (resource, soft.min(hard), hard)
        }))
    }
}

#[allow(
    clippy::unnecessary_cast,
    reason = "rlim_t is u64 on Linux, not on every platform"
)]
fn current_hard_limit(resource: libc::c_int) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit to write into.
    let rc = unsafe { libc::getrlimit(resource as _, &mut limit) };
    if rc == 0 {
        limit.rlim_max as u64
    } else {
        u64::MAX
    }
}

/// How many processes this user runs now (RLIMIT_NPROC counts them all).
#[cfg(target_os = "linux")]
#[allow(
    clippy::disallowed_methods,
    reason = "lists /proc, a fixed system path no model names"
)]
fn user_processes() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let entries = std::fs::read_dir("/proc").ok()?;
    let count = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter(|entry| entry.metadata().is_ok_and(|meta| meta.uid() == uid))
        .count();
    Some(count as u64)
}

#[cfg(not(target_os = "linux"))]
fn user_processes() -> Option<u64> {
    None
}

/// What the child does to itself before `exec`, as plain numbers.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChildSetup {
    limits: [(libc::c_int, u64, u64); 5],
    /// The folder handle to enter, or -1.
    workdir: RawFd,
    /// The Landlock ruleset to restrict to, or -1.
    landlock: RawFd,
    /// The parent's pid: if it is gone, the child stops.
    parent: libc::pid_t,
}

impl ChildSetup {
    /// Runs in the child between `fork` and `exec`: raw system calls only.
    pub(super) fn apply(&self) -> io::Result<()> {
        if self.workdir >= 0 {
            // SAFETY: fchdir takes any descriptor and reports a bad one.
            check(unsafe { libc::fchdir(self.workdir) } as libc::c_long)?;
        }
        for &(resource, soft, hard) in &self.limits {
            set_limit(resource, soft, hard)?;
        }
        stop_with_parent(self.parent)?;
        no_new_privileges()?;
        if self.landlock >= 0 {
            restrict_self(self.landlock)?;
        }
        Ok(())
    }
}

fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        // Reads errno; builds no message, allocates nothing.
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn set_limit(resource: libc::c_int, soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    let none: *mut libc::rlimit64 = std::ptr::null_mut();
    // SAFETY: prlimit64 on pid 0 (this process) reads `limit`, a valid
    // rlimit64, and writes nothing through the null old-limit pointer.
    check(unsafe { libc::syscall(libc::SYS_prlimit64, 0, resource, &limit, none) })
}

#[cfg(not(target_os = "linux"))]
fn set_limit(resource: libc::c_int, soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit reads `limit`, a valid rlimit; a thin system-call wrapper.
    check(unsafe { libc::setrlimit(resource as _, &limit) } as libc::c_long)
}

/// The child is killed if the thread that started it dies first.
#[cfg(target_os = "linux")]
fn stop_with_parent(parent: libc::pid_t) -> io::Result<()> {
    let signal = libc::SIGKILL as libc::c_ulong;
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and nothing else.
    check(unsafe { libc::syscall(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, signal, 0, 0, 0) })?;
    // The parent may have died before the call above: then nobody waits.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != parent {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn stop_with_parent(_parent: libc::pid_t) -> io::Result<()> {
    Ok(())
}

/// No set-user-id or file capability raises the program's privileges
/// (Landlock requires this of an unprivileged process, and a command run for
/// a model has no business with `sudo` either).
#[cfg(target_os = "linux")]
fn no_new_privileges() -> io::Result<()> {
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) takes plain numbers.
    check(unsafe { libc::syscall(libc::SYS_prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
}

#[cfg(not(target_os = "linux"))]
fn no_new_privileges() -> io::Result<()> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn restrict_self(ruleset: RawFd) -> io::Result<()> {
    // SAFETY: landlock_restrict_self takes a ruleset descriptor and flags; a
    // bad descriptor is reported, not undefined.
    check(unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0) })
}

#[cfg(not(target_os = "linux"))]
fn restrict_self(_ruleset: RawFd) -> io::Result<()> {
    Ok(())
}

/// A Landlock ruleset built for one run, or none.
#[derive(Debug)]
struct Landlock {
    #[cfg(target_os = "linux")]
    ruleset: Option<std::os::fd::OwnedFd>,
    status: LandlockStatus,
}

impl Landlock {
    fn none() -> Landlock {
        Landlock {
            #[cfg(target_os = "linux")]
            ruleset: None,
            status: LandlockStatus::NotSupported,
        }
    }

    #[cfg(target_os = "linux")]
    fn fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        self.ruleset.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    #[cfg(not(target_os = "linux"))]
    fn fd(&self) -> RawFd {
        -1
    }

    #[cfg(not(target_os = "linux"))]
    fn prepare(_grants: &Grants, _program: &Path) -> Result<Landlock, ToolError> {
        Ok(Landlock::none())
    }

    /// Asks for every restriction of Landlock ABI 5 first; if the kernel has
    /// less, for what it has ("partial"); with none, runs unconfined and says so.
    #[cfg(target_os = "linux")]
    fn prepare(grants: &Grants, program: &Path) -> Result<Landlock, ToolError> {
        use landlock::CompatLevel;
        let rules = rules(grants, program);
        if let Ok(Some(fd)) = linux::ruleset(CompatLevel::HardRequirement, &rules) {
            return Ok(Landlock {
                ruleset: Some(fd),
                status: LandlockStatus::Full,
            });
        }
        match linux::ruleset(CompatLevel::BestEffort, &rules) {
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
enum Grant {
    /// Read, list and execute: system folders and the program's own.
    Run,
    /// Read single system files (the loader's cache, time zone, users).
    ReadFile,
    /// Read and write device files like `/dev/null`.
    Device,
    /// Read and list: read roots.
    Read,
    /// Read, list, create, write, truncate, rename, remove; never execute,
    /// nor make links, devices, pipes or sockets: write roots.
    Write,
}

/// Folders a dynamically linked program needs to start and find its tools.
const SYSTEM_FOLDERS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// Single system files common programs read as they start.
const SYSTEM_FILES: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/locale.alias",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/ssl",
    "/etc/ca-certificates",
];

const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// Every path the child may use, and how. Nothing else: no `/proc` (where the
/// agent's own environment could be read), no `/tmp`, no home folder. The
/// working directory is inside a read root, or `/` when none is granted,
/// where nothing is readable.
#[allow(
    clippy::disallowed_methods,
    reason = "the program is a path the policy grants; resolving its links only finds the folder it must be run from"
)]
fn rules(grants: &Grants, program: &Path) -> Vec<(PathBuf, Grant)> {
    let mut rules: Vec<(PathBuf, Grant)> = Vec::new();
    let mut add = |path: &Path, grant| rules.push((path.to_path_buf(), grant));
    for folder in SYSTEM_FOLDERS {
        add(Path::new(folder), Grant::Run);
    }
    // The program's folder, under the name granted and where links lead.
    for path in [Some(program.to_path_buf()), program.canonicalize().ok()]
        .into_iter()
        .flatten()
    {
        if let Some(folder) = path.parent() {
            add(folder, Grant::Run);
        }
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
        ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, Ruleset, RulesetAttr,
        RulesetCreatedAttr, RulesetError, make_bitflags, path_beneath_rules,
    };

    use super::Grant;

    /// The Landlock version whose file-system rights are all asked for.
    const ABI_WANTED: ABI = ABI::V5;

    fn access(grant: Grant) -> BitFlags<AccessFs> {
        match grant {
            Grant::Run => make_bitflags!(AccessFs::{Execute | ReadFile | ReadDir}),
            Grant::ReadFile => make_bitflags!(AccessFs::{ReadFile}),
            Grant::Device => make_bitflags!(AccessFs::{ReadFile | WriteFile | Truncate | IoctlDev}),
            Grant::Read => make_bitflags!(AccessFs::{ReadFile | ReadDir}),
            Grant::Write => make_bitflags!(AccessFs::{
                ReadFile | ReadDir | WriteFile | Truncate | MakeReg | MakeDir | RemoveFile
                    | RemoveDir | Refer
            }),
        }
    }

    /// The ruleset's descriptor, or `None` when the kernel has no Landlock.
    /// Paths that do not exist are left out (there is nothing to grant).
    pub(super) fn ruleset(
        level: CompatLevel,
        rules: &[(PathBuf, Grant)],
    ) -> Result<Option<OwnedFd>, RulesetError> {
        let mut ruleset = Ruleset::default()
            .set_compatibility(level)
            .handle_access(AccessFs::from_all(ABI_WANTED))?
            .create()?;
        for (path, grant) in rules {
            ruleset = ruleset.add_rules(path_beneath_rules([path], access(*grant)))?;
        }
        Ok(ruleset.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_never_exceed_what_this_process_has() {
        let limits = Limits::for_run(Duration::from_secs(5));
        for (resource, soft, hard) in limits.0 {
            assert!(soft <= hard);
            assert!(hard <= current_hard_limit(resource));
        }
        let cpu = limits.0[0];
        assert_eq!(cpu.0, libc::RLIMIT_CPU as libc::c_int);
        assert!(cpu.1 <= 6);
    }

    #[test]
    fn rules_grant_execution_only_in_system_folders_and_the_programs_own() {
        let grants = Grants::default();
        let rules = rules(&grants, Path::new("/opt/tool/bin/run"));
        let runnable: Vec<_> = rules
            .iter()
            .filter(|(_, grant)| *grant == Grant::Run)
            .map(|(path, _)| path.clone())
            .collect();
        assert!(runnable.contains(&PathBuf::from("/usr")));
        assert!(runnable.contains(&PathBuf::from("/opt/tool/bin")));
        assert!(
            !rules
                .iter()
                .any(|(path, _)| path.starts_with("/proc") || path.starts_with("/tmp"))
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_ruleset_is_built_and_its_status_reported() {
        let landlock = Landlock::prepare(&Grants::default(), Path::new("/bin/echo"))
            .expect("building a ruleset does not fail");
        // Whatever this kernel supports, the status says it, and a
        // descriptor exists exactly when something will be enforced.
        assert_eq!(
            landlock.fd() >= 0,
            landlock.status != LandlockStatus::NotSupported
        );
    }
}
