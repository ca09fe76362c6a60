//! The MCP server: the runtime's executor behind the protocol's handler.

use std::sync::Arc;

use rmcp::ServerHandler;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, ErrorData, Implementation,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::{MaybeSendFuture, RequestContext, RoleServer};
use rustchain_tools::{Executor, ToolContext};
use tokio_util::task::TaskTracker;

use crate::approval::{Asker, ClientApprover, Registration};
use crate::call::{self, ProgressRelay};
use crate::listing::{BadCursor, Listing};

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
    listing: Arc<Listing>,
    page_size: usize,
    info: Implementation,
    approver: Option<ClientApprover>,
    /// The calls under way, shared by every session of this server: a
    /// server that stops waits for them, so each call's end is recorded
    /// before it returns.
    in_flight: TaskTracker,
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
    pub fn new(executor: Executor) -> McpServer {
        McpServer {
            listing: Arc::new(Listing::of(&executor)),
            executor,
            page_size: DEFAULT_PAGE_SIZE,
            info: Implementation::new("rustchain", env!("CARGO_PKG_VERSION")),
            approver: None,
            in_flight: TaskTracker::new(),
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
        let name = request.name.as_ref();
        let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let caller = call::caller(
            context.client_info().map(|client| client.name),
            context.id.to_string(),
        );
        let mut ctx = ToolContext::new()
            .with_cancellation(context.ct.clone())
            .with_caller(caller);
        // Held until the call ends: whom its approval (if any) goes to.
        let _asker: Option<Registration> = self
            .approver
            .as_ref()
            .map(|approver| approver.register(Arc::from(ctx.call_id()), asker(&context, name)));
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
        let wrap = requires_objects(&context) && self.listing.wraps_output(name);
        call::result(name, outcome, wrap).map(CallToolResponse::Complete)
    }
}

/// Who can approve a call of `tool` from the client of `context`: the
/// client, when it declared elicitation on a revision that lets a server
/// ask mid-call; else nobody, and why.
fn asker(context: &RequestContext<RoleServer>, tool: &str) -> Asker {
    if !requires_objects(context) {
        return Asker::Nobody(format!(
            "a person must approve calls to `{tool}`, and the 2026-07-28 revision asks through input-required results, which this server does not send yet; connect with a 2025-11-25 session to be asked"
        ));
    }
    let declared = context
        .client_capabilities()
        .is_some_and(|capabilities| capabilities.elicitation.is_some());
    if declared {
        Asker::Client(context.peer.clone())
    } else {
        Asker::Nobody(format!(
            "a person must approve calls to `{tool}`, and this MCP client did not declare the elicitation capability, so it cannot be asked"
        ))
    }
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
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(self.info.clone())
    }

    fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListToolsResult, ErrorData>> + MaybeSendFuture + '_ {
        let cursor = request.and_then(|request| request.cursor);
        let legacy = requires_objects(&context);
        let page = self.listing.page(cursor.as_deref(), self.page_size, legacy);
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
