//! Unsubscribe tokens and Message-IDs, both keyed hashes.
//!
//! A token is opaque: base64url of `version | key id | subscriber id | digest id | MAC`, where the
//! MAC is HMAC-SHA256 (truncated to 128 bits) under the named key. It carries no address. Keys come
//! from `DIGEST__UNSUBSCRIBE__KEYS` as `id:secret,id:secret,…`: the first signs, all verify, so a
//! new key is rotated in by putting it first and an old one retired by removing it once the
//! emails signed with it are old enough.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;
/// The key id of [`Keys::rehearsal`]; `-` is not allowed in configured ids.
const REHEARSAL_ID: &str = "rehearsal-only";
/// Shortest accepted secret, in bytes.
pub const MIN_SECRET: usize = 32;

/// The signing keys, first one current, each with its HMAC state already keyed (keying hashes
/// the secret: done once here instead of for every token and Message-ID).
#[derive(Clone)]
pub struct Keys {
    keys: Vec<(String, HmacSha256)>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "Keys({ids:?})")
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Subscriber id in the store.
    pub subscriber: i64,
    /// Digest the subscriber leaves.
    pub digest: String,
}

impl Keys {
    /// Parses `id:secret[,id:secret…]`. Errors never quote a secret.
    pub fn parse(spec: &str) -> Result<Keys, String> {
        let mut keys = Vec::new();
        for (i, part) in spec
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            let (id, secret) = part
                .split_once(':')
                .ok_or_else(|| format!("key {} is not `id:secret`", i + 1))?;
            if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!(
                    "key {}: the id must be 1 to 16 letters or digits",
                    i + 1
                ));
            }
            if secret.len() < MIN_SECRET {
                return Err(format!(
                    "key `{id}`: the secret must be at least {MIN_SECRET} bytes"
                ));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(format!("key id `{id}` appears twice"));
            }
            let mac =
                HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
            keys.push((id.to_string(), mac));
        }
        if keys.is_empty() {
            return Err("no keys: give `id:secret` (secret of 32 bytes or more)".into());
        }
        Ok(Keys { keys })
    }

    /// The keys of rehearsal samples (`digest send --dry-run`): their id, `rehearsal-only`, has a
    /// character no configured key id may have, so no keyring ever verifies a token they sign and
    /// a forwarded sample unsubscribes nobody.
    pub fn rehearsal() -> Keys {
        let mac = HmacSha256::new_from_slice(b"digest rehearsal samples: not a secret")
            .expect("HMAC accepts any key length");
        Keys {
            keys: vec![(REHEARSAL_ID.to_string(), mac)],
        }
    }

    /// A token for `subscriber` leaving `digest`, signed with the current key.
    pub fn sign(&self, subscriber: i64, digest: &str) -> String {
        let (id, keyed) = &self.keys[0];
        let mut bytes = Vec::with_capacity(2 + id.len() + 8 + digest.len() + MAC_LEN);
        bytes.push(VERSION);
        bytes.push(id.len() as u8);
        bytes.extend_from_slice(id.as_bytes());
        bytes.extend_from_slice(&subscriber.to_be_bytes());
        bytes.extend_from_slice(digest.as_bytes());
        let mut mac = keyed.clone();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The claim of a token signed by any of the keys, or `None` for anything else (malformed,
    /// unknown key, tampered). The MAC is compared in constant time.
    pub fn verify(&self, token: &str) -> Option<Claim> {
        if token.len() > 512 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let (&version, rest) = bytes.split_first()?;
        let (&id_len, rest) = rest.split_first()?;
        if version != VERSION || rest.len() < id_len as usize + 8 + MAC_LEN {
            return None;
        }
        let (id, rest) = rest.split_at(id_len as usize);
        let (_, keyed) = self.keys.iter().find(|(k, _)| k.as_bytes() == id)?;
        let (signed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = keyed.clone();
        mac.update(signed);
        mac.verify_truncated_left(tag).ok()?;
        let subscriber = i64::from_be_bytes(rest[..8].try_into().ok()?);
        let digest = std::str::from_utf8(&rest[8..rest.len() - MAC_LEN])
            .ok()?
            .to_string();
        Some(Claim { subscriber, digest })
    }

    /// A Message-ID stable per (issue, recipient): a resend after a crash carries the same one.
    pub fn message_id(&self, issue: &str, address_key: &str, domain: &str) -> String {
        let mut mac = self.keys[0].1.clone();
        mac.update(b"message-id\0");
        mac.update(issue.as_bytes());
        mac.update(b"\0");
        mac.update(address_key.as_bytes());
        let hash = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = String::with_capacity(34 + domain.len() + 2);
        id.push('<');
        for b in &hash[..16] {
            id.push(char::from(HEX[usize::from(b >> 4)]));
            id.push(char::from(HEX[usize::from(b & 15)]));
        }
        id.push('@');
        id.push_str(domain);
        id.push('>');
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a1:0123456789abcdef0123456789abcdef";
    const B: &str = "b2:fedcba9876543210fedcba9876543210";

    #[test]
    fn rehearsal_tokens_verify_under_no_configured_keyring() {
        let token = Keys::rehearsal().sign(7, "d");
        assert_eq!(Keys::parse(A).unwrap().verify(&token), None);
        assert!(Keys::parse(&format!("{REHEARSAL_ID}:{}", &A[3..])).is_err());
    }

    #[test]
    fn a_token_round_trips_and_carries_no_address() {
        let keys = Keys::parse(A).unwrap();
        let t = keys.sign(42, "best-of-x");
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            keys.verify(&t),
            Some(Claim {
                subscriber: 42,
                digest: "best-of-x".into()
            })
        );
    }

    #[test]
    fn tampered_and_foreign_tokens_are_refused() {
        let keys = Keys::parse(A).unwrap();
        let t = keys.sign(42, "best-of-x");
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        bytes[6] ^= 1; // another subscriber id
        assert_eq!(keys.verify(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        assert_eq!(keys.verify(&t[..t.len() - 2]), None);
        assert_eq!(keys.verify("not a token"), None);
        assert_eq!(keys.verify(""), None);
        let other = Keys::parse(B).unwrap();
        assert_eq!(other.verify(&t), None, "unknown key id");
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_the_key_is_removed() {
        let old = Keys::parse(A).unwrap();
        let t = old.sign(7, "d");
        let rotated = Keys::parse(&format!("{B},{A}")).unwrap();
        assert_eq!(rotated.verify(&t).unwrap().subscriber, 7);
        let new_token = rotated.sign(7, "d");
        assert_ne!(new_token, t);
        assert_eq!(old.verify(&new_token), None);
        assert_eq!(Keys::parse(B).unwrap().verify(&t), None, "retired");
    }

    #[test]
    fn bad_key_specs_are_explained_without_the_secret() {
        let e = Keys::parse("a1:short").unwrap_err();
        assert_eq!(e, "key `a1`: the secret must be at least 32 bytes");
        assert!(!e.contains("short"));
        assert!(Keys::parse("").is_err());
        assert!(
            Keys::parse(&format!("{A},{A}"))
                .unwrap_err()
                .contains("twice")
        );
        assert!(Keys::parse("bad id:0123456789abcdef0123456789abcdef").is_err());
        assert!(!format!("{:?}", Keys::parse(A).unwrap()).contains("0123"));
    }

    #[test]
    fn message_ids_are_stable_per_issue_and_recipient() {
        let keys = Keys::parse(A).unwrap();
        let a = keys.message_id("d/2024-07", "x@example.com", "news.example.org");
        assert_eq!(
            a,
            keys.message_id("d/2024-07", "x@example.com", "news.example.org")
        );
        assert_ne!(
            a,
            keys.message_id("d/2024-08", "x@example.com", "news.example.org")
        );
        assert_ne!(
            a,
            keys.message_id("d/2024-07", "y@example.com", "news.example.org")
        );
        assert!(
            a.starts_with('<')
                && a.ends_with("@news.example.org>")
                && a.len() == 1 + 32 + "@news.example.org>".len()
        );
    }
}
