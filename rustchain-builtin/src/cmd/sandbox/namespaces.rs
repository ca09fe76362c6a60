//! The namespaces a child is started in: its own mount namespace (for the
//! masks), its own PID namespace (so nothing it starts outlives it), and,
//! when its program entry grants no hosts, its own network namespace (no
//! interface but a loopback that is down: not even the host's loopback is
//! reachable). Without root, a user namespace makes the others possible.

use std::ffi::CString;
use std::sync::OnceLock;

/// What `unshare(2)` is asked for, and the identity maps a user namespace needs.
#[derive(Debug, Clone)]
pub(super) struct Namespaces {
    pub(super) flags: libc::c_int,
    /// `(uid_map, gid_map)` lines when a user namespace is made.
    pub(super) id_maps: Option<(CString, CString)>,
}

impl Namespaces {
    /// Mount and PID namespaces always; network unless `network`; a user
    /// namespace when this process is not root.
    pub(super) fn for_run(network: bool) -> Namespaces {
        let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID;
        if !network {
            flags |= libc::CLONE_NEWNET;
        }
        let id_maps = needs_user_namespace().then(|| {
            flags |= libc::CLONE_NEWUSER;
            // SAFETY: getuid and getgid have no preconditions.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            (
                CString::new(format!("0 {uid} 1\n")).expect("digits hold no NUL"),
                CString::new(format!("0 {gid} 1\n")).expect("digits hold no NUL"),
            )
        });
        Namespaces { flags, id_maps }
    }
}

fn needs_user_namespace() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() != 0 }
}

/// Whether this kernel lets this process make the namespaces a run needs
/// (asked once, by a short-lived child that tries).
pub(crate) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(probe)
}

#[cfg(target_os = "linux")]
fn probe() -> bool {
    let flags = Namespaces::for_run(false).flags;
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
fn probe() -> bool {
    false
}
