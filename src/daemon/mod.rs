//! The daemon: runs every scheduled digest once per period ([`due`] decides, [`Scheduler`] acts and
//! records), serves the web side, holds the one-daemon-per-store [`lock`] and answers signals.
//!
//! Threads: the scheduler runs on its own thread and is plain blocking code, so a run (ingest,
//! freeze and, later, send) never stalls the web server; tokio runs the web server and the signal
//! handlers. SIGTERM/SIGINT: no new run starts, the run in progress finishes (it sees [`Stop`]), the
//! web server stops, exit 0. The daemon starts only with a configuration that passes `digest check`
//! ([`check::problems`]); SIGHUP reads it again and runs the same checks; if it fails them, the old
//! one stays.

pub mod due;
pub mod lock;
pub mod notify;
pub mod ops;
pub mod runner;

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{debug, error, info, warn};

/// Moved to the leaf [`crate::schedule`] (the configuration parses schedules); re-exported for
/// the old path.
pub use crate::stop::Stop;
pub use ops::{Ops, Watch};
pub use runner::{Job, Publish, RunOutcome, Runner};

use crate::clock::Clock;
use crate::config::{Config, Digest, Invalid, SharedConfig};
use crate::events::Events;
use crate::metrics::Metrics;
use crate::publish::check;
use crate::schedule::{format_duration, local_time};
use crate::store::{ReviewState, RunStatus, Store};
use due::{Action, Due};

/// Acts on the decisions of [`due::due`]: claims each run in the store, runs it and records how it
/// ended.
pub struct Scheduler {
    store: Store,
    clock: Arc<dyn Clock>,
    runner: Arc<dyn Runner>,
    stop: Stop,
    watch: Arc<dyn Watch>,
}

impl Scheduler {
    /// A scheduler recording in `store`, telling time by `clock`, running with `runner` and
    /// starting nothing once `stop` is requested.
    pub fn new(store: Store, clock: Arc<dyn Clock>, runner: Arc<dyn Runner>, stop: Stop) -> Self {
        Scheduler {
            store,
            clock,
            runner,
            stop,
            watch: Arc::new(ops::Unwatched),
        }
    }

    /// The same scheduler telling `watch` about each run's start and end.
    pub fn watched(self, watch: Arc<dyn Watch>) -> Self {
        Scheduler { watch, ..self }
    }

    /// Does everything due now, one run at a time, and says when to look again.
    pub fn tick(&mut self, config: &Config) -> Result<DateTime<Utc>> {
        let runs = self.store.open_and_latest_runs()?;
        for decision in due::due(self.clock.now(), config, &runs) {
            if self.stop.requested() {
                break;
            }
            let Some(digest) = config.digests.get(&decision.digest) else {
                continue;
            };
            match decision.action {
                Action::SkipLate => self.skip_late(digest, &decision)?,
                Action::ReviewDeadline => self.review_deadline(config, digest, &decision)?,
                Action::Run | Action::Resume | Action::Retry => {
                    self.execute(config, digest, &decision)?
                }
            }
        }
        let runs = self.store.open_and_latest_runs()?;
        Ok(due::next_wake(self.clock.now(), config, &runs))
    }

    /// Records a run missed by more than `max_lateness` as skipped. After downtime that is a
    /// missed run (WARN); on a digest's first start it is the no-backfill rule, said plainly (INFO).
    fn skip_late(&mut self, digest: &Digest, decision: &Due) -> Result<()> {
        let now = self.clock.now();
        let due_at = local_time(decision.scheduled_at, digest.timezone);
        let ago = format_duration(now - decision.scheduled_at);
        let detail = if decision.first {
            format!("due at {due_at}, {ago} before this digest's first start (no backfill)")
        } else {
            let max = format_duration(digest.max_lateness);
            format!("due at {due_at}, {ago} late (max_lateness {max})")
        };
        let (id, period) = (&digest.id, decision.period);
        let status = RunStatus::SkippedLate;
        if !self
            .store
            .skip_run(id, period, decision.scheduled_at, status, &detail, now)?
        {
            return Ok(());
        }
        if decision.first {
            info!(digest = %id, period = %period, %status, "first start, no run recorded yet: the period due before it is not run: {detail}");
        } else {
            warn!(digest = %id, period = %period, %status, "run skipped: {detail}");
        }
        Ok(())
    }

