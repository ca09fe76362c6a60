//! The namespaces a child is started in: its own mount namespace (for the
//! masks), its own PID namespace (so nothing it starts outlives it), and its
//! own network namespace: without granted hosts no interface but a loopback
//! that is down (not even the host's loopback is reachable); with hosts that
//! loopback is up and holds one listener, the proxy's (see
//! [`network`](super::network)). Without root, a user namespace makes the
//! others possible.

use std::ffi::CString;

/// What `unshare(2)` is asked for, and the identity maps a user namespace needs.
#[derive(Debug, Clone)]
pub(super) struct Namespaces {
    pub(super) flags: libc::c_int,
    /// `(uid_map, gid_map)` lines when a user namespace is made.
    pub(super) id_maps: Option<(CString, CString)>,
}

impl Namespaces {
    /// Mount, PID and network namespaces; a user namespace when this
    /// process is not root.
    pub(super) fn for_run() -> Namespaces {
        let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWNET;
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
