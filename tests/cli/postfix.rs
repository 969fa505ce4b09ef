//! A private, real Postfix on loopback and Postfix's `smtp-sink` as the final hop, for the tests
//! that send through a relay (`tests/cli/relay.rs`) and read its bounces back (`tests/cli/dsn.rs`).
//!
//! Each [`Postfix`] is its own instance (`postfix -c DIR start`, no `postmulti`): configuration,
//! queue, data and log in a temporary directory, listeners on free loopback ports, no DNS (mail
//! leaves only through the `transport_maps` routes the test gives; everything else is refused by
//! the `error` transport), retries within seconds, stopped when dropped. The system's own
//! Postfix (`/etc/postfix`, its queue, port 25) is neither read nor started. Starting an instance
//! needs root (Postfix's master runs its daemons as `postfix`); without root, `postfix` or
//! `smtp-sink` a test is skipped, unless `CI=true`, where it fails.
//!
//! Local deliveries (aliases: a pipe to a command, a Maildir) run as [`DELIVERY_USER`], the
//! owner of the alias file, as a production Postfix runs them as the owner of a non-root alias
//! file: what they read or write must belong to that user ([`give_to_delivery_user`]).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::smtp::unavailable;

/// The user local deliveries (alias pipes and Maildirs) run as, and `smtp-sink` drops to.
pub const DELIVERY_USER: &str = "nobody";

