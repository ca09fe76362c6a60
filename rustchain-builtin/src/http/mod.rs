//! `http_request`: one HTTP request to a host the policy grants, confined by
//! its own resolver and redirect policy rather than by string checks.
//!
//! - Only `https`, and `http` where the policy sets `http = true` under `[net]`;
//!   no user info in URLs; no proxy, whatever `HTTPS_PROXY` and friends say.
//! - Every address is checked, not just the name. The shared clients
//!   (`client`: built once per setting, no idle connections kept) resolve
//!   through a DNS resolver (`resolve`) that, for the call in scope
//!   (its grants), asks the installed [`Resolver`],
//!   checks every answer (`address`) and hands the connector only those
//!   checked addresses: there is no second lookup to rebind. A non-public
//!   answer (loopback, private, link-local, metadata, ...) refuses the whole
//!   request unless the policy grants that address, or a range holding it,
//!   by IP or CIDR; a host name grant is not enough.
//! - Every redirect hop is checked again (`hop`): scheme, host grant, then
//!   its addresses through the same resolver; at most five hops; never from
//!   https down to http.
//! - Header names are validated, header values with CR, LF or NUL refused,
//!   and headers the client owns (`Host`, `Content-Length`, ...) refused.
//! - The body is read up to a byte cap (reported as `truncated`), under
//!   connect and total timeouts bounded by the call's own deadline.

mod address;
mod client;
mod hop;
mod resolve;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use rustchain_macros::tool;
use rustchain_tools::policy::Grants;
use rustchain_tools::{ErrorKind, ToolContext, ToolError};
use url::Url;

pub use address::{AddressClass, Embedding, Special, classify};
pub use hop::MAX_REDIRECTS;
pub use resolve::{Lookup, Resolver, SystemResolver, resolver, set_extra_roots, set_resolver};

use hop::CallNet;
pub(crate) use hop::{Reach, check_host, host_of, resolve_checked};

/// Response bytes returned when the call does not say (1 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 20;
/// The largest `max_bytes` a call may ask for (16 MiB).
pub const MAX_BYTES_LIMIT: u64 = 16 << 20;
/// The longest a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The total timeout when neither the call nor the executor sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Headers the client sets itself; a call may not (request smuggling,
/// virtual-host switching, proxy credentials).
const CLIENT_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-authorization",
    "proxy-connection",
];

/// An HTTP method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Read a resource.
    #[default]
    Get,
    /// Like GET, without the body.
    Head,
    /// Submit data.
    Post,
    /// Replace a resource.
    Put,
    /// Change part of a resource.
    Patch,
    /// Remove a resource.
    Delete,
}

impl Method {
    fn as_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// The response to an HTTP request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct HttpResponse {
    /// The HTTP status code (200, 404, ...).
    pub status: u16,
    /// The URL that answered, after any redirects.
    pub url: String,
    /// How many redirects were followed.
    pub redirects: usize,
    /// Response headers, names in lower case; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body as text, when it is not JSON (invalid UTF-8 replaced); absent when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body parsed, when the content type is JSON and the whole body parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// Body bytes received (at most the cap).
    pub bytes: usize,
    /// Whether the body was longer than the cap and was cut.
    pub truncated: bool,
}