    /// At the review deadline of an issue nobody approved: sends it anyway or skips the period,
    /// as `on_deadline` says (an approval that came first is sent as approved), logged (WARN) and
    /// recorded.
    fn review_deadline(&mut self, config: &Config, digest: &Digest, decision: &Due) -> Result<()> {
        let (id, period) = (&digest.id, decision.period);
        let now = self.clock.now();
        let review = crate::publish::review::at_deadline(&mut self.store, digest, period, now)?;
        match review.state {
            ReviewState::Skipped => {
                let detail = format!(
                    "nobody approved the issue by its review deadline ({}): not sent (on_deadline = skip)",
                    review
                        .deadline
                        .map_or_else(String::new, |d| local_time(d, digest.timezone))
                );
                let status = RunStatus::SkippedReview;
                self.store.finish_run(id, period, status, &detail, now)?;
                warn!(digest = %id, period = %period, %status, "run skipped: {detail}");
                Ok(())
            }
            state => {
                if state == ReviewState::SentAtDeadline {
                    warn!(digest = %id, period = %period, "nobody approved the issue by its review deadline: sending it anyway (on_deadline = send)");
                }
                self.execute(config, digest, decision)
            }
        }
    }

    fn execute(&mut self, config: &Config, digest: &Digest, decision: &Due) -> Result<()> {
        let (id, period) = (&digest.id, decision.period);
        if !self
            .store
            .claim_run(id, period, decision.scheduled_at, self.clock.now())?
        {
            return Ok(());
        }
        let action = format!("{:?}", decision.action).to_lowercase();
        info!(digest = %id, period = %period, %action, "run started");
        let job = Job {
            digest,
            period,
            scheduled_at: decision.scheduled_at,
        };
        self.watch.started(config, &job);
        let (status, detail) = match self.runner.run(config, &job, &self.stop) {
            Ok(outcome) => (outcome.status(), outcome.detail()),
            Err(e) => (RunStatus::Failed, format!("{e:#}")),
        };
        self.store
            .finish_run(id, period, status, &detail, self.clock.now())?;
        match status {
            RunStatus::Failed => {
                error!(digest = %id, period = %period, %status, "run failed: {detail}")
            }
            RunStatus::Running => {
                warn!(digest = %id, period = %period, %status, "run interrupted: {detail}")
            }
            _ => info!(digest = %id, period = %period, %status, "run finished: {detail}"),
        }
        self.watch
            .finished(config, &self.store, &job, status, &detail);
        Ok(())
    }
}

/// Messages to the scheduler thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// The configuration changed: look again now.
    Reload,
    /// Finish the run in progress and return.
    Stop,
}

