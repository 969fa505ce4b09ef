//! Recipient addresses: trimmed, validated by lettre, domain case-folded (and IDN domains turned
//! into their ASCII form); the dedupe key is the whole address lowercased, so `Ann@Example.com`
//! and `ann@example.com` get one message.

use std::str::FromStr;

use lettre::Address;

/// A valid recipient address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The address to send to: local part as written, domain lowercased ASCII.
    pub address: Address,
    /// The dedupe and suppression key: the address, lowercased.
    pub key: String,
}

/// Normalizes and validates `raw`, or says why it is not an address.
pub fn normalize(raw: &str) -> Result<Normalized, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("empty address".into());
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(format!(
            "{:?} contains control characters",
            crate::text::one_line(trimmed, 80)
        ));
    }
    let (local, domain) = trimmed
        .rsplit_once('@')
        .ok_or_else(|| format!("{trimmed:?} has no @"))?;
    let domain = match url::Host::parse(domain) {
        Ok(url::Host::Domain(d)) if d.contains('.') => d,
        _ => return Err(format!("{trimmed:?} has no valid domain")),
    };
    let address = Address::from_str(&format!("{local}@{domain}"))
        .map_err(|e| format!("{trimmed:?} is not a valid address ({e})"))?;
    let key = address.to_string().to_lowercase();
    Ok(Normalized { address, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_space_variants_share_a_key() {
        let a = normalize("  Ann.Lee@Example.COM ").unwrap();
        assert_eq!(a.address.to_string(), "Ann.Lee@example.com");
        assert_eq!(a.key, "ann.lee@example.com");
        assert_eq!(normalize("ann.lee@example.com").unwrap().key, a.key);
    }

    #[test]
    fn idn_domains_become_ascii() {
        let a = normalize("joerg@Bücher.example").unwrap();
        assert_eq!(a.address.to_string(), "joerg@xn--bcher-kva.example");
    }

    #[test]
    fn quoted_local_parts_are_valid() {
        assert!(normalize("\"john doe\"@example.com").is_ok());
    }

    #[test]
    fn invalid_addresses_say_why() {
        for (raw, why) in [
            ("", "empty"),
            ("no-at-sign", "has no @"),
            ("a@", "no valid domain"),
            ("a@localhost", "no valid domain"),
            ("a b@example.com", "not a valid address"),
            ("x@example.com\r\nBcc: y@example.com", "control characters"),
            ("a@@example.com", "not a valid address"),
        ] {
            let e = normalize(raw).unwrap_err();
            assert!(e.contains(why), "{raw:?}: {e}");
        }
    }
}
