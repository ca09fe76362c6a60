//! The proxy a program granted hosts reaches the network through.
//!
//! Such a program runs in its own network namespace whose only way out is a
//! listener the child made there and handed to the executor (see
//! `sandbox::network`). For the life of the call, one thread accepts on it
//! and serves `CONNECT host:port` (HTTPS or any TCP) and plain-HTTP requests
//! in absolute form. Each target is checked exactly as `http_request` checks
//! a hop, by the same code (`crate::http`): the host must match the
//! program's `hosts` and no `[net] deny` rule, ports included, and not be a
//! cloud metadata name; it is resolved once, every answer is checked (a
//! non-public address needs a grant of that address or a range holding it;
//! `[net] deny` holds for every address), and the connection goes to those
//! checked addresses, never to a second lookup's (DNS rebinding).
//!
//! A refusal is answered `403` with a one-line reason, and recorded in the
//! audit trail as a deny decision record of the call (between its allow and
//! its result). Everything is bounded: the request head's size, the number
//! of connections, the time to send a head, to connect and to stay idle;
//! and everything ends when the call ends (the thread's runtime is dropped
//! with every connection on it).

mod request;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustchain_tools::policy::Grants;
use rustchain_tools::policy::net::{HostPattern, NetTarget};
use rustchain_tools::{ErrorKind, ToolContext, ToolError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Semaphore, oneshot};

use crate::http::{Reach, Resolver, check_host, resolve_checked};
use request::{BadRequest, Kind, MAX_HEAD, ProxyRequest};

/// Connections served at once; more wait in the listener's backlog.
pub(super) const MAX_CONNECTIONS: usize = 16;
/// How long a program has to send a request head.
pub(super) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long resolving and connecting to a target may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no bytes either way for this long is closed.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Refusals recorded in the audit trail per call; past it, one more record
/// says they go on unrecorded (a program cannot flood the trail).
pub(super) const MAX_RECORDED_REFUSALS: usize = 32;
/// How long the proxy's thread waits, once the call ends, for lookups
/// still running on its blocking pool.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(200);
const RELAY_CHUNK: usize = 16 << 10;

/// Who grants a program's connections: its `[[programs]]` entry's `hosts`,
/// less the policy's `[net] deny`.
pub(super) struct ProgramReach {
    ctx: ToolContext,
    hosts: Vec<HostPattern>,
    program: PathBuf,
}

impl ProgramReach {
    /// The reach of `program` under the call `ctx`'s policy.
    pub(super) fn new(
        ctx: &ToolContext,
        program: &Path,
        hosts: &[String],
    ) -> Result<ProgramReach, ToolError> {
        let hosts = hosts
            .iter()
            .map(|host| HostPattern::parse(host))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| {
                ToolError::new(
                    ErrorKind::Failed,
                    format!(
                        "a host of {}'s entry does not parse: {err}",
                        program.display()
                    ),
                )
            })?;
        Ok(ProgramReach {
            ctx: ctx.clone(),
            hosts,
            program: program.to_path_buf(),
        })
    }

    /// The rule a refusal names in the audit trail.
    fn rule(&self) -> String {
        format!(
            "programs {:?} hosts (cmd_run proxy)",
            self.program.display().to_string()
        )
    }
}

impl Reach for ProgramReach {
    fn allows(&self, target: &NetTarget) -> bool {
        self.denial(target).is_none() && self.hosts.iter().any(|host| host.matches(target))
    }

    fn denial(&self, target: &NetTarget) -> Option<&str> {
        Grants::of(&self.ctx).net_denial(target)
    }

    fn where_granted(&self) -> String {
        format!(
            "to the hosts of the [[programs]] entry of {}",
            self.program.display()
        )
    }
}

/// What every connection of one call's proxy shares.
struct Shared {
    reach: ProgramReach,
    resolver: Arc<dyn Resolver>,
    refusals: AtomicUsize,
}

impl Shared {
    /// Records a refusal in the call's audit trail, up to the bound.
    fn record(&self, target: &str, reason: &str) {
        let count = self.refusals.fetch_add(1, Ordering::Relaxed);
        let reason = match count + 1 {
            n if n < MAX_RECORDED_REFUSALS => {
                format!("the program's proxy refused {target}: {reason}")
            }
            n if n == MAX_RECORDED_REFUSALS => format!(
                "the program's proxy refused {target}: {reason}; further refusals of this call are answered but not recorded"
            ),
            _ => return,
        };
        // A call that ended meanwhile has no more records; the refusal
        // itself still stands.
        let _ = self.reach.ctx.record_refusal(&self.reach.rule(), &reason);
    }
}

/// A running proxy. Dropping it ends the proxy and every connection it
/// holds, and waits for its thread.
pub(super) struct Proxy {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").finish_non_exhaustive()
    }
}

