//! `cmd_run`: runs one granted program, without a shell, confined.
//!
//! In the order a call meets them:
//!
//! 1. Generated guards, before the tool runs, each refusal a recorded denial:
//!    `program` must be an absolute path the policy grants (`[[programs]]`;
//!    no `PATH` lookup), `cwd` must lie in a read root, and every `env` name
//!    must be granted (`[env] allow`) and not one that loads code
//!    ([`loads_code`](env::loads_code): `LD_*`, `PYTHON*`, `BASH_ENV`, ...), whatever the policy says.
//! 2. The program's denied flags (`deny_flags`), in every spelling a program
//!    might read them (see [`first_denied`](rustchain_tools::policy::flags::first_denied)),
//!    and its allowed argument forms (`allow_args`, see
//!    [`AllowArgs`](rustchain_tools::policy::allow_args::AllowArgs)): the
//!    guard judges both, and the tool judges them again before it starts anything.
//! 3. The child: arguments passed as a list (no shell ever sees them), the
//!    environment cleared and refilled with granted variables only, stdin
//!    empty, its own process group, resource limits (CPU time, address
//!    space, file size, processes, no core files), no new privileges, and on
//!    Linux the kernel sandbox of [`sandbox`]: it executes only the program
//!    and its helpers, reads read roots, writes write roots, sees denied paths
//!    masked, has no network without granted hosts and reaches granted hosts
//!    only through the executor's [`proxy`] (its network namespace's only way
//!    out), and lives in its own PID namespace; where that cannot be enforced
//!    it is not run.
//! 4. The run: stdout and stderr drained together, each kept up to a cap and
//!    counted past it; the whole process group killed and the program reaped
//!    when it exits (nothing it started in the background lives on), when
//!    `timeout_ms` passes, when it floods its output, or when the call is
//!    cancelled or times out.

#![cfg(unix)]

mod child;
mod env;
mod proxy;
mod sandbox;
mod workdir;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustchain_macros::tool;
use rustchain_tools::policy::path::lexical_absolute;
use rustchain_tools::policy::{Grants, ProgramGrant};
use rustchain_tools::{ErrorKind, ToolContext, ToolError};

use env::EnvVars;
use rustchain_tools::policy::sandbox::Mechanisms;
pub use sandbox::LandlockStatus;
use sandbox::Sandbox;
use workdir::WorkDir;

/// What each of stdout and stderr keeps unless the call asks otherwise.
pub const DEFAULT_OUTPUT_BYTES: u64 = 64 << 10;
/// The most a call may ask each of stdout and stderr to keep.
pub const MAX_OUTPUT_BYTES: u64 = 1 << 20;
/// How long a program may run when the call has no deadline of its own.
pub const DEFAULT_TIME_BOUND: Duration = Duration::from_secs(60);
/// How long past the call's deadline the tool stops the program itself,
/// should the executor's cancellation not have reached it.
const BACKSTOP: Duration = Duration::from_secs(1);

/// How a program's run ended, with what it wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct CmdOutput {
    /// The exit code, when the program exited by itself (0 usually means success).
    pub exit_code: Option<i32>,
    /// The number of the signal that ended the program, if one did (9 when it was killed).
    pub signal: Option<i32>,
    /// That signal's name (`SIGKILL`, `SIGSEGV`, ...).
    pub signal_name: Option<String>,
    /// What the program wrote to stdout, up to the cap (invalid UTF-8 replaced).
    pub stdout: String,
    /// What the program wrote to stderr, up to the cap.
    pub stderr: String,
    /// Whether stdout was longer than the cap.
    pub stdout_truncated: bool,
    /// Whether stderr was longer than the cap.
    pub stderr_truncated: bool,
    /// Bytes the program wrote to stdout, kept or not.
    pub stdout_bytes_seen: u64,
    /// Bytes the program wrote to stderr, kept or not.
    pub stderr_bytes_seen: u64,
    /// Whether `timeout_ms` passed and the program was killed.
    pub timed_out: bool,
    /// Whether the program was killed for writing far past the cap (16 MiB more).
    pub output_flooded: bool,
    /// Whether Landlock confined the program's file access: `full`, `partial` or `not_supported`.
    pub landlock: LandlockStatus,
    /// Whether the program ran in its own mount, PID and network namespaces.
    pub isolated: bool,
}

