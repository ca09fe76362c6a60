//! Calls the policy marks `ask` under the MCP server: a client that did not
//! declare elicitation is refused with a reason, and the refusal is
//! recorded; a 2026-07-28 client is asked through an input-required result
//! whose answer counts only for the call asked about. (Accepting and
//! declining through a real client: `tests/fixtures/mcp-server/tests/python_sdk.rs`.)

use std::path::Path;
use std::sync::Arc;

use rustchain::tool;
use rustchain_mcp::{ClientApprover, McpServer};
use rustchain_tools::exec::MemoryAudit;
use rustchain_tools::{Executor, Policy, Registry};
use serde_json::{Value, json};

/// Deletes nothing, but the policy wants a person to approve it.
#[tool]
fn approval_delete(
    /// What would be deleted.
    what: String,
) -> String {
    format!("deleted {what}")
}

const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn server(approver: Option<ClientApprover>) -> (McpServer, Arc<MemoryAudit>) {
    let policy = Policy::from_toml(
        "default = \"allow\"\n[tools]\nask = [\"approval_*\"]\n[approval]\ntimeout = \"5s\"\n",
        "approval.toml",
        Path::new("."),
    )
    .expect("the policy loads");
    let audit = Arc::new(MemoryAudit::new());
    let mut builder = Executor::builder(Registry::global())
        .policy(policy)
        .audit(audit.clone());
    if let Some(approver) = &approver {
        builder = builder.approver(approver.clone());
    }
    let mut server = McpServer::new(builder.build().expect("an executor"));
    if let Some(approver) = approver {
        server = server.approving_through(approver);
    }
    (server, audit)
}

/// The reply to one `tools/call` of `approval_delete` after a handshake
/// declaring `capabilities`.
fn call(server: McpServer, capabilities: Value) -> Value {
    let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":capabilities,
        "clientInfo":{"name":"approval-test","version":"1"}}});
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{
        "name":"approval_delete","arguments":{"what":"everything"}}});
    let script = format!("{initialize}\n{INITIALIZED}\n{call}\n");
    let (written, served) = server.serve_script(script.into_bytes());
    served.expect("the server ends cleanly");
    String::from_utf8(written)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON"))
        .find(|message| message["id"] == 1)
        .expect("a reply to the call")
}

#[test]
fn a_client_without_elicitation_is_refused_with_the_reason_and_recorded() {
    let approver = ClientApprover::new();
    let (server, audit) = server(Some(approver));
    let reply = call(server, json!({}));
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = reply["result"]["content"][0]["text"]
        .as_str()
        .expect("a message");
    assert!(
        text.starts_with("denied:") && text.contains("did not declare the elicitation capability"),
        "{text}"
    );
    let events = audit.events();
    let decision = events
        .iter()
        .find(|event| event["gen_ai.tool.name"] == "approval_delete")
        .expect("the refusal is recorded");
    assert_eq!(decision["decision"], "ask_denied", "{decision}");
}

#[test]
fn without_a_client_approver_ask_denies_as_before() {
    let (server, audit) = server(None);
    let reply = call(server, json!({"elicitation": {}}));
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = reply["result"]["content"][0]["text"]
        .as_str()
        .expect("a message");
    assert!(text.contains("no approver is configured"), "{text}");
    assert!(!audit.events().is_empty());
}

#[test]
fn a_client_that_never_answers_is_a_no_and_the_refusal_is_recorded() {
    // The client declares elicitation, then its input ends (it went away
    // mid-call): no answer comes back.
    let approver = ClientApprover::new();
    let (server, audit) = server(Some(approver));
    let started = std::time::Instant::now();
    let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{"elicitation":{}},
        "clientInfo":{"name":"approval-test","version":"1"}}});
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{
        "name":"approval_delete","arguments":{"what":"everything"}}});
    let script = format!("{initialize}\n{INITIALIZED}\n{call}\n");
    let (written, served) = server.serve_script(script.into_bytes());
    served.expect("the server ends cleanly");
    // The session is over before the question could go out; whether it did
    // is the transport's business, the answer is no either way.
    drop(written);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "bounded by the approval timeout"
    );
    let events = audit.events();
    let refusal = events
        .iter()
        .find(|event| event["gen_ai.tool.name"] == "approval_delete")
        .unwrap_or_else(|| panic!("the refusal is recorded: {events:?}"));
    // The approval timeout ended the call before it was allowed: recorded
    // as an error, never as approved, and the tool never ran.
    assert!(
        refusal["decision"] == "ask_denied" || refusal["outcome"] == "error",
        "{refusal}"
    );
    assert!(
        !events
            .iter()
            .any(|event| event["decision"] == "ask_approved" || event["outcome"] == "ok"),
        "{events:?}"
    );
}

