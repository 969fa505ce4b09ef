//! Sign-up, confirmation and the subscription page over real HTTP against the daemon, with the
//! confirmation mails read back from a real SMTP server (aiosmtpd, `--bodies`); the CLI's
//! `digest subscribers`; a crash inside the confirmation.

use std::time::{Duration, Instant};

use digest::model::signup::{CONFIRM_TTL, Pending};
use digest::model::token::Keys;
use digest::store::Store;
use mail_parser::MessageParser;

use crate::common::{Daemon, Project, TEST_KEYS, WEB_ANY_PORT, article, config};
use crate::serve::http_get;
use crate::smtp::Server;
use crate::unsubscribe::{http_post, status_and_body};

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// The TOML of two digests (`d` monthly, `e` weekly) on the sign-up list `web` (with `list`
/// added to it), mailing through the SMTP server on `smtp_port`, and `rest` after it.
fn toml(smtp_port: &str, list: &str, rest: &str) -> String {
    let extra = format!(
        "lists = [\"web\"]\n\n[digests.e]\ntag = \"distributed-systems\"\ntag_name = \"Weekly Systems\"\nperiod = \"weekly\"\nmin_items = 1\nlists = [\"web\"]\n\n[mail]\nfrom = \"digest@news.example.org\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n\n[lists.web]\nsignup = true\n{list}\n{rest}"
    );
    config("d", &extra)
}

/// Writes a catalogue of one article per date.
fn picks(p: &Project, dates: &[&str]) {
    let tags = &["distributed-systems"];
    let lines: Vec<String> = dates
        .iter()
        .enumerate()
        .map(|(n, date)| {
            let url = format!("https://a.example/{n}");
            article(&url, &format!("Pick {n}"), "a", tags, date, 10)
        })
        .collect();
    p.catalog(&lines);
}

/// A project of [`toml`] mailing through `server`, the daemon on any port; `signup` is extra
/// TOML for `[signup]`.
pub(crate) fn project(server: &Server, signup: &str) -> Project {
    let rest = format!("[signup]\n{signup}\n{WEB_ANY_PORT}");
    let p = Project::new(&toml(
        &server.port.to_string(),
        "default_digests = [\"d\"]",
        &rest,
    ));
    picks(
        &p,
        &[
            "2024-07-10T00:00:00Z",
            "2024-07-16T00:00:00Z",
            "2024-08-10T00:00:00Z",
        ],
    );
    p
}

pub(crate) fn smtp() -> Option<Server> {
    Server::start(&["--bodies"])
}

