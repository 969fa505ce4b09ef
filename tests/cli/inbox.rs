//! Inbox-ready email, judged by the tools the email world uses rather than by our own opinion:
//! the caniemail.com data (npm `caniemail`), SpamAssassin, the Nu HTML Checker (npm `vnu-jar`),
//! Python's `email` parser, dkimpy and headless Chromium. The real binary builds the example issue
//! once, signs it with a key made for the test and writes it as `.eml`; each checker then runs as a
//! child process on what it wrote. A missing checker skips its test, unless CI=true, where it
//! fails (scripts/install-test-tools installs them all). What the checkers saw and said is kept
//! under `artifacts/inbox/`, the screenshots under `artifacts/screenshots/`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use mail_parser::MessageParser;
use serde_json::{Value, json};

use crate::common::{MESSAGE_HEADERS, Project, assert_plain_text, output, repo};
use crate::smtp::unavailable;

const DIGEST: &str = "best-of-distributed-systems";
const PERIOD: &str = "2024-07";
const DOMAIN: &str = "digest.example.com";
const SELECTOR: &str = "inbox2024";
const FEEDBACK_ID: &str = "digest:best-of-distributed-systems:example";
const SUBJECT: &str = "Best of Distributed Systems — July 2024";

/// The example issue as sent to one reader, and what the checkers need to judge it.
struct Example {
    /// `artifacts/inbox`: every file below, and the checkers' reports.
    dir: PathBuf,
    /// The complete signed message to ada@example.com.
    eml: PathBuf,
    /// Its HTML part, decoded.
    html: PathBuf,
    /// The archive's index, digest and issue pages.
    archive: Vec<PathBuf>,
    /// The DKIM public key: base64 of its DER form, as in a DNS TXT record.
    public_key: String,
    /// The item URLs of the frozen issue, in order.
    urls: Vec<String>,
}

/// The example, made once per test run.
fn example() -> &'static Example {
    static EXAMPLE: OnceLock<Example> = OnceLock::new();
    EXAMPLE.get_or_init(make_example)
}

fn make_example() -> Example {
    let p = Project::example();
    let config = p.read("config/digest.toml").replacen(
        "[mail]\n",
        &format!("[mail]\nfeedback_id = \"{FEEDBACK_ID}\"\n"),
        1,
    );
    p.write(
        "config/digest.toml",
        &format!("{config}\n[dkim]\ndomain = \"{DOMAIN}\"\nselector = \"{SELECTOR}\"\n"),
    );
    let (private_key, public_key) = rsa_key();
    // With [dkim] configured, every command needs its key.
    let run = |args: &[&str]| {
        let out = output(p.command(args).env("DIGEST__DKIM__KEY", &private_key));
        assert_eq!(out.code, 0, "digest {args:?}:\n{}", out.all());
    };
    run(&["build", DIGEST, "--period", PERIOD]);
    run(&["send", DIGEST, "--period", PERIOD, "--yes", "--eml", "eml"]);
    run(&["archive", "--out", "site"]);

    let dir = repo().join("artifacts/inbox");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sent_to_ada = std::fs::read_dir(p.path("eml"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().ends_with("-ada@example.com.eml"))
        .expect("the message to ada@example.com");
    let eml = dir.join("example.eml");
    std::fs::copy(sent_to_ada, &eml).unwrap();
    let raw = std::fs::read(&eml).unwrap();
    let message = MessageParser::default().parse(&raw).unwrap();
    let html = dir.join("email.html");
    std::fs::write(&html, message.body_html(0).unwrap().as_bytes()).unwrap();
    let archive = [
        ("archive/index.html", "archive-index.html"),
        (
            "archive/best-of-distributed-systems/index.html",
            "archive-digest.html",
        ),
        (
            "archive/best-of-distributed-systems/2024-07/index.html",
            "archive-issue.html",
        ),
    ]
    .into_iter()
    .map(|(from, to)| {
        std::fs::copy(p.path("site").join(from), dir.join(to)).unwrap();
        dir.join(to)
    })
    .collect();
    let urls = p.issue(DIGEST, PERIOD)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["url"].as_str().unwrap().to_string())
        .collect();
    Example {
        dir,
        eml,
        html,
        archive,
        public_key,
        urls,
    }
}

/// A new RSA key: (PKCS#8 PEM private key, base64 DER public key).
pub(crate) fn rsa_key() -> (String, String) {
    let private = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl");
    assert!(private.status.success());
    let mut public = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    public
        .stdin
        .take()
        .unwrap()
        .write_all(&private.stdout)
        .unwrap();
    let der = public.wait_with_output().unwrap();
    assert!(der.status.success() && !der.stdout.is_empty());
    (
        String::from_utf8(private.stdout).unwrap(),
        base64::engine::general_purpose::STANDARD.encode(der.stdout),
    )
}

