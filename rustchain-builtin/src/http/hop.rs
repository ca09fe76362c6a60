//! Where one call may go. Every hop (the first URL and each redirect) passes
//! the same checks: scheme, no user info, no metadata name, a granted host
//! and port. Every address a name resolves to is then checked too: a
//! non-public address needs a grant of that address or a range holding it,
//! whatever names are granted.
//!
//! [`CallNet`] is one call's state, shared by the client's resolver and its
//! redirect policy: the hop in flight (so the resolver knows the port the
//! connection will use) and the first refusal (so the call reports it
//! rather than the HTTP client's wrapping of it).
//!
//! Who grants a host is a [`Reach`]: the policy's `[net]` rules for
//! `http_request`, a program's `hosts` for the proxy `cmd_run` gives a
//! program (`cmd::proxy`). Both go through the same checks here
//! ([`check_host`], [`resolve_checked`]): one copy of the rules.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use rustchain_tools::policy::Grants;
use rustchain_tools::policy::net::{NetTarget, TargetHost, canonical_ip};
use rustchain_tools::{ErrorKind, ToolContext, ToolError};
use url::{Host, Url};

use super::address::classify;
use super::resolve::Resolver;

/// Redirects followed at most; one more is an error.
pub const MAX_REDIRECTS: usize = 5;

/// Names of cloud metadata services, refused whatever the policy grants
/// (to reach one, grant its address and use the address).
const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// One checked hop: the host and port a connection may go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The host, normalised (lower case, no trailing dot, IP literals parsed).
    pub host: TargetHost,
    /// The port, explicit or the scheme's default.
    pub port: u16,
    /// Whether the hop is `https`.
    pub https: bool,
}

/// Who grants the hosts a connection may reach, and which rules deny them.
pub(crate) trait Reach: Send + Sync {
    /// Whether `target` is granted and not denied.
    fn allows(&self, target: &NetTarget) -> bool;
    /// The `[net] deny` rule covering `target`, as written, if one does.
    fn denial(&self, target: &NetTarget) -> Option<&str>;
    /// Where a person grants a host, for messages (`under [net] allow`).
    fn where_granted(&self) -> String;
}

/// `http_request`'s reach: the policy's `[net] allow`, less its `[net] deny`.
impl Reach for Grants {
    fn allows(&self, target: &NetTarget) -> bool {
        self.allows_host(target)
    }

    fn denial(&self, target: &NetTarget) -> Option<&str> {
        self.net_denial(target)
    }

    fn where_granted(&self) -> String {
        "under [net] allow".to_owned()
    }
}

fn denied(message: impl Into<String>) -> ToolError {
    ToolError::new(ErrorKind::Denied, message)
}

fn host_port(host: &TargetHost, port: u16) -> String {
    match host {
        TargetHost::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        host => format!("{host}:{port}"),
    }
}

