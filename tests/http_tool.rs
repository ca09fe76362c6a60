//! `http_request` against servers on 127.0.0.1 started here: what the policy
//! grants is reachable; every other address, however it is spelled, resolved
//! or redirected to, is refused with no connection made and a record of it.
//!
//! Safety: every address these tests could connect to, were a check broken,
//! is on loopback. Names resolve through a test resolver (never real DNS);
//! the few non-loopback literals (metadata addresses) come after loopback
//! cases in the same test, so a broken check fails there first.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustchain::exec::MemoryAudit;
use rustchain::{ErrorKind, Executor, Policy, Registry, ToolContext, ToolError};
use rustchain_builtin as _;
use rustchain_builtin::http::{Lookup, Resolver, set_resolver};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 server that counts the connections it accepts.

#[derive(Debug, Clone, Default)]
struct Received {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request, answer nothing, hang up after a while.
    Silent(Duration),
}

fn text(status: u16, body: &str) -> Reply {
    Reply::Respond {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn redirect(location: &str) -> Reply {
    Reply::Respond {
        status: 302,
        headers: vec![("Location".into(), location.into())],
        body: Vec::new(),
    }
}

struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let handler = Arc::clone(&handler);
                std::thread::spawn(move || serve(stream, &*handler));
            }
        });
        Server { addr, accepted }
    }

    /// A listener that answers 200 to anything and keeps each connection
    /// open for more requests, as a server a client would pool.
    fn keeping_alive() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut reader = BufReader::new(stream);
                    while read_request(&mut reader).is_some() {
                        let reply = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nreached";
                        if reader.get_mut().write_all(reply.as_bytes()).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Server { addr, accepted }
    }

    /// A listener that answers 200 to anything: only its count matters.
    fn counting() -> Server {
        Server::start(|_| text(200, "reached"))
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// A policy granting exactly this server's address and port, over plain http.
    fn grant(&self) -> String {
        format!("[net]\nhttp = true\nallow = [\"{}\"]\n", self.addr)
    }
}

fn serve(stream: TcpStream, handler: &dyn Fn(&Received) -> Reply) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let mut stream = reader.into_inner();
    match handler(&request) {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} Status\r\nConnection: close\r\n");
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            let _ = stream.write_all(head.as_bytes());
            if request.method != "HEAD" {
                let _ = stream.write_all(&body);
            }
        }
        Reply::Silent(linger) => std::thread::sleep(linger),
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------
// A resolver mapping test names to fixed answers, counting the questions.

#[derive(Default)]
struct TestResolver {
    /// Per name, the answer to each successive question (the last repeats).
    answers: Mutex<HashMap<String, Vec<Vec<IpAddr>>>>,
    asked: Mutex<HashMap<String, usize>>,
}

impl TestResolver {
    fn answer(&self, name: &str, answers: &[&[&str]]) {
        let answers = answers
            .iter()
            .map(|one| {
                one.iter()
                    .map(|ip| ip.parse().expect("a test address"))
                    .collect()
            })
            .collect();
        lock(&self.answers).insert(name.to_owned(), answers);
    }

    fn asked(&self, name: &str) -> usize {
        lock(&self.asked).get(name).copied().unwrap_or(0)
    }
}

impl Resolver for TestResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> Lookup<'a> {
        Box::pin(async move {
            let n = {
                let mut asked = lock(&self.asked);
                let n = asked.entry(host.to_owned()).or_default();
                *n += 1;
                *n - 1
            };
            let answers = lock(&self.answers);
            let sequence = answers.get(host).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no test answer for {host}"),
                )
            })?;
            Ok(sequence[n.min(sequence.len() - 1)].clone())
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// The test resolver, installed for the whole test binary: no test ever asks real DNS.
fn resolver() -> &'static TestResolver {
    static RESOLVER: OnceLock<Arc<TestResolver>> = OnceLock::new();
    RESOLVER.get_or_init(|| {
        let resolver = Arc::new(TestResolver::default());
        set_resolver(resolver.clone());
        resolver
    })
}

// ---------------------------------------------------------------------------
// An executor under a policy, with an in-memory audit trail.

struct Harness {
    executor: Executor,
    audit: Arc<MemoryAudit>,
}

fn harness(policy: &str) -> Harness {
    resolver();
    let policy = Policy::from_toml(policy, "<test>", Path::new(".")).expect("a valid test policy");
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .audit(audit.clone())
        .build()
        .expect("an executor");
    Harness { executor, audit }
}

