//! The stdio wire: one JSON-RPC message per line in, one per line out, as
//! an rmcp [`Transport`], so rmcp keeps the protocol (D-22) while this
//! module owns the bytes (D-42).
//!
//! Why not rmcp's own `AsyncRwTransport`: it writes and flushes each reply
//! on its own under an async mutex (one `write` per message however many
//! are ready), and it drops a line that is not JSON without a word. Here
//! the reader parses each line in place in its buffer and answers text
//! that is not JSON with -32700 (without an id, as MCP writes it), and the writer is one task that
//! takes every reply queued since its last write and writes them with one
//! `write`: under load, several replies per system call. A plain
//! `tools/call` of an initialized session skips rmcp altogether
//! ([`crate::fast_call`]); its reply joins the same queue.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rmcp::model::ErrorData;
use rmcp::service::{RoleServer, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::McpServer;
use crate::fast_call::FastPath;

/// The longest line read as a message, as rmcp's own transport: a longer
/// one is skipped to its end without being kept.
pub(crate) const MAX_LINE: usize = 16 * 1024 * 1024;

/// The read buffer's usual size; it grows for a long line and shrinks back
/// after it.
const READ_CHUNK: usize = 16 * 1024;

/// Replies queued beyond this wait for the writer before more are taken:
/// a client that stops reading holds the server's memory to this.
const HIGH_WATER: usize = 4 * 1024 * 1024;

/// How long closing waits for the last replies to be written to a client
/// that no longer reads (rmcp's own drain gives in-flight replies as long).
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A byte-order mark some clients put before their first message.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Newline-delimited JSON-RPC over a reader and a writer, for rmcp's
/// service loop.
pub(crate) struct LineTransport<R> {
    reader: R,
    /// Bytes read and not yet taken: `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Where the search for the next newline goes on (it never rescans).
    scanned: usize,
    /// Skipping the rest of an oversized line.
    discarding: bool,
    outbox: Arc<Outbox>,
    writer: Option<JoinHandle<()>>,
    /// Plain `tools/call` requests straight to the executor (D-42).
    fast: Option<Arc<FastPath>>,
}

/// The replies waiting for the writer task, and its state.
struct Outbox {
    queue: Mutex<Queue>,
    /// Something was queued, or the transport closes.
    queued: Notify,
    /// The writer took the queue: room for more.
    taken: Notify,
}

#[derive(Default)]
struct Queue {
    bytes: Vec<u8>,
    closing: bool,
    /// The writer failed (the client stopped reading): sends fail too.
    broken: Option<io::ErrorKind>,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `message` as one line for the writer.
    fn push(&self, message: &TxJsonRpcMessage<RoleServer>) -> io::Result<()> {
        let mut queue = self.lock();
        if let Some(kind) = queue.broken {
            return Err(io::Error::new(
                kind,
                "the client no longer reads the replies",
            ));
        }
        if queue.closing {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the transport is closed",
            ));
        }
        let mark = queue.bytes.len();
        if let Err(err) = serde_json::to_writer(&mut queue.bytes, message) {
            // Nothing half-written stays in the stream.
            queue.bytes.truncate(mark);
            return Err(io::Error::new(io::ErrorKind::InvalidData, err));
        }
        queue.bytes.push(b'\n');
        drop(queue);
        self.queued.notify_one();
        Ok(())
    }
}

impl<R: AsyncRead + Send + Unpin + 'static> LineTransport<R> {
    /// A transport reading `reader` and writing `writer` (on a task of its
    /// own, spawned on the current runtime).
    pub(crate) fn new<W>(reader: R, writer: W) -> LineTransport<R>
    where
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let outbox = Arc::new(Outbox {
            queue: Mutex::new(Queue::default()),
            queued: Notify::new(),
            taken: Notify::new(),
        });
        let writer = tokio::spawn(write_out(writer, Arc::clone(&outbox)));
        LineTransport {
            reader,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            scanned: 0,
            discarding: false,
            outbox,
            writer: Some(writer),
            fast: None,
        }
    }

    /// Runs plain `tools/call` requests of an initialized session through
    /// `server` directly, and hands everything else to rmcp (D-42).
    pub(crate) fn with_fast_path(mut self, server: McpServer) -> LineTransport<R> {
        self.fast = Some(Arc::new(FastPath::new(server)));
        self
    }

    /// Queues `message` as one line for the writer.
    fn queue(&self, message: &TxJsonRpcMessage<RoleServer>) -> io::Result<()> {
        self.outbox.push(message)
    }

    /// Runs the line's call on the fast path if it takes it: `true` if so.
    fn took_fast(&self, line: &[u8]) -> bool {
        let Some(fast) = &self.fast else {
            return false;
        };
        let Some(call) = fast.take(line) else {
            return false;
        };
        let outbox = Arc::clone(&self.outbox);
        fast.spawn(call, move |reply| {
            // Fails only once the client stopped reading or the transport
            // closed: then no reply can reach it, as with rmcp's sends.
            if let Err(err) = outbox.push(&reply) {
                tracing::error!(%err, "fail to response message");
            }
        });
        true
    }

    /// The next whole line (without its newline), `None` at the end of
    /// input. Cancel-safe: what was read stays in the buffer.
    async fn next_line(&mut self) -> io::Result<Option<(usize, usize)>> {
        loop {
            let unread = &self.buf[self.scanned..self.end];
            if let Some(at) = unread.iter().position(|&byte| byte == b'\n') {
                let newline = self.scanned + at;
                let line = (self.start, newline);
                self.start = newline + 1;
                self.scanned = self.start;
                if std::mem::take(&mut self.discarding) {
                    // The tail of an oversized line: skipped.
                    continue;
                }
                return Ok(Some(line));
            }
            self.scanned = self.end;
            if self.discarding {
                // Keep nothing of a line that is being skipped.
                self.start = self.end;
                self.scanned = self.end;
            } else if self.end - self.start > MAX_LINE {
                tracing::error!(
                    max_line_length = MAX_LINE,
                    "a message longer than the limit was skipped"
                );
                self.discarding = true;
                self.start = self.end;
                self.scanned = self.end;
            }
            self.make_room();
            let read = self.reader.read(&mut self.buf[self.end..]).await?;
            if read == 0 {
                // A last line without a newline is incomplete: not a message.
                return Ok(None);
            }
            self.end += read;
        }
    }

    /// Room to read into: the unread bytes move to the front, and the
    /// buffer grows only for a line longer than it.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.scanned = 0;
            if self.buf.len() > READ_CHUNK {
                // A long line is over: give its memory back.
                self.buf.truncate(READ_CHUNK);
                self.buf.shrink_to_fit();
            }
        } else if self.start > 0 && self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(MAX_LINE + READ_CHUNK);
            self.buf.resize(grown.max(self.end + READ_CHUNK), 0);
        }
    }
}

