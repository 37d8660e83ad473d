//! Who is calling: client IP (trusting forwarding headers only from configured proxies) and user
//! agent. Every limit, log and risk signal keys on this address, so the rules are strict: an
//! entry that cannot be read ends the walk (the peer is used), never skipped over.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use actix_web::http::header;
use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::domain::model::ClientInfo;

/// Whether `ip` is one of the trusted proxies (an address or inside a range).
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|n| n.contains(&ip))
}

/// One X-Forwarded-For hop: `ip`, `ip:port`, `[v6]` or `[v6]:port` (proxies differ). Anything
/// else (`unknown`, an obfuscated name, garbage) is `None`.
pub fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = hop.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

/// The peer address or, when the peer is a trusted proxy, the right-most X-Forwarded-For hop
/// that is not itself a trusted proxy. Walking from the right, a hop that cannot be read stops
/// the walk and the peer is used: whatever stands to its left was written by someone no trusted
/// proxy vouches for.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req.peer_addr().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical());
    forwarded_client(peer, req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()), trusted)
}

/// [`client_ip`] over the peer and the X-Forwarded-For header lines, in the order received.
pub fn forwarded_client<'a>(peer: IpAddr, lines: impl Iterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops: Vec<&str> = lines.flat_map(|v| v.split(',')).collect();
    for hop in hops.into_iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(ip, trusted) => continue,
            Some(ip) => return ip,
            None => return peer,
        }
    }
    peer
}

pub fn client_info(req: &HttpRequest, trusted: &[IpNet]) -> (IpAddr, ClientInfo) {
    let ip = client_ip(req, trusted);
    let ua = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    (ip, ClientInfo::new(ip.to_string(), ua))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| crate::config::parse_proxy(s).unwrap()).collect()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = nets(&["10.0.0.9"]);
        let req = TestRequest::default()
            .peer_addr("10.0.0.9:1234".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.7"))
            .to_http_request();
        assert_eq!(client_ip(&req, &proxy), ip("203.0.113.7"));
        assert_eq!(client_ip(&req, &[]), ip("10.0.0.9"));
        let direct = TestRequest::default()
            .peer_addr("198.51.100.1:1".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4"))
            .to_http_request();
        assert_eq!(client_ip(&direct, &proxy), ip("198.51.100.1"));
    }

    /// Each row: trusted proxies, peer, X-Forwarded-For lines, the client address.
    #[test]
    fn forwarded_hops_as_a_table() {
        let rows: &[(&[&str], &str, &[&str], &str)] = &[
            // A proxy that appends ip:port: the port is not a reason to take the hop to its left.
            (&["10.0.0.9"], "10.0.0.9", &["6.6.6.6, 203.0.113.7:51234"], "203.0.113.7"),
            (&["10.0.0.9"], "10.0.0.9", &["6.6.6.6, [2001:db8::7]:443"], "2001:db8::7"),
            (&["10.0.0.9"], "10.0.0.9", &["6.6.6.6, [2001:db8::7]"], "2001:db8::7"),
            (&["10.0.0.9"], "10.0.0.9", &["2001:db8::8"], "2001:db8::8"),
            // An unreadable hop stops the walk: the peer, not the client-written entry to its left.
            (&["10.0.0.9"], "10.0.0.9", &["6.6.6.6, unknown"], "10.0.0.9"),
            (&["10.0.0.9"], "10.0.0.9", &["6.6.6.6, 203.0.113.7:port"], "10.0.0.9"),
            (&["10.0.0.9"], "10.0.0.9", &["6.6.6.6, "], "10.0.0.9"),
            // Ranges: every proxy in them is skipped, the first outside is the client.
            (&["10.0.0.0/8"], "10.1.2.3", &["6.6.6.6, 198.51.100.4, 10.9.9.9:80"], "198.51.100.4"),
            (&["10.0.0.0/8", "fd00::/8"], "fd00::1", &["198.51.100.5, 10.0.0.1"], "198.51.100.5"),
            // Several header lines read as one list, in order.
            (&["10.0.0.9"], "10.0.0.9", &["6.6.6.6", "203.0.113.9"], "203.0.113.9"),
            // Only proxies in the list: the left-most trusted one is as far as we can see; use the peer.
            (&["10.0.0.0/8"], "10.0.0.1", &["10.0.0.2"], "10.0.0.1"),
            // An IPv4 peer seen on a dual-stack socket is the IPv4 address.
            (&["10.0.0.9"], "::ffff:10.0.0.9", &["203.0.113.7"], "203.0.113.7"),
            // Not from a proxy: the header is the client's own words.
            (&["10.0.0.0/8"], "192.0.2.1", &["10.0.0.5"], "192.0.2.1"),
        ];
        for (trusted, peer, lines, want) in rows {
            let got = forwarded_client(ip(peer).to_canonical(), lines.iter().copied(), &nets(trusted));
            assert_eq!(got, ip(want), "trusted {trusted:?}, peer {peer}, XFF {lines:?}");
        }
    }

    #[test]
    fn proxies_parse_as_addresses_or_ranges() {
        assert_eq!(crate::config::parse_proxy("10.0.0.9").unwrap().to_string(), "10.0.0.9/32");
        assert_eq!(crate::config::parse_proxy("10.1.2.3/16").unwrap().to_string(), "10.1.0.0/16");
        assert_eq!(crate::config::parse_proxy("fd00::/8").unwrap().to_string(), "fd00::/8");
        assert!(crate::config::parse_proxy("10.0.0.0/33").is_err());
        assert!(crate::config::parse_proxy("proxy.example").is_err());
    }
}
