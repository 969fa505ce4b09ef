//! Bounces end to end through a real MTA (issue 14, README "Bounces and complaints"): `digest send`
//! hands an issue to a private Postfix (`tests/cli/postfix.rs`) whose next hop for the readers'
//! domain refuses some of them at `RCPT`; Postfix returns its DSNs to the return path, a local
//! alias that hands them to `digest inbound --stdin` (a pipe, as the README wires it) or to a
//! Maildir that `digest daemon` polls. The hard-bounced readers end up suppressed with the issue
//! recorded, and the next send skips them.

use crate::common::{Daemon, Project, WEB_ANY_PORT, article, assert_contains};
use crate::postfix::{Postfix, Sink, give_to_delivery_user};
use crate::smtp::{mail_project, members};

/// Readers the final hop takes.
const GOOD: [&str; 3] = ["ann", "bob", "cat"];

/// Readers the final hop refuses, with its reply: two addresses that do not exist (hard), one
/// refusal for policy (recorded, suppresses no one).
const REFUSED: [(&str, &str); 3] = [
    ("dan", "550 5.1.1 User unknown"),
    ("eve", "550 5.1.1 Mailbox does not exist"),
    ("fay", "550 5.7.1 Message refused by local policy"),
];

/// The environment file's line with the unsubscribe keys (VERP tokens are signed with them).
fn keys() -> String {
    format!("DIGEST__UNSUBSCRIBE__KEYS={}\n", crate::common::TEST_KEYS)
}

/// An override that makes the configuration fail to load while it holds a word.
const BROKEN: &str = "DIGEST__BOUNCES__SOFT_LIMIT";

fn address(name: &str) -> String {
    format!("{name}@mail.example.net")
}

/// How the DSNs reach digest.
#[derive(Clone, Copy, PartialEq)]
enum Route {
    /// `bounces: "|…/bin/inbound"`, a script that loads the secrets and runs `digest inbound
    /// --stdin` (as the README recommends), with VERP return paths.
    Pipe,
    /// `bounces: …/Maildir/`, polled by `digest daemon` (`[inbound] maildir`); plain return path,
    /// so bounces are matched by the returned Message-ID.
    Maildir,
}