/// What one line of input is.
#[expect(
    clippy::large_enum_variant,
    reason = "the message goes to rmcp by value at once; a box would cost an allocation per message"
)]
enum Parsed {
    Message(RxJsonRpcMessage<RoleServer>),
    /// Nothing to answer: an empty line, or a notification outside MCP.
    Skip,
    /// Not JSON: -32700.
    NotJson,
    /// JSON, but not a JSON-RPC message the server takes: -32600.
    Invalid,
}

/// Parses one line as rmcp's own transport does, except that text that is
/// not JSON is said to be so.
fn parse(line: &[u8]) -> Parsed {
    let line = message_text(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Skip;
    }
    match serde_json::from_slice(line) {
        Ok(message) => Parsed::Message(message),
        Err(err) if err.is_syntax() || err.is_eof() => Parsed::NotJson,
        Err(_) => {
            // Well-formed JSON of another shape: a notification that is not
            // MCP's (an LSP client's, a vendor's) is ignored, as rmcp does;
            // anything else is an invalid request.
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(value) if ignored_notification(&value) => Parsed::Skip,
                _ => Parsed::Invalid,
            }
        }
    }
}

/// The message on a line: without a carriage return before its newline or
/// a byte-order mark before it.
fn message_text(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.strip_prefix(UTF8_BOM).unwrap_or(line)
}

/// A notification (no id) whose method MCP does not define.
fn ignored_notification(value: &serde_json::Value) -> bool {
    let Some(method) = value.get("method").and_then(serde_json::Value::as_str) else {
        return false;
    };
    value.get("id").is_none() && !STANDARD_NOTIFICATIONS.contains(&method)
}

/// The notifications MCP defines; rmcp reads no others.
const STANDARD_NOTIFICATIONS: &[&str] = &[
    "notifications/cancelled",
    "notifications/initialized",
    "notifications/message",
    "notifications/progress",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
    "notifications/resources/updated",
    "notifications/roots/list_changed",
    "notifications/subscriptions/acknowledged",
    "notifications/tools/list_changed",
];

impl<R: AsyncRead + Send + Unpin + 'static> Transport<RoleServer> for LineTransport<R> {
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        // Serialized now, in order, into the writer's queue; the future
        // only waits when a client that does not read lets it grow.
        if let Some(fast) = &self.fast {
            fast.observe_outgoing(&item);
        }
        let queued = self.queue(&item);
        let outbox = Arc::clone(&self.outbox);
        async move {
            queued?;
            loop {
                let taken = outbox.taken.notified();
                {
                    let queue = outbox.lock();
                    if queue.bytes.len() <= HIGH_WATER || queue.broken.is_some() || queue.closing {
                        return Ok(());
                    }
                }
                taken.await;
            }
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let (start, end) = match self.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) => return self.input_ended(),
                Err(err) => {
                    tracing::error!(%err, "the input could not be read");
                    return self.input_ended();
                }
            };
            if self.took_fast(message_text(&self.buf[start..end])) {
                continue;
            }
            let answer = match parse(&self.buf[start..end]) {
                Parsed::Message(message) => {
                    if let Some(fast) = &self.fast
                        && fast.observe_incoming(&message)
                    {
                        continue;
                    }
                    return Some(message);
                }
                Parsed::Skip => continue,
                Parsed::NotJson => {
                    ErrorData::parse_error("Parse error: the line is not JSON", None)
                }
                Parsed::Invalid => ErrorData::invalid_request("Invalid request", None),
            };
            // No id to answer: MCP leaves it out (JSON-RPC 2.0 wrote null).
            if self
                .queue(&TxJsonRpcMessage::<RoleServer>::error(answer, None))
                .is_err()
            {
                return None;
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        if let Some(fast) = &self.fast {
            // Its calls' replies go out before the queue closes, as rmcp
            // drains its handlers' before closing the transport.
            fast.wind_down().await;
        }
        self.outbox.lock().closing = true;
        self.outbox.queued.notify_one();
        if let Some(mut writer) = self.writer.take() {
            // Everything queued is written before the transport says closed,
            // unless the client stopped reading: then it is given up.
            match tokio::time::timeout(CLOSE_GRACE, &mut writer).await {
                Ok(ended) => ended.map_err(io::Error::other)?,
                Err(_) => {
                    writer.abort();
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read the last replies",
                    ));
                }
            }
        }
        match self.outbox.lock().broken {
            Some(kind) => Err(io::Error::new(kind, "the replies could not all be written")),
            None => Ok(()),
        }
    }
}

