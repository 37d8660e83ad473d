//! Who is calling: client IP (trusting X-Forwarded-For only from configured proxies) and user agent.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::domain::model::ClientInfo;

/// The peer address, or, when the peer is a trusted proxy, the right-most
/// X-Forwarded-For address that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> IpAddr {
    let peer = req.peer_addr().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

pub fn client_info(req: &HttpRequest, trusted: &[IpAddr]) -> (IpAddr, ClientInfo) {
    let ip = client_ip(req, trusted);
    let ua = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    (ip, ClientInfo::new(ip.to_string(), ua))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let req = TestRequest::default()
            .peer_addr("10.0.0.9:1234".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.7"))
            .to_http_request();
        assert_eq!(client_ip(&req, &[proxy]), "203.0.113.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(&req, &[]), proxy);
        let direct = TestRequest::default()
            .peer_addr("198.51.100.1:1".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4"))
            .to_http_request();
        assert_eq!(client_ip(&direct, &[proxy]), "198.51.100.1".parse::<IpAddr>().unwrap());
    }
}
