//! The wire's `tools/call` fast path (D-42) changes nothing a client or an
//! auditor can see: a plain call (taken by the fast path) and the same call
//! with an empty `_meta` (which sends it through rmcp) give the same reply
//! and the same audit records, apart from ids and times; and
//! `notifications/cancelled` still cancels a plain call under way.

use std::sync::Arc;
use std::time::Duration;

use rustchain::{ToolContext, tool};
use rustchain_mcp::McpServer;
use rustchain_tools::exec::MemoryAudit;
use rustchain_tools::{Executor, Registry};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Counts the words of a text.
#[tool(read_only)]
fn count_words(
    /// The text.
    text: String,
) -> usize {
    text.split_whitespace().count()
}

/// Lists the letters of a word.
#[tool(read_only)]
fn letters(
    /// The word.
    word: String,
) -> Vec<String> {
    word.chars().map(String::from).collect()
}

/// Waits `ms` milliseconds unless cancelled first.
#[tool(read_only)]
async fn pause(
    ctx: &ToolContext,
    /// How long to wait.
    ms: u64,
) -> Result<u64, String> {
    tokio::select! {
        () = ctx.cancellation().cancelled() => Err("cancelled".to_owned()),
        () = tokio::time::sleep(Duration::from_millis(ms)) => Ok(ms),
    }
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"fast-path-test","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The fields of an audit record that differ from call to call whatever
/// path it takes.
const PER_CALL: &[&str] = &["request.id", "gen_ai.tool.call.id", "duration_us"];

fn executor(audit: &Arc<MemoryAudit>) -> Executor {
    Executor::builder(Registry::global())
        .audit(audit.clone())
        .build()
        .expect("no policy to refuse")
}

/// Serves `lines` after the handshake: the raw reply lines by id.
fn serve(server: McpServer, lines: &[String]) -> Vec<String> {
    let mut script = format!("{INITIALIZE}\n{INITIALIZED}\n");
    for line in lines {
        script.push_str(line);
        script.push('\n');
    }
    let (written, served) = server.serve_script(script.into_bytes());
    served.expect("the end of input ends the server cleanly");
    String::from_utf8(written)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The reply to `id`, as written, with its id replaced by `0`.
fn reply_text(replies: &[String], id: &str) -> String {
    let marker = format!(r#""id":{id}"#);
    let line = replies
        .iter()
        .find(|line| line.contains(&marker))
        .unwrap_or_else(|| panic!("no reply to {id} in {replies:#?}"));
    line.replacen(&marker, r#""id":0"#, 1)
}

/// The records of the call whose request id is `id`, without what differs
/// from call to call.
fn records_of(events: &[Value], id: &str) -> Vec<Value> {
    let records: Vec<Value> = events
        .iter()
        .filter(|event| event["request.id"] == id)
        .map(|event| {
            let mut event = event.clone();
            let object = event.as_object_mut().expect("a record is an object");
            for field in PER_CALL {
                object.remove(*field);
            }
            event
        })
        .collect();
    assert!(!records.is_empty(), "no records of {id} in {events:#?}");
    records
}

fn plain(id: i64, tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}).to_string()
}

/// The same call with an empty `_meta`: not plain, so rmcp handles it.
fn through_rmcp(id: i64, tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments, "_meta": {}}}).to_string()
}

#[test]
fn a_fast_call_and_an_rmcp_call_reply_and_record_the_same() {
    let cases = [
        ("count_words", json!({"text": "one two  three"})),
        // A non-object output: wrapped in the structured content.
        ("letters", json!({"word": "abc"})),
        // Invalid arguments: an isError result and a refusal record.
        ("count_words", json!({"txt": "x"})),
        ("count_words", json!({"text": 5})),
    ];
    for (tool, arguments) in cases {
        let audit = Arc::new(MemoryAudit::new());
        let lines = [
            plain(1, tool, arguments.clone()),
            through_rmcp(2, tool, arguments.clone()),
        ];
        let replies = serve(McpServer::new(executor(&audit)), &lines);
        let (fast, slow) = (reply_text(&replies, "1"), reply_text(&replies, "2"));
        assert_eq!(fast, slow, "{tool} {arguments}");
        let events = audit.events();
        assert_eq!(
            records_of(&events, "1"),
            records_of(&events, "2"),
            "{tool} {arguments}: {events:#?}"
        );
        for event in &events {
            assert_eq!(event["client.name"], "fast-path-test", "{event}");
        }
    }
}

#[test]
fn an_unknown_tool_is_the_same_protocol_error_on_both_paths() {
    let audit = Arc::new(MemoryAudit::new());
    let lines = [
        plain(1, "no_such_tool", json!({})),
        through_rmcp(2, "no_such_tool", json!({})),
    ];
    let replies = serve(McpServer::new(executor(&audit)), &lines);
    let fast = reply_text(&replies, "1");
    assert_eq!(fast, reply_text(&replies, "2"));
    assert!(fast.contains("-32602"), "{fast}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_fast_call_is_cancelled_recorded_and_not_answered() {
    let audit = Arc::new(MemoryAudit::new());
    let (client, server_end) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_end);
    let served = tokio::spawn(McpServer::new(executor(&audit)).serve(server_read, server_write));
    let (client_read, mut client_write) = tokio::io::split(client);
    let mut lines = BufReader::new(client_read).lines();
    client_write
        .write_all(format!("{INITIALIZE}\n{INITIALIZED}\n").as_bytes())
        .await
        .expect("sends");
    lines
        .next_line()
        .await
        .expect("reads")
        .expect("the handshake");
    let slow = plain(7, "pause", json!({"ms": 60_000}));
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "changed my mind"}});
    let after = plain(8, "count_words", json!({"text": "still here"}));
    client_write
        .write_all(format!("{slow}\n").as_bytes())
        .await
        .expect("sends");
    tokio::time::sleep(Duration::from_millis(100)).await;
    client_write
        .write_all(format!("{cancel}\n{after}\n").as_bytes())
        .await
        .expect("sends");
    // The next reply is the later call's: the cancelled one gets none.
    let next = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the later call is answered at once")
        .expect("reads")
        .expect("a reply");
    let next: Value = serde_json::from_str(&next).expect("JSON");
    assert_eq!(next["id"], 8, "{next}");
    assert_eq!(next["result"]["structuredContent"], json!({"result": 2}));
    // The end of input (the read half stays open to see the rest).
    client_write.shutdown().await.expect("closes");
    let rest = tokio::time::timeout(Duration::from_secs(20), async {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(line);
        }
        rest
    })
    .await
    .expect("the server ends with its input");
    assert!(rest.is_empty(), "no reply to the cancelled call: {rest:?}");
    served
        .await
        .expect("no panic")
        .expect("the end of input ends the server cleanly");
    let events = audit.events();
    let ended = events
        .iter()
        .find(|event| event["kind"] == "result" && event["request.id"] == "7")
        .unwrap_or_else(|| panic!("the cancelled call's end is recorded: {events:#?}"));
    assert_eq!(ended["error.type"], "cancelled", "{ended}");
}
