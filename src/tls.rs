//! TLS client settings shared by the SMTP transport and the IMAP reader: the bundled web roots
//! plus the certificates of an optional CA file (`ca_file`). Certificate verification is always on;
//! there is no way to accept an invalid certificate.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

/// The certificates of the PEM file `path`, which the configuration key `key` names (for errors).
pub fn pem_certificates(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("reading {key} {}", path.display()))?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{key} {}: not PEM certificates", path.display()))
}

/// A rustls client configuration that trusts the bundled web roots and `extra`.
pub fn client_config(extra: Vec<CertificateDer<'static>>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra {
        roots.add(der)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