/// Sends one HTTP request to a host the policy grants and returns the
/// status, headers and body (parsed when the content type is JSON).
///
/// Only https, and http where the policy allows it. Every address the host
/// resolves to and every redirect hop is checked against the policy:
/// loopback, private, link-local and cloud metadata addresses are refused
/// unless granted by address. The body is capped (see `truncated`).
#[tool(
    crate = "rustchain_tools",
    open_world,
    tags("net", "http"),
    timeout = "30s"
)]
#[allow(clippy::too_many_arguments, reason = "one per tool parameter")]
pub async fn http_request(
    /// The URL to request, such as `https://api.example.com/v1/items?page=2`.
    #[net]
    url: String,
    /// The method: GET (default), HEAD, POST, PUT, PATCH or DELETE.
    method: Option<Method>,
    /// Request headers, name to value, such as {"Accept": "application/json"}. Values may not contain line breaks; Host, Content-Length, Transfer-Encoding, Connection and similar are set by the client.
    headers: Option<BTreeMap<String, String>>,
    /// A text body to send (Content-Type text/plain unless a header says otherwise). Not with `json`.
    body: Option<String>,
    /// A JSON value to send as the body (Content-Type application/json unless a header says otherwise). Not with `body`.
    json: Option<serde_json::Value>,
    /// Most body bytes to return (default 1048576, at most 16777216); a longer body is cut and `truncated` set.
    max_bytes: Option<u64>,
    /// Give up after this many milliseconds (default and upper bound: the call's own timeout).
    timeout_ms: Option<u64>,
    ctx: &ToolContext,
) -> Result<HttpResponse, ToolError> {
    let method = method.unwrap_or_default();
    let request = Request {
        url: parse_url(&url)?,
        headers: build_headers(headers.as_ref())?,
        body: build_body(method, body, json.as_ref())?,
        max_bytes: byte_cap(max_bytes)?,
        timeout: total_timeout(timeout_ms, ctx)?,
        method,
    };
    send(request, ctx).await
}

/// One request, validated.
struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<(Vec<u8>, &'static str)>,
    max_bytes: usize,
    timeout: Duration,
}

fn parse_url(text: &str) -> Result<Url, ToolError> {
    let mut url = Url::parse(text).map_err(|err| {
        ToolError::invalid_argument("url", format!("`{text}` is not a URL: {err}"))
    })?;
    url.set_fragment(None);
    Ok(url)
}

fn build_headers(headers: Option<&BTreeMap<String, String>>) -> Result<HeaderMap, ToolError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers.into_iter().flatten() {
        let path = format!("headers.{name}");
        if value.contains(['\r', '\n', '\0']) {
            return Err(ToolError::invalid_argument(
                path,
                format!(
                    "the value of header `{name}` contains a line break or NUL, which could inject headers; send it on one line"
                ),
            ));
        }
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ToolError::invalid_argument(
                &path,
                format!(
                    "`{name}` is not a header name: use letters, digits and - (no spaces or colons)"
                ),
            )
        })?;
        if CLIENT_HEADERS.contains(&header.as_str()) {
            return Err(ToolError::invalid_argument(
                path,
                format!("the `{name}` header is set by the client and may not be given"),
            ));
        }
        let value = HeaderValue::from_str(value).map_err(|_| {
            ToolError::invalid_argument(
                &path,
                format!(
                    "the value of header `{name}` contains control characters or non-ASCII text"
                ),
            )
        })?;
        map.append(header, value);
    }
    Ok(map)
}

fn build_body(
    method: Method,
    body: Option<String>,
    json: Option<&serde_json::Value>,
) -> Result<Option<(Vec<u8>, &'static str)>, ToolError> {
    let body = match (body, json) {
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid_argument(
                "json",
                "give either `body` (text) or `json`, not both",
            ));
        }
        (Some(text), None) => Some((text.into_bytes(), "text/plain; charset=utf-8")),
        (None, Some(value)) => Some((
            serde_json::to_vec(value).expect("a JSON value always serializes"),
            "application/json",
        )),
        (None, None) => None,
    };
    if method == Method::Head && body.is_some() {
        return Err(ToolError::invalid_argument(
            "body",
            "a HEAD request carries no body",
        ));
    }
    Ok(body)
}

fn byte_cap(max_bytes: Option<u64>) -> Result<usize, ToolError> {
    match max_bytes.unwrap_or(DEFAULT_MAX_BYTES) {
        0 => Err(ToolError::invalid_argument(
            "max_bytes",
            "`max_bytes` must be at least 1",
        )),
        n if n > MAX_BYTES_LIMIT => Err(ToolError::invalid_argument(
            "max_bytes",
            format!("`max_bytes` may be at most {MAX_BYTES_LIMIT}"),
        )),
        n => Ok(usize::try_from(n).expect("at most 16 MiB fits in usize")),
    }
}

