//! Running the child: spawn it in its own process group (with its network
//! proxy, when its entry grants hosts), drain stdout and stderr together,
//! stop it at its bound, kill the whole group, reap it.
//!
//! One thread does it all with `poll(2)`: both pipes are read as data comes,
//! so the child never blocks on a full pipe, while the same loop watches for
//! the child's exit, the run's time bound and the call's cancellation.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustchain_tools::{ErrorKind, ToolContext, ToolError};

use super::Plan;
use super::proxy::{ProgramReach, Proxy};
use super::sandbox::network::Handover;

/// Past its cap, a stream is still read and counted for this many more
/// bytes, so a chatty program can finish and report its exit status; a
/// program that writes more than that (`yes`) is killed.
pub const DRAIN_PAST_CAP: u64 = 16 << 20;
/// How long, once the group is killed, what is left in the pipes is read.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// The longest the loop sleeps before looking at the clock and cancellation.
const MAX_TICK: Duration = Duration::from_millis(20);
const MIN_TICK: Duration = Duration::from_millis(1);
const READ_CHUNK: usize = 64 << 10;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// The program exited by itself (or by a signal of its own making).
    Exited,
    /// Its own `timeout_ms` passed; the group was killed.
    TimedOut,
    /// It wrote far past the output cap; the group was killed.
    Flooded,
}

/// One stream's capture.
#[derive(Debug)]
pub(super) struct Capture {
    pipe: Option<File>,
    kept: Vec<u8>,
    cap: usize,
    /// Every byte read, kept or not.
    pub(super) seen: u64,
}

impl Capture {
    fn new(pipe: Option<OwnedFd>, cap: usize) -> io::Result<Capture> {
        if let Some(pipe) = &pipe {
            set_nonblocking(pipe)?;
        }
        Ok(Capture {
            pipe: pipe.map(File::from),
            kept: Vec::new(),
            cap,
            seen: 0,
        })
    }

    fn is_open(&self) -> bool {
        self.pipe.is_some()
    }

