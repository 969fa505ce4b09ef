//! `digest daemon` as a real process: a scheduled run, SIGTERM, restart, the single-instance lock,
//! SIGHUP reloads, JSON logs; and the daemon's settings in `digest check`.

use digest::period::Period;
use digest::store::{RunStatus, Store};

use crate::common::{Daemon, Project, WEB_ANY_PORT, config, last_month_pick, repo};

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
