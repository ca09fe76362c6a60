//! Resource limits: CPU time from the run's bound, address space, file size,
//! processes, no core files; never above what this process has.

use std::time::Duration;

/// Address space, in bytes: enough for common toolchains, a bound on runaways.
pub const MAX_ADDRESS_SPACE: u64 = 8 << 30;
/// Largest file the program may write, in bytes.
pub const MAX_FILE_SIZE: u64 = 1 << 30;
/// Processes the program may add to those its user already runs.
pub const MAX_NEW_PROCESSES: u64 = 256;

/// Resource limits as `(resource, soft, hard)`, never above what this process has.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits(pub(super) [(libc::c_int, u64, u64); 5]);

impl Limits {
    pub(super) fn for_run(time_bound: Duration) -> Limits {
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
pub(super) fn current_hard_limit(resource: libc::c_int) -> u64 {
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
}
