//! The `tools/call` fast path of the stdio wire: a plain call in an
//! initialized handshake session goes from the reader straight to the
//! executor, and its reply straight to the writer, without rmcp's message
//! enums and per-request futures (D-42).
//!
//! Only a call whose handling rmcp would not change is taken: the request
//! has exactly `jsonrpc`, `id`, `method` and `params` with `name` and
//! `arguments` (no `_meta`, so no progress token and no inline revision; no
//! task, no input responses), the session negotiated a handshake revision
//! and said `notifications/initialized`, the tool is linked or registered
//! and its policy verdict is not `ask`, and it is not the `tool_search` of
//! a deferring listing. Everything else goes to rmcp as before. A taken
//! call runs as rmcp runs it: on a task of its own, with the same context
//! ([`McpServer::call_context`]), the same result ([`crate::call::result`]),
//! the same cancellation (`notifications/cancelled` for its id, the end of
//! the session) and, like rmcp, no reply once it is cancelled.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestMethod, CallToolResponse, ClientNotification, ClientRequest, JsonObject,
    JsonRpcMessage, JsonRpcVersion2_0, RequestId, ServerJsonRpcMessage, ServerResult,
};
use rmcp::service::{RoleServer, RxJsonRpcMessage, TxJsonRpcMessage};
use rustchain_tools::policy::Verdict;
use rustchain_tools::search::TOOL_SEARCH;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::McpServer;

/// How long the end of input waits for calls under way before cancelling
/// them: rmcp's own drain of its handlers' replies at the end of input.
pub(crate) const DRAIN: Duration = Duration::from_secs(5);

/// A `tools/call` request with nothing in it that rmcp would act on besides
/// the call itself; any other field makes the line rmcp's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainCall {
    #[serde(rename = "jsonrpc")]
    _jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    #[serde(rename = "method")]
    _method: CallToolRequestMethod,
    params: PlainParams,
}

/// `params` of a plain call: rmcp's own types for the two fields, so the
/// same text is accepted and read the same way.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainParams {
    name: String,
    #[serde(default)]
    arguments: Option<JsonObject>,
}

/// What the fast path knows of the session, learnt from the messages that
/// pass through the transport.
#[derive(Default)]
struct Session {
    /// `clientInfo.name` of the `initialize` request.
    client: Option<String>,
    /// The revision the `initialize` result named.
    handshake: bool,
    /// `notifications/initialized` was read.
    initialized: bool,
    /// Something the fast path does not follow happened (a second
    /// `initialize`): every call goes to rmcp from then on.
    off: bool,
}

/// The fast path of one session's transport.
pub(crate) struct FastPath {
    server: McpServer,
    session: Mutex<Session>,
    /// The calls under way, by request id: what `notifications/cancelled`
    /// cancels, and whose reply is still wanted.
    calls: Mutex<HashMap<RequestId, CancellationToken>>,
    /// The calls' tasks, which the end of the session waits for.
    tasks: TaskTracker,
    /// When the input ended, if it did.
    input_ended: Mutex<Option<Instant>>,
}