/// Runs a program granted by the policy, directly (never through a shell), and returns its exit code, signal and output.
///
/// Arguments reach the program exactly as given: quotes, `;`, `|`, `$(...)`, backticks and globs mean nothing special. There is no PATH lookup: name the program by the absolute path the policy grants, and run shell syntax only by calling a granted shell yourself. The environment starts empty and holds only variables the policy grants. A non-zero exit code is a normal result. The program and everything it starts run in one process group that is killed when the program exits, when `timeout_ms` passes, or when the call ends; with `timeout_ms` you get the output so far (`timed_out: true`), while the call's own timeout is an error. Each output stream keeps at most `max_output_bytes` and reports how much was written.
#[tool(
    crate = "rustchain_tools",
    title = "Run a program",
    destructive,
    open_world,
    tags("cmd"),
    timeout = "60s"
)]
pub fn cmd_run(
    ctx: &ToolContext,
    /// Absolute path of the program, as the policy grants it (for example `/usr/bin/git`).
    #[run]
    program: String,
    /// Arguments, each passed to the program as one argument, unexpanded.
    #[run(args)]
    args: Option<Vec<String>>,
    /// Working directory, inside a folder the policy grants for reading (default: the current directory if it is in one, else the first such folder).
    #[fs(read)]
    cwd: Option<String>,
    /// Environment variables to set. Only names the policy grants; variables that load code (`LD_*`, `PYTHON*`, `BASH_ENV`, `GIT_*`, ...) are always refused.
    #[env]
    env: Option<EnvVars>,
    /// Kill the program after this many milliseconds and return its output so far (at most the call's own timeout).
    timeout_ms: Option<u64>,
    /// Bytes kept of each of stdout and stderr (default 65536, at most 1048576).
    max_output_bytes: Option<u64>,
) -> Result<CmdOutput, ToolError> {
    let args = args.unwrap_or_default();
    let plan = Plan::new(
        ctx,
        &program,
        args,
        cwd.as_deref(),
        env.as_ref(),
        timeout_ms,
        max_output_bytes,
    )?;
    plan.run(ctx)
}

/// One run, decided and prepared before anything starts.
#[derive(Debug)]
struct Plan {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, OsString)>,
    workdir: WorkDir,
    /// When `timeout_ms` passes: the program is stopped and its output returned.
    stop_at: Option<Instant>,
    /// When the tool stops the program itself if the call was not cancelled by then.
    backstop: Instant,
    /// Bytes kept per stream.
    cap: usize,
    sandbox: Sandbox,
    /// The hosts its entry grants, reached through the proxy.
    hosts: Vec<String>,
}

impl Plan {
    #[allow(
        clippy::too_many_arguments,
        reason = "the tool's parameters, checked one by one"
    )]
    fn new(
        ctx: &ToolContext,
        program: &str,
        args: Vec<String>,
        cwd: Option<&str>,
        env: Option<&EnvVars>,
        timeout_ms: Option<u64>,
        max_output_bytes: Option<u64>,
    ) -> Result<Plan, ToolError> {
        let grants = Grants::of(ctx);
        // The guard checked this normal form of the path; run the same one.
        let program = lexical_absolute(Path::new(program), Path::new("/"));
        let Some(grant) = grants.programs().iter().find(|p| p.path == program) else {
            return Err(ToolError::new(
                ErrorKind::Denied,
                format!("{} is not a granted program", program.display()),
            ));
        };
        judge_args(grant, &program, &args)?;
        let cap = match max_output_bytes {
            None => DEFAULT_OUTPUT_BYTES,
            Some(bytes) if bytes <= MAX_OUTPUT_BYTES => bytes,
            Some(bytes) => {
                return Err(ToolError::invalid_argument(
                    "max_output_bytes",
                    format!(
                        "{bytes} is over the most a call may keep, {MAX_OUTPUT_BYTES} bytes per stream"
                    ),
                ));
            }
        };
        let now = Instant::now();
        let call_end = ctx.deadline().unwrap_or(now + DEFAULT_TIME_BOUND);
        let own = match timeout_ms {
            Some(0) => {
                return Err(ToolError::invalid_argument(
                    "timeout_ms",
                    "a timeout must be at least 1 millisecond",
                ));
            }
            // A bound past the call's deadline is the deadline: the call ends first.
            Some(ms) => Some(now + Duration::from_millis(ms)).filter(|stop| *stop < call_end),
            None => None,
        };
        let time_bound = own.unwrap_or(call_end).saturating_duration_since(now);
        let workdir = WorkDir::choose(cwd, grants)?;
        let sandbox = Sandbox::prepare(grants, grant, time_bound, Mechanisms::detect())?;
        let mut env = env::child_env(grants, env);
        if sandbox.proxied() {
            env.extend(env::proxy_env(sandbox::network::PROXY_PORT));
        }
        Ok(Plan {
            program,
            args,
            env,
            hosts: grant.hosts.clone(),
            workdir,
            stop_at: own,
            backstop: call_end + BACKSTOP,
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
            sandbox,
        })
    }

    fn run(&self, ctx: &ToolContext) -> Result<CmdOutput, ToolError> {
        let finished = child::run(self, ctx)?;
        let signal = std::os::unix::process::ExitStatusExt::signal(&finished.status);
        Ok(CmdOutput {
            exit_code: finished.status.code(),
            signal,
            signal_name: signal.and_then(child::signal_name).map(str::to_owned),
            stdout: finished.stdout.text(),
            stderr: finished.stderr.text(),
            stdout_truncated: finished.stdout.truncated(),
            stderr_truncated: finished.stderr.truncated(),
            stdout_bytes_seen: finished.stdout.seen,
            stderr_bytes_seen: finished.stderr.seen,
            timed_out: finished.end == child::End::TimedOut,
            output_flooded: finished.end == child::End::Flooded,
            landlock: self.sandbox.landlock_status(),
            isolated: self.sandbox.isolated(),
        })
    }
}

