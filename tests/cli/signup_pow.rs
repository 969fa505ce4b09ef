//! The proof-of-work option of the sign-up form in a real browser (Chromium driven by
//! `tests/node/signup-pow.mjs`): the page's script solves the challenge and the confirmation mail
//! goes out; with JavaScript off the form says it needs it, and the post is refused; over raw HTTP
//! a post without a valid solution mails nothing. And with the option off, the form works without
//! JavaScript.

use digest::model::token::Keys;
use sha2::{Digest as _, Sha256};

use crate::common::Daemon;
use crate::maildev::browser;
use crate::serve::http_get;
use crate::signup::{FORM, project, settled, smtp, subscribe, wait_mails};
use crate::unsubscribe::status_and_body;

/// Leading zero bits of SHA-256(`challenge:nonce`), computed here independently of the daemon.
fn zero_bits(challenge: &str, nonce: &str) -> u32 {
    let hash = Sha256::digest(format!("{challenge}:{nonce}").as_bytes());
    let mut bits = 0;
    for b in hash {
        bits += b.leading_zeros();
        if b != 0 {
            break;
        }
    }
    bits
}

/// The first decimal nonce that solves (`solves`) or does not solve `challenge` at `bits`.
fn nonce(challenge: &str, bits: u32, solves: bool) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| (zero_bits(challenge, n) >= bits) == solves)
        .unwrap()
}

/// Runs the browser script against `daemon`; its JSON.
fn chromium(daemon: &str, with_js: &str, without_js: &str) -> serde_json::Value {
    crate::signup::node("signup-pow.mjs", &[daemon, with_js, without_js])
}

/// The value of the form field `name` in a form-urlencoded body.
fn posted(body: &serde_json::Value, name: &str) -> String {
    url::form_urlencoded::parse(body.as_str().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

const BITS: u32 = 12;

#[test]
fn with_proof_of_work_the_browser_solves_the_challenge_and_only_a_solved_post_is_mailed() {
    // Without it the challenge could be one no browser solves (no reader could join), or one the
    // server does not enforce (bots would post freely); and a reader without JavaScript would
    // get a form that fails with no word of why.
    let Some(server) = smtp() else { return };
    if !browser() {
        return;
    }
    let p = project(&server, &format!("pow_bits = {BITS}"));
    let daemon = Daemon::start(&p, &[], "digest=info");
    let addr = daemon.addr().to_string();
    let got = chromium(&format!("http://{addr}"), "js@x.example", "nojs@x.example");

    let js = &got["js"];
    assert_eq!(js["status"], 200, "{js:#}");
    assert!(js["text"].as_str().unwrap().contains("Check your inbox"));
    assert_eq!(js["notice"], false, "no JavaScript notice when it runs");
    assert_eq!(js["violations"], serde_json::json!([]), "axe: {js:#}");
    let (challenge, solution) = (
        posted(&js["posted"], "pow_challenge"),
        posted(&js["posted"], "pow_nonce"),
    );
    assert!(
        zero_bits(&challenge, &solution) >= BITS,
        "the browser's nonce {solution:?} solves {challenge:?}"
    );
    let mails = wait_mails(&server, 1);
    assert_eq!(mails[0]["rcpt"][0], "js@x.example");

    let nojs = &got["nojs"];
    assert_eq!(nojs["notice"], true, "the form says it needs JavaScript");
    assert_eq!(nojs["status"], 400, "{nojs:#}");
    let text = nojs["text"].as_str().unwrap();
    assert!(
        text.contains("came without its anti-bot check") && text.contains("Turn JavaScript on"),
        "{text}"
    );
    assert_eq!(posted(&nojs["posted"], "pow_nonce"), "");

    // Over raw HTTP: no solution, a wrong one, and a right one to a challenge not signed here.
    let (_, form) = status_and_body(&http_get(&addr, "/subscribe"));
    let (_, rest) = form.split_once("name=\"pow_challenge\" value=\"").unwrap();
    let fresh = &rest[..rest.find('"').unwrap()];
    assert!(fresh.len() > 20, "{fresh:?}");
    #[allow(clippy::disallowed_methods)] // the daemon runs on the system clock
    let forged = digest::publish::signup::pow_challenge(
        &Keys::parse("x1:another-secret-another-secret-another-0001").unwrap(),
        chrono::Utc::now(),
    );
    for (challenge, nonce) in [
        (String::new(), String::new()),
        (fresh.to_string(), nonce(fresh, BITS, false)),
        (forged.clone(), nonce(&forged, BITS, true)),
    ] {
        let body =
            format!("email=raw%40x.example&digest=d&pow_challenge={challenge}&pow_nonce={nonce}");
        let (status, page) = subscribe(&addr, &body);
        assert_eq!(status, "HTTP/1.1 400 Bad Request", "{challenge}:{nonce}");
        assert!(page.contains("anti-bot check"), "{page}");
    }
    let (status, _) = status_and_body(&crate::unsubscribe::http_post(
        &addr,
        "/subscribe",
        FORM,
        &format!(
            "email=solved%40x.example&digest=d&pow_challenge={fresh}&pow_nonce={}",
            nonce(fresh, BITS, true)
        ),
    ));
    assert_eq!(status, "HTTP/1.1 200 OK", "a solution found here works too");
    assert_eq!(settled(&server, 2), 2, "mail for js@ and solved@ only");
    let to: Vec<String> = server.recipients();
    assert!(
        !to.iter()
            .any(|a| a.starts_with("nojs@") || a.starts_with("raw@")),
        "{to:?}"
    );
}

#[test]
fn without_proof_of_work_the_form_works_with_javascript_off() {
    // The pages are promised to work without JavaScript; a script-only form would lock those
    // readers out.
    let Some(server) = smtp() else { return };
    if !browser() {
        return;
    }
    let p = project(&server, "");
    let daemon = Daemon::start(&p, &[], "digest=info");
    let got = chromium(
        &format!("http://{}", daemon.addr()),
        "js@x.example",
        "nojs@x.example",
    );
    for run in ["js", "nojs"] {
        let r = &got[run];
        assert_eq!(r["status"], 200, "{run}: {r:#}");
        assert!(r["text"].as_str().unwrap().contains("Check your inbox"));
        assert_eq!(r["notice"], false, "{run}: no JavaScript notice");
    }
    assert_eq!(settled(&server, 2), 2);
    let mut to = server.recipients();
    to.sort();
    assert_eq!(to, ["js@x.example", "nojs@x.example"]);
}
