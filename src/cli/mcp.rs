//! `rustchain mcp serve`: the linked tools over MCP, under the same policy,
//! approval and audit trail as `tools call`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use rustchain_mcp::{
    BearerToken, ClientApprover, DEFAULT_PAGE_SIZE, HttpAccess, MCP_PATH, McpServer, ServeError,
    ServeErrorKind, StateKey,
};

use super::{Exit, Session, executor};

/// Shown after `rustchain mcp --help`.
pub(super) const AFTER_HELP: &str = "\
Examples:
  rustchain mcp serve                         serve the linked tools over stdio
  rustchain --policy agent.toml mcp serve     under this policy
  rustchain mcp serve --http 127.0.0.1:8765   over streamable HTTP, at /mcp

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
the client's name and the request id. A call the policy marks `ask` is put
to the client's user through MCP elicitation; a client that did not declare
that capability, or no answer within the policy's approval timeout, denies.

With --defer (or `[discovery] defer = true` in the policy) tools/list shows
only tool_search and the tools `[discovery] always` names; a tool that
tool_search returns is listed from then on in that session, and the client
is sent notifications/tools/list_changed. A deferred tool not found yet can
still be called by name, under the policy like any other.

With --http ADDR it speaks streamable HTTP at http://ADDR/mcp instead, until
interrupted. A loopback ADDR needs no token; any other needs a bearer token
(--token-file, or $RUSTCHAIN_MCP_TOKEN), and a request without it gets 401
and nothing else. Browser pages may call only from the server's own origin
and those given with --allow-origin.

A 2026-07-28 client is asked to approve an `ask` call through the call's
result, and answers by repeating the call with a requestState sealed by the
server's key: a random key of the process unless --state-key-file FILE (32
bytes, owner-only; made by the first server that finds it missing) or
$RUSTCHAIN_MCP_STATE_KEY (64 hex digits, `openssl rand -hex 32`) gives one.
Replicas behind a load balancer need the same key, or an answer that reaches
another replica is refused and asked again. Make the file beforehand with
`(umask 077; head -c 32 /dev/urandom > FILE)`, or let the first server make it.

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

    /// Serve over streamable HTTP on ADDR (host:port; port 0 picks one)
    /// instead of stdio.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,

    /// The bearer token every HTTP request must carry, from the first line
    /// of FILE (default: $RUSTCHAIN_MCP_TOKEN, if set).
    #[arg(long, value_name = "FILE", requires = "http")]
    token_file: Option<PathBuf>,

    /// Also let browser pages of ORIGIN (scheme://host:port) call the server.
    #[arg(long, value_name = "ORIGIN", requires = "http")]
    allow_origin: Vec<String>,

    /// Seal the requestState of approvals with the key in FILE (32 bytes,
    /// made if missing) instead of a random one (default:
    /// $RUSTCHAIN_MCP_STATE_KEY, if set); replicas share it.
    #[arg(long, value_name = "FILE")]
    state_key_file: Option<PathBuf>,

    /// List only tool_search and the tools the policy's `[discovery] always`
    /// names; a tool a search finds is listed from then on (as
    /// `[discovery] defer = true` in the policy).
    #[arg(long)]
    defer: bool,
}

pub(super) fn run(command: McpCommand, session: &mut Session<'_>) -> Exit {
    match command {
        McpCommand::Serve(args) => serve(session, &args),
    }
}

fn serve(session: &mut Session<'_>, args: &ServeArgs) -> Exit {
    // stdin is the protocol, so nobody at a terminal answers `ask` rules:
    // the client that made the call does, by elicitation.
    let approver = ClientApprover::new();
    let setup = match session
        .governance
        .open_approved_by(session.registry, approver.clone())
    {
        Ok(setup) => setup,
        Err(err) => {
            session.err = executor::setup_advice(&err, &session.program);
            return Exit::Usage;
        }
    };
    let notes = executor::setup_notes(&setup);
    let mut server = McpServer::new(setup.executor)
        .named(session.program.clone(), env!("CARGO_PKG_VERSION"))
        .page_size(args.page_size)
        .approving_through(approver);
    if args.defer {
        server = server.defer_listing();
    }
    let state_key = match &args.state_key_file {
        Some(path) => StateKey::file(path).map(Some),
        None => StateKey::from_env(),
    };
    match state_key {
        Ok(Some(key)) => server = server.state_key(key),
        Ok(None) => {}
        Err(err) => {
            session.err.push_str(&format!("error: {err}\n"));
            return Exit::Usage;
        }
    }
    let served = if let Some(addr) = args.http {
        eprint!("{notes}");
        serve_http(server, addr, args)
    } else if session.input.own_streams {
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

/// Serves over streamable HTTP until interrupted; says where on stderr.
fn serve_http(server: McpServer, addr: SocketAddr, args: &ServeArgs) -> Result<(), ServeError> {
    let token = match &args.token_file {
        Some(path) => Some(BearerToken::from_file(path)?),
        None => BearerToken::from_env()?,
    };
    let mut access = HttpAccess::new();
    if let Some(token) = token {
        access = access.token(token);
    }
    for origin in &args.allow_origin {
        access = access.allow_origin(origin.clone());
    }
    server.serve_http_on(addr, access, |bound| {
        eprintln!("listening on http://{bound}{MCP_PATH}");
    })
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
