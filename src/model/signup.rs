//! What the sign-up tokens carry: a [`Pending`] sign-up (in the confirmation link) and a
//! [`Reader`] (in the "Manage your subscription" link), and [`network`], the only form in which a
//! reader's IP address is recorded.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::token::Keys;

/// Token purpose of confirmation links.
pub const CONFIRM: &str = "signup";
/// Token purpose of subscription-page links.
pub const MANAGE: &str = "manage";
/// How long a confirmation link works, in seconds (two days).
pub const CONFIRM_TTL: i64 = 2 * 24 * 3600;

/// A sign-up waiting for its confirmation, carried by the confirmation link (nothing is stored
/// before the reader confirms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The list joined.
    pub list: String,
    /// The address as typed.
    pub address: String,
    /// Display name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The digests chosen.
    pub digests: Vec<String>,
    /// When the form was sent (Unix seconds).
    pub issued: i64,
    /// For an address change: the address key it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

impl Pending {
    /// The signed confirmation token.
    pub fn seal(&self, keys: &Keys) -> String {
        keys.seal(CONFIRM, &serde_json::to_vec(self).unwrap_or_default())
    }

    /// The sign-up a token carries and the token's name (for the used-token record), if the
    /// token is genuine and not older than [`CONFIRM_TTL`] at `now` (Unix seconds).
    pub fn open(keys: &Keys, token: &str, now: i64) -> Option<(Pending, String)> {
        let (payload, name) = keys.open(CONFIRM, token)?;
        let pending: Pending = serde_json::from_slice(&payload).ok()?;
        (now >= pending.issued && now - pending.issued <= CONFIRM_TTL).then_some((pending, name))
    }
}

/// The reader a subscription-page link is for: their subscriber id in the store (no address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader(pub i64);

impl Reader {
    /// The signed token of the reader's subscription page (it does not expire, as unsubscribe
    /// links do not).
    pub fn seal(self, keys: &Keys) -> String {
        keys.seal(MANAGE, &self.0.to_be_bytes())
    }

    /// The reader a genuine token names.
    pub fn open(keys: &Keys, token: &str) -> Option<Reader> {
        let (payload, _) = keys.open(MANAGE, token)?;
        Some(Reader(i64::from_be_bytes(payload.try_into().ok()?)))
    }
}

/// The network of `ip`, which is all the consent record keeps of it: IPv4 to its /24
/// (`192.0.2.0/24`), IPv6 to its /48 (`2001:db8:1::/48`); an IPv4-mapped IPv6 address as IPv4.
pub fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
                format!("{net}/48")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = "a1:0123456789abcdef0123456789abcdef";

    fn pending(issued: i64) -> Pending {
        Pending {
            list: "web".into(),
            address: "Ann@x.example".into(),
            name: None,
            digests: vec!["a".into()],
            issued,
            replaces: None,
        }
    }

    #[test]
    fn a_confirmation_token_expires_and_a_manage_token_is_not_one() {
        // Without the expiry check a leaked confirmation link would work forever.
        let keys = Keys::parse(KEYS).unwrap();
        let token = pending(1000).seal(&keys);
        assert_eq!(Pending::open(&keys, &token, 1000).unwrap().0, pending(1000));
        assert!(Pending::open(&keys, &token, 1000 + CONFIRM_TTL).is_some());
        assert!(Pending::open(&keys, &token, 1001 + CONFIRM_TTL).is_none());
        assert!(
            Pending::open(&keys, &token, 999).is_none(),
            "issued in the future"
        );
        let manage = Reader(7).seal(&keys);
        assert_eq!(Reader::open(&keys, &manage), Some(Reader(7)));
        assert!(Pending::open(&keys, &manage, 1000).is_none());
        assert!(Reader::open(&keys, &token).is_none());
    }

    #[test]
    fn only_the_network_of_an_ip_address_is_kept() {
        // Keeping the whole address would store more personal data than the record needs.
        assert_eq!(network("192.0.2.77".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(
            network("2001:db8:1:2:3::9".parse().unwrap()),
            "2001:db8:1::/48"
        );
        assert_eq!(network("::ffff:192.0.2.9".parse().unwrap()), "192.0.2.0/24");
    }
}
