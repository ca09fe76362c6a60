//! The MCP server: the runtime's executor behind the protocol's handler.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use rmcp::ServerHandler;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, ElicitRequest, ElicitResult, ErrorData,
    Implementation, InputRequest, InputRequests, InputRequiredResult, InputResponses,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, RequestId, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::{MaybeSendFuture, RequestContext, RoleServer};
use rustchain_tools::policy::Discovery;
use rustchain_tools::search::{FoundTool, TOOL_SEARCH, search_tool};
use rustchain_tools::{Executor, ToolContext, ToolError, ToolOutput};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::approval::{Asker, ClientApprover, Registration, answer_of, approval_form};
use crate::call::{self, ProgressRelay};
use crate::listing::{BadCursor, Listing};
use crate::request_state::{BadState, STATE_KEY_ENV, STATE_TTL, StateKey};

/// The key of the approval among a 2026-07-28 call's input requests (and
/// the client's input responses).
const APPROVAL_INPUT: &str = "approval";

/// Tools per `tools/list` page unless set otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// How long a client of the stateless revision may keep a `tools/list`
/// page: the list is fixed for the life of the server.
const LIST_TTL_MS: u64 = 60_000;

/// An MCP server over an executor: lists the tools its policy lets run and
/// calls them through it, so every call is decided, approved, limited and
/// recorded as the executor's settings say.
///
/// Cheap to clone; clones share the executor and the listing.
///
/// ```
/// use rustchain_mcp::McpServer;
/// use rustchain_tools::{Executor, Registry};
///
/// let server = McpServer::new(Executor::new(Registry::global()))
///     .named("my-agent", "1.2.0")
///     .page_size(50);
/// ```
#[derive(Clone)]
pub struct McpServer {
    executor: Executor,
    /// What `tools/list` shows, built on first need (not at start-up).
    listing: Arc<OnceLock<Listing>>,
    page_size: usize,
    info: Implementation,
    approver: Option<ClientApprover>,
    /// Whether `tools/list` is deferred, and which tools it always shows.
    discovery: Discovery,
    /// The tools `tool_search` found in this session, listed from then on
    /// when listing is deferred. Each session starts with none.
    found: Arc<Mutex<BTreeSet<String>>>,
    /// The calls under way, shared by every session of this server: a
    /// server that stops waits for them, so each call's end is recorded
    /// before it returns.
    in_flight: TaskTracker,
    /// Seals the `requestState` of approvals asked through input-required
    /// results; `None` if the system gave no randomness (then such clients
    /// are not asked).
    state_key: Option<StateKey>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("executor", &self.executor)
            .field("page_size", &self.page_size)
            .field("name", &self.info.name)
            .finish()
    }
}

impl McpServer {
    /// A server for the tools of `executor`'s registry that its policy does
    /// not deny, introducing itself as `rustchain` and this crate's version.
    /// Listing is deferred when the policy's `[discovery]` says so.
    pub fn new(executor: Executor) -> McpServer {
        let discovery = executor.policy().discovery().clone();
        if discovery.defers() {
            ensure_search_tool(&executor);
        }
        McpServer {
            listing: Arc::default(),
            executor,
            page_size: DEFAULT_PAGE_SIZE,
            info: Implementation::new("rustchain", env!("CARGO_PKG_VERSION")),
            approver: None,
            discovery,
            found: Arc::default(),
            in_flight: TaskTracker::new(),
            state_key: StateKey::random(),
        }
    }

    /// Defers tool definitions as `discovery` says, in place of the
    /// policy's `[discovery]` table.
    ///
    /// A deferring server lists only the tools `discovery` loads from the
    /// start, plus `tool_search` (registered at run time when the program
    /// does not link the built-in one); a tool that `tool_search` returns
    /// is listed from then on in that session, and the client is sent
    /// `notifications/tools/list_changed`. Deferral hides definitions, it
    /// does not grant or refuse: a deferred tool not found yet can still
    /// be called by name, under the policy like any other, and the search
    /// and the listing never show a tool the policy denies.
    ///
    /// ```
    /// use rustchain_mcp::McpServer;
    /// use rustchain_tools::policy::Discovery;
    /// use rustchain_tools::{Executor, Registry};
    ///
    /// let registry = Box::leak(Box::new(Registry::build([]).unwrap()));
    /// let server = McpServer::new(Executor::new(registry))
    ///     .discovery(Discovery::deferred(["text_*"]).expect("valid globs"));
    /// assert!(registry.get("tool_search").is_some(), "registered to search with");
    /// ```
    pub fn discovery(mut self, discovery: Discovery) -> Self {
        if discovery.defers() {
            ensure_search_tool(&self.executor);
        }
        self.listing = Arc::default();
        self.discovery = discovery;
        self
    }

