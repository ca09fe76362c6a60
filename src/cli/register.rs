//! `rustchain tools register|unregister|new`: the project agent's tool
//! crates, from the command line. The agent itself (its files, its build,
//! handing commands to it) is `agent`'s; this only reads flags and prints.

use std::path::{Path, PathBuf};

use clap::Args;

use super::agent::build::{self, BuildOptions, Built, Failed};
use super::agent::{AgentError, AgentErrorKind, Project, Registered, scaffold, source};
use super::{Exit, Session, view};

pub(super) const REGISTER_AFTER_HELP: &str = "\
Examples:
  rustchain tools register my_tool.rs         a file of #[tool] functions
  rustchain tools register my_tool.rs --dep regex@1
  rustchain tools register ./weather-tools    a tool crate's folder
  rustchain tools register --list             what is registered, and its tools
  rustchain tools register --rebuild          build the agent again from the list

Tools are linked at compile time, so registering builds them in: the project
gets an agent of its own, a Cargo workspace in .rustchain/agent/ linking the
built-in tools and every registered crate, built with cargo (its progress on
stderr). From then on `rustchain`, run anywhere inside the project, hands its
command line to that agent, so every command sees the registered tools; a
source changed since the last build is rebuilt first (under --offline or
RUSTCHAIN_OFFLINE=1 it is refused instead).

A file becomes a crate of its own that depends on `rustchain`; it declares
other dependencies in a cargo frontmatter block at its top, as `cargo
-Zscript` reads it, or with --dep:

  ---cargo
  [dependencies]
  regex = \"1\"
  ---

Registering a name again replaces it. A source that does not compile leaves
the previous agent in place, and exits with status 8 after cargo's errors.";

pub(super) const UNREGISTER_AFTER_HELP: &str = "\
Examples:
  rustchain tools unregister my_tool          remove it and rebuild the agent

An unknown NAME exits with status 2 and lists what is registered.";

pub(super) const NEW_AFTER_HELP: &str = "\
Examples:
  rustchain tools new weather-tools           ./weather-tools/: Cargo.toml, src/lib.rs
  rustchain tools new weather-tools --dir crates
  cd weather-tools && cargo test              its tool has a unit test
  rustchain tools register weather-tools      link it into this project's agent";

/// `tools register`.
#[derive(Debug, Args)]
pub(super) struct RegisterArgs {
    /// A `.rs` file of `#[tool]` functions, or a tool crate's folder.
    #[arg(required_unless_present_any = ["list", "rebuild"], conflicts_with_all = ["list", "rebuild"])]
    path: Option<PathBuf>,
    /// A dependency of the file, NAME@VERSION (repeatable); beside its frontmatter.
    #[arg(long = "dep", value_name = "NAME@VERSION")]
    deps: Vec<String>,
    /// List what is registered: name, source, the tools each provides.
    #[arg(long, conflicts_with_all = ["deps", "rebuild"])]
    list: bool,
    /// Build the agent again from what is registered.
    #[arg(long, conflicts_with = "deps")]
    rebuild: bool,
}

/// `tools unregister`.
#[derive(Debug, Args)]
pub(super) struct UnregisterArgs {
    /// The registered crate's name, as `tools register --list` shows it.
    name: String,
}

/// `tools new`.
#[derive(Debug, Args)]
pub(super) struct NewArgs {
    /// The new crate's name; its folder is named after it.
    name: String,
    /// The folder to make it in [default: the working directory].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub(super) fn register(session: &mut Session<'_>, args: &RegisterArgs) -> Exit {
    let project = match here() {
        Ok(dir) if args.list || args.rebuild => match Project::find(&dir) {
            Some(project) => project,
            None => return nothing_registered(session, &dir),
        },
        Ok(dir) => Project::find_or_new(&dir),
        Err(err) => return fail(session, &err),
    };
    // Listing only reads a list that is written whole; a change holds the lock.
    let _lock = if args.list {
        None
    } else {
        match project.lock() {
            Ok(lock) => Some(lock),
            Err(err) => return fail(session, &err),
        }
    };
    let registered = match project.registered() {
        Ok(registered) => registered,
        Err(err) => return fail(session, &err),
    };
    if args.list {
        return list(session, &project, &registered);
    }
    let Some(path) = &args.path else {
        return rebuild(session, &project, &registered);
    };
    let entry = match source::resolve(path, &args.deps, |path| project.relative(path)) {
        Ok(entry) => entry,
        Err(err) => return fail(session, &err),
    };
    let (name, replaced) = (entry.name.clone(), registered.get(&entry.name).is_some());
    let wanted = registered.with(entry);
    match run_build(session, &project, &wanted) {
        Ok(built) => {
            let entry = built.registered.get(&name).cloned();
            let tools = entry.map(|entry| entry.tools).unwrap_or_default();
            let verb = if replaced { "replaced" } else { "registered" };
            session.out = format!(
                "{verb} {name} ({}): {}\n{}",
                path.display(),
                tool_count(&tools),
                agent_line(session, &project, &built.registered)
            );
            Exit::Success
        }
        Err(exit) => exit,
    }
}

