//! The server's translation, driven in-process with raw JSON-RPC lines:
//! the handshake, pagination, protocol errors, the audit record of a call,
//! and what reaches the output.

use std::sync::Arc;

use rustchain::{Executor, Registry, tool};
use rustchain_mcp::McpServer;
use rustchain_tools::exec::MemoryAudit;
use serde_json::{Value, json};

/// Adds two integers.
#[tool(read_only)]
fn add(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Says hello.
#[tool(title = "Greet")]
fn greet(
    /// Who to greet.
    name: String,
) -> String {
    format!("hello, {name}")
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"stdio-test","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// Serves a session of `requests` after the 2025-06-18 handshake; returns
/// every message written, and asserts the server ended cleanly.
fn session(server: McpServer, requests: &[Value]) -> Vec<Value> {
    let mut script = format!("{INITIALIZE}\n{INITIALIZED}\n");
    for request in requests {
        script.push_str(&request.to_string());
        script.push('\n');
    }
    let (written, served) = server.serve_script(script.into_bytes());
    served.expect("the end of input ends the server cleanly");
    let written = String::from_utf8(written).expect("the output is UTF-8");
    written
        .lines()
        .map(|line| {
            let message: Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("a line that is not JSON ({err}): {line}"));
            assert_eq!(message["jsonrpc"], "2.0", "only protocol messages: {line}");
            message
        })
        .collect()
}

fn reply(messages: &[Value], id: i64) -> &Value {
    messages
        .iter()
        .find(|message| message["id"] == id)
        .unwrap_or_else(|| panic!("no reply to {id} in {messages:#?}"))
}

fn server() -> McpServer {
    McpServer::new(Executor::new(Registry::global()))
}

#[test]
fn the_2025_06_18_handshake_is_answered_in_that_revision() {
    let messages = session(server().named("stdio-test-server", "9.9.9"), &[]);
    let init = &reply(&messages, 0)["result"];
    assert_eq!(init["protocolVersion"], "2025-06-18");
    assert_eq!(init["serverInfo"]["name"], "stdio-test-server");
    assert!(init["capabilities"]["tools"].is_object());
}

#[test]
fn pages_follow_opaque_cursors_in_name_order_and_a_foreign_cursor_is_refused() {
    let list = |id: i64, cursor: Option<&str>| json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": cursor.map(|c| json!({"cursor": c})).unwrap_or(json!({}))});
    let first = session(server().page_size(1), &[list(1, None)]);
    let page = &reply(&first, 1)["result"];
    assert_eq!(page["tools"][0]["name"], "add");
    let cursor = page["nextCursor"].as_str().expect("a second page");
    assert!(!cursor.contains("add"), "the cursor is opaque: {cursor}");
    let second = session(
        server().page_size(1),
        &[list(2, Some(cursor)), list(3, Some("not-ours"))],
    );
    let page = &reply(&second, 2)["result"];
    assert_eq!(page["tools"][0]["name"], "greet");
    assert_eq!(page["tools"][0]["title"], "Greet");
    assert!(page.get("nextCursor").is_none(), "the last page: {page}");
    assert_eq!(reply(&second, 3)["error"]["code"], -32602);
}

#[test]
fn an_unknown_method_is_answered_32601_and_the_session_goes_on() {
    let messages = session(
        server(),
        &[
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/frobnicate", "params": {}}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 40}}}),
        ],
    );
    assert_eq!(reply(&messages, 1)["error"]["code"], -32601);
    let result = &reply(&messages, 2)["result"];
    assert_eq!(result["structuredContent"], json!({"result": 42}));
    assert_eq!(result["content"][0]["text"], "42");
}

#[test]
fn the_request_id_and_the_client_name_reach_every_audit_record() {
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .audit(audit.clone())
        .build()
        .expect("no policy to refuse");
    let messages = session(
        McpServer::new(executor),
        &[
            json!({"jsonrpc": "2.0", "id": "call-7", "method": "tools/call", "params": {"name": "greet", "arguments": {"name": "Ada"}}}),
            json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "greet", "arguments": {"nom": "Ada"}}}),
        ],
    );
    assert_eq!(reply(&messages, 8)["result"]["isError"], true);
    let events = audit.events();
    assert_eq!(
        events.len(),
        3,
        "a decision and a result, then one refusal: {events:#?}"
    );
    for event in &events {
        assert_eq!(event["client.name"], "stdio-test", "{event}");
    }
    // Requests run concurrently, so their records may interleave.
    let mut ids: Vec<&str> = events
        .iter()
        .map(|event| event["request.id"].as_str().expect("a request id"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["8", "call-7", "call-7"]);
}

#[test]
fn input_that_ends_before_a_session_starts_ends_the_server_cleanly() {
    let (written, served) = server().serve_script(Vec::new());
    served.expect("nothing to serve is not an error");
    assert!(written.is_empty());
}
