//! What the child does to itself between `fork` and `exec`: raw system calls
//! on values prepared before the fork, nothing else (a forked copy of a
//! threaded program may not allocate or take a lock).
//!
//! In order: enter the working directory, set resource limits, die with the
//! parent, unshare the namespaces, make the mounts, hand the proxy's
//! listener to the executor (when the entry grants hosts), start the PID
//! namespace (two more forks: its init, then the program), no new
//! privileges, Landlock.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

/// One mount, as the child makes it.
#[derive(Debug, Clone)]
pub(super) enum ChildMount {
    /// Bind onto itself, then remount with `flags`.
    Root { path: CString, flags: libc::c_ulong },
    /// An empty read-only tmpfs over a folder.
    MaskFolder(CString),
    /// `/dev/null`, read-only and `nodev`, over a file.
    MaskFile(CString),
}

/// What the child applies to itself before `exec`.
#[derive(Debug, Clone)]
pub(crate) struct ChildSetup {
    pub(super) limits: [(libc::c_int, u64, u64); 5],
    /// The folder handle to enter, or -1.
    pub(super) workdir: RawFd,
    /// Its path, entered again by name once the mounts are made (a handle
    /// still points into the mount below them).
    pub(super) workdir_path: Option<CString>,
    /// The Landlock ruleset to restrict to, or -1.
    pub(super) landlock: RawFd,
    /// The parent's pid: if it is gone, the child stops.
    pub(super) parent: libc::pid_t,
    /// `unshare(2)` flags, 0 for none.
    pub(super) unshare: libc::c_int,
    /// `(uid_map, gid_map)` for a user namespace.
    pub(super) id_maps: Option<(CString, CString)>,
    pub(super) mounts: Vec<ChildMount>,
    /// The socket-pair end the proxy's listener is sent on, or -1 (no hosts).
    pub(super) proxy_channel: RawFd,
}

impl ChildSetup {
    /// The setup of a child whose entry grants hosts: it sends its proxy
    /// listener on `channel` (see [`network`](super::network)).
    pub(crate) fn with_proxy_channel(mut self, channel: RawFd) -> ChildSetup {
        self.proxy_channel = channel;
        self
    }

    /// Runs in the child between `fork` and `exec`: raw system calls only.
    pub(crate) fn apply(&self) -> io::Result<()> {
        if self.workdir >= 0 {
            // SAFETY: fchdir takes any descriptor and reports a bad one.
            check(unsafe { libc::fchdir(self.workdir) } as libc::c_long)?;
        }
        for &(resource, soft, hard) in &self.limits {
            set_limit(resource, soft, hard)?;
        }
        stop_with_parent(self.parent)?;
        if self.unshare != 0 {
            // SAFETY: unshare takes plain flags.
            check(unsafe { libc::unshare(self.unshare) } as libc::c_long)?;
            if let Some((uid_map, gid_map)) = &self.id_maps {
                write_file(c"/proc/self/setgroups", b"deny")?;
                write_file(c"/proc/self/uid_map", uid_map.as_bytes())?;
                write_file(c"/proc/self/gid_map", gid_map.as_bytes())?;
            }
        }
        if self.unshare & libc::CLONE_NEWNS != 0 {
            self.mount_all()?;
        }
        if self.proxy_channel >= 0 {
            super::network::hand_over_listener(self.proxy_channel)?;
        }
        if self.unshare & libc::CLONE_NEWPID != 0 {
            pid_namespace::enter()?;
        }
        no_new_privileges()?;
        if self.landlock >= 0 {
            restrict_self(self.landlock)?;
        }
        Ok(())
    }

    fn mount_all(&self) -> io::Result<()> {
        let none = std::ptr::null::<libc::c_char>();
        // Nothing mounted here reaches the host's namespace.
        mount(
            none,
            c"/".as_ptr(),
            none,
            libc::MS_REC | libc::MS_PRIVATE,
            none,
        )?;
        for step in &self.mounts {
            match step {
                ChildMount::Root { path, flags } => {
                    let path = path.as_ptr();
                    mount(path, path, none, libc::MS_BIND | libc::MS_REC, none)?;
                    mount(
                        none,
                        path,
                        none,
                        libc::MS_BIND | libc::MS_REMOUNT | flags,
                        none,
                    )?;
                }
                ChildMount::MaskFolder(path) => {
                    let flags =
                        libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                    mount(
                        c"tmpfs".as_ptr(),
                        path.as_ptr(),
                        c"tmpfs".as_ptr(),
                        flags,
                        c"size=4k,nr_inodes=1,mode=000".as_ptr(),
                    )?;
                }
                ChildMount::MaskFile(path) => {
                    let path = path.as_ptr();
                    mount(c"/dev/null".as_ptr(), path, none, libc::MS_BIND, none)?;
                    let flags = libc::MS_BIND
                        | libc::MS_REMOUNT
                        | libc::MS_RDONLY
                        | libc::MS_NOSUID
                        | libc::MS_NODEV
                        | libc::MS_NOEXEC;
                    mount(none, path, none, flags, none)?;
                }
            }
        }
        if let Some(path) = &self.workdir_path {
            enter_again(path, self.workdir)?;
        }
        Ok(())
    }
}

pub(super) fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        // Reads errno; builds no message, allocates nothing.
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn mount(
    source: *const libc::c_char,
    target: *const libc::c_char,
    fstype: *const libc::c_char,
    flags: libc::c_ulong,
    data: *const libc::c_char,
) -> io::Result<()> {
    // SAFETY: every pointer is null or a NUL-terminated string that lives
    // as long as this call.
    check(unsafe { libc::mount(source, target, fstype, flags, data.cast()) } as libc::c_long)
}

