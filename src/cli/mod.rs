//! The `rustchain` command line, as a library function any binary can call.
//!
//! [`run`] is the whole CLI for the tools linked into the calling program: the
//! stock `rustchain` binary gets it for the built-in tools, and a user's own
//! binary gets it for its own tool crates:
//!
//! ```no_run
//! // use my_tools as _;   // link the tool crates to serve
//! fn main() -> std::process::ExitCode {
//!     rustchain::cli::run()
//! }
//! ```
//!
//! [`run_from`] is the same CLI over arguments and streams the caller supplies,
//! for tests and for programs that embed it.
//!
//! Results go to stdout and nothing else does; messages go to stderr. Text for
//! people is the default, `--json` gives the same information for programs.
//!
//! The modules follow the commands: `tools` (list, show, schema, call,
//! search), `lock` (`tools lock`), `scan` (`tools security-scan`), `tools/publish` (`tools publish`), `market` (keygen, yank, diff), `policy` (check, explain), `audit` (verify, report, keygen);
//! `executor` sets up what calls run under from the global options (policy
//! file, audit trail, approver), `input` reads a call's arguments, `view`
//! lays out what is printed.

mod agent;
mod audit;
mod deferred;
mod executor;
mod input;
mod lock;
mod market;
#[cfg(feature = "mcp")]
mod mcp;
mod mission;
mod out_file;
mod policy;
mod register;
mod scan;
mod tools;
mod view;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use audit::AuditCommand;
use deferred::Deferred;
use executor::{Governance, GovernanceArgs};
use input::Input;
use policy::PolicyCommand;
use tools::ToolsCommand;

/// What the process's exit status means.
///
/// Each code means one thing, except that `audit verify` gives 1 and 2 the
/// meanings its callers expect of a verifier (tampered, warnings only) and
/// reports any failure to verify, its own usage errors included, as 5, so
/// a script reading its status never mistakes "warnings" for "bad usage".
///
/// | code | every command but `audit verify` | `audit verify` |
/// |------|----------------------------------|----------------|
/// | 0 | success (also `--help`, `--version`, a search that found nothing, any verdict of `policy explain`) | the trail is intact |
/// | 1 | `tools call` ran and the call ended in an error, whatever its kind (`denied`, `not_found`, `invalid_arguments`, `failed`, `timeout`, ...) | the trail was tampered with |
/// | 2 | bad usage or bad input to the CLI itself: an unknown command or flag, an unknown tool in `show`, `schema` or `explain`, unreadable stdin, a policy that does not load or whose examples fail, an audit trail or key file that cannot be read or written | warnings only (a torn last line, a missing or stale checkpoint file) |
/// | 3 | the program cannot serve its tools: two linked tools share a name | the same |
/// | 4 | the output could not be written (a closed pipe is not an error) | the same |
/// | 5 | (not used) | the trail could not be verified: bad usage, a missing or unreadable trail, an unreadable key |
/// | 6 | `tools lock --check`: a linked tool's definition differs from the lock file | (not used) |
/// | 7 | `tools security-scan`: a finding at or above `--fail-on` | (not used) |
/// | 8 | the project agent could not be built (a registered source does not compile), or is older than its sources under `--offline` | the same |
/// | 9 | `tools publish`: a blocking item on the checklist, or the index refused the version (already there, lower, breaking without a major version, not the owner, a file that does not verify); `market yank` refused likewise | (not used) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// The command did what was asked; `audit verify`: the trail is intact.
    Success,
    /// `tools call` ran and the call ended in an error of any kind.
    ToolError,
    /// The command line, or the input given to the CLI, is wrong.
    Usage,
    /// Two linked tools share a name, so no tool can be served.
    DuplicateTool,
    /// Writing the results to stdout failed.
    Output,
    /// `audit verify`: the trail is not what was written.
    Tampered,
    /// `audit verify`: only warnings, nothing shows tampering.
    Warnings,
    /// `audit verify` could not verify the trail (its usage errors included).
    Unverified,
    /// `tools lock --check`: a linked tool differs from the lock file.
    Changed,
    /// `tools security-scan`: a finding reached `--fail-on`.
    Findings,
    /// The project agent could not be built, or is stale under `--offline`.
    Agent,
    /// `tools publish` / `market ...`: blocked by the checklist, or refused by the index.
    Blocked,
}

