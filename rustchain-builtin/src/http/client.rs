//! The HTTP clients `http_request` shares, and the call each request runs for.
//!
//! Building a client costs milliseconds (its TLS configuration loads the
//! trust store), so one is built per setting it fixes (plain http allowed or
//! not, the trusted authorities) and shared by every call in the process.
//! What differs per call — its grants, the hop in flight, its first
//! refusal — is its [`CallNet`], handed to the shared resolver and redirect
//! policy through a task-local set around the request ([`for_call`]); outside
//! that scope both refuse. The clients keep no idle connections, so each
//! request resolves and checks its host under its own grants: a connection
//! opened under another call's grants (say, to a private address that call
//! was granted) is never reused.

use std::future::Future;
use std::sync::{Arc, Mutex};

use rustchain_tools::{ErrorKind, ToolError};

use super::hop::CallNet;
use super::resolve::{self, CheckingResolver};
use super::{CONNECT_TIMEOUT, chain};

tokio::task_local! {
    /// The call whose request the shared client is serving on this task.
    static CALL: Arc<CallNet>;
}

/// Runs `request` (one call's exchange) with `net` as the call the shared
/// client's resolver and redirect policy serve.
pub(super) async fn for_call<F: Future>(net: Arc<CallNet>, request: F) -> F::Output {
    CALL.scope(net, request).await
}

/// The call in scope on this task, if any.
pub(super) fn current_call() -> Option<Arc<CallNet>> {
    CALL.try_with(Arc::clone).ok()
}

/// What a shared client fixes at build time.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Setting {
    /// Plain http allowed (`[net] http = true`).
    http: bool,
    /// The generation of the extra trusted authorities it was built with.
    roots: u64,
}

/// The clients built so far (at most one per setting; two in practice).
static CLIENTS: Mutex<Vec<(Setting, reqwest::Client)>> = Mutex::new(Vec::new());

/// The shared client for calls that may (`http`) or may not use plain http.
pub(super) fn shared(http: bool) -> Result<reqwest::Client, ToolError> {
    let (roots, generation) = resolve::extra_roots();
    let setting = Setting {
        http,
        roots: generation,
    };
    let mut clients = CLIENTS.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some((_, client)) = clients.iter().find(|(built, _)| *built == setting) {
        return Ok(client.clone());
    }
    let client = build(http, roots)?;
    // Clients trusting authorities that were replaced since are not used again.
    clients.retain(|(built, _)| built.roots == generation);
    clients.push((setting, client.clone()));
    Ok(client)
}

/// A client with no proxy, the checking resolver, the checking redirect
/// policy, https only unless `http`, and no idle connections kept.
fn build(http: bool, roots: Vec<reqwest::Certificate>) -> Result<reqwest::Client, ToolError> {
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(CheckingResolver)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let Some(net) = current_call() else {
                return attempt.error("a redirect outside any call is refused");
            };
            match net.redirect(attempt.url(), attempt.previous()) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        }))
        .https_only(!http)
        .tls_certs_merge(roots)
        .referer(false)
        .pool_max_idle_per_host(0)
        // Each request's total timeout (its own, at most the call's) bounds
        // the connection too; this caps a connection within a long one.
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!(
            "rustchain-http_request/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|err| {
            ToolError::new(
                ErrorKind::Failed,
                format!("the HTTP client could not start: {}", chain(&err)),
            )
        })
}
