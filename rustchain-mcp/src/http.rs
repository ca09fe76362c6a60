//! Streamable HTTP: the server behind one URL path, for clients that are not
//! its parent process.
//!
//! The protocol (sessions for the handshake revisions, stateless requests
//! of 2026-07-28, SSE streams, `Host` and `Origin` checks, body limits) is
//! rmcp's `StreamableHttpService`. This module adds only what decides who
//! may reach it: a listener on loopback unless told otherwise, a bearer
//! token that every request must carry (required off loopback), and the
//! browser origins that may call it. A request without the token is
//! answered `401` before rmcp sees it, so it starts no session, no call and
//! no record.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::{McpServer, ServeError, ServeErrorKind};

/// The path the server answers on; every other path is a 404.
pub const MCP_PATH: &str = "/mcp";

/// The environment variable a bearer token is read from by
/// [`BearerToken::from_env`] and `rustchain mcp serve --http`.
pub const TOKEN_ENV: &str = "RUSTCHAIN_MCP_TOKEN";

/// Fewer characters than this are refused as a token: short enough to guess.
const MIN_TOKEN_LEN: usize = 16;

/// The secret an HTTP client must send as `Authorization: Bearer TOKEN`.
///
/// Its `Debug` never shows the secret.
///
/// ```
/// use rustchain_mcp::BearerToken;
///
/// let token = BearerToken::new("a-long-random-secret-0123").expect("long enough");
/// assert!(BearerToken::new("short").is_err());
/// assert_eq!(format!("{token:?}"), "BearerToken(..)");
/// ```
#[derive(Clone)]
pub struct BearerToken(Arc<str>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

impl BearerToken {
    /// `secret` as a token, without surrounding whitespace.
    ///
    /// # Errors
    /// [`ServeErrorKind::Setup`] when it is shorter than 16 characters or
    /// holds characters an HTTP header cannot carry.
    pub fn new(secret: &str) -> Result<BearerToken, ServeError> {
        let secret = secret.trim();
        if secret.chars().count() < MIN_TOKEN_LEN {
            return Err(ServeError::new(
                ServeErrorKind::Setup,
                format!(
                    "a bearer token needs at least {MIN_TOKEN_LEN} characters; make one with `openssl rand -hex 32`"
                ),
            ));
        }
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ServeError::new(
                ServeErrorKind::Setup,
                "a bearer token may hold only visible ASCII characters",
            ));
        }
        Ok(BearerToken(Arc::from(secret)))
    }

    /// The token in the file at `path` (its first line).
    ///
    /// # Errors
    /// [`ServeErrorKind::Setup`] when the file cannot be read or its
    /// content is not a usable token.
    pub fn from_file(path: &Path) -> Result<BearerToken, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            ServeError::new(
                ServeErrorKind::Setup,
                format!("cannot read the token file {}: {err}", path.display()),
            )
            .caused_by(err)
        })?;
        BearerToken::new(text.lines().next().unwrap_or_default()).map_err(|err| {
            ServeError::new(
                ServeErrorKind::Setup,
                format!("the token file {}: {err}", path.display()),
            )
        })
    }

    /// The token in the environment variable `RUSTCHAIN_MCP_TOKEN`, if set.
    ///
    /// # Errors
    /// [`ServeErrorKind::Setup`] when it is set but not a usable token.
    pub fn from_env() -> Result<Option<BearerToken>, ServeError> {
        match std::env::var(TOKEN_ENV) {
            Ok(secret) => BearerToken::new(&secret).map(Some).map_err(|err| {
                ServeError::new(ServeErrorKind::Setup, format!("${TOKEN_ENV}: {err}"))
            }),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ServeError::new(
                ServeErrorKind::Setup,
                format!("${TOKEN_ENV} is not valid text"),
            )),
        }
    }

    /// Whether an `Authorization` header value carries this token, compared
    /// in constant time so the answer's timing tells nothing about it.
    fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(presented) = authorization.and_then(|value| value.strip_prefix(b"Bearer ")) else {
            return false;
        };
        presented.ct_eq(self.0.as_bytes()).into()
    }
}

