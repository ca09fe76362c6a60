//! Network grants: which hosts a `#[net]` value may name.
//!
//! A grant is a host name (`api.example.com`), a wildcard suffix
//! (`*.example.com`), an IP address, or a CIDR range, each optionally with a
//! port (`host:8443`, `[::1]:8080`). A value to check is a URL or a bare
//! `host[:port]`; IP literals in any encoding the URL standard accepts
//! (`0x7f.1`, `2130706433`, `127.1`) are normalised before matching.

use std::net::IpAddr;

use ipnet::IpNet;
use url::{Host, Url};

use super::decision::{Decision, Judged, Refusal};
use super::grants::Grants;

/// May a `#[net]` value be reached? Denied by any `[net] deny` entry, then
/// by its scheme, then allowed by the first `[net] allow` entry covering it.
pub(super) fn decide(grants: &Grants, origin: &str, value: &str) -> Judged {
    let target = NetTarget::parse(value).map_err(|err| Refusal::new("input", err))?;
    if let Some(rule) = grants.net_deny(&target) {
        return Err(Refusal::new(
            rule.text.clone(),
            format!("{} is denied", target.host),
        ));
    }
    let http = grants.allows_http();
    if let Some(scheme) = target
        .scheme
        .as_deref()
        .filter(|&s| s != "https" && !(s == "http" && http))
    {
        return Err(Refusal::new(
            "net.http",
            format!(
                "the scheme `{scheme}` is not allowed; use https{}",
                if http { " or http" } else { "" }
            ),
        ));
    }
    match grants.net_allow(&target) {
        Some(rule) => Ok(Decision::allow(
            rule.text.clone(),
            format!("{} is granted", target.host),
        )),
        None => Err(Refusal::new(
            "net.allow",
            format!(
                "{}{} is not a granted host; ask the operator to add it under [net] allow in {origin}",
                target.host,
                target.port.map(|p| format!(":{p}")).unwrap_or_default(),
            ),
        )),
    }
}

/// One `[net]` entry, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: HostMatch,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Exact(String),
    /// `*.example.com`: any name ending in `.example.com` (not the apex).
    Suffix(String),
    Net(IpNet),
}

/// Where a `#[net]` value points: scheme (when it was a URL), host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetTarget {
    /// `https`, `http`, ... ; `None` for a bare `host[:port]`.
    pub scheme: Option<String>,
    /// The host, lower-cased; an IP address when the value was a literal.
    pub host: TargetHost,
    /// The explicit or default port, when known.
    pub port: Option<u16>,
}

/// A target's host: a name or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetHost {
    /// A DNS name, lower-cased, without a trailing dot.
    Name(String),
    /// An IP address (IPv4-mapped IPv6 addresses are reported as IPv4).
    Ip(IpAddr),
}

impl std::fmt::Display for TargetHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetHost::Name(name) => f.write_str(name),
            TargetHost::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl HostPattern {
    /// Parses a grant: `host`, `*.suffix`, IP, CIDR, each with an optional `:port`.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty host".to_owned());
        }
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(HostPattern {
                host: HostMatch::Net(net),
                port: None,
            });
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(HostPattern {
                host: HostMatch::Net(IpNet::from(canonical_ip(ip))),
                port: None,
            });
        }
        let (host, port) = split_port(text)?;
        if let Some(suffix) = host.strip_prefix("*.") {
            check_name(suffix)?;
            return Ok(HostPattern {
                host: HostMatch::Suffix(format!(".{}", suffix.to_ascii_lowercase())),
                port,
            });
        }
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(HostPattern {
                host: HostMatch::Net(IpNet::from(canonical_ip(ip))),
                port,
            });
        }
        check_name(host)?;
        Ok(HostPattern {
            host: HostMatch::Exact(host.trim_end_matches('.').to_ascii_lowercase()),
            port,
        })
    }

    /// Whether `target` is covered by this grant.
    pub fn matches(&self, target: &NetTarget) -> bool {
        if self.port.is_some() && self.port != target.port {
            return false;
        }
        match (&self.host, &target.host) {
            (HostMatch::Exact(name), TargetHost::Name(host)) => name == host,
            (HostMatch::Suffix(suffix), TargetHost::Name(host)) => host.ends_with(suffix.as_str()),
            (HostMatch::Net(net), TargetHost::Ip(ip)) => net.contains(ip),
            _ => false,
        }
    }

    /// Whether this grant names exactly one address or host (used where only
    /// an exact grant may open a dangerous range).
    pub fn net(&self) -> Option<&IpNet> {
        match &self.host {
            HostMatch::Net(net) => Some(net),
            _ => None,
        }
    }
}

fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    // `[v6]:port`, or `name:port` with exactly one colon.
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("an unclosed `[` in an IPv6 host")?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(parse_port(port)?),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected `{after}` after `]`")),
        };
        return Ok((host, port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((host, Some(parse_port(port)?))),
        _ => Ok((text, None)),
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("`{text}` is not a port (1-65535)"))
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(())
    } else {
        Err(format!("`{name}` is not a host name"))
    }
}

/// IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is the IPv4 address it maps.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl NetTarget {
    /// Parses a `#[net]` value: a URL with a host, or a bare `host[:port]`.
    pub fn parse(value: &str) -> Result<NetTarget, String> {
        if value.contains('\0') || value.chars().any(char::is_control) {
            return Err("the address contains control characters".to_owned());
        }
        let bare = !value.contains("://");
        // A bare host is read as an https URL's host would be (a special
        // scheme: percent-decoding, IDNA, IPv4 encodings), exactly as a client
        // given `https://{value}` would connect.
        let url = if bare {
            Url::parse(&format!("https://{value}"))
                .map_err(|err| format!("`{value}` is not a host: {err}"))?
        } else {
            Url::parse(value).map_err(|err| format!("`{value}` is not a valid URL: {err}"))?
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("user names or passwords in addresses are not allowed".to_owned());
        }
        if bare && (url.path() != "/" || url.query().is_some() || url.fragment().is_some()) {
            return Err(format!(
                "`{value}` is not a bare host: give a host, a host:port, or a full URL"
            ));
        }
        let host = match url.host() {
            Some(Host::Domain(name)) => domain_or_ip(name),
            Some(Host::Ipv4(ip)) => TargetHost::Ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => TargetHost::Ip(canonical_ip(IpAddr::V6(ip))),
            None => return Err(format!("`{value}` names no host")),
        };
        let (scheme, port) = if bare {
            // The URL parser drops a port equal to https's default; a bare
            // `host:443` still names port 443.
            (None, split_port(value).ok().and_then(|(_, port)| port))
        } else {
            (Some(url.scheme().to_owned()), url.port_or_known_default())
        };
        Ok(NetTarget { port, scheme, host })
    }
}

/// Non-special schemes (like our `net://`) leave IPv4 literals as names;
/// normalise them the way a browser would for `http`.
fn domain_or_ip(name: &str) -> TargetHost {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match Url::parse(&format!("http://{name}/"))
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(Host::Ipv4(ip)) => TargetHost::Ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => TargetHost::Ip(canonical_ip(IpAddr::V6(ip))),
        _ => TargetHost::Name(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(value: &str) -> NetTarget {
        NetTarget::parse(value).unwrap()
    }

    #[test]
    fn every_encoding_of_loopback_is_one_address() {
        let loopback = TargetHost::Ip("127.0.0.1".parse().unwrap());
        for value in [
            "127.0.0.1",
            "2130706433",
            "0x7f.1",
            "127.1",
            "0177.0.0.1",
            "http://0x7f000001/",
            "[::ffff:127.0.0.1]",
        ] {
            assert_eq!(target(value).host, loopback, "{value}");
        }
    }

    #[test]
    fn patterns_match_names_suffixes_ranges_and_ports() {
        let exact = HostPattern::parse("api.example.com").unwrap();
        assert!(exact.matches(&target("https://API.example.com/x")));
        assert!(!exact.matches(&target("https://api.example.com.evil.net/")));
        let suffix = HostPattern::parse("*.example.com").unwrap();
        assert!(suffix.matches(&target("a.b.example.com")));
        assert!(!suffix.matches(&target("example.com")));
        assert!(!suffix.matches(&target("badexample.com")));
        let range = HostPattern::parse("10.0.0.0/8").unwrap();
        assert!(range.matches(&target("http://10.2.3.4:8080/")));
        assert!(!range.matches(&target("11.0.0.1")));
        let port = HostPattern::parse("127.0.0.1:8080").unwrap();
        assert!(port.matches(&target("http://127.0.0.1:8080/")));
        assert!(!port.matches(&target("http://127.0.0.1:8081/")));
        let v6 = HostPattern::parse("[::1]:9000").unwrap();
        assert!(v6.matches(&target("http://[::1]:9000/")));
    }

    #[test]
    fn bad_patterns_and_targets_are_refused() {
        for bad in [
            "",
            "exa mple.com",
            "host:0",
            "host:99999",
            "[::1",
            "10.0.0.0/33x",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
        assert!(NetTarget::parse("https://user:pw@example.com/").is_err());
        assert!(NetTarget::parse("exa\0mple.com").is_err());
        assert!(NetTarget::parse("file:///etc/passwd").is_err());
        assert!(NetTarget::parse("example.com/path").is_err());
        assert!(NetTarget::parse("example.com?x").is_err());
    }

    #[test]
    fn bare_hosts_are_decoded_as_a_client_would_connect() {
        // Percent-encoding and full-width letters decode to the real name,
        // so a deny rule under an allowed wildcard still matches.
        for value in ["internal%2eexample.com", "\u{ff49}nternal.example.com"] {
            assert_eq!(
                target(value).host,
                TargetHost::Name("internal.example.com".into()),
                "{value}"
            );
        }
        assert_eq!(target("example.com:8443").port, Some(8443));
        assert_eq!(target("example.com:443").port, Some(443));
        assert_eq!(target("[::1]:443").port, Some(443));
        assert_eq!(target("example.com").port, None);
    }
}
