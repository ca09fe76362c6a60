//! Hostile and broken input on stdio: the server never crashes, keeps
//! serving the well-formed requests around the bad ones, and records every
//! call it started, even when the client goes away in the middle of it.
//!
//! What the server answers: well-formed JSON of the wrong shape gets -32600
//! (Invalid Request), text that is not JSON gets -32700 (Parse error) with
//! no id (the server's own line reader, D-42; rmcp's transport drops such
//! text), and a line over 16 MiB is dropped unread.

use std::sync::Arc;
use std::time::Duration;

use rustchain::{ToolContext, tool};
use rustchain_mcp::McpServer;
use rustchain_tools::exec::MemoryAudit;
use rustchain_tools::{Executor, Registry};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

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

/// Waits `ms` milliseconds unless cancelled first.
#[tool(read_only)]
async fn wait(
    ctx: &ToolContext,
    /// How long to wait.
    ms: u64,
) -> Result<u64, String> {
    tokio::select! {
        () = ctx.cancellation().cancelled() => Err("cancelled".to_owned()),
        () = tokio::time::sleep(Duration::from_millis(ms)) => Ok(ms),
    }
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"malformed-test","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn call(id: i64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "add", "arguments": {"a": id, "b": 1}}}).to_string()
}

/// Every message the server wrote for `lines` after the handshake.
fn serve(lines: &[&str]) -> Vec<Value> {
    let mut script = format!("{INITIALIZE}\n{INITIALIZED}\n");
    for line in lines {
        script.push_str(line);
        script.push('\n');
    }
    let server = McpServer::new(Executor::new(Registry::global()));
    let (written, served) = server.serve_script(script.into_bytes());
    served.expect("bad input never stops the server");
    String::from_utf8(written)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("only JSON-RPC goes out"))
        .collect()
}

fn reply(messages: &[Value], id: i64) -> &Value {
    messages
        .iter()
        .find(|message| message["id"] == id)
        .unwrap_or_else(|| panic!("no reply to {id} in {messages:#?}"))
}

#[test]
fn text_that_is_not_json_is_a_parse_error_and_the_next_request_is_answered() {
    let (before, after) = (call(1), call(2));
    let messages = serve(&[
        &before,
        "{\"jsonrpc\": \"2.0\", \"id\": 5, \"method\": ",
        "not json at all",
        "\u{0}\u{1}\u{ff}garbage",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        &after,
    ]);
    assert_eq!(
        reply(&messages, 1)["result"]["structuredContent"],
        json!({"result": 2})
    );
    assert_eq!(
        reply(&messages, 2)["result"]["structuredContent"],
        json!({"result": 3})
    );
    let parse_errors: Vec<&Value> = messages
        .iter()
        .filter(|message| message["error"]["code"] == -32700)
        .collect();
    assert_eq!(parse_errors.len(), 4, "one per bad line: {messages:#?}");
    for error in parse_errors {
        // No id to answer: MCP (2025-11-25 on) leaves `id` out where
        // JSON-RPC 2.0 writes null; rmcp's -32600 does the same.
        assert!(error.get("id").is_none(), "{error}");
        assert_eq!(error["jsonrpc"], "2.0", "{error}");
    }
    assert_eq!(
        messages.len(),
        7,
        "the handshake, two replies and four parse errors: {messages:#?}"
    );
}

#[test]
fn json_of_the_wrong_shape_is_an_invalid_request_and_the_session_goes_on() {
    let after = call(3);
    let messages = serve(&[
        r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#,
        r#"{"id":2}"#,
        "42",
        r#"{"jsonrpc":"2.0","id":{"nested":true},"method":"tools/list"}"#,
        &after,
    ]);
    let invalid: Vec<&Value> = messages
        .iter()
        .filter(|message| message["error"]["code"] == -32600)
        .collect();
    assert!(
        !invalid.is_empty(),
        "wrong shapes are answered -32600: {messages:#?}"
    );
    assert_eq!(
        reply(&messages, 3)["result"]["structuredContent"],
        json!({"result": 4})
    );
}

#[test]
fn a_line_over_16_mib_is_dropped_without_being_kept_and_the_session_goes_on() {
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":1,"pad":"{}"}}}}}}"#,
        "x".repeat(17 * 1024 * 1024)
    );
    let after = call(4);
    let messages = serve(&[&huge, &after]);
    assert!(
        messages.iter().all(|message| message["id"] != 9),
        "the huge call is not answered: it was never read as a message"
    );
    assert_eq!(
        reply(&messages, 4)["result"]["structuredContent"],
        json!({"result": 5})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_mid_call_leaves_the_call_recorded() {
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .audit(audit.clone())
        .build()
        .expect("an executor");
    let (client, server_end) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_end);
    let served = tokio::spawn(McpServer::new(executor).serve(server_read, server_write));
    let (client_read, mut client_write) = tokio::io::split(client);
    let slow = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "wait", "arguments": {"ms": 60_000}}});
    client_write
        .write_all(format!("{INITIALIZE}\n{INITIALIZED}\n{slow}\n").as_bytes())
        .await
        .expect("sends");
    // Wait for the handshake's answer, so the call is surely under way.
    let mut lines = BufReader::new(client_read).lines();
    lines
        .next_line()
        .await
        .expect("reads")
        .expect("the handshake is answered");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The client vanishes: both directions close.
    drop(client_write);
    drop(lines);
    let ended = tokio::time::timeout(Duration::from_secs(20), served)
        .await
        .expect("the server ends when its client is gone, without waiting a minute")
        .expect("the server task does not panic");
    ended.expect("a vanished client is the end of input, not a failure");
    let events = audit.events();
    let result = events
        .iter()
        .find(|event| event["kind"] == "result" && event["gen_ai.tool.name"] == "wait")
        .unwrap_or_else(|| panic!("the call's end is recorded: {events:#?}"));
    assert_eq!(result["error.type"], "cancelled", "{result}");
}
