//! What a program asks the proxy for: the head of one HTTP request, read
//! within a size limit, as a tunnel (`CONNECT host:port`) or a plain-HTTP
//! request in absolute form (`GET http://host/path HTTP/1.1`).
//!
//! Only where the request goes matters to the policy: the host and port
//! are read the way a URL's are (IP literals in every encoding normalised),
//! and the proxy connects to nothing but the addresses it checked for them.

use std::net::IpAddr;

use rustchain_tools::policy::net::{TargetHost, canonical_ip};
use url::{Host, Position, Url};

use crate::http::host_of;

/// The longest request head the proxy reads (request line and headers).
pub(super) const MAX_HEAD: usize = 16 << 10;

/// A request the proxy cannot serve, with the status it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BadRequest {
    /// 400, or 431 for a head over [`MAX_HEAD`].
    pub(super) status: u16,
    /// One line for the program and the audit trail.
    pub(super) reason: String,
}

fn bad(reason: impl Into<String>) -> BadRequest {
    BadRequest {
        status: 400,
        reason: reason.into(),
    }
}

/// One parsed request: where it goes, and what to send there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProxyRequest {
    /// The host to reach.
    pub(super) host: TargetHost,
    /// Its port.
    pub(super) port: u16,
    /// `CONNECT` (answered 200, then bytes relayed as they come), or the
    /// head to send upstream, rewritten to origin form.
    pub(super) kind: Kind,
}

/// A tunnel or a forwarded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// `CONNECT host:port`: any TCP (HTTPS, usually).
    Tunnel,
    /// A plain-HTTP request: its head as the origin server is sent it.
    Forward(Vec<u8>),
}

impl ProxyRequest {
    /// The scheme, as the checks see it: `http` for a forwarded request,
    /// none for a tunnel (whatever it carries).
    pub(super) fn scheme(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Tunnel => None,
            Kind::Forward(_) => Some("http"),
        }
    }

    /// `host:port`, for messages.
    pub(super) fn target(&self) -> String {
        match &self.host {
            TargetHost::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            host => format!("{host}:{}", self.port),
        }
    }
}

/// Where the head ends (just past its blank line) in `buffer`, if it does.
pub(super) fn head_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Parses a whole head (up to and including its blank line).
pub(super) fn parse(head: &[u8]) -> Result<ProxyRequest, BadRequest> {
    let text = std::str::from_utf8(head).map_err(|_| bad("the request head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line is not `METHOD TARGET HTTP/1.x`"));
    };
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Err(bad(format!(
            "`{}` is not HTTP/1.0 or HTTP/1.1",
            shown(version)
        )));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad(format!("`{}` is not an HTTP method", shown(method))));
    }
    let headers: Vec<&str> = lines.take_while(|line| !line.is_empty()).collect();
    if headers
        .iter()
        .any(|header| header.contains(['\r', '\n', '\0']) || !header.contains(':'))
    {
        return Err(bad("a header line is malformed"));
    }
    if method == "CONNECT" {
        let (host, port) = authority(target)?;
        return Ok(ProxyRequest {
            host,
            port,
            kind: Kind::Tunnel,
        });
    }
    absolute(method, target, version, &headers)
}

/// `host:port` of a `CONNECT`: a port is required, nothing else may follow.
fn authority(target: &str) -> Result<(TargetHost, u16), BadRequest> {
    if target.contains(['/', '@', '?', '#', '\\', '%']) {
        return Err(bad(format!("`{}` is not a plain host:port", shown(target))));
    }
    let Some((host, port)) = target.rsplit_once(':') else {
        return Err(bad(format!("`{}` names no port", shown(target))));
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| bad(format!("`{}` is not a port", shown(port))))?;
    if host.is_empty() || (host.contains(':') && !host.starts_with('[')) {
        return Err(bad(format!("`{}` is not a host", shown(host))));
    }
    let host = host_of(host).map_err(|err| bad(err.message()))?;
    Ok((host, port))
}