impl Exit {
    /// The numeric exit status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::ToolError | Exit::Tampered => 1,
            Exit::Usage | Exit::Warnings => 2,
            Exit::DuplicateTool => 3,
            Exit::Output => 4,
            Exit::Unverified => 5,
            Exit::Changed => 6,
            Exit::Findings => 7,
            Exit::Agent => 8,
            Exit::Blocked => 9,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// Shown after the top-level `--help`.
const MAIN_AFTER_HELP: &str = "\
Examples:
  rustchain tools list                      the tools linked into this program
  rustchain tools show text_stats           everything about one tool
  rustchain tools call text_stats --args '{\"text\": \"one two\"}'
  echo '{\"text\": \"hi\"}' | rustchain tools call text_stats --json
  rustchain policy check                    does ./rustchain.toml load, and what does it grant?
  rustchain policy explain fs_read --args '{\"path\": \"/etc/passwd\"}'
  rustchain audit verify                    is the default audit trail what was written?
  rustchain audit report --since 1h         calls, denials, errors, latency per tool

Every `tools call` runs under the policy (--policy, $RUSTCHAIN_POLICY, or
./rustchain.toml; with no file there nothing is granted: only tools that
declare no permissions run) and is recorded in the audit trail (--audit,
$RUSTCHAIN_AUDIT, or .rustchain/audit.jsonl in the policy file's folder,
or with no policy file rustchain/audit.jsonl in the user's state directory;
created on first use, and where is said once on stderr).

Exit codes:
  0  success
  1  `tools call` ran and the call ended in an error (any kind: denied,
     not_found, invalid_arguments, failed, timeout, cancelled)
  2  bad usage or bad input to the CLI: unknown command or flag, unknown tool
     in `show`, `schema` or `explain`, unreadable stdin, a policy that does not
     load or whose examples fail, an audit trail or key that cannot be used
  3  two linked tools share a name, so none can be served
  4  the output could not be written
  6  `tools lock --check`: a tool's definition differs from rustchain.lock
  7  `tools security-scan`: a finding at or above --fail-on (default high)
  8  the project agent could not be built (a registered source does not
     compile), or is older than its sources under --offline
  9  `tools publish`: a blocking item on its checklist, or the index refused
     the version (`market yank` likewise)
`audit verify` has its own: 0 intact, 1 tampered, 2 warnings only, 5 could
not verify (its bad usage included); see `rustchain audit verify --help`.";

/// The RustChain command line: list, inspect, search and call the tools linked
/// into this program, under a policy, recorded in an audit trail.
#[derive(Debug, Parser)]
#[command(
    name = "rustchain",
    version,
    about = "List, inspect, search and call the tools linked into this program, under a policy, recorded in an audit trail.",
    after_help = MAIN_AFTER_HELP,
    arg_required_else_help = true
)]
struct Cli {
    /// Print JSON for programs instead of text for people.
    #[arg(long, global = true)]
    json: bool,

    /// Never build the project agent: refuse when it is older than its
    /// sources [env: RUSTCHAIN_OFFLINE=1], and build with `cargo --offline`.
    #[arg(long, global = true)]
    offline: bool,

    #[command(flatten)]
    governance: GovernanceArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, inspect, search and call the linked tools.
    #[command(subcommand, arg_required_else_help = true, after_help = tools::AFTER_HELP)]
    Tools(Deferred<ToolsCommand>),
    /// Check the policy file, and explain its decision for a call.
    #[command(subcommand, arg_required_else_help = true, after_help = policy::AFTER_HELP)]
    Policy(Deferred<PolicyCommand>),
    /// Verify the audit trail, report usage from it, make a signing key.
    #[command(subcommand, arg_required_else_help = true, after_help = audit::AFTER_HELP)]
    Audit(Deferred<AuditCommand>),
    /// Validate and run missions: multi-step tool plans in YAML.
    #[command(subcommand, arg_required_else_help = true, after_help = mission::AFTER_HELP)]
    Mission(Deferred<mission::MissionCommand>),
    /// The marketplace: signing keys, yanks, comparing versions (`tools publish` adds to it).
    #[command(subcommand, arg_required_else_help = true, after_help = market::AFTER_HELP)]
    Market(Deferred<market::MarketCommand>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETIONS_AFTER_HELP)]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Serve the linked tools to MCP clients.
    #[cfg(feature = "mcp")]
    #[command(subcommand, arg_required_else_help = true, after_help = mcp::AFTER_HELP)]
    Mcp(Deferred<mcp::McpCommand>),
}

