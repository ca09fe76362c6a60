//! Who may reach the server over streamable HTTP: a missing or wrong bearer
//! token is a 401 and nothing else (no session, no call, no record), a
//! browser page of another origin is refused, and a non-loopback address
//! without a token does not serve at all. Driven with raw HTTP/1.1, so what
//! is asserted is exactly what went over the wire.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustchain::tool;
use rustchain_mcp::{BearerToken, HttpAccess, McpServer, ServeErrorKind};
use rustchain_tools::exec::MemoryAudit;
use rustchain_tools::{Executor, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

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

const SECRET: &str = "test-secret-0123456789";

const CALL_STATELESS: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"http-test","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}"#;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"http-test","version":"1"}}}"#;

/// A server on `bind`, its address, its audit records and the switch that stops it.
struct Running {
    addr: SocketAddr,
    audit: Arc<MemoryAudit>,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<Result<(), rustchain_mcp::ServeError>>,
}

async fn start(bind: &str, access: HttpAccess) -> Running {
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .audit(audit.clone())
        .build()
        .expect("an executor");
    let listener = TcpListener::bind(bind).await.expect("a port");
    let addr = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(
        McpServer::new(executor).serve_http(listener, access, async {
            let _ = stopped.await;
        }),
    );
    Running {
        addr,
        audit,
        stop: Some(stop),
        served,
    }
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(5), self.served)
            .await
            .expect("the server stops when told")
            .expect("the server task does not panic")
            .expect("the server ends cleanly");
    }
}

/// The status line and the whole response of one POST to `path`.
async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", addr.port()))
        .await
        .expect("connects");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: add\r\nContent-Length: {}\r\nConnection: close\r\n",
        addr.port(),
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("sends");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("an answer within 10 s")
        .expect("reads");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response}"));
    (status, response)
}

#[tokio::test]
async fn a_loopback_server_without_a_token_answers_a_call() {
    let server = start("127.0.0.1:0", HttpAccess::new()).await;
    let (status, response) = post(server.addr, "/mcp", &[], CALL_STATELESS).await;
    assert_eq!(status, 200, "{response}");
    assert!(response.contains(r#""structuredContent":5"#), "{response}");
    assert_eq!(server.audit.events().len(), 2, "a decision and a result");
    server.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_a_401_and_nothing_else_happens() {
    let token = BearerToken::new(SECRET).expect("a token");
    let server = start("127.0.0.1:0", HttpAccess::new().token(token)).await;
    let wrong = format!("Bearer {SECRET}x");
    let lower = format!("bearer{SECRET}");
    for headers in [
        vec![],
        vec![("Authorization", wrong.as_str())],
        vec![("Authorization", lower.as_str())],
        vec![("Authorization", SECRET)],
        vec![("Authorization", "Bearer ")],
    ] {
        for body in [CALL_STATELESS, INITIALIZE] {
            let (status, response) = post(server.addr, "/mcp", &headers, body).await;
            assert_eq!(status, 401, "{headers:?}: {response}");
            assert!(
                response
                    .to_ascii_lowercase()
                    .contains("www-authenticate: bearer"),
                "{response}"
            );
            assert!(
                !response.contains("jsonrpc"),
                "no protocol answer: {response}"
            );
            assert!(
                !response.to_ascii_lowercase().contains("mcp-session-id"),
                "no session: {response}"
            );
        }
    }
    assert!(
        server.audit.events().is_empty(),
        "no call was made or recorded: {:?}",
        server.audit.events()
    );
    let right = format!("Bearer {SECRET}");
    let (status, response) = post(
        server.addr,
        "/mcp",
        &[("Authorization", &right)],
        CALL_STATELESS,
    )
    .await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(server.audit.events().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_page_of_another_origin_is_refused_and_the_own_origin_is_not() {
    let server = start(
        "127.0.0.1:0",
        HttpAccess::new().allow_origin("https://console.example.com"),
    )
    .await;
    for evil in [
        "https://evil.example",
        "http://localhost.evil.example",
        "null",
        "http://127.0.0.1:1",
    ] {
        let (status, response) =
            post(server.addr, "/mcp", &[("Origin", evil)], CALL_STATELESS).await;
        assert_eq!(status, 403, "{evil}: {response}");
    }
    assert!(
        server.audit.events().is_empty(),
        "refused pages call nothing"
    );
    let own = format!("http://127.0.0.1:{}", server.addr.port());
    let localhost = format!("http://localhost:{}", server.addr.port());
    for good in [
        own.as_str(),
        localhost.as_str(),
        "https://console.example.com",
    ] {
        let (status, response) =
            post(server.addr, "/mcp", &[("Origin", good)], CALL_STATELESS).await;
        assert_eq!(status, 200, "{good}: {response}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_rebinding_host_name_is_refused_on_loopback() {
    let server = start("127.0.0.1:0", HttpAccess::new()).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connects");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: attacker.example:{}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{CALL_STATELESS}",
        server.addr.port(),
        CALL_STATELESS.len()
    );
    stream.write_all(request.as_bytes()).await.expect("sends");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(server.audit.events().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn other_paths_are_not_the_endpoint() {
    let server = start("127.0.0.1:0", HttpAccess::new()).await;
    let (status, _) = post(server.addr, "/", &[], CALL_STATELESS).await;
    assert_eq!(status, 404);
    assert!(server.audit.events().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_non_loopback_address_needs_a_token() {
    let executor = Executor::new(Registry::global());
    let listener = TcpListener::bind("0.0.0.0:0").await.expect("a port");
    let refused = McpServer::new(executor)
        .serve_http(listener, HttpAccess::new(), std::future::pending())
        .await
        .expect_err("no token, no server");
    assert_eq!(refused.kind(), ServeErrorKind::Setup);
    assert!(refused.to_string().contains("bearer token"), "{refused}");

    // With a token it serves, to any Host name, but only with the token.
    let token = BearerToken::new(SECRET).expect("a token");
    let server = start("0.0.0.0:0", HttpAccess::new().token(token)).await;
    let (status, _) = post(server.addr, "/mcp", &[], CALL_STATELESS).await;
    assert_eq!(status, 401);
    let right = format!("Bearer {SECRET}");
    let (status, response) = post(
        server.addr,
        "/mcp",
        &[("Authorization", &right)],
        CALL_STATELESS,
    )
    .await;
    assert_eq!(status, 200, "{response}");
    server.stop().await;
}