/// A plain-HTTP request in absolute form, rewritten to origin form for the
/// server, without the headers meant for the proxy.
fn absolute(
    method: &str,
    target: &str,
    version: &str,
    headers: &[&str],
) -> Result<ProxyRequest, BadRequest> {
    let url = Url::parse(target).map_err(|_| {
        bad(format!(
            "`{}` is not an absolute http:// URL; this proxy forwards those and tunnels CONNECT",
            shown(target)
        ))
    })?;
    if url.scheme() != "http" {
        return Err(bad(format!(
            "the scheme `{}` is not forwarded; use CONNECT for https",
            shown(url.scheme())
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("user names or passwords in URLs are not forwarded"));
    }
    let host = match url.host() {
        Some(Host::Domain(name)) => {
            TargetHost::Name(name.trim_end_matches('.').to_ascii_lowercase())
        }
        Some(Host::Ipv4(ip)) => TargetHost::Ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => TargetHost::Ip(canonical_ip(IpAddr::V6(ip))),
        None => return Err(bad(format!("`{}` names no host", shown(target)))),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| bad("the URL has no port"))?;
    let path = &url[Position::BeforePath..Position::AfterQuery];
    let mut head = format!("{method} {path} {version}\r\n");
    for header in headers {
        let name = header.split(':').next().unwrap_or_default().trim();
        if name.to_ascii_lowercase().starts_with("proxy-") {
            continue;
        }
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    Ok(ProxyRequest {
        host,
        port,
        kind: Kind::Forward(head.into_bytes()),
    })
}

/// At most 100 characters of a value a program sent, for a one-line message.
fn shown(text: &str) -> String {
    text.chars()
        .take(100)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> TargetHost {
        TargetHost::Ip(text.parse().expect("an address"))
    }

    #[test]
    fn connect_names_a_host_and_port_read_like_a_url_host() {
        let request = parse(b"CONNECT 0x7f.1:8443 HTTP/1.1\r\nHost: x\r\n\r\n").expect("valid");
        assert_eq!(request.host, ip("127.0.0.1"));
        assert_eq!(request.port, 8443);
        assert_eq!(request.kind, Kind::Tunnel);
        assert_eq!(request.scheme(), None);
        let v6 = parse(b"CONNECT [::ffff:10.0.0.1]:443 HTTP/1.1\r\n\r\n").expect("valid");
        assert_eq!(v6.host, ip("10.0.0.1"));
        let name = parse(b"CONNECT Example.COM.:443 HTTP/1.1\r\n\r\n").expect("valid");
        assert_eq!(name.host, TargetHost::Name("example.com".into()));
    }

    #[test]
    fn hostile_connect_targets_are_bad_requests() {
        for target in [
            "example.com",
            "example.com:0",
            "example.com:99999",
            "evil@127.0.0.1:80",
            "127.0.0.1:80/x",
            "::1:80",
            ":80",
            "a%2e:80",
        ] {
            let head = format!("CONNECT {target} HTTP/1.1\r\n\r\n");
            let err = parse(head.as_bytes()).expect_err(target);
            assert_eq!(err.status, 400, "{target}");
        }
    }

    #[test]
    fn absolute_form_is_rewritten_to_origin_form_without_proxy_headers() {
        let head = b"GET http://h.example:8080/a/b?q=1 HTTP/1.1\r\nHost: h.example:8080\r\nProxy-Authorization: secret\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n";
        let request = parse(head).expect("valid");
        assert_eq!(request.host, TargetHost::Name("h.example".into()));
        assert_eq!(request.port, 8080);
        assert_eq!(request.scheme(), Some("http"));
        let Kind::Forward(sent) = request.kind else {
            panic!("a forwarded request");
        };
        assert_eq!(
            String::from_utf8(sent).expect("text"),
            "GET /a/b?q=1 HTTP/1.1\r\nHost: h.example:8080\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn other_forms_and_schemes_are_bad_requests() {
        for head in [
            "GET /local HTTP/1.1\r\n\r\n",
            "GET https://h.example/ HTTP/1.1\r\n\r\n",
            "GET ftp://h.example/ HTTP/1.1\r\n\r\n",
            "GET http://u:p@h.example/ HTTP/1.1\r\n\r\n",
            "GET http://h.example/ HTTP/2\r\n\r\n",
            "get http://h.example/ HTTP/1.1\r\n\r\n",
            "GET  http://h.example/ HTTP/1.1\r\n\r\n",
            "GET http://h.example/ HTTP/1.1\r\nno colon\r\n\r\n",
            "\r\n\r\n",
        ] {
            let err = parse(head.as_bytes()).expect_err(head);
            assert_eq!(err.status, 400, "{head:?}");
        }
        assert!(parse(b"GET http://h.example/ HTTP/1.1\r\n\xff\r\n\r\n").is_err());
    }

    #[test]
    fn the_head_ends_at_its_blank_line() {
        assert_eq!(head_end(b"CONNECT a:1 HTTP/1.1\r\n\r\nTLS"), Some(24));
        assert_eq!(head_end(b"CONNECT a:1 HTTP/1.1\r\n"), None);
    }
}
