//! `digest daemon` as a real process: a scheduled run, SIGTERM, restart, the single-instance lock,
//! SIGHUP reloads, JSON logs, the first start; the daemon's settings in `digest check`; and the
//! configurations `check`, the daemon's start and its reload all refuse.

use digest::period::{Period, PeriodKind};
use digest::store::{RunStatus, Store};

use crate::common::{
    Daemon, Output, Project, TEST_KEYS, WEB_ANY_PORT, assert_contains, config, last_month_pick,
    repo,
};

/// A monthly digest `d` firing every second, with one article in the month that last closed (by
/// the system clock, which the real daemon runs on).
fn every_second() -> (Project, Period) {
    let p = Project::new(&config(
        "d",
        &format!("schedule = \"* * * * * *\"\n{WEB_ANY_PORT}"),
    ));
    let period = last_month_pick(&p);
    (p, period)
}

#[test]
fn a_due_issue_runs_once_stops_on_sigterm_and_a_restart_does_not_run_it_again() {
    let (p, period) = every_second();
    let mut daemon = Daemon::start(&p, &[], "info");
    let finished = daemon.wait_for("run finished");
    assert!(finished.contains("status=built"), "{finished}");
    assert!(finished.contains(&format!("period={period}")), "{finished}");
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("stopping: no new runs"), "{log}");

    let issue = p.issue("d", &period.to_string());
    assert_eq!(p.titles("d", &period.to_string()), ["Last month's pick"]);

    // Restarted: it looks at least twice (every second) and runs nothing.
    let mut again = Daemon::start(&p, &[], "digest=debug");
    again.wait_for("waiting");
    again.wait_for("waiting");
    again.signal("TERM");
    let (code, log) = again.wait();
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("run started"), "{log}");
    assert_eq!(p.issue("d", &period.to_string()), issue, "untouched");
    let store = Store::open(&p.path("digest.db")).unwrap();
    let run = store.run("d", period).unwrap().unwrap();
    assert_eq!((run.status, run.attempts), (RunStatus::Built, 1));
}

#[test]
fn a_second_daemon_on_the_same_store_exits_with_a_clear_message() {
    let p = Project::new(&config("d", WEB_ANY_PORT));
    let first = Daemon::start(&p, &[], "info");
    let second = p.run(&["daemon"]);
    assert_eq!(second.code, 1, "{}", second.all());
    let pid = format!("(pid {})", first_pid(&p));
    assert!(
        second.stderr.contains(&format!(
            "error: another digest daemon {pid} is already running on the store"
        )),
        "{}",
        second.stderr
    );
    first.signal("INT");
    let (code, log) = first.wait();
    assert_eq!(code, 0, "SIGINT stops cleanly too: {log}");
}

/// The process id recorded in the store's lock file.
fn first_pid(p: &Project) -> String {
    p.read("digest.db.lock").trim().to_string()
}

#[test]
fn sighup_keeps_the_old_configuration_if_the_new_one_is_invalid_and_applies_a_valid_one() {
    let (p, period) = every_second();
    let unscheduled = p
        .read("config/digest.toml")
        .replace("schedule = \"* * * * * *\"\n", "");
    p.write("config/digest.toml", &unscheduled);
    let mut daemon = Daemon::start(&p, &[], "info");

    p.write(
        "config/digest.toml",
        &unscheduled.replace("min_items = 1\n", "min_items = 1\nschedule = \"* * *\"\n"),
    );
    daemon.signal("HUP");
    let refused = daemon.wait_for("configuration not reloaded");
    assert!(
        refused.contains(
            "config/digest.toml:14: digests.d.schedule: \"* * *\" has 3 fields: use 5 (crontab"
        ),
        "{refused}"
    );

    p.write(
        "config/digest.toml",
        &unscheduled.replace(
            "min_items = 1\n",
            "min_items = 1\nschedule = \"* * * * * *\"\n",
        ),
    );
    daemon.signal("HUP");
    daemon.wait_for("configuration reloaded");
    let finished = daemon.wait_for("run finished");
    assert!(finished.contains(&format!("period={period}")), "{finished}");
    daemon.signal("TERM");
    assert_eq!(daemon.wait().0, 0);
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    let p = Project::new(&config("d", WEB_ANY_PORT));
    let daemon = Daemon::start(&p, &["--log-format", "json"], "info");
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(events[0]["level"], "INFO");
    assert_eq!(events[0]["fields"]["message"], "daemon started");
    assert_eq!(events[0]["fields"]["scheduled"], 0);
    assert_eq!(events.last().unwrap()["fields"]["message"], "stopped");
}

