//! Unsubscribe tokens and Message-IDs, both keyed hashes.
//!
//! A token is opaque: base64url of `version | key id | subscriber id | digest id | MAC`, where the
//! MAC is HMAC-SHA256 (truncated to 128 bits) under the named key. It carries no address. Keys come
//! from `DIGEST__UNSUBSCRIBE__KEYS` as `id:secret,id:secret,…`: the first signs, all verify, so a
//! new key is rotated in by putting it first and an old one retired by removing it once the
//! emails signed with it are old enough.
//!
//! A sealed token ([`Keys::seal`]) carries a payload for one purpose (sign-up confirmations,
//! links to the subscription page), signed the same way and domain-separated by the purpose.
//!
//! A VERP token ([`Keys::verp`]) names one message's (subscriber, issue) in a return path
//! `bounces+TOKEN@…`: lower-case base32 (local parts are often lower-cased on the way back) of
//! `version | subscriber id (LEB128) | issue tag | MAC`, where the issue tag is 4 bytes of SHA-256
//! over the issue key (the issue is found among the subscriber's ledger rows, [`Verp::is_for`]) and
//! the MAC is HMAC-SHA256 truncated to 80 bits. At most [`VERP_MAX`] characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;
/// The key id of [`Keys::rehearsal`]; `-` is not allowed in configured ids.
const REHEARSAL_ID: &str = "rehearsal-only";
/// Version byte of sealed tokens ([`Keys::seal`]).
const SEALED_VERSION: u8 = 2;
/// Longest sealed token accepted, in characters.
const SEALED_MAX: usize = 2048;
/// Version byte of VERP tokens.
const VERP_VERSION: u8 = 1;
/// Bytes of the issue tag in a VERP token.
const VERP_TAG: usize = 4;
/// Bytes of the MAC in a VERP token.
const VERP_MAC: usize = 10;
/// Longest VERP token, in characters: base32 of 1 + 10 (a LEB128 `i64`) + 4 + 10 bytes.
pub const VERP_MAX: usize = 40;
/// Lower-case RFC 4648 base32 alphabet.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

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

/// What a valid VERP token says: the subscriber, and a tag of the issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verp {
    /// Subscriber id in the store.
    pub subscriber: i64,
    tag: [u8; VERP_TAG],
}

impl Verp {
    /// Whether the token was made for the issue named `issue` (`digest/period`).
    pub fn is_for(&self, issue: &str) -> bool {
        self.tag == issue_tag(issue)
    }
}

/// The first [`VERP_TAG`] bytes of SHA-256 over an issue key: no secret, the MAC covers it.
fn issue_tag(issue: &str) -> [u8; VERP_TAG] {
    let hash = Sha256::digest(issue.as_bytes());
    let mut tag = [0; VERP_TAG];
    tag.copy_from_slice(&hash[..VERP_TAG]);
    tag
}

/// Lower-case base32 without padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u16, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u16::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[usize::from((buffer >> bits) & 31)]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[usize::from((buffer << (5 - bits)) & 31)]));
    }
    out
}

