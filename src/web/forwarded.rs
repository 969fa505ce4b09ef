//! The client's IP address behind trusted reverse proxies (`[signup] trusted_proxies`): the sign-up
//! pages limit posts per client and record its network with a consent, so behind a proxy they must
//! see the reader, not the proxy.
//!
//! `X-Forwarded-For` is read only when the TCP peer is a trusted proxy. Each proxy appends the
//! address it received the request from, so the list is read from the right: trusted proxies are
//! skipped and the first address that is not one is the client. Anything to its left was written
//! by the client itself (or by proxies we know nothing of) and is ignored, so a reader cannot
//! choose the address they are limited by. An entry that is not an address (`unknown`, a garbled
//! value) ends the walk at the last trusted hop before it; a request whose every hop is trusted is
//! the left-most one's. With no trusted proxy configured (the default) the header is never read.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::model::cidr::Cidr;

/// The client of a request that arrived from `peer` with `headers`, given the `trusted` proxies.
pub fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let peer = peer.to_canonical();
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(list) => list.split(',').map(hop).collect(),
            Err(_) => vec![None],
        })
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(ip) = hop else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// One entry of `X-Forwarded-For`: `192.0.2.7`, `2001:db8::1`, or either with a port
/// (`192.0.2.7:4711`, `[2001:db8::1]:4711`, as some proxies write them).
fn hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn trusted(nets: &[&str]) -> Vec<Cidr> {
        nets.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        // Reading the header from anyone would let every request pick its own rate-limit key.
        let h = headers(&["198.51.100.1"]);
        assert_eq!(client(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
        let t = trusted(&["10.0.0.0/8"]);
        assert_eq!(client(ip("203.0.113.9"), &h, &t), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        // Taking the left-most entry would believe whatever the client wrote into the header.
        let t = trusted(&["10.0.0.0/8", "2001:db8:ff::/48"]);
        let h = headers(&["1.2.3.4, 198.51.100.7, 10.0.0.2"]);
        assert_eq!(client(ip("10.0.0.1"), &h, &t), ip("198.51.100.7"));
        // Several header lines read as one list, in order.
        let h = headers(&["1.2.3.4", "198.51.100.7", "10.0.0.2"]);
        assert_eq!(client(ip("10.0.0.1"), &h, &t), ip("198.51.100.7"));
        // Ports and brackets, IPv6, and a dual-stack peer.
        let h = headers(&["[2001:db8:1::5]:4711, 10.0.0.2:80"]);
        assert_eq!(client(ip("::ffff:10.0.0.1"), &h, &t), ip("2001:db8:1::5"));
    }

    #[test]
    fn a_missing_or_garbled_header_leaves_the_last_trusted_hop() {
        // A garbled entry must not let a client step past it, nor hand out fresh limit keys.
        let t = trusted(&["10.0.0.0/8"]);
        assert_eq!(client(ip("10.0.0.1"), &headers(&[]), &t), ip("10.0.0.1"));
        let h = headers(&["198.51.100.7, unknown, 10.0.0.2"]);
        assert_eq!(client(ip("10.0.0.1"), &h, &t), ip("10.0.0.2"));
        let h = headers(&["10.0.0.3, 10.0.0.2"]);
        assert_eq!(
            client(ip("10.0.0.1"), &h, &t),
            ip("10.0.0.3"),
            "all trusted"
        );
    }
}
