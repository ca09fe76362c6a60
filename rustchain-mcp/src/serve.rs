//! Running a server over a pair of streams until its input ends.

use rmcp::ServiceExt;
use rmcp::service::ServerInitializeError;
use rustchain_tools::Registry;
use rustchain_tools::exec::{Settings, SetupError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use crate::transport::LineTransport;
use crate::{ClientApprover, McpServer, ServeError, ServeErrorKind};

/// Serves the tools linked into this program over stdin and stdout, under
/// `settings` (policy, audit trail, approver), until stdin ends.
///
/// What deserves a look is said on stderr: where a new audit trail was
/// created, a torn end it cut, the policy's warnings. Use
/// [`McpServer::serve_stdio`] to set up the executor yourself.
///
/// # Errors
/// [`ServeErrorKind::Setup`] when the policy or the trail cannot be used
/// (nothing is served), [`ServeErrorKind::Io`] when the streams fail.
pub fn serve_stdio(settings: Settings) -> Result<(), ServeError> {
    let registry = Registry::try_global()
        .map_err(|duplicate| ServeError::new(ServeErrorKind::Setup, format!("{duplicate}")))?;
    let approver = ClientApprover::new();
    let setup = settings
        .approver(approver.clone())
        .open(registry)
        .map_err(|err: SetupError| {
            ServeError::new(
                ServeErrorKind::Setup,
                format!("the tools cannot be served: {err}"),
            )
            .caused_by(err)
        })?;
    for warning in setup.executor.policy().warnings() {
        eprintln!("warning: {warning}");
    }
    if let Some(trail) = &setup.trail {
        if trail.created {
            eprintln!(
                "note: created the audit trail {}; every call is recorded there",
                trail.path.display()
            );
        }
        if let Some(recovery) = &trail.recovery {
            eprintln!(
                "note: {} ended in a torn write; the cut is recorded as {}",
                trail.path.display(),
                recovery.record
            );
        }
    }
    McpServer::new(setup.executor)
        .approving_through(approver)
        .serve_stdio()
}

impl McpServer {
    /// Serves over stdin and stdout until stdin ends, on an async runtime of
    /// its own (call it from synchronous code, such as `main`): one thread,
    /// or as many workers as `RUSTCHAIN_MCP_WORKERS` says. A sync tool
    /// without a timeout runs on that thread; give a slow one a timeout.
    ///
    /// On Unix the protocol moves to a private duplicate of stdout and fd 1
    /// is pointed at stderr first, so whatever a tool prints to stdout
    /// (`println!`, a C library, an inheriting child) goes to stderr and
    /// cannot corrupt the stream.
    ///
    /// # Errors
    /// [`ServeErrorKind::Io`] when the runtime or the streams fail.
    pub fn serve_stdio(self) -> Result<(), ServeError> {
        stdio_runtime()?.block_on(async {
            // Pipes (as MCP clients start servers) are read and written on
            // the I/O reactor, with no thread hop per message.
            let (stdin, stdout) = rmcp::transport::io::stdio_pipes();
            #[cfg(unix)]
            {
                // The protocol gets a descriptor of its own, and fd 1 goes
                // to stderr, so a tool that prints cannot break the stream.
                let protocol = crate::stdout_guard::take_stdout().map_err(|err| {
                    ServeError::new(
                        ServeErrorKind::Io,
                        format!("stdout could not be kept for the protocol: {err}"),
                    )
                    .caused_by(err)
                })?;
                drop(stdout);
                self.serve(stdin, protocol).await
            }
            #[cfg(not(unix))]
            self.serve(stdin, stdout).await
        })
    }

    /// Serves a whole input read beforehand (`script`, one message per
    /// line), on an async runtime of its own, and returns everything the
    /// server wrote, with how serving ended. For tests and for programs that
    /// replay recorded sessions; a live client needs [`McpServer::serve`].
    ///
    /// ```
    /// use rustchain_mcp::McpServer;
    /// use rustchain_tools::{Executor, Registry};
    ///
    /// let script = concat!(
    ///     r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"doc","version":"1"}}}"#, "\n",
    ///     r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, "\n",
    ///     r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, "\n",
    /// );
    /// let server = McpServer::new(Executor::new(Registry::global()));
    /// let (replies, served) = server.serve_script(script.as_bytes().to_vec());
    /// served?;
    /// let replies = String::from_utf8(replies).unwrap();
    /// assert_eq!(replies.lines().count(), 2, "{replies}");
    /// # Ok::<(), rustchain_mcp::ServeError>(())
    /// ```
    pub fn serve_script(self, script: Vec<u8>) -> (Vec<u8>, Result<(), ServeError>) {
        let runtime = match stdio_runtime() {
            Ok(runtime) => runtime,
            Err(err) => return (Vec::new(), Err(err)),
        };
        runtime.block_on(async {
            let (writer, mut written) = tokio::io::duplex(64 * 1024);
            let collect = tokio::spawn(async move {
                let mut replies = Vec::new();
                // Ends when the server drops its end of the pipe.
                let _ = written.read_to_end(&mut replies).await;
                replies
            });
            let served = self.serve(std::io::Cursor::new(script), writer).await;
            (collect.await.unwrap_or_default(), served)
        })
    }

    /// Serves over `reader` and `writer` (one JSON-RPC message per line)
    /// until `reader` ends, answering the requests still running before it
    /// returns.
    ///
    /// # Errors
    /// [`ServeErrorKind::Protocol`] when the first message cannot start a
    /// session, [`ServeErrorKind::Io`] when the streams fail.
    pub async fn serve<R, W>(self, reader: R, writer: W) -> Result<(), ServeError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let server = self.clone();
        let transport = LineTransport::new(reader, writer).with_fast_path(self.for_session());
        let running = match ServiceExt::serve(self.for_session(), transport).await {
            Ok(running) => running,
            // The input ended before a session started: nothing to serve.
            Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(err @ ServerInitializeError::TransportError { .. }) => {
                return Err(ServeError::new(ServeErrorKind::Io, format!("{err}")).caused_by(err));
            }
            Err(err) => {
                return Err(ServeError::new(
                    ServeErrorKind::Protocol,
                    format!("no MCP session could start: {err}"),
                )
                .caused_by(err));
            }
        };
        let stopped = running.waiting().await;
        server.calls_ended().await;
        stopped.map(drop).map_err(|err| {
            ServeError::new(ServeErrorKind::Io, "the server stopped unexpectedly").caused_by(err)
        })
    }
}

