//! Handing a command line to the project agent.
//!
//! The stock `rustchain`, run anywhere inside a project with an agent, runs
//! the agent instead, with the same arguments, so every command sees the
//! registered tools. The agent runs with [`AGENT_MARKER`] set and never
//! hands over again. An agent older than its sources is rebuilt first, or,
//! offline, refused with the command that rebuilds it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::build::{self, BuildOptions};
use super::trust::{self, Trust};
use super::{AGENT_MARKER, AgentError, AgentErrorKind, Project};

/// What the environment says about handing over.
pub(in crate::cli) struct Context<'a> {
    /// The working directory, where the project is looked for.
    pub(in crate::cli) cwd: &'a Path,
    /// Whether this program is the agent already.
    pub(in crate::cli) is_agent: bool,
    /// `--offline` or `$RUSTCHAIN_OFFLINE`: never build.
    pub(in crate::cli) offline: bool,
    /// The command manages the agent itself (`tools register`, ...).
    pub(in crate::cli) manages_agent: bool,
    /// The program's name as invoked, for the command to suggest.
    pub(in crate::cli) program: &'a str,
}

/// The agent to hand the command line to, built first when it is older
/// than its sources; `None` to run the command here.
pub(in crate::cli) fn agent_for(context: &Context<'_>) -> Result<Option<PathBuf>, AgentError> {
    if context.is_agent || context.manages_agent {
        return Ok(None);
    }
    let Some(project) = Project::find(context.cwd) else {
        return Ok(None);
    };
    let registered = project.registered()?;
    if registered.crates.is_empty() {
        return Ok(None);
    }
    let (agent_dir, binary) = (project.agent_dir(), project.binary());
    let stale = match trust::trust(trust::store().as_deref(), &agent_dir, &binary) {
        Trust::Unknown => {
            // A cloned project's list, or a program that came with it:
            // neither is built nor run without the user asking.
            eprintln!(
                "note: this project registers tools ({}), but you have not built its agent; \
                 `{} tools register --rebuild` builds it, compiling the registered code, \
                 and until then only the built-in tools are here",
                project
                    .relative(&agent_dir)
                    .join("registered.toml")
                    .display(),
                context.program
            );
            return Ok(None);
        }
        Trust::Replaced => {
            eprintln!(
                "note: {} is not the program you built there",
                project.relative(&binary).display()
            );
            registered
                .crates
                .iter()
                .map(|entry| entry.source.clone())
                .collect()
        }
        Trust::Built => build::stale_sources(&project, &registered),
    };
    if !stale.is_empty() {
        let changed = describe(&stale);
        if context.offline {
            return Err(AgentError::new(
                AgentErrorKind::Stale,
                format!(
                    "the project agent in {} is older than {changed}, and --offline (or $RUSTCHAIN_OFFLINE) says not to build it; \
                     rebuild it with `{} tools register --rebuild`, then run this again",
                    project.agent_dir().display(),
                    context.program
                ),
            ));
        }
        let _lock = project.lock()?;
        // Another run may have rebuilt it while this one waited for the lock.
        let registered = project.registered()?;
        if build::stale_sources(&project, &registered).is_empty()
            && trust::trust(trust::store().as_deref(), &agent_dir, &binary) == Trust::Built
        {
            return Ok(Some(project.binary()));
        }
        eprintln!(
            "note: {changed} changed since the project agent was built; rebuilding it ({})",
            project.agent_dir().display()
        );
        let options = BuildOptions {
            offline: false,
            live_stderr: true,
        };
        build::build(&project, &registered, &options).map_err(|failed| failed.error)?;
    }
    Ok(Some(project.binary()))
}

fn describe(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    names.join(", ")
}

/// Runs `agent` with `args` (argv, the program's name first) in this
/// process's place: on unix the agent replaces this process, so its exit
/// status, stdin and stdout are the caller's; elsewhere it is waited for.
/// Returns only when the agent could not be started.
pub(in crate::cli) fn hand_over(
    agent: &Path,
    args: &[OsString],
) -> Result<std::process::ExitCode, AgentError> {
    let mut command = std::process::Command::new(agent);
    command.args(args.iter().skip(1)).env(AGENT_MARKER, "1");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if let Some(name) = args.first() {
            // The agent's hints then name the command the user typed.
            command.arg0(name);
        }
        let err = command.exec();
        Err(AgentError::io("run the project agent", agent, &err))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .map_err(|err| AgentError::io("run the project agent", agent, &err))?;
        let code = status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .unwrap_or(1);
        Ok(std::process::ExitCode::from(code))
    }
}