impl Harness {
    fn call(&self, args: Value) -> Result<Value, ToolError> {
        self.executor
            .call_value_blocking("http_request", &args, ToolContext::new())
            .map(|out| out.to_value())
    }

    fn get(&self, url: &str) -> Result<Value, ToolError> {
        self.call(json!({ "url": url }))
    }

    /// Calls, expects a refusal of `kind`, and checks the audit trail recorded it.
    fn refused(&self, args: Value, kind: ErrorKind) -> ToolError {
        let before = self.audit.events().len();
        let err = self
            .call(args.clone())
            .expect_err("the call should be refused");
        // The error's own kind and the record's `error.type`, never read
        // from a message or let pass as `failed`: a tool body's
        // `Err(ToolError)` keeps its kind (R-113).
        assert_eq!(err.kind(), kind, "{args}: {err}");
        let events = self.audit.events();
        let recorded = events[before..].iter().any(|event| {
            (event["decision"] == "deny" && kind == ErrorKind::Denied)
                || (event["kind"] == "result"
                    && event["outcome"] == "error"
                    && event["error.type"] == kind.as_str())
        });
        assert!(
            recorded,
            "no audit record of the refusal of {args}: {events:#?}"
        );
        assert!(
            !events[before..]
                .iter()
                .any(|event| event["outcome"] == "ok"),
            "{events:#?}"
        );
        err
    }

    fn denied(&self, url: &str) -> ToolError {
        self.refused(json!({ "url": url }), ErrorKind::Denied)
    }
}

// ---------------------------------------------------------------------------

#[test]
fn denied_under_the_default_policy_with_no_connection() {
    let server = Server::counting();
    let h = harness("");
    h.denied(&server.url("/"));
    let err = h.denied(&format!("https://{}/", server.addr));
    assert!(err.message().contains("not a granted host"), "{err}");
    assert_eq!(server.connections(), 0);
}

#[test]
fn allowed_when_the_policy_grants_that_exact_address_and_port() {
    let server = Server::start(|request| match request.path.as_str() {
        "/json" => Reply::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"items": [1, 2], "ok": true}"#.to_vec(),
        },
        _ => text(200, "hello"),
    });
    let other = Server::counting();
    let h = harness(&server.grant());

    let response = h.get(&server.url("/greeting")).expect("granted");
    assert_eq!(response["status"], 200);
    assert_eq!(response["body"], "hello");
    assert_eq!(response["truncated"], false);
    assert_eq!(
        response["headers"]["content-type"],
        "text/plain; charset=utf-8"
    );

    let response = h.get(&server.url("/json")).expect("granted");
    assert_eq!(response["json"], json!({"items": [1, 2], "ok": true}));
    assert!(response.get("body").is_none(), "{response}");

    // The same address on another port is not granted.
    h.denied(&other.url("/"));
    assert_eq!(other.connections(), 0);
    assert_eq!(server.connections(), 2);
}

#[test]
fn methods_headers_and_bodies_reach_the_server() {
    let server = Server::start(|request| Reply::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: json!({
            "method": request.method,
            "path": request.path,
            "headers": request.headers.iter().cloned().collect::<HashMap<_, _>>(),
            "body": String::from_utf8_lossy(&request.body),
        })
        .to_string()
        .into_bytes(),
    });
    let h = harness(&server.grant());

    let echo = h
        .call(json!({
            "url": server.url("/items?x=1#fragment"),
            "method": "POST",
            "headers": {"X-Trace": "abc", "Accept": "application/json"},
            "json": {"name": "widget"},
        }))
        .expect("granted")["json"]
        .clone();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/items?x=1");
    assert_eq!(echo["headers"]["x-trace"], "abc");
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["body"], r#"{"name":"widget"}"#);

    for method in ["PUT", "PATCH", "DELETE"] {
        let echo = h
            .call(json!({"url": server.url("/t"), "method": method, "body": "plain text"}))
            .expect("granted")["json"]
            .clone();
        assert_eq!(echo["method"], method);
        assert_eq!(echo["body"], "plain text");
        assert_eq!(echo["headers"]["content-type"], "text/plain; charset=utf-8");
    }

    let head = h
        .call(json!({"url": server.url("/t"), "method": "HEAD"}))
        .expect("granted");
    assert_eq!(head["status"], 200);
    assert_eq!(head["bytes"], 0);
    assert!(
        head.get("body").is_none() && head.get("json").is_none(),
        "{head}"
    );
}

