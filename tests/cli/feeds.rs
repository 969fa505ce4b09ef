//! Feed sources: the third-party corpora, encodings, identity and dedupe across feeds, and HTTP
//! fetching against a real local server.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use digest::catalog::{canonical, feed, html};
use digest::config::{FeedSettings, Location, Source, SourceKind};
use digest::text::one_line;

use crate::common::{Project, assert_contains};

/// A feed source for parsing without a configuration.
fn source(name: &str) -> Source {
    Source {
        name: name.into(),
        kind: SourceKind::Feed,
        location: Location::File(PathBuf::from(name)),
        weight: 1.0,
        feed: FeedSettings::default(),
    }
}

/// `../shared/corpora`, or `None` (test skipped) when missing outside CI.
fn corpora() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if root.is_dir() {
        return Some(root);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the feed corpora are missing at {}",
        root.display()
    );
    eprintln!("skipped: no feed corpora at {}", root.display());
    None
}

/// This repository's feed fixtures, `tests/fixtures/feeds`.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds")
}

/// The Go feed parser gofeed's test feeds (MIT; see its README there).
fn gofeed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/third-party/gofeed/feeds")
}

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A Python string literal at the start of `s` (`'…'`, `"…"`, `u'…'`), and the rest.
fn py_str(s: &str) -> Option<(String, &str)> {
    let s = s.strip_prefix('u').unwrap_or(s);
    let quote = s.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Some((out, &s[i + 2..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'u' | 'x' => {
                        let n = if e == 'u' { 4 } else { 2 };
                        let hex: String = (0..n)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// What a feedparser `Expect:` line says about the first entry, where it translates simply.
#[derive(Debug)]
enum Expect {
    Title(String),
    Link(String),
    Summary(String),
    Date(DateTime<Utc>),
}

/// The expectations for the first entry of the document at `path`: feedparser's `Expect:` line,
/// or feed-rs's `<name>.serde.json` next to it (title, alternate link, published or updated).
fn expectations(path: &Path, text: &str) -> Vec<Expect> {
    let serde = path.with_extension("serde.json");
    if !path.to_string_lossy().ends_with(".serde.json") && serde.is_file() {
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&serde).unwrap()).unwrap();
        let e = &expected["entries"][0];
        let mut out = Vec::new();
        if let Some(t) = e["title"]["content"].as_str() {
            out.push(Expect::Title(t.to_string()));
        }
        let link = e["links"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["rel"].is_null() || l["rel"] == "alternate");
        if let Some(href) = link.and_then(|l| l["href"].as_str()) {
            out.push(Expect::Link(href.to_string()));
        }
        let date = e["published"].as_str().or(e["updated"].as_str());
        if let Some(t) = date.and_then(|d| DateTime::parse_from_rfc3339(d).ok()) {
            out.push(Expect::Date(t.with_timezone(&Utc)));
        }
        return out;
    }
    expectation(text).into_iter().collect()
}

fn expectation(text: &str) -> Option<Expect> {
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Expect:"))?
        .trim();
    let rest = line.strip_prefix("not bozo and ").unwrap_or(line);
    let (key, value) = rest.split_once(" == ")?;
    if key.ends_with("_parsed']") {
        // (year, month, day, hour, minute, second, weekday, yearday, dst)
        let nums: Vec<u32> = value
            .trim()
            .strip_prefix('(')?
            .strip_suffix(')')?
            .split(',')
            .map(|n| n.trim().parse().ok())
            .collect::<Option<_>>()?;
        let t = Utc
            .with_ymd_and_hms(nums[0] as i32, nums[1], nums[2], nums[3], nums[4], nums[5])
            .single()?;
        return matches!(
            key,
            "entries[0]['published_parsed']" | "entries[0]['updated_parsed']"
        )
        .then_some(Expect::Date(t));
    }
    let (value, tail) = py_str(value.trim())?;
    if !tail.trim().is_empty() {
        return None; // concatenations and further conditions
    }
    match key {
        "entries[0]['title']" => Some(Expect::Title(value)),
        "entries[0]['link']" => Some(Expect::Link(value)),
        "entries[0]['description']" | "entries[0]['summary']" => Some(Expect::Summary(value)),
        _ => None,
    }
}

/// Whether our first article agrees with feedparser's expectation. Our titles and summaries are
/// plain text, so HTML in the expected value is reduced the same way; links are canonical.
fn agrees(expect: &Expect, a: &digest::catalog::Article) -> bool {
    let text = |s: &str| digest::text::one_line(s, 100_000);
    match expect {
        Expect::Title(t) => a.title == text(t) || a.title == text(&html::to_text(t)),
        Expect::Summary(s) => a.summary == text(&html::to_text(s)) || a.summary == text(s),
        Expect::Link(l) => canonical::canonicalize(l).is_ok_and(|l| a.url == l),
        Expect::Date(t) => a.published_at == Some(*t),
    }
}

/// The number of entries in each document at `paths` by the reference peer, Python feedparser
/// (`tests/checks/feed_entries.py`), or `None` (comparison skipped) when it is not installed
/// outside CI.
fn peer_entries(paths: &[PathBuf]) -> Option<HashMap<PathBuf, usize>> {
    let ready = std::process::Command::new("python3")
        .args(["-c", "import feedparser"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3 with feedparser is missing (scripts/install-test-tools)"
        );
        eprintln!("skipped: no python3 with feedparser, entries not compared");
        return None;
    }
    let mut child = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/checks/feed_entries.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starting feed_entries.py");
    let list: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "feed_entries.py failed");
    let counts: HashMap<String, serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    Some(
        counts
            .into_iter()
            .map(|(path, c)| (PathBuf::from(path), c["entries"].as_u64().unwrap() as usize))
            .collect(),
    )
}

/// What the corpus test counted in one group of files.
#[derive(Debug, Default)]
struct Totals {
    files: usize,
    /// Entries by the reference peer.
    entries: usize,
    stored: usize,
    skipped: usize,
    undated: usize,
    /// Documents refused as a whole, and the entries the peer found in them.
    failed: usize,
    failed_entries: usize,
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} files, {} entries (feedparser), {} stored ({} undated), {} skipped, {} failed \
             (holding {} entries)",
            self.files,
            self.entries,
            self.stored,
            self.undated,
            self.skipped,
            self.failed,
            self.failed_entries
        )
    }
}

