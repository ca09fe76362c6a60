//! Which IP addresses a request must not reach unless the policy grants that
//! address, or a range holding it, by IP or CIDR: loopback, private,
//! link-local, metadata services and every other range that is not the
//! public internet. IPv6 forms that carry an IPv4 address (mapped, NAT64,
//! 6to4, Teredo) are judged by the address they carry.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why an address is not the public internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// `0.0.0.0/8`, `::`: "this host"; connecting to it reaches the local machine.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`; local-use NAT64 `64:ff9b:1::/48`.
    Private,
    /// Carrier-grade NAT, `100.64.0.0/10`.
    SharedCgnat,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// `fec0::/10`, deprecated but still routed by some networks.
    SiteLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// Cloud instance metadata services: `169.254.169.254`, `169.254.170.2`,
    /// `100.100.100.200`, `192.0.0.192`, `fd00:ec2::254`.
    Metadata,
    /// Everything else set aside: `240/4`, `192.0.0/24`, `192.88.99/24`,
    /// ORCHID, discard-only, and IPv6 outside global unicast `2000::/3`.
    Reserved,
}

impl AddressClass {
    /// The class in words, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Unspecified => "an unspecified (this-host) address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::SharedCgnat => "a carrier-grade NAT address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::UniqueLocal => "a unique-local address",
            AddressClass::SiteLocal => "a site-local address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Benchmarking => "a benchmarking address",
            AddressClass::Metadata => "a cloud metadata service address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

/// An IPv6 form that carries an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`.
    Ipv4Mapped,
    /// `64:ff9b::a.b.c.d` (RFC 6052).
    Nat64,
    /// `2002:AABB:CCDD::/48` (RFC 3056).
    SixToFour,
    /// `2001:0::/32`, the client address inverted in the last 32 bits (RFC 4380).
    Teredo,
}

/// A non-public address: its class, and the IPv6 form it hid in, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Special {
    /// What kind of address it is (or carries).
    pub class: AddressClass,
    /// The IPv6 embedding that carried an IPv4 address of that class.
    pub via: Option<Embedding>,
}

impl fmt::Display for Special {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class.describe())?;
        match self.via {
            None => Ok(()),
            Some(Embedding::Ipv4Mapped) => f.write_str(" in IPv4-mapped form"),
            Some(Embedding::Nat64) => f.write_str(" in NAT64 form"),
            Some(Embedding::SixToFour) => f.write_str(" inside a 6to4 address"),
            Some(Embedding::Teredo) => f.write_str(" inside a Teredo address"),
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

#[allow(
    clippy::too_many_arguments,
    reason = "the eight groups of an IPv6 address"
)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16, prefix: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// IPv4 ranges, most specific first: the first match decides.
const V4_RANGES: &[(Ipv4Net, AddressClass)] = &[
    (v4(169, 254, 169, 254, 32), AddressClass::Metadata),
    (v4(169, 254, 170, 2, 32), AddressClass::Metadata),
    (v4(100, 100, 100, 200, 32), AddressClass::Metadata),
    (v4(192, 0, 0, 192, 32), AddressClass::Metadata),
    (v4(255, 255, 255, 255, 32), AddressClass::Broadcast),
    (v4(0, 0, 0, 0, 8), AddressClass::Unspecified),
    (v4(10, 0, 0, 0, 8), AddressClass::Private),
    (v4(100, 64, 0, 0, 10), AddressClass::SharedCgnat),
    (v4(127, 0, 0, 0, 8), AddressClass::Loopback),
    (v4(169, 254, 0, 0, 16), AddressClass::LinkLocal),
    (v4(172, 16, 0, 0, 12), AddressClass::Private),
    (v4(192, 0, 0, 0, 24), AddressClass::Reserved),
    (v4(192, 0, 2, 0, 24), AddressClass::Documentation),
    (v4(192, 88, 99, 0, 24), AddressClass::Reserved),
    (v4(192, 168, 0, 0, 16), AddressClass::Private),
    (v4(198, 18, 0, 0, 15), AddressClass::Benchmarking),
    (v4(198, 51, 100, 0, 24), AddressClass::Documentation),
    (v4(203, 0, 113, 0, 24), AddressClass::Documentation),
    (v4(224, 0, 0, 0, 4), AddressClass::Multicast),
    (v4(240, 0, 0, 0, 4), AddressClass::Reserved),
];

/// IPv6 ranges (after the IPv4 embeddings), most specific first.
const V6_RANGES: &[(Ipv6Net, AddressClass)] = &[
    (
        v6(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254, 128),
        AddressClass::Metadata,
    ),
    (v6(0, 0, 0, 0, 0, 0, 0, 0, 128), AddressClass::Unspecified),
    (v6(0, 0, 0, 0, 0, 0, 0, 1, 128), AddressClass::Loopback),
    (
        v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48),
        AddressClass::Private,
    ),
    (
        v6(0x2001, 2, 0, 0, 0, 0, 0, 0, 48),
        AddressClass::Benchmarking,
    ),
    (
        v6(0x2001, 0x10, 0, 0, 0, 0, 0, 0, 28),
        AddressClass::Reserved,
    ),
    (
        v6(0x2001, 0x20, 0, 0, 0, 0, 0, 0, 28),
        AddressClass::Reserved,
    ),
    (
        v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32),
        AddressClass::Documentation,
    ),
    (
        v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20),
        AddressClass::Documentation,
    ),
    (
        v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7),
        AddressClass::UniqueLocal,
    ),
    (v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10), AddressClass::LinkLocal),
    (v6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10), AddressClass::SiteLocal),
    (v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8), AddressClass::Multicast),
];