#[test]
fn a_net_deny_holds_for_the_addresses_a_granted_name_resolves_to() {
    let h = harness("[net]\nallow = [\"public.test\"]\ndeny = [\"93.184.0.0/16\"]\n");
    resolver().answer("public.test", &[&["93.184.216.34"]]);
    let err = h.denied("https://public.test/");
    assert!(err.message().contains("93.184.0.0/16"), "{err}");
    assert!(err.message().contains("93.184.216.34"), "{err}");
}

#[test]
fn plain_http_needs_the_policy_to_allow_it() {
    let server = Server::counting();
    let h = harness(&format!("[net]\nallow = [\"{}\"]\n", server.addr));
    let err = h.denied(&server.url("/"));
    assert!(err.message().contains("https"), "{err}");
    assert_eq!(server.connections(), 0);
}

#[test]
fn every_spelling_of_loopback_and_every_metadata_address_is_denied() {
    let server = Server::counting();
    let port = server.port();
    let h = harness("[net]\nhttp = true\nallow = [\"granted.test\"]\n");
    for url in [
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        h.denied(&url);
    }
    assert_eq!(server.connections(), 0);
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://100.100.100.200/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://metadata.goog/",
    ] {
        h.denied(url);
    }
}

#[test]
fn metadata_names_are_denied_even_when_granted_and_never_resolved() {
    let server = Server::counting();
    for name in ["metadata.google.internal", "metadata.goog"] {
        resolver().answer(name, &[&["127.0.0.1"]]);
    }
    let h = harness(&format!(
        "[net]\nhttp = true\nallow = [\"metadata.google.internal\", \"metadata.goog\", \"{}\"]\n",
        server.addr
    ));
    for name in ["metadata.google.internal", "metadata.goog"] {
        let err = h.denied(&format!("http://{name}:{}/", server.port()));
        assert!(err.message().contains("metadata"), "{err}");
        assert_eq!(resolver().asked(name), 0);
    }
    assert_eq!(server.connections(), 0);
}

#[test]
fn a_granted_name_resolving_to_a_private_address_is_denied() {
    let server = Server::counting();
    let port = server.port();
    resolver().answer("intranet.test", &[&["127.0.0.1"]]);
    resolver().answer("mapped.test", &[&["::ffff:127.0.0.1"]]);
    let h = harness(&format!(
        "[net]\nhttp = true\nallow = [\"intranet.test:{port}\", \"mapped.test\"]\n"
    ));
    let err = h.denied(&format!("http://intranet.test:{port}/"));
    assert!(err.message().contains("loopback"), "{err}");
    h.denied(&format!("http://mapped.test:{port}/"));
    assert_eq!(server.connections(), 0);
    assert_eq!(resolver().asked("intranet.test"), 1);

    // Granting the address itself opens it.
    let h = harness(&format!(
        "[net]\nhttp = true\nallow = [\"intranet.test:{port}\", \"127.0.0.1:{port}\"]\n"
    ));
    let response = h
        .get(&format!("http://intranet.test:{port}/"))
        .expect("granted");
    assert_eq!(response["status"], 200);
    assert_eq!(server.connections(), 1);
}

#[test]
fn one_denied_answer_refuses_the_whole_request_after_one_question() {
    let server = Server::counting();
    let port = server.port();
    // Loopback first: were the check to look at only some answers, the
    // connection would land on this listener, never on the public address.
    resolver().answer("mixed.test", &[&["127.0.0.1", "93.184.216.34"]]);
    let h = harness("[net]\nhttp = true\nallow = [\"mixed.test\"]\n");
    let err = h.denied(&format!("http://mixed.test:{port}/"));
    assert!(err.message().contains("127.0.0.1"), "{err}");
    assert_eq!(resolver().asked("mixed.test"), 1);
    assert_eq!(server.connections(), 0);
}

#[test]
fn the_connection_goes_to_the_checked_answer_without_a_second_question() {
    let server = Server::counting();
    let port = server.port();
    // A rebinding resolver: the first answer is granted, later ones are not.
    resolver().answer("rebind.test", &[&["127.0.0.1"], &["127.0.0.2"]]);
    let h = harness(&format!(
        "[net]\nhttp = true\nallow = [\"rebind.test:{port}\", \"127.0.0.1:{port}\"]\n"
    ));
    let response = h
        .get(&format!("http://rebind.test:{port}/"))
        .expect("granted");
    assert_eq!(response["body"], "reached");
    assert_eq!(resolver().asked("rebind.test"), 1);
    assert_eq!(server.connections(), 1);
}