/// The bytes of lower- or upper-case base32 without padding; `None` for anything else.
fn unbase32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u16, 0u32);
    for c in text.bytes() {
        let value = BASE32.iter().position(|&a| a == c.to_ascii_lowercase())? as u16;
        buffer = ((buffer << 5) | value) & 0x1fff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    // Leftover bits must be zero padding, so that each byte string has one spelling.
    (bits < 5 && buffer & ((1 << bits) - 1) == 0).then_some(out)
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

    /// The VERP token of the message of `issue` (`digest/period`) to `subscriber`, signed with the
    /// current key: at most [`VERP_MAX`] characters of `[a-z2-7]`, no address in it.
    pub fn verp(&self, subscriber: i64, issue: &str) -> String {
        let mut bytes = Vec::with_capacity(1 + 10 + VERP_TAG + VERP_MAC);
        bytes.push(VERP_VERSION);
        let mut id = subscriber as u64;
        loop {
            let low = (id & 0x7f) as u8;
            id >>= 7;
            if id == 0 {
                bytes.push(low);
                break;
            }
            bytes.push(low | 0x80);
        }
        bytes.extend_from_slice(&issue_tag(issue));
        let mac = verp_mac(&self.keys[0].1, &bytes).finalize().into_bytes();
        bytes.extend_from_slice(&mac[..VERP_MAC]);
        base32(&bytes)
    }

    /// The claim of a VERP token signed by any of the keys (compared in constant time), or `None`
    /// for anything else: malformed, too long, tampered, signed by an unknown key.
    pub fn verify_verp(&self, token: &str) -> Option<Verp> {
        if token.len() > VERP_MAX {
            return None;
        }
        let bytes = unbase32(token)?;
        let (&version, rest) = bytes.split_first()?;
        if version != VERP_VERSION || bytes.len() < 2 + VERP_TAG + VERP_MAC {
            return None;
        }
        let (signed, mac) = bytes.split_at(bytes.len() - VERP_MAC);
        let ok = self
            .keys
            .iter()
            .any(|(_, keyed)| verp_mac(keyed, signed).verify_truncated_left(mac).is_ok());
        if !ok {
            return None;
        }
        let (mut id, mut shift, mut used) = (0u64, 0u32, 0);
        for &b in &rest[..rest.len() - VERP_MAC] {
            if shift > 63 {
                return None;
            }
            id |= u64::from(b & 0x7f) << shift;
            shift += 7;
            used += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let tag: [u8; VERP_TAG] = rest.get(used..used + VERP_TAG)?.try_into().ok()?;
        (used + VERP_TAG + VERP_MAC == rest.len()).then_some(Verp {
            subscriber: id as i64,
            tag,
        })
    }

    /// A token carrying `payload` for `purpose` (e.g. `signup`), signed with the current key:
    /// base64url of `version | key id | payload | MAC`, the MAC (HMAC-SHA256, 128 bits) covering
    /// the purpose too, so a token made for one purpose is refused for another. The payload is
    /// readable by whoever holds the token: callers put nothing secret in it.
    pub fn seal(&self, purpose: &str, payload: &[u8]) -> String {
        let (id, keyed) = &self.keys[0];
        let mut bytes = Vec::with_capacity(2 + id.len() + payload.len() + MAC_LEN);
        bytes.push(SEALED_VERSION);
        bytes.push(id.len() as u8);
        bytes.extend_from_slice(id.as_bytes());
        bytes.extend_from_slice(payload);
        let mac = sealed_mac(keyed, purpose, &bytes).finalize().into_bytes();
        bytes.extend_from_slice(&mac[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The payload and MAC (hex, a name for the token) of a token [`Keys::seal`]ed for `purpose`
    /// by any of the keys, or `None` for anything else (malformed, too long, unknown key,
    /// tampered, made for another purpose). The MAC is compared in constant time.
    pub fn open(&self, purpose: &str, token: &str) -> Option<(Vec<u8>, String)> {
        if token.len() > SEALED_MAX {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let (&version, rest) = bytes.split_first()?;
        let (&id_len, rest) = rest.split_first()?;
        if version != SEALED_VERSION || rest.len() < id_len as usize + MAC_LEN {
            return None;
        }
        let (id, rest) = rest.split_at(id_len as usize);
        let (_, keyed) = self.keys.iter().find(|(k, _)| k.as_bytes() == id)?;
        let (signed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        sealed_mac(keyed, purpose, signed)
            .verify_truncated_left(tag)
            .ok()?;
        let payload = rest[..rest.len() - MAC_LEN].to_vec();
        let name = tag.iter().map(|b| format!("{b:02x}")).collect();
        Some((payload, name))
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

/// The HMAC state over sealed token bytes, domain-separated by `purpose`.
fn sealed_mac(keyed: &HmacSha256, purpose: &str, bytes: &[u8]) -> HmacSha256 {
    let mut mac = keyed.clone();
    mac.update(b"sealed\0");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(bytes);
    mac
}

/// The HMAC state over VERP token bytes, domain-separated from the other uses of the keys.
fn verp_mac(keyed: &HmacSha256, bytes: &[u8]) -> HmacSha256 {
    let mut mac = keyed.clone();
    mac.update(b"verp\0");
    mac.update(bytes);
    mac
}

/// Version byte of review tokens.
const REVIEW_VERSION: u8 = 3;
/// Bytes of the reviewer tag in a review token.
const REVIEWER_TAG: usize = 8;

/// What a valid, unexpired review token says: which issue, for which reviewer, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewClaim {
    /// Digest id.
    pub digest: String,
    /// Period, as written (`2024-07`).
    pub period: String,
    /// A tag of the reviewer's address ([`reviewer_tag`]); the address itself is not in the token.
    pub reviewer: [u8; REVIEWER_TAG],
    /// Expiry, in seconds since the Unix epoch.
    pub expires: i64,
}

/// The first 8 bytes of SHA-256 over a lower-cased address: names a reviewer in a review token
/// without carrying the address (the MAC covers it).
pub fn reviewer_tag(address: &str) -> [u8; REVIEWER_TAG] {
    let hash = Sha256::digest(address.trim().to_ascii_lowercase().as_bytes());
    let mut tag = [0; REVIEWER_TAG];
    tag.copy_from_slice(&hash[..REVIEWER_TAG]);
    tag
}

impl Keys {
    /// A review token (the approve and draft pages of the issue `digest`/`period`, for the reviewer
    /// at `reviewer`), valid until `expires` (Unix seconds), signed with the current key:
    /// base64url of `version | key id | expires | digest | reviewer tag | period | MAC`.
    pub fn review(&self, digest: &str, period: &str, reviewer: &str, expires: i64) -> String {
        let (id, keyed) = &self.keys[0];
        let mut bytes = vec![REVIEW_VERSION, id.len() as u8];
        bytes.extend_from_slice(id.as_bytes());
        bytes.extend_from_slice(&expires.to_be_bytes());
        bytes.push(digest.len().min(255) as u8);
        bytes.extend_from_slice(&digest.as_bytes()[..digest.len().min(255)]);
        bytes.extend_from_slice(&reviewer_tag(reviewer));
        bytes.extend_from_slice(period.as_bytes());
        let tag = review_mac(keyed, &bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The claim of a review token signed by any of the keys and not expired at `now` (Unix
    /// seconds); `None` for anything else. The MAC is compared in constant time, before the
    /// expiry is looked at.
    pub fn verify_review(&self, token: &str, now: i64) -> Option<ReviewClaim> {
        if token.len() > 512 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let (signed, mac) = bytes.split_at_checked(bytes.len().checked_sub(MAC_LEN)?)?;
        let (&version, rest) = signed.split_first()?;
        let (&id_len, rest) = rest.split_first()?;
        if version != REVIEW_VERSION {
            return None;
        }
        let (id, rest) = rest.split_at_checked(id_len as usize)?;
        let (_, keyed) = self.keys.iter().find(|(k, _)| k.as_bytes() == id)?;
        review_mac(keyed, signed).verify_truncated_left(mac).ok()?;
        let (expires, rest) = rest.split_at_checked(8)?;
        let expires = i64::from_be_bytes(expires.try_into().ok()?);
        let (&digest_len, rest) = rest.split_first()?;
        let (digest, rest) = rest.split_at_checked(digest_len as usize)?;
        let (reviewer, period) = rest.split_at_checked(REVIEWER_TAG)?;
        if now >= expires {
            return None;
        }
        Some(ReviewClaim {
            digest: std::str::from_utf8(digest).ok()?.to_string(),
            period: std::str::from_utf8(period).ok()?.to_string(),
            reviewer: reviewer.try_into().ok()?,
            expires,
        })
    }
}

/// The HMAC state over review token bytes, domain-separated from the other uses of the keys.
fn review_mac(keyed: &HmacSha256, bytes: &[u8]) -> HmacSha256 {
    let mut mac = keyed.clone();
    mac.update(b"review\0");
    mac.update(bytes);
    mac
}

#[cfg(test)]
mod review_tests {
    use super::*;

    fn keys(spec: &str) -> Keys {
        Keys::parse(spec).unwrap()
    }

    #[test]
    fn a_review_token_round_trips_until_it_expires() {
        let k = keys("k1:0123456789abcdef0123456789abcdef");
        let t = k.review("best-of", "2024-07", "Ed@News.example", 1_000);
        let claim = k.verify_review(&t, 999).unwrap();
        assert_eq!(claim.digest, "best-of");
        assert_eq!(claim.period, "2024-07");
        assert_eq!(claim.reviewer, reviewer_tag("ed@news.example"));
        assert!(!t.contains("news"), "no address in the token");
        // Expired at its expiry: an old link approves nothing.
        assert_eq!(k.verify_review(&t, 1_000), None);
    }

    #[test]
    fn tampered_foreign_and_unsubscribe_tokens_are_not_review_tokens() {
        let k = keys("k1:0123456789abcdef0123456789abcdef");
        let t = k.review("best-of", "2024-07", "ed@news.example", 1_000);
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        // Move the expiry a year on: the MAC no longer matches.
        let at = 2 + 2 + 4;
        bytes[at] ^= 1;
        assert_eq!(k.verify_review(&URL_SAFE_NO_PAD.encode(&bytes), 0), None);
        let other = keys("k1:fedcba9876543210fedcba9876543210");
        assert_eq!(other.verify_review(&t, 0), None);
        assert_eq!(k.verify_review(&k.sign(7, "best-of"), 0), None);
        assert_eq!(k.verify(&t), None, "a review token unsubscribes nobody");
        assert_eq!(k.verify_review("", 0), None);
        assert_eq!(k.verify_review("AAAA", 0), None);
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

    #[test]
    fn a_verp_token_round_trips_short_lower_case_and_names_its_issue() {
        let keys = Keys::parse(A).unwrap();
        for id in [0, 1, 127, 128, 99_999, i64::MAX] {
            let t = keys.verp(id, "best-of-x/2024-07");
            assert!(t.len() <= VERP_MAX, "{t}");
            assert!(t.bytes().all(|b| BASE32.contains(&b)), "{t}");
            let claim = keys.verify_verp(&t).unwrap();
            assert_eq!(claim.subscriber, id);
            assert!(claim.is_for("best-of-x/2024-07"));
            assert!(!claim.is_for("best-of-x/2024-08"));
            assert_eq!(keys.verify_verp(&t.to_ascii_uppercase()), Some(claim));
        }
    }

    #[test]
    fn tampered_truncated_and_foreign_verp_tokens_are_refused() {
        let keys = Keys::parse(A).unwrap();
        let t = keys.verp(42, "d/2024-07");
        let mut bytes = unbase32(&t).unwrap();
        bytes[1] ^= 1; // another subscriber
        assert_eq!(keys.verify_verp(&base32(&bytes)), None);
        assert_eq!(keys.verify_verp(&t[..t.len() - 1]), None);
        assert_eq!(keys.verify_verp(&format!("{t}a")), None);
        assert_eq!(keys.verify_verp("bounces"), None);
        assert_eq!(keys.verify_verp(""), None);
        assert_eq!(keys.verify_verp(&"a".repeat(400)), None);
        assert_eq!(Keys::parse(B).unwrap().verify_verp(&t), None);
        let rotated = Keys::parse(&format!("{B},{A}")).unwrap();
        assert_eq!(rotated.verify_verp(&t).unwrap().subscriber, 42);
    }

    #[test]
    fn a_sealed_token_opens_only_untampered_and_for_its_purpose() {
        // Without the purpose in the MAC a manage link could be replayed as a sign-up confirmation.
        let keys = Keys::parse(A).unwrap();
        let token = keys.seal("signup", b"payload");
        let (payload, name) = keys.open("signup", &token).unwrap();
        assert_eq!((payload.as_slice(), name.len()), (&b"payload"[..], 32));
        assert_eq!(keys.open("manage", &token), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let at = bytes.len() - MAC_LEN - 1;
        bytes[at] ^= 1;
        assert_eq!(keys.open("signup", &URL_SAFE_NO_PAD.encode(bytes)), None);
        assert_eq!(keys.open("signup", "not a token"), None);
        let other = Keys::parse("b1:0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(other.open("signup", &token), None);
    }
}