/// Whether `program args…` runs and exits 0: a cheap probe for a checker.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the checker `what` is `present`; a test without it is skipped (or fails in CI).
fn have(what: &str, present: bool) -> bool {
    if !present {
        unavailable(what);
    }
    present
}

/// A package installed under tests/node.
fn node_module(name: &str) -> PathBuf {
    repo().join("tests/node/node_modules").join(name)
}

/// Runs a checker that prints one JSON document, failing the test if it fails.
fn json_of(command: &mut Command) -> Value {
    let out = command.output().expect("starting a checker");
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{command:?}: {e}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs a checker script of the repository (`tests/…`) with `interpreter`, returning its JSON.
pub(crate) fn script_json<I, A>(interpreter: &str, script: &str, args: I) -> Value
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    json_of(
        Command::new(interpreter)
            .arg(repo().join(script))
            .args(args),
    )
}

/// Keeps a checker's report in the artifacts.
fn keep(e: &Example, name: &str, report: &str) {
    std::fs::write(e.dir.join(name), report).unwrap();
}

#[test]
fn caniemail_reports_nothing_unsupported_beyond_the_allow_list() {
    let present = runs("node", &["--version"]) && node_module("caniemail").is_dir();
    if !have("node with npm caniemail (tests/node)", present) {
        return;
    }
    let e = example();
    let check = |file: &Path| script_json("node", "tests/node/caniemail.mjs", [file]);
    let report = check(&e.html);
    keep(e, "caniemail.json", &format!("{report:#}"));
    for a in report["allowed"].as_array().unwrap() {
        eprintln!(
            "allowed: {}: {} ({})",
            a["client"], a["feature"], a["reason"]
        );
    }
    assert_eq!(report["clients"].as_array().unwrap().len(), 9);
    assert_eq!(report["unsupported"], json!([]), "{report:#}");

    // The same check does report what these clients lack.
    let control = e.dir.join("caniemail-control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html lang=\"en\"><body><form action=\"https://x.example/\">\
         <input name=\"q\"></form><div style=\"position: absolute\">x</div></body></html>",
    )
    .unwrap();
    let features: Vec<Value> = check(&control)["unsupported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["feature"].clone())
        .collect();
    assert!(
        features.contains(&json!("<form> element")) && features.contains(&json!("position")),
        "{features:?}"
    );
}

/// SpamAssassin's score and the rules that fired for the message in `eml`, and its full report.
fn spamassassin(eml: &Path) -> (f64, Vec<String>, String) {
    let out = Command::new("spamassassin")
        .args(["-L", "-t", "-p"])
        .arg(repo().join("tests/checks/spamassassin.prefs"))
        .stdin(std::fs::File::open(eml).unwrap())
        .output()
        .expect("spamassassin");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // X-Spam-Status: No, score=-0.0 required=5.0 tests=A,B,
    //	C autolearn=disabled version=4.0.1
    let status = report
        .split("\nX-Spam-Status: ")
        .nth(1)
        .and_then(|s| s.split("version=").next())
        .unwrap_or_else(|| panic!("no X-Spam-Status in:\n{report}"));
    let score = status
        .split("score=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {status:?}"));
    let rules: String = status
        .split("tests=")
        .nth(1)
        .and_then(|s| s.split("autolearn=").next())
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let rules = rules.split(',').map(str::to_string).collect();
    (score, rules, report)
}

#[test]
fn spamassassin_scores_the_example_below_one() {
    if !have("spamassassin", runs("spamassassin", &["--version"])) {
        return;
    }
    let e = example();
    let (score, rules, report) = spamassassin(&e.eml);
    keep(e, "spamassassin.txt", &report);
    let details = report
        .split("Content analysis details:")
        .nth(1)
        .unwrap_or_default();
    eprintln!("SpamAssassin score {score}, rules {rules:?}:{details}");
    assert!(score < 1.0, "score {score}: {rules:?}\n{details}");

    // The same run flags spam: GTUBE, the standard test string, scores 1000.
    let gtube = e.dir.join("spamassassin-control.eml");
    std::fs::write(
        &gtube,
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: test\r\n\r\n\
         XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n",
    )
    .unwrap();
    let (score, rules, _) = spamassassin(&gtube);
    assert!(
        score >= 5.0 && rules.contains(&"GTUBE".to_string()),
        "{score} {rules:?}"
    );
}