#[test]
fn redirects_are_checked_hop_by_hop() {
    let other = Server::counting();
    let other_port = other.port();
    resolver().answer("hop.test", &[&["127.0.0.1"]]);
    let server = Server::start(move |request| match request.path.as_str() {
        "/to-other-port" => redirect(&format!("http://127.0.0.1:{other_port}/")),
        "/to-encoded" => redirect(&format!("http://0x7f.1:{other_port}/")),
        "/to-v6-loopback" => redirect(&format!("http://[::1]:{other_port}/")),
        "/to-name" => redirect(&format!("http://hop.test:{other_port}/")),
        "/to-file" => redirect("file:///etc/passwd"),
        "/to-userinfo" => redirect(&format!("http://user:pw@127.0.0.1:{other_port}/")),
        "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/"),
        "/to-metadata-v6" => redirect("http://[fd00:ec2::254]/latest/meta-data/"),
        "/to-metadata-name" => redirect("http://metadata.google.internal/computeMetadata/v1/"),
        "/hop" => redirect("/final"),
        "/loop" => redirect("/loop"),
        _ => text(200, "final"),
    });
    let h = harness(&format!(
        "[net]\nhttp = true\nallow = [\"{}\", \"hop.test\"]\n",
        server.addr
    ));

    for path in [
        "/to-other-port",
        "/to-encoded",
        "/to-v6-loopback",
        "/to-name",
        "/to-file",
        "/to-userinfo",
    ] {
        let err = h.denied(&server.url(path));
        assert!(
            err.message().contains("redirect") || err.message().contains("resolves to"),
            "{path}: {err}"
        );
    }
    assert_eq!(other.connections(), 0);
    for path in ["/to-metadata", "/to-metadata-v6", "/to-metadata-name"] {
        h.denied(&server.url(path));
    }

    let followed = h.get(&server.url("/hop")).expect("a granted redirect");
    assert_eq!(followed["body"], "final");
    assert_eq!(followed["redirects"], 1);
    assert_eq!(followed["url"], server.url("/final"));

    let before = server.connections();
    let err = h
        .call(json!({"url": server.url("/loop")}))
        .expect_err("a redirect loop");
    assert!(err.message().contains("more than 5 redirects"), "{err}");
    assert_eq!(
        server.connections() - before,
        6,
        "the first request and five redirects"
    );
}

#[test]
fn calls_under_different_grants_share_a_client_but_never_each_others_grants() {
    let a = Server::counting();
    // B keeps connections open: were a client to pool them, a later call
    // could reuse one without its host being resolved and checked again.
    let b = Server::keeping_alive();
    let port_b = b.port();
    resolver().answer("shared-b.test", &[&["127.0.0.1"]]);
    let name_b = format!("http://shared-b.test:{port_b}/");
    let granted_b = harness(&format!(
        "[net]\nhttp = true\nallow = [\"shared-b.test:{port_b}\", \"127.0.0.1:{port_b}\"]\n"
    ));
    let granted_a = harness(&a.grant());
    let b_name_only = harness(&format!(
        "[net]\nhttp = true\nallow = [\"shared-b.test:{port_b}\"]\n"
    ));

    // B's call first: the shared client has resolved and reached B.
    let response = granted_b.get(&name_b).expect("granted to B");
    assert_eq!(response["body"], "reached");
    assert_eq!(b.connections(), 1);
    // A call granted only A reaches neither B's address nor B's name.
    granted_a.denied(&b.url("/"));
    granted_a.denied(&name_b);
    // Granted B's name but not its (loopback) address: B's earlier answer
    // and connection open nothing; the name is resolved and checked again.
    let asked = resolver().asked("shared-b.test");
    let err = b_name_only.denied(&name_b);
    assert!(err.message().contains("loopback"), "{err}");
    assert_eq!(resolver().asked("shared-b.test"), asked + 1);
    assert_eq!(b.connections(), 1);

    // Interleaved on several threads at once, each call keeps its own grants.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..5 {
                    assert_eq!(granted_b.get(&name_b).expect("granted to B")["status"], 200);
                    assert_eq!(
                        granted_a.get(&a.url("/")).expect("granted to A")["status"],
                        200
                    );
                    // (The audit checks of `denied` would see the other threads' calls.)
                    let err = granted_a.get(&b.url("/")).expect_err("B is not A's");
                    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
                    let err = b_name_only.get(&name_b).expect_err("an ungranted address");
                    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
                }
            });
        }
    });
    assert_eq!(b.connections(), 1 + 20);
    assert_eq!(a.connections(), 20);
}

