//! A scripted transport for tests: no network, replies chosen per recipient and per SMTP step,
//! relay outages, delays, and a record of what happened (deliveries, connections opened, uploads,
//! `RSET`s). It behaves like a strict server: after a refusal part-way through a transaction, the
//! next message on that connection is refused with `503` unless the client said `RSET` first.
//! Delays and outages follow tokio's clock, so tests run them in paused time.
//!
//! ```
//! use digest::mail::error::Stage;
//! use digest::mail::transport::stub::{Script, Stub};
//! let stub = Stub::new();
//! stub.script(Script::reply(Stage::Rcpt, "550 5.1.1 user unknown").to("ann@example.com"));
//! stub.script(Script::reply(Stage::Rcpt, "451 4.7.1 greylisted").times(2));
//! stub.refuse_connections(3);
//! ```

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lettre::address::Envelope;
use tokio::time::Instant;

use super::{Connection, Transport};
use crate::mail::Error;
use crate::mail::error::{Reply, Stage};

/// What a scripted step does.
#[derive(Debug, Clone)]
enum Action {
    /// The server replies with this refusal.
    Reply(Reply),
    /// The connection breaks (an I/O error) at this step.
    Drop,
}

/// One scripted step: at `stage`, for a recipient (or anyone), do something, a number of times
/// (or always).
#[derive(Debug, Clone)]
pub struct Script {
    stage: Stage,
    action: Action,
    to: Option<String>,
    times: Option<u32>,
}

impl Script {
    /// The server refuses at `stage` with `line` (`550 5.1.1 <x@y>: User unknown`).
    ///
    /// # Panics
    /// If `line` is not a 4xx or 5xx reply: a mistake in the test.
    pub fn reply(stage: Stage, line: &str) -> Script {
        let reply = Reply::parse(line)
            .filter(|r| r.code >= 400)
            .unwrap_or_else(|| panic!("not a 4xx or 5xx reply: {line:?}"));
        Script {
            stage,
            action: Action::Reply(reply),
            to: None,
            times: None,
        }
    }

    /// The connection breaks at `stage` (for `Stage::Body`: after the upload, before the reply).
    pub fn drop_connection(stage: Stage) -> Script {
        Script {
            stage,
            action: Action::Drop,
            to: None,
            times: None,
        }
    }

    /// Only for messages to `address` (by default, for every message).
    pub fn to(mut self, address: &str) -> Script {
        self.to = Some(address.to_string());
        self
    }

    /// Only the first `n` times it applies (by default, always).
    pub fn times(mut self, n: u32) -> Script {
        self.times = Some(n);
        self
    }

    /// Whether it applies at `stage` to a message for `to`, and has uses left.
    fn applies(&self, stage: Stage, to: &[String]) -> bool {
        self.stage == stage
            && self.times != Some(0)
            && self.to.as_ref().is_none_or(|a| to.contains(a))
    }
}

/// What the stub saw.
#[derive(Debug, Default)]
struct State {
    scripts: Vec<Script>,
    refusals: u32,
    down_until: Option<Instant>,
    delay: Duration,
    connect_attempts: usize,
    connections: usize,
    transactions: usize,
    uploads: usize,
    resets: usize,
    accepted: Vec<(Instant, Envelope)>,
}

/// The scripted transport. Clones share the script and the record.
#[derive(Debug, Clone, Default)]
pub struct Stub {
    state: Arc<Mutex<State>>,
}