/// The call's timeout, bounded by its deadline.
fn total_timeout(timeout_ms: Option<u64>, ctx: &ToolContext) -> Result<Duration, ToolError> {
    let asked = match timeout_ms {
        Some(0) => {
            return Err(ToolError::invalid_argument(
                "timeout_ms",
                "`timeout_ms` must be at least 1",
            ));
        }
        Some(ms) => Some(Duration::from_millis(ms)),
        None => None,
    };
    let left = ctx
        .deadline()
        .map(|deadline| deadline.saturating_duration_since(Instant::now()));
    Ok(match (asked, left) {
        (Some(asked), Some(left)) => asked.min(left),
        (Some(limit), None) | (None, Some(limit)) => limit,
        (None, None) => DEFAULT_TIMEOUT,
    })
}

async fn send(request: Request, ctx: &ToolContext) -> Result<HttpResponse, ToolError> {
    let grants = Grants::of(ctx);
    let first = hop::check_url(&request.url, grants)?;
    let net = Arc::new(CallNet::new(ctx, resolver(), first));
    let client = client::shared(grants.allows_http())?;
    let has_content_type = request.headers.contains_key(CONTENT_TYPE);
    let mut builder = client
        .request(request.method.as_reqwest(), request.url.clone())
        .timeout(request.timeout)
        .headers(request.headers);
    if let Some((bytes, content_type)) = request.body {
        if !has_content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        builder = builder.body(bytes);
    }
    let failed = |err: reqwest::Error| request_error(&err, &net, &request.url, request.timeout);
    let exchange = async {
        let response = builder.send().await.map_err(failed)?;
        unfollowed_redirect(&response, grants)?;
        read_response(response, request.max_bytes, &net)
            .await
            .map_err(failed)
    };
    let exchange = client::for_call(Arc::clone(&net), exchange);
    match tokio::time::timeout(request.timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(timed_out(&request.url, request.timeout)),
    }
}

/// A redirect the client did not follow because its target is no http(s)
/// URL (`file:`, `gopher:`, ...) is refused like any other bad hop, rather
/// than handed back as a 3xx for the model to chase by other means.
fn unfollowed_redirect(response: &reqwest::Response, grants: &Grants) -> Result<(), ToolError> {
    let status = response.status().as_u16();
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return Ok(());
    }
    let Some(next) = response
        .headers()
        .get(LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| response.url().join(location).ok())
    else {
        return Ok(());
    };
    hop::check_redirect(&next, std::slice::from_ref(response.url()), grants).map(drop)
}