/// The runtime the stdio server runs on: one thread for the wire, the
/// protocol and the calls, unless `RUSTCHAIN_MCP_WORKERS` asks for a
/// multi-thread runtime of that many workers.
///
/// The wire is one reader and one writer task; on one thread a reply is
/// queued and written with no wake-up across threads, which halves the CPU
/// time per call against two workers (D-42). Calls still run concurrently
/// (async tools, sync tools with a timeout or an approval on the blocking
/// pool); a sync tool without a timeout runs inline, on this thread, so
/// give a slow one a timeout (or set workers) to keep the wire moving.
pub(crate) fn stdio_runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    let workers = std::env::var(WORKERS_ENV)
        .ok()
        .and_then(|workers| workers.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut builder = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    };
    build(&mut builder)
}

/// The runtime the HTTP server runs on: one worker per core, for its many
/// clients at once.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    build(&mut tokio::runtime::Builder::new_multi_thread())
}

fn build(builder: &mut tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, ServeError> {
    builder
        .thread_name("rustchain-mcp")
        .enable_all()
        .build()
        .map_err(|err| {
            ServeError::new(ServeErrorKind::Io, "the async runtime could not start").caused_by(err)
        })
}

/// Where the stdio server's runtime may be given workers.
const WORKERS_ENV: &str = "RUSTCHAIN_MCP_WORKERS";
