//! `rustchain mcp serve`: the linked tools over MCP, under the same policy,
//! approval and audit trail as `tools call`.

use clap::{Args, Subcommand};
use rustchain_mcp::{DEFAULT_PAGE_SIZE, McpServer, ServeError, ServeErrorKind};

use super::{Exit, Session, executor};

/// Shown after `rustchain mcp --help`.
pub(super) const AFTER_HELP: &str = "\
Examples:
  rustchain mcp serve                         serve the linked tools over stdio
  rustchain --policy agent.toml mcp serve     under this policy

An MCP client starts the server itself; for Claude Desktop, for example:
  {\"mcpServers\": {\"rustchain\": {\"command\": \"rustchain\",
     \"args\": [\"--policy\", \"/path/to/rustchain.toml\", \"mcp\", \"serve\"]}}}";

const SERVE_AFTER_HELP: &str = "\
Speaks MCP over stdin and stdout, one JSON-RPC message per line, until stdin
ends: the handshake revisions (2025-06-18, 2025-11-25) and the stateless
2026-07-28 revision. stdout carries protocol messages only; notes go to stderr.

tools/list shows every linked tool the policy does not deny; tools/call runs
through the executor, so each call is decided by the policy (--policy,
$RUSTCHAIN_POLICY, or ./rustchain.toml) and recorded in the audit trail with
the client's name and the request id. Nobody can answer the policy's `ask`
rules here yet, so they deny.

Exit status: 0 when stdin ended; 2 when the policy or the audit trail cannot
be used, or the client broke the protocol before a session started; 4 when
the streams failed.";

#[derive(Debug, Subcommand)]
pub(super) enum McpCommand {
    /// Serve the linked tools to an MCP client over stdio.
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// At most N tools per tools/list page.
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_PAGE_SIZE,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    page_size: usize,
}

pub(super) fn run(command: McpCommand, session: &mut Session<'_>) -> Exit {
    match command {
        McpCommand::Serve(args) => serve(session, &args),
    }
}

fn serve(session: &mut Session<'_>, args: &ServeArgs) -> Exit {
    // stdin is the protocol: nobody can answer an `ask` rule on it.
    let setup = match session.governance.open(session.registry, false) {
        Ok(setup) => setup,
        Err(err) => {
            session.err = executor::setup_advice(&err, &session.program);
            return Exit::Usage;
        }
    };
    let mut notes = String::new();
    for warning in setup.executor.policy().warnings() {
        notes.push_str(&format!("warning: {warning}\n"));
    }
    if let Some(trail) = &setup.trail {
        notes.push_str(&executor::trail_notes(trail));
    }
    let server = McpServer::new(setup.executor)
        .named(session.program.clone(), env!("CARGO_PKG_VERSION"))
        .page_size(args.page_size);
    let served = if session.input.own_streams {
        // Said now, not when the server ends: it may run for days.
        eprint!("{notes}");
        server.serve_stdio()
    } else {
        session.err.push_str(&notes);
        serve_script(server, session)
    };
    match served {
        Ok(()) => Exit::Success,
        Err(err) => {
            session.err.push_str(&format!("error: {err}\n"));
            match err.kind() {
                ServeErrorKind::Io => Exit::Output,
                _ => Exit::Usage,
            }
        }
    }
}

/// Serves streams that are not the process's own (`cli::run_from`): the
/// whole input is read first, as a script, and the replies become the
/// command's output. A live client needs the process's own streams.
fn serve_script(server: McpServer, session: &mut Session<'_>) -> Result<(), ServeError> {
    let mut script = Vec::new();
    if let Err(err) = session.input.reader.read_to_end(&mut script) {
        return Err(ServeError::io(format!("cannot read stdin: {err}")));
    }
    let (replies, served) = server.serve_script(script);
    session.out = String::from_utf8_lossy(&replies).into_owned();
    served
}