/// Runs the CLI on this process's arguments and standard streams.
///
/// Every tool linked into the program is available: link a tool crate with
/// `use my_tools as _;`. Arguments for `tools call` come from `--args`, or from
/// stdin when it is `--args -` or when `--args` is absent and stdin is not a
/// terminal; with neither, the tool gets `{}`. Calls run under the policy
/// and are recorded in the audit trail the global options name (by default
/// `rustchain.toml` in the working directory, and the trail
/// `.rustchain/audit.jsonl` beside it, or in the user's state directory);
/// when stdin is a terminal, the policy's `ask` rules are put to the person
/// at it.
///
/// The exit status means one thing per code (see [`Exit`]):
/// 0 success; 1 a `tools call` ended in an error of any kind; 2 bad usage or
/// bad input to the CLI itself (unknown command or flag, unknown tool,
/// unreadable stdin, a policy or audit trail that cannot be used); 3 two
/// linked tools share a name; 4 the output could not be written. `audit
/// verify` alone has 0 intact, 1 tampered, 2 warnings only, 5 could not verify.
pub fn run() -> ExitCode {
    // The streams stay unlocked while a tool runs: a tool logging to stderr
    // from another thread must not wait on a lock this thread holds.
    let mut stdin = io::stdin();
    let is_terminal = stdin.is_terminal();
    let input = Input {
        reader: &mut stdin,
        is_terminal,
        own_streams: true,
    };
    run_with(
        std::env::args_os(),
        input,
        view::Terminal::detect(),
        &mut io::stdout(),
        &mut io::stderr(),
    )
}

/// Runs the CLI like [`run`], but inside a project with an agent of its own
/// (`rustchain tools register`) hands the command line to that agent.
///
/// The project is the nearest folder from the working directory upward that
/// holds `.rustchain/agent/`. The agent is the CLI over the built-in tools and
/// every registered crate; on unix it replaces this process, so its exit
/// status and streams are the caller's. An agent older than its sources is
/// rebuilt first (cargo's progress on stderr), or with `--offline` (or
/// `RUSTCHAIN_OFFLINE=1`) refused with status 8 and the command that rebuilds
/// it. `tools register`, `unregister` and `new` always run here, and so does
/// everything when no crate is registered. The stock `rustchain` binary
/// runs this; an agent runs [`run`], and never hands over again.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     rustchain::cli::run_in_project()
/// }
/// ```
pub fn run_in_project() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let Ok(cwd) = std::env::current_dir() else {
        return run();
    };
    let program = program_name(&args);
    let offline_flag = args
        .iter()
        .skip(1)
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--offline");
    let context = agent::delegate::Context {
        cwd: &cwd,
        is_agent: std::env::var_os(agent::AGENT_MARKER).is_some(),
        offline: offline_flag || agent::switched_on(std::env::var_os(agent::OFFLINE_VARIABLE)),
        manages_agent: manages_agent(&args),
        program: &program,
    };
    let handed = agent::delegate::agent_for(&context).and_then(|agent| {
        agent
            .map(|agent| agent::delegate::hand_over(&agent, &args))
            .transpose()
    });
    match handed {
        Ok(None) => run(),
        Ok(Some(code)) => code,
        Err(err) => {
            eprintln!("error: {err}");
            register::exit_for(err.kind).into()
        }
    }
}

/// Whether a command line asks for one of the commands that manage the
/// project agent, which run in whatever program was started.
fn manages_agent(args: &[OsString]) -> bool {
    let partial = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(args);
    match partial.as_ref().map(|matches| matches.subcommand()) {
        Ok(Some(("tools", tools))) => matches!(
            tools.subcommand_name(),
            Some("register" | "unregister" | "new")
        ),
        _ => false,
    }
}