/// The kind of a skip reason, for totals: the reason without the item's position and title,
/// quoted text and numbers.
fn reason_kind(reason: &str) -> String {
    let reason = reason.split_once(": ").map_or(reason, |(_, r)| r);
    let reason = match reason.strip_prefix('(') {
        Some(_) => reason.split_once("): ").map_or(reason, |(_, r)| r),
        None => reason,
    };
    let mut kind = String::new();
    let mut quoted = false;
    for c in reason.chars() {
        match c {
            '"' if quoted => quoted = false,
            '"' => {
                quoted = true;
                kind.push('…');
            }
            _ if quoted => {}
            c if c.is_ascii_digit() => {
                if !kind.ends_with('N') {
                    kind.push('N');
                }
            }
            c => kind.push(c),
        }
    }
    one_line(&kind, 70)
}

#[test]
fn every_corpus_file_is_parsed_or_refused_with_its_name_and_a_sample_comes_out_right() {
    let Some(root) = corpora() else { return };
    let started = Instant::now();
    let all: Vec<PathBuf> = ["feedparser", "feed-rs/fixture"]
        .iter()
        .flat_map(|d| files(&root.join(d)))
        .chain(files(&fixtures()))
        .chain(files(&gofeed()))
        .collect();
    assert!(all.len() > 2_000, "only {} corpus files", all.len());
    let peer = peer_entries(&all);
    let src = source("corpus");
    let mut totals: BTreeMap<&str, Totals> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed: Vec<String> = Vec::new();
    let mut panicked: Vec<String> = Vec::new();
    let mut uncounted: Vec<String> = Vec::new();
    let (mut checked, mut wrong, mut not_comparable) = ([0, 0], Vec::<String>::new(), 0);
    for path in &all {
        let name = path
            .strip_prefix(&root)
            .or_else(|_| path.strip_prefix(env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .display()
            .to_string();
        let bytes = std::fs::read(path).unwrap();
        let expected = peer.as_ref().map(|p| p[path]);
        let group = [
            "feedparser",
            "feed-rs",
            "tests/fixtures/third-party",
            "tests/fixtures",
        ]
        .into_iter()
        .find(|g| name.starts_with(g))
        .unwrap();
        let t = totals.entry(group).or_default();
        t.files += 1;
        t.entries += expected.unwrap_or(0);
        let result = std::panic::catch_unwind(|| feed::parse(&bytes, None, &src));
        let p = match result {
            Err(_) => {
                panicked.push(name);
                continue;
            }
            Ok(Err(e)) => {
                let message = e.to_string();
                assert!(!message.is_empty(), "{name}: empty error");
                if message.contains("crashed") {
                    panicked.push(name.clone());
                }
                t.failed += 1;
                t.failed_entries += expected.unwrap_or(0);
                failed.push(format!("{name}: {message}"));
                continue;
            }
            Ok(Ok(p)) => p,
        };
        t.stored += p.items.len();
        t.skipped += p.skipped.len();
        t.undated += p.undated;
        for reason in &p.skipped {
            *reasons.entry(reason_kind(reason)).or_default() += 1;
        }
        if let Some(expected) = expected
            && p.items.len() + p.skipped.len() != expected
        {
            uncounted.push(format!(
                "{name}: {} stored + {} skipped, but feedparser finds {expected} entries",
                p.items.len(),
                p.skipped.len()
            ));
        }
        for a in p.items.iter().map(|i| &i.article) {
            assert!(canonical::is_http(&a.url), "{name}: {}", a.url);
            assert!(
                !a.title.is_empty() && !a.title.contains(['\n', '\r']),
                "{name}"
            );
            assert!(
                !a.summary.to_lowercase().contains("<script"),
                "{name}: {}",
                a.summary
            );
        }
        // Our first article is the document's first entry only if that entry was not skipped.
        let first_skipped = p
            .skipped
            .iter()
            .any(|s| s.starts_with("item 1:") || s.starts_with("item 1 "));
        for expect in expectations(path, &String::from_utf8_lossy(&bytes)) {
            match p.items.first() {
                Some(first) if !first_skipped => {
                    checked[usize::from(name.starts_with("feed-rs"))] += 1;
                    if !agrees(&expect, &first.article) {
                        wrong.push(format!(
                            "{name}: expected {expect:?}, got {:?}",
                            first.article
                        ));
                    }
                }
                _ => not_comparable += 1,
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "corpus: {} files in {elapsed:.2?}, {} panicked, {} not accounted for; expectations \
         checked: {} feedparser + {} feed-rs, {} wrong, {not_comparable} not comparable (first \
         entry skipped)",
        all.len(),
        panicked.len(),
        uncounted.len(),
        checked[0],
        checked[1],
        wrong.len()
    );
    for (group, t) in &totals {
        println!("  {group}: {t}");
    }
    for (kind, n) in &reasons {
        println!("  skipped {n:>4} × {kind}");
    }
    for f in &failed {
        println!("  failed {f}");
    }
    for u in &uncounted {
        println!("  not accounted for: {u}");
    }
    assert!(
        panicked.is_empty(),
        "parsing panicked or crashed on: {panicked:#?}"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        uncounted.is_empty(),
        "stored + skipped ≠ entries in {} documents:\n{}",
        uncounted.len(),
        uncounted.join("\n")
    );
    assert!(
        checked[0] >= 5 && checked[1] >= 100,
        "too few expectations checked: {checked:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A real HTTP server on loopback.

mod server {
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// One request as the server saw it: path and lower-cased headers.
    #[derive(Debug, Clone)]
    pub struct Request {
        pub path: String,
        pub headers: Vec<(String, String)>,
    }

    impl Request {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// What to answer.
    pub struct Response {
        pub status: &'static str,
        pub headers: Vec<(&'static str, String)>,
        pub body: Vec<u8>,
        /// Wait this long before answering.
        pub delay: Duration,
    }

    impl Response {
        pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Response {
            Response {
                status: "200 OK",
                headers: vec![("Content-Type", content_type.to_string())],
                body: body.into(),
                delay: Duration::ZERO,
            }
        }

        pub fn status(status: &'static str) -> Response {
            Response {
                status,
                headers: Vec::new(),
                body: Vec::new(),
                delay: Duration::ZERO,
            }
        }

        pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
            self.headers.push((name, value.into()));
            self
        }
    }

    /// A server answering every connection on its own thread with `route`, on one or more
    /// loopback addresses (each a "host" of its own), counting the requests under way.
    pub struct Server {
        /// `http://ip:port` of the first address.
        pub base: String,
        /// `http://ip:port` of every address, in order.
        pub bases: Vec<String>,
        log: Arc<Mutex<Vec<Request>>>,
        load: Arc<Mutex<Load>>,
    }

    /// Requests under way (read, not yet answered), now and at most, overall and per address.
    #[derive(Debug, Clone, Default)]
    pub struct Load {
        now: HashMap<String, usize>,
        /// Most requests under way at once, overall.
        pub max: usize,
        /// Most requests under way at once to each address (the IP, without the port).
        pub max_per_host: HashMap<String, usize>,
    }

    impl Load {
        fn enter(&mut self, host: &str) {
            let n = self.now.entry(host.to_string()).or_default();
            *n += 1;
            let n = *n;
            let max = self.max_per_host.entry(host.to_string()).or_default();
            *max = (*max).max(n);
            self.max = self.max.max(self.now.values().sum());
        }

        fn leave(&mut self, host: &str) {
            if let Some(n) = self.now.get_mut(host) {
                *n -= 1;
            }
        }
    }

    impl Server {
        pub fn start(route: fn(&Request) -> Response) -> Server {
            Server::on(&["127.0.0.1"], route)
        }

        /// One server listening on each of the loopback `ips` (Linux routes all of 127/8 to
        /// `lo`), on a free port each.
        pub fn on(ips: &[&str], route: fn(&Request) -> Response) -> Server {
            let log = Arc::new(Mutex::new(Vec::new()));
            let load = Arc::new(Mutex::new(Load::default()));
            let mut bases = Vec::new();
            for ip in ips {
                let listener = TcpListener::bind((*ip, 0)).unwrap();
                bases.push(format!("http://{}", listener.local_addr().unwrap()));
                let (seen, load) = (Arc::clone(&log), Arc::clone(&load));
                std::thread::spawn(move || {
                    for stream in listener.incoming().flatten() {
                        let (seen, load) = (Arc::clone(&seen), Arc::clone(&load));
                        std::thread::spawn(move || handle(stream, route, &seen, &load));
                    }
                });
            }
            Server {
                base: bases[0].clone(),
                bases,
                log,
                load,
            }
        }

        /// Requests received so far for `path`.
        pub fn requests(&self, path: &str) -> Vec<Request> {
            let log = self.log.lock().unwrap();
            log.iter().filter(|r| r.path == path).cloned().collect()
        }

        /// Every request received so far.
        pub fn all_requests(&self) -> Vec<Request> {
            self.log.lock().unwrap().clone()
        }

        /// How many requests were under way at once.
        pub fn load(&self) -> Load {
            self.load.lock().unwrap().clone()
        }
    }

    fn handle(
        stream: TcpStream,
        route: fn(&Request) -> Response,
        log: &Mutex<Vec<Request>>,
        load: &Mutex<Load>,
    ) {
        let host = stream
            .local_addr()
            .map_or(String::new(), |a| a.ip().to_string());
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let path = line.split(' ').nth(1).unwrap_or("/").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_lowercase(), v.trim().to_string()));
            }
        }
        let request = Request { path, headers };
        log.lock().unwrap().push(request.clone());
        load.lock().unwrap().enter(&host);
        let response = route(&request);
        std::thread::sleep(response.delay);
        let mut stream = reader.into_inner();
        let mut head = format!("HTTP/1.1 {}\r\nConnection: close\r\n", response.status);
        for (k, v) in &response.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !response.headers.iter().any(|(k, _)| *k == "Content-Length") {
            head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
        }
        head.push_str("\r\n");
        // The client may hang up early (size cap, timeout): ignore write errors.
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&response.body);
        load.lock().unwrap().leave(&host);
    }
}

use server::{Request, Response, Server};

/// An RSS 2.0 feed with one item per (path, title, date) and `extra` elements in each item.
fn rss(title: &str, items: &[(&str, &str, &str)], extra: &str) -> String {
    let items: String = items
        .iter()
        .map(|(url, t, date)| {
            format!(
                "<item><title>{t}</title><link>{url}</link><guid isPermaLink=\"false\">{url}#guid</guid>\
                 <description>&lt;p&gt;About {t}.&lt;/p&gt;</description>\
                 <category>Distributed Systems</category><pubDate>{date}</pubDate>{extra}</item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
         xmlns:slash=\"http://purl.org/rss/1.0/modules/slash/\"><channel><title>{title}</title>\
         <link>https://example.org/</link>{items}</channel></rss>"
    )
}

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
  <title>Atom Blog</title><id>urn:atom-blog</id><updated>2024-07-10T00:00:00Z</updated>
  <entry><id>urn:atom-blog:raft</id><title type="html">Raft &lt;em&gt;explained&lt;/em&gt;</title>
    <link rel="alternate" href="https://shared.example/raft?utm_source=atom&amp;utm_medium=feed"/>
    <published>2024-07-10T08:00:00Z</published><updated>2024-07-11T08:00:00Z</updated>
    <summary type="html">&lt;p&gt;Consensus, &lt;b&gt;step by step&lt;/b&gt;.&lt;/p&gt;</summary>
    <category term="distributed-systems"/><thr:total>42</thr:total></entry>
</feed>"#;

/// A gzip-encoded response.
fn gzip(body: &[u8]) -> Response {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body).unwrap();
    Response::ok("application/rss+xml", gz.finish().unwrap()).header("Content-Encoding", "gzip")
}

/// The feeds the test server publishes.
fn route(r: &Request) -> Response {
    let good = rss(
        "Good RSS",
        &[
            (
                "https://good.example/a",
                "Alpha",
                "Tue, 02 Jul 2024 10:00:00 GMT",
            ),
            (
                "https://good.example/b",
                "Beta",
                "Wed, 03 Jul 2024 10:00:00 GMT",
            ),
        ],
        "<slash:comments>3</slash:comments>",
    );
    match r.path.as_str() {
        "/good.xml" if r.header("if-none-match") == Some("\"v1\"") => {
            Response::status("304 Not Modified").header("ETag", "\"v1\"")
        }
        "/good.xml" => Response::ok("application/rss+xml", good).header("ETag", "\"v1\""),
        "/atom.xml" => Response::ok("application/atom+xml", ATOM)
            .header("Last-Modified", "Wed, 10 Jul 2024 08:00:00 GMT"),
        "/gzip.xml" => gzip(
            rss(
                "Zipped",
                &[(
                    "https://zip.example/z",
                    "Zipped item",
                    "Thu, 04 Jul 2024 10:00:00 GMT",
                )],
                "",
            )
            .as_bytes(),
        ),
        // 10 MB of white space in a few kilobytes: the cap applies after decompression.
        "/bomb" => gzip(&vec![b' '; 10_000_000]),
        "/500" => Response::status("500 Internal Server Error"),
        "/slow" => {
            let mut slow = Response::ok("application/rss+xml", "<rss/>");
            slow.delay = std::time::Duration::from_secs(5);
            slow
        }
        "/huge" => Response::ok("application/rss+xml", vec![b' '; 10_000_000]),
        "/loop" => Response::status("302 Found").header("Location", "/loop"),
        "/html" => Response::ok(
            "text/html",
            "<!DOCTYPE html>\n<html><head><title>Blog</title></head><body>Hi</body></html>",
        ),
        _ => Response::status("404 Not Found"),
    }
}

/// A configuration with one digest on distributed-systems and the given sources.
fn feeds_config(sources: &str, extra: &str) -> String {
    format!(
        r#"[site]
name = "Test Site"
base_url = "https://news.example.org"
{extra}
[digests.d]
tag = "distributed-systems"
period = "monthly"
size = 10

{sources}"#
    )
}

/// Points the digest of `p` at other tags (`line` replaces `tag = "distributed-systems"`) and
/// rebuilds July 2024 from the stored articles.
fn select(p: &Project, line: &str) {
    let config = p.read("config/digest.toml");
    p.write(
        "config/digest.toml",
        &config.replace("tag = \"distributed-systems\"", line),
    );
    p.ok(&["build", "d", "--period", "2024-07", "--rebuild"]);
}

fn url_source(name: &str, url: &str) -> String {
    format!("[sources.{name}]\nkind = \"feed\"\nurl = \"{url}\"\n\n")
}

#[test]
fn http_sources_load_and_each_broken_one_fails_clearly_while_the_others_load() {
    let server = Server::start(route);
    let b = &server.base;
    let sources: String = [
        ("good", "/good.xml"),
        ("atom", "/atom.xml"),
        ("zipped", "/gzip.xml"),
        ("down", "/500"),
        ("slow", "/slow"),
        ("huge", "/huge"),
        ("bomb", "/bomb"),
        ("loop", "/loop"),
        ("page", "/html"),
    ]
    .iter()
    .map(|(name, path)| url_source(name, &format!("{b}{path}")))
    .collect();
    let p = Project::new(&feeds_config(
        &sources,
        "[fetch]\ntimeout_seconds = 1\nunhealthy_after = 2\n",
    ));
    let out = p.fails(&["ingest"]);
    assert_contains(
        &out.stdout,
        &[
            "good: 2 new, 0 updated, 0 unchanged, 0 skipped",
            "atom: 1 new, 0 updated, 0 unchanged, 0 skipped",
            "zipped: 1 new, 0 updated, 0 unchanged, 0 skipped",
        ],
    );
    let failures = [
        format!("down: failed: fetching {b}/500: HTTP 500 Internal Server Error"),
        format!("slow: failed: fetching {b}/slow: timed out after 1s (fetch.timeout_seconds)"),
        format!(
            "huge: failed: fetching {b}/huge: body larger than 5242880 bytes (fetch.max_bytes)"
        ),
        format!(
            "bomb: failed: fetching {b}/bomb: body larger than 5242880 bytes (fetch.max_bytes)"
        ),
        format!(
            "loop: failed: fetching {b}/loop: too many redirects (more than 5; fetch.max_redirects)"
        ),
        format!("page: failed: {b}/html: no RSS, Atom or JSON feed found (root element <html>)"),
    ];
    assert_contains(&out.stderr, &failures.each_ref().map(String::as_str));
    assert!(!out.stderr.contains("unhealthy"), "{}", out.stderr);
    let first = &server.requests("/good.xml")[0];
    assert_eq!(
        first.header("user-agent"),
        Some("digest/0.1.0 (+https://news.example.org)")
    );
    assert!(
        first
            .header("accept-encoding")
            .is_some_and(|e| e.contains("gzip"))
    );
    assert_eq!(first.header("if-none-match"), None);

    // Second run: conditional GET; the unchanged feed is not re-read; failures add up.
    let out = p.run(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["good: not modified since the last fetch (HTTP 304), nothing to load"],
    );
    assert_eq!(
        server.requests("/good.xml")[1].header("if-none-match"),
        Some("\"v1\"")
    );
    assert_eq!(
        server.requests("/atom.xml")[1].header("if-modified-since"),
        Some("Wed, 10 Jul 2024 08:00:00 GMT")
    );
    assert_contains(
        &out.stderr,
        &["down: unhealthy: 2 consecutive failures (never loaded)"],
    );
    // `digest status` shows the unhealthy source beside the healthy ones.
    assert_contains(
        &p.ok(&["status", "d"]).stdout,
        &[
            "source down: UNHEALTHY: 2 failures in a row; last success never",
            "source good: healthy; last success ",
        ],
    );

    // The digest builds from the healthy sources; feed items rank by recency (no votes) after
    // those with comments.
    p.ok(&["build", "d", "--period", "2024-07"]);
    assert_eq!(
        p.titles("d", "2024-07"),
        ["Raft explained", "Beta", "Alpha", "Zipped item"]
    );
    let issue = p.issue("d", "2024-07");
    let raft = &issue["items"][0];
    assert_eq!(raft["url"], "https://shared.example/raft");
    assert_eq!(raft["summary"], "Consensus, step by step.");
    assert_eq!(raft["comments"], 42);
    assert_eq!(raft["source"]["name"], "Atom Blog");
}

/// A project whose sources are the feed files `feeds/<name>.xml`, given as (name, document,
/// more settings of the source).
fn feed_files(feeds: &[(&str, &[u8], &str)]) -> Project {
    let sources: String = feeds
        .iter()
        .map(|(name, _, extra)| {
            format!("[sources.{name}]\nkind = \"feed\"\npath = \"feeds/{name}.xml\"\n{extra}\n")
        })
        .collect();
    let p = Project::new(&feeds_config(&sources, ""));
    std::fs::create_dir_all(p.path("feeds")).unwrap();
    for (name, doc, _) in feeds {
        std::fs::write(p.path(&format!("feeds/{name}.xml")), doc).unwrap();
    }
    p
}

#[test]
fn the_same_article_in_an_rss_and_an_atom_feed_is_stored_once_with_the_best_engagement() {
    let rss_doc = rss(
        "RSS Blog",
        &[(
            "https://shared.example/raft?utm_source=rss&amp;fbclid=x",
            "Raft explained (RSS copy)",
            "Wed, 10 Jul 2024 08:00:00 GMT",
        )],
        "<slash:comments>7</slash:comments><category>consensus</category>",
    );
    let p = feed_files(&[
        ("rss", rss_doc.as_bytes(), ""),
        ("atom", ATOM.as_bytes(), "tags = [\"raft\"]"),
    ]);
    let out = p.ok(&["ingest"]);
    // Sources load in name order: the Atom copy arrives first and owns the text; the RSS copy
    // adds its tags and does not lower the comment count.
    assert_contains(&out.stdout, &["atom: 1 new, 0 updated"]);
    assert_contains(&out.stdout, &["rss: 0 new, 1 updated"]);
    let out = p.ok(&["ingest"]);
    assert_contains(&out.stdout, &["atom: 0 new, 0 updated, 1 unchanged"]);
    assert_contains(&out.stdout, &["rss: 0 new, 0 updated, 1 unchanged"]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    let issue = p.issue("d", "2024-07");
    let items = issue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{issue:#}");
    assert_eq!(items[0]["url"], "https://shared.example/raft");
    assert_eq!(items[0]["title"], "Raft explained");
    assert_eq!(items[0]["comments"], 42);
    // A digest on a tag only the RSS copy carries finds the same article.
    select(&p, "tag = \"consensus\"");
    assert_eq!(p.titles("d", "2024-07"), ["Raft explained"]);
}

#[test]
fn iso_8859_1_and_windows_1252_feeds_come_out_as_utf8() {
    let feed = |encoding: &str, title: &[u8], link: &str| -> Vec<u8> {
        [
            format!(
                "<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<rss version=\"2.0\"><channel>\
                 <title>Enc</title><item><title>"
            )
            .as_bytes(),
            title,
            format!(
                "</title><link>{link}</link><category>distributed systems</category>\
                 <pubDate>Mon, 08 Jul 2024 00:00:00 GMT</pubDate></item></channel></rss>"
            )
            .as_bytes(),
        ]
        .concat()
    };
    // "Café Zürich ½" in ISO-8859-1; “Smart” quotes, an en dash and € in Windows-1252.
    let latin = feed(
        "ISO-8859-1",
        b"Caf\xe9 Z\xfcrich \xbd",
        "https://enc.example/l",
    );
    let windows = feed(
        "windows-1252",
        b"\x93Smart\x94 \x96 5\x80",
        "https://enc.example/w",
    );
    let p = feed_files(&[("latin", &latin, ""), ("windows", &windows, "")]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    let mut titles = p.titles("d", "2024-07");
    titles.sort();
    assert_eq!(
        titles,
        ["Café Zürich ½", "\u{201c}Smart\u{201d} \u{2013} 5€"]
    );
}

#[test]
fn a_guid_keeps_identity_when_the_link_changes_and_undated_items_are_counted_not_selected() {
    let doc = |link: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>Blog</title>\
             <item><title>Post</title><link>{link}</link><guid>post-1</guid>\
             <category>Distributed Systems</category><pubDate>Mon, 08 Jul 2024 00:00:00 GMT</pubDate></item>\
             <item><title>Someday</title><link>https://blog.example/someday</link>\
             <category>Distributed Systems</category><pubDate>the day after tomorrow</pubDate></item>\
             </channel></rss>"
        )
    };
    let p = feed_files(&[("blog", doc("https://blog.example/p?id=1").as_bytes(), "")]);
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &[
            "blog: 2 new, 0 updated, 0 unchanged, 0 skipped, 1 undated (kept, but no period selects them)",
        ],
    );
    p.write("feeds/blog.xml", &doc("https://blog.example/posts/post-1"));
    let out = p.ok(&["ingest"]);
    assert_contains(&out.stdout, &["blog: 0 new, 1 updated, 1 unchanged"]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    let issue = p.issue("d", "2024-07");
    let urls: Vec<&str> = issue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["https://blog.example/posts/post-1"]);
}

#[test]
fn bad_items_are_skipped_with_file_and_reason_and_a_missing_file_fails_that_source_only() {
    let blog = "<rss version=\"2.0\"><channel><title>Blog</title>\
        <item><title>Good</title><link>https://blog.example/good</link></item>\
        <item><title>Evil</title><link>javascript:alert(1)</link></item>\
        <item><description>nothing to link to</description></item>\
        </channel></rss>";
    let p = feed_files(&[("blog", blog.as_bytes(), ""), ("gone", b"", "")]);
    std::fs::remove_file(p.path("feeds/gone.xml")).unwrap();
    let out = p.fails(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["blog: 1 new, 0 updated, 0 unchanged, 2 skipped"],
    );
    assert_contains(
        &out.stderr,
        &[
            "  skipped feeds/blog.xml: item 2 (\"Evil\"): link \"javascript:alert(1)\": only http and https links are allowed",
        ],
    );
    assert_contains(&out.stderr, &["  skipped feeds/blog.xml: item 3: no link"]);
    assert_contains(
        &out.stderr,
        &["gone: failed: reading feeds/gone.xml: No such file or directory"],
    );
    assert!(
        !out.stderr.contains('\u{1b}'),
        "no progress bar off a terminal"
    );
    let out = p.ok(&["ingest", "--source", "blog"]);
    assert_contains(
        &out.stdout,
        &["blog: 0 new, 0 updated, 1 unchanged, 2 skipped"],
    );
    assert!(!out.all().contains("gone"), "{}", out.all());
}

#[test]
fn source_weight_and_the_recency_fallback_rank_feed_items_and_explain_shows_them() {
    let items = |host: &str| {
        rss(
            host,
            &[
                (
                    &format!("https://{host}/early"),
                    &format!("{host} early"),
                    "Tue, 02 Jul 2024 00:00:00 GMT",
                ),
                (
                    &format!("https://{host}/late"),
                    &format!("{host} late"),
                    "Sat, 27 Jul 2024 00:00:00 GMT",
                ),
            ],
            "",
        )
    };
    let p = feed_files(&[
        ("plain", items("plain.example").as_bytes(), ""),
        (
            "favourite",
            items("favourite.example").as_bytes(),
            "weight = 3",
        ),
    ]);
    let out = p.ok(&[
        "preview",
        "d",
        "--period",
        "2024-07",
        "--explain",
        "--out",
        "x.html",
    ]);
    assert_contains(
        &out.stdout,
        &[
            "without votes or comments: 1 × recency (0 at the window's start, 1 at its end) × source weight",
        ],
    );
    let kept: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("kept #"))
        .collect();
    // The late items (26 of 31 days in) beat the early ones (1 day in), the favourite's first.
    let want = [
        "favourite.example late",
        "plain.example late",
        "favourite.example early",
        "plain.example early",
    ];
    assert_eq!(kept.len(), want.len(), "{}", out.stdout);
    for (line, title) in kept.iter().zip(want) {
        assert!(
            line.ends_with(title),
            "{line:?} should be {title:?}\n{}",
            out.stdout
        );
    }
    let first = out.stdout.lines().find(|l| l.contains("kept #1 ")).unwrap();
    // score 3 × 26/31 = 2.5: recency 0.839, weight 3.
    let columns: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(
        columns[..7],
        ["1", "2.5", "0.0", "0.0", "0.839", "1.000", "3.00"],
        "{first}"
    );
}

#[test]
fn feed_source_settings_are_validated_with_file_line_and_key() {
    let toml = feeds_config(
        r#"[sources.nowhere]
kind = "feed"

[sources.both]
kind = "feed"
path = "a.xml"
url = "https://a.example/feed"

[sources.ftp]
kind = "feed"
url = "ftp://files.example/feed.xml"
weight = -1

[sources.lines]
kind = "jsonl"
path = "catalog/main.jsonl"
tags = ["x"]

[sources.odd]
kind = "feed"
url = "https://odd.example/feed"
item_kind = "podcast"
unmapped = "maybe"
summary_length = 5

[sources.odd.engagement]
upvotes = "a b"
"#,
        "[fetch]\ntimeout_seconds = 0\n",
    );
    let p = Project::new(&toml);
    let out = p.fails(&["check"]);
    assert_contains(
        &out.stderr,
        &[
            "config/digest.toml:5: fetch.timeout_seconds: must be between 0 and 3600, not 0",
            "config/digest.toml:12: sources.nowhere.url: missing: set `url` (or `path` for a local file)",
            "config/digest.toml:18: sources.both.url: give either `path` or `url`, not both",
            "config/digest.toml:22: sources.ftp.url: only http and https links are allowed, not `ftp:`",
            "config/digest.toml:23: sources.ftp.weight: must be a number ≥ 0, not -1",
            "config/digest.toml:28: sources.lines.tags: only for sources of kind = \"feed\"",
            "config/digest.toml:33: sources.odd.item_kind: unknown value \"podcast\" (use one of: article, video)",
            "config/digest.toml:34: sources.odd.unmapped: unknown value \"maybe\" (use one of: keep, drop)",
            "config/digest.toml:35: sources.odd.summary_length: must be between 20 and 1200, not 5",
            "config/digest.toml:38: sources.odd.engagement.upvotes: \"a b\" is not a field name",
        ],
    );
}

#[test]
fn tag_map_default_tags_engagement_fields_and_item_kind_shape_feed_items() {
    let tube = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<title>Channel</title><id>c</id>
<entry><id>yt:video:1</id><title>Consensus talk</title>
<link rel="alternate" href="https://www.youtube.com/watch?v=abc&amp;feature=share"/>
<published>2024-07-20T00:00:00Z</published>
<category term="Distributed Systems"/><category term="Vlog"/>
<media:group><media:title>Consensus talk</media:title>
<media:content url="https://www.youtube.com/v/abc?version=3" type="application/x-shockwave-flash"/>
<media:description>Paxos &amp; Raft, compared.</media:description>
<media:community><media:starRating count="1500" average="4.9"/></media:community></media:group>
</entry></feed>"#;
    let p = feed_files(&[(
        "tube",
        tube.as_bytes(),
        r#"name = "Tube"
avatar = "https://tube.example/logo.png"
tags = ["Talks"]
unmapped = "drop"

[sources.tube.tag_map]
"Distributed Systems" = ["distributed-systems", "systems"]

[sources.tube.engagement]
upvotes = "media:starRating@count"
"#,
    )]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    let issue = p.issue("d", "2024-07");
    let item = &issue["items"][0];
    assert_eq!(item["kind"], "video");
    assert_eq!(item["upvotes"], 1500);
    assert_eq!(item["summary"], "Paxos & Raft, compared.");
    assert_eq!(item["source"]["name"], "Tube");
    assert_eq!(item["source"]["avatar"], "https://tube.example/logo.png");
    assert_eq!(
        item["url"],
        "https://www.youtube.com/watch?feature=share&v=abc"
    );
    // Tags: defaults plus mapped categories; "Vlog" is dropped.
    select(&p, "tags = [\"talks\", \"systems\"]");
    assert_eq!(p.titles("d", "2024-07"), ["Consensus talk"]);
    p.write(
        "config/digest.toml",
        &p.read("config/digest.toml")
            .replace("tags = [\"talks\", \"systems\"]", "tag = \"vlog\""),
    );
    let out = p.fails(&["build", "d", "--period", "2024-07", "--rebuild"]);
    assert_contains(&out.stderr, &["0 item(s) qualify"]);
}

// ---------------------------------------------------------------------------------------------
// Every entry of a document is stored or skipped with a reason; a document with entries that
// yields nothing is a failed source. One fixture per class of feed that used to load nothing,
// silently (tests/fixtures/feeds).

/// A project whose one source `f` is the fixture `name`, tagged so the digest selects its items.
fn fixture_project(name: &str) -> Project {
    let doc = std::fs::read(fixtures().join(name)).unwrap();
    feed_files(&[("f", &doc, "tags = [\"distributed-systems\"]")])
}

/// The URLs of the July 2024 issue built from `p`.
fn issue_urls(p: &Project) -> Vec<String> {
    p.ok(&["build", "d", "--period", "2024-07"]);
    let issue = p.issue("d", "2024-07");
    let mut urls: Vec<String> = issue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["url"].as_str().unwrap().to_string())
        .collect();
    urls.sort();
    urls
}

#[test]
fn rss_0_90_items_are_stored() {
    // Before: the Netscape 0.90 namespace hid every item; 0 stored, nothing said, exit 0.
    let p = fixture_project("rss-0.90.rdf");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 3 new, 0 updated, 0 unchanged, 0 skipped, 3 undated"],
    );
}

#[test]
fn atom_0_3_entries_are_stored_with_their_issued_dates() {
    // Before: the Atom 0.3 namespace hid every entry; 0 stored, nothing said, exit 0.
    let p = fixture_project("atom-0.3.xml");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 2 new, 0 updated, 0 unchanged, 0 skipped"],
    );
    assert!(!out.stdout.contains("undated"), "{}", out.stdout);
    p.ok(&["build", "d", "--period", "2024-07"]);
    assert_eq!(
        p.titles("d", "2024-07"),
        ["Paxos & friends", "Raft by hand"]
    );
    assert_eq!(p.read("feeds/f.xml").matches("<entry>").count(), 2);
}