impl Stub {
    /// A stub that accepts everything.
    pub fn new() -> Stub {
        Stub::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a scripted step; the first step that applies wins.
    pub fn script(&self, script: Script) -> &Stub {
        self.state().scripts.push(script);
        self
    }

    /// The next `n` connection attempts are refused.
    pub fn refuse_connections(&self, n: u32) -> &Stub {
        self.state().refusals = n;
        self
    }

    /// The relay is down (connections refused) for `span` from now.
    pub fn down_for(&self, span: Duration) -> &Stub {
        self.state().down_until = Some(Instant::now() + span);
        self
    }

    /// Every message takes `delay` before its reply.
    pub fn delay(&self, delay: Duration) -> &Stub {
        self.state().delay = delay;
        self
    }

    /// The envelopes of accepted messages, in order.
    pub fn envelopes(&self) -> Vec<Envelope> {
        self.state()
            .accepted
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// When each accepted message was accepted (tokio's clock), in order.
    pub fn accepted_at(&self) -> Vec<Instant> {
        self.state().accepted.iter().map(|(at, _)| *at).collect()
    }

    /// Recipients of accepted messages, one entry per delivery, in order.
    pub fn delivered(&self) -> Vec<String> {
        let s = self.state();
        let to = s.accepted.iter().flat_map(|(_, e)| e.to());
        to.map(ToString::to_string).collect()
    }

    /// Connection attempts, refused or not.
    pub fn connect_attempts(&self) -> usize {
        self.state().connect_attempts
    }

    /// Connections opened.
    pub fn connections(&self) -> usize {
        self.state().connections
    }

    /// Transactions begun (`MAIL FROM` commands).
    pub fn transactions(&self) -> usize {
        self.state().transactions
    }

    /// Message bodies uploaded (accepted or refused after the upload).
    pub fn uploads(&self) -> usize {
        self.state().uploads
    }

    /// `RSET` commands.
    pub fn resets(&self) -> usize {
        self.state().resets
    }
}

#[async_trait::async_trait]
impl Transport for Stub {
    async fn connect(&self) -> Result<Box<dyn Connection>, Error> {
        let mut s = self.state();
        s.connect_attempts += 1;
        let down = s.down_until.is_some_and(|until| Instant::now() < until);
        if s.refusals > 0 || down {
            s.refusals = s.refusals.saturating_sub(1);
            return Err(Error::Connection(
                "stub: connecting: connection refused".into(),
            ));
        }
        s.connections += 1;
        Ok(Box::new(StubConnection {
            stub: self.clone(),
            open_transaction: false,
            broken: false,
        }))
    }

    fn describe(&self) -> String {
        "stub transport".into()
    }
}

/// One connection to the stub.
struct StubConnection {
    stub: Stub,
    /// A transaction was refused part-way and not reset.
    open_transaction: bool,
    /// The connection broke or was closed by the server.
    broken: bool,
}

impl StubConnection {
    /// Runs the scripted step for `stage`, if any.
    fn step(&mut self, stage: Stage, to: &[String]) -> Result<(), Error> {
        let mut s = self.stub.state();
        let Some(script) = s.scripts.iter_mut().find(|x| x.applies(stage, to)) else {
            return Ok(());
        };
        if let Some(n) = script.times.as_mut() {
            *n -= 1;
        }
        match script.action.clone() {
            Action::Drop => {
                self.broken = true;
                Err(Error::Connection("stub: connection reset by peer".into()))
            }
            Action::Reply(reply) => {
                self.broken = reply.code == 421;
                self.open_transaction = stage != Stage::Body;
                Err(Error::Rejected { stage, reply })
            }
        }
    }
}

#[async_trait::async_trait]
impl Connection for StubConnection {
    async fn send(&mut self, envelope: &Envelope, _message: &[u8]) -> Result<String, Error> {
        if self.broken {
            return Err(Error::Connection("stub: the connection is closed".into()));
        }
        if self.open_transaction {
            let reply = Reply::new(503, "5.5.1 Error: nested MAIL command");
            return Err(Error::Rejected {
                stage: Stage::Mail,
                reply,
            });
        }
        let delay = self.stub.state().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let to: Vec<String> = envelope.to().iter().map(ToString::to_string).collect();
        self.stub.state().transactions += 1;
        self.step(Stage::Mail, &to)?;
        self.step(Stage::Rcpt, &to)?;
        self.step(Stage::Data, &to)?;
        self.stub.state().uploads += 1;
        self.step(Stage::Body, &to)?;
        let at = Instant::now();
        self.stub.state().accepted.push((at, envelope.clone()));
        Ok("250 2.0.0 accepted by the stub".into())
    }

    async fn reset(&mut self) -> Result<(), Error> {
        if self.broken {
            return Err(Error::Connection("stub: the connection is closed".into()));
        }
        self.open_transaction = false;
        self.stub.state().resets += 1;
        Ok(())
    }

    async fn close(self: Box<Self>) {}
}