/// Who may reach a server over HTTP: the bearer token (if any) and the
/// browser origins allowed beside the server's own.
///
/// ```
/// use rustchain_mcp::{BearerToken, HttpAccess};
///
/// let access = HttpAccess::new()
///     .token(BearerToken::new("a-long-random-secret-0123").expect("long enough"))
///     .allow_origin("https://console.example.com");
/// ```
#[derive(Debug, Clone, Default)]
pub struct HttpAccess {
    token: Option<BearerToken>,
    origins: Vec<String>,
}

impl HttpAccess {
    /// No token and no other origin: for a loopback address only.
    pub fn new() -> HttpAccess {
        HttpAccess::default()
    }

    /// Every request must carry `token` (required off loopback).
    pub fn token(mut self, token: BearerToken) -> HttpAccess {
        self.token = Some(token);
        self
    }

    /// Also lets pages of `origin` (`scheme://host[:port]`, `:*` for any
    /// port) call the server from a browser. Requests without an `Origin`
    /// header (programs, not pages) are not affected.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> HttpAccess {
        self.origins.push(origin.into());
        self
    }
}

impl McpServer {
    /// Serves over streamable HTTP on `listener`, at [`MCP_PATH`], until
    /// `shutdown` completes.
    ///
    /// A listener off loopback needs a token in `access`: the server
    /// refuses to start without one. Browser pages may call it only from
    /// the server's own origin and those `access` allows.
    ///
    /// # Errors
    /// [`ServeErrorKind::Setup`] for a non-loopback listener without a
    /// token, [`ServeErrorKind::Io`] when the listener fails.
    pub async fn serve_http(
        self,
        listener: TcpListener,
        access: HttpAccess,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError> {
        let local = listener.local_addr().map_err(|err| {
            ServeError::new(ServeErrorKind::Io, "the listener has no address").caused_by(err)
        })?;
        let loopback = local.ip().is_loopback();
        if !loopback && access.token.is_none() {
            return Err(ServeError::new(
                ServeErrorKind::Setup,
                format!(
                    "{local} is not a loopback address: anyone who reaches it could call the tools, so a bearer token is required (--token-file, or ${TOKEN_ENV})"
                ),
            ));
        }
        let config = http_config(local, &access);
        let stop = config.cancellation_token.clone();
        let server = self.clone();
        let service = StreamableHttpService::new(
            move || Ok(server.for_session()),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        let gate = Arc::new(Gate {
            service,
            token: access.token,
        });
        tokio::pin!(shutdown);
        loop {
            let (stream, _peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // A connection that failed before it was accepted (reset,
                    // out of descriptors for a moment) ends only itself.
                    Err(error) => {
                        tracing::warn!(%error, "a connection could not be accepted");
                        continue;
                    }
                },
            };
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let answer = hyper::service::service_fn(move |request| {
                    let gate = Arc::clone(&gate);
                    async move { Ok::<_, std::convert::Infallible>(gate.answer(request).await) }
                });
                if let Err(error) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), answer)
                    .await
                {
                    tracing::debug!(%error, "an HTTP connection ended with an error");
                }
            });
        }
        // Ends the sessions and their SSE streams, so clients see the end.
        stop.cancel();
        self.calls_ended().await;
        Ok(())
    }

    /// Binds `addr` and serves over streamable HTTP until the process is
    /// interrupted (Ctrl-C), on an async runtime of its own. `ready` is
    /// called with the bound address (useful with port 0) before the first
    /// request is taken.
    ///
    /// # Errors
    /// As [`McpServer::serve_http`], and [`ServeErrorKind::Io`] when `addr`
    /// cannot be bound.
    pub fn serve_http_on(
        self,
        addr: SocketAddr,
        access: HttpAccess,
        ready: impl FnOnce(SocketAddr),
    ) -> Result<(), ServeError> {
        crate::serve::runtime()?.block_on(async {
            let listener = TcpListener::bind(addr).await.map_err(|err| {
                ServeError::new(ServeErrorKind::Io, format!("cannot listen on {addr}: {err}"))
                    .caused_by(err)
            })?;
            let bound = listener.local_addr().unwrap_or(addr);
            if !bound.ip().is_loopback() && access.token.is_none() {
                // Said before anything listens for long: the same refusal as serve_http's.
                drop(listener);
                return Err(ServeError::new(
                    ServeErrorKind::Setup,
                    format!("{bound} is not a loopback address: anyone who reaches it could call the tools, so a bearer token is required (--token-file, or ${TOKEN_ENV})"),
                ));
            }
            ready(bound);
            let interrupted = async {
                // Without a signal handler the server runs until killed.
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            self.serve_http(listener, access, interrupted).await
        })
    }
}

