//! Calls the policy marks `ask` under the MCP server, without a client that
//! can answer: a client that did not declare elicitation is refused with a
//! reason, and the refusal is recorded. (Accepting and declining through a
//! real client's elicitation: `tests/fixtures/mcp-server/tests/python_sdk.rs`.)

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