    /// Defers tool definitions, loading from the start the tools the
    /// policy's `[discovery] always` names (`mcp serve --defer`).
    pub fn defer_listing(self) -> Self {
        let discovery = self.discovery.clone().deferring();
        self.discovery(discovery)
    }

    /// A server for a new session: the same tools, nothing found yet.
    pub(crate) fn for_session(&self) -> McpServer {
        McpServer {
            found: Arc::default(),
            ..self.clone()
        }
    }

    /// Introduces the server to clients as `name` `version` (`serverInfo`).
    pub fn named(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.info = Implementation::new(name, version);
        self
    }

    /// At most `size` tools per `tools/list` page (at least one).
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Seals the `requestState` of approvals asked through input-required
    /// results (2026-07-28 clients) with `key` instead of a random key of
    /// this process. Give replicas behind a load balancer the same key, so
    /// that an answer reaching another replica than the one that asked is
    /// taken there.
    ///
    /// ```
    /// use rustchain_mcp::{McpServer, StateKey};
    /// use rustchain_tools::{Executor, Registry};
    ///
    /// let key = StateKey::from_hex(&"5a".repeat(32)).expect("a key");
    /// let server = McpServer::new(Executor::new(Registry::global())).state_key(key);
    /// ```
    pub fn state_key(mut self, key: StateKey) -> Self {
        self.state_key = Some(key);
        self
    }

    /// Routes the approval of each call the policy marks `ask` to the client
    /// that made it, through `approver`, which must be the executor's
    /// approver too. Without it, `ask` calls get whatever the executor's
    /// own approver says (with none, they are denied).
    pub fn approving_through(mut self, approver: ClientApprover) -> Self {
        self.approver = Some(approver);
        self
    }

    /// The executor every call goes through.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Waits until every call under way has ended (and been recorded).
    /// The transports call it when they stop: their sessions' ends cancel
    /// the calls, but do not wait for them.
    pub(crate) async fn calls_ended(&self) {
        self.in_flight.close();
        self.in_flight.wait().await;
        self.in_flight.reopen();
    }

    async fn call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let _in_flight = self.in_flight.token();
        let CallToolRequestParams {
            name,
            arguments,
            input_responses,
            request_state,
            ..
        } = request;
        let name = name.as_ref();
        let arguments = serde_json::Value::Object(arguments.unwrap_or_default());
        let mut ctx = McpServer::call_context(
            context.ct.clone(),
            context.client_info().map(|client| client.name),
            &context.id,
        );
        // Where a 2026-07-28 client's approval question is left for the result.
        let mut question = None;
        // Held until the call ends: whom its approval (if any) goes to.
        let _asker: Option<Registration> = self.approver.as_ref().map(|approver| {
            let asker = if requires_objects(&context) {
                asker(&context, name)
            } else {
                self.stateless_asker(
                    declares_elicitation(&context),
                    name,
                    &arguments,
                    input_responses.as_ref(),
                    request_state.as_deref(),
                    &mut question,
                )
            };
            approver.register(Arc::from(ctx.call_id()), asker)
        });
        let relay = context
            .meta
            .get_progress_token()
            .map(|token| ProgressRelay::start(context.peer.clone(), token));
        if let Some(relay) = &relay {
            ctx = ctx.with_progress(relay.sink());
        }
        let outcome = self.executor.call_value(name, &arguments, ctx).await;
        if let Some(relay) = relay {
            relay.close().await;
        }
        let asked = question.and_then(|question: Arc<Mutex<Option<String>>>| {
            question
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        });
        if let Some(message) = asked {
            return self.input_required(name, &arguments, message);
        }
        if name == TOOL_SEARCH && self.discovery.defers() && requires_objects(&context) {
            self.list_found(&outcome, &context).await;
        }
        self.complete(name, outcome, requires_objects(&context))
    }

    /// The context of a call: its cancellation, and the caller the audit
    /// trail records (the client's name, the MCP request id). Both the
    /// rmcp handler and the wire's fast path build it here.
    pub(crate) fn call_context(
        cancellation: CancellationToken,
        client: Option<String>,
        request_id: &RequestId,
    ) -> ToolContext {
        ToolContext::new()
            .with_cancellation(cancellation)
            .with_caller(call::caller(client, request_id.to_string()))
    }

    /// A finished call as the response: the result both the rmcp handler
    /// and the wire's fast path send. `requires_objects`: the revision
    /// wants a non-object output wrapped.
    pub(crate) fn complete(
        &self,
        name: &str,
        outcome: Result<ToolOutput, ToolError>,
        requires_objects: bool,
    ) -> Result<CallToolResponse, ErrorData> {
        let wrap = requires_objects && self.listing().wraps_output(name);
        call::result(name, outcome, wrap).map(CallToolResponse::Complete)
    }

    /// The tools listed, built the first time they are needed.
    fn listing(&self) -> &Listing {
        self.listing
            .get_or_init(|| Listing::of(&self.executor, &self.discovery))
    }

    /// Whether `tools/list` is deferred (and `tool_search` results followed).
    pub(crate) fn defers(&self) -> bool {
        self.discovery.defers()
    }

    /// A token held while a call is under way: a stopping server waits for it.
    pub(crate) fn call_under_way(&self) -> tokio_util::task::task_tracker::TaskTrackerToken {
        self.in_flight.token()
    }
}