/// Run by `proxy_variables_are_ignored` in a child process whose environment
/// names a proxy; a no-op otherwise.
#[test]
fn proxy_child_process() {
    if std::env::var_os("RUSTCHAIN_HTTP_PROXY_CHILD").is_none() {
        return;
    }
    let server = Server::counting();
    let h = harness(&server.grant());
    let response = h.get(&server.url("/direct")).expect("granted");
    assert_eq!(response["body"], "reached");
    assert_eq!(server.connections(), 1);
}

#[test]
fn proxy_variables_are_ignored() {
    let proxy = Server::counting();
    let proxy_url = format!("http://{}", proxy.addr);
    let mut child = Command::new(std::env::current_exe().expect("the test binary"));
    child.args(["--exact", "proxy_child_process", "--test-threads=1"]);
    child.env("RUSTCHAIN_HTTP_PROXY_CHILD", "1");
    for name in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ] {
        child.env(name, &proxy_url);
    }
    child.env_remove("NO_PROXY").env_remove("no_proxy");
    let output = child.output().expect("the child test runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(proxy.connections(), 0);
}

#[test]
fn a_body_longer_than_the_cap_is_truncated_and_says_so() {
    let server = Server::start(|_| text(200, &"a".repeat(100_000)));
    let h = harness(&server.grant());
    let response = h
        .call(json!({"url": server.url("/big"), "max_bytes": 1000}))
        .expect("granted");
    assert_eq!(response["truncated"], true);
    assert_eq!(response["bytes"], 1000);
    assert_eq!(response["body"].as_str().map(str::len), Some(1000));

    let whole = h.get(&server.url("/big")).expect("granted");
    assert_eq!(whole["truncated"], false);
    assert_eq!(whole["bytes"], 100_000);
}