#[test]
fn check_validates_schedules_lateness_and_the_web_address() {
    let toml = config(
        "d",
        "schedule = \"0 8 32 * 1\"\nmax_lateness = \"6 hours\"\n\n\
         [digests.e]\ntag = \"x\"\nperiod = \"daily\"\nschedule = \"0 0 8 * * 0\"\n\
         max_lateness = \"30s\"\n\n\
         [daemon]\nmax_lateness = \"2w\"\n\n\
         [web]\nlisten = \"0.0.0.0:8026\"\nport = 80\n",
    );
    let p = Project::new(&toml);
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1, "{}", out.all());
    for want in [
        "config/digest.toml:14: digests.d.schedule: \"0 8 32 * 1\" is not a valid schedule: day \
         of month 32 is out of range 1–31",
        "config/digest.toml:15: digests.d.max_lateness: \"6 hours\" is not a duration: write e.g. \
         30m, 6h, 2d or 1h30m",
        "config/digest.toml:20: digests.e.schedule: \"0 0 8 * * 0\" is not a valid schedule: day \
         of week 0 is out of range 1–7 (in the 6- and 7-field forms weekdays are 1–7 with 1 = \
         Sunday, or Sun–Sat)",
        "config/digest.toml:21: digests.e.max_lateness: must be between 1m and 365d, not \"30s\"",
        "config/digest.toml:24: daemon.max_lateness: \"2w\" is not a duration",
        "config/digest.toml:28: web.port: unknown field `port`",
    ] {
        assert!(
            out.stderr.contains(want),
            "missing {want:?} in:\n{}",
            out.stderr
        );
    }

    let p = Project::new(&config("d", "\n[web]\nlisten = \"0.0.0.0:8026\"\n"));
    let out = p.run(&["check"]);
    assert!(
        out.stderr.contains(
            "config/digest.toml:16: web.listen: 0.0.0.0:8026 is reachable from other machines; \
             set `public = true` in [web]"
        ),
        "{}",
        out.stderr
    );
    let p = Project::new(&config(
        "d",
        "\n[web]\nlisten = \"0.0.0.0:8026\"\npublic = true\n",
    ));
    p.ok(&["check"]);
}