/// Runs the scheduler on the calling thread until [`Control::Stop`] arrives (or every sender is
/// gone), reading the configuration in force before each look.
pub fn schedule_loop(mut scheduler: Scheduler, config: SharedConfig, control: Receiver<Control>) {
    let mut told = None;
    loop {
        let wake = match scheduler.tick(&config.get()) {
            Ok(wake) => wake,
            Err(e) => {
                error!("scheduler: {e:#}; trying again shortly");
                notify::status(&format!("scheduler error, retrying: {e:#}"));
                scheduler.clock.now() + due::MAX_SLEEP
            }
        };
        if told != Some(wake) {
            told = Some(wake);
            notify::status(&format!(
                "idle; next look at {}",
                wake.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        if scheduler.stop.requested() {
            break;
        }
        debug!(until = %wake, "waiting");
        let wait = (wake - scheduler.clock.now())
            .clamp(chrono::Duration::zero(), due::MAX_SLEEP)
            .to_std()
            .unwrap_or_default();
        match control.recv_timeout(wait) {
            Ok(Control::Reload) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    info!("scheduler stopped");
}

/// Runs `digest daemon` until SIGTERM or SIGINT: refuses a configuration `digest check` refuses
/// (every problem in the error), takes the store's lock, starts the scheduler and the web server,
/// and reloads the configuration from `dir` on SIGHUP.
///
/// `metrics` is what `/metrics` exposes (give `runner` the same to count ingests and sends). Tells
/// systemd `READY=1` once the store, the configuration and the web side are up (see [`notify`]).
pub fn run(
    dir: &Path,
    config: Config,
    clock: Arc<dyn Clock>,
    runner: Arc<dyn Runner>,
    metrics: Arc<Metrics>,
) -> Result<()> {
    let problems = check::problems(&config);
    if !problems.is_empty() {
        return Err(Invalid(problems).into());
    }
    let lock = lock::Lock::acquire(&config.paths.store)?;
    crate::publish::runtime()?.block_on(serve(dir, config, clock, runner, metrics))?;
    drop(lock);
    Ok(())
}

async fn serve(
    dir: &Path,
    config: Config,
    clock: Arc<dyn Clock>,
    runner: Arc<dyn Runner>,
    metrics: Arc<Metrics>,
) -> Result<()> {
    // Handlers first, so a signal at start-up is handled rather than fatal.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;

    let listen = config.web.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen} ([web] listen)"))?;
    let store = Store::open(&config.paths.store)?;
    let web_store = Store::open(&config.paths.store)?;
    let scheduled = config
        .digests
        .values()
        .filter(|d| d.schedule.is_some())
        .count();
    info!(
        pid = std::process::id(),
        store = %config.paths.store.display(),
        digests = config.digests.len(),
        scheduled,
        "daemon started"
    );
    let now = clock.now();
    for d in config.digests.values() {
        if let Some(next) = d
            .schedule
            .as_ref()
            .and_then(|s| s.next_after(now, d.timezone))
        {
            info!(digest = %d.id, schedule = %d.schedule.as_ref().map_or("", |s| s.as_written()), next = %local_time(next, d.timezone), "scheduled");
        }
    }

    let shared = SharedConfig::new(config);
    let events = Events::start(shared.clone(), clock.clone(), metrics.clone());
    let ops = Ops::new(metrics.clone(), events.clone(), clock.clone());
    let stop = Stop::default();
    let (control, inbox) = std::sync::mpsc::channel();
    let scheduler =
        Scheduler::new(store, clock.clone(), runner, stop.clone()).watched(Arc::new(ops));
    let thread_config = shared.clone();
    let scheduler = std::thread::Builder::new()
        .name("scheduler".into())
        .spawn(move || schedule_loop(scheduler, thread_config, inbox))?;
    let mut scheduler = tokio::task::spawn_blocking(move || scheduler.join());

    let inbound = tokio::spawn(poll_inbound(shared.clone(), clock.clone(), events.clone()));
    let app = crate::web::router(crate::web::AppState {
        config: shared.clone(),
        store: Arc::new(Mutex::new(web_store)),
        clock,
        metrics,
        events,
    });
    let (web_stop, web_stopped) = tokio::sync::oneshot::channel::<()>();
    info!("web server listening on http://{}/", listener.local_addr()?);
    let web = tokio::spawn(async move {
        // The peer address: sign-up rate limits and the consent record's network.
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = web_stopped.await;
            })
            .await
    });
    notify::ready(&format!("ready; {scheduled} scheduled digest(s)"));
    let watchdog = notify::watchdog_interval().map(|every| {
        info!(
            every_ms = every.as_millis() as u64,
            "systemd watchdog enabled"
        );
        tokio::spawn(notify::watchdog(every))
    });

    let ended = loop {
        tokio::select! {
            _ = terminate.recv() => break None,
            _ = interrupt.recv() => break None,
            _ = hangup.recv() => reload(dir, &shared, &control),
            joined = &mut scheduler => break Some(joined),
        }
    };
    let result = match ended {
        None => {
            info!("stopping: no new runs; a run in progress finishes first");
            notify::stopping();
            stop.request();
            let _ = control.send(Control::Stop);
            scheduler.await
        }
        Some(joined) => joined,
    };
    // A message being processed is one transaction: stopping in between records it later.
    inbound.abort();
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    let _ = web_stop.send(());
    web.await?.context("web server")?;
    match result {
        Ok(Ok(())) if stop.requested() => {
            info!("stopped");
            Ok(())
        }
        _ => Err(anyhow!(
            "the scheduler stopped unexpectedly (see the log above)"
        )),
    }
}

/// Processes the `[inbound]` sources (Maildir, IMAP mailbox) every `poll_secs`, as `digest
/// inbound --maildir` and `--imap` do, with the configuration in force at each look (without
/// `[inbound]`, looks again for one a minute later). Failures are logged, recorded as the source's
/// health (which `/readyz` reports) and tried again at the next look.
async fn poll_inbound(config: SharedConfig, clock: Arc<dyn Clock>, events: Events) {
    loop {
        let current = config.get();
        let Some(poll) = current.inbound.as_ref().map(|i| i.poll) else {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            continue;
        };
        let clock = clock.clone();
        let events = events.clone();
        let done = tokio::task::spawn_blocking(move || {
            let sources = crate::publish::inbound::configured(&current);
            sources
                .iter()
                .map(|s| {
                    (
                        s.describe(),
                        crate::publish::inbound::run(&current, *s, &*clock, &events),
                    )
                })
                .collect::<Vec<_>>()
        })
        .await;
        match done {
            Ok(runs) => {
                for (source, done) in runs {
                    match done {
                        Ok(run) => {
                            if run.tally.messages > 0 {
                                info!(%source, "inbound: {}", run.tally);
                            }
                            for problem in run.problems {
                                warn!("inbound: {problem}");
                            }
                        }
                        Err(e) => error!(%source, "inbound: {e:#}"),
                    }
                }
            }
            Err(e) => error!("inbound: {e}"),
        }
        tokio::time::sleep(poll).await;
    }
}

/// Reads the configuration in `dir` again and puts it in force, or keeps the current one if the new
/// one fails the checks of `digest check` (every problem is logged) or moves the store.
fn reload(dir: &Path, shared: &SharedConfig, control: &Sender<Control>) {
    let current = shared.get();
    match check::load(dir) {
        Err(invalid) => {
            let problems: Vec<String> = invalid.0.iter().map(ToString::to_string).collect();
            error!(
                "configuration not reloaded, keeping the current one: {}",
                problems.join("; ")
            );
        }
        Ok(new) if new.paths.store != current.paths.store => error!(
            "configuration not reloaded, keeping the current one: paths.store changed; restart the daemon to move the store"
        ),
        Ok(new) => {
            if new.web.listen != current.web.listen {
                warn!(
                    "web.listen changed: the web server keeps {} until a restart",
                    current.web.listen
                );
            }
            let scheduled = new
                .digests
                .values()
                .filter(|d| d.schedule.is_some())
                .count();
            shared.set(new);
            let _ = control.send(Control::Reload);
            info!(scheduled, "configuration reloaded");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::clock::ManualClock;
    use crate::period::Period;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// A project folder with one catalogue source and the given `[digests.*]` tables.
    struct Project {
        dir: tempfile::TempDir,
    }

    impl Project {
        fn new(digests: &str) -> Project {
            let dir = tempfile::tempdir().unwrap();
            let toml = format!(
                "[site]\nname = \"S\"\nbase_url = \"https://s.example\"\n\n[sources.main]\n\
                 kind = \"jsonl\"\npath = \"catalog.jsonl\"\n\n{digests}"
            );
            std::fs::create_dir(dir.path().join("config")).unwrap();
            std::fs::write(dir.path().join("config/digest.toml"), toml).unwrap();
            std::fs::write(dir.path().join("catalog.jsonl"), "").unwrap();
            // Freezing renders the email to check its size: the repository's theme.
            let templates = dir.path().join("templates");
            std::fs::create_dir(&templates).unwrap();
            for file in ["theme.toml", "email.css"] {
                let from = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("templates")
                    .join(file);
                std::fs::copy(from, templates.join(file)).unwrap();
            }
            Project { dir }
        }

        fn config(&self) -> Config {
            Config::load(&self.dir.path().join("config")).unwrap()
        }

        /// Appends articles tagged `t` published at the given RFC 3339 times.
        fn articles(&self, published: &[&str]) {
            let mut text = std::fs::read_to_string(self.dir.path().join("catalog.jsonl")).unwrap();
            for (i, at) in published.iter().enumerate() {
                text.push_str(&format!(
                    "{{\"url\": \"https://a.example/{at}/{i}\", \"title\": \"At {at}\", \
                     \"source\": {{\"id\": \"a\", \"name\": \"A\"}}, \"tags\": [\"t\"], \
                     \"published_at\": \"{at}\", \"upvotes\": 5}}\n"
                ));
            }
            std::fs::write(self.dir.path().join("catalog.jsonl"), text).unwrap();
        }

        fn store(&self) -> Store {
            Store::open(&self.config().paths.store).unwrap()
        }

        fn run(&self, digest: &str, period: &str) -> Option<crate::store::Run> {
            self.store().run(digest, period.parse().unwrap()).unwrap()
        }
    }

    /// One call of a runner: digest, period, scheduled time, and the clock's time when it ran.
    type Call = (String, String, DateTime<Utc>, DateTime<Utc>);

    /// Records its calls; fails the first `failures` of them.
    struct Fake {
        clock: Arc<ManualClock>,
        calls: Mutex<Vec<Call>>,
        failures: AtomicUsize,
    }

    impl Fake {
        fn new(clock: &Arc<ManualClock>) -> Arc<Fake> {
            Arc::new(Fake {
                clock: clock.clone(),
                calls: Mutex::new(Vec::new()),
                failures: AtomicUsize::new(0),
            })
        }

        fn calls(&self) -> Vec<Call> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Runner for Fake {
        fn run(&self, _: &Config, job: &Job<'_>, _: &Stop) -> Result<RunOutcome> {
            let call = (
                job.digest.id.clone(),
                job.period.to_string(),
                job.scheduled_at,
                self.clock.now(),
            );
            self.calls.lock().unwrap().push(call);
            if self.failures.load(Ordering::SeqCst) > 0 {
                self.failures.fetch_sub(1, Ordering::SeqCst);
                anyhow::bail!("the relay is down");
            }
            Ok(RunOutcome::Built {
                number: 1,
                items: 1,
            })
        }
    }

    fn scheduler(p: &Project, clock: &Arc<ManualClock>, runner: Arc<dyn Runner>) -> Scheduler {
        Scheduler::new(p.store(), clock.clone(), runner, Stop::default())
    }

    /// Ticks at every `step` from the clock's time until `until`.
    fn walk(
        s: &mut Scheduler,
        clock: &ManualClock,
        config: &Config,
        until: DateTime<Utc>,
        step: Duration,
    ) {
        while clock.now() <= until {
            s.tick(config).unwrap();
            clock.advance(step);
        }
    }

    #[test]
    fn monthly_weekly_and_daily_digests_build_the_period_that_just_closed() {
        let p = Project::new(
            "[digests.m]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"@monthly\"\n\n\
             [digests.w]\ntag = \"t\"\nperiod = \"weekly\"\nschedule = \"0 8 * * 1\"\n\n\
             [digests.d]\ntag = \"t\"\nperiod = \"daily\"\nschedule = \"@daily\"\n",
        );
        p.articles(&["2024-07-31T10:00:00Z", "2024-08-02T10:00:00Z"]);
        let clock = Arc::new(ManualClock::new(utc(2024, 7, 31, 23, 0)));
        let mut s = scheduler(&p, &clock, Arc::new(Publish::new(clock.clone())));
        let config = p.config();
        walk(
            &mut s,
            &clock,
            &config,
            utc(2024, 8, 5, 9, 0),
            Duration::minutes(10),
        );

        let outcome = |d: &str, period: &str| {
            let run = p
                .run(d, period)
                .unwrap_or_else(|| panic!("no run {d} {period}"));
            (run.status, run.detail, run.scheduled_at)
        };
        assert_eq!(
            outcome("m", "2024-07"),
            (
                RunStatus::Built,
                "issue #1, 1 items".into(),
                utc(2024, 8, 1, 0, 0)
            )
        );
        assert_eq!(outcome("w", "2024-W31").0, RunStatus::Built);
        assert_eq!(outcome("w", "2024-W31").2, utc(2024, 8, 5, 8, 0));
        assert_eq!(outcome("d", "2024-08-02").0, RunStatus::Built);
        for day in ["2024-07-31", "2024-08-01", "2024-08-03", "2024-08-04"] {
            let (status, detail, _) = outcome("d", day);
            let built = day == "2024-07-31";
            assert_eq!(status == RunStatus::Built, built, "{day}: {detail}");
            if !built {
                assert_eq!(status, RunStatus::SkippedTooFew, "{day}");
                assert!(detail.contains("fewer than min_items = 1"), "{detail}");
            }
        }
        let issue = crate::issue::find(&config.paths.digests, "m", "2024-07".parse().unwrap());
        assert_eq!(issue.unwrap().unwrap().items.len(), 1);
        // Before the first fire the daemon had nothing recorded: the periods of the fires it missed
        // are logged as skipped, not run.
        assert_eq!(outcome("m", "2024-06").0, RunStatus::SkippedLate);
        assert_eq!(outcome("w", "2024-W30").0, RunStatus::SkippedLate);
    }

    #[test]
    fn a_restart_after_a_run_does_not_run_it_again() {
        let p = Project::new(
            "[digests.m]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n",
        );
        let config = p.config();
        let clock = Arc::new(ManualClock::new(utc(2024, 8, 1, 6, 0)));
        let fake = Fake::new(&clock);
        scheduler(&p, &clock, fake.clone()).tick(&config).unwrap();
        assert_eq!(fake.calls().len(), 1);
        clock.advance(Duration::minutes(5));
        let mut restarted = scheduler(&p, &clock, fake.clone());
        walk(
            &mut restarted,
            &clock,
            &config,
            utc(2024, 8, 1, 12, 0),
            Duration::minutes(5),
        );
        assert_eq!(fake.calls().len(), 1, "{:?}", fake.calls());
    }

    #[test]
    fn a_run_interrupted_by_a_crash_is_resumed_on_restart() {
        let p = Project::new(
            "[digests.m]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n",
        );
        p.articles(&["2024-07-10T10:00:00Z"]);
        let july: Period = "2024-07".parse().unwrap();
        let fire = utc(2024, 8, 1, 6, 0);
        // The previous process claimed the run and died.
        p.store().claim_run("m", july, fire, fire).unwrap();
        let clock = Arc::new(ManualClock::new(fire + Duration::days(2)));
        let mut s = scheduler(&p, &clock, Arc::new(Publish::new(clock.clone())));
        s.tick(&p.config()).unwrap();
        let run = p.run("m", "2024-07").unwrap();
        assert_eq!((run.status, run.attempts), (RunStatus::Built, 2));
        assert_eq!(run.scheduled_at, fire);
    }

    #[test]
    fn downtime_within_max_lateness_is_caught_up_and_beyond_it_skipped() {
        let p = Project::new(
            "[digests.a]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n\
             max_lateness = \"6h\"\n\n\
             [digests.b]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n\
             max_lateness = \"4h\"\n",
        );
        let config = p.config();
        let clock = Arc::new(ManualClock::new(utc(2024, 7, 31, 20, 0)));
        let fake = Fake::new(&clock);
        scheduler(&p, &clock, fake.clone()).tick(&config).unwrap();
        let before = fake.calls().len();
        // Down from 31 July 20:00 to 1 August 11:00: the 06:00 run is 5 hours late.
        clock.set(utc(2024, 8, 1, 11, 0));
        let mut s = scheduler(&p, &clock, fake.clone());
        s.tick(&config).unwrap();
        s.tick(&config).unwrap();
        let new: Vec<_> = fake.calls()[before..].to_vec();
        assert_eq!(
            new,
            [(
                "a".into(),
                "2024-07".into(),
                utc(2024, 8, 1, 6, 0),
                utc(2024, 8, 1, 11, 0)
            )]
        );
        let b = p.run("b", "2024-07").unwrap();
        assert_eq!(b.status, RunStatus::SkippedLate);
        assert_eq!(
            b.detail,
            "due at Thu 2024-08-01 06:00:00 UTC, 5h late (max_lateness 4h)"
        );
    }

    #[test]
    fn a_failed_run_is_retried_after_a_backoff() {
        let p = Project::new(
            "[digests.m]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n",
        );
        let config = p.config();
        let fire = utc(2024, 8, 1, 6, 0);
        let clock = Arc::new(ManualClock::new(fire));
        let fake = Fake::new(&clock);
        fake.failures.store(1, Ordering::SeqCst);
        let mut s = scheduler(&p, &clock, fake.clone());
        assert_eq!(s.tick(&config).unwrap(), fire + Duration::minutes(1));
        let run = p.run("m", "2024-07").unwrap();
        assert_eq!(
            (run.status, run.detail.as_str()),
            (RunStatus::Failed, "the relay is down")
        );
        walk(
            &mut s,
            &clock,
            &config,
            fire + Duration::seconds(59),
            Duration::seconds(10),
        );
        assert_eq!(fake.calls().len(), 1);
        clock.set(fire + Duration::minutes(1));
        s.tick(&config).unwrap();
        let run = p.run("m", "2024-07").unwrap();
        assert_eq!((run.status, run.attempts), (RunStatus::Built, 2));
    }

    /// Walks a day of five-minute ticks from `from` with a daily digest on `schedule` in `tz`,
    /// and checks it ran once, for `period`, at `at` (as scheduled).
    fn runs_once(schedule: &str, tz: &str, from: DateTime<Utc>, period: &str, at: DateTime<Utc>) {
        let p = Project::new(&format!(
            "[digests.d]\ntag = \"t\"\nperiod = \"daily\"\ntimezone = \"{tz}\"\n\
             schedule = \"{schedule}\"\nmax_lateness = \"1h\"\n"
        ));
        let clock = Arc::new(ManualClock::new(from));
        let fake = Fake::new(&clock);
        let mut s = scheduler(&p, &clock, fake.clone());
        walk(
            &mut s,
            &clock,
            &p.config(),
            from + Duration::hours(24),
            Duration::minutes(5),
        );
        assert_eq!(
            fake.calls(),
            [("d".into(), period.into(), at, at)],
            "{schedule} in {tz}"
        );
    }

    #[test]
    fn across_dst_changes_a_daily_run_runs_once_at_the_policy_instant() {
        let t = |s: &str| format!("2024-{s}:00Z").parse::<DateTime<Utc>>().unwrap();
        // (schedule, zone, walk from, period built, when it ran = its scheduled time), in 2024
        let cases = [
            // Berlin, 31 March: 02:00 CET (01:00 UTC) jumps to 03:00 CEST: 02:30 runs at 03:00.
            (
                "30 2 * * *",
                "Europe/Berlin",
                "03-30T12:00",
                "03-30",
                "03-31T01:00",
            ),
            // New York, 10 March: 02:00 EST (07:00 UTC) jumps to 03:00 EDT.
            (
                "30 2 * * *",
                "America/New_York",
                "03-09T18:00",
                "03-09",
                "03-10T07:00",
            ),
            // Berlin, 27 October: 02:30 is 00:30 UTC (CEST), then 01:30 UTC (CET).
            (
                "30 2 * * *",
                "Europe/Berlin",
                "10-26T12:00",
                "10-26",
                "10-27T00:30",
            ),
            // New York, 3 November: 01:30 is 05:30 UTC (EDT), then 06:30 UTC (EST).
            (
                "30 1 * * *",
                "America/New_York",
                "11-02T18:00",
                "11-02",
                "11-03T05:30",
            ),
        ];
        for (schedule, tz, from, day, at) in cases {
            runs_once(schedule, tz, t(from), &format!("2024-{day}"), t(at));
        }
    }

    #[test]
    fn ingest_before_loads_the_sources_before_building() {
        for (ingest_before, want) in [(true, RunStatus::Built), (false, RunStatus::SkippedTooFew)] {
            let p = Project::new(&format!(
                "[digests.m]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n\
                 ingest_before = {ingest_before}\n"
            ));
            p.articles(&["2024-07-10T10:00:00Z"]);
            let config = p.config();
            let clock = Arc::new(ManualClock::new(utc(2024, 8, 1, 6, 0)));
            let mut s = scheduler(&p, &clock, Arc::new(Publish::new(clock.clone())));
            s.tick(&config).unwrap();
            assert_eq!(p.run("m", "2024-07").unwrap().status, RunStatus::Built);
            // An August article arrives in the catalogue after the store was filled.
            p.articles(&["2024-08-10T10:00:00Z"]);
            clock.set(utc(2024, 9, 1, 6, 0));
            s.tick(&config).unwrap();
            assert_eq!(
                p.run("m", "2024-08").unwrap().status,
                want,
                "ingest_before = {ingest_before}"
            );
        }
    }

    /// Blocks in its first run until released.
    struct Blocking {
        started: Mutex<std::sync::mpsc::Sender<()>>,
        release: Mutex<Receiver<()>>,
    }

    impl Runner for Blocking {
        fn run(&self, _: &Config, _: &Job<'_>, _: &Stop) -> Result<RunOutcome> {
            self.started.lock().unwrap().send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
            Ok(RunOutcome::Built {
                number: 1,
                items: 1,
            })
        }
    }

    #[test]
    fn a_stop_lets_the_run_in_progress_finish_and_starts_no_other() {
        let p = Project::new(
            "[digests.a]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n\n\
             [digests.b]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n",
        );
        let (started, on_start) = std::sync::mpsc::channel();
        let (release, on_release) = std::sync::mpsc::channel();
        let runner = Arc::new(Blocking {
            started: Mutex::new(started),
            release: Mutex::new(on_release),
        });
        let clock = Arc::new(ManualClock::new(utc(2024, 8, 1, 6, 0)));
        let stop = Stop::default();
        let s = Scheduler::new(p.store(), clock, runner, stop.clone());
        let (control, inbox) = std::sync::mpsc::channel();
        let shared = SharedConfig::new(p.config());
        let thread = std::thread::spawn(move || schedule_loop(s, shared, inbox));
        on_start.recv().unwrap();
        stop.request();
        control.send(Control::Stop).unwrap();
        release.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(p.run("a", "2024-07").unwrap().status, RunStatus::Built);
        assert_eq!(p.run("b", "2024-07"), None);
    }

    #[test]
    fn a_run_record_counts_every_attempt_from_the_ledger() {
        // The run record kept only the last attempt: "sent 1, failed 0" for an issue with 2 sent
        // and 1 failed over two attempts.
        use crate::mail::error::Stage;
        use crate::mail::transport::stub::{Script, Stub};
        let p = Project::new(
            "[digests.m]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n\
             lists = [\"l\"]\n\n[mail]\nfrom = \"d@s.example\"\n\n[lists.l]\n\
             members = [\"ann@x.example\", \"bob@x.example\", \"cat@x.example\"]\n\n\
             [smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nmax_attempts = 1\n",
        );
        p.articles(&["2024-07-10T10:00:00Z"]);
        let mut config = p.config();
        config.sending.unsubscribe_keys = Some(crate::config::Secret::new(
            "t1:test-secret-test-secret-test-secret-0001",
        ));
        config.paths.templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let stub = Arc::new(Stub::new());
        stub.script(
            Script::reply(Stage::Rcpt, "451 4.2.0 try later")
                .to("bob@x.example")
                .times(1),
        );
        stub.script(Script::reply(Stage::Rcpt, "550 5.1.1 no such user").to("cat@x.example"));
        let clock = Arc::new(ManualClock::new(utc(2024, 8, 1, 6, 0)));
        let publish = Publish::new(clock.clone()).with_transport(stub.clone());
        let job = Job {
            digest: config.digest("m").unwrap(),
            period: "2024-07".parse().unwrap(),
            scheduled_at: clock.now(),
        };
        let first = publish.run(&config, &job, &Stop::new()).unwrap_err();
        assert!(
            format!("{first:#}").contains("1 sent, 1 failed, 1 deferred"),
            "{first:#}"
        );
        let second = publish.run(&config, &job, &Stop::new()).unwrap();
        let detail = second.detail();
        assert!(
            detail.contains("sent 2, failed 1") && detail.contains("(1 sent by this attempt)"),
            "{detail}"
        );
        assert_eq!(stub.delivered(), ["ann@x.example", "bob@x.example"]);
    }

    /// A monthly digest `m` with review (deadline 2 hours after 06:00 on the 1st, then
    /// `on_deadline`) and a list of two, with one July article; and its configuration with keys.
    fn reviewed(on_deadline: &str) -> (Project, Config) {
        let p = Project::new(&format!(
            "[digests.m]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n\
             lists = [\"l\"]\nreview = \"required\"\nreviewers = [\"ed@x.example\"]\n\
             review_deadline = \"2h\"\non_deadline = \"{on_deadline}\"\n\n\
             [mail]\nfrom = \"d@s.example\"\n\n[lists.l]\n\
             members = [\"ann@x.example\", \"bob@x.example\"]\n\n\
             [smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\n",
        ));
        p.articles(&["2024-07-10T10:00:00Z"]);
        let mut config = p.config();
        config.sending.unsubscribe_keys = Some(crate::config::Secret::new(
            "t1:test-secret-test-secret-test-secret-0001",
        ));
        (p, config)
    }

    #[test]
    fn at_the_review_deadline_an_unapproved_issue_is_sent_anyway_or_skipped() {
        // Without the deadline an issue nobody approved would wait forever (or go out unasked).
        use crate::mail::transport::stub::Stub;
        use crate::store::ReviewState;
        let july: Period = "2024-07".parse().unwrap();
        let readers = ["ann@x.example", "bob@x.example"];
        for (on_deadline, status, state, sent) in [
            (
                "send",
                RunStatus::Sent,
                ReviewState::SentAtDeadline,
                &readers[..],
            ),
            (
                "skip",
                RunStatus::SkippedReview,
                ReviewState::Skipped,
                &[][..],
            ),
        ] {
            let (p, config) = reviewed(on_deadline);
            let fire = utc(2024, 8, 1, 6, 0);
            let clock = Arc::new(ManualClock::new(fire));
            let stub = Arc::new(Stub::new());
            let publish = Publish::new(clock.clone()).with_transport(stub.clone());
            let mut s = scheduler(&p, &clock, Arc::new(publish));
            walk(
                &mut s,
                &clock,
                &config,
                fire + Duration::minutes(119),
                Duration::minutes(7),
            );
            // Only the reviewer was mailed, once; the run waits.
            assert_eq!(stub.delivered(), ["ed@x.example"], "{on_deadline}");
            let run = p.run("m", "2024-07").unwrap();
            assert_eq!(run.status, RunStatus::AwaitingReview, "{}", run.detail);
            assert!(run.detail.contains("awaiting review by ed@x.example until Thu 2024-08-01 08:00:00 UTC (then: {on_deadline})".replace("{on_deadline}", on_deadline).as_str()), "{}", run.detail);
            clock.set(fire + Duration::hours(2));
            walk(
                &mut s,
                &clock,
                &config,
                fire + Duration::hours(5),
                Duration::minutes(10),
            );
            let run = p.run("m", "2024-07").unwrap();
            assert_eq!(run.status, status, "{on_deadline}: {}", run.detail);
            let mut want = vec!["ed@x.example"];
            want.extend(sent);
            assert_eq!(stub.delivered(), want, "{on_deadline}");
            let review = p.store().review("m", july).unwrap().unwrap();
            assert_eq!(
                (review.state, review.decided_by.as_deref()),
                (state, Some("deadline"))
            );
            if on_deadline == "skip" {
                assert!(
                    run.detail.contains("not sent (on_deadline = skip)"),
                    "{}",
                    run.detail
                );
            } else {
                assert!(
                    run.detail.contains("sent without approval"),
                    "{}",
                    run.detail
                );
            }
        }
    }

    #[test]
    fn an_approval_before_the_deadline_sends_at_the_next_look_and_only_once() {
        // Two approvals (a reviewer on the web, an editor on the command line) must send once.
        use crate::mail::transport::stub::Stub;
        use crate::store::Approval;
        let july: Period = "2024-07".parse().unwrap();
        let (p, config) = reviewed("skip");
        let fire = utc(2024, 8, 1, 6, 0);
        let clock = Arc::new(ManualClock::new(fire));
        let stub = Arc::new(Stub::new());
        let publish = Publish::new(clock.clone()).with_transport(stub.clone());
        let mut s = scheduler(&p, &clock, Arc::new(publish));
        s.tick(&config).unwrap();
        clock.advance(Duration::minutes(30));
        let first = p
            .store()
            .approve("m", july, "ed@x.example", clock.now())
            .unwrap();
        let second = p.store().approve("m", july, "cli", clock.now()).unwrap();
        assert!(matches!(first, Approval::Approved(_)), "{first:?}");
        assert!(matches!(second, Approval::AlreadyDecided(_)), "{second:?}");
        assert_eq!(p.run("m", "2024-07").unwrap().status, RunStatus::Approved);
        walk(
            &mut s,
            &clock,
            &config,
            fire + Duration::hours(4),
            Duration::minutes(10),
        );
        assert_eq!(
            stub.delivered(),
            ["ed@x.example", "ann@x.example", "bob@x.example"]
        );
        let run = p.run("m", "2024-07").unwrap();
        assert_eq!(run.status, RunStatus::Sent, "{}", run.detail);
        assert!(!run.detail.contains("without approval"), "{}", run.detail);
    }
}
