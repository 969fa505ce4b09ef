//! Whether an address's domain takes mail at all (`[signup] check_mx`), asked of DNS before a
//! sign-up confirmation is mailed, as RFC 5321 §5.1 locates a domain's mail servers: its MX
//! records; with none, the domain's own A or AAAA address (the "implicit MX"). A domain with
//! neither (or that does not exist, or publishes the null MX of RFC 7505, "0 .") takes no mail.
//!
//! A lookup that fails (a timeout, SERVFAIL, no resolver) proves nothing about the domain: the
//! verdict is [`Verdict::Unknown`] and the caller mails anyway rather than turn a reader away
//! because of its own DNS trouble.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

/// How long one query waits for an answer (twice, then the verdict is unknown).
const TIMEOUT: Duration = Duration::from_secs(3);

/// What DNS says about a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It has MX records.
    Mx,
    /// No MX, but an A or AAAA record: mail goes to that address.
    Address,
    /// It takes no mail: why.
    NoMail(&'static str),
    /// The lookup failed (timeout, SERVFAIL, no resolver): what went wrong.
    Unknown(String),
}

impl Verdict {
    /// A label for metrics and logs: `mx`, `address`, `no_mail` or `unknown`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Mx => "mx",
            Verdict::Address => "address",
            Verdict::NoMail(_) => "no_mail",
            Verdict::Unknown(_) => "unknown",
        }
    }
}

/// What one lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// Usable records.
    Some,
    /// Only the null MX ("0 ."): the domain says it takes no mail.
    NullMx,
    /// No such records (NODATA) or no such domain (NXDOMAIN).
    Nothing,
    /// No answer worth believing.
    Failed(String),
}

impl Found {
    fn of<T>(result: Result<T, NetError>, usable: impl FnOnce(T) -> Found) -> Found {
        match result {
            Ok(answer) => usable(answer),
            Err(e) if e.is_no_records_found() => Found::Nothing,
            Err(e) => Found::Failed(e.to_string()),
        }
    }
}

/// The verdict after the MX lookup, or `None`: look up A/AAAA.
fn after_mx(mx: Found) -> Option<Verdict> {
    match mx {
        Found::Some => Some(Verdict::Mx),
        Found::NullMx => Some(Verdict::NoMail("it publishes a null MX")),
        Found::Failed(e) => Some(Verdict::Unknown(e)),
        Found::Nothing => None,
    }
}

/// The verdict after the A/AAAA lookup of a domain without MX records.
fn after_address(address: Found) -> Verdict {
    match address {
        Found::Some => Verdict::Address,
        Found::Nothing | Found::NullMx => Verdict::NoMail("it has no MX, A or AAAA record"),
        Found::Failed(e) => Verdict::Unknown(e),
    }
}

/// Checks domains through one resolver (kept for its cache), rebuilt when the configured DNS
/// server changes.
#[derive(Default)]
pub struct Domains {
    resolver: Mutex<Option<(Option<SocketAddr>, TokioResolver)>>,
}

impl std::fmt::Debug for Domains {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Domains")
    }
}

impl Domains {
    /// What `server` (`None`: the system's resolvers) says about mail to `domain`.
    pub async fn check(&self, server: Option<SocketAddr>, domain: &str) -> Verdict {
        let resolver = match self.resolver(server) {
            Ok(r) => r,
            Err(e) => return Verdict::Unknown(e),
        };
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        let mx = Found::of(resolver.mx_lookup(fqdn.as_str()).await, |answer| {
            let exchanges: Vec<bool> = answer
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::MX(mx) => Some(mx.exchange.is_root()),
                    _ => None,
                })
                .collect();
            match exchanges.as_slice() {
                [] => Found::Nothing,
                nulls if nulls.iter().all(|null| *null) => Found::NullMx,
                _ => Found::Some,
            }
        });
        if let Some(verdict) = after_mx(mx) {
            return verdict;
        }
        let address = Found::of(resolver.lookup_ip(fqdn.as_str()).await, |ips| {
            match ips.iter().next() {
                Some(_) => Found::Some,
                None => Found::Nothing,
            }
        });
        after_address(address)
    }

    /// The resolver asking `server`, built on first use.
    fn resolver(&self, server: Option<SocketAddr>) -> Result<TokioResolver, String> {
        let mut slot = self.resolver.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((built_for, resolver)) = slot.as_ref()
            && *built_for == server
        {
            return Ok(resolver.clone());
        }
        let mut builder = match server {
            None => TokioResolver::builder_tokio()
                .map_err(|e| format!("reading the system's DNS configuration: {e}"))?,
            Some(at) => {
                let connection = |mut c: ConnectionConfig| {
                    c.port = at.port();
                    c
                };
                let server = NameServerConfig::new(
                    at.ip(),
                    true,
                    vec![
                        connection(ConnectionConfig::udp()),
                        connection(ConnectionConfig::tcp()),
                    ],
                );
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                )
            }
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.timeout = TIMEOUT;
        options.attempts = 2;
        let resolver = builder
            .build()
            .map_err(|e| format!("setting up the DNS resolver: {e}"))?;
        *slot = Some((server, resolver.clone()));
        Ok(resolver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refuses(v: &Verdict) -> bool {
        matches!(v, Verdict::NoMail(_))
    }

    #[test]
    fn a_domain_without_mx_falls_back_to_its_address_before_it_is_refused() {
        // RFC 5321 §5.1: refusing a domain for lacking MX records would turn away every reader
        // whose mail server is the domain's own host.
        assert_eq!(after_mx(Found::Some), Some(Verdict::Mx));
        assert_eq!(after_mx(Found::Nothing), None, "then A/AAAA");
        assert_eq!(after_address(Found::Some), Verdict::Address);
        assert!(refuses(&after_address(Found::Nothing)));
    }

    #[test]
    fn a_null_mx_refuses_and_a_failed_lookup_proves_nothing() {
        // Without these a domain that says it takes no mail would be mailed, and a resolver
        // outage would turn every reader away.
        assert!(after_mx(Found::NullMx).is_some_and(|v| refuses(&v)));
        let failed = after_mx(Found::Failed("request timed out".into())).unwrap();
        assert_eq!(failed, Verdict::Unknown("request timed out".into()));
        assert!(!refuses(&failed));
        assert!(!refuses(&after_address(Found::Failed("SERVFAIL".into()))));
    }
}