impl Proxy {
    /// Serves `listener` (the one in the child's namespace) on a thread of
    /// its own until dropped.
    pub(super) fn start(
        listener: std::net::TcpListener,
        reach: ProgramReach,
    ) -> Result<Proxy, ToolError> {
        let failed = |err: std::io::Error| {
            ToolError::new(
                ErrorKind::Failed,
                format!("the program's network proxy could not start: {err}"),
            )
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(failed)?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(failed)?
        };
        let shared = Arc::new(Shared {
            reach,
            resolver: crate::http::resolver(),
            refusals: AtomicUsize::new(0),
        });
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("cmd_run-proxy".into())
            .spawn(move || {
                runtime.block_on(serve(listener, shared, stopped));
                runtime.shutdown_timeout(SHUTDOWN_GRACE);
            })
            .map_err(failed)?;
        Ok(Proxy {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts until stopped, at most [`MAX_CONNECTIONS`] served at once.
async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = tokio::select! {
            _ = &mut stopped => return,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors, say: try again shortly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _slot = slot;
            serve_one(stream, &shared).await;
        });
    }
}

/// One connection: its request, checked, then relayed or refused.
async fn serve_one(mut client: TcpStream, shared: &Shared) {
    let (head, rest) = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await {
        Ok(Ok(Some(read))) => read,
        // Opened and closed without a byte: nothing was asked, nothing refused.
        Ok(Ok(None)) => return,
        Ok(Err(bad)) => {
            shared.record("a request", &bad.reason);
            answer(&mut client, bad.status, &bad.reason).await;
            return;
        }
        Err(_) => {
            answer(&mut client, 408, "no complete request head in time").await;
            return;
        }
    };
    let request = match request::parse(&head) {
        Ok(request) => request,
        Err(bad) => {
            shared.record("a request", &bad.reason);
            answer(&mut client, bad.status, &bad.reason).await;
            return;
        }
    };
    let target = request.target();
    let upstream = match tokio::time::timeout(CONNECT_TIMEOUT, open(&request, shared)).await {
        Ok(Ok(upstream)) => upstream,
        Ok(Err(err)) if err.kind() == ErrorKind::Denied => {
            shared.record(&target, err.message());
            answer(&mut client, 403, err.message()).await;
            return;
        }
        Ok(Err(err)) => {
            answer(&mut client, 502, err.message()).await;
            return;
        }
        Err(_) => {
            answer(
                &mut client,
                504,
                &format!("{target} did not answer in time"),
            )
            .await;
            return;
        }
    };
    let mut upstream = upstream;
    let opened = match &request.kind {
        Kind::Tunnel => {
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
        }
        Kind::Forward(head) => upstream.write_all(head).await,
    };
    if opened.is_err() || (!rest.is_empty() && upstream.write_all(&rest).await.is_err()) {
        return;
    }
    relay(client, upstream).await;
}

/// Reads up to the head's blank line; what came after it is the body's
/// start. `None` when the connection closed before its first byte.
async fn read_head(client: &mut TcpStream) -> Result<Option<(Vec<u8>, Vec<u8>)>, BadRequest> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let read = client.read(&mut chunk).await.unwrap_or(0);
        if read == 0 && buffer.is_empty() {
            return Ok(None);
        }
        if read == 0 {
            return Err(BadRequest {
                status: 400,
                reason: "the connection closed before a whole request head".to_owned(),
            });
        }
        let searched_from = buffer.len().saturating_sub(3);
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = request::head_end(&buffer[searched_from..]).map(|at| at + searched_from)
        {
            if end > MAX_HEAD {
                break;
            }
            let rest = buffer.split_off(end);
            return Ok(Some((buffer, rest)));
        }
        if buffer.len() > MAX_HEAD {
            break;
        }
    }
    Err(BadRequest {
        status: 431,
        reason: format!("the request head is over {MAX_HEAD} bytes"),
    })
}

/// Checks the target, resolves it once with every answer checked, and
/// connects to the first checked address that answers.
async fn open(request: &ProxyRequest, shared: &Shared) -> Result<TcpStream, ToolError> {
    let hop = check_host(
        request.host.clone(),
        request.port,
        request.scheme(),
        &shared.reach,
    )?;
    let addresses: Vec<SocketAddr> =
        resolve_checked(&*shared.resolver, &hop.host, hop.port, &shared.reach).await?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(err) => last = Some(format!("{address}: {err}")),
        }
    }
    Err(ToolError::new(
        ErrorKind::Failed,
        format!(
            "could not connect to {}: {}",
            request.target(),
            last.unwrap_or_else(|| "no address".to_owned())
        ),
    ))
}

/// A short response that ends the connection: the status and one line.
async fn answer(client: &mut TcpStream, status: u16, reason: &str) {
    let phrase = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        _ => "Gateway Timeout",
    };
    let line: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let body = format!("rustchain proxy: {line}\n");
    let response = format!(
        "HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(HEAD_TIMEOUT, client.write_all(response.as_bytes())).await;
    let _ = client.shutdown().await;
}

/// Copies both ways until both sides are done or neither sent anything for
/// [`IDLE_TIMEOUT`].
async fn relay(client: TcpStream, upstream: TcpStream) {
    let started = Instant::now();
    let last = AtomicU64::new(0);
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    tokio::join!(
        pipe(client_read, upstream_write, &last, started),
        pipe(upstream_read, client_write, &last, started),
    );
}

/// One direction of [`relay`]; `last` is when either direction last moved
/// bytes (milliseconds since `started`).
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, last: &AtomicU64, started: Instant) {
    let mut buffer = vec![0u8; RELAY_CHUNK];
    let idle_ms = IDLE_TIMEOUT.as_millis() as u64;
    loop {
        match tokio::time::timeout(IDLE_TIMEOUT, from.read(&mut buffer)).await {
            Err(_) => {
                let now = started.elapsed().as_millis() as u64;
                if now.saturating_sub(last.load(Ordering::Relaxed)) >= idle_ms {
                    break;
                }
            }
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(read)) => {
                last.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                match tokio::time::timeout(IDLE_TIMEOUT, to.write_all(&buffer[..read])).await {
                    Ok(Ok(())) => {}
                    _ => return,
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests;