pub(super) fn unregister(session: &mut Session<'_>, args: &UnregisterArgs) -> Exit {
    let dir = match here() {
        Ok(dir) => dir,
        Err(err) => return fail(session, &err),
    };
    let Some(project) = Project::find(&dir) else {
        return unknown(session, &args.name, &Registered::default());
    };
    let _lock = match project.lock() {
        Ok(lock) => lock,
        Err(err) => return fail(session, &err),
    };
    let registered = match project.registered() {
        Ok(registered) => registered,
        Err(err) => return fail(session, &err),
    };
    if registered.get(&args.name).is_none() {
        return unknown(session, &args.name, &registered);
    }
    let wanted = registered.without(&args.name);
    if wanted.crates.is_empty() {
        // Nothing left to link: no agent, so `rustchain` serves the built-ins itself.
        let removed = std::fs::remove_file(project.binary())
            .or_else(|err| match err.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(err),
            })
            .map_err(|err| AgentError::io("remove", &project.binary(), &err))
            .and_then(|()| project.save(&wanted));
        if let Err(err) = removed {
            return fail(session, &err);
        }
        session.out = format!(
            "unregistered {}: nothing is registered now, and `{}` serves the built-in tools itself\n",
            args.name, session.program
        );
        return Exit::Success;
    }
    match run_build(session, &project, &wanted) {
        Ok(built) => {
            session.out = format!(
                "unregistered {}\n{}",
                args.name,
                agent_line(session, &project, &built.registered)
            );
            Exit::Success
        }
        Err(exit) => exit,
    }
}

pub(super) fn new(session: &mut Session<'_>, args: &NewArgs) -> Exit {
    let parent = match &args.dir {
        Some(dir) => dir.clone(),
        None => match here() {
            Ok(dir) => dir,
            Err(err) => return fail(session, &err),
        },
    };
    match scaffold::new_crate(&args.name, &parent) {
        Ok(_) => {
            let shown = args
                .dir
                .as_ref()
                .map_or_else(|| PathBuf::from(&args.name), |dir| dir.join(&args.name));
            session.out = format!(
                "created the tool crate {name} in {folder}: one tool, `{tool}`, and its test\n\
                 next: `cargo test` in {folder}, then `{program} tools register {folder}`\n",
                name = args.name,
                folder = shown.display(),
                tool = args.name.replace('-', "_"),
                program = session.program,
            );
            Exit::Success
        }
        Err(err) => fail(session, &err),
    }
}

fn rebuild(session: &mut Session<'_>, project: &Project, registered: &Registered) -> Exit {
    match run_build(session, project, registered) {
        Ok(built) => {
            session.out = format!(
                "rebuilt {}",
                agent_line(session, project, &built.registered)
            );
            Exit::Success
        }
        Err(exit) => exit,
    }
}

/// Builds the agent for `wanted`, cargo's output going to stderr.
fn run_build(
    session: &mut Session<'_>,
    project: &Project,
    wanted: &Registered,
) -> Result<Built, Exit> {
    let options = BuildOptions {
        offline: session.offline,
        live_stderr: session.input.own_streams,
    };
    match build::build(project, wanted, &options) {
        Ok(built) => {
            session.err.push_str(&built.cargo_output);
            Ok(built)
        }
        Err(Failed {
            error,
            cargo_output,
        }) => {
            session.err.push_str(&cargo_output);
            Err(fail(session, &error))
        }
    }
}