async fn read_response(
    mut response: reqwest::Response,
    cap: usize,
    net: &CallNet,
) -> Result<HttpResponse, reqwest::Error> {
    let status = response.status().as_u16();
    let url = response.url().to_string();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in response.headers() {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    let is_json = headers.get("content-type").is_some_and(|t| is_json_type(t));
    let expected = response.content_length().unwrap_or(0);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(cap).min(cap));
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await? {
        let room = cap - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    let (body, json) = decode_body(&bytes, is_json && !truncated, truncated);
    Ok(HttpResponse {
        status,
        url,
        redirects: net.redirects(),
        headers,
        body,
        json,
        bytes: bytes.len(),
        truncated,
    })
}

/// `application/json`, `application/problem+json`, ... with any parameters.
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn decode_body(
    bytes: &[u8],
    parse_json: bool,
    truncated: bool,
) -> (Option<String>, Option<serde_json::Value>) {
    if bytes.is_empty() {
        return (None, None);
    }
    if parse_json && let Ok(value) = serde_json::from_slice(bytes) {
        return (None, Some(value));
    }
    // A cut body may end inside a character: drop the partial one, not replace it.
    let whole = match std::str::from_utf8(bytes) {
        Err(err) if truncated && err.error_len().is_none() => &bytes[..err.valid_up_to()],
        _ => bytes,
    };
    (Some(String::from_utf8_lossy(whole).into_owned()), None)
}

fn request_error(err: &reqwest::Error, net: &CallNet, url: &Url, timeout: Duration) -> ToolError {
    if let Some(refusal) = net.refusal() {
        return refusal;
    }
    if err.is_timeout() {
        return timed_out(url, timeout);
    }
    let what = if err.is_connect() {
        "could not connect"
    } else if err.is_redirect() {
        "failed while following a redirect"
    } else {
        "failed"
    };
    ToolError::new(
        ErrorKind::Failed,
        format!("the request to {url} {what}: {}", chain(err)),
    )
}

fn timed_out(url: &Url, timeout: Duration) -> ToolError {
    ToolError::new(
        ErrorKind::Timeout,
        format!("no complete response from {url} within {timeout:?}"),
    )
}

/// An error and its sources, `: `-joined (skipping causes already quoted).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_with_line_breaks_and_bad_names_are_refused() {
        let one = |name: &str, value: &str| {
            build_headers(Some(&BTreeMap::from([(name.to_owned(), value.to_owned())])))
        };
        for value in ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"] {
            let err = one("X-Test", value).expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::InvalidArguments);
            assert_eq!(err.path(), Some("headers.X-Test"));
        }
        for name in ["Bad Name", "a:b", "", "é"] {
            one(name, "v").expect_err(name);
        }
        for name in [
            "Host",
            "content-length",
            "Transfer-Encoding",
            "Proxy-Authorization",
        ] {
            one(name, "v").expect_err(name);
        }
        let map = one("X-Ok", "fine\tvalue").expect("a valid header");
        assert_eq!(map["x-ok"], "fine\tvalue");
    }

    #[test]
    fn bodies_caps_and_timeouts_are_validated() {
        build_body(Method::Post, Some("a".into()), Some(&serde_json::json!(1))).expect_err("both");
        build_body(Method::Head, Some("a".into()), None).expect_err("HEAD with a body");
        let (bytes, kind) = build_body(Method::Put, None, Some(&serde_json::json!({"a": 1})))
            .expect("valid")
            .expect("a body");
        assert_eq!(
            (bytes.as_slice(), kind),
            (&br#"{"a":1}"#[..], "application/json")
        );
        assert_eq!(byte_cap(None).expect("default"), 1 << 20);
        byte_cap(Some(0)).expect_err("zero");
        byte_cap(Some(MAX_BYTES_LIMIT + 1)).expect_err("too large");
        let ctx = ToolContext::new();
        assert_eq!(total_timeout(None, &ctx).expect("default"), DEFAULT_TIMEOUT);
        assert_eq!(
            total_timeout(Some(250), &ctx).expect("asked"),
            Duration::from_millis(250)
        );
        total_timeout(Some(0), &ctx).expect_err("zero");
    }

    #[test]
    fn json_content_types_are_recognised() {
        for t in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(is_json_type(t), "{t}");
        }
        for t in ["text/plain", "text/json-ish", "application/jsonx"] {
            assert!(!is_json_type(t), "{t}");
        }
    }

    #[test]
    fn a_cut_body_drops_a_partial_character_and_json_falls_back_to_text() {
        let text = "héllo".as_bytes();
        let (body, _) = decode_body(&text[..2], false, true);
        assert_eq!(body.as_deref(), Some("h"));
        let (body, json) = decode_body(b"{\"a\":1}", true, false);
        assert_eq!((body, json), (None, Some(serde_json::json!({"a": 1}))));
        let (body, json) = decode_body(b"not json", true, false);
        assert_eq!((body.as_deref(), json), (Some("not json"), None));
        assert_eq!(decode_body(b"", true, false), (None, None));
    }
}