/// Checks a URL against the grants: the scheme, user info, the host and port.
pub fn check_url(url: &Url, grants: &Grants) -> Result<Hop, ToolError> {
    let scheme = url.scheme();
    match scheme {
        "https" => {}
        "http" if grants.allows_http() => {}
        "http" => {
            return Err(denied(
                "plain http is not allowed by the policy; use https, or ask the operator to set `http = true` under [net]",
            ));
        }
        other => {
            return Err(denied(format!(
                "the scheme `{other}` is not allowed; only https{} URLs may be requested",
                if grants.allows_http() {
                    " and http"
                } else {
                    ""
                }
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(denied(
            "user names or passwords in URLs are not allowed; send credentials in a header instead",
        ));
    }
    let host = match url.host() {
        Some(Host::Domain(name)) => {
            TargetHost::Name(name.trim_end_matches('.').to_ascii_lowercase())
        }
        Some(Host::Ipv4(ip)) => TargetHost::Ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => TargetHost::Ip(canonical_ip(IpAddr::V6(ip))),
        None => return Err(denied(format!("`{url}` names no host"))),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| denied(format!("`{url}` has no port")))?;
    check_host(host, port, Some(scheme), grants)
}

/// Checks a host and port against `reach`: no cloud metadata name, and a
/// grant covering it. `scheme` is the URL's, `None` for a bare tunnel.
pub(crate) fn check_host(
    host: TargetHost,
    port: u16,
    scheme: Option<&str>,
    reach: &dyn Reach,
) -> Result<Hop, ToolError> {
    if let TargetHost::Name(name) = &host
        && METADATA_NAMES.contains(&name.as_str())
    {
        return Err(denied(format!(
            "`{name}` names a cloud metadata service, which is never requested"
        )));
    }
    let target = NetTarget {
        scheme: scheme.map(str::to_owned),
        host: host.clone(),
        port: Some(port),
    };
    if !reach.allows(&target) {
        return Err(denied(format!(
            "{} is not a granted host; ask the operator to add it {}",
            host_port(&host, port),
            reach.where_granted()
        )));
    }
    Ok(Hop {
        host,
        port,
        https: scheme == Some("https"),
    })
}

/// Checks a redirect from `previous` (the URLs requested so far) to `next`.
pub fn check_redirect(next: &Url, previous: &[Url], grants: &Grants) -> Result<Hop, ToolError> {
    if previous.len() > MAX_REDIRECTS {
        return Err(ToolError::new(
            ErrorKind::Failed,
            format!("more than {MAX_REDIRECTS} redirects; the last pointed to {next}"),
        ));
    }
    let refused = |why: &str| denied(format!("the redirect to {next} was refused: {why}"));
    if previous.last().is_some_and(|from| from.scheme() == "https") && next.scheme() != "https" {
        return Err(refused("it leaves https for a plain connection"));
    }
    check_url(next, grants).map_err(|err| refused(err.message()))
}

/// Checks every address `host` resolved to; one denied answer refuses them all.
pub(crate) fn check_answers(
    host: &TargetHost,
    port: u16,
    answers: &[IpAddr],
    reach: &dyn Reach,
) -> Result<(), ToolError> {
    if answers.is_empty() {
        return Err(ToolError::new(
            ErrorKind::Failed,
            format!("`{host}` resolves to no address"),
        ));
    }
    for &answer in answers {
        let ip = canonical_ip(answer);
        let target = NetTarget {
            scheme: None,
            host: TargetHost::Ip(ip),
            port: Some(port),
        };
        if let Some(rule) = reach.denial(&target) {
            return Err(denied(format!(
                "`{host}` resolves to {ip}, which `{rule}` denies, so the request was refused"
            )));
        }
        let Some(special) = classify(ip) else {
            continue;
        };
        if !reach.allows(&target) {
            return Err(denied(format!(
                "`{host}` resolves to {ip}, {special}; a host name grant does not open such addresses, so the request was refused; to allow it, ask the operator to grant `{}` (or a range holding it) {}",
                host_port(&TargetHost::Ip(ip), port),
                reach.where_granted()
            )));
        }
    }
    Ok(())
}

/// The name the HTTP client asked to resolve (or a proxy request named),
/// read the way a URL host is.
pub(crate) fn host_of(name: &str) -> Result<TargetHost, ToolError> {
    match Url::parse(&format!("http://{name}/"))
        .as_ref()
        .map(Url::host)
    {
        Ok(Some(Host::Domain(name))) => Ok(TargetHost::Name(
            name.trim_end_matches('.').to_ascii_lowercase(),
        )),
        Ok(Some(Host::Ipv4(ip))) => Ok(TargetHost::Ip(IpAddr::V4(ip))),
        Ok(Some(Host::Ipv6(ip))) => Ok(TargetHost::Ip(canonical_ip(IpAddr::V6(ip)))),
        _ => Err(denied(format!("`{name}` is not a host name"))),
    }
}

/// One call's network state, shared by its client's resolver and redirect policy.
pub struct CallNet {
    ctx: ToolContext,
    resolver: Arc<dyn Resolver>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The hop being requested now: the resolver serves only its host.
    hop: Option<Hop>,
    /// The first refusal, reported instead of the client's error.
    refusal: Option<ToolError>,
    redirects: usize,
}

impl CallNet {
    /// State for one call: its context (for the grants), the resolver to ask, and the first hop.
    pub fn new(ctx: &ToolContext, resolver: Arc<dyn Resolver>, first: Hop) -> CallNet {
        CallNet {
            ctx: ctx.clone(),
            resolver,
            state: Mutex::new(State {
                hop: Some(first),
                ..State::default()
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn grants(&self) -> &Grants {
        Grants::of(&self.ctx)
    }

    /// Keeps the first refusal; later ones are consequences of it.
    fn refuse(&self, refusal: ToolError) -> ToolError {
        let mut state = self.state();
        state.refusal.get_or_insert_with(|| refusal.clone());
        refusal
    }

    /// The refusal that ended the request, if one did.
    pub fn refusal(&self) -> Option<ToolError> {
        self.state().refusal.clone()
    }

    /// How many redirects were followed.
    pub fn redirects(&self) -> usize {
        self.state().redirects
    }

    /// The redirect policy's decision: `Ok` follows (and makes `next` the hop in flight).
    pub fn redirect(&self, next: &Url, previous: &[Url]) -> Result<(), ToolError> {
        match check_redirect(next, previous, self.grants()) {
            Ok(hop) => {
                let mut state = self.state();
                state.hop = Some(hop);
                state.redirects += 1;
                Ok(())
            }
            Err(refusal) => Err(self.refuse(refusal)),
        }
    }

    /// Resolves `name` for a connection of the hop in flight, checking every answer.
    pub async fn resolve(&self, name: &str) -> Result<Vec<SocketAddr>, ToolError> {
        match self.resolve_checked(name).await {
            Ok(addresses) => Ok(addresses),
            Err(refusal) => Err(self.refuse(refusal)),
        }
    }

    async fn resolve_checked(&self, name: &str) -> Result<Vec<SocketAddr>, ToolError> {
        let host = host_of(name)?;
        let hop = self.state().hop.clone();
        let port = match hop {
            Some(hop) if hop.host == host => hop.port,
            _ => {
                return Err(denied(format!(
                    "the HTTP client asked to resolve `{name}`, which is not the host being requested; refused"
                )));
            }
        };
        resolve_checked(&*self.resolver, &host, port, self.grants()).await
    }
}

/// The addresses `host` resolves to, each checked ([`check_answers`]), as
/// the socket addresses to connect to: one lookup, so nothing checked can
/// be swapped for something else by a second answer (DNS rebinding).
pub(crate) async fn resolve_checked(
    resolver: &dyn Resolver,
    host: &TargetHost,
    port: u16,
    reach: &dyn Reach,
) -> Result<Vec<SocketAddr>, ToolError> {
    let answers = match host {
        TargetHost::Ip(ip) => vec![*ip],
        TargetHost::Name(name) => resolver.lookup(name).await.map_err(|err| {
            ToolError::new(
                ErrorKind::Failed,
                format!("`{name}` could not be resolved: {err}"),
            )
        })?,
    };
    check_answers(host, port, &answers, reach)?;
    Ok(answers
        .into_iter()
        .map(|ip| SocketAddr::new(canonical_ip(ip), port))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rustchain_tools::Policy;

    use super::*;

    fn grants(toml: &str) -> Grants {
        Policy::from_toml(toml, "<test>", Path::new("."))
            .expect("a valid test policy")
            .grants()
            .clone()
    }

    fn url(text: &str) -> Url {
        Url::parse(text).expect("a test URL")
    }

    fn refused(result: Result<impl std::fmt::Debug, ToolError>) -> ToolError {
        let err = result.expect_err("should be refused");
        assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
        err
    }

    #[test]
    fn the_first_hop_needs_a_granted_host_port_and_scheme() {
        let g = grants("[net]\nallow = [\"api.example.com\", \"127.0.0.1:8080\"]\n");
        let hop = check_url(&url("https://API.example.com./v1"), &g).expect("granted");
        assert_eq!(hop.host, TargetHost::Name("api.example.com".into()));
        assert_eq!(hop.port, 443);
        assert!(hop.https);
        refused(check_url(&url("http://api.example.com/"), &g));
        check_url(&url("https://127.0.0.1:8080/"), &g).expect("a granted address and port");
        refused(check_url(&url("https://127.0.0.1:8081/"), &g));
        refused(check_url(&url("https://user:pw@api.example.com/"), &g));
        refused(check_url(&url("file:///etc/passwd"), &g));
        refused(check_url(&url("ftp://api.example.com/"), &g));
    }

    #[test]
    fn metadata_names_are_refused_even_when_granted() {
        let g = grants("[net]\nallow = [\"metadata.google.internal\", \"metadata.goog\"]\n");
        for name in [
            "https://metadata.google.internal/",
            "https://METADATA.goog./x",
        ] {
            let err = refused(check_url(&url(name), &g));
            assert!(err.message().contains("metadata"), "{err}");
        }
    }

    #[test]
    fn redirects_are_checked_downgrades_refused_and_counted() {
        let g = grants("[net]\nhttp = true\nallow = [\"a.example\", \"b.example\"]\n");
        let from = [url("https://a.example/")];
        check_redirect(&url("https://b.example/x"), &from, &g).expect("granted");
        let err = refused(check_redirect(&url("http://b.example/x"), &from, &g));
        assert!(err.message().contains("leaves https"), "{err}");
        refused(check_redirect(&url("https://c.example/"), &from, &g));
        refused(check_redirect(&url("file:///etc/passwd"), &from, &g));
        refused(check_redirect(
            &url("http://169.254.169.254/"),
            &[url("http://a.example/")],
            &g,
        ));
        check_redirect(&url("https://a.example/"), &[url("http://a.example/")], &g)
            .expect("an upgrade to https is fine");
        let chain: Vec<Url> = (0..=MAX_REDIRECTS)
            .map(|_| url("https://a.example/"))
            .collect();
        let err = check_redirect(&url("https://a.example/"), &chain, &g).expect_err("too many");
        assert_eq!(err.kind(), ErrorKind::Failed);
    }

    #[test]
    fn one_special_answer_refuses_all_and_only_an_address_grant_opens_it() {
        let host = TargetHost::Name("svc.example".into());
        let g = grants("[net]\nallow = [\"svc.example\"]\n");
        let public: IpAddr = "93.184.216.34".parse().expect("an address");
        let loopback: IpAddr = "127.0.0.1".parse().expect("an address");
        check_answers(&host, 443, &[public], &g).expect("a public answer");
        for answers in [[public, loopback], [loopback, public]] {
            let err = refused(check_answers(&host, 443, &answers, &g));
            assert!(err.message().contains("loopback"), "{err}");
        }
        for special in [
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "fd00:ec2::254",
            "0.0.0.0",
        ] {
            let ip: IpAddr = special.parse().expect("an address");
            refused(check_answers(&host, 443, &[ip], &g));
        }
        let exact = grants("[net]\nallow = [\"svc.example\", \"127.0.0.1:443\"]\n");
        check_answers(&host, 443, &[public, loopback], &exact).expect("granted address");
        refused(check_answers(&host, 8443, &[loopback], &exact));
        let range = grants("[net]\nallow = [\"svc.example\", \"127.0.0.0/8\"]\n");
        check_answers(&host, 1, &[loopback], &range).expect("granted range");
        let denied_range =
            grants("[net]\nallow = [\"svc.example\", \"127.0.0.0/8\"]\ndeny = [\"127.0.0.1\"]\n");
        refused(check_answers(&host, 1, &[loopback], &denied_range));
    }

    #[test]
    fn a_deny_holds_for_every_address_a_granted_name_resolves_to() {
        let host = TargetHost::Name("svc.example".into());
        let public: IpAddr = "93.184.216.34".parse().expect("an address");
        let other: IpAddr = "1.1.1.1".parse().expect("an address");
        let g = grants("[net]\nallow = [\"svc.example\"]\ndeny = [\"93.184.0.0/16\"]\n");
        for answers in [vec![public], vec![other, public]] {
            let err = refused(check_answers(&host, 443, &answers, &g));
            assert!(err.message().contains("93.184.0.0/16"), "{err}");
        }
        let v6 = grants("[net]\nallow = [\"svc.example\"]\ndeny = [\"2606:4700::/32\"]\n");
        let v6_address: IpAddr = "2606:4700::1111".parse().expect("an address");
        refused(check_answers(&host, 443, &[v6_address], &v6));
        let port = grants("[net]\nallow = [\"svc.example\"]\ndeny = [\"93.184.216.34:443\"]\n");
        refused(check_answers(&host, 443, &[public], &port));
        check_answers(&host, 8443, &[public], &port).expect("another port is not denied");
    }

    #[test]
    fn the_resolvers_name_is_read_like_a_url_host() {
        assert_eq!(
            host_of("0x7f.1").expect("a host"),
            TargetHost::Ip("127.0.0.1".parse().expect("an address"))
        );
        assert_eq!(
            host_of("Example.COM.").expect("a host"),
            TargetHost::Name("example.com".into())
        );
    }
}