/// The arguments judged again as the guard judged them (NUL bytes, denied
/// flags, the allowed forms, code-loading assignments), so that a body
/// reached without the guard still runs nothing the policy refuses.
fn judge_args(grant: &ProgramGrant, program: &Path, args: &[String]) -> Result<(), ToolError> {
    if let Some(index) = args.iter().position(|arg| arg.contains('\0')) {
        return Err(ToolError::invalid_argument(
            format!("args[{index}]"),
            "an argument holds a NUL byte, which no program can receive",
        ));
    }
    if let Some((index, flag)) =
        rustchain_tools::policy::flags::first_denied(args, &grant.deny_flags)
    {
        return Err(ToolError::new(
            ErrorKind::Denied,
            format!(
                "argument {index} ({:?}) is, or may be read as, the flag `{flag}`, which the policy denies for {}; nothing was run",
                args[index],
                program.display()
            ),
        ));
    }
    if let Some(allowed) = &grant.allow_args
        && let Err(mismatch) = allowed.check(args)
    {
        return Err(ToolError::new(
            ErrorKind::Denied,
            format!(
                "{} for {} (allow_args, {}); nothing was run",
                allowed.explain(args, mismatch),
                program.display(),
                allowed.place
            ),
        ));
    }
    if let Some((index, name)) = env::first_code_loading_assignment(args) {
        return Err(ToolError::new(
            ErrorKind::Denied,
            format!(
                "argument {index} ({:?}) sets `{name}`, which loads code and is never passed to a program by any route; nothing was run",
                args[index]
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_tools::policy::Confinement;
    use rustchain_tools::policy::allow_args::{AllowArgs, ArgPattern};

    /// A plan that bypasses the policy, for what only this module can reach:
    /// a run without Landlock, as on a kernel that lacks it.
    fn plan(program: &str, args: &[&str], sandbox: Sandbox) -> Plan {
        let now = Instant::now();
        Plan {
            program: PathBuf::from(program),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: Vec::new(),
            workdir: WorkDir::root(),
            stop_at: Some(now + Duration::from_secs(10)),
            backstop: now + Duration::from_secs(20),
            cap: 1024,
            sandbox,
            hosts: Vec::new(),
        }
    }

    /// A file in a fresh folder no policy grants.
    fn outside_file() -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"outside").unwrap();
        file
    }

    #[test]
    fn without_landlock_the_run_says_not_supported_and_is_not_confined() {
        let file = outside_file();
        let sandbox = Sandbox::unconfined(Duration::from_secs(10));
        let out = plan("/bin/cat", &[file.path().to_str().unwrap()], sandbox)
            .run(&ToolContext::new())
            .unwrap();
        assert_eq!(out.landlock, LandlockStatus::NotSupported);
        assert_eq!(out.exit_code, Some(0), "{out:?}");
        assert_eq!(out.stdout, "outside");
    }

    fn grant(program: &str, confinement: Confinement) -> ProgramGrant {
        ProgramGrant {
            path: PathBuf::from(program),
            allow_args: None,
            deny_flags: Vec::new(),
            helpers: Vec::new(),
            hosts: Vec::new(),
            confinement,
        }
    }

    #[test]
    fn the_tool_judges_the_allowed_forms_and_denied_flags_again() {
        let mut git = grant("/usr/bin/git", Confinement::Full);
        git.deny_flags = vec!["-c".to_owned()];
        git.allow_args = Some(AllowArgs {
            forms: ["status", "log **"]
                .iter()
                .map(|form| ArgPattern::parse(form).expect("a valid form"))
                .collect(),
            place: "p.toml:4".to_owned(),
        });
        let judge = |git: &ProgramGrant, args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            judge_args(git, Path::new("/usr/bin/git"), &args)
        };
        let judged = |args: &[&str]| judge(&git, args);
        assert!(judged(&["status"]).is_ok());
        assert!(judged(&["log", "--oneline"]).is_ok());
        for args in [&["push"][..], &[], &["status", "-s"], &["Status"]] {
            let err = judged(args).expect_err("outside every form");
            assert_eq!(err.kind(), ErrorKind::Denied, "{args:?}: {err}");
            assert!(err.message().contains("allow_args, p.toml:4"), "{err}");
        }
        let err = judged(&["log", "-c", "x"]).expect_err("a denied flag");
        assert!(err.message().contains("the flag `-c`"), "{err}");
        // Without `allow_args`, any arguments but a denied flag.
        git.allow_args = None;
        assert!(judge(&git, &["push", "--force"]).is_ok());
    }

    const ALL: Mechanisms = Mechanisms {
        landlock_abi: 6,
        namespaces: true,
    };

    #[cfg(target_os = "linux")]
    #[test]
    fn with_landlock_a_file_outside_every_root_cannot_be_read() {
        let file = outside_file();
        let grants = Grants::default();
        let program = grant("/bin/cat", Confinement::Full);
        let sandbox = match Sandbox::prepare(
            &grants,
            &program,
            Duration::from_secs(10),
            Mechanisms::detect(),
        ) {
            Ok(sandbox) => sandbox,
            Err(err) => {
                eprintln!("this machine cannot confine a program, and says so: {err}");
                assert_eq!(err.kind(), ErrorKind::Denied);
                return;
            }
        };
        let out = plan("/bin/cat", &[file.path().to_str().unwrap()], sandbox)
            .run(&ToolContext::new())
            .unwrap();
        assert_ne!(out.landlock, LandlockStatus::NotSupported);
        assert_ne!(out.exit_code, Some(0), "{out:?}");
        assert!(out.stderr.contains("Permission denied"), "{out:?}");
        assert!(out.stdout.is_empty());
    }

    #[test]
    fn a_program_that_cannot_be_confined_is_refused_unless_it_accepts_weaker() {
        let grants = Grants::default();
        let time = Duration::from_secs(10);
        for missing in [
            Mechanisms {
                landlock_abi: 0,
                ..ALL
            },
            Mechanisms {
                namespaces: false,
                ..ALL
            },
        ] {
            let strict = grant("/bin/echo", Confinement::Full);
            let err = Sandbox::prepare(&grants, &strict, time, missing).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
            assert!(err.message().contains("was not run"), "{err}");
            assert!(err.message().contains("confinement = \"weaker\""), "{err}");
            let weaker = grant("/bin/echo", Confinement::Weaker);
            let sandbox = Sandbox::prepare(&grants, &weaker, time, missing)
                .expect("weaker confinement is accepted");
            if !missing.landlock() {
                assert_eq!(sandbox.landlock_status(), LandlockStatus::NotSupported);
            }
            if !missing.namespaces {
                assert!(!sandbox.isolated());
            }
        }
    }

    #[test]
    fn a_cancelled_call_kills_the_program_and_is_an_error() {
        let ctx = ToolContext::new();
        ctx.cancellation().cancel();
        let sandbox = Sandbox::unconfined(Duration::from_secs(10));
        let err = plan("/bin/sleep", &["30"], sandbox).run(&ctx).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    }
}
