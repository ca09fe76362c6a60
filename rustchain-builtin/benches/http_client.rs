//! `http_request` per call, against what each call used to pay first:
//! building its own HTTP client (issue 13). One GET to a server on loopback
//! through an executor whose policy grants it, and one client built with the
//! settings the tool used per call, in one run.
//!
//! `cargo bench -p rustchain-builtin --bench http_client`

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rustchain_builtin as _;
use rustchain_tools::{Executor, Policy, Registry, ToolContext};

/// A loopback server answering every request with a short 200 and closing.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            // The request's head, up to its blank line.
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let reply = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
            let _ = reader.get_mut().write_all(reply.as_bytes());
        }
    });
    addr.to_string()
}

fn http_benches(c: &mut Criterion) {
    let addr = serve();
    let policy = Policy::from_toml(
        &format!("[net]\nhttp = true\nallow = [\"{addr}\"]\n"),
        "<bench>",
        Path::new("."),
    )
    .expect("the bench policy is valid");
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .build()
        .expect("an executor");
    let args = serde_json::json!({ "url": format!("http://{addr}/") });
    let call = || {
        executor
            .call_value_blocking("http_request", &args, ToolContext::new())
            .expect("granted")
    };
    assert!(call().to_value()["status"] == 200);

    let mut group = c.benchmark_group("http_request");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(30);
    group.bench_function("loopback_get", |b| b.iter(call));
    // What every call built before it could send (the settings of the
    // former per-call client; the resolver and redirect policy cost nothing
    // to install).
    group.bench_function("client_build", |b| {
        b.iter(|| {
            reqwest::Client::builder()
                .no_proxy()
                .https_only(false)
                .referer(false)
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a client")
        })
    });
    group.finish();
}

criterion_group!(benches, http_benches);
criterion_main!(benches);
