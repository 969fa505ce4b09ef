//! DKIM signing (RFC 6376) of a message as it is sent: relaxed/relaxed canonicalisation of the
//! bytes of the message, an RSA-SHA256 signature, an Ed25519-SHA256 one (RFC 8463), or both. The
//! body hash is one streaming SHA-256 pass over the canonicalised body; the signature itself comes
//! from aws-lc-rs (the assembly OpenSSL uses), so a signed message costs a few hundred
//! microseconds of one core, and every send worker signs its own messages.

use anyhow::{Result, anyhow, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

use crate::config::{Dkim, DkimAlgorithm, Secret};

/// Headers covered by every signature, in this order (RFC 8058 requires the List-Unsubscribe
/// pair). Each is listed in `h=` whether present or not, so none can be added on the way.
const SIGNED: &[&str] = &[
    "from",
    "reply-to",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
];

/// Base64 characters of a signature per folded line of the `DKIM-Signature` header.
const FOLD: usize = 72;

/// Signs messages with the `[dkim]` key(s).
pub struct Signer {
    domain: String,
    keys: Vec<Key>,
    rng: SystemRandom,
}

/// One signing key and its selector.
struct Key {
    selector: String,
    pair: Pair,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Pair {
    fn tag(&self) -> &'static str {
        match self {
            Pair::Rsa(_) => "rsa-sha256",
            Pair::Ed25519(_) => "ed25519-sha256",
        }
    }
}

impl std::fmt::Debug for Signer {
    /// Domain and selectors only: never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let selectors: Vec<_> = self.keys.iter().map(|k| &k.selector).collect();
        f.debug_struct("Signer")
            .field("domain", &self.domain)
            .field("selectors", &selectors)
            .finish()
    }
}

/// `message` with the signatures `dkim` calls for in front; unchanged without `[dkim]`. For mail
/// sent outside an issue's send (review messages, run reports, sign-up mails), signed like the
/// digest itself so that it passes the same receivers' checks; `time` is the signatures' `t=`.
pub fn signed(dkim: Option<&Dkim>, message: Vec<u8>, time: i64) -> Result<Vec<u8>> {
    let Some(dkim) = dkim else {
        return Ok(message);
    };
    let mut out = Signer::new(dkim)?.sign(&message, time)?;
    out.extend_from_slice(&message);
    Ok(out)
}