#[test]
fn rss_1_0_items_named_only_by_rdf_about_are_stored() {
    // Before: an item without <link> vanished, neither stored nor counted as skipped.
    let p = fixture_project("rss-1.0-rdf-about.rdf");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 2 new, 0 updated, 0 unchanged, 0 skipped"],
    );
    assert_eq!(
        issue_urls(&p),
        [
            "http://rdf.example.org/2024/07/one",
            "http://rdf.example.org/2024/07/two"
        ]
    );
}

#[test]
fn items_told_apart_only_by_a_fragment_are_not_merged() {
    // Before: three GUIDs whose links differ only by #fragment became one article
    // ("1 new, 2 updated").
    let p = fixture_project("guid-fragments.xml");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 3 new, 0 updated, 0 unchanged, 0 skipped"],
    );
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 0 new, 0 updated, 3 unchanged, 0 skipped"],
    );
    let page = "https://month.example.org/2024/07/01.html";
    assert_eq!(
        issue_urls(&p),
        [
            format!("{page}#a1"),
            format!("{page}#a2"),
            format!("{page}#a3")
        ]
    );
}

#[test]
fn a_duplicate_item_is_skipped_with_a_reason_not_merged_silently() {
    // Before: a second item with the same link counted as "1 updated" and vanished.
    let doc = "<rss version=\"2.0\"><channel><title>Dup</title>\
        <item><title>One</title><link>https://dup.example/a?utm_source=x</link><guid>g1</guid></item>\
        <item><title>Two</title><link>https://dup.example/a</link><guid>g2</guid></item>\
        </channel></rss>";
    let p = feed_files(&[("f", doc.as_bytes(), "")]);
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 1 new, 0 updated, 0 unchanged, 1 skipped"],
    );
    assert_contains(
        &out.stderr,
        &[
            "  skipped feeds/f.xml: item 2 (\"Two\"): same link as item 1 (https://dup.example/a): a duplicate",
        ],
    );
}