/// Waits until `server` accepted `n` messages (or 20 s passed); the accepted ones.
pub(crate) fn wait_mails(server: &Server, n: usize) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let got = server.accepted();
        if got.len() >= n || start.elapsed() > Duration::from_secs(20) {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The plain-text body of an accepted message.
pub(crate) fn text(message: &serde_json::Value) -> String {
    let raw = message["content"].as_str().unwrap();
    let parsed = MessageParser::default().parse(raw.as_bytes()).unwrap();
    parsed.body_text(0).unwrap().to_string()
}

/// The path (`/confirm/…`) of the first link under `base` in `body`.
pub(crate) fn link(body: &str, prefix: &str) -> String {
    let at = body
        .find(&format!("https://news.example.org{prefix}"))
        .unwrap_or_else(|| panic!("no {prefix} link in {body}"));
    let url: String = body[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    url.trim_start_matches("https://news.example.org")
        .to_string()
}

/// A confirmation token for `address` choosing `digests` on `web`, made `age` seconds ago.
fn token(address: &str, digests: &[&str], age: i64) -> String {
    #[allow(clippy::disallowed_methods)] // the daemon runs on the system clock
    let now = chrono::Utc::now().timestamp();
    let pending = Pending {
        list: "web".into(),
        address: address.into(),
        name: None,
        digests: digests.iter().map(|d| d.to_string()).collect(),
        issued: now - age,
        replaces: None,
    };
    pending.seal(&Keys::parse(TEST_KEYS).unwrap())
}

pub(crate) fn subscribe(addr: &str, body: &str) -> (String, String) {
    status_and_body(&http_post(addr, "/subscribe", FORM, body))
}

#[test]
fn signup_answers_alike_for_new_pending_and_subscribed_and_only_a_post_confirms() {
    // Without these, the form would tell strangers who subscribes, and link scanners (which GET
    // every URL in a mail) would confirm sign-ups nobody asked for.
    let Some(server) = smtp() else { return };
    let p = project(&server, "");
    let daemon = Daemon::start(&p, &[], "digest=info");
    let addr = daemon.addr().to_string();

    let (status, form) = status_and_body(&http_get(&addr, "/subscribe"));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        form.contains("name=\"email\"") && form.contains("value=\"d\" checked"),
        "{form}"
    );
    assert!(form.contains("Weekly Systems (weekly)") && !form.contains("value=\"e\" checked"));

    let new = subscribe(&addr, "email=ann%40x.example&name=Ann&digest=d");
    assert_eq!(new.0, "HTTP/1.1 200 OK");
    assert!(new.1.contains("Check your inbox"), "{}", new.1);
    let mails = wait_mails(&server, 1);
    assert_eq!(mails.len(), 1, "one confirmation mail");
    assert_eq!(mails[0]["rcpt"][0], "ann@x.example");
    let confirm = link(&text(&mails[0]), "/confirm/");

    // A scanner's GET shows the button and stores nothing.
    let (status, landing) = status_and_body(&http_get(&addr, &confirm));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(landing.contains("<form method=\"post\">") && landing.contains("Yes, send"));
    assert!(
        Store::open(&p.path("digest.db"))
            .unwrap()
            .members(None)
            .unwrap()
            .is_empty()
    );

    // Pending: the same answer.
    let pending = subscribe(&addr, "email=ann%40x.example&name=Ann&digest=d");
    assert_eq!(pending, new);

    let (status, done) = status_and_body(&http_post(&addr, &confirm, FORM, ""));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(done.contains("You are subscribed"), "{done}");
    let members = Store::open(&p.path("digest.db"))
        .unwrap()
        .members(None)
        .unwrap();
    assert_eq!(members.len(), 1);
    let m = &members[0];
    assert_eq!(
        (m.address.as_str(), m.digests.as_slice()),
        ("ann@x.example", &["d".to_string()][..])
    );
    assert_eq!(
        m.consent.ip.as_deref(),
        Some("127.0.0.0/24"),
        "only the network is kept"
    );
    assert!(m.consent.text.contains("Yes, send") && m.consent.form == "subscribe");

    // Subscribed: the same answer again.
    assert_eq!(
        subscribe(&addr, "email=ann%40x.example&name=Ann&digest=d"),
        new
    );

    // Replayed: nothing changes.
    let (_, replay) = status_and_body(&http_post(&addr, &confirm, FORM, ""));
    assert!(replay.contains("Already confirmed"), "{replay}");

    // Tampered and expired tokens: the same refusal, nothing stored.
    let old = token("old@x.example", &["d"], CONFIRM_TTL + 60);
    let expired = status_and_body(&http_post(&addr, &format!("/confirm/{}", old), FORM, ""));
    let mut t = confirm.clone();
    t.pop();
    t.push(if confirm.ends_with('A') { 'B' } else { 'A' });
    let tampered = status_and_body(&http_post(&addr, &t, FORM, ""));
    assert_eq!(expired, tampered);
    assert!(expired.0.contains("400") && expired.1.contains("This link does not work"));
    assert_eq!(
        Store::open(&p.path("digest.db"))
            .unwrap()
            .members(None)
            .unwrap()
            .len(),
        1
    );

    // Bad input gets the form again with the reason, no mail.
    let (status, bad) = subscribe(&addr, "email=not-an-address&digest=d");
    assert!(
        status.contains("400") && bad.contains("not an email address"),
        "{bad}"
    );
    let (_, none) = subscribe(&addr, "email=bob%40x.example");
    assert!(none.contains("Choose at least one digest"));
    // The honeypot: the usual answer, no mail.
    let (_, trap) = subscribe(&addr, "email=bot%40x.example&digest=d&website=spam");
    assert!(trap.contains("Check your inbox"));
    std::thread::sleep(Duration::from_millis(500));
    let rcpts = server.recipients();
    assert!(
        !rcpts
            .iter()
            .any(|r| r.starts_with("bot@") || r.starts_with("bob@")),
        "{rcpts:?}"
    );
}

#[test]
fn a_confirmed_reader_gets_the_chosen_digests_manages_them_and_leaves() {
    // Without the audience join a confirmed reader would never get a digest; without the
    // choices, they would get every digest; after leaving, they must get none.
    let Some(server) = smtp() else { return };
    let p = project(&server, "welcome = true");
    p.ok(&["build", "d", "--period", "2024-07"]);
    p.ok(&["build", "e", "--period", "2024-W28"]);
    let daemon = Daemon::start(&p, &[], "digest=info");
    let addr = daemon.addr().to_string();
    subscribe(&addr, "email=cat%40x.example&digest=e");
    let confirm = link(&text(&wait_mails(&server, 1)[0]), "/confirm/");
    http_post(&addr, &confirm, FORM, "");
    let welcome = wait_mails(&server, 2);
    assert_eq!(welcome.len(), 2, "a welcome mail");
    let manage = link(&text(&welcome[1]), "/manage/");

    p.ok(&["send", "d", "--period", "2024-07", "--yes"]);
    p.ok(&["send", "e", "--period", "2024-W28", "--yes"]);
    let digests: Vec<String> = wait_mails(&server, 3)[2..]
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(digests.len(), 1, "only the digest chosen: {digests:?}");
    assert!(digests[0].contains("Weekly Systems"), "{digests:?}");
    let sent = server.accepted();
    let body = text(&sent[2]);
    assert!(body.contains("Manage your subscription:"), "{body}");
    assert_eq!(
        link(&body, "/manage/"),
        manage,
        "the same page as the welcome mail's"
    );

    // Choose `d` too on the subscription page.
    let (status, page) = status_and_body(&http_get(&addr, &manage));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(page.contains("value=\"e\" checked") && !page.contains("value=\"d\" checked"));
    let (_, saved) = status_and_body(&http_post(
        &addr,
        &manage,
        FORM,
        "action=choose&digest=d&digest=e&pause_weeks=0",
    ));
    assert!(
        saved.contains("Your choices are saved") && saved.contains("value=\"d\" checked"),
        "{saved}"
    );
    p.ok(&["build", "d", "--period", "2024-08"]);
    p.ok(&["send", "d", "--period", "2024-08", "--yes"]);
    assert_eq!(server.accepted().len(), 4, "d reaches the reader now");

    // A pause: the next issue skips the reader; without it, the reader gets it.
    let post = |path: &str, body: &str| status_and_body(&http_post(&addr, path, FORM, body)).1;
    let paused = post(&manage, "action=choose&digest=d&digest=e&pause_weeks=4");
    assert!(paused.contains("Paused until"), "{paused}");
    p.ok(&["build", "e", "--period", "2024-W29"]);
    p.ok(&["send", "e", "--period", "2024-W29", "--yes"]);
    assert_eq!(server.accepted().len(), 4, "paused");
    post(&manage, "action=choose&digest=d&digest=e&pause_weeks=0");
    p.ok(&["send", "e", "--period", "2024-W29", "--yes"]);
    assert_eq!(server.accepted().len(), 5, "the pause is over");

    // A fresh link by mail: the same answer for a reader and a stranger; a mail only to the reader.
    let known = post("/manage", "email=cat%40x.example");
    let stranger = post("/manage", "email=nobody%40x.example");
    assert_eq!(
        known.replace("cat@", "X@"),
        stranger.replace("nobody@", "X@")
    );
    let mails = settled(&server, 6);
    assert_eq!(mails, 6, "one mail, to the reader");
    assert_eq!(link(&text(&server.accepted()[5]), "/manage/"), manage);

    // A new address: confirmed there first, then the membership moves with its choices.
    let sent = post(&manage, "action=address&email=kat%40x.example");
    assert!(sent.contains("a confirmation link is on its way"), "{sent}");
    let moved = wait_mails(&server, 7);
    assert_eq!(moved[6]["rcpt"][0], "kat@x.example");
    assert_eq!(
        Store::open(&p.path("digest.db"))
            .unwrap()
            .members(None)
            .unwrap()[0]
            .address,
        "cat@x.example"
    );
    let done = post(&link(&text(&moved[6]), "/confirm/"), "");
    let members = Store::open(&p.path("digest.db"))
        .unwrap()
        .members(None)
        .unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].address.as_str(), members[0].digests.join(" ")),
        ("kat@x.example", "d e".to_string())
    );
    assert_eq!(members[0].consent.form, "manage");
    let kat = link(&done, "/manage/");

    // Leave everything: the one-click suppression, and the next send skips the reader.
    let left = post(&kat, "action=leave");
    assert!(left.contains("You are unsubscribed"), "{left}");
    let s = Store::open(&p.path("digest.db")).unwrap();
    let sup = s.suppressions().unwrap();
    assert_eq!(sup.len(), 1);
    assert_eq!(
        (
            sup[0].address.as_str(),
            sup[0].reason.as_str(),
            sup[0].detail.as_deref()
        ),
        ("kat@x.example", "unsubscribed", Some("manage page"))
    );
    let before = settled(&server, 8);
    p.ok(&["build", "e", "--period", "2024-W32"]);
    p.ok(&["send", "e", "--period", "2024-W32", "--yes"]);
    assert_eq!(server.accepted().len(), before, "nothing more");
}

