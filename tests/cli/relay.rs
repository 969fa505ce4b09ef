//! Sending through a relay (README "Sending through a relay"): `digest send` hands an issue to a
//! real Postfix with its own queue (`tests/cli/postfix.rs`), which forwards it to `smtp-sink`.

use std::collections::{HashMap, HashSet};

use digest::model::IssueKey;
use digest::period::{Period, PeriodKind};
use digest::store::Store;

use crate::common::{Project, assert_contains, output};
use crate::inbox::{rsa_key, script_json};
use crate::postfix::{Postfix, Sink, free_port};
use crate::smtp::{mail_project, members};

/// Readers of the relay test: a few hundred, as a small list's send.
const READERS: usize = 300;

/// The DKIM signing domain and selector.
const DOMAIN: &str = "news.example.org";
const SELECTOR: &str = "relay";

/// The ledger's counts for `d`'s July 2024 issue.
fn july_counts(p: &Project) -> digest::store::Counts {
    let store = Store::open(&p.path("digest.db")).unwrap();
    let july = Period::parse_as(PeriodKind::Monthly, "2024-07").unwrap();
    store.counts(&IssueKey::new("d", july)).unwrap()
}

#[test]
fn every_message_handed_to_a_postfix_relay_reaches_the_final_hop_exactly_once() {
    // Would fail if a 250 from the relay were not recorded as sent, if the relay's own retries
    // (the final hop is down during the send) lost or doubled a message, or if digest sent again
    // what the relay had taken.
    let final_hop = free_port();
    let Some(down) = Sink::down_on(final_hop) else {
        return;
    };
    let Some(postfix) = Postfix::builder()
        .relay("mail.example.net", final_hop)
        .start()
    else {
        return;
    };
    let readers: Vec<String> = (0..READERS)
        .map(|i| format!("reader{i:03}@mail.example.net"))
        .collect();
    let p = mail_project(postfix.port, "concurrency = 4\n", &members(&readers));
    p.write(
        "config/local.toml",
        &format!(
            "[mail]\nreturn_path = \"bounces@news.example.org\"\n\n\
             [dkim]\ndomain = \"{DOMAIN}\"\nselector = \"{SELECTOR}\"\n"
        ),
    );
    let (private_key, public_key) = rsa_key();
    let send = || {
        let mut command = p.command(&["send", "d", "--period", "2024-07", "--yes"]);
        let out = output(command.env("DIGEST__DKIM__KEY", &private_key));
        assert_eq!(out.code, 0, "{}", out.all());
        out
    };

    // The final hop is down: the relay takes every message into its queue all the same.
    let out = send();
    assert_contains(
        &out.stdout,
        &[&format!(
            "{READERS} sent, 0 failed, 0 deferred, 0 suppressed"
        )],
    );
    let counts = july_counts(&p);
    assert_eq!(
        (counts.sent, counts.total()),
        (READERS as u64, READERS as u64)
    );
    // Postfix has tried the final hop and kept the messages.
    postfix.wait_for_log("refused to talk to me: 450 4.3.0");
    assert_eq!(postfix.queued(), READERS, "{}", postfix.log());

    // The final hop comes up; the relay delivers its queue.
    drop(down);
    let Some(sink) = Sink::start_on(final_hop) else {
        return;
    };
    postfix.wait_until_idle();
    let dumps = sink.messages();
    let mut arrivals: HashMap<&str, usize> = HashMap::new();
    let mut ids = HashSet::new();
    for dump in &dumps {
        assert_eq!(dump.rcpts.len(), 1, "one recipient per message: {dump:?}");
        let to = dump.rcpts[0].as_str();
        *arrivals.entry(to).or_default() += 1;
        assert_eq!(dump.mail_from, "bounces@news.example.org");
        assert_eq!(dump.header("To").as_deref(), Some(to), "{dump:?}");
        let id = dump.header("Message-ID").expect("a Message-ID");
        assert!(ids.insert(id.clone()), "Message-ID {id} twice");
        assert!(
            dump.message
                .contains("by relay.digest-test.example (Postfix)"),
            "{}",
            dump.message
        );
    }
    let expected: HashMap<&str, usize> = readers.iter().map(|r| (r.as_str(), 1)).collect();
    assert_eq!(arrivals, expected, "every reader's message arrived once");
    // The relay passed the messages on unchanged: digest's DKIM signature still verifies.
    for dump in dumps.iter().take(3) {
        let eml = p.path("arrived.eml");
        std::fs::write(&eml, &dump.message).unwrap();
        let key = format!("{SELECTOR}:rsa:{public_key}");
        let args = [eml.as_os_str(), DOMAIN.as_ref(), key.as_ref()];
        let result = script_json("python3", "tests/checks/dkim_verify.py", args);
        assert_eq!(result["verified"], true, "{result:#}\n{}", dump.message);
    }

    // A second run sends nothing: the relay's 250 was final.
    let again = send();
    assert_contains(&again.stdout, &["nothing to send"]);
    postfix.wait_until_idle();
    assert_eq!(sink.messages().len(), READERS);
    assert_eq!(july_counts(&p).sent, READERS as u64);
}