#[test]
fn json_feed_with_an_http_version_url_is_read() {
    // Before: "unsupported JSON Feed version" for the http:// form many real feeds write.
    let p = fixture_project("jsonfeed-http-version.json");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 2 new, 0 updated, 0 unchanged, 0 skipped"],
    );
}

#[test]
fn one_wrong_typed_json_feed_item_is_skipped_and_the_others_stored() {
    // Before: `"tags": "a,b"` in one item failed the whole JSON Feed.
    let p = fixture_project("jsonfeed-wrong-typed-item.json");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 2 new, 0 updated, 0 unchanged, 1 skipped"],
    );
    assert_contains(
        &out.stderr,
        &[
            "  skipped feeds/f.xml: item 2: unreadable: invalid type: string \"a,b\", expected a sequence",
        ],
    );
}

#[test]
fn an_unreadable_feed_level_atom_element_does_not_lose_the_entries() {
    // Before: `<rights type="application/octet-stream">` failed the whole feed.
    let p = fixture_project("atom-odd-feed-element.xml");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 2 new, 0 updated, 0 unchanged, 0 skipped"],
    );
    p.ok(&["build", "d", "--period", "2024-07"]);
    assert_eq!(p.titles("d", "2024-07"), ["Two", "One"]);
}

#[test]
fn rss_without_a_channel_says_the_channel_is_missing() {
    // Before: "no RSS, Atom or JSON feed found (root element <rss>)" for an RSS document.
    let p = fixture_project("rss-without-channel.xml");
    let out = p.fails(&["ingest"]);
    assert_contains(
        &out.stderr,
        &["f: failed: feeds/f.xml: an RSS document without a <channel> (no feed title, no items)"],
    );
}