/// Whether a validator message is the one kind email HTML cannot avoid: a presentational table
/// attribute (`width`, `bgcolor`, `cellpadding`…) that HTML5 calls obsolete.
fn email_table_attribute(message: &Value) -> bool {
    let text = message["message"].as_str().unwrap_or_default();
    let Some((attribute, element)) = text
        .strip_prefix("The “")
        .and_then(|rest| rest.split_once("” attribute on the “"))
        .and_then(|(attribute, rest)| {
            Some((attribute, rest.split_once("” element is obsolete.")?.0))
        })
    else {
        return false;
    };
    message["type"] == "info"
        && message["subType"] == "warning"
        && [
            "width",
            "height",
            "cellpadding",
            "cellspacing",
            "border",
            "bgcolor",
            "align",
            "valign",
        ]
        .contains(&attribute)
        && ["table", "td", "body"].contains(&element)
}

#[test]
fn the_html_validator_finds_no_errors_in_the_archive_pages() {
    let jar = node_module("vnu-jar/build/dist/vnu.jar");
    if !have(
        "java with npm vnu-jar (tests/node)",
        jar.is_file() && runs("java", &["-version"]),
    ) {
        return;
    }
    let e = example();
    let control = e.dir.join("vnu-control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html lang=\"en\"><head><title>x</title></head>\
         <body><img src=\"x.png\"></body></html>",
    )
    .unwrap();
    let report = json_of(
        Command::new("java")
            .arg("-jar")
            .arg(&jar)
            .args(["--format", "json", "--stdout", "--exit-zero-always"])
            .args(&e.archive)
            .arg(&control),
    );
    keep(e, "vnu.json", &format!("{report:#}"));
    let mut by_file: HashMap<String, Vec<&Value>> = HashMap::new();
    for m in report["messages"].as_array().unwrap() {
        let file = m["url"].as_str().unwrap_or_default();
        let name = file.rsplit('/').next().unwrap_or_default().to_string();
        by_file.entry(name).or_default().push(m);
    }
    let filtered: Vec<usize> = e
        .archive
        .iter()
        .map(|page| {
            let name = page.file_name().unwrap().to_string_lossy().into_owned();
            let messages = by_file.remove(&name).unwrap_or_default();
            let left: Vec<_> = messages
                .iter()
                .filter(|m| !email_table_attribute(m))
                .collect();
            assert!(left.is_empty(), "{name}: {left:#?}");
            messages.len() - left.len()
        })
        .collect();
    eprintln!("vnu: no errors; table-attribute warnings filtered per page: {filtered:?}");
    let control = by_file.remove("vnu-control.html").unwrap_or_default();
    assert!(
        control.iter().any(|m| m["type"] == "error"),
        "the validator reports an img without alt: {control:?}"
    );
}

#[test]
fn pythons_email_parser_reads_each_header_once_and_both_parts() {
    if !have("python3", runs("python3", &["--version"])) {
        return;
    }
    let e = example();
    let parsed = script_json("python3", "tests/checks/mime.py", [&e.eml]);
    assert_eq!(parsed["defects"], json!([]));
    for (name, count) in parsed["headers"].as_object().unwrap() {
        assert_eq!(count, 1, "{name} appears {count} times");
    }
    let headers = parsed["headers"].as_object().unwrap();
    let more = [
        "reply-to",
        "feedback-id",
        "auto-submitted",
        "mime-version",
        "content-type",
        "dkim-signature",
    ];
    for name in MESSAGE_HEADERS.iter().chain(&more) {
        assert!(headers.contains_key(*name), "{name} missing: {headers:?}");
    }
    let decoded = &parsed["decoded"];
    assert_eq!(decoded["subject"], SUBJECT);
    assert_eq!(decoded["to"], "Ada <ada@example.com>");
    assert_eq!(
        parsed["structure"],
        json!([
            {"type": "multipart/alternative", "charset": null},
            {"type": "text/plain", "charset": "utf-8"},
            {"type": "text/html", "charset": "utf-8"},
        ])
    );

    // Both parts carry the same unsubscribe URL as the header, and the archive link.
    let unsubscribe = decoded["list-unsubscribe"].as_str().unwrap();
    let unsubscribe = unsubscribe.trim_start_matches('<').trim_end_matches('>');
    let archive = format!("https://{DOMAIN}/archive/{DIGEST}/{PERIOD}/");
    let (text, html) = (
        parsed["text"].as_str().unwrap(),
        parsed["html"].as_str().unwrap(),
    );
    assert!(html.contains(&format!("href=\"{unsubscribe}\"")));
    assert!(html.contains(&format!("href=\"{archive}\"")));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], SUBJECT);
    assert!(lines.windows(2).any(|w| w == ["Unsubscribe:", unsubscribe]));
    assert!(
        lines
            .windows(2)
            .any(|w| w == ["View in browser:", &archive])
    );
    // The text part: numbered items with their URLs, no entities, 78 columns but whole URLs.
    for (n, url) in e.urls.iter().enumerate() {
        let number = format!("{:>2}. ", n + 1);
        assert!(
            lines.iter().any(|l| l.starts_with(&number)),
            "item {number}"
        );
        assert!(
            lines.iter().any(|l| l.trim() == url),
            "{url} on a line of its own"
        );
    }
    assert_plain_text(text);
}

