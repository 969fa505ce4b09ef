//! DKIM on the fast path: messages of a real send (`send --eml`, the send workers'
//! `Prepared::bytes`) carry an RSA-SHA256 and an Ed25519-SHA256 signature (RFC 8463 dual
//! signing), and dkimpy, the reference verifier, verifies both with the public keys served
//! through its `dnsfunc` hook (tests/checks/dkim_verify.py). Keys are made by openssl for each
//! test, in the formats operators have: PKCS#1 and PKCS#8 PEM, a base64 Ed25519 seed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::common::{Project, output, repo};
use crate::smtp::unavailable;

const DOMAIN: &str = "news.example.org";

/// Runs openssl with `args` and `input` on stdin; its stdout.
fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
    out.stdout
}

/// A new RSA-2048 key as PKCS#8 PEM, the same key as PKCS#1 PEM, and its public key as a DNS
/// record's `p=` (base64 of the DER SubjectPublicKeyInfo).
pub fn rsa_key() -> (String, String, String) {
    let pkcs8 = openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        b"",
    );
    let pkcs1 = openssl(&["rsa", "-traditional"], &pkcs8);
    let public = openssl(&["pkey", "-pubout", "-outform", "DER"], &pkcs8);
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (text(pkcs8), text(pkcs1), BASE64.encode(public))
}

/// A new Ed25519 key as PKCS#8 PEM, its 32-byte seed in base64, and its public key as a DNS
/// record's `p=` (base64 of the 32 bytes, RFC 8463).
pub fn ed25519_key() -> (String, String, String) {
    let pem = openssl(&["genpkey", "-algorithm", "ed25519"], b"");
    let der = openssl(&["pkey", "-outform", "DER"], &pem);
    let public = openssl(&["pkey", "-pubout", "-outform", "DER"], &pem);
    // Both DER forms end with the 32 key bytes.
    let seed = BASE64.encode(&der[der.len() - 32..]);
    let p = BASE64.encode(&public[public.len() - 32..]);
    (String::from_utf8(pem).unwrap(), seed, p)
}