#[test]
fn a_server_that_never_answers_hits_the_timeout() {
    let server = Server::start(|_| Reply::Silent(Duration::from_secs(3)));
    let h = harness(&server.grant());
    let started = Instant::now();
    let err = h.refused(
        json!({"url": server.url("/slow"), "timeout_ms": 300}),
        ErrorKind::Timeout,
    );
    assert!(err.message().contains("300ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // The call's own deadline bounds it too.
    let h = harness(&format!(
        "{}[limits.tool.http_request]\ntimeout = \"400ms\"\n",
        server.grant()
    ));
    let started = Instant::now();
    h.refused(json!({"url": server.url("/slow")}), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn line_breaks_in_header_values_and_client_owned_headers_are_refused() {
    let server = Server::counting();
    let h = harness(&server.grant());
    for headers in [
        json!({"X-Note": "a\r\nX-Injected: 1"}),
        json!({"X-Note": "a\nb"}),
        json!({"Bad Name": "v"}),
        json!({"Host": "internal.example"}),
        json!({"Transfer-Encoding": "chunked"}),
    ] {
        h.refused(
            json!({"url": server.url("/"), "headers": headers}),
            ErrorKind::InvalidArguments,
        );
    }
    assert_eq!(server.connections(), 0);
}

// ---------------------------------------------------------------------------
// Real TLS on loopback: a CA made here, trusted by the tool through
// `set_extra_roots`, and servers that speak https with a certificate it signed.

/// The test CA's certificate and one server certificate (for `tls.test` and
/// `tls-other.test`) with its key, made once per test binary; the CA is
/// trusted by `http_request` from then on.
fn tls_identity() -> &'static (Vec<u8>, Vec<u8>) {
    static IDENTITY: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let ca_key = rcgen::KeyPair::generate().expect("a CA key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "rustchain test CA");
        let ca_cert = ca.self_signed(&ca_key).expect("a self-signed CA");
        let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
        let server_key = rcgen::KeyPair::generate().expect("a server key");
        let server =
            rcgen::CertificateParams::new(vec!["tls.test".to_owned(), "tls-other.test".to_owned()])
                .expect("server params")
                .signed_by(&server_key, &issuer)
                .expect("a server certificate signed by the CA");
        rustchain_builtin::http::set_extra_roots(&[ca_cert.der().as_ref()])
            .expect("the CA is a DER certificate");
        (server.der().to_vec(), server_key.serialize_der())
    })
}

/// An https server on 127.0.0.1 answering `handler`'s reply to each request
/// path; counts the connections it accepts and the requests it read over a
/// completed TLS handshake.
struct TlsServer {
    port: u16,
    accepted: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
}

impl TlsServer {
    fn start(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> TlsServer {
        let (certificate, key) = tls_identity().clone();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![certificate.into()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
            )
            .expect("a server configuration");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("the bound address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        let (counter, requests) = (Arc::clone(&accepted), Arc::clone(&served));
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let (config, handler) = (Arc::clone(&config), Arc::clone(&handler));
                let requests = Arc::clone(&requests);
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let Ok(connection) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = BufReader::new(rustls::StreamOwned::new(connection, stream));
                    let mut line = String::new();
                    if tls.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    // The rest of the head; these tests send no bodies.
                    loop {
                        let mut header = String::new();
                        match tls.read_line(&mut header) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if header.trim_end().is_empty() => break,
                            Ok(_) => {}
                        }
                    }
                    requests.fetch_add(1, Ordering::SeqCst);
                    let Reply::Respond {
                        status,
                        headers,
                        body,
                    } = handler(&path)
                    else {
                        return;
                    };
                    let mut head = format!("HTTP/1.1 {status} Status\r\nConnection: close\r\n");
                    for (name, value) in headers {
                        head.push_str(&format!("{name}: {value}\r\n"));
                    }
                    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                    let mut tls = tls.into_inner();
                    let _ = tls.write_all(head.as_bytes());
                    let _ = tls.write_all(&body);
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        TlsServer {
            port,
            accepted,
            served,
        }
    }
}

#[test]
fn an_https_redirect_to_plain_http_is_refused_over_real_tls() {
    let plain = Server::counting();
    let plain_port = plain.port();
    let other = TlsServer::start(|_| text(200, "final over tls"));
    let other_port = other.port;
    let server = TlsServer::start(move |path| match path {
        "/to-http" => redirect(&format!("http://127.0.0.1:{plain_port}/")),
        "/to-http-name" => redirect(&format!("http://tls.test:{plain_port}/")),
        "/to-https" => redirect(&format!("https://tls-other.test:{other_port}/final")),
        _ => text(200, "direct over tls"),
    });
    let port = server.port;
    resolver().answer("tls.test", &[&["127.0.0.1"]]);
    resolver().answer("tls-other.test", &[&["127.0.0.1"]]);
    // Plain http is allowed and the plain server's port is granted, to the
    // address and to the name: only the downgrade can refuse the redirect.
    let h = harness(&format!(
        "[net]\nhttp = true\nallow = [\"tls.test\", \"tls-other.test:{other_port}\", \
         \"127.0.0.1:{port}\", \"127.0.0.1:{other_port}\", \"127.0.0.1:{plain_port}\"]\n"
    ));
    let direct = h
        .get(&plain.url("/"))
        .expect("plain http to its port is granted");
    assert_eq!(direct["body"], "reached");
    assert_eq!(plain.connections(), 1);

    // The TLS path runs: the certificate verifies against the test's CA.
    let direct = h
        .get(&format!("https://tls.test:{port}/"))
        .expect("https to a granted host");
    assert_eq!(direct["body"], "direct over tls");
    assert_eq!(server.served.load(Ordering::SeqCst), 1);

    for path in ["/to-http", "/to-http-name"] {
        let err = h.denied(&format!("https://tls.test:{port}{path}"));
        assert!(err.message().contains("leaves https"), "{path}: {err}");
    }
    assert_eq!(
        plain.connections(),
        1,
        "the http server saw no connection from a refused redirect"
    );
    assert_eq!(
        server.served.load(Ordering::SeqCst),
        3,
        "each redirect was asked over TLS"
    );

    // An https to https redirect to a granted host is followed, over TLS both ways.
    let followed = h
        .get(&format!("https://tls.test:{port}/to-https"))
        .expect("a granted https redirect");
    assert_eq!(followed["body"], "final over tls");
    assert_eq!(followed["redirects"], 1);
    assert_eq!(
        followed["url"],
        format!("https://tls-other.test:{other_port}/final")
    );
    assert_eq!(other.served.load(Ordering::SeqCst), 1);
    assert_eq!(other.accepted.load(Ordering::SeqCst), 1);
}
