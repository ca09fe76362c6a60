//! Arbitrary lines to `McpServer::serve` over an in-memory duplex, after a
//! valid handshake: the server never panics, ends when its input ends
//! (within a bounded time), and writes only JSON-RPC lines.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rustchain_mcp::McpServer;
use rustchain_tools::{Executor, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// Links the tools the fuzzed calls can reach.
use rustchain_fuzz as _;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte says whether the handshake is sent first; without it
    // the fuzzed bytes are the whole session, handshake included.
    let Some((flags, lines)) = data.split_first() else {
        return;
    };
    let mut script = Vec::new();
    if flags & 1 == 1 {
        script.extend_from_slice(format!("{INITIALIZE}\n{INITIALIZED}\n").as_bytes());
    }
    script.extend_from_slice(lines);
    runtime().block_on(async move {
        let server = McpServer::new(Executor::new(Registry::global()));
        let (client, server_end) = tokio::io::duplex(64 * 1024);
        let (server_read, server_write) = tokio::io::split(server_end);
        let served = tokio::spawn(server.serve(server_read, server_write));
        let (mut client_read, mut client_write) = tokio::io::split(client);
        let collect = tokio::spawn(async move {
            let mut written = Vec::new();
            let _ = client_read.read_to_end(&mut written).await;
            written
        });
        // The whole script, then end of input: the server must wind down.
        let _ = client_write.write_all(&script).await;
        let _ = client_write.shutdown().await;
        drop(client_write);
        let ended = tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .expect("the server ends within 10 s of its input ending");
        // A session that could not start is an error, not a panic.
        let _ = ended.expect("the server task does not panic");
        let written = tokio::time::timeout(Duration::from_secs(10), collect)
            .await
            .expect("the output ends with the server")
            .expect("the collector does not panic");
        let written = String::from_utf8(written).expect("the server writes UTF-8");
        for line in written.lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|err| panic!("not JSON ({err}): {line:?}"));
        }
    });
});
