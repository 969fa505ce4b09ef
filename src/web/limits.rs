//! Rate limits of the sign-up pages, in memory and bounded: fixed windows counted per key (an IP
//! network, an address), at most [`MAX_KEYS`] keys per limiter. When the table is full, keys whose
//! window has ended are dropped; if none has, a new key is refused (fail closed: a flood of
//! distinct keys cannot grow memory or push out the keys being limited).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::config::SignupSettings;

/// Most keys one limiter remembers.
pub const MAX_KEYS: usize = 100_000;

/// One fixed-window limit: `limit` events per `window` per key.
#[derive(Debug)]
pub struct Limiter {
    limit: u32,
    window: Duration,
    max_keys: usize,
    counts: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl Limiter {
    /// A limiter of `limit` per `window`, remembering at most `max_keys` keys.
    pub fn new(limit: u32, window: Duration, max_keys: usize) -> Limiter {
        Limiter {
            limit,
            window,
            max_keys,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key` at `now`; whether it is within the limit.
    pub fn allow(&self, key: &str, now: DateTime<Utc>) -> bool {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if !counts.contains_key(key) && counts.len() >= self.max_keys {
            let window = self.window;
            counts.retain(|_, (start, _)| now - *start < window);
            if counts.len() >= self.max_keys {
                return false;
            }
        }
        let entry = counts.entry(key.to_string()).or_insert((now, 0));
        if now - entry.0 >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.limit
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The limits of the sign-up pages.
#[derive(Debug)]
pub struct Limits {
    /// Form posts per IP network per hour.
    pub per_ip: Limiter,
    /// Confirmation (and link) mails per address per day.
    pub per_address: Limiter,
    /// Mails per hour in all.
    pub mails: Limiter,
    /// The optional MX check of the domains mailed (`[signup] check_mx`), with its resolver.
    pub domains: crate::mail::mx::Domains,
}

impl Limits {
    /// The limits `settings` ask for.
    pub fn new(settings: &SignupSettings) -> Limits {
        Limits {
            per_ip: Limiter::new(settings.per_ip_per_hour, Duration::hours(1), MAX_KEYS),
            per_address: Limiter::new(settings.per_address_per_day, Duration::days(1), MAX_KEYS),
            mails: Limiter::new(settings.mails_per_hour, Duration::hours(1), 1),
            domains: crate::mail::mx::Domains::default(),
        }
    }
}

/// The key an IP address is limited by: IPv4 as is, IPv6 by its /64 (one host usually has a
/// whole /64).
pub fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_key_gets_its_limit_per_window_and_then_a_new_window() {
        // Without the window reset a reader limited once would stay limited for ever.
        let l = Limiter::new(3, Duration::seconds(60), 10);
        assert!((0..3).all(|i| l.allow("a", t(i))));
        assert!(!l.allow("a", t(10)));
        assert!(l.allow("b", t(10)), "other keys are not affected");
        assert!(l.allow("a", t(61)));
    }

    #[test]
    fn the_table_stays_bounded_and_refuses_new_keys_when_full_of_live_ones() {
        // Without the bound a flood of distinct keys would grow memory without end.
        let l = Limiter::new(1, Duration::seconds(60), 100);
        for i in 0..1000 {
            l.allow(&format!("k{i}"), t(0));
        }
        assert_eq!(l.len(), 100);
        assert!(!l.allow("k0", t(1)), "k0 is over its limit still");
        assert!(!l.allow("new", t(1)), "full of live keys: refused");
        assert!(l.allow("new", t(61)), "expired keys make room");
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn ipv6_hosts_are_limited_by_their_64() {
        // Without it one host could rotate through its /64 and never be limited.
        assert_eq!(
            ip_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            ip_key("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
        assert_eq!(ip_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
