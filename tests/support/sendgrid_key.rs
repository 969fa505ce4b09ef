//! A SendGrid-style signing key for tests, shared by the library's unit tests
//! (src/inbound/providers/tests.rs) and the CLI tests (tests/cli/providers.rs): an ECDSA P-256 key
//! pair, its public key as SendGrid shows it, and the signature SendGrid sends.

use base64::Engine as _;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

/// DER of `SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING` before the point.
const SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A fresh signing key.
pub struct SigningKey(EcdsaKeyPair);

impl SigningKey {
    /// A new random key.
    pub fn generate() -> SigningKey {
        let rng = ring::rand::SystemRandom::new();
        let alg = &ECDSA_P256_SHA256_ASN1_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        SigningKey(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap())
    }

    /// The public key as a DER SubjectPublicKeyInfo (SendGrid shows it in base64).
    pub fn public_key(&self) -> Vec<u8> {
        let mut spki = SPKI_PREFIX.to_vec();
        spki.extend_from_slice(self.0.public_key().as_ref());
        spki
    }

    /// The `X-Twilio-Email-Event-Webhook-Signature` of `body` sent at `timestamp`.
    pub fn sign(&self, timestamp: &str, body: &str) -> String {
        let rng = ring::rand::SystemRandom::new();
        let signed = self
            .0
            .sign(&rng, format!("{timestamp}{body}").as_bytes())
            .unwrap();
        base64::engine::general_purpose::STANDARD.encode(signed.as_ref())
    }
}
