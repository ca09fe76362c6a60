//! The namespaces a child is started in: its own mount namespace (for the
//! masks), its own PID namespace (so nothing it starts outlives it), and,
//! when its program entry grants no hosts, its own network namespace (no
//! interface but a loopback that is down: not even the host's loopback is
//! reachable). Without root, a user namespace makes the others possible.

use std::ffi::CString;

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
