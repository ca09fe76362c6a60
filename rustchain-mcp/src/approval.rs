//! Approval through MCP elicitation: when the policy says `ask`, the client
//! that made the call asks its user.
//!
//! The executor has one approver for every call, while each call comes from
//! its own client (one per stdio process, many over HTTP). So the server
//! notes, for each running call, whom to ask, keyed by the call's id (the
//! id the executor hands the approver), and forgets it when the call ends.
//! A call whose client cannot be asked is refused with the reason, which
//! the executor records and the model reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rmcp::model::{ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema};
use rmcp::service::{Peer, RoleServer};
use rustchain_tools::exec::{ApprovalError, ApprovalFuture, ApprovalRequest, Approver};

/// The property of the elicitation form the user answers with.
const APPROVE: &str = "approve";

/// Asks the MCP client that made a call to approve it, through elicitation.
///
/// Give a clone to the executor's settings (`Settings::approver`) and one
/// to the server ([`McpServer::approving_through`]): the server says which
/// client made each call, the executor asks this approver.
/// [`serve_stdio`](crate::serve_stdio) and `rustchain mcp serve` do both.
///
/// ```
/// use rustchain_mcp::{ClientApprover, McpServer};
/// use rustchain_tools::{Executor, Registry};
///
/// let approver = ClientApprover::new();
/// let executor = Executor::builder(Registry::global())
///     .approver(approver.clone())
///     .build()
///     .expect("an executor");
/// let server = McpServer::new(executor).approving_through(approver);
/// ```
///
/// [`McpServer::approving_through`]: crate::McpServer::approving_through
#[derive(Clone, Default)]
pub struct ClientApprover {
    asking: Arc<Mutex<HashMap<Arc<str>, Asker>>>,
}

impl std::fmt::Debug for ClientApprover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientApprover").finish_non_exhaustive()
    }
}

/// Whom a call's approval goes to, and whether it can be asked at all.
#[derive(Clone)]
pub(crate) enum Asker {
    /// The client declared elicitation: ask it.
    Client(Peer<RoleServer>),
    /// A client of the 2026-07-28 revision, which is asked by the call's
    /// result (input required) rather than mid-call: the approver refuses
    /// this round and leaves the question here for the server to send.
    Later(Arc<Mutex<Option<String>>>),
    /// The answer a 2026-07-28 client brought back with the repeated call.
    Answered(String),
    /// It cannot be asked; the reason is the refusal.
    Nobody(String),
}

impl ClientApprover {
    /// An approver that knows no call yet.
    pub fn new() -> ClientApprover {
        ClientApprover::default()
    }

    /// Notes whom to ask about the call `call_id` until the returned guard drops.
    pub(crate) fn register(&self, call_id: Arc<str>, asker: Asker) -> Registration {
        self.lock().insert(Arc::clone(&call_id), asker);
        Registration {
            approver: self.clone(),
            call_id,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Asker>> {
        self.asking.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Forgets a call's asker when the call ends, however it ends.
pub(crate) struct Registration {
    approver: ClientApprover,
    call_id: Arc<str>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.approver.lock().remove(&self.call_id);
    }
}

impl Approver for ClientApprover {
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        let asker = self.lock().get(request.call_id.as_str()).cloned();
        Box::pin(async move {
            match asker {
                Some(Asker::Client(peer)) => elicit(&peer, request).await,
                Some(Asker::Later(question)) => {
                    *question.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(question_for(request));
                    Err(ApprovalError::new(format!(
                        "input required: a person must approve calls to `{}`; the client was asked in the result (2026-07-28 input-required) and the call runs when it is repeated with a yes",
                        request.tool
                    )))
                }
                Some(Asker::Answered(answer)) => Ok(answer),
                Some(Asker::Nobody(why)) => Err(ApprovalError::new(why)),
                None => Err(ApprovalError::new(
                    "the call did not come from an MCP client that can be asked",
                )),
            }
        })
    }
}

/// What the person is asked about a call.
fn question_for(request: &ApprovalRequest) -> String {
    format!(
        "Approve this tool call? ({})\ntool: {}\narguments: {}",
        request.rule, request.tool, request.arguments
    )
}

/// The approval form: one required `approve` box, unticked.
pub(crate) fn approval_form(message: String) -> Result<ElicitRequestParams, String> {
    let schema = ElicitationSchema::builder()
        .required_bool_property(APPROVE, |b| {
            b.description("true to let this call run")
                .with_default(false)
        })
        .build()
        .map_err(|err| format!("the approval form cannot be built: {err}"))?;
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    })
}

/// Asks the client's user; only an accepted form with `approve: true` is a yes.
async fn elicit(
    peer: &Peer<RoleServer>,
    request: &ApprovalRequest,
) -> Result<String, ApprovalError> {
    let params = approval_form(question_for(request)).map_err(ApprovalError::new)?;
    let answer = peer
        .create_elicitation(params)
        .await
        .map_err(|err| ApprovalError::new(format!("the client could not ask: {err}")))?;
    Ok(answer_of(&answer))
}

/// The approver's answer for the person's answer to the form: `yes` only
/// for an accepted form with `approve: true`, else why not.
pub(crate) fn answer_of(answer: &ElicitResult) -> String {
    let approved = answer
        .content
        .as_ref()
        .and_then(|content| content.get(APPROVE))
        .and_then(serde_json::Value::as_bool);
    match (&answer.action, approved) {
        (ElicitationAction::Accept, Some(true)) => "yes".to_owned(),
        (ElicitationAction::Accept, _) => "the user did not tick approve".to_owned(),
        (ElicitationAction::Decline, _) => "the user declined".to_owned(),
        (ElicitationAction::Cancel, _) => "the user cancelled".to_owned(),
        (_, _) => "the client answered neither accept nor decline".to_owned(),
    }
}