#[test]
fn escaped_markup_in_rss_titles_is_reduced_to_text() {
    // Before: `&lt;b&gt;Bold&lt;/b&gt; news` was stored as "<b>Bold</b> news".
    let p = fixture_project("rss-escaped-title.xml");
    p.ok(&["build", "d", "--period", "2024-07"]);
    let mut titles = p.titles("d", "2024-07");
    titles.sort();
    assert_eq!(titles, ["AT&T <3 plain", "Bold news", "Slanted & more"]);
    assert_eq!(
        p.issue("d", "2024-07")["items"][0]["source"]["name"],
        "Markup News"
    );
}

#[test]
fn common_non_rfc_dates_are_read() {
    // Before: `2020/1/10 14:33:00`, `2020-01-11 08:00:00`, `2020-01-12` and `14 Jan 2020 10:00:00
    // EST` came out undated (4 undated); only the Korean form is still not read.
    let p = fixture_project("rss-odd-dates.xml");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 7 new, 0 updated, 0 unchanged, 0 skipped, 1 undated"],
    );
}

#[test]
fn a_feed_whose_items_all_fail_is_a_failed_source() {
    // Before: a document whose every item was skipped ended "0 new … 2 skipped", exit 0, healthy.
    let doc = "<rss version=\"2.0\"><channel><title>None</title>\
        <item><title>One</title></item><item><title>Two</title><link>ftp://x.example/2</link></item>\
        </channel></rss>";
    let p = feed_files(&[("f", doc.as_bytes(), "")]);
    let out = p.fails(&["ingest"]);
    assert_contains(
        &out.stderr,
        &[
            "f: failed: feeds/f.xml: none of its 2 items could be stored (each is listed as skipped)",
            "  skipped feeds/f.xml: item 1 (\"One\"): no link",
            "  skipped feeds/f.xml: item 2 (\"Two\"): link \"ftp://x.example/2\": only http and https links are allowed",
        ],
    );
    assert_contains(
        &p.ok(&["status", "d"]).stdout,
        &["source f: 1 recent failure(s); last success never"],
    );
}