#[test]
fn a_burst_of_posts_is_limited_per_ip_and_per_address_and_healthz_stays_up() {
    // Without limits one client could make the daemon mail anyone any number of times.
    let Some(server) = smtp() else { return };
    let p = project(
        &server,
        "per_ip_per_hour = 20\nper_address_per_day = 3\nmails_per_hour = 40",
    );
    let daemon = Daemon::start(&p, &[], "digest=info");
    let addr = daemon.addr().to_string();
    let burst = |bodies: Vec<String>| -> Vec<String> {
        let chunks: Vec<Vec<String>> = bodies.chunks(125).map(|c| c.to_vec()).collect();
        let threads: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    chunk
                        .iter()
                        .map(|b| subscribe(&addr, b).0)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let (status, health) = status_and_body(&http_get(&addr, "/healthz"));
        assert_eq!(
            status, "HTTP/1.1 200 OK",
            "healthz during the burst: {health}"
        );
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    };
    let statuses = burst(
        (0..1000)
            .map(|i| format!("email=r{}%40x.example&digest=d", i % 10))
            .collect(),
    );
    let ok = statuses.iter().filter(|s| s.contains("200")).count();
    let limited = statuses.iter().filter(|s| s.contains("429")).count();
    assert_eq!((ok, limited), (20, 980), "20 per IP per hour");
    let mails = settled(&server, 20);
    assert!(mails <= 20, "{mails}");
    drop(daemon);

    // Many addresses (the IP limit lifted): 3 mails per address, 40 in all.
    let p = project(
        &server,
        "per_ip_per_hour = 100000\nper_address_per_day = 3\nmails_per_hour = 40",
    );
    let daemon = Daemon::start(&p, &[], "digest=info");
    let before = server.accepted().len();
    let addr2 = daemon.addr().to_string();
    let statuses: Vec<String> = {
        let addr = addr2.clone();
        let bodies: Vec<String> = (0..1000)
            .map(|i| format!("email=m{}%40y.example&digest=d", i % 5))
            .collect();
        let (status, _) = status_and_body(&http_get(&addr, "/healthz"));
        assert_eq!(status, "HTTP/1.1 200 OK");
        bodies.iter().map(|b| subscribe(&addr, b).0).collect()
    };
    assert!(
        statuses.iter().all(|s| s.contains("200")),
        "the same answer for all"
    );
    let (status, _) = status_and_body(&http_get(&addr2, "/healthz"));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        settled(&server, before + 15) - before,
        15,
        "3 per address for 5 addresses"
    );
    for i in 0..200 {
        subscribe(&addr2, &format!("email=w{i}%40z.example&digest=d"));
    }
    assert_eq!(
        settled(&server, before + 40) - before,
        40,
        "40 sign-up mails per hour in all"
    );
}