const GLOBAL_UNICAST: Ipv6Net = v6(0x2000, 0, 0, 0, 0, 0, 0, 0, 3);
const NAT64: Ipv6Net = v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0, 96);
const SIX_TO_FOUR: Ipv6Net = v6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16);
const TEREDO: Ipv6Net = v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 32);

/// `None` for a public address; otherwise what makes it special.
pub fn classify(ip: IpAddr) -> Option<Special> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip).map(|class| Special { class, via: None }),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    V4_RANGES
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|&(_, class)| class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Special> {
    if let Some((via, carried)) = embedded_v4(ip) {
        return classify_v4(carried).map(|class| Special {
            class,
            via: Some(via),
        });
    }
    let class = V6_RANGES
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|&(_, class)| class)
        .or_else(|| (!GLOBAL_UNICAST.contains(&ip)).then_some(AddressClass::Reserved))?;
    Some(Special { class, via: None })
}

/// The IPv4 address an IPv6 address carries, and how.
fn embedded_v4(ip: Ipv6Addr) -> Option<(Embedding, Ipv4Addr)> {
    let bits = ip.to_bits();
    let low32 = Ipv4Addr::from_bits(bits as u32);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        Some((Embedding::Ipv4Mapped, mapped))
    } else if NAT64.contains(&ip) {
        Some((Embedding::Nat64, low32))
    } else if SIX_TO_FOUR.contains(&ip) {
        Some((
            Embedding::SixToFour,
            Ipv4Addr::from_bits((bits >> 80) as u32),
        ))
    } else if TEREDO.contains(&ip) {
        Some((Embedding::Teredo, Ipv4Addr::from_bits(!(bits as u32))))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(text: &str) -> Option<AddressClass> {
        classify(text.parse().expect("a test address")).map(|special| special.class)
    }

    #[test]
    fn every_special_ipv4_range_is_classified_at_both_ends() {
        use AddressClass::*;
        let cases = [
            ("0.0.0.0", Unspecified),
            ("0.255.255.255", Unspecified),
            ("10.0.0.0", Private),
            ("10.255.255.255", Private),
            ("100.64.0.0", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.0.1", LinkLocal),
            ("169.254.255.255", LinkLocal),
            ("172.16.0.0", Private),
            ("172.31.255.255", Private),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("192.88.99.1", Reserved),
            ("192.168.0.1", Private),
            ("192.168.255.255", Private),
            ("198.18.0.0", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.255", Multicast),
            ("240.0.0.1", Reserved),
            ("254.255.255.255", Reserved),
            ("255.255.255.255", Broadcast),
            ("169.254.169.254", Metadata),
            ("169.254.170.2", Metadata),
            ("100.100.100.200", Metadata),
            ("192.0.0.192", Metadata),
        ];
        for (address, class) in cases {
            assert_eq!(class_of(address), Some(class), "{address}");
        }
    }

    #[test]
    fn every_special_ipv6_range_is_classified() {
        use AddressClass::*;
        let cases = [
            ("::", Unspecified),
            ("::1", Loopback),
            ("::2", Reserved),
            ("::7f00:1", Reserved),
            ("::ffff:0:7f00:1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::1", Private),
            ("2001:2::1", Benchmarking),
            ("2001:10::1", Reserved),
            ("2001:20::1", Reserved),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("fc00::1", UniqueLocal),
            ("fdff:ffff::1", UniqueLocal),
            ("fd00:ec2::254", Metadata),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("ff02::1", Multicast),
            ("4000::1", Reserved),
        ];
        for (address, class) in cases {
            assert_eq!(class_of(address), Some(class), "{address}");
        }
    }

    #[test]
    fn ipv6_forms_are_judged_by_the_ipv4_address_they_carry() {
        let cases = [
            (
                "::ffff:127.0.0.1",
                Embedding::Ipv4Mapped,
                AddressClass::Loopback,
            ),
            (
                "::ffff:169.254.169.254",
                Embedding::Ipv4Mapped,
                AddressClass::Metadata,
            ),
            ("64:ff9b::7f00:1", Embedding::Nat64, AddressClass::Loopback),
            (
                "64:ff9b::a9fe:a9fe",
                Embedding::Nat64,
                AddressClass::Metadata,
            ),
            ("64:ff9b::10.1.2.3", Embedding::Nat64, AddressClass::Private),
            (
                "2002:7f00:1::1",
                Embedding::SixToFour,
                AddressClass::Loopback,
            ),
            (
                "2002:c0a8:101::",
                Embedding::SixToFour,
                AddressClass::Private,
            ),
            // Teredo stores the client address inverted: !127.0.0.1 = 80ff:fffe.
            (
                "2001:0:4136:e378:8000:63bf:80ff:fffe",
                Embedding::Teredo,
                AddressClass::Loopback,
            ),
        ];
        for (address, via, class) in cases {
            let ip: IpAddr = address.parse().expect("a test address");
            assert_eq!(
                classify(ip),
                Some(Special {
                    class,
                    via: Some(via)
                }),
                "{address}"
            );
        }
        // The same forms carrying a public address are public.
        for address in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"] {
            assert_eq!(class_of(address), None, "{address}");
        }
    }

    #[test]
    fn public_addresses_and_range_neighbours_are_not_special() {
        for address in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(class_of(address), None, "{address}");
        }
    }

    #[test]
    fn a_special_address_reads_well_in_a_message() {
        let special = classify("64:ff9b::7f00:1".parse().expect("an address")).expect("special");
        assert_eq!(special.to_string(), "a loopback address in NAT64 form");
    }
}