#[test]
fn json_feed_with_a_bare_version_number_is_read() {
    // Before: `"version": "1.1"` (gofeed's test feeds, and some real ones) was refused.
    let p = fixture_project("jsonfeed-bare-version.json");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 2 new, 0 updated, 0 unchanged, 0 skipped"],
    );
}

#[test]
fn a_bare_ampersand_does_not_lose_the_feed() {
    // Before: one `&` that XML forbids ("Fish & Chips") refused the whole document.
    let p = fixture_project("rss-bare-ampersand.xml");
    let out = p.ok(&["ingest"]);
    assert_contains(
        &out.stdout,
        &["f: 2 new, 0 updated, 0 unchanged, 0 skipped"],
    );
    p.ok(&["build", "d", "--period", "2024-07"]);
    let titles = p.titles("d", "2024-07");
    assert!(
        titles.contains(&"Salt & vinegar & mushy peas".to_string()),
        "{titles:?}"
    );
}

/// One small feed per host and path, each answered after 300 ms; `/hang` is answered only after
/// a minute.
fn slow_feeds(r: &Request) -> Response {
    let host = r.header("host").unwrap_or("?");
    let mut response = match r.path.as_str() {
        "/hang" => {
            let mut hang = Response::ok("application/rss+xml", "<rss/>");
            hang.delay = std::time::Duration::from_secs(60);
            return hang;
        }
        path => Response::ok(
            "application/rss+xml",
            rss(
                &format!("{host}{path}"),
                &[(
                    &format!("https://{}.example{path}", host.replace([':', '.'], "-")),
                    "Item",
                    "Tue, 02 Jul 2024 10:00:00 GMT",
                )],
                "",
            ),
        ),
    };
    response.delay = std::time::Duration::from_millis(300);
    response
}

