//! URL canonicalization, the identity of an article: the same article reached through different
//! links (tracking parameters, fragments, `HTTP://Example.COM:443/a/`) gets one canonical URL.
//!
//! A fragment names a place in a page, not another article, so it is dropped ([`canonicalize`]),
//! except where it is what tells articles apart: a feed whose items share a page and differ only
//! by their `#fragment` keeps it ([`canonicalize_keeping_fragment`]; the feed reader decides).

use url::Url;

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not parseable as an absolute URL.
    #[error("not an absolute URL ({0})")]
    Invalid(String),
    /// Anything but http and https (`javascript:`, `data:`, `mailto:` …).
    #[error("only http and https links are allowed, not `{0}:`")]
    Scheme(String),
}

/// Query parameters that only track the reader and never select content.
const TRACKING: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "_hsenc",
    "_hsmi",
    "__hstc",
    "__hssc",
    "__hsfp",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "rb_clickid",
    "s_cid",
    "_ga",
    "_gl",
    "ref_src",
];

fn is_tracking(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || TRACKING.contains(&key.as_str())
}

/// Parses `raw` as an http(s) URL, or says why not.
pub fn parse_http(raw: &str) -> Result<Url, UrlError> {
    let url = Url::parse(raw.trim()).map_err(|e| UrlError::Invalid(e.to_string()))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" | "https" => Err(UrlError::Invalid("no host".into())),
        other => Err(UrlError::Scheme(other.to_string())),
    }
}

/// Whether `raw` is an absolute http(s) URL (the only links the renderer emits).
pub fn is_http(raw: &str) -> bool {
    parse_http(raw).is_ok()
}

/// The canonical form of an http(s) URL: lowercase scheme and host (by parsing), no default port,
/// no credentials, no fragment, no tracking parameters, remaining parameters sorted, no trailing
/// slash except for the root path.
pub fn canonicalize(raw: &str) -> Result<String, UrlError> {
    canonical(raw, false)
}

/// The canonical form of an http(s) URL that keeps its fragment (if not empty): for links that
/// only their fragments tell apart, such as several feed items on one page.
pub fn canonicalize_keeping_fragment(raw: &str) -> Result<String, UrlError> {
    canonical(raw, true)
}

fn canonical(raw: &str, keep_fragment: bool) -> Result<String, UrlError> {
    let mut url = parse_http(raw)?;
    if !keep_fragment || url.fragment() == Some("") {
        url.set_fragment(None);
    }
    // Cannot fail for http(s) URLs with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        pairs.sort();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let path = url.path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/').to_string();
        url.set_path(if trimmed.is_empty() { "/" } else { &trimmed });
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonicalize(s).unwrap()
    }

    #[test]
    fn variants_of_one_link_agree() {
        let want = "https://example.com/a/b?x=1&y=2";
        for s in [
            "https://example.com/a/b?x=1&y=2",
            "HTTPS://Example.COM:443/a/b/?y=2&x=1",
            "https://example.com/a/b?utm_source=x&x=1&UTM_Medium=y&y=2&fbclid=abc#section",
            "https://user:pw@example.com/a/b?y=2&gclid=1&x=1",
            "  https://example.com/a/b//?x=1&y=2 ",
        ] {
            assert_eq!(c(s), want, "{s}");
        }
    }

    #[test]
    fn distinct_links_stay_distinct() {
        assert_ne!(c("https://example.com/a"), c("http://example.com/a"));
        assert_ne!(
            c("https://example.com/a?x=1"),
            c("https://example.com/a?x=2")
        );
        assert_eq!(c("https://example.com"), "https://example.com/");
        assert_eq!(c("http://example.com:8080/"), "http://example.com:8080/");
    }

    #[test]
    fn a_fragment_is_kept_only_when_asked() {
        let raw = "HTTPS://Example.COM/2024/07/01.html?utm_source=x#a1";
        assert_eq!(c(raw), "https://example.com/2024/07/01.html");
        assert_eq!(
            canonicalize_keeping_fragment(raw).unwrap(),
            "https://example.com/2024/07/01.html#a1"
        );
        assert_eq!(
            canonicalize_keeping_fragment("https://example.com/a#").unwrap(),
            "https://example.com/a"
        );
    }

    #[test]
    fn only_http_schemes_pass() {
        assert_eq!(
            canonicalize("javascript:alert(1)"),
            Err(UrlError::Scheme("javascript".into()))
        );
        assert_eq!(
            canonicalize("data:text/html,hi"),
            Err(UrlError::Scheme("data".into()))
        );
        assert!(matches!(
            canonicalize("/relative"),
            Err(UrlError::Invalid(_))
        ));
        assert!(matches!(
            canonicalize("https://"),
            Err(UrlError::Invalid(_))
        ));
        assert!(!is_http(" JaVaScRiPt:alert(1)"));
    }
}
