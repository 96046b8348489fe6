//! Who is asking, as a network address: the client behind any trusted proxies, and the network one
//! person controls (for per-address limits and the join cap).
//!
//! Behind a load balancer every TCP peer is the balancer, so per-address limits would lump every
//! client together. `server.trusted_proxies` lists the proxies' networks; a request whose peer is in
//! one of them is attributed to the rightmost `X-Forwarded-For` hop that is not (each proxy appends the
//! address it saw, so hops to the left of the first untrusted one may be forged by the client and are
//! never read). With no trusted proxies the headers are ignored: any client can set them.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// One network: an address and a prefix length (`10.0.0.0/8`, `fd00::/8`; a bare address is /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(ip)), 32, self.prefix)
                    == masked(u128::from(u32::from(net)), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(ip), 128, self.prefix) == masked(u128::from(net), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `bits`-wide address.
fn masked(addr: u128, bits: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let host_bits = u32::from(bits - prefix);
    (addr >> host_bits) << host_bits
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let network = addr
            .trim()
            .parse::<IpAddr>()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// `server.trusted_proxies`: comma-separated networks (also as `JAM__SERVER__TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// The client's address: the peer itself unless it is a trusted proxy; then the rightmost
    /// `X-Forwarded-For` hop (`forwarded`: every header value, in order) that is not trusted. When every
    /// hop is trusted, the leftmost; an unreadable hop ends the walk at the last trusted one (only a
    /// proxy's own appending is believed).
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// A forwarded hop: an address, optionally `[v6]:port` or `v4:port` as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest
            .split_once(']')?
            .0
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical());
    }
    let (addr, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The client's address for per-address limits: the TCP peer, or behind `server.trusted_proxies` the
/// forwarded client (see the module documentation). "unknown" when the peer is not known (tests'
/// in-process requests).
pub fn client_ip(req: &actix_web::HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_owned();
    };
    let trusted = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|state| &state.settings.server.trusted_proxies);
    match trusted {
        Some(trusted) if !trusted.is_empty() => {
            let forwarded = req
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>();
            trusted.client(peer, &forwarded).to_string()
        }
        _ => peer.to_canonical().to_string(),
    }
}

/// The client's address as the network one person controls, for per-address limits and the join
/// cap: an IPv4 address itself (`/32`), an IPv6 address's `/64` (one home, one phone: a client can
/// pick any address inside its /64 at will). An IPv4 address mapped into IPv6 counts as IPv4.
/// `client_ip` is the single source of the address; an unparsable one is its own key.
pub fn address_key(client_ip: &str) -> String {
    match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => format!("{v4}/32"),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("{v4}/32"),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(network))
            }
        },
        Err(_) => client_ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain_their_addresses() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(
            net.contains(ip("::ffff:10.1.0.9")),
            "an IPv4-mapped address is IPv4"
        );
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.1.0.1")));
        let one: Cidr = "192.0.2.1".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.1/32");
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "::/129", "proxy", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert_eq!(
            " 10.0.0.0/8, ,fd00::/8 "
                .parse::<TrustedProxies>()
                .unwrap()
                .0
                .len(),
            2
        );
        assert!("10.0.0.0/8,nope".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_behind_trusted_proxies() {
        let trusted: TrustedProxies = "127.0.0.1/32, 10.0.0.0/8".parse().unwrap();
        // No proxy: the peer, whatever it claims.
        assert_eq!(
            trusted.client(ip("198.51.100.7"), &["1.1.1.1"]),
            ip("198.51.100.7")
        );
        // One proxy: the address it appended.
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &["198.51.100.7"]),
            ip("198.51.100.7")
        );
        // The client forged a hop on the left: the proxy's own appending wins.
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &["6.6.6.6, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Two proxies, one header each, both trusted: walk past them.
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &["6.6.6.6, 198.51.100.7", "10.0.0.2"]),
            ip("198.51.100.7")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(trusted.client(ip("127.0.0.1"), &["10.0.0.5"]), ip("10.0.0.5"));
        // No header: the proxy itself.
        assert_eq!(trusted.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        // Garbage to the right of everything: stop at the proxy rather than believe what is left of it.
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &["198.51.100.7, garbage"]),
            ip("127.0.0.1")
        );
        // Ports as some proxies write them, and IPv6.
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &["198.51.100.7:5555"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &["[2001:db8::5]:443"]),
            ip("2001:db8::5")
        );
        assert_eq!(
            trusted.client(ip("::ffff:127.0.0.1"), &["2001:db8::5"]),
            ip("2001:db8::5")
        );
        // Nothing trusted: headers are never read.
        assert_eq!(
            TrustedProxies::default().client(ip("127.0.0.1"), &["198.51.100.7"]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn an_ipv4_address_is_its_own_key() {
        assert_eq!(address_key("203.0.113.7"), "203.0.113.7/32");
        assert_ne!(address_key("203.0.113.7"), address_key("203.0.113.8"));
    }

    #[test]
    fn an_ipv6_address_is_keyed_by_its_64() {
        let key = address_key("2001:db8:1:2::1");
        assert_eq!(key, "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:ffff:ffff:ffff:ffff"), key);
        assert_eq!(address_key("2001:db8:1:2:abcd::9"), key);
        assert_ne!(address_key("2001:db8:1:3::1"), key);
        assert_ne!(address_key("2001:db8:2:2::1"), key);
        assert_eq!(address_key("::1"), "::/64");
    }

    #[test]
    fn a_mapped_ipv4_address_counts_as_ipv4_and_garbage_is_its_own_key() {
        assert_eq!(address_key("::ffff:203.0.113.7"), "203.0.113.7/32");
        assert_eq!(address_key("unknown"), "unknown");
    }
}