#[test]
fn feeds_are_fetched_concurrently_within_the_overall_and_per_host_limits_and_a_hanging_one_times_out_alone()
 {
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
    let server = Server::on(&hosts, slow_feeds);
    let hanging = Server::start(slow_feeds);
    let mut sources = url_source("hang", &format!("{}/hang", hanging.base));
    let mut names = Vec::new();
    for (h, base) in server.bases.iter().enumerate() {
        for f in 1..=4 {
            let name = format!("h{h}-f{f}");
            sources.push_str(&url_source(&name, &format!("{base}/f{f}.xml")));
            names.push(name);
        }
    }
    let p = Project::new(&feeds_config(
        &sources,
        "[fetch]\ntimeout_seconds = 1\nconcurrency = 5\nper_host = 2\n",
    ));
    let out = p.fails(&["ingest"]);

    // Every feed loaded once, and the hanging one failed with its timeout.
    let done: Vec<String> = names
        .iter()
        .map(|n| format!("{n}: 1 new, 0 updated, 0 unchanged, 0 skipped"))
        .collect();
    let done: Vec<&str> = done.iter().map(String::as_str).collect();
    assert_contains(&out.stdout, &done);
    assert_eq!(out.stdout.lines().count(), names.len(), "{}", out.stdout);
    assert_contains(
        &out.stderr,
        &[&format!(
            "hang: failed: fetching {}/hang: timed out after 1s (fetch.timeout_seconds)",
            hanging.base
        )],
    );
    let mut asked: Vec<String> = server
        .all_requests()
        .iter()
        .map(|r| format!("{}{}", r.header("host").unwrap_or("?"), r.path))
        .collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), names.len());
    assert_eq!(server.all_requests().len(), names.len());

    // Concurrently, but never more than 5 at once, nor more than 2 to one host.
    let load = server.load();
    assert!(load.max > 1 && load.max <= 5, "{load:?}");
    assert_eq!(load.max_per_host.len(), hosts.len(), "{load:?}");
    assert!(load.max_per_host.values().all(|&n| n <= 2), "{load:?}");
}

#[test]
fn fetch_concurrency_and_per_host_are_validated_with_file_line_and_key() {
    let p = Project::new(&feeds_config(
        &url_source("a", "https://a.example/feed"),
        "[fetch]\nconcurrency = 0\nper_host = 17\n",
    ));
    assert_contains(
        &p.fails(&["check"]).stderr,
        &[
            "config/digest.toml:5: fetch.concurrency: must be between 1 and 256, not 0",
            "config/digest.toml:6: fetch.per_host: must be between 1 and 16, not 17",
        ],
    );
}