/// Whether python3 has dkimpy and PyNaCl (its Ed25519); without them the test is skipped (or
/// fails in CI).
pub(crate) fn have_dkimpy() -> bool {
    let present = Command::new("python3")
        .args(["-c", "import dkim, nacl"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        unavailable("python3 with dkimpy and PyNaCl");
    }
    present
}

/// dkimpy's verdict on `eml`, given the public keys as `SELECTOR:KIND:P`.
pub(crate) fn verify(eml: &Path, keys: &[String]) -> Value {
    let out = Command::new("python3")
        .arg(repo().join("tests/checks/dkim_verify.py"))
        .arg(eml)
        .arg(DOMAIN)
        .args(keys)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The example project with `[dkim]` lines `dkim`, built and sent to files with `env`; the
/// messages written.
fn send_signed(dkim: &str, env: &[(&str, &str)]) -> (Project, Vec<PathBuf>) {
    let p = Project::example();
    let config = p.read("config/digest.toml");
    p.write(
        "config/digest.toml",
        &format!("{config}\n[dkim]\ndomain = \"{DOMAIN}\"\n{dkim}"),
    );
    for args in [
        &[
            "build",
            "best-of-distributed-systems",
            "--period",
            "2024-07",
        ][..],
        &[
            "send",
            "best-of-distributed-systems",
            "--period",
            "2024-07",
            "--yes",
            "--eml",
            "eml",
        ],
    ] {
        let mut command = p.command(args);
        for (k, v) in env {
            command.env(k, v);
        }
        let out = output(&mut command);
        assert_eq!(out.code, 0, "digest {args:?}:\n{}", out.all());
    }
    let mut emls: Vec<PathBuf> = std::fs::read_dir(p.path("eml"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f.extension().is_some_and(|x| x == "eml"))
        .collect();
    emls.sort();
    assert!(emls.len() >= 2, "{emls:?}");
    (p, emls)
}

// Dual signing: had the fast path's canonicalisation, body hash or either signature been wrong
// (or the Ed25519 one signed the data instead of its hash, as RFC 8463 wants), dkimpy would fail it.
#[test]
fn messages_sent_carry_rsa_and_ed25519_signatures_that_dkimpy_verifies() {
    if !have_dkimpy() {
        return;
    }
    let (_, rsa_pkcs1, rsa_p) = rsa_key();
    let (ed_pem, _, ed_p) = ed25519_key();
    let (p, emls) = send_signed(
        "selector = \"rsa1\"\ned25519_selector = \"ed1\"\n",
        &[
            ("DIGEST__DKIM__KEY", &rsa_pkcs1),
            ("DIGEST__DKIM__ED25519_KEY", &ed_pem),
        ],
    );
    let keys = [format!("rsa1:rsa:{rsa_p}"), format!("ed1:ed25519:{ed_p}")];
    for eml in &emls {
        let result = verify(eml, &keys);
        assert_eq!(result["verified"], true, "{}: {result:#}", eml.display());
        let algorithms: Vec<&str> = result["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["tags"]["a"].as_str().unwrap())
            .collect();
        assert_eq!(algorithms, ["rsa-sha256", "ed25519-sha256"]);
        for s in result["signatures"].as_array().unwrap() {
            assert_eq!(s["tags"]["c"], "relaxed/relaxed");
            assert!(
                s["tags"]["h"]
                    .as_str()
                    .unwrap()
                    .contains("list-unsubscribe-post")
            );
        }
    }

    // A line added to the text part breaks both signatures.
    let raw = std::fs::read_to_string(&emls[0]).unwrap();
    let tampered = p.path("tampered.eml");
    let part = raw.find("text/plain").unwrap();
    let at = part + raw[part..].find("\r\n\r\n").unwrap() + 4;
    std::fs::write(&tampered, format!("{}Hello.\r\n{}", &raw[..at], &raw[at..])).unwrap();
    let result = verify(&tampered, &keys);
    assert!(
        result["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["verified"] == false),
        "{result:#}"
    );
}

// The other key formats: an RSA key as PKCS#8 PEM alone, an Ed25519 key as base64 seed alone.
#[test]
fn single_signatures_from_pkcs8_rsa_and_a_base64_ed25519_seed_verify() {
    if !have_dkimpy() {
        return;
    }
    let (rsa_pkcs8, _, rsa_p) = rsa_key();
    let (_, seed, ed_p) = ed25519_key();
    for (dkim, key, public) in [
        ("selector = \"r\"\n", rsa_pkcs8, format!("r:rsa:{rsa_p}")),
        (
            "selector = \"e\"\nalgorithm = \"ed25519\"\n",
            seed,
            format!("e:ed25519:{ed_p}"),
        ),
    ] {
        let (_project, emls) = send_signed(dkim, &[("DIGEST__DKIM__KEY", &key)]);
        let result = verify(&emls[0], &[public]);
        assert_eq!(result["verified"], true, "{dkim}: {result:#}");
        assert_eq!(result["signatures"].as_array().unwrap().len(), 1);
    }
}

// An Ed25519 selector without its key is a configuration error naming the variable, not a
// silently single-signed send.
#[test]
fn an_ed25519_selector_without_its_key_is_reported() {
    let (_, rsa_pkcs1, _) = rsa_key();
    let p = Project::example();
    let config = p.read("config/digest.toml");
    p.write(
        "config/digest.toml",
        &format!(
            "{config}\n[dkim]\ndomain = \"{DOMAIN}\"\nselector = \"r\"\ned25519_selector = \"e\"\n"
        ),
    );
    let out = output(p.command(&["check"]).env("DIGEST__DKIM__KEY", &rsa_pkcs1));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.all()
            .contains("dkim.ed25519_selector: set DIGEST__DKIM__ED25519_KEY"),
        "{}",
        out.all()
    );
}