/// Runs the CLI on `args` (starting with the program name, as `argv` does)
/// with the given streams; [`run`] is this over the real ones.
///
/// `stdin` is treated as piped input, never as a terminal: `tools call`
/// without `--args` reads its arguments from it (empty input means `{}`),
/// and nobody answers the policy's `ask` rules, so they deny.
/// Pass `&mut std::io::empty()` when there is no input.
///
/// ```
/// use rustchain::cli::run_from;
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// let code = run_from(["rustchain", "tools", "list", "--json"], &mut std::io::empty(), &mut out, &mut err);
/// assert_eq!(code, std::process::ExitCode::SUCCESS);
/// let listing: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert!(listing["tools"].is_array());
/// ```
pub fn run_from<I, S>(
    args: I,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<OsString> + Clone,
{
    let input = Input {
        reader: stdin,
        is_terminal: false,
        own_streams: false,
    };
    run_with(args, input, view::Terminal::default(), stdout, stderr)
}

/// One command's run: what it needs, and what it has to say.
///
/// Output is collected and written at the end, so a command decides its exit
/// status before any write can fail, and a write failure is handled once.
struct Session<'a> {
    registry: &'static rustchain_tools::Registry,
    json: bool,
    /// The policy and audit trail the global options name.
    governance: Governance,
    input: Input<'a>,
    /// The program's name as invoked, for hints (`my-agent tools list`).
    program: String,
    /// Results: goes to stdout.
    out: String,
    /// Messages for people: goes to stderr.
    err: String,
    /// The terminal the output goes to, if any: table width, colour.
    terminal: view::Terminal,
    /// `--offline` or `$RUSTCHAIN_OFFLINE`: never build the project agent
    /// from the network.
    offline: bool,
}

fn run_with<I, S>(
    args: I,
    input: Input<'_>,
    terminal: view::Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => return clap_exit(&err, asks_to_verify(&args), stdout, stderr),
    };
    let program = program_name(&args);
    let registry = rustchain_tools::Registry::try_global();
    serve(cli, registry, program, input, terminal, stdout, stderr)
}

const COMPLETIONS_AFTER_HELP: &str = "\
Examples:
  rustchain completions bash > ~/.local/share/bash-completion/completions/rustchain
  rustchain completions zsh > \"${fpath[1]}/_rustchain\"
  rustchain completions fish > ~/.config/fish/completions/rustchain.fish";

/// `completions SHELL`: the script for the program as invoked.
fn completions(shell: clap_complete::Shell, session: &mut Session<'_>) -> Exit {
    let mut script = Vec::new();
    let name = session.program.clone();
    clap_complete::generate(shell, &mut Cli::command(), name, &mut script);
    session.out = String::from_utf8_lossy(&script).into_owned();
    Exit::Success
}

/// Runs a parsed command line over the linked tools, unless they conflict.
fn serve(
    cli: Cli,
    registry: Result<&'static rustchain_tools::Registry, &'static rustchain_tools::DuplicateTool>,
    program: String,
    input: Input<'_>,
    terminal: view::Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let registry = match registry {
        Ok(registry) => registry,
        Err(duplicate) => {
            let message = format!("error: {duplicate}\n");
            return finish(Exit::DuplicateTool, "", &message, stdout, stderr);
        }
    };
    let mut session = Session {
        registry,
        json: cli.json,
        governance: Governance::new(cli.governance, |name| std::env::var_os(name)),
        input,
        program,
        out: String::new(),
        err: String::new(),
        terminal,
        offline: cli.offline || agent::switched_on(std::env::var_os(agent::OFFLINE_VARIABLE)),
    };
    let exit = match cli.command {
        Command::Tools(Deferred(command)) => tools::run(command, &mut session),
        Command::Policy(Deferred(command)) => policy::run(command, &mut session),
        Command::Audit(Deferred(command)) => audit::run(command, &mut session),
        Command::Mission(Deferred(command)) => mission::run(command, &mut session),
        Command::Market(Deferred(command)) => market::run(command, &mut session),
        Command::Completions { shell } => completions(shell, &mut session),
        #[cfg(feature = "mcp")]
        Command::Mcp(Deferred(command)) => mcp::run(command, &mut session),
    };
    finish(exit, &session.out, &session.err, stdout, stderr)
}

/// Help and version go to stdout with status 0; usage errors to stderr with
/// 2, or 5 for `audit verify`, whose 2 means "warnings only".
fn clap_exit(
    err: &clap::Error,
    verify: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let text = err.render().to_string();
    if err.use_stderr() {
        let exit = if verify {
            Exit::Unverified
        } else {
            Exit::Usage
        };
        finish(exit, "", &text, stdout, stderr)
    } else {
        finish(Exit::Success, &text, "", stdout, stderr)
    }
}