    fn absorb(&mut self, bytes: &[u8]) {
        self.seen = self.seen.saturating_add(bytes.len() as u64);
        let room = self.cap.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    /// Reads what is there without blocking; closes the pipe at its end.
    fn pump(&mut self, scratch: &mut [u8]) -> bool {
        let mut any = false;
        // A bounded number of reads per wake-up, so one busy stream cannot
        // starve the other or the clock.
        for _ in 0..16 {
            let Some(pipe) = self.pipe.as_mut() else {
                break;
            };
            match pipe.read(scratch) {
                Ok(0) => self.pipe = None,
                Ok(n) => {
                    any = true;
                    self.absorb(&scratch[..n]);
                    continue;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => self.pipe = None,
            }
            break;
        }
        any
    }

    /// Whether bytes were dropped for the cap.
    pub(super) fn truncated(&self) -> bool {
        self.seen > self.kept.len() as u64
    }

    /// The kept bytes as text (invalid UTF-8 replaced), without a character
    /// the cap cut in half.
    pub(super) fn text(&self) -> String {
        let mut kept = self.kept.as_slice();
        if self.truncated()
            && let Err(err) = std::str::from_utf8(kept)
            && err.error_len().is_none()
        {
            kept = &kept[..err.valid_up_to()];
        }
        String::from_utf8_lossy(kept).into_owned()
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with plain flag arguments.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits up to `wait` for output on either pipe and reads it.
fn pump_both(out: &mut Capture, err: &mut Capture, scratch: &mut [u8], wait: Duration) -> bool {
    let mut fds: Vec<libc::pollfd> = [&*out, &*err]
        .iter()
        .filter_map(|capture| capture.pipe.as_ref())
        .map(|pipe| libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    if fds.is_empty() {
        std::thread::sleep(wait);
        return false;
    }
    let millis = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd entries.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
    if ready <= 0 {
        // Nothing yet, or a signal interrupted the wait: look again next tick.
        return false;
    }
    let out_any = out.pump(scratch);
    let err_any = err.pump(scratch);
    out_any || err_any
}

/// A started child and its process group. Dropping it before the run is
/// finished kills the group and reaps the child, so no early return or
/// panic leaves anything of it running.
struct Running {
    child: Child,
    group: libc::pid_t,
    reaped: Option<ExitStatus>,
}

impl Running {
    /// SIGKILL to every process in the group. Safe from pid reuse: the
    /// leader is not reaped before this, so its pid (the group's id) is taken.
    fn kill_group(&self) {
        // SAFETY: killpg takes plain numbers; ESRCH (group gone) is fine.
        unsafe { libc::killpg(self.group, libc::SIGKILL) };
    }

    /// Whether the leader has exited, without reaping it (Linux: `WNOWAIT`).
    #[cfg(target_os = "linux")]
    fn leader_exited(&mut self) -> io::Result<bool> {
        // SAFETY: an all-zero siginfo_t is a valid value to be written into.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        // SAFETY: waitid writes into `info`; the pid is our own child's.
        let rc = unsafe { libc::waitid(libc::P_PID, self.group as libc::id_t, &mut info, flags) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: waitid filled in (or left zeroed) a SIGCHLD siginfo.
        Ok(unsafe { info.si_pid() } != 0)
    }

    /// Whether the leader has exited (elsewhere: reaps it at once).
    #[cfg(not(target_os = "linux"))]
    fn leader_exited(&mut self) -> io::Result<bool> {
        if self.reaped.is_none() {
            self.reaped = self.child.try_wait()?;
        }
        Ok(self.reaped.is_some())
    }

    fn reap(&mut self) -> io::Result<ExitStatus> {
        match self.reaped {
            Some(status) => Ok(status),
            None => {
                let status = self.child.wait()?;
                self.reaped = Some(status);
                Ok(status)
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Once the leader is reaped its pid may be reused: never signal after.
        if self.reaped.is_none() {
            self.kill_group();
            let _ = self.reap();
        }
    }
}

/// What a finished run hands back.
#[derive(Debug)]
pub(super) struct Finished {
    pub(super) end: End,
    pub(super) status: ExitStatus,
    pub(super) stdout: Capture,
    pub(super) stderr: Capture,
}

/// Runs the plan to its end: exit, its own time bound, an output flood, or
/// the call's cancellation or deadline (errors).
pub(super) fn run(plan: &Plan, ctx: &ToolContext) -> Result<Finished, ToolError> {
    let mut command = Command::new(&plan.program);
    command
        .args(&plan.args)
        .env_clear()
        .envs(plan.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if plan.workdir.raw_fd().is_none() {
        command.current_dir(plan.workdir.path());
    }
    let mut setup = plan
        .sandbox
        .child_setup(plan.workdir.raw_fd(), plan.workdir.path());
    // A program granted hosts hands back the listener of its namespace's
    // proxy; the proxy is checked before anything starts.
    let network = match plan.sandbox.proxied() {
        true => {
            let reach = ProgramReach::new(ctx, &plan.program, &plan.hosts)?;
            let handover = Handover::new().map_err(|err| proxy_failed(&err))?;
            setup = setup.with_proxy_channel(handover.child_end());
            Some((handover, reach))
        }
        false => None,
    };
    // SAFETY: the hook runs in the child between fork and exec and makes
    // only raw system calls on numbers prepared before the fork: it neither
    // allocates nor locks.
    unsafe {
        command.pre_exec(move || setup.apply());
    }
    let mut child = command.spawn().map_err(|err| not_started(plan, &err))?;
    let group = child.id() as libc::pid_t;
    let pipes = (
        child.stdout.take().map(OwnedFd::from),
        child.stderr.take().map(OwnedFd::from),
    );
    let mut running = Running {
        child,
        group,
        reaped: None,
    };
    // Dropped before `running` on every way out: the proxy and its
    // connections end with the run.
    let _proxy = match network {
        Some((handover, reach)) => {
            let listener = handover.receive().map_err(|err| proxy_failed(&err))?;
            Some(Proxy::start(listener, reach)?)
        }
        None => None,
    };
    let cap = plan.cap;
    let io_failed = |err: io::Error| {
        ToolError::new(
            ErrorKind::Failed,
            format!("reading the program's output failed: {err}"),
        )
    };
    let mut out = Capture::new(pipes.0, cap).map_err(io_failed)?;
    let mut err = Capture::new(pipes.1, cap).map_err(io_failed)?;
    let mut scratch = vec![0u8; READ_CHUNK];
    let flood = (cap as u64).saturating_add(DRAIN_PAST_CAP);
    let mut idle = MIN_TICK;

    let end = loop {
        let exited = running.leader_exited().map_err(|e| {
            ToolError::new(
                ErrorKind::Failed,
                format!("waiting for the program failed: {e}"),
            )
        })?;
        if exited {
            break End::Exited;
        }
        if ctx.is_cancelled() {
            return Err(stopped(plan, ctx));
        }
        let now = Instant::now();
        if plan.stop_at.is_some_and(|stop| now >= stop) {
            break End::TimedOut;
        }
        if now >= plan.backstop {
            return Err(call_timed_out(plan));
        }
        if out.seen > flood || err.seen > flood {
            break End::Flooded;
        }
        let until = plan
            .stop_at
            .map_or(plan.backstop, |stop| stop.min(plan.backstop));
        let tick = if out.is_open() || err.is_open() {
            MAX_TICK
        } else {
            idle
        };
        let read = pump_both(&mut out, &mut err, &mut scratch, tick.min(until - now));
        idle = if read {
            MIN_TICK
        } else {
            (idle * 2).min(MAX_TICK)
        };
    };

    // Whatever ended the run, nothing of its group outlives it: on exit this
    // kills what the program left running in the background.
    running.kill_group();
    let grace_end = Instant::now() + DRAIN_GRACE;
    while out.is_open() || err.is_open() {
        let now = Instant::now();
        if now >= grace_end {
            // A process that left the group holds the pipes; stop reading.
            break;
        }
        pump_both(
            &mut out,
            &mut err,
            &mut scratch,
            (grace_end - now).min(MAX_TICK),
        );
    }
    let status = running.reap().map_err(|e| {
        ToolError::new(
            ErrorKind::Failed,
            format!("waiting for the program failed: {e}"),
        )
    })?;
    Ok(Finished {
        end,
        status,
        stdout: out,
        stderr: err,
    })
}

fn proxy_failed(err: &io::Error) -> ToolError {
    ToolError::new(
        ErrorKind::Failed,
        format!("the program's network proxy could not be set up, so it was stopped: {err}"),
    )
}

fn not_started(plan: &Plan, err: &io::Error) -> ToolError {
    let program = plan.program.display();
    let why = match err.kind() {
        io::ErrorKind::NotFound => "it does not exist".to_owned(),
        io::ErrorKind::PermissionDenied => {
            "it is not executable, or the sandbox does not let it be run".to_owned()
        }
        _ => err.to_string(),
    };
    ToolError::new(
        ErrorKind::Failed,
        format!("{program} could not be started: {why}"),
    )
}

/// The call was cancelled, or its deadline passed (the executor cancels at
/// its deadline): the group is killed by `Running`'s drop.
fn stopped(plan: &Plan, ctx: &ToolContext) -> ToolError {
    if ctx
        .deadline()
        .is_some_and(|deadline| Instant::now() >= deadline)
    {
        call_timed_out(plan)
    } else {
        ToolError::new(
            ErrorKind::Cancelled,
            format!(
                "the call was cancelled; {} and its process group were killed",
                plan.program.display()
            ),
        )
    }
}

fn call_timed_out(plan: &Plan) -> ToolError {
    ToolError::new(
        ErrorKind::Timeout,
        format!(
            "{} did not finish within the call's timeout; it and its process group were killed (pass a shorter `timeout_ms` to get its output so far)",
            plan.program.display()
        ),
    )
}

/// The conventional name of signal `signal`, when it has one.
pub(super) fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_keeps_up_to_its_cap_and_counts_everything() {
        let mut capture = Capture::new(None, 4).unwrap();
        capture.absorb(b"abc");
        capture.absorb(b"defgh");
        assert_eq!(capture.seen, 8);
        assert_eq!(capture.text(), "abcd");
        assert!(capture.truncated());
    }

    #[test]
    fn a_character_cut_by_the_cap_is_dropped_not_mangled() {
        let mut capture = Capture::new(None, 4).unwrap();
        capture.absorb("abcé".as_bytes());
        assert_eq!(capture.text(), "abc");
        let mut whole = Capture::new(None, 5).unwrap();
        whole.absorb("abcé".as_bytes());
        assert_eq!(whole.text(), "abcé");
        assert!(!whole.truncated());
    }

    #[test]
    fn signals_have_names() {
        assert_eq!(signal_name(libc::SIGKILL), Some("SIGKILL"));
        assert_eq!(signal_name(libc::SIGXCPU), Some("SIGXCPU"));
        assert_eq!(signal_name(0), None);
    }
}