/// `write(2)` of `bytes` to the file at `path`, opened for writing only.
fn write_file(path: &std::ffi::CStr, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated; open takes plain flags.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    check(fd as libc::c_long)?;
    // SAFETY: `bytes` is valid for its length; `fd` is ours.
    let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    check(written as libc::c_long)
}

/// Enters `path` by name and proves it is the folder `handle` was opened on.
fn enter_again(path: &CString, handle: RawFd) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated.
    check(unsafe { libc::chdir(path.as_ptr()) } as libc::c_long)?;
    if handle < 0 {
        return Ok(());
    }
    // SAFETY: all-zero stat values are valid to be written into.
    let (mut here, mut opened): (libc::stat, libc::stat) = unsafe { std::mem::zeroed() };
    // SAFETY: each call writes into its own stat value.
    check(unsafe { libc::stat(c".".as_ptr(), &mut here) } as libc::c_long)?;
    // SAFETY: as above, on our own descriptor.
    check(unsafe { libc::fstat(handle, &mut opened) } as libc::c_long)?;
    if here.st_dev != opened.st_dev || here.st_ino != opened.st_ino {
        return Err(io::Error::from_raw_os_error(libc::ESTALE));
    }
    Ok(())
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
    die_with_parent()?;
    // The parent may have died before the call above: then nobody waits.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != parent {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn die_with_parent() -> io::Result<()> {
    let signal = libc::SIGKILL as libc::c_ulong;
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and nothing else.
    check(unsafe { libc::syscall(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, signal, 0, 0, 0) })
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

/// The PID namespace: `unshare(CLONE_NEWPID)` puts the *next* child of this
/// process in a new namespace as its PID 1, and when PID 1 exits the kernel
/// kills everything else in it, `setsid` and double-forked descendants
/// included. So the child forks twice:
///
/// - this process (the one the parent waits for) waits for the namespace's
///   init and ends as the program ended (same exit code, or same signal);
/// - the init (PID 1) reaps orphans until the program exits, hands its
///   status up through a pipe, and exits, which ends the namespace;
/// - the program (PID 2, so signals it sends itself work as anywhere else)
///   returns from here and is executed.
#[cfg(target_os = "linux")]
mod pid_namespace {
    use std::io;

    use super::{check, die_with_parent};

    /// A raw `fork`: `clone` with `SIGCHLD` only, so no `atfork` handler runs.
    fn fork() -> io::Result<libc::pid_t> {
        // SAFETY: clone without CLONE_VM or a new stack is fork.
        let pid =
            unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
        check(pid)?;
        Ok(pid as libc::pid_t)
    }

    /// Waits for `pid` (or, with -1, any child), retrying on signals.
    fn wait(pid: libc::pid_t) -> Option<(libc::pid_t, libc::c_int)> {
        let mut status = 0;
        loop {
            // SAFETY: writes the status of our own child into `status`.
            let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
            if rc >= 0 {
                return Some((rc, status));
            }
            if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return None;
            }
        }
    }

    /// Closes every descriptor but `keep` (which std's exec-error pipe and
    /// the output pipes are not, so the parent sees them close with the program).
    fn close_all_but(keep: libc::c_int) {
        // SAFETY: close_range takes plain numbers; closing what we do not
        // use is harmless.
        unsafe {
            if keep > 0 {
                libc::syscall(libc::SYS_close_range, 0, keep - 1, 0);
            }
            libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0);
        }
    }

    /// Ends this process as `status` ended its child.
    fn end_like(status: libc::c_int) -> ! {
        // SAFETY: signal, getpid, kill and _exit take plain numbers.
        unsafe {
            if libc::WIFSIGNALED(status) {
                let signal = libc::WTERMSIG(status);
                libc::signal(signal, libc::SIG_DFL);
                libc::kill(libc::getpid(), signal);
                libc::_exit(128 + signal);
            }
            libc::_exit(libc::WEXITSTATUS(status))
        }
    }

    pub(super) fn enter() -> io::Result<()> {
        let mut pipe = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into `pipe`.
        check(unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } as libc::c_long)?;
        let [read_end, write_end] = pipe;
        let init = fork()?;
        if init > 0 {
            close_all_but(read_end);
            let Some((_, init_status)) = wait(init) else {
                // SAFETY: _exit takes a plain number.
                unsafe { libc::_exit(127) }
            };
            let mut reported = [0u8; 4];
            // SAFETY: reads at most 4 bytes into `reported`.
            let read = unsafe { libc::read(read_end, reported.as_mut_ptr().cast(), 4) };
            end_like(if read == 4 {
                libc::c_int::from_ne_bytes(reported)
            } else {
                init_status
            });
        }
        // The namespace's init.
        die_with_parent()?;
        let program = fork()?;
        if program > 0 {
            close_all_but(write_end);
            loop {
                match wait(-1) {
                    Some((pid, status)) if pid == program => {
                        let bytes = status.to_ne_bytes();
                        // SAFETY: writes 4 bytes from `bytes`.
                        unsafe { libc::write(write_end, bytes.as_ptr().cast(), 4) };
                        // SAFETY: _exit takes a plain number.
                        unsafe { libc::_exit(0) }
                    }
                    Some(_) => continue,
                    // SAFETY: _exit takes a plain number.
                    None => unsafe { libc::_exit(127) },
                }
            }
        }
        // The program: both pipe ends close when it executes.
        die_with_parent()
    }
}

#[cfg(not(target_os = "linux"))]
mod pid_namespace {
    pub(super) fn enter() -> std::io::Result<()> {
        Ok(())
    }
}