/// How many messages `server` accepted once `n` arrived (or 20 s passed) and a second more went
/// by: a limit that lets too many through shows as more than `n`.
pub(crate) fn settled(server: &Server, n: usize) -> usize {
    wait_mails(server, n);
    std::thread::sleep(Duration::from_secs(1));
    server.accepted().len()
}

#[test]
fn subscribers_export_import_and_forget_keep_a_forgotten_reader_out_of_old_lists() {
    // Without the hashed suppression an old CSV file would mail a forgotten reader again.
    let Some(server) = smtp() else { return };
    let p = project(&server, "");
    p.write(
        "members.csv",
        "email,name,digests,consent_at,consent_text\nann@x.example,Ann,d e,2026-01-02T03:04:05Z,ticked the box\nbad,,,,\nbob@x.example,,,,\n",
    );
    let out = p.ok(&["subscribers", "import", "members.csv", "--list", "web"]);
    assert!(
        out.stdout
            .contains("imported 2 member(s) into web; 1 row(s) skipped"),
        "{}",
        out.all()
    );
    assert!(
        out.stderr.contains("members.csv:3: skipped"),
        "{}",
        out.stderr
    );
    let list = p.ok(&["subscribers", "list"]).stdout;
    assert!(
        list.contains("ann@x.example\tweb\td e\tactive\tsince 2026-01-02"),
        "{list}"
    );
    assert!(
        list.contains("bob@x.example\tweb\td\t"),
        "default digests: {list}"
    );
    let csv = p.ok(&["subscribers", "export", "--list", "web"]).stdout;
    assert!(csv.starts_with("list,email,name,digests,paused_until,consent_at,consent_form,consent_text,consent_digests,consent_ip\n"), "{csv}");
    assert!(
        csv.contains("web,ann@x.example,Ann,d e,,2026-01-02T03:04:05Z,import,ticked the box,d e,"),
        "{csv}"
    );

    let forgot = p.ok(&["subscribers", "forget", "Ann@X.example"]).stdout;
    assert!(
        forgot.contains("forgot ann@x.example: 1 membership(s)"),
        "{forgot}"
    );
    assert!(!p.ok(&["subscribers", "export"]).stdout.contains("ann@"));
    let suppressions = p.ok(&["suppress", "list"]).stdout;
    assert!(
        suppressions.contains("sha256:") && !suppressions.contains("ann@"),
        "{suppressions}"
    );

    // An old CSV list with Ann: she is suppressed, Bob (a member) is mailed.
    let cfg = p.read("config/digest.toml").replace(
        "[lists.web]\nsignup = true",
        "[lists.web]\nsignup = true\nfile = \"old.csv\"",
    );
    p.write("config/digest.toml", &cfg);
    p.write("old.csv", "email\nann@x.example\ncarl@x.example\n");
    p.ok(&["build", "d", "--period", "2024-07"]);
    p.ok(&["send", "d", "--period", "2024-07", "--yes"]);
    assert_eq!(server.recipients(), vec!["bob@x.example", "carl@x.example"]);
    assert_eq!(p.fails(&["subscribers", "list", "--list", "nope"]).code, 1);
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_crash_inside_the_confirmation_loses_no_reader_and_leaves_no_half_member() {
    // Without one transaction a kill between the member row and the used-token row would leave
    // a member the reader was never told about, or a used link with no member.
    let Some(server) = smtp() else { return };
    let p = project(&server, "");
    let mut daemon = Daemon::start_with_env(
        &p,
        &[],
        "digest=info",
        &[("DIGEST_FAULT", "signup-confirm:1")],
    );
    let addr = daemon.addr().to_string();
    subscribe(&addr, "email=dan%40x.example&digest=d");
    let confirm = link(&text(&wait_mails(&server, 1)[0]), "/confirm/");
    let crashed = std::panic::catch_unwind(|| http_post(&addr, &confirm, FORM, ""));
    assert!(
        crashed.map_or(true, |r| !r.contains("You are subscribed")),
        "no answer from a crashed daemon"
    );
    daemon.wait_for("fault injected at signup-confirm:1");
    let (code, _) = daemon.wait();
    assert_ne!(code, 0);
    let store = Store::open(&p.path("digest.db")).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    assert!(store.members(None).unwrap().is_empty(), "no half member");
    drop(store);
    // The reader presses the button again: confirmed now.
    let daemon = Daemon::start(&p, &[], "digest=info");
    let (_, done) = status_and_body(&http_post(daemon.addr(), &confirm, FORM, ""));
    assert!(done.contains("You are subscribed"), "{done}");
    assert_eq!(
        Store::open(&p.path("digest.db"))
            .unwrap()
            .members(None)
            .unwrap()
            .len(),
        1
    );
}

/// Runs `tests/node/<script>` with `args`; the JSON it prints.
pub(crate) fn node(script: &str, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new("node")
        .arg(crate::common::repo().join("tests/node").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_reader_signs_up_chooses_and_leaves_in_a_real_browser_and_axe_finds_nothing() {
    // The whole path a reader takes, in Chromium: without it a page could work over raw HTTP
    // and still fail in a browser (a label, a button, keyboard submission), or fail axe-core.
    use crate::maildev::{browser, chrono_stamp, free_port, maildev, messages};
    let Some((smtp, web)) = maildev() else { return };
    if !browser() {
        return;
    }
    let port = free_port();
    let daemon_url = format!("http://127.0.0.1:{port}");
    let domain = format!(
        "signup-{}-{}.example.net",
        std::process::id(),
        chrono_stamp()
    );
    let smtp_port = smtp.rsplit(':').next().unwrap();
    let rest = format!("[web]\nlisten = \"127.0.0.1:{port}\"\n");
    let p =
        Project::new(&toml(smtp_port, "", &rest).replace("https://news.example.org", &daemon_url));
    picks(&p, &["2024-07-10T00:00:00Z", "2024-07-16T00:00:00Z"]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    p.ok(&["build", "e", "--period", "2024-W28"]);
    let _daemon = Daemon::start(&p, &[], "digest=info");
    let reader = format!("reader@{domain}");
    let node = |args: &[&str]| node("signup.mjs", args);
    let shots = std::env::var("DIGEST_SIGNUP_SCREENSHOTS").unwrap_or_default();
    let mut args = vec!["subscribe", &daemon_url, &web, &reader, &daemon_url];
    if !shots.is_empty() {
        args.push(&shots);
    }
    let done = node(&args);
    let violations = done["violations"].as_object().unwrap();
    assert_eq!(violations.len(), 6, "every page checked: {violations:?}");
    for (page, v) in violations {
        assert_eq!(v.as_array().unwrap().len(), 0, "axe on {page}: {v:#}");
    }

    p.ok(&["send", "d", "--period", "2024-07", "--yes"]);
    p.ok(&["send", "e", "--period", "2024-W28", "--yes"]);
    let subjects = |web: &str| -> Vec<String> {
        let mut s: Vec<String> = messages(web, &domain)
            .iter()
            .map(|m| m["subject"].as_str().unwrap_or_default().to_string())
            .collect();
        s.sort();
        s
    };
    let got = subjects(&web);
    assert_eq!(got.len(), 2, "the confirmation and one digest: {got:?}");
    assert!(
        got.iter().any(|s| s.starts_with("Best of Weekly Systems")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|s| s.starts_with("Confirm your subscription")),
        "{got:?}"
    );

    let left = node(&["leave", done["manage"].as_str().unwrap()]);
    let v = &left["violations"]["left"];
    assert_eq!(
        v.as_array().unwrap().len(),
        0,
        "axe on the last page: {v:#}"
    );
    p.ok(&["build", "e", "--period", "2024-W29"]);
    p.ok(&["send", "e", "--period", "2024-W29", "--yes"]);
    assert_eq!(subjects(&web).len(), 2, "nothing after leaving");
}

#[test]
fn the_signup_pages_pass_the_html_validator() {
    // Without it a page could ship invalid markup (a label pointing nowhere, a stray element)
    // that some browsers or screen readers mishandle.
    let jar = crate::common::repo().join("tests/node/node_modules/vnu-jar/build/dist/vnu.jar");
    let java = std::process::Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !jar.is_file() || !java {
        crate::smtp::unavailable("java with npm vnu-jar (tests/node)");
        return;
    }
    let Some(server) = smtp() else { return };
    let p = project(&server, "pow_bits = 4");
    let daemon = Daemon::start(&p, &[], "digest=info");
    let addr = daemon.addr().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut pages = vec![("subscribe", http_get(&addr, "/subscribe"))];
    pages.push((
        "refused",
        http_post(&addr, "/subscribe", FORM, "email=x&digest=d"),
    ));
    pages.push(("invalid", http_get(&addr, "/confirm/nonsense")));
    pages.push(("fresh", http_get(&addr, "/manage")));
    pages.push((
        "fresh-sent",
        http_post(&addr, "/manage", FORM, "email=z%40x.example"),
    ));
    let confirm = format!("/confirm/{}", token("vee@x.example", &["d", "e"], 0));
    pages.push(("landing", http_get(&addr, &confirm)));
    let done = http_post(&addr, &confirm, FORM, "");
    let manage = link(&status_and_body(&done).1.replace("&amp;", "&"), "/manage/");
    pages.push(("confirmed", done));
    pages.push(("manage", http_get(&addr, &manage)));
    let mut files = Vec::new();
    for (name, response) in &pages {
        let (status, body) = status_and_body(response);
        assert!(
            body.starts_with("<!DOCTYPE html>"),
            "{name}: {status}\n{body}"
        );
        let file = dir.path().join(format!("{name}.html"));
        std::fs::write(&file, body).unwrap();
        files.push(file);
    }
    let out = std::process::Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--format", "json", "--stdout", "--exit-zero-always"])
        .args(&files)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages = report["messages"].as_array().unwrap();
    assert!(messages.is_empty(), "{messages:#?}");
}

#[test]
fn check_names_a_default_digest_that_does_not_go_to_the_list() {
    // Without the check a misspelt default would silently leave the form with nothing ticked.
    let p = Project::new(&toml("25", "default_digests = [\"d\", \"nope\"]", ""));
    let out = p.fails(&["check"]);
    assert!(
        out.all()
            .contains("lists.web.default_digests: no digest `nope` goes to this list"),
        "{}",
        out.all()
    );
    let p = Project::new(&toml("25", "default_digests = [\"e\"]", ""));
    p.ok(&["check"]);
}

// Mail sent outside an issue's send went out unsigned, so with DKIM configured the confirmation
// mail (the one a new reader must open) failed the receivers' checks the digest itself passes.
#[test]
fn the_confirmation_mail_is_dkim_signed_like_the_digest() {
    let Some(server) = smtp() else { return };
    if !crate::dkim::have_dkimpy() {
        return;
    }
    let p = project(&server, "");
    let config = p.read("config/digest.toml");
    p.write(
        "config/digest.toml",
        &format!("{config}\n[dkim]\ndomain = \"news.example.org\"\nselector = \"s1\"\n"),
    );
    let (key, _, public) = crate::dkim::rsa_key();
    let daemon = Daemon::start_with_env(&p, &[], "digest=info", &[("DIGEST__DKIM__KEY", &key)]);
    let addr = daemon.addr().to_string();

    let (status, _) = subscribe(&addr, "email=ann%40x.example&digest=d");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let mails = wait_mails(&server, 1);
    assert_eq!(mails.len(), 1, "one confirmation mail");
    let eml = p.path("confirmation.eml");
    std::fs::write(&eml, mails[0]["content"].as_str().unwrap()).unwrap();
    let result = crate::dkim::verify(&eml, &[format!("s1:rsa:{public}")]);
    assert_eq!(result["verified"], true, "{result:#}");
}
