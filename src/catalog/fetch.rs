//! Fetching feeds over HTTP(S): a `User-Agent`, a total timeout, a cap on the (decompressed)
//! size, a bounded number of redirects, gzip, and conditional GET with the `ETag` and
//! `Last-Modified` validators of the previous fetch.

use std::io::Read;
use std::sync::OnceLock;

use reqwest::blocking::Client;
use reqwest::header::{self, HeaderMap, HeaderValue};

use crate::config::Fetch;

/// Kept in the leaf `model` for the store, which records them per source.
pub use crate::model::Validators;

/// A fetched feed.
#[derive(Debug)]
pub enum Fetched {
    /// 304: unchanged since the validators were given.
    NotModified,
    /// A new body.
    Body {
        /// The raw bytes (decompressed; the feed's own encoding).
        bytes: Vec<u8>,
        /// Validators for the next fetch.
        validators: Validators,
        /// The URL after redirects, for resolving relative links.
        url: String,
    },
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error("HTTP {0}")]
    Status(reqwest::StatusCode),
    /// No complete answer within the timeout.
    #[error("timed out after {0:?} (fetch.timeout_seconds)")]
    Timeout(std::time::Duration),
    /// The body exceeded `max_bytes`.
    #[error("body larger than {0} bytes (fetch.max_bytes)")]
    TooLarge(u64),
    /// More redirects than allowed (or a loop).
    #[error("too many redirects (more than {0}; fetch.max_redirects)")]
    Redirects(usize),
    /// Anything else: DNS, connection, TLS, protocol.
    #[error("{0}")]
    Other(String),
}

/// An HTTP client for feeds, built on first use and reused for every source of a run.
pub struct Fetcher {
    settings: Fetch,
    client: OnceLock<Result<Client, String>>,
}

impl Fetcher {
    /// A fetcher with these settings (nothing is set up until the first fetch).
    pub fn new(settings: &Fetch) -> Fetcher {
        Fetcher {
            settings: settings.clone(),
            client: OnceLock::new(),
        }
    }

    /// The settings used.
    pub fn settings(&self) -> &Fetch {
        &self.settings
    }

    fn client(&self) -> Result<&Client, FetchError> {
        let s = &self.settings;
        self.client
            .get_or_init(|| {
                Client::builder()
                    .user_agent(s.user_agent.clone())
                    .timeout(s.timeout)
                    .connect_timeout(s.timeout.min(std::time::Duration::from_secs(10)))
                    .redirect(reqwest::redirect::Policy::limited(s.max_redirects))
                    .gzip(true)
                    .https_only(false)
                    .build()
                    .map_err(|e| format!("setting up the HTTP client: {}", chain(&e)))
            })
            .as_ref()
            .map_err(|e| FetchError::Other(e.clone()))
    }

    /// GETs `url`, conditionally if `known` has validators.
    pub fn fetch(&self, url: &str, known: &Validators) -> Result<Fetched, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/rss+xml, application/atom+xml, application/feed+json, \
                 application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5",
            ),
        );
        let conditional = [
            (header::IF_NONE_MATCH, &known.etag),
            (header::IF_MODIFIED_SINCE, &known.last_modified),
        ];
        for (name, value) in conditional {
            if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, v);
            }
        }
        let response = self
            .client()?
            .get(url)
            .headers(headers)
            .send()
            .map_err(|e| self.error(e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status));
        }
        let max = self.settings.max_bytes;
        // Only trusted when the body is not compressed (reqwest drops it when it decompresses).
        if response.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(max));
        }
        let text_header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(|v| crate::text::one_line(v, 500))
                .filter(|v| !v.is_empty())
        };
        let validators = Validators {
            etag: text_header(header::ETAG),
            last_modified: text_header(header::LAST_MODIFIED),
        };
        let final_url = response.url().to_string();
        let mut bytes = Vec::new();
        response
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(
                |e| match e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>()) {
                    Some(r) if r.is_timeout() => FetchError::Timeout(self.settings.timeout),
                    _ if e.kind() == std::io::ErrorKind::TimedOut => {
                        FetchError::Timeout(self.settings.timeout)
                    }
                    _ => FetchError::Other(format!("reading the body: {}", chain(&e))),
                },
            )?;
        if bytes.len() as u64 > max {
            return Err(FetchError::TooLarge(max));
        }
        Ok(Fetched::Body {
            bytes,
            validators,
            url: final_url,
        })
    }

    fn error(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(self.settings.timeout)
        } else if e.is_redirect() {
            FetchError::Redirects(self.settings.max_redirects)
        } else {
            FetchError::Other(chain(&e))
        }
    }
}

/// An error and its causes, without the URL reqwest repeats (the caller names the source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    parts.join(": ")
}