/// rmcp's settings for a server listening on `local`: loopback `Host`
/// names only on loopback (against DNS rebinding), and `Origin` checked
/// always, against the server's own origin and those `access` allows.
fn http_config(local: SocketAddr, access: &HttpAccess) -> StreamableHttpServerConfig {
    let port = local.port();
    let mut origins = vec![format!("http://{local}")];
    if local.ip().is_loopback() {
        origins.push(format!("http://localhost:{port}"));
        origins.push(format!("http://127.0.0.1:{port}"));
        origins.push(format!("http://[::1]:{port}"));
    }
    origins.extend(access.origins.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_origins(origins)
        .enforce_origin_validation();
    if local.ip().is_loopback() {
        // rmcp's default: localhost, 127.0.0.1 and ::1, on any port.
        config
    } else {
        // Off loopback the token is the check; the names a load balancer
        // or a DNS entry gives the server are not known here.
        config.disable_allowed_hosts()
    }
}

/// The token check in front of rmcp's service.
struct Gate {
    service: StreamableHttpService<McpServer, LocalSessionManager>,
    token: Option<BearerToken>,
}

type Body = BoxBody<Bytes, std::convert::Infallible>;

impl Gate {
    async fn answer(&self, request: Request<Incoming>) -> Response<Body> {
        if let Some(token) = &self.token {
            let authorization = request
                .headers()
                .get(header::AUTHORIZATION)
                .map(|value| value.as_bytes());
            if !token.admits(authorization) {
                return plain(
                    StatusCode::UNAUTHORIZED,
                    "a valid bearer token is required",
                    Some(("www-authenticate", "Bearer")),
                );
            }
        }
        if request.uri().path() != MCP_PATH {
            return plain(StatusCode::NOT_FOUND, "the MCP endpoint is /mcp", None);
        }
        self.service.handle(request).await
    }
}

fn plain(status: StatusCode, text: &'static str, extra: Option<(&str, &str)>) -> Response<Body> {
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if let Some((name, value)) = extra {
        response = response.header(name, value);
    }
    response
        .body(Full::new(Bytes::from_static(text.as_bytes())).boxed())
        .expect("a status, static headers and a body make a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> BearerToken {
        BearerToken::new("0123456789abcdef-secret").expect("long enough")
    }

    #[test]
    fn only_the_exact_token_after_bearer_is_admitted() {
        let token = token();
        assert!(token.admits(Some(b"Bearer 0123456789abcdef-secret")));
        assert!(!token.admits(None));
        assert!(!token.admits(Some(b"0123456789abcdef-secret")), "no scheme");
        assert!(!token.admits(Some(b"Basic 0123456789abcdef-secret")));
        assert!(
            !token.admits(Some(b"Bearer 0123456789abcdef-secre")),
            "a prefix"
        );
        assert!(
            !token.admits(Some(b"Bearer 0123456789abcdef-secretX")),
            "longer"
        );
        assert!(!token.admits(Some(b"Bearer ")));
    }

    #[test]
    fn short_or_invisible_tokens_are_refused() {
        assert_eq!(
            BearerToken::new("  short  ").expect_err("too short").kind(),
            ServeErrorKind::Setup
        );
        assert!(
            BearerToken::new("0123456789abcdef secret").is_err(),
            "a space"
        );
        assert!(BearerToken::new("0123456789abcdef\u{200b}x").is_err());
        assert!(BearerToken::new("  0123456789abcdef\n").is_ok(), "trimmed");
    }
}