/// Writes `bin/inbound`, the script the alias pipes each DSN to: the environment file, then
/// `digest inbound --stdin` with the configuration's path (Postfix runs it in its queue directory
/// with an environment of its own).
fn install_pipe(p: &Project) {
    let bin = p.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // Linked (or copied) into the project: the delivery user may not reach the build's folder.
    let exe = bin.join("digest");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_digest"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_digest"), &exe).unwrap();
    }
    p.write("secrets/environment", &keys());
    let script = p.path("bin/inbound");
    p.write(
        "bin/inbound",
        &format!(
            "#!/bin/sh\nset -a\n. {}\nset +a\nexec {} --config {} inbound --stdin\n",
            p.path("secrets/environment").display(),
            exe.display(),
            p.path("config").display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Sends July 2024 through Postfix, lets the DSNs come back by `route`, checks who is
/// suppressed, then sends August and checks who receives it.
fn hard_bounces_come_back_through_postfix(route: Route) {
    let Some(sink) = Sink::start() else { return };
    let readers: Vec<String> = GOOD
        .iter()
        .chain(REFUSED.iter().map(|(name, _)| name))
        .map(|name| address(name))
        .collect();
    // The relay's port is known once it runs: set in local.toml below.
    let p = mail_project(25, "", &members(&readers));
    let target = match route {
        Route::Pipe => format!("\"|{}\"", p.path("bin/inbound").display()),
        Route::Maildir => format!("{}/", p.path("Maildir").display()),
    };
    let rejects: Vec<(String, &str)> = REFUSED.iter().map(|(n, r)| (address(n), *r)).collect();
    let rejects: Vec<(&str, &str)> = rejects.iter().map(|(a, r)| (a.as_str(), *r)).collect();
    let Some(postfix) = Postfix::builder()
        .rejecting("mail.example.net", &rejects, sink.port)
        .local("news.example.org", &[("bounces", &target)])
        .start()
    else {
        return;
    };
    let inbound = match route {
        Route::Pipe => "",
        Route::Maildir => "[inbound]\nmaildir = \"Maildir\"\npoll_secs = 1\n",
    };
    p.write(
        "config/local.toml",
        &format!(
            "[smtp]\nport = {}\n\n[mail]\nreturn_path = \"bounces@news.example.org\"\nverp = {}\n\n\
             {inbound}{WEB_ANY_PORT}",
            postfix.port,
            route == Route::Pipe
        ),
    );
    // The alias's deliveries run as the delivery user: the project is theirs, as a production
    // project belongs to the user that runs digest.
    give_to_delivery_user(p.root());
    if route == Route::Pipe {
        // After the chown: the binary is a hard link to the build's, whose owner stays.
        install_pipe(&p);
        // A broken environment file at first: the configuration does not load, `digest inbound`
        // exits 75, and Postfix keeps the DSNs and tries again.
        p.write("secrets/environment", &format!("{}{BROKEN}=many\n", keys()));
    }
    let out = p.ok(&["send", "d", "--period", "2024-07", "--yes"]);
    assert_contains(&out.stdout, &["6 sent, 0 failed, 0 deferred, 0 suppressed"]);
    if route == Route::Pipe {
        let deferred = postfix.wait_for_log("status=deferred (temporary failure.");
        assert!(deferred.contains(BROKEN), "{deferred}");
        let store = digest::store::Store::open(&p.path("digest.db")).unwrap();
        assert!(store.suppressions().unwrap().is_empty());
        drop(store);
        p.write("secrets/environment", &keys());
    }
    postfix.wait_until_idle();
    let log = postfix.log();
    let delivered = match route {
        Route::Pipe => "status=sent (delivered to command:",
        Route::Maildir => "status=sent (delivered to maildir)",
    };
    assert_eq!(
        log.matches(delivered).count(),
        REFUSED.len(),
        "a DSN per refused reader, delivered:\n{log}"
    );
    if route == Route::Maildir {
        let mut daemon = Daemon::start(&p, &[], "info");
        let mut processed = 0;
        while processed < REFUSED.len() {
            let line = daemon.wait_for("inbound: ");
            let n = line.split("inbound: ").nth(1).unwrap();
            processed += n.split(' ').next().unwrap().parse::<usize>().unwrap();
        }
        daemon.signal("TERM");
        let (code, log) = daemon.wait();
        assert_eq!(code, 0, "{log}");
    }

    let store = digest::store::Store::open(&p.path("digest.db")).unwrap();
    let suppressions = store.suppressions().unwrap();
    drop(store);
    let suppressed: Vec<&str> = suppressions.iter().map(|s| s.address.as_str()).collect();
    assert_eq!(
        suppressed,
        [address("dan"), address("eve")],
        "the hard-bounced readers, not the good ones nor the one refused for policy"
    );
    let matched = match route {
        Route::Pipe => "matched by verp",
        Route::Maildir => "matched by message_id",
    };
    for s in &suppressions {
        assert_eq!((s.reason.as_str(), s.scope.as_str()), ("bounced", "*"));
        let detail = s.detail.as_deref().unwrap_or_default();
        assert_contains(
            detail,
            &[
                "d/2024-07",
                "hard",
                "5.1.1",
                matched,
                "relay.digest-test.example",
            ],
        );
    }
    let status = p.ok(&["status", "d", "--period", "2024-07"]);
    assert_contains(
        &status.stdout,
        &["2 hard bounce(s) (33.33%), 0 soft (0.00%), 1 policy"],
    );

    // The next issue skips them.
    p.catalog(&[article(
        "https://c.example/3",
        "August pick",
        "c",
        &["distributed-systems"],
        "2024-08-10T00:00:00Z",
        5,
    )]);
    p.ok(&["ingest"]);
    p.ok(&["build", "d", "--period", "2024-08"]);
    let july: Vec<_> = sink.messages().into_iter().map(|d| d.file).collect();
    let out = p.ok(&["send", "d", "--period", "2024-08", "--yes"]);
    assert_contains(&out.stdout, &["4 sent, 0 failed, 0 deferred, 2 suppressed"]);
    postfix.wait_until_idle();
    let mut august: Vec<String> = sink
        .messages()
        .into_iter()
        .filter(|d| !july.contains(&d.file))
        .flat_map(|d| d.rcpts)
        .collect();
    august.sort();
    let good: Vec<String> = GOOD.iter().map(|n| address(n)).collect();
    assert_eq!(august, good);
}

#[test]
fn dsns_piped_from_postfix_to_digest_inbound_suppress_the_hard_bounced_readers() {
    // Would fail if a real Postfix DSN (an mbox "From " line first, VERP return path) were not
    // matched to its reader, if the documented alias script could not run under Postfix's
    // delivery user, if a failure to load the configuration did not make Postfix keep the DSN
    // and retry (exit 75), or if the next issue were still sent to a dead address.
    hard_bounces_come_back_through_postfix(Route::Pipe);
}

#[test]
fn dsns_postfix_delivers_to_a_maildir_are_applied_by_the_daemons_poller() {
    // Would fail if the daemon's poller missed or misread the DSNs Postfix wrote into the
    // Maildir, or matched them to the wrong reader without VERP.
    hard_bounces_come_back_through_postfix(Route::Maildir);
}