impl McpServer {
    /// Who approves a call of `tool` from a 2026-07-28 client: asked
    /// through the call's result the first time, the answer it brings back
    /// (with the state that ties it to this very call) the second.
    fn stateless_asker(
        &self,
        elicitation: bool,
        tool: &str,
        arguments: &serde_json::Value,
        responses: Option<&InputResponses>,
        state: Option<&str>,
        question: &mut Option<Arc<Mutex<Option<String>>>>,
    ) -> Asker {
        let Some(key) = &self.state_key else {
            return Asker::Nobody(format!(
                "a person must approve calls to `{tool}`, and this server has no key to tie an answer to its call (no system randomness); connect with a 2025-11-25 session to be asked through elicitation, or allow the tool in the policy"
            ));
        };
        if !elicitation {
            return Asker::Nobody(format!(
                "a person must approve calls to `{tool}`, and this MCP client did not declare the elicitation capability, so it cannot be asked (a client that answers elicitation can approve it, or the policy can `allow` it)"
            ));
        }
        let Some(state) = state else {
            return match responses {
                None => Asker::Later(Arc::clone(question.get_or_insert_default())),
                Some(_) => Asker::Nobody(format!(
                    "the answers to `{tool}`'s approval came without the requestState they were asked with; call again without inputResponses to be asked"
                )),
            };
        };
        match key.open(state, tool, &arguments.to_string(), SystemTime::now()) {
            Ok(()) => {
                let answer = responses
                    .and_then(|responses| responses.get(APPROVAL_INPUT))
                    .and_then(|answer| serde_json::from_value::<ElicitResult>(answer.clone()).ok());
                match answer {
                    Some(answer) => Asker::Answered(answer_of(&answer)),
                    None => Asker::Nobody(format!(
                        "the repeated call to `{tool}` carries no answer to its approval (inputResponses.{APPROVAL_INPUT})"
                    )),
                }
            }
            Err(BadState::Forged) => Asker::Nobody(format!(
                "the requestState was not sealed for `{tool}` with these arguments by this server or one sharing its key (--state-key-file, ${STATE_KEY_ENV}); not run, call again without it"
            )),
            Err(BadState::Expired) => Asker::Nobody(format!(
                "the approval of this call to `{tool}` came back more than {} minutes after it was asked; call again to be asked anew",
                STATE_TTL.as_secs() / 60
            )),
        }
    }

    /// The result that asks a 2026-07-28 client to approve the call: the
    /// approval form as an elicitation input request, and the state that
    /// ties the answer to this tool and these arguments.
    fn input_required(
        &self,
        tool: &str,
        arguments: &serde_json::Value,
        message: String,
    ) -> Result<CallToolResponse, ErrorData> {
        let key = self.state_key.as_ref().ok_or_else(|| {
            ErrorData::internal_error("no key to seal the approval's state", None)
        })?;
        let form = approval_form(message).map_err(|err| ErrorData::internal_error(err, None))?;
        let mut requests = InputRequests::new();
        requests.insert(
            APPROVAL_INPUT.to_owned(),
            InputRequest::Elicitation(ElicitRequest::new(form)),
        );
        let state = key.seal(tool, &arguments.to_string(), SystemTime::now());
        Ok(CallToolResponse::InputRequired(InputRequiredResult::new(
            Some(requests),
            Some(state),
        )))
    }