#[test]
fn the_dkim_signature_verifies_with_dkimpy_and_covers_the_list_headers() {
    if !have(
        "python3 with dkimpy",
        runs("python3", &["-c", "import dkim"]),
    ) {
        return;
    }
    let e = example();
    let verify = |eml: &Path| {
        let key = format!("{SELECTOR}:rsa:{}", e.public_key);
        let args = [eml.as_os_str(), DOMAIN.as_ref(), key.as_ref()];
        script_json("python3", "tests/checks/dkim_verify.py", args)
    };
    let result = verify(&e.eml);
    keep(e, "dkim.json", &format!("{result:#}"));
    assert_eq!(result["verified"], true, "{result:#}");
    assert_eq!(
        result["lookups"],
        json!([format!("{SELECTOR}._domainkey.{DOMAIN}.")])
    );
    let tags = &result["tags"];
    assert_eq!((&tags["d"], &tags["s"]), (&json!(DOMAIN), &json!(SELECTOR)));
    let signed: Vec<&str> = tags["h"].as_str().unwrap().split(':').collect();
    eprintln!("DKIM h={}", tags["h"]);
    for name in MESSAGE_HEADERS.iter().chain(&["feedback-id"]) {
        assert!(signed.contains(name), "{name} not signed: {signed:?}");
    }

    // A changed subject breaks the signature.
    let tampered = e.dir.join("dkim-tampered.eml");
    let raw = std::fs::read_to_string(&e.eml).unwrap();
    std::fs::write(
        &tampered,
        raw.replacen("Subject: Best", "Subject: Worst", 1),
    )
    .unwrap();
    assert_eq!(verify(&tampered)["verified"], false);
}

/// The share of a PNG's pixels that differ from its most common colour (its background), and its
/// size in pixels.
fn ink(png_file: &Path) -> (f64, u32, u32) {
    let bytes = std::fs::read(png_file).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = buf[..info.buffer_size()].chunks(info.color_type.samples());
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for pixel in pixels {
        *counts.entry(pixel).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let background = counts.values().max().copied().unwrap_or(0);
    (
        (total - background) as f64 / total.max(1) as f64,
        info.width,
        info.height,
    )
}

#[test]
fn screenshots_show_the_email_and_the_archive_without_overflow_at_375px() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let present = Path::new(&chromium).is_file()
        && node_module("playwright-core").is_dir()
        && runs("node", &["--version"]);
    if !have("node with playwright-core and chromium", present) {
        return;
    }
    let e = example();
    let out = repo().join("artifacts/screenshots");
    let shots = script_json(
        "node",
        "tests/node/screenshots.mjs",
        [
            out.display().to_string(),
            format!("email={}", e.html.display()),
            format!("archive={}", e.archive[2].display()),
        ],
    );
    keep(e, "screenshots.json", &format!("{shots:#}"));
    let shots = shots.as_array().unwrap();
    assert_eq!(shots.len(), 4, "email and archive, at 600 and 375 px");
    for shot in shots {
        let (width, png) = (&shot["width"], shot["png"].as_str().unwrap());
        let (ink, w, h) = ink(Path::new(png));
        eprintln!(
            "{png}: {width}px viewport, scrollWidth {}, {w}×{h} px, {:.1} % ink",
            shot["scrollWidth"],
            ink * 100.0
        );
        assert!(
            shot["scrollWidth"].as_u64() <= shot["clientWidth"].as_u64(),
            "horizontal overflow: {shot}"
        );
        assert_eq!(Some(u64::from(w)), width.as_u64(), "{png}");
        assert!(h > 1000, "{png}: {h}px high: the whole issue");
        assert!(ink > 0.02, "{png} is (nearly) blank: {ink}");
    }

    // A blank picture is seen as blank.
    let blank = e.dir.join("blank.png");
    let mut encoder = png::Encoder::new(std::fs::File::create(&blank).unwrap(), 40, 30);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[255; 40 * 30 * 3]).unwrap();
    writer.finish().unwrap();
    assert_eq!(ink(&blank), (0.0, 40, 30));
}