/// A call the fast path took, ready to run.
pub(crate) struct TakenCall {
    id: RequestId,
    name: String,
    arguments: serde_json::Value,
    client: Option<String>,
    cancel: CancellationToken,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FastPath {
    /// A fast path calling through `server`.
    pub(crate) fn new(server: McpServer) -> FastPath {
        FastPath {
            server,
            session: Mutex::default(),
            calls: Mutex::default(),
            tasks: TaskTracker::new(),
            input_ended: Mutex::default(),
        }
    }

    /// The call on `line` if the fast path takes it, `None` if rmcp must.
    pub(crate) fn take(&self, line: &[u8]) -> Option<TakenCall> {
        let client = {
            let session = lock(&self.session);
            if session.off || !session.handshake || !session.initialized {
                return None;
            }
            session.client.clone()
        };
        // Cheap refusal of every other message before any parsing.
        if !contains(line, br#""tools/call""#) {
            return None;
        }
        let call: PlainCall = serde_json::from_slice(line).ok()?;
        let PlainParams { name, arguments } = call.params;
        if !self.server.takes_fast(&name) {
            return None;
        }
        let cancel = CancellationToken::new();
        // A repeated id replaces the first call's token, as in rmcp's table.
        lock(&self.calls).insert(call.id.clone(), cancel.clone());
        Some(TakenCall {
            id: call.id,
            name,
            arguments: serde_json::Value::Object(arguments.unwrap_or_default()),
            client,
            cancel,
        })
    }

    /// Runs `call` on a task of its own; its reply goes to `reply` unless
    /// the call was cancelled meanwhile.
    pub(crate) fn spawn<F>(self: &std::sync::Arc<Self>, call: TakenCall, reply: F)
    where
        F: FnOnce(TxJsonRpcMessage<RoleServer>) + Send + 'static,
    {
        let fast = std::sync::Arc::clone(self);
        self.tasks.spawn(async move {
            let TakenCall {
                id,
                name,
                arguments,
                client,
                cancel,
            } = call;
            let ctx = McpServer::call_context(cancel, client, &id);
            let result = fast.server.call_taken(&name, &arguments, ctx).await;
            // Cancelled (by the client or the session's end): no reply, as
            // rmcp drops the response of a request it cancelled. Else the
            // entry goes, and with it any call that reused the id.
            let Some(token) = lock(&fast.calls).remove(&id) else {
                return;
            };
            token.cancel();
            reply(match result {
                Ok(response) => {
                    let mut result = ServerResult::from(response);
                    // What rmcp's handler does to every result for a
                    // handshake revision (the only ones taken here).
                    result.strip_result_type_for_legacy_peer();
                    result.strip_non_object_output_for_legacy_peer();
                    ServerJsonRpcMessage::response(result, id)
                }
                Err(error) => ServerJsonRpcMessage::error(error, Some(id)),
            });
        });
    }

    /// Learns the session from a message rmcp is given, and takes a
    /// cancellation of a fast call for itself: `true` if `message` is
    /// consumed.
    pub(crate) fn observe_incoming(&self, message: &RxJsonRpcMessage<RoleServer>) -> bool {
        match message {
            JsonRpcMessage::Request(request) => {
                if let ClientRequest::InitializeRequest(initialize) = &request.request {
                    let mut session = lock(&self.session);
                    if session.client.is_some() || session.handshake {
                        session.off = true;
                    }
                    session.client = Some(initialize.params.client_info.name.clone());
                }
                false
            }
            JsonRpcMessage::Notification(notification) => match &notification.notification {
                ClientNotification::InitializedNotification(_) => {
                    lock(&self.session).initialized = true;
                    false
                }
                ClientNotification::CancelledNotification(cancelled) => {
                    let Some(id) = &cancelled.params.request_id else {
                        return false;
                    };
                    let Some(token) = lock(&self.calls).remove(id) else {
                        return false;
                    };
                    tracing::info!(%id, reason = cancelled.params.reason, "cancelled");
                    token.cancel();
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Learns the negotiated revision from the `initialize` result.
    pub(crate) fn observe_outgoing(&self, message: &TxJsonRpcMessage<RoleServer>) {
        if let JsonRpcMessage::Response(response) = message
            && let ServerResult::InitializeResult(result) = &response.result
        {
            let mut session = lock(&self.session);
            // The 2026-07-28 revision and later have no handshake: no fast path.
            session.handshake = result.protocol_version.has_initialize();
        }
    }

    /// The input ended: calls under way get until [`DRAIN`] from now.
    pub(crate) fn input_ended(&self) {
        lock(&self.input_ended).get_or_insert_with(Instant::now);
    }

    /// Waits for the calls under way until [`DRAIN`] after the end of
    /// input, then cancels those still running (whose replies are then not
    /// sent) and waits until they have ended.
    pub(crate) async fn wind_down(&self) {
        self.tasks.close();
        let ended = *lock(&self.input_ended);
        let deadline = ended.unwrap_or_else(Instant::now) + DRAIN;
        let drained = tokio::time::timeout_at(deadline.into(), self.tasks.wait()).await;
        if drained.is_err() {
            for (_, token) in lock(&self.calls).drain() {
                token.cancel();
            }
            self.tasks.wait().await;
        }
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

impl McpServer {
    /// Whether the fast path may run calls of `name`: a known tool whose
    /// verdict is not `ask`, and not the `tool_search` whose results a
    /// deferring listing follows.
    fn takes_fast(&self, name: &str) -> bool {
        let Some(tool) = self.executor().registry().get(name) else {
            return false;
        };
        if name == TOOL_SEARCH && self.defers() {
            return false;
        }
        self.executor()
            .policy()
            .decide_tool(tool.descriptor())
            .verdict
            != Verdict::Ask
    }

    /// A call the fast path took: what [`McpServer`]'s `call_tool` does for
    /// such a call, in a handshake session without a progress token.
    async fn call_taken(
        &self,
        name: &str,
        arguments: &serde_json::Value,
        ctx: rustchain_tools::ToolContext,
    ) -> Result<CallToolResponse, rmcp::model::ErrorData> {
        let _under_way = self.call_under_way();
        let outcome = self.executor().call_value(name, arguments, ctx).await;
        // A handshake revision: objects required, as the handler computes.
        self.complete(name, outcome, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_tools::policy::Policy;
    use rustchain_tools::search::search_tool;
    use rustchain_tools::{Executor, Registry};

    const PLAIN: &[u8] =
        br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"tool_search","arguments":{"query":"x"}}}"#;

    /// A fast path over a registry holding `tool_search`, under `policy`.
    fn fast_path(policy: &str) -> FastPath {
        let registry = Box::leak(Box::new(Registry::build([]).expect("an empty registry")));
        registry.register_tool(search_tool()).expect("registered");
        let policy =
            Policy::from_toml(policy, "test", std::path::Path::new(".")).expect("a valid policy");
        let executor = Executor::builder(registry)
            .policy(policy)
            .build()
            .expect("an executor");
        FastPath::new(McpServer::new(executor))
    }

    fn incoming(line: &str) -> RxJsonRpcMessage<RoleServer> {
        serde_json::from_str(line).expect("a client message")
    }

    /// The handshake of `revision`, as the transport sees it pass.
    fn handshake(fast: &FastPath, revision: &str) {
        fast.observe_incoming(&incoming(&format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{revision}","capabilities":{{}},"clientInfo":{{"name":"unit","version":"1"}}}}}}"#
        )));
        let result: TxJsonRpcMessage<RoleServer> = serde_json::from_str(&format!(
            r#"{{"jsonrpc":"2.0","id":0,"result":{{"protocolVersion":"{revision}","capabilities":{{}},"serverInfo":{{"name":"s","version":"1"}}}}}}"#
        ))
        .expect("a server message");
        fast.observe_outgoing(&result);
    }

    const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

    #[test]
    fn a_plain_call_is_taken_only_in_an_initialized_handshake_session() {
        let fast = fast_path("");
        assert!(fast.take(PLAIN).is_none(), "no session yet");
        handshake(&fast, "2025-11-25");
        assert!(fast.take(PLAIN).is_none(), "not initialized yet");
        fast.observe_incoming(&incoming(INITIALIZED));
        let taken = fast.take(PLAIN).expect("a plain call is taken");
        assert_eq!(taken.client.as_deref(), Some("unit"));
        assert_eq!(taken.arguments, serde_json::json!({"query": "x"}));
        // Its id is now one `notifications/cancelled` cancels, and the
        // notification is the fast path's, not rmcp's.
        let cancel = incoming(
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}"#,
        );
        assert!(fast.observe_incoming(&cancel));
        assert!(taken.cancel.is_cancelled());
        assert!(!fast.observe_incoming(&cancel), "only once");
        // A second initialize: rmcp's from then on.
        handshake(&fast, "2025-11-25");
        assert!(fast.take(PLAIN).is_none());
    }

    #[test]
    fn an_ask_tool_an_unknown_tool_and_a_stateless_session_go_to_rmcp() {
        let asking = fast_path("[tools]\nask = [\"tool_search\"]\n");
        handshake(&asking, "2025-06-18");
        asking.observe_incoming(&incoming(INITIALIZED));
        assert!(asking.take(PLAIN).is_none(), "ask is rmcp's");
        let unknown = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"nope"}}"#;
        assert!(asking.take(unknown).is_none());
        let stateless = fast_path("");
        handshake(&stateless, "2026-07-28");
        stateless.observe_incoming(&incoming(INITIALIZED));
        assert!(stateless.take(PLAIN).is_none());
    }

    #[test]
    fn only_a_plain_call_is_read_as_one() {
        let plain: Result<PlainCall, _> = serde_json::from_slice(
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":{"a":1}}}"#,
        );
        assert!(plain.is_ok());
        for other in [
            // A progress token, a task, an approval's answer: rmcp's.
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","_meta":{"progressToken":1}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","task":{}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","requestState":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"1.0","id":3,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#,
        ] {
            let read: Result<PlainCall, _> = serde_json::from_str(other);
            assert!(read.is_err(), "{other}");
        }
    }
}