impl<R> LineTransport<R> {
    /// The end of input: the fast path's calls get rmcp's drain time.
    fn input_ended(&self) -> Option<RxJsonRpcMessage<RoleServer>> {
        if let Some(fast) = &self.fast {
            fast.input_ended();
        }
        None
    }
}

impl<R> Drop for LineTransport<R> {
    fn drop(&mut self) {
        // Dropped without `close`: the writer still writes what is queued,
        // then ends, instead of waiting for more forever.
        self.outbox.lock().closing = true;
        self.outbox.queued.notify_one();
    }
}

/// The writer task: writes everything queued since its last write with one
/// `write` (a batch under load, a single reply when idle), until closed.
async fn write_out<W: AsyncWrite + Unpin>(mut writer: W, outbox: Arc<Outbox>) {
    let mut batch = Vec::new();
    loop {
        let queued = outbox.queued.notified();
        let closing = {
            let mut queue = outbox.lock();
            // The two buffers trade places: no allocation once both are warm.
            std::mem::swap(&mut queue.bytes, &mut batch);
            queue.closing
        };
        outbox.taken.notify_waiters();
        if batch.is_empty() {
            if closing {
                break;
            }
            queued.await;
            continue;
        }
        let written = match writer.write_all(&batch).await {
            Ok(()) => writer.flush().await,
            Err(err) => Err(err),
        };
        if let Err(err) = written {
            tracing::debug!(%err, "the replies could not be written");
            let mut queue = outbox.lock();
            queue.broken = Some(err.kind());
            queue.bytes = Vec::new();
            drop(queue);
            outbox.taken.notify_waiters();
            return;
        }
        batch.clear();
        if batch.capacity() > HIGH_WATER {
            batch = Vec::new();
        }
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_messages_text_is_not_json_and_other_shapes_are_invalid() {
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Parsed::Message(_)
        ));
        assert!(matches!(
            parse(b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r"),
            Parsed::Message(_)
        ));
        assert!(matches!(parse(b"not json"), Parsed::NotJson));
        assert!(matches!(parse(b"{\"jsonrpc\": \"2.0\", "), Parsed::NotJson));
        assert!(matches!(parse(b"42"), Parsed::Invalid));
        assert!(matches!(parse(br#"{"id":2}"#), Parsed::Invalid));
        // A notification MCP does not define is no error (rmcp ignores it).
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","method":"$/lsp/thing"}"#),
            Parsed::Message(_) | Parsed::Skip
        ));
        assert!(matches!(parse(b"  \r"), Parsed::Skip));
    }

    #[tokio::test]
    async fn a_line_split_across_reads_and_one_past_the_limit_are_read_right() {
        let (mut client, server) = tokio::io::duplex(1024);
        let (read, write) = tokio::io::split(server);
        let mut transport = LineTransport::new(read, write);
        let ping = br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#;
        let feed = tokio::spawn(async move {
            // A long line, then a ping in two pieces.
            let long = vec![b'x'; READ_CHUNK * 3];
            client.write_all(&long).await.expect("writes");
            client.write_all(b"\n").await.expect("writes");
            client.write_all(&ping[..10]).await.expect("writes");
            client.flush().await.expect("flushes");
            tokio::task::yield_now().await;
            client.write_all(&ping[10..]).await.expect("writes");
            client.write_all(b"\n").await.expect("writes");
            client
        });
        // The long line is not JSON: answered, and the ping follows.
        let message = transport.receive().await.expect("the ping");
        assert!(matches!(message, rmcp::model::JsonRpcMessage::Request(_)));
        assert!(
            transport.buf.len() <= READ_CHUNK * 4,
            "{}",
            transport.buf.len()
        );
        let mut client = feed.await.expect("the feeder");
        transport.close().await.expect("closes after writing");
        let mut written = Vec::new();
        client.read_to_end(&mut written).await.expect("reads");
        let written = String::from_utf8(written).expect("UTF-8");
        assert!(written.contains("-32700"), "{written}");
    }
}