#[test]
fn check_shows_the_next_three_runs_in_the_digest_time_zone() {
    let p = Project::new(&config(
        "d",
        "timezone = \"Europe/Berlin\"\nschedule = \"0 8 1 * *\"\ningest_before = true\n",
    ));
    let out = p.ok(&["check"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("schedule \"0 8 1 * *\""))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(
        lines[at].trim(),
        "schedule \"0 8 1 * *\" (cron: 0 0 8 1 * *), max lateness 6h, ingests first; next runs:"
    );
    for run in &lines[at + 1..at + 4] {
        // e.g. "Sun 2024-09-01 08:00:00 CEST"
        let run = run.trim();
        assert!(run.contains("-01 08:00:00 CE"), "{run}");
        assert!(run.ends_with(" CEST") || run.ends_with(" CET"), "{run}");
    }
}

#[test]
fn the_sample_local_toml_is_a_valid_override_of_the_example() {
    let p = Project::example();
    let sample = std::fs::read_to_string(repo().join("config/local.toml.example")).unwrap();
    p.write("config/local.toml", &sample);
    let out = p.ok(&["check"]);
    assert!(
        out.stdout
            .contains("schedule \"0 8 1 * *\" (cron: 0 0 8 1 * *), max lateness 6h, ingests first"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("daemon web server: http://127.0.0.1:8026/")
    );
}

#[test]
fn cron_fields_out_of_range_are_reported_with_their_real_range() {
    // `60 0 * * *` was refused with the cron crate's "Minutes must be less than 59".
    let p = Project::new(&config("d", "schedule = \"60 0 * * *\""));
    for (schedule, want) in [
        ("60 0 * * *", "minute 60 is out of range 0–59"),
        ("0 24 * * *", "hour 24 is out of range 0–23"),
        ("0 0 32 * *", "day of month 32 is out of range 1–31"),
        ("0 0 1 13 *", "month 13 is out of range 1–12"),
        ("0 0 1 0-3 *", "month 0 is out of range 1–12"),
        ("0 5-60/5 0 * * *", "minute 60 is out of range 0–59"),
        ("0 0 8 * * 8", "day of week 8 is out of range 1–7"),
    ] {
        p.write(
            "config/digest.toml",
            &config("d", &format!("schedule = \"{schedule}\"")),
        );
        let out = p.run(&["check"]);
        assert_eq!(out.code, 1, "{}", out.all());
        let line = format!(
            "config/digest.toml:14: digests.d.schedule: \"{schedule}\" is not a valid schedule: {want}"
        );
        assert!(
            out.stderr.contains(&line),
            "missing {line:?} in\n{}",
            out.stderr
        );
    }
}

#[test]
fn crontab_days_follow_crontab_and_agree_with_croniter() {
    // `0 12 */2 * 1` was refused, saying crontab "runs when either matches"; crontab ANDs the two
    // day fields when either starts with `*`, and ORs them otherwise.
    const SCHEDULES: &[&str] = &[
        "0 12 */2 * 1",
        "0 12 1 * 1",
        "0 12 1-7 * 1",
        "0 12 1 * */2",
        "0 12 */10 * mon-fri",
        "30 6 13 * 5",
        "0 0 * * 0",
        "15 9 1,15 * *",
        "0 8 31 * 1",
        "0 12 * 2 1",
        "0 0 29 2 1",
        "0 0 1 * 0-7",
        "0 0 *,1 * 1",
    ];
    let script = "import json, sys, datetime\nfrom croniter import croniter\n\
        start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)\n\
        out = {}\n\
        for e in sys.argv[1:]:\n\
        \x20   it = croniter(e, start, implement_cron_bug=True)\n\
        \x20   out[e] = [it.get_next(datetime.datetime).strftime('%Y-%m-%dT%H:%M') for _ in range(25)]\n\
        print(json.dumps(out))\n";
    let python = |args: &[&str]| std::process::Command::new("python3").args(args).output();
    if !python(&["-c", "import croniter"]).is_ok_and(|o| o.status.success()) {
        return crate::smtp::unavailable("python3 with croniter");
    }
    let ran = python(&[&["-c", script][..], SCHEDULES].concat()).unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let want: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&ran.stdout).unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    for expr in SCHEDULES {
        let schedule: digest::schedule::Schedule =
            expr.parse().unwrap_or_else(|e| panic!("{expr}: {e}"));
        let got: Vec<String> = schedule
            .upcoming(start, chrono_tz::UTC, 25)
            .iter()
            .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
            .collect();
        assert_eq!(got, want[*expr], "{expr}");
    }
    let p = Project::new(&config("d", "schedule = \"0 12 */2 * 1\""));
    let out = p.ok(&["check"]);
    assert!(
        out.stdout.contains("schedule \"0 12 */2 * 1\""),
        "{}",
        out.stdout
    );
}

/// Runs `command` until it exits, or kills it after `limit` (a daemon that started when it should
/// have refused); what it printed, with exit code -1 if it was killed.
fn run_briefly(mut command: std::process::Command, limit: std::time::Duration) -> Output {
    use std::io::Read as _;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting digest");
    let started = std::time::Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Output {
        code,
        stdout,
        stderr,
    }
}

/// `digest check` and `digest daemon` in `p` with `env` set and without unsubscribe keys unless
/// `env` gives them; both must refuse, saying every one of `wants`.
fn check_and_daemon_refuse(p: &Project, env: &[(&str, &str)], wants: &[&str]) {
    for args in [&["check"][..], &["daemon"][..]] {
        let mut command = p.command(args);
        command.env_remove("DIGEST__UNSUBSCRIBE__KEYS");
        for (name, value) in env {
            command.env(name, value);
        }
        let out = run_briefly(command, std::time::Duration::from_secs(20));
        assert_eq!(out.code, 1, "digest {args:?} must refuse:\n{}", out.all());
        assert!(!out.stderr.contains("daemon started"), "{}", out.stderr);
        assert_contains(&out.stderr, wants);
        for secret in env.iter().map(|(_, v)| v).chain([&TEST_KEYS]) {
            assert!(
                !out.all().contains(secret),
                "a secret was shown:\n{}",
                out.all()
            );
        }
    }
}

/// A digest `d` sending to the list `main` (`list`: the body of `[lists.main]`), with `extra`
/// appended to the digest's table before `[mail]`.
fn sending_config(extra: &str, list: &str, rest: &str) -> String {
    config(
        "d",
        &format!(
            "lists = [\"main\"]\n{extra}\n[mail]\nfrom = \"Digest <digest@news.example.org>\"\n\n\
             [lists.main]\n{list}\n{rest}"
        ),
    )
}

#[test]
fn without_unsubscribe_keys_check_and_the_daemon_refuse_a_digest_with_lists() {
    // `check` exited 0 and the daemon started; then every one-click unsubscribe answered 500 and
    // every scheduled run failed with "no unsubscribe keys".
    let p = Project::new(&sending_config("", "members = [\"ann@example.org\"]", ""));
    check_and_daemon_refuse(
        &p,
        &[],
        &[
            "config/digest.toml:14: digests.d.lists: sending to lists needs unsubscribe keys: set \
           the environment variable DIGEST__UNSUBSCRIBE__KEYS to `id:secret`",
        ],
    );
    p.ok(&["check"]);
}

#[test]
fn check_and_the_daemon_refuse_every_configuration_that_cannot_send() {
    // A missing list file (of a scheduled digest), no [mail], a broken theme, a DKIM key that does
    // not load and a short EHLO name all passed `check` and the daemon's start; each run failed.
    let toml = config(
        "d",
        "schedule = \"0 8 1 * *\"\nlists = [\"main\"]\n\n[lists.main]\nfile = \"lists/gone.csv\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\n\n\
         [dkim]\ndomain = \"news.example.org\"\nselector = \"s1\"\n",
    );
    let p = Project::new(&toml);
    let theme = p.read("templates/theme.toml");
    p.write(
        "templates/theme.toml",
        &theme.replace("\npage = ", "\n# page = "),
    );
    let keys = ("DIGEST__UNSUBSCRIBE__KEYS", TEST_KEYS);
    let dkim = ("DIGEST__DKIM__KEY", "not-a-key-but-a-secret-all-the-same");
    check_and_daemon_refuse(
        &p,
        &[keys, dkim],
        &[
            "config/digest.toml:15: digests.d.lists: sending to lists needs a [mail] section \
             with `from`",
            "config/digest.toml:18: lists.main.file: file not found: ",
            "lists/gone.csv",
            "config/digest.toml:24: dkim: DIGEST__DKIM__KEY is not a valid",
            "paths.templates: ",
            "colors.page is missing",
        ],
    );
    // A short EHLO name (the parser's problem, so alone: the checks need a parsed configuration).
    p.write(
        "config/digest.toml",
        &toml.replace("tls = \"none\"\n", "tls = \"none\"\nhello_name = \"vm\"\n"),
    );
    check_and_daemon_refuse(
        &p,
        &[keys, dkim],
        &["config/digest.toml:23: smtp.hello_name: \"vm\" is not a fully qualified host name"],
    );
    // Without [smtp], the daemon could build the scheduled digest but never send it.
    let p = Project::new(&sending_config(
        "schedule = \"0 8 1 * *\"\n",
        "members = [\"ann@example.org\"]",
        "",
    ));
    check_and_daemon_refuse(
        &p,
        &[keys],
        &[
            "config/digest.toml:15: digests.d.schedule: the daemon sends this digest to its lists, \
           which needs an [smtp] section",
        ],
    );
}

#[test]
fn a_sighup_reload_runs_the_checks_of_check_and_keeps_the_old_configuration() {
    // A reload ran only the parser: a list file that does not exist was put in force.
    let list = "file = \"lists/main.csv\"";
    let p = Project::new(&sending_config("", list, WEB_ANY_PORT));
    p.write("lists/main.csv", "email,name\nann@example.org,Ann\n");
    let mut daemon = Daemon::start(&p, &[], "info");

    p.write(
        "config/digest.toml",
        &sending_config("", "file = \"lists/new.csv\"", WEB_ANY_PORT),
    );
    daemon.signal("HUP");
    let refused = daemon.wait_for("configuration not reloaded");
    assert!(
        refused.contains("config/digest.toml:20: lists.main.file: file not found: ")
            && refused.contains("lists/new.csv"),
        "{refused}"
    );
    p.write("lists/new.csv", "email,name\nbob@example.org,Bob\n");
    daemon.signal("HUP");
    daemon.wait_for("configuration reloaded");
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
}

#[test]
fn a_first_start_says_at_info_that_the_period_due_before_it_is_not_run() {
    // A new daemon's first lines held a WARN "run skipped … 28d20h late", as if a run was missed.
    let schedule = format!("schedule = \"0 0 1 * *\"\nmax_lateness = \"1m\"\n{WEB_ANY_PORT}");
    let p = Project::new(&config("d", &schedule));
    #[allow(clippy::disallowed_methods)] // the real daemon runs on the system clock
    let now = chrono::Utc::now();
    let last = Period::last_closed(PeriodKind::Monthly, now, chrono_tz::UTC);
    let mut daemon = Daemon::start(&p, &[], "info");
    let first = daemon.wait_for("first start");
    assert_contains(
        &first,
        &[
            "INFO",
            &format!("period={last}"),
            "no run recorded yet: the period due before it is not run",
            "before this digest's first start (no backfill)",
        ],
    );
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("WARN"), "{log}");

    // After downtime (a run recorded for the month before), the missed month is a real warning.
    let p = Project::new(&config("d", &schedule));
    let before = last.previous();
    let at = now - chrono::Duration::days(62);
    let mut store = Store::open(&p.path("digest.db")).unwrap();
    store.claim_run("d", before, at, at).unwrap();
    store
        .finish_run("d", before, RunStatus::Built, "issue #1, 1 items", at)
        .unwrap();
    drop(store);
    let mut daemon = Daemon::start(&p, &[], "info");
    let skipped = daemon.wait_for("run skipped");
    assert_contains(
        &skipped,
        &["WARN", &format!("period={last}"), "late (max_lateness 1m)"],
    );
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("first start"), "{log}");
}

#[test]
fn the_systemd_unit_requires_its_environment_file() {
    // `EnvironmentFile=-/etc/digest/environment`: without the file (and so without unsubscribe
    // keys) the unit started anyway and nobody noticed.
    let unit = std::fs::read_to_string(repo().join("deploy/digest.service")).unwrap();
    let files: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("EnvironmentFile="))
        .collect();
    assert_eq!(files, ["/etc/digest/environment"], "{unit}");
}