impl Signer {
    /// The signer of the `[dkim]` settings: the key of `DIGEST__DKIM__KEY`, and with
    /// `ed25519_selector` also the Ed25519 key of `DIGEST__DKIM__ED25519_KEY`. An error names the
    /// variable and what is wrong with the key's format, never the key.
    pub fn new(d: &Dkim) -> Result<Signer> {
        let mut keys = vec![Key {
            selector: d.selector.clone(),
            pair: match d.algorithm {
                DkimAlgorithm::Rsa => Pair::Rsa(rsa_key(&d.key, "DIGEST__DKIM__KEY")?),
                DkimAlgorithm::Ed25519 => Pair::Ed25519(ed25519_key(&d.key, "DIGEST__DKIM__KEY")?),
            },
        }];
        if let Some(second) = &d.ed25519 {
            keys.push(Key {
                selector: second.selector.clone(),
                pair: Pair::Ed25519(ed25519_key(&second.key, "DIGEST__DKIM__ED25519_KEY")?),
            });
        }
        Ok(Signer {
            domain: d.domain.clone(),
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// The `DKIM-Signature` header fields of `message` (complete, CRLF line ends), one per key,
    /// to be put in front of it; `time` is the signature's `t=`, in seconds since the epoch.
    pub fn sign(&self, message: &[u8], time: i64) -> Result<Vec<u8>> {
        let (head, body) = split(message);
        let bh = BASE64.encode(body_hash(body));
        let covered = canonical_headers(head);
        let list = SIGNED.join(":");
        let mut out = Vec::with_capacity(1024 * self.keys.len());
        for key in &self.keys {
            let unsigned = format!(
                "DKIM-Signature: v=1; a={}; c=relaxed/relaxed; d={}; s={}; t={time};\r\n\th={list};\r\n\tbh={bh};\r\n\tb=",
                key.pair.tag(),
                self.domain,
                key.selector
            );
            // The covered fields, then the signature's own field with b= empty and no final CRLF.
            let mut data = covered.clone();
            relaxed_field(unsigned.as_bytes(), &mut data);
            data.truncate(data.len() - 2);
            let signature = match &key.pair {
                Pair::Rsa(pair) => {
                    let mut sig = vec![0; pair.public_modulus_len()];
                    pair.sign(&RSA_PKCS1_SHA256, &self.rng, &data, &mut sig)
                        .map_err(|_| anyhow!("RSA signing failed"))?;
                    sig
                }
                // RFC 8463: Ed25519 signs the SHA-256 hash of the header data.
                Pair::Ed25519(pair) => pair.sign(&Sha256::digest(&data)).as_ref().to_vec(),
            };
            out.extend_from_slice(unsigned.as_bytes());
            let b = BASE64.encode(signature);
            for (i, chunk) in b.as_bytes().chunks(FOLD).enumerate() {
                if i > 0 {
                    out.extend_from_slice(b"\r\n\t");
                }
                out.extend_from_slice(chunk);
            }
            out.extend_from_slice(b"\r\n");
        }
        Ok(out)
    }
}

/// The header block (each field ending in CRLF) and the body of a message.
fn split(message: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memmem::find(message, b"\r\n\r\n") {
        Some(at) => (&message[..at + 2], &message[at + 4..]),
        None => (message, &[]),
    }
}

/// The header fields of `head` that [`SIGNED`] names, relaxed, in its order (for a field that
/// occurs more than once, the last one, as a verifier picks it).
fn canonical_headers(head: &[u8]) -> Vec<u8> {
    let fields = fields(head);
    let mut out = Vec::with_capacity(head.len());
    for name in SIGNED {
        let last = fields.iter().rev().find(|f| {
            let colon = f.iter().position(|&b| b == b':').unwrap_or(f.len());
            f[..colon]
                .trim_ascii_end()
                .eq_ignore_ascii_case(name.as_bytes())
        });
        if let Some(field) = last {
            relaxed_field(field, &mut out);
        }
    }
    out
}

/// The header fields of `head`, each with its continuation lines and final CRLF.
fn fields(head: &[u8]) -> Vec<&[u8]> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while let Some(nl) = memchr::memchr(b'\n', &head[at..]) {
        let end = at + nl + 1;
        if !matches!(head.get(end), Some(b' ' | b'\t')) {
            fields.push(&head[start..end]);
            start = end;
        }
        at = end;
    }
    if start < head.len() {
        fields.push(&head[start..]);
    }
    fields
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Appends the relaxed form of one header field (RFC 6376 3.4.2): the name in lower case, no
/// space around the colon, the value unfolded with every run of whitespace one space, none at
/// its ends, then CRLF.
fn relaxed_field(field: &[u8], out: &mut Vec<u8>) {
    let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    out.extend(
        field[..colon]
            .trim_ascii_end()
            .iter()
            .map(u8::to_ascii_lowercase),
    );
    out.push(b':');
    let value = field.get(colon + 1..).unwrap_or_default();
    let mut space = false;
    let mut any = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = true,
            b => {
                if space && any {
                    out.push(b' ');
                }
                out.push(b);
                space = false;
                any = true;
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// SHA-256 of the relaxed body (RFC 6376 3.4.4): every run of whitespace one space, none at the
/// end of a line, the empty lines at the end dropped, a non-empty body ending in CRLF. Nothing is
/// looked at byte by byte: the only places that change (a tab, two spaces in a row, a space before
/// CRLF) are found with memchr's vectorised searches, and the stretches between them, most of a
/// message, go to the hash whole.
fn body_hash(body: &[u8]) -> [u8; 32] {
    let body = &body[..relaxed_end(body)];
    let mut tabs = memchr::memchr_iter(b'\t', body).peekable();
    let mut doubles = memchr::memmem::find_iter(body, b"  ").peekable();
    let mut line_ends = memchr::memmem::find_iter(body, b" \r\n").peekable();
    let mut hash = Sha256::new();
    let mut at = 0;
    loop {
        let hit = (next_from(&mut tabs, at))
            .min(next_from(&mut doubles, at))
            .min(next_from(&mut line_ends, at));
        if hit == usize::MAX {
            break;
        }
        // The whole run of whitespace around the hit.
        let start = hit
            - body[at..hit]
                .iter()
                .rev()
                .take_while(|&&b| is_wsp(b))
                .count();
        let end = hit + body[hit..].iter().take_while(|&&b| is_wsp(b)).count();
        hash.update(&body[at..start]);
        if !body[end..].starts_with(b"\r\n") {
            hash.update(b" ");
        }
        at = end;
    }
    hash.update(&body[at..]);
    if !body.is_empty() {
        hash.update(b"\r\n");
    }
    hash.finalize().into()
}

/// The first match of `matches` (positions, ascending) at or after `at`; `usize::MAX` if none.
fn next_from(matches: &mut std::iter::Peekable<impl Iterator<Item = usize>>, at: usize) -> usize {
    while let Some(&p) = matches.peek() {
        if p >= at {
            return p;
        }
        matches.next();
    }
    usize::MAX
}

/// Where the relaxed body's content ends: before the whitespace and line ends that end it (the
/// empty lines at the end, and the whitespace ending the last line that is not empty).
fn relaxed_end(body: &[u8]) -> usize {
    let mut end = body.len();
    loop {
        while end > 0 && is_wsp(body[end - 1]) {
            end -= 1;
        }
        if !body[..end].ends_with(b"\r\n") {
            return end;
        }
        end -= 2;
    }
}

/// The DER inside the first PEM block of `text`, and its label (`RSA PRIVATE KEY`, `PRIVATE KEY`).
fn pem(text: &str) -> Option<(&str, Vec<u8>)> {
    let begin = text.find("-----BEGIN ")?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body = &rest[label_end + 5..];
    let end = body.find("-----END ")?;
    let b64: String = body[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some((label, BASE64.decode(b64).ok()?))
}

/// An RSA key from PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`) PEM.
fn rsa_key(key: &Secret, var: &str) -> Result<RsaKeyPair> {
    let invalid =
        |why: &dyn std::fmt::Display| anyhow!("{var} is not a valid Rsa private key: {why}");
    let (label, der) = pem(key.expose()).ok_or_else(|| {
        invalid(&"expected a PEM block (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY)")
    })?;
    let pair = match label {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        other => bail!(invalid(&format!(
            "a PEM block of {other}, not a private key"
        ))),
    };
    pair.map_err(|e| invalid(&e))
}

/// An Ed25519 key: base64 of its 32-byte seed, or PKCS#8 PEM (`openssl genpkey -algorithm
/// ed25519`).
fn ed25519_key(key: &Secret, var: &str) -> Result<Ed25519KeyPair> {
    let invalid =
        |why: &dyn std::fmt::Display| anyhow!("{var} is not a valid Ed25519 private key: {why}");
    if let Some((label, der)) = pem(key.expose()) {
        if label != "PRIVATE KEY" {
            bail!(invalid(&format!("a PEM block of {label}, not PKCS#8")));
        }
        return Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map_err(|e| invalid(&e));
    }
    // The decoder's error would quote a byte of the key.
    let seed = BASE64
        .decode(key.expose().trim())
        .map_err(|_| invalid(&"neither PKCS#8 PEM nor base64"))?;
    if seed.len() != 32 {
        bail!(invalid(&format!(
            "{} bytes, an Ed25519 seed has 32",
            seed.len()
        )));
    }
    Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| invalid(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relaxed_body(body: &[u8]) -> [u8; 32] {
        body_hash(body)
    }

    // RFC 6376 3.4.6: the example body, relaxed, is " C\r\nD E\r\n".
    #[test]
    fn the_body_is_canonicalised_as_in_the_rfc_example() {
        let want: [u8; 32] = Sha256::digest(b" C\r\nD E\r\n").into();
        assert_eq!(relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n"), want);
    }

    // Empty lines inside the body stay; a last line without CRLF gets one; an empty body hashes
    // as nothing (had these been wrong, a verifier's body hash would differ).
    #[test]
    fn inner_empty_lines_stay_and_a_last_line_gets_its_crlf() {
        let want: [u8; 32] = Sha256::digest(b"a\r\n\r\n\r\nb c\r\n").into();
        assert_eq!(relaxed_body(b"a\r\n \r\n\t\r\nb \t c"), want);
        let empty: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(relaxed_body(b"\r\n\r\n"), empty);
        assert_eq!(relaxed_body(b""), empty);
        // A bare LF is no line end.
        let bare: [u8; 32] = Sha256::digest(b"a\nb\r\n").into();
        assert_eq!(relaxed_body(b"a\nb  \r\n"), bare);
    }

    /// The relaxed body by the RFC's words, line by line (each run of whitespace one space, none
    /// at a line's end, no empty lines at the end): what the vectorised scan must agree with.
    fn relaxed_by_lines(body: &[u8]) -> Vec<u8> {
        let mut lines = Vec::new();
        let mut rest = body;
        while let Some(at) = memchr::memmem::find(rest, b"\r\n") {
            lines.push(&rest[..at]);
            rest = &rest[at + 2..];
        }
        if !rest.is_empty() {
            lines.push(rest);
        }
        let mut relaxed: Vec<Vec<u8>> = lines
            .iter()
            .map(|line| {
                let mut out = Vec::new();
                for &b in *line {
                    if is_wsp(b) {
                        if out.last() != Some(&b' ') {
                            out.push(b' ');
                        }
                    } else {
                        out.push(b);
                    }
                }
                if out.last() == Some(&b' ') {
                    out.pop();
                }
                out
            })
            .collect();
        while relaxed.last().is_some_and(Vec::is_empty) {
            relaxed.pop();
        }
        let mut out = Vec::new();
        for line in relaxed {
            out.extend_from_slice(&line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    // Every mix of spaces, tabs, CRs, LFs and text (tabs next to spaces, whitespace before a bare
    // CR or LF, whitespace-only lines at the end) hashes as the line-by-line definition says; had
    // the scan missed a kind of run, a verifier's body hash would differ for such messages.
    #[test]
    fn the_vectorised_scan_relaxes_the_body_as_the_line_by_line_definition_does() {
        let alphabet = b" \t\r\nab";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (random() % 48) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[(random() % alphabet.len() as u64) as usize])
                .collect();
            let want: [u8; 32] = Sha256::digest(relaxed_by_lines(&body)).into();
            assert_eq!(
                body_hash(&body),
                want,
                "body {:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    // RFC 6376 3.4.6: the example header fields, relaxed.
    #[test]
    fn header_fields_are_canonicalised_as_in_the_rfc_example() {
        let mut out = Vec::new();
        relaxed_field(b"A: X\r\n", &mut out);
        relaxed_field(b"B : Y\t\r\n\tZ  \r\n", &mut out);
        assert_eq!(out, b"a:X\r\nb:Y Z\r\n");
    }

    // Only the listed fields are hashed, the last of a repeated one, continuation lines kept.
    #[test]
    fn the_signed_fields_are_picked_from_the_header_block() {
        let head = b"Received: x\r\nSubject: one\r\nTo: a@b,\r\n c@d\r\nSubject:  two \r\n";
        assert_eq!(canonical_headers(head), b"to:a@b, c@d\r\nsubject:two\r\n");
    }
}