/// Writes what a command produced and settles the exit status.
///
/// A closed stdout (`rustchain tools list | head -1`) is the reader's choice,
/// not a failure: the command's own status stands.
fn finish(
    exit: Exit,
    out: &str,
    err: &str,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let written = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush());
    let exit = match written {
        Err(failure) if failure.kind() != io::ErrorKind::BrokenPipe => {
            // Nothing more useful can be done if stderr fails too.
            let _ = writeln!(stderr, "error: could not write the output: {failure}");
            Exit::Output
        }
        _ => exit,
    };
    let _ = stderr
        .write_all(err.as_bytes())
        .and_then(|()| stderr.flush());
    exit.into()
}

/// Whether a command line that failed to parse was asking for `audit verify`,
/// as far as it can be read.
fn asks_to_verify(args: &[OsString]) -> bool {
    let partial = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(args);
    match partial.as_ref().map(|matches| matches.subcommand()) {
        Ok(Some(("audit", audit))) => audit.subcommand_name() == Some("verify"),
        Ok(Some(_)) => false,
        // Parsing stopped before the command (an unknown global flag): the
        // first two words that are not flags name it.
        Ok(None) | Err(_) => {
            let mut words = args
                .iter()
                .skip(1)
                .filter(|arg| !arg.to_string_lossy().starts_with('-'));
            words.next().is_some_and(|w| w == "audit")
                && words.next().is_some_and(|w| w == "verify")
        }
    }
}

/// The name the program was started as, for hints; `rustchain` when unknown.
fn program_name(args: &[OsString]) -> String {
    args.first()
        .map(std::path::Path::new)
        .and_then(|path| path.file_stem())
        .and_then(|stem| stem.to_str())
        .filter(|stem| !stem.is_empty())
        .unwrap_or("rustchain")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn a_bad_command_line_for_audit_verify_is_recognised_as_such() {
        let verify = |args: &[&str]| {
            let args: Vec<OsString> = std::iter::once("rustchain")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect();
            asks_to_verify(&args)
        };
        assert!(verify(&["audit", "verify", "--bogus"]));
        assert!(verify(&["audit", "verify", "a.jsonl", "b.jsonl"]));
        assert!(verify(&["audit", "verify", "--key"]));
        assert!(verify(&[
            "--policy", "p.toml", "audit", "verify", "--kye", "k"
        ]));
        assert!(verify(&["--bogus", "audit", "verify"]));
        assert!(!verify(&["audit", "report", "--since", "forever"]));
        assert!(!verify(&["tools", "call"]));
        assert!(!verify(&["audit", "--bogus"]));
        assert!(!verify(&[]));
    }

    #[test]
    fn the_program_name_comes_from_argv0() {
        let name = |arg: &str| program_name(&[OsString::from(arg)]);
        assert_eq!(name("/usr/local/bin/my-agent"), "my-agent");
        assert_eq!(name(""), "rustchain");
        assert_eq!(program_name(&[]), "rustchain");
    }

    #[test]
    fn two_tools_with_one_name_exit_with_status_3_and_name_both() {
        let place = |file| rustchain_tools::SourceLocation {
            crate_name: "tools",
            crate_version: "0.1.0",
            module_path: "tools",
            file,
            line: 1,
        };
        let duplicate = rustchain_tools::DuplicateTool {
            name: "search",
            first: place("a.rs"),
            second: place("b.rs"),
        };
        let cli = Cli::try_parse_from(["rustchain", "tools", "list"]).expect("valid arguments");
        let input = Input {
            reader: &mut io::empty(),
            is_terminal: false,
            own_streams: false,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = serve(
            cli,
            Err(Box::leak(Box::new(duplicate))),
            "rustchain".into(),
            input,
            view::Terminal::default(),
            &mut out,
            &mut err,
        );
        assert_eq!(code, ExitCode::from(3));
        assert!(out.is_empty());
        let err = String::from_utf8(err).expect("messages are UTF-8");
        assert!(
            err.contains("`search`") && err.contains("a.rs") && err.contains("b.rs"),
            "{err}"
        );
    }

    #[test]
    fn a_closed_pipe_keeps_the_commands_status() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut err = Vec::new();
        assert_eq!(
            finish(Exit::ToolError, "x", "", &mut Closed, &mut err),
            ExitCode::from(1)
        );
        assert!(err.is_empty());
    }

    #[test]
    fn any_other_write_failure_is_status_4() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut err = Vec::new();
        assert_eq!(
            finish(Exit::Success, "x", "", &mut Full, &mut err),
            ExitCode::from(4)
        );
        assert!(String::from_utf8_lossy(&err).contains("disk full"));
    }
}