/// The reply to one stateless (2026-07-28) `tools/call` of
/// `approval_delete` with `arguments` and the extra `params`, from a client
/// that declares elicitation.
fn call_stateless(server: McpServer, arguments: Value, extra: Value) -> Value {
    let mut params = json!({
        "name": "approval_delete",
        "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "approval-test", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}}
        }
    });
    if let (Some(params), Value::Object(extra)) = (params.as_object_mut(), extra) {
        params.extend(extra);
    }
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let (written, served) = server.serve_script(format!("{call}\n").into_bytes());
    served.expect("the server ends cleanly");
    String::from_utf8(written)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON"))
        .find(|message| message["id"] == 1)
        .expect("a reply to the call")
}

fn text(reply: &Value) -> &str {
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a message: {reply}"))
}

#[test]
fn a_stateless_client_is_asked_in_the_result_and_its_yes_runs_the_very_call_asked_about() {
    let (server, audit) = server(Some(ClientApprover::new()));
    let what = json!({"what": "everything"});
    let asked = call_stateless(server.clone(), what.clone(), json!({}));
    let result = &asked["result"];
    assert_eq!(result["resultType"], "input_required", "{asked}");
    let form = &result["inputRequests"]["approval"];
    assert_eq!(form["method"], "elicitation/create", "{asked}");
    let message = form["params"]["message"].as_str().expect("a question");
    assert!(
        message.contains("approval_delete") && message.contains("everything"),
        "the person sees the tool and its arguments: {message}"
    );
    let state = result["requestState"].as_str().expect("a state").to_owned();
    let yes = json!({"approval": {"action": "accept", "content": {"approve": true}}});
    let ran = call_stateless(
        server.clone(),
        what.clone(),
        json!({"inputResponses": yes, "requestState": state}),
    );
    assert_eq!(ran["result"]["isError"], false, "{ran}");
    assert!(text(&ran).contains("deleted everything"), "{ran}");
    // The same yes for other arguments, a forged state and a no are refused.
    let other = call_stateless(
        server.clone(),
        json!({"what": "something else"}),
        json!({"inputResponses": yes, "requestState": state}),
    );
    assert_eq!(other["result"]["isError"], true, "{other}");
    assert!(
        text(&other).contains("was not sealed for `approval_delete` with these arguments"),
        "{other}"
    );
    let forged = call_stateless(
        server.clone(),
        what.clone(),
        json!({"inputResponses": yes, "requestState": "rc1.99999999999.00"}),
    );
    assert!(
        text(&forged).contains("was not sealed for `approval_delete` with these arguments"),
        "{forged}"
    );
    let no = json!({"approval": {"action": "decline"}});
    let declined = call_stateless(
        server.clone(),
        what.clone(),
        json!({"inputResponses": no, "requestState": state}),
    );
    assert!(
        text(&declined).starts_with("denied:") && text(&declined).contains("declined"),
        "{declined}"
    );
    let answers_without_state = call_stateless(server, what, json!({"inputResponses": yes}));
    assert_eq!(answers_without_state["result"]["isError"], true);
    // Every round is recorded: asked (input required), approved, and the
    // three refusals.
    let decisions: Vec<Value> = audit
        .events()
        .into_iter()
        .filter(|event| event["kind"] == "decision")
        .map(|event| event["decision"].clone())
        .collect();
    assert_eq!(
        decisions,
        [
            "ask_denied",
            "ask_approved",
            "ask_denied",
            "ask_denied",
            "ask_denied",
            "ask_denied"
        ],
        "{:#?}",
        audit.events()
    );
}

#[test]
fn a_stateless_client_without_elicitation_is_refused_with_how_to_approve() {
    let (server, audit) = server(Some(ClientApprover::new()));
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
    "name": "approval_delete", "arguments": {"what": "x"},
    "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "approval-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    }}});
    let (written, served) = server.serve_script(format!("{call}\n").into_bytes());
    served.expect("the server ends cleanly");
    let written = String::from_utf8(written).expect("UTF-8");
    assert!(!written.contains("input_required"), "{written}");
    assert!(
        written.contains("did not declare the elicitation capability"),
        "{written}"
    );
    assert!(
        audit
            .events()
            .iter()
            .any(|event| event["decision"] == "ask_denied")
    );
}
