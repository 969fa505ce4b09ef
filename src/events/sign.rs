//! The webhook signature, Stripe's scheme: the header `Digest-Signature: t=<unix seconds>,v1=<hex>`
//! where `<hex>` is HMAC-SHA256, keyed with the shared secret, of `<t>.<raw body>`. A receiver
//! recomputes it over the body exactly as received, compares in constant time and refuses a `t`
//! too far from its clock (replays). [`verify`] is that receiver, for tests and as a reference.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signature header's value for `body` sent at `t` (Unix seconds).
pub fn header(secret: &[u8], t: i64, body: &str) -> String {
    let mac = mac(secret, t, body).finalize().into_bytes();
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

fn mac(secret: &[u8], t: i64, body: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No `t=` or no `v1=` in the header.
    #[error("malformed signature header")]
    Malformed,
    /// `t` is more than the tolerance away from now.
    #[error("timestamp outside the tolerance")]
    Stale,
    /// No `v1` matches the body.
    #[error("signature does not match")]
    Mismatch,
}

/// Checks `header` for `body` at `now` (Unix seconds), accepting a `t` at most `tolerance`
/// seconds away; any of several `v1=` values may match (as during a secret rotation).
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &str,
    now: i64,
    tolerance: i64,
) -> Result<(), Refused> {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(Refused::Malformed)?;
    if signatures.is_empty() {
        return Err(Refused::Malformed);
    }
    if (now - t).abs() > tolerance {
        return Err(Refused::Stale);
    }
    for hex in signatures {
        let Some(bytes) = unhex(hex) else { continue };
        // Mac::verify_slice compares in constant time.
        if mac(secret, t, body).verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err(Refused::Mismatch)
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        // A verifier that ignored the timestamp would accept replays; one that ignored the body,
        // forgeries.
        let (secret, body, t) = (b"whsec-test-0123456789", r#"{"id":"evt_1"}"#, 1_700_000_000);
        let h = header(secret, t, body);
        assert!(h.starts_with("t=1700000000,v1="), "{h}");
        assert_eq!(verify(secret, &h, body, t + 60, 300), Ok(()));
        let tampered = r#"{"id":"evt_2"}"#;
        assert_eq!(verify(secret, &h, tampered, t, 300), Err(Refused::Mismatch));
        let other = b"another-secret-0123456789";
        assert_eq!(verify(other, &h, body, t, 300), Err(Refused::Mismatch));
        assert_eq!(verify(secret, &h, body, t + 301, 300), Err(Refused::Stale));
        assert_eq!(
            verify(secret, "v1=00", body, t, 300),
            Err(Refused::Malformed)
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_dot_body() {
        // The documented scheme, checked against openssl's HMAC of the same input:
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let h = header(b"key", 1_700_000_000, "{}");
        let out = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-hmac", "key"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().unwrap().write_all(b"1700000000.{}")?;
                c.wait_with_output()
            });
        let out = match out {
            Ok(o) => String::from_utf8_lossy(&o.stdout).to_string(),
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("skipped: openssl not available: {e}");
                return;
            }
            Err(e) => panic!("openssl is needed (scripts/install-test-tools): {e}"),
        };
        let hex = out.trim().rsplit(' ').next().unwrap();
        assert_eq!(h, format!("t=1700000000,v1={hex}"));
    }
}
