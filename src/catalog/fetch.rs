//! Fetching feeds over HTTP(S): a `User-Agent`, a total timeout, a cap on the (decompressed)
//! size, a bounded number of redirects, gzip, and conditional GET with the `ETag` and
//! `Last-Modified` validators of the previous fetch; many feeds at once on a bounded pool of
//! threads, politely per host ([`Fetcher::fetch_all`]).

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError, mpsc};

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

    /// Fetches every `(url, validators)` of `jobs` like [`Fetcher::fetch`], on up to
    /// `concurrency` threads and at most `per_host` at a time from one host (see
    /// [`Fetch::per_host`]), while `with` runs on the calling thread: it is handed each answer as
    /// it arrives (in completion order), with the job's index. A hanging server holds up only the
    /// jobs of its host, each for at most the timeout. Once `with` returns, jobs not started are
    /// dropped and those under way are waited for (each within the timeout); then its result is
    /// returned. A fetched answer waits in its thread until `with` takes it, so at most
    /// `concurrency` bodies are held at once, whatever `with` is doing.
    pub fn fetch_all<T>(
        &self,
        jobs: &[(&str, Validators)],
        with: impl FnOnce(&mut dyn Iterator<Item = (usize, Result<Fetched, FetchError>)>) -> T,
    ) -> T {
        let workers = self.settings.concurrency.clamp(1, jobs.len().max(1));
        let queue = Queue::new(
            jobs.iter().map(|(url, _)| host(url)),
            self.settings.per_host,
        );
        let (tx, rx) = mpsc::sync_channel(0);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let (tx, queue) = (tx.clone(), &queue);
                scope.spawn(move || {
                    while let Some(i) = queue.take() {
                        let (url, known) = &jobs[i];
                        let answer = self.fetch(url, known);
                        queue.release(i);
                        // A closed channel: `with` has returned, nobody wants the rest.
                        if tx.send((i, answer)).is_err() {
                            queue.cancel();
                        }
                    }
                });
            }
            drop(tx);
            let result = with(&mut rx.iter());
            queue.cancel();
            drop(rx);
            result
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

/// The host of `url` for [`Fetch::per_host`] (without the port); the whole text when it is not
/// a URL with a host (its fetch fails anyway).
fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| url.to_string())
}

/// The jobs of [`Fetcher::fetch_all`] not started yet, and how many fetches are under way per
/// host.
struct Queue {
    state: Mutex<QueueState>,
    /// Signalled when a host slot is released or the queue is cancelled.
    changed: Condvar,
    /// The host of each job.
    hosts: Vec<String>,
    per_host: usize,
}

struct QueueState {
    /// Indices of the jobs not started, in order.
    pending: VecDeque<usize>,
    /// Fetches under way, by host.
    busy: HashMap<String, usize>,
}

impl Queue {
    fn new(hosts: impl Iterator<Item = String>, per_host: usize) -> Queue {
        let hosts: Vec<String> = hosts.collect();
        Queue {
            state: Mutex::new(QueueState {
                pending: (0..hosts.len()).collect(),
                busy: HashMap::new(),
            }),
            changed: Condvar::new(),
            hosts,
            per_host: per_host.max(1),
        }
    }

    /// A worker never panics while holding the lock, but a poisoned state is still consistent.
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first pending job whose host has a free slot (taking the slot), waiting while every
    /// pending job's host is busy; `None` when no job is left.
    fn take(&self) -> Option<usize> {
        let mut state = self.lock();
        loop {
            if state.pending.is_empty() {
                return None;
            }
            let free =
                |i: &usize| state.busy.get(&self.hosts[*i]).copied().unwrap_or(0) < self.per_host;
            if let Some(at) = state.pending.iter().position(free) {
                let i = state.pending.remove(at)?;
                *state.busy.entry(self.hosts[i].clone()).or_default() += 1;
                return Some(i);
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Job `i` is done: its host's slot is free again.
    fn release(&self, i: usize) {
        let mut state = self.lock();
        if let Some(n) = state.busy.get_mut(&self.hosts[i]) {
            *n = n.saturating_sub(1);
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Drops every job not started.
    fn cancel(&self) {
        self.lock().pending.clear();
        self.changed.notify_all();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_hands_out_jobs_in_order_skipping_hosts_with_no_free_slot() {
        let hosts = [
            "http://a.example/1",
            "http://A.example:81/2",
            "http://a.example/3",
            "b",
        ];
        let queue = Queue::new(hosts.iter().map(|u| host(u)), 2);
        assert_eq!([queue.take(), queue.take()], [Some(0), Some(1)]);
        assert_eq!(queue.take(), Some(3), "a.example has both its slots taken");
        queue.release(1);
        assert_eq!(queue.take(), Some(2));
        assert_eq!(queue.take(), None);
    }

    #[test]
    fn a_cancelled_queue_hands_out_nothing_more() {
        let queue = Queue::new(["a", "b", "c"].map(String::from).into_iter(), 1);
        assert_eq!(queue.take(), Some(0));
        queue.cancel();
        assert_eq!(queue.take(), None);
    }
}
