//! What confines the processes a call starts (`#[run]` tools such as
//! `cmd_run`), as far as the policy and the people reading it are concerned:
//! the system paths every child may read besides the policy's roots, and
//! which kernel mechanisms this machine offers.
//!
//! The sandbox itself (Landlock rules, namespaces, masks) is built by the
//! tool that starts the program; this module is the shared, documented list
//! it builds from, shown by `policy explain` and printed by CI.

/// Folders a dynamically linked program reads as it starts (libraries,
/// locale and character set data): readable, never executable.
pub const SYSTEM_FOLDERS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// Single system files common programs read as they start: the loader's
/// cache, time zone, users, name resolution, certificates.
pub const SYSTEM_FILES: &[&str] = &[
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

/// Devices a child may read and write.
pub const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// The variable that makes the sandbox act as if a mechanism were missing,
/// for tests of the refusal: a comma-separated list of `landlock` and
/// `namespaces`. It can only take confinement away from a program whose
/// entry accepts weaker confinement; any other program is refused.
pub const SIMULATE_MISSING_VAR: &str = "RUSTCHAIN_SANDBOX_SIMULATE_MISSING";

/// The kernel mechanisms this machine offers a child's sandbox.
///
/// ```
/// use rustchain_tools::policy::sandbox::Mechanisms;
/// let here = Mechanisms::detect();
/// assert!(here.describe().starts_with("landlock"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mechanisms {
    /// Landlock, with its ABI version (0: none).
    pub landlock_abi: u32,
    /// Mount, PID and network namespaces (with a user namespace when not root).
    pub namespaces: bool,
}

impl Mechanisms {
    /// What this machine offers, less what [`SIMULATE_MISSING_VAR`] takes away.
    pub fn detect() -> Mechanisms {
        let missing = std::env::var(SIMULATE_MISSING_VAR).unwrap_or_default();
        let simulated = |name: &str| missing.split(',').any(|m| m.trim() == name);
        Mechanisms {
            landlock_abi: if simulated("landlock") {
                0
            } else {
                landlock_abi()
            },
            namespaces: !simulated("namespaces") && namespaces_available(),
        }
    }

    /// Whether Landlock is there.
    pub fn landlock(self) -> bool {
        self.landlock_abi > 0
    }

    /// One line for people: which mechanisms confine a child here.
    pub fn describe(self) -> String {
        let landlock = if self.landlock() {
            format!("landlock ABI {} active", self.landlock_abi)
        } else {
            "landlock missing".to_owned()
        };
        let namespaces = if self.namespaces { "active" } else { "missing" };
        format!("{landlock}, namespaces (mount, pid, net) {namespaces}")
    }
}

/// What confines a child on this machine, one line each: the mechanisms
/// active here, and what every child may use besides the policy's roots.
pub fn summary() -> Vec<String> {
    vec![
        format!("mechanisms: {}", Mechanisms::detect().describe()),
        "executes: the granted program, its [[programs]] helpers and their interpreters, nothing else".to_owned(),
        "reads the [fs] read roots; writes the [fs] write roots (a write-only root is not readable; write roots are noexec)".to_owned(),
        format!("system folders read, never executed: {}", SYSTEM_FOLDERS.join(", ")),
        format!("system files read: {}", SYSTEM_FILES.join(", ")),
        format!("devices: {}", DEVICES.join(", ")),
        "deny globs: paths they cover are masked in a private mount namespace; a glob no mount can cover refuses the run".to_owned(),
        "network: its own network namespace; no TCP at all unless the program's entry grants hosts, then only the executor's proxy (127.0.0.1:3128 in that namespace, announced in HTTP_PROXY, HTTPS_PROXY, ALL_PROXY), which lets through CONNECT and plain-HTTP requests to those hosts, checked as http_request checks them (each resolved address too, [net] deny included) and refuses the rest with 403 and a deny record".to_owned(),
        "lifetime: own PID namespace; everything the program started dies with it".to_owned(),
        "where a mechanism is missing or a rule cannot be enforced, the program is not run unless its entry says confinement = \"weaker\"".to_owned(),
    ]
}

/// The Landlock ABI version the kernel offers, 0 without Landlock.
#[cfg(target_os = "linux")]
fn landlock_abi() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_ulong = 1;
    let none: *const libc::c_void = std::ptr::null();
    // SAFETY: with a null attribute, size 0 and the VERSION flag, the call
    // only returns the ABI version (or an error) and touches no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            none,
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(abi).unwrap_or(0)
}

#[cfg(not(target_os = "linux"))]
fn landlock_abi() -> u32 {
    0
}

/// Whether this process may make the namespaces a child needs (asked once,
/// by a short-lived child that tries).
fn namespaces_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(probe_namespaces)
}

#[cfg(target_os = "linux")]
fn probe_namespaces() -> bool {
    let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWNET;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        flags |= libc::CLONE_NEWUSER;
    }
    // SAFETY: a raw fork (clone with only SIGCHLD): the child makes one
    // system call and exits, touching no lock or allocation of the parent.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if pid < 0 {
        return false;
    }
    if pid == 0 {
        // SAFETY: unshare and _exit take plain numbers.
        unsafe {
            let rc = libc::unshare(flags);
            libc::_exit(if rc == 0 { 0 } else { 1 });
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child, writing into `status`.
        let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        if rc >= 0 {
            break;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

#[cfg(not(target_os = "linux"))]
fn probe_namespaces() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_the_system_paths_and_the_mechanisms() {
        let lines = summary();
        assert!(lines[0].starts_with("mechanisms: landlock"), "{lines:?}");
        let all = lines.join("\n");
        for path in ["/usr", "/etc/ssl", "/dev/null"] {
            assert!(all.contains(path), "{path}: {all}");
        }
        // A program granted hosts is named as reaching them through the
        // proxy, not as getting the host's network.
        assert!(all.contains("only the executor's proxy"), "{all}");
        assert!(!all.contains("host's network"), "{all}");
    }
}
