//! Returned mail read from a real IMAP server: Dovecot (Debian `dovecot-imapd`), started by each
//! test with its own configuration, folder, free ports and a certificate made by openssl, serving
//! a Maildir of bounces over IMAPS and STARTTLS. Without Dovecot a test is skipped, unless
//! `CI=true`, where it fails.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Daemon, Project, WEB_ANY_PORT, assert_contains};
use crate::inbound::names;
use crate::serve::get;
use crate::smtp::{certificate, unavailable};

/// The mailbox's password, given to digest through the environment only.
const PASSWORD: &str = "imap-test-password-1";

/// One running Dovecot, stopped (and waited for) on drop.
struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    /// IMAPS port on 127.0.0.1.
    imaps: u16,
    /// Plain IMAP port (STARTTLS) on 127.0.0.1.
    imap: u16,
    /// Owner of the mail files (Dovecot refuses to serve mail as root).
    owner: (u32, u32),
}

/// A port free on 127.0.0.1 now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Dovecot {
    /// Starts Dovecot with user `bounces` (password [`PASSWORD`]) whose INBOX is an empty
    /// Maildir, or `None` (test skipped) when Dovecot is not installed outside CI.
    fn start() -> Option<Dovecot> {
        Dovecot::start_with("")
    }

    /// [`Dovecot::start`] with `extra` lines of configuration.
    fn start_with(extra: &str) -> Option<Dovecot> {
        let Ok(found) = Command::new("dovecot").arg("--version").output() else {
            unavailable("dovecot (Debian dovecot-imapd)");
            return None;
        };
        assert!(found.status.success(), "dovecot --version failed");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        set_mode(root, 0o755);
        let (cert, key) = certificate(root);
        // Dovecot runs mail processes as the mail's owner and never as root: as root, the mail
        // belongs to nobody and Dovecot's own users run its login and internal processes.
        let me = std::fs::metadata(root).unwrap();
        let (owner, login, internal) = if me.uid() == 0 {
            (
                (65534, 65534),
                "dovenull".to_string(),
                "dovecot".to_string(),
            )
        } else {
            let name = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout);
            let name = name.unwrap().trim().to_string();
            ((me.uid(), me.gid()), name.clone(), name)
        };
        let (imaps, imap) = (free_port(), free_port());
        std::fs::write(
            root.join("passwd"),
            format!("bounces:{{PLAIN}}{PASSWORD}\n"),
        )
        .unwrap();
        let r = root.display();
        let conf = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = required\n\
             ssl_cert = <{cert}\nssl_key = <{key}\n\
             default_login_user = {login}\ndefault_internal_user = {internal}\n\
             first_valid_uid = 0\nauth_mechanisms = plain\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={r}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  \
             inet_listener imaps {{\n    port = {imaps}\n    ssl = yes\n  }}\n}}\n{extra}\n",
            cert = cert.display(),
            key = key.display(),
            uid = owner.0,
            gid = owner.1,
        );
        std::fs::write(root.join("dovecot.conf"), conf).unwrap();
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting dovecot");
        let d = Dovecot {
            child,
            dir,
            imaps,
            imap,
            owner,
        };
        for sub in ["cur", "new", "tmp"] {
            d.mkdir(&d.maildir().join(sub));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", imaps)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", imap)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "dovecot did not start:\n{}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(d)
    }

    /// The Maildir of `bounces`' INBOX.
    fn maildir(&self) -> PathBuf {
        self.dir.path().join("home/bounces/Maildir")
    }

    /// The CA file that trusts the server's certificate.
    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Creates `dir` (and its parents under the home) owned by the mail's owner.
    fn mkdir(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let mut at = dir;
        while at != self.dir.path() {
            std::os::unix::fs::chown(at, Some(self.owner.0), Some(self.owner.1)).unwrap();
            at = at.parent().unwrap();
        }
    }

    /// Delivers `text` into the INBOX as the file `new/name`, as an MTA does.
    fn deliver(&self, name: &str, text: impl AsRef<[u8]>) {
        let tmp = self.maildir().join("tmp").join(name);
        std::fs::write(&tmp, text).unwrap();
        std::os::unix::fs::chown(&tmp, Some(self.owner.0), Some(self.owner.1)).unwrap();
        std::fs::rename(&tmp, self.maildir().join("new").join(name)).unwrap();
    }

    /// The messages in the INBOX.
    fn inbox(&self) -> Vec<String> {
        let mut all = names(&self.maildir().join("new"));
        all.extend(names(&self.maildir().join("cur")));
        all
    }

    /// The messages in the `processed` mailbox (Maildir++ folder `.processed`).
    fn processed(&self) -> Vec<String> {
        let folder = self.maildir().join(".processed");
        let mut all = names(&folder.join("new"));
        all.extend(names(&folder.join("cur")));
        all
    }

    /// Dovecot's log.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// `[inbound]` with `[inbound.imap]` for this server: `tls` mode, `extra` lines.
    fn config(&self, tls: &str, extra: &str) -> String {
        let port = if tls == "starttls" {
            self.imap
        } else {
            self.imaps
        };
        format!(
            "\n[inbound]\npoll_secs = 1\n\n[inbound.imap]\nhost = \"127.0.0.1\"\nport = {port}\n\
             tls = \"{tls}\"\nusername = \"bounces\"\ntimeout_secs = 20\n{extra}\n"
        )
    }

    /// [`Dovecot::config`] trusting the server's certificate.
    fn trusted(&self, tls: &str) -> String {
        self.config(tls, &format!("ca_file = {:?}", self.ca_file()))
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM: the master stops its login, auth and mail processes before it exits.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `digest inbound --imap` with `password` in the environment.
fn inbound_imap(p: &Project, password: &str) -> crate::common::Output {
    crate::common::output(
        p.command(&["inbound", "--imap"])
            .env("DIGEST__INBOUND__IMAP__PASSWORD", password),
    )
}

/// A count from the store.
fn count(p: &Project, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(p.path("digest.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A plain reply, which is no bounce: kept and counted as `other`.
fn reply(n: u32) -> String {
    format!(
        "From: reader{n}@example.net\r\nTo: digest@news.example.org\r\nMessage-ID: <reply{n}@example.net>\r\n\
         Subject: Re: Best of\r\n\r\nThanks!\r\n"
    )
}

#[cfg(feature = "fault-injection")]
#[test]
fn the_daemon_applies_each_imap_message_exactly_once_across_a_crash_and_restarts() {
    // Without an IMAP source, bounces in a mailbox were never read; a crash between recording a
    // message and moving it out must not record it twice, and one before must not lose it.
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    let Some(server) = crate::smtp::Server::start(&[]) else {
        return;
    };
    let extra = format!("{WEB_ANY_PORT}{}", dovecot.trusted("implicit"));
    let (p, sent) = crate::inbound::sent_to_four_readers(&server, &extra);
    let [ann_bounce, bob_bounce, cat_complaint] = crate::inbound::came_back(&sent);
    // First delivery: Ann's hard bounce, Cat's complaint, five replies.
    dovecot.deliver("1.ann", &ann_bounce);
    dovecot.deliver("2.cat", cat_complaint);
    for n in 1..=5 {
        dovecot.deliver(&format!("3.reply{n}"), reply(n));
    }
    let env = [("DIGEST__INBOUND__IMAP__PASSWORD", PASSWORD)];

    // The first daemon dies (as by kill -9) right after recording the third message, before
    // moving it out of the INBOX.
    let mut first = Daemon::start_with_env(
        &p,
        &[],
        "info",
        &[env[0], ("DIGEST_FAULT", "inbound-committed:3")],
    );
    first.wait_for("fault injected at inbound-committed:3");
    let (code, log) = first.wait();
    assert_ne!(code, 0, "{log}");
    assert_eq!(dovecot.processed().len(), 2, "{log}");
    assert_eq!(dovecot.inbox().len(), 5, "the third is still in the INBOX");
    assert_eq!(count(&p, "SELECT COUNT(*) FROM inbound_events"), 3);

    // The next one processes the other five and recognises the third.
    let mut second = Daemon::start_with_env(&p, &[], "info", &env);
    let line = second.wait_for("inbound: ");
    assert!(
        line.contains("5 message(s) (1 already processed)"),
        "{line}"
    );
    assert!(dovecot.inbox().is_empty(), "{:?}", dovecot.inbox());
    assert_eq!(dovecot.processed().len(), 7);
    assert_eq!(
        get(&second, "/readyz"),
        ("HTTP/1.1 200 OK".into(), "ready\n".into())
    );
    second.signal("TERM");
    let (code, log) = second.wait();
    assert_eq!(code, 0, "{log}");

    // While no daemon runs: Bob's soft bounce, and Ann's bounce delivered again.
    dovecot.deliver("4.bob", bob_bounce);
    dovecot.deliver("5.ann-again", &ann_bounce);
    let mut third = Daemon::start_with_env(&p, &[], "info", &env);
    let line = third.wait_for("inbound: ");
    assert!(
        line.contains("2 message(s) (1 already processed): bounces 0 hard, 1 soft"),
        "{line}"
    );
    // New mail while it runs: only that is read.
    dovecot.deliver("6.reply6", reply(6));
    let line = third.wait_for("inbound: ");
    assert!(
        line.contains("1 message(s) (0 already processed)"),
        "{line}"
    );
    third.signal("TERM");
    assert_eq!(third.wait().0, 0);

    assert!(dovecot.inbox().is_empty());
    assert_eq!(dovecot.processed().len(), 10, "every message kept");
    // One finding per distinct message: 2 + 5 replies + Bob's + the sixth reply.
    assert_eq!(count(&p, "SELECT COUNT(*) FROM inbound_events"), 9);
    assert_eq!(
        count(&p, "SELECT COUNT(DISTINCT message_id) FROM inbound_events"),
        9
    );
    let store = digest::store::Store::open(&p.path("digest.db")).unwrap();
    let suppressions = store.suppressions().unwrap();
    let mut suppressed: Vec<(&str, &str)> = suppressions
        .iter()
        .map(|s| (s.address.as_str(), s.reason.as_str()))
        .collect();
    suppressed.sort();
    assert_eq!(
        suppressed,
        [
            ("ann@example.net", "bounced"),
            ("cat@example.net", "complained")
        ]
    );
    let status = p.ok(&["status", "d", "--period", "2024-07"]);
    assert_contains(
        &status.stdout,
        &[
            "1 hard bounce(s) (25.00%), 1 soft (25.00%), 0 policy, 1 complaint(s) (25.00%)",
            &format!(
                "inbound imaps://bounces@127.0.0.1:{}/INBOX: healthy",
                dovecot.imaps
            ),
        ],
    );
}

#[test]
fn a_wrong_imap_password_is_a_clear_error_and_the_daemon_is_not_ready() {
    // A daemon whose mailbox refused it looked healthy, and the bounces piled up unread.
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    let extra = format!("{WEB_ANY_PORT}{}", dovecot.trusted("implicit"));
    let p = Project::new(&crate::common::config("d", &extra));
    dovecot.deliver("1.reply", reply(1));

    let out = inbound_imap(&p, "not-the-password");
    assert_eq!(out.code, 1, "{}", out.all());
    let source = format!("imaps://bounces@127.0.0.1:{}/INBOX", dovecot.imaps);
    assert_contains(
        &out.stderr,
        &[
            &source,
            "login as \"bounces\" refused: the server answered NO: \
             [AUTHENTICATIONFAILED] Authentication failed.",
        ],
    );
    assert!(!out.all().contains("not-the-password"), "{}", out.all());
    assert_eq!(dovecot.inbox().len(), 1, "nothing read, nothing moved");

    let mut daemon = Daemon::start_with_env(
        &p,
        &[],
        "info",
        &[("DIGEST__INBOUND__IMAP__PASSWORD", "not-the-password")],
    );
    let line = daemon.wait_for("inbound: ");
    assert!(line.contains("refused"), "{line}");
    let (status, body) = get(&daemon, "/readyz");
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert_contains(
        &body,
        &[
            "not ready",
            &format!("inbound {source}: failing ("),
            "Authentication failed",
        ],
    );
    let (_, json) = get(&daemon, "/status");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["inbound"][0]["source"], source.as_str());
    assert!(json["inbound"][0]["consecutive_failures"].as_u64().unwrap() >= 1);
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("not-the-password"), "{log}");

    // The right password: read, and the source is healthy again.
    let out = inbound_imap(&p, PASSWORD);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_contains(
        &out.stdout,
        &[&source, "1 message(s) (0 already processed)"],
    );
    let status = p.ok(&["status", "d"]);
    assert_contains(&status.stdout, &[&format!("inbound {source}: healthy")]);
}

#[test]
fn an_imap_server_whose_certificate_is_not_trusted_is_refused_over_imaps_and_starttls() {
    // Verification must stay on: only a configured ca_file makes a private certificate trusted.
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    dovecot.deliver("1.reply", reply(1));
    for tls in ["implicit", "starttls"] {
        let p = Project::new(&crate::common::config("d", &dovecot.config(tls, "")));
        let out = inbound_imap(&p, PASSWORD);
        assert_eq!(out.code, 1, "{tls}: {}", out.all());
        assert_contains(
            &out.stderr,
            &["TLS handshake", "invalid peer certificate", "UnknownIssuer"],
        );
        // Another certificate for the same name is no better.
        let other = tempfile::tempdir().unwrap();
        let (wrong, _) = certificate(other.path());
        let extra = format!("ca_file = {wrong:?}");
        let p = Project::new(&crate::common::config("d", &dovecot.config(tls, &extra)));
        let out = inbound_imap(&p, PASSWORD);
        assert_eq!(out.code, 1, "{tls}: {}", out.all());
        assert_contains(&out.stderr, &["invalid peer certificate"]);
    }
    assert_eq!(dovecot.inbox().len(), 1, "nothing read, nothing moved");
}

#[test]
fn starttls_reads_the_mailbox_and_moves_each_message_out_on_a_server_without_move() {
    // The same mailbox over the plain port, secured by the required STARTTLS, on a server that
    // offers no MOVE: each message is copied, flagged deleted and expunged by UID instead.
    let Some(dovecot) = Dovecot::start_with("imap_capability = IMAP4rev1 LITERAL+ UIDPLUS IDLE")
    else {
        return;
    };
    let p = Project::new(&crate::common::config("d", &dovecot.trusted("starttls")));
    dovecot.deliver("1.reply", reply(1));
    dovecot.deliver("2.reply", reply(2));
    let out = inbound_imap(&p, PASSWORD);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_contains(
        &out.stdout,
        &[
            &format!("imap+starttls://bounces@127.0.0.1:{}/INBOX", dovecot.imap),
            "2 message(s) (0 already processed)",
            "2 other",
        ],
    );
    assert!(dovecot.inbox().is_empty());
    let processed = dovecot.processed();
    assert_eq!(processed.len(), 2);
    assert!(
        processed.iter().all(|n| n.ends_with(":2,S")),
        "flagged seen: {processed:?}"
    );
    // Nothing left: nothing done.
    let out = inbound_imap(&p, PASSWORD);
    assert_contains(&out.stdout, &["0 message(s)"]);
}

#[test]
fn the_whole_bounce_corpus_goes_through_imap_without_a_panic_and_every_message_is_moved() {
    // Real bounces (large, odd bytes, bare LFs) read as IMAP literals, not only small fixtures.
    let Some(root) = crate::inbound::bounces() else {
        return;
    };
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    let files = crate::inbound::messages(&root);
    for (i, file) in files.iter().enumerate() {
        dovecot.deliver(&format!("{i:05}.corpus"), std::fs::read(file).unwrap());
    }
    let p = Project::new(&crate::common::config("d", &dovecot.trusted("implicit")));
    let out = inbound_imap(&p, PASSWORD);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_contains(&out.stdout, &[&format!("{} message(s)", files.len())]);
    assert!(dovecot.inbox().is_empty());
    assert_eq!(dovecot.processed().len(), files.len());
}

#[test]
fn imap_settings_are_checked_and_the_password_is_taken_from_the_environment_only() {
    // A password written in a file would end up in backups and version control.
    let imap = "\n[inbound.imap]\nhost = \"imap.example.org\"\nusername = \"bounces\"\n";
    let p = Project::new(&crate::common::config(
        "d",
        &format!("{imap}password = \"hunter2\"\ntls = \"none\"\nprocessed = \"INBOX\"\n"),
    ));
    let out = p.fails(&["check"]);
    assert_contains(
        &out.stderr,
        &[
            "digest.toml:",
            "inbound.imap.password",
            "secrets come from the environment only: remove it here and set DIGEST__INBOUND__IMAP__PASSWORD",
            "inbound.imap.tls",
            "unknown value \"none\" (use one of: implicit, starttls)",
            "inbound.imap.processed",
            "must differ from mailbox",
        ],
    );
    assert!(!out.all().contains("hunter2"), "{}", out.all());

    let p = Project::new(&crate::common::config("d", imap));
    let out = p.fails(&["check"]);
    assert_contains(
        &out.stderr,
        &[
            "inbound.imap",
            "reading the mailbox needs its password: set the environment variable DIGEST__INBOUND__IMAP__PASSWORD",
        ],
    );
    // Other commands do not need it; reading the mailbox does, and says so.
    p.ok(&["status", "d"]);
    let out = p.fails(&["inbound", "--imap"]);
    assert_contains(
        &out.stderr,
        &[
            "imaps://bounces@imap.example.org:993/INBOX",
            "the password is missing: set DIGEST__INBOUND__IMAP__PASSWORD",
        ],
    );
    let mut check = p.command(&["check"]);
    let out = crate::common::output(check.env("DIGEST__INBOUND__IMAP__PASSWORD", "s3cret"));
    assert_eq!(out.code, 0, "{}", out.all());

    let p = Project::new(&crate::common::config("d", "\n[inbound]\npoll_secs = 5\n"));
    let out = p.fails(&["check"]);
    assert_contains(
        &out.stderr,
        &["inbound.maildir", "say where returned mail is"],
    );
    let p = Project::new(&crate::common::config("d", ""));
    let out = p.run(&["inbound", "--imap"]);
    assert_ne!(out.code, 0);
    assert_contains(&out.stderr, &["[inbound.imap]: configure one"]);
}
