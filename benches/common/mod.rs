//! Shared by the bench targets: a project's frozen issue, prepared for sending as `digest send`
//! prepares it, and recipients to address it to.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow};
use digest::config::Config;
use digest::mail::campaign;
use digest::mail::message::Prepared;
use digest::period::Period;
use lettre::Address;

/// Unsubscribe keys used when the environment sets none (benchmarks only; never for real mail).
const BENCH_KEYS: &str = "bench:benchmark-only-key-0123456789abcdef";

/// Loads the configuration in `config_dir` (the process environment applies; unsubscribe keys
/// default to a bench key) and prepares the frozen issue of `digest` for `period`.
pub fn prepare(config_dir: &Path, digest: &str, period: &str) -> Result<(Config, Prepared)> {
    let mut env: ::config::Map<String, String> = std::env::vars().collect();
    env.entry("DIGEST__UNSUBSCRIBE__KEYS".into())
        .or_insert_with(|| BENCH_KEYS.into());
    let config = Config::load_with_env(config_dir, Some(env)).map_err(|e| anyhow!("{e}"))?;
    let d = config.digest(digest)?;
    let period = Period::parse_as(d.period, period)?;
    let issue = digest::issue::find(&config.paths.digests, &d.id, period)?
        .with_context(|| format!("{digest} {period} is not frozen under {config_dir:?}"))?;
    let prepared = campaign::prepare(&config, d, &issue)?;
    Ok((config, prepared))
}

/// Recipient `i`: subscriber id, dedupe key, address and display name.
pub fn recipient(i: u64) -> (i64, String, Address, String) {
    let key = format!("reader{i}@example.net");
    let address = key.parse().expect("a valid address");
    (i as i64 + 1, key, address, format!("Reader {i}"))
}