    /// Lists from now on, in this session, the tools a `tool_search` call
    /// returned, and tells the client its list changed if any is new. Only
    /// tools the listing holds (those the policy does not deny) can join.
    async fn list_found(
        &self,
        outcome: &Result<ToolOutput, ToolError>,
        context: &RequestContext<RoleServer>,
    ) {
        let Ok(output) = outcome else {
            return;
        };
        let Ok(found) = serde_json::from_value::<Vec<FoundTool>>(output.to_value()) else {
            tracing::warn!("tool_search answered in a shape this server does not read");
            return;
        };
        let added = {
            let mut listed = self.found.lock().unwrap_or_else(PoisonError::into_inner);
            found
                .into_iter()
                .filter(|tool| {
                    self.listing().lists(&tool.name) && !self.listing().always_loaded(&tool.name)
                })
                .map(|tool| listed.insert(tool.name))
                // Every tool is inserted: count, do not stop at the first new one.
                .filter(|&new| new)
                .count()
                > 0
        };
        if added {
            // Sent before the call's result, so a client that lists again
            // on seeing the result already knows its list is stale.
            if let Err(error) = context.peer.notify_tool_list_changed().await {
                tracing::debug!(%error, "tools/list_changed could not be sent");
            }
        }
    }
}

/// Registers the run-time `tool_search` in `executor`'s registry unless a
/// tool of that name (the built-in one) is there already.
fn ensure_search_tool(executor: &Executor) {
    let registry = executor.registry();
    if registry.get(TOOL_SEARCH).is_none() {
        // Refused only if another server registered it meanwhile: then
        // there is one, which is all that is needed.
        let _ = registry.register_tool(search_tool());
    }
}

/// Who can approve a call of `tool` from the client of `context`, on a
/// handshake revision: the client, when it declared elicitation; else
/// nobody, and why.
fn asker(context: &RequestContext<RoleServer>, tool: &str) -> Asker {
    if declares_elicitation(context) {
        Asker::Client(context.peer.clone())
    } else {
        Asker::Nobody(format!(
            "a person must approve calls to `{tool}`, and this MCP client did not declare the elicitation capability, so it cannot be asked (a client that answers elicitation can approve it, or the policy can `allow` it)"
        ))
    }
}

/// Whether the client of `context` says it can ask its user (elicitation).
fn declares_elicitation(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .is_some_and(|capabilities| capabilities.elicitation.is_some())
}

/// Whether the request's revision wants `outputSchema` and
/// `structuredContent` to be objects: every one before 2026-07-28.
fn requires_objects(context: &RequestContext<RoleServer>) -> bool {
    // ISO dates compare as text the way they do in time.
    context
        .protocol_version()
        .is_none_or(|version| version.as_str() < ProtocolVersion::V_2026_07_28.as_str())
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = if self.discovery.defers() {
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build()
        } else {
            ServerCapabilities::builder().enable_tools().build()
        };
        ServerConfig::new(capabilities).with_server_info(self.info.clone())
    }

    fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListToolsResult, ErrorData>> + MaybeSendFuture + '_ {
        let cursor = request.and_then(|request| request.cursor);
        let legacy = requires_objects(&context);
        let deferred = self.discovery.defers();
        let found = self.found.lock().unwrap_or_else(PoisonError::into_inner);
        // The stateless revision has no session to remember a search in:
        // its list is the always-loaded tools, the same on every replica.
        let shown = |name: &str, always_loaded: bool| {
            !deferred || always_loaded || (legacy && found.contains(name))
        };
        let page = self
            .listing()
            .page(cursor.as_deref(), self.page_size, legacy, shown);
        drop(found);
        std::future::ready(match page {
            Ok(page) => {
                let mut result = ListToolsResult::with_all_items(page.tools);
                result.next_cursor = page.next_cursor;
                if !legacy {
                    // The list says what this server's policy allows: for the
                    // client that asked, not for shared caches.
                    result = result
                        .with_ttl_ms(LIST_TTL_MS)
                        .with_cache_scope(CacheScope::Private);
                }
                Ok(result)
            }
            Err(BadCursor) => Err(ErrorData::invalid_params(
                "this cursor was not handed out by this server; list again without one",
                None,
            )),
        })
    }

    fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CallToolResponse, ErrorData>> + MaybeSendFuture + '_ {
        self.call(request, context)
    }
}