fn list(session: &mut Session<'_>, project: &Project, registered: &Registered) -> Exit {
    if session.json {
        let crates: Vec<serde_json::Value> = registered
            .crates
            .iter()
            .map(|entry| {
                serde_json::json!({
                    "name": entry.name,
                    "source": entry.source,
                    "kind": entry.kind,
                    "tools": entry.tools,
                })
            })
            .collect();
        let document = serde_json::json!({
            "agent": project.agent_dir(),
            "crates": crates,
        });
        session.out = view::pretty(&document);
        return Exit::Success;
    }
    if registered.crates.is_empty() {
        return nothing_registered(session, project.root());
    }
    let rows: Vec<[String; 3]> = registered
        .crates
        .iter()
        .map(|entry| {
            [
                entry.name.clone(),
                entry.source.display().to_string(),
                entry.tools.join(", "),
            ]
        })
        .collect();
    session.out = columns(["NAME", "SOURCE", "TOOLS"], &rows);
    Exit::Success
}

/// Rows under a header, each column as wide as its widest cell.
fn columns(header: [&str; 3], rows: &[[String; 3]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 3]| {
        let text = format!(
            "{:w0$}  {:w1$}  {}",
            cells[0],
            cells[1],
            cells[2],
            w0 = widths[0],
            w1 = widths[1]
        );
        format!("{}\n", text.trim_end())
    };
    let mut out = line(header);
    for row in rows {
        out.push_str(&line([&row[0], &row[1], &row[2]]));
    }
    out
}

fn nothing_registered(session: &mut Session<'_>, dir: &Path) -> Exit {
    if session.json {
        session.out = view::pretty(&serde_json::json!({"agent": null, "crates": []}));
    } else {
        session.err = format!(
            "nothing is registered in {}; `{} tools register my_tool.rs` registers a file of #[tool] functions\n",
            dir.display(),
            session.program
        );
    }
    Exit::Success
}

fn unknown(session: &mut Session<'_>, name: &str, registered: &Registered) -> Exit {
    let names = registered.names();
    let known = if names.is_empty() {
        "nothing is registered in this project".to_owned()
    } else {
        format!("registered: {}", names.join(", "))
    };
    let err = AgentError::new(
        AgentErrorKind::UnknownName,
        format!("no registered crate named `{name}` ({known})"),
    );
    fail(session, &err)
}

/// "1 tool, my_tool" / "2 tools, a, b" / "no tools (...)".
fn tool_count(tools: &[String]) -> String {
    match tools.len() {
        0 => "no tools (no #[tool] function is public in it?)".to_owned(),
        1 => format!("1 tool, {}", tools[0]),
        n => format!("{n} tools, {}", tools.join(", ")),
    }
}

/// The line saying what the agent now is.
fn agent_line(session: &Session<'_>, project: &Project, registered: &Registered) -> String {
    let crates = registered.crates.len();
    let plural = if crates == 1 { "" } else { "s" };
    format!(
        "the project agent ({}) links the built-in tools and {crates} registered crate{plural}; `{}` anywhere in this project runs it\n",
        project.relative(&project.agent_dir()).display(),
        session.program,
    )
}

fn here() -> Result<PathBuf, AgentError> {
    std::env::current_dir().map_err(|err| {
        AgentError::new(
            AgentErrorKind::Io,
            format!("the working directory cannot be read: {err}"),
        )
    })
}

/// Writes `err` out; its exit status.
fn fail(session: &mut Session<'_>, err: &AgentError) -> Exit {
    session.err.push_str(&format!("error: {err}\n"));
    exit_for(err.kind)
}

/// The exit status of each kind of failure.
pub(super) fn exit_for(kind: AgentErrorKind) -> Exit {
    match kind {
        AgentErrorKind::MissingSource
        | AgentErrorKind::InvalidSource
        | AgentErrorKind::UnknownName => Exit::Usage,
        AgentErrorKind::BuildFailed | AgentErrorKind::Stale | AgentErrorKind::Io => Exit::Agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_lines_have_no_trailing_space() {
        let rows = [
            ["a".to_owned(), "long/source.rs".to_owned(), String::new()],
            ["longer".to_owned(), "s".to_owned(), "t1, t2".to_owned()],
        ];
        let text = columns(["NAME", "SOURCE", "TOOLS"], &rows);
        assert_eq!(
            text,
            "NAME    SOURCE          TOOLS\na       long/source.rs\nlonger  s               t1, t2\n"
        );
    }

    #[test]
    fn a_count_of_tools_reads_as_a_sentence() {
        assert_eq!(tool_count(&["a".into()]), "1 tool, a");
        assert_eq!(tool_count(&["a".into(), "b".into()]), "2 tools, a, b");
        assert!(tool_count(&[]).starts_with("no tools"));
    }
}