/// How long a test waits for Postfix to empty its queue before calling it stuck (a guard against
/// hanging tests, far above the few seconds a test's mail takes).
const STUCK: Duration = Duration::from_secs(90);

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whether something listens on 127.0.0.1:`port`.
fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Waits until `ready` holds, up to `limit`; whether it did.
fn wait(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Whether this process runs as root (what a private Postfix instance needs).
fn root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Hands `path` and everything under it to [`DELIVERY_USER`], so that a local delivery (an alias
/// pipe running `digest inbound --stdin`, a Maildir) can read and write it.
pub fn give_to_delivery_user(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", &format!("{DELIVERY_USER}:")])
        .arg(path)
        .status()
        .expect("chown");
    assert!(
        status.success(),
        "chown -R {DELIVERY_USER} {}",
        path.display()
    );
}

/// A running `smtp-sink` that writes each mail transaction to a file of its own.
pub struct Sink {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dumps: PathBuf,
    _dir: tempfile::TempDir,
}

/// One transaction `smtp-sink` received: its envelope and the message as it arrived.
#[derive(Debug, Clone)]
pub struct Dump {
    /// The dump file (unique per transaction).
    pub file: PathBuf,
    /// The envelope sender, without angle brackets.
    pub mail_from: String,
    /// The envelope recipients, lower-cased, without angle brackets.
    pub rcpts: Vec<String>,
    /// The message: headers and body.
    pub message: String,
}

impl Dump {
    /// The value of the message's first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.message.split("\n\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.lines() {
            let line = line.trim_end_matches('\r');
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }
}

impl Sink {
    /// Starts `smtp-sink` on a free port, or `None` (test skipped) when it cannot run here.
    pub fn start() -> Option<Sink> {
        Sink::start_on(free_port())
    }

    /// Starts `smtp-sink` on 127.0.0.1:`port`, or `None` (test skipped) when it cannot run here.
    pub fn start_on(port: u16) -> Option<Sink> {
        Sink::spawn(port, &[])
    }

    /// Starts `smtp-sink` on 127.0.0.1:`port` greeting every client with `450 4.3.0`: a final hop
    /// that is down (its port stays taken, so the real one can start there when this is dropped).
    pub fn down_on(port: u16) -> Option<Sink> {
        Sink::spawn(port, &["-r", "CONNECT"])
    }

    fn spawn(port: u16, args: &[&str]) -> Option<Sink> {
        if !root() {
            unavailable("root (smtp-sink and a private Postfix)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let dumps = dir.path().join("dumps");
        std::fs::create_dir(&dumps).unwrap();
        give_to_delivery_user(&dumps);
        let spawned = Command::new("smtp-sink")
            .args(args)
            .args(["-u", DELIVERY_USER, "-d"])
            // One file per transaction: a time prefix and a random suffix (see smtp-sink(1)).
            .arg(dumps.join("%H%M%S."))
            .arg(format!("127.0.0.1:{port}"))
            .arg("256")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let Ok(child) = spawned else {
            unavailable("smtp-sink (Debian package postfix)");
            return None;
        };
        let mut sink = Sink {
            child,
            port,
            dumps,
            _dir: dir,
        };
        let exited = |sink: &mut Sink| sink.child.try_wait().is_ok_and(|s| s.is_some());
        let up = wait(Duration::from_secs(10), || {
            listening(port) || exited(&mut sink)
        });
        // Not exited: the listener is this smtp-sink, not another process on a reused port.
        assert!(
            up && !exited(&mut sink),
            "smtp-sink did not start on port {port}"
        );
        Some(sink)
    }

    /// Every transaction received so far, in file name order. Complete once the sender has had
    /// its replies (e.g. after [`Postfix::wait_until_idle`]).
    pub fn messages(&self) -> Vec<Dump> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dumps)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.into_iter().map(parse_dump).collect()
    }
}

/// Reads a dump of `smtp-sink -d`: `X-Mail-Args:` and one `X-Rcpt-Args:` line per recipient
/// before the message.
fn parse_dump(file: PathBuf) -> Dump {
    let text = std::fs::read_to_string(&file).unwrap();
    let (mut mail_from, mut rcpts, mut at) = (String::new(), Vec::new(), 0);
    let address = |args: &str| {
        let bracketed = args.trim().trim_start_matches('<');
        bracketed
            .split('>')
            .next()
            .unwrap_or_default()
            .to_lowercase()
    };
    for line in text.split_inclusive('\n') {
        let Some((name, value)) = line.split_once(':') else {
            break;
        };
        match name {
            "X-Mail-Args" => mail_from = address(value),
            "X-Rcpt-Args" => rcpts.push(address(value)),
            "X-Client-Addr" | "X-Client-Proto" | "X-Helo-Args" => {}
            _ => break,
        }
        at += line.len();
    }
    Dump {
        file,
        mail_from,
        rcpts,
        message: text[at..].to_string(),
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a [`Postfix`] is set up; see [`Postfix::builder`].
#[derive(Default)]
pub struct Builder {
    /// `transport_maps`: domain → port on 127.0.0.1 of its next hop.
    routes: Vec<(String, u16)>,
    /// A domain whose next hop is this instance's own "MX" listener.
    rejecting: Option<Mx>,
    /// `mydestination`: domains delivered here, through the aliases.
    local: Vec<String>,
    /// Aliases: local part → target (`"|command"`, `/path/Maildir/`, an address).
    aliases: Vec<(String, String)>,
}

/// The receiving server of a domain, played by a second `smtpd` of the instance.
struct Mx {
    domain: String,
    /// The addresses it refuses at `RCPT`, with its reply.
    rejects: Vec<(String, String)>,
    /// The port on 127.0.0.1 it passes the other messages on to.
    next: u16,
}

impl Builder {
    /// Relays mail for `domain` to the SMTP server on 127.0.0.1:`port` (its final hop).
    pub fn relay(mut self, domain: &str, port: u16) -> Builder {
        self.routes.push((domain.to_string(), port));
        self
    }

    /// Relays mail for `domain` to a second `smtpd` of this instance that stands for the
    /// domain's receiving server: it refuses each of `rejects` (address, SMTP reply such as
    /// `550 5.1.1 User unknown`) at `RCPT`, so that the relay returns a DSN to the sender, and
    /// passes the others on to 127.0.0.1:`port`.
    pub fn rejecting(mut self, domain: &str, rejects: &[(&str, &str)], port: u16) -> Builder {
        let rejects = rejects
            .iter()
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .collect();
        self.rejecting = Some(Mx {
            domain: domain.to_string(),
            rejects,
            next: port,
        });
        self
    }

    /// Delivers mail for `domain` here, through `aliases` (local part, target); the deliveries
    /// run as [`DELIVERY_USER`]. Mail to any other local part of it bounces.
    pub fn local(mut self, domain: &str, aliases: &[(&str, &str)]) -> Builder {
        self.local.push(domain.to_string());
        self.aliases.extend(
            aliases
                .iter()
                .map(|(name, target)| (name.to_string(), target.to_string())),
        );
        self
    }

    /// Writes the instance's configuration and starts it; `None` (test skipped) when Postfix or
    /// root privileges are missing outside CI.
    pub fn start(self) -> Option<Postfix> {
        if !root() {
            unavailable("root (a private Postfix instance)");
            return None;
        }
        if !Path::new("/usr/sbin/postfix").exists() {
            unavailable("Postfix (Debian package postfix)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        // The postfix user reaches the queue below it; the master creates the rest.
        chmod(&root, 0o755);
        for sub in ["conf", "queue", "data", "aliases"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        let status = Command::new("chown")
            .args(["postfix:", &root.join("data").to_string_lossy()])
            .status()
            .expect("chown");
        assert!(status.success());

        let port = free_port();
        let mut master = format!("127.0.0.1:{port} inet n - n - - smtpd\n{SERVICES}");
        let mut transport = String::new();
        let mut relay_domains: Vec<String> = Vec::new();
        for (domain, next) in &self.routes {
            transport.push_str(&format!("{domain} smtp:[127.0.0.1]:{next}\n"));
            relay_domains.push(domain.clone());
        }
        if let Some(Mx {
            domain,
            rejects,
            next,
        }) = &self.rejecting
        {
            let mx = free_port();
            let table = root.join("conf/rejects");
            let lines: String = rejects.iter().map(|(a, r)| format!("{a} {r}\n")).collect();
            std::fs::write(&table, lines).unwrap();
            // Its own host name: Postfix's SMTP client refuses a server that greets with its
            // own (mail "loops back to myself").
            master.push_str(&format!(
                "127.0.0.1:{mx} inet n - n - - smtpd\n  -o myhostname=mx.{domain}\n  \
                 -o {{ smtpd_recipient_restrictions = check_recipient_access texthash:{}, permit }}\n  \
                 -o content_filter=smtp:[127.0.0.1]:{next}\n",
                table.display()
            ));
            transport.push_str(&format!("{domain} smtp:[127.0.0.1]:{mx}\n"));
            relay_domains.push(domain.clone());
        }
        std::fs::write(root.join("conf/master.cf"), master).unwrap();
        std::fs::write(root.join("conf/transport"), transport).unwrap();

        let aliases = root.join("aliases/aliases");
        let lines: String = self
            .aliases
            .iter()
            .map(|(name, target)| format!("{name}: {target}\n"))
            .collect();
        std::fs::write(&aliases, lines).unwrap();
        let d = root.display();
        // Retries within seconds. Not sooner than 2 s: qmgr takes up a deferred message whose
        // retry time is at most a second away, and one that the delivery agent that deferred it
        // still holds is then put aside for 60 s ("skipped, still being delivered").
        let main = format!(
            "compatibility_level = 3.6\n\
             queue_directory = {d}/queue\n\
             data_directory = {d}/data\n\
             maillog_file_prefixes = {d}\n\
             maillog_file = {d}/maillog\n\
             myhostname = relay.digest-test.example\n\
             mydomain = digest-test.example\n\
             myorigin = $myhostname\n\
             mydestination = {local}\n\
             inet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\n\
             mynetworks = 127.0.0.0/8\n\
             relay_domains = {relay}\n\
             transport_maps = texthash:{d}/conf/transport\n\
             default_transport = error:5.7.1 this test Postfix sends only where the test routes\n\
             relay_transport = $default_transport\n\
             alias_maps = hash:{aliases}\n\
             alias_database = hash:{aliases}\n\
             recipient_delimiter = +\n\
             smtp_host_lookup = native\n\
             smtp_dns_support_level = disabled\n\
             in_flow_delay = 0\n\
             queue_run_delay = 1s\n\
             minimal_backoff_time = 2s\n\
             maximal_backoff_time = 4s\n\
             transport_retry_time = 1s\n\
             biff = no\n",
            local = self.local.join(", "),
            relay = relay_domains.join(", "),
            aliases = aliases.display(),
        );
        std::fs::write(root.join("conf/main.cf"), main).unwrap();
        let config = root.join("conf");
        // postalias, run as root, writes the table as the owner of its source: local deliveries
        // then run as that user.
        give_to_delivery_user(&root.join("aliases"));
        run_postfix("postalias", &["-c", &config.to_string_lossy()], &aliases);

        let postfix = Postfix { dir, config, port };
        run_postfix(
            "postfix",
            &["-c", &postfix.config.to_string_lossy()],
            Path::new("start"),
        );
        assert!(
            wait(Duration::from_secs(20), || listening(port)),
            "Postfix does not listen on {port}:\n{}",
            postfix.log()
        );
        Some(postfix)
    }
}

/// The services of the instance's `master.cf` besides its listeners: Debian's defaults, without
/// chroot (the queue has no copy of /etc), without `pickup` (nothing is submitted by `sendmail`),
/// TLS and the other transports; `postlog` writes `maillog_file`.
const SERVICES: &str = "\
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
";

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs a Postfix command with `args` and a last argument, failing the test with its output.
fn run_postfix(command: &str, args: &[&str], last: &Path) {
    // Output to a file, not a pipe: the master daemon it starts would hold a pipe open.
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new(format!("/usr/sbin/{command}"))
        .args(args)
        .arg(last)
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(out.reopen().unwrap())
        .status()
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    assert!(
        status.success(),
        "{command} {args:?} {} failed:\n{}",
        last.display(),
        std::fs::read_to_string(out.path()).unwrap_or_default()
    );
}

/// A running private Postfix instance; stopped when dropped.
pub struct Postfix {
    dir: tempfile::TempDir,
    config: PathBuf,
    /// The port of its SMTP listener on 127.0.0.1 (relaying for 127.0.0.0/8, no login).
    pub port: u16,
}

impl Postfix {
    /// A new instance's setup: no routes, no local domain.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Its log (`maillog_file`), for assertions and failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// How many messages its queue holds (incoming, active, deferred, on hold).
    pub fn queued(&self) -> usize {
        let queue = self.dir.path().join("queue");
        let mut ids = std::collections::BTreeSet::new();
        for q in ["incoming", "active", "deferred", "hold", "maildrop"] {
            files_under(&queue.join(q), &mut ids);
        }
        ids.len()
    }

    /// Waits until its log has a line containing `text`, and returns that line; fails the test,
    /// with the log, if none comes.
    pub fn wait_for_log(&self, text: &str) -> String {
        let found = || {
            self.log()
                .lines()
                .find(|l| l.contains(text))
                .map(str::to_string)
        };
        assert!(
            wait(STUCK, || found().is_some()),
            "no log line with {text:?} after {STUCK:?}:\n{}",
            self.log()
        );
        found().unwrap()
    }

    /// Waits until the queue is empty: every message delivered, or bounced with its DSN itself
    /// delivered (Postfix queues a DSN before it removes the message it reports on). Fails the
    /// test, with the log, if that takes longer than a stuck queue would.
    pub fn wait_until_idle(&self) {
        assert!(
            wait(STUCK, || self.queued() == 0),
            "Postfix still holds {} message(s) after {STUCK:?}:\n{}",
            self.queued(),
            self.log()
        );
    }
}

/// Files in `dir` and its subfolders (Postfix hashes the deferred queue into subfolders).
/// Adds the names of the files under `dir` to `names`. A queue file keeps its name (the queue
/// ID) when Postfix moves it from one queue to another, so a message moved while the queues are
/// walked is counted once, not in both.
fn files_under(dir: &Path, names: &mut std::collections::BTreeSet<std::ffi::OsString>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            files_under(&e.path(), names);
        } else {
            names.insert(e.file_name());
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
