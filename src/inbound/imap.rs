//! Reading returned mail from an IMAP mailbox (`[inbound.imap]`), over TLS only (IMAPS, or
//! STARTTLS required), with the server's certificate always verified (the bundled web roots plus
//! `ca_file`).
//!
//! The caller lists the messages still in the mailbox ([`Mailbox::pending`]), fetches each
//! ([`Mailbox::fetch`], `BODY.PEEK[]`: reading sets no flag), commits what it says, and only then
//! moves it to the processed mailbox ([`Mailbox::done`]: flagged `\Seen`, then `UID MOVE`, or
//! `UID COPY` + `\Deleted` + `UID EXPUNGE` on a server without MOVE). A crash before the commit
//! leaves the message in the mailbox, to be read again; a crash between the commit and the move
//! reads it again too, and the store's once-only claim records nothing twice.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use async_imap::{Client, Session};
use futures_util::TryStreamExt as _;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::MAX_MESSAGE;
use crate::config::{Imap, ImapTls};

type Stream = TlsStream<TcpStream>;

/// Where the password comes from.
pub const PASSWORD_VAR: &str = "DIGEST__INBOUND__IMAP__PASSWORD";

/// A logged-in session with the configured mailbox selected.
pub struct Mailbox {
    session: Session<Stream>,
    /// Where processed messages go.
    processed: String,
    /// The server moves messages itself (RFC 6851).
    can_move: bool,
    /// The server expunges single messages by UID (RFC 4315).
    uidplus: bool,
    /// The mailbox's UIDVALIDITY: with a UID, names a message for good.
    pub uid_validity: u32,
    timeout: Duration,
    describe: String,
}

/// `what` within `timeout`, its error said with `what`.
async fn step<T, E: Explain>(
    what: &str,
    timeout: Duration,
    work: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(anyhow!("{what}: {}", e.explain())),
        Err(_) => Err(anyhow!("{what}: no answer within {}s", timeout.as_secs())),
    }
}

/// An error said for people.
trait Explain {
    fn explain(&self) -> String;
}

impl Explain for std::io::Error {
    fn explain(&self) -> String {
        self.to_string()
    }
}

impl Explain for async_imap::error::Error {
    /// A NO or BAD with the server's own text (the client wraps it in debug notation).
    fn explain(&self) -> String {
        use async_imap::error::Error;
        let (answer, text) = match self {
            Error::No(text) => ("NO", text),
            Error::Bad(text) => ("BAD", text),
            other => return other.to_string(),
        };
        let info = text
            .split_once("info: Some(\"")
            .and_then(|(_, rest)| rest.strip_suffix("\")"))
            .map(|info| info.replace("\\\"", "\""));
        format!(
            "the server answered {answer}: {}",
            info.as_deref().unwrap_or(text)
        )
    }
}

impl Mailbox {
    /// Connects, secures (verifying the certificate), logs in, selects the mailbox and makes sure
    /// the processed mailbox exists. Errors name the server, never the password.
    pub async fn open(imap: &Imap) -> Result<Mailbox> {
        let describe = imap.describe();
        Self::connect(imap)
            .await
            .with_context(|| format!("IMAP {describe}"))
    }

    async fn connect(imap: &Imap) -> Result<Mailbox> {
        let Some(password) = &imap.password else {
            bail!("the password is missing: set {PASSWORD_VAR}");
        };
        let t = imap.timeout;
        let extra = match &imap.ca_file {
            Some(path) => crate::tls::pem_certificates(path, "inbound.imap.ca_file")?,
            None => Vec::new(),
        };
        let tls = tokio_rustls::TlsConnector::from(Arc::new(crate::tls::client_config(extra)?));
        let name = ServerName::try_from(imap.host.clone())
            .with_context(|| format!("{:?} is not a valid TLS server name", imap.host))?;
        let addr = (imap.host.as_str(), imap.port);
        let tcp = step("connecting", t, TcpStream::connect(addr)).await?;
        tcp.set_nodelay(true).context("setting TCP_NODELAY")?;
        let tcp = match imap.tls {
            ImapTls::Implicit => tcp,
            ImapTls::StartTls => {
                let mut plain = Client::new(tcp);
                greeting(&mut plain, t).await?;
                let starttls = plain.run_command_and_check_ok("STARTTLS", None);
                step("STARTTLS (required by tls = \"starttls\")", t, starttls).await?;
                // Whatever the server sent after its answer, before TLS, is dropped unread.
                plain.into_inner()
            }
        };
        let stream = step("TLS handshake", t, tls.connect(name, tcp)).await?;
        let mut client = Client::new(stream);
        if imap.tls == ImapTls::Implicit {
            greeting(&mut client, t).await?;
        }
        let login = client.login(&imap.username, password.expose());
        let mut session = match tokio::time::timeout(t, login).await {
            Ok(Ok(session)) => session,
            Ok(Err((e, _))) => bail!("login as {:?} refused: {}", imap.username, e.explain()),
            Err(_) => bail!("login: no answer within {}s", t.as_secs()),
        };
        let capabilities = step("CAPABILITY", t, session.capabilities()).await?;
        let can_move = capabilities.has_str("MOVE");
        let uidplus = capabilities.has_str("UIDPLUS");
        let mut mailbox = Mailbox {
            session,
            processed: imap.processed.clone(),
            can_move,
            uidplus,
            uid_validity: 0,
            timeout: t,
            describe: imap.describe(),
        };
        mailbox.ensure_processed().await?;
        let selected = step(
            &format!("selecting {:?}", imap.mailbox),
            t,
            mailbox.session.select(&imap.mailbox),
        )
        .await?;
        mailbox.uid_validity = selected.uid_validity.unwrap_or(0);
        Ok(mailbox)
    }

    /// Creates the processed mailbox unless it exists.
    async fn ensure_processed(&mut self) -> Result<()> {
        let t = self.timeout;
        let pattern = quote(&self.processed);
        let names: Vec<_> = step("LIST", t, async {
            self.session
                .list(Some(""), Some(&pattern))
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if names.iter().any(|n| n.name() == self.processed) {
            return Ok(());
        }
        let what = format!("creating the mailbox {:?}", self.processed);
        step(&what, t, self.session.create(&self.processed)).await
    }

    /// The UIDs of the messages in the mailbox not flagged `\Deleted`, in order. Seen or not:
    /// reading a bounce in a mail client does not hide it from digest.
    pub async fn pending(&mut self) -> Result<Vec<u32>> {
        let uids: HashSet<u32> = step(
            "UID SEARCH",
            self.timeout,
            self.session.uid_search("UNDELETED"),
        )
        .await
        .with_context(|| format!("IMAP {}", self.describe))?;
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The first [`MAX_MESSAGE`] bytes of message `uid`, without flagging it seen; `None` if it is
    /// gone (another client moved or expunged it).
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>> {
        let query = format!("(UID BODY.PEEK[]<0.{MAX_MESSAGE}>)");
        let what = format!("fetching UID {uid}");
        let fetched = step(&what, self.timeout, async {
            self.session
                .uid_fetch(uid.to_string(), &query)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await
        .with_context(|| format!("IMAP {}", self.describe))?;
        Ok(fetched
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec))
    }

    /// Moves message `uid`, whose findings are committed, to the processed mailbox, flagged seen.
    pub async fn done(&mut self, uid: u32) -> Result<()> {
        self.move_out(uid)
            .await
            .with_context(|| format!("IMAP {}: moving UID {uid}", self.describe))
    }

    async fn move_out(&mut self, uid: u32) -> Result<()> {
        let (t, set) = (self.timeout, uid.to_string());
        self.flag(&set, "\\Seen").await?;
        if self.can_move {
            return step("UID MOVE", t, self.session.uid_mv(&set, &self.processed)).await;
        }
        step("UID COPY", t, self.session.uid_copy(&set, &self.processed)).await?;
        self.flag(&set, "\\Deleted").await?;
        // Without UIDPLUS the message stays, flagged deleted, which `pending` skips: a plain
        // EXPUNGE would also remove what others flagged.
        if self.uidplus {
            let expunged = async {
                let stream = self.session.uid_expunge(&set).await?;
                stream.try_collect::<Vec<_>>().await
            };
            step("UID EXPUNGE", t, expunged).await?;
        }
        Ok(())
    }

    /// Adds `flag` to the messages of the UID set `set`.
    async fn flag(&mut self, set: &str, flag: &str) -> Result<()> {
        let query = format!("+FLAGS.SILENT ({flag})");
        let stored = async {
            let stream = self.session.uid_store(set, &query).await?;
            stream.try_collect::<Vec<_>>().await
        };
        step(&format!("flagging it {flag}"), self.timeout, stored).await?;
        Ok(())
    }

    /// Logs out; a failure to do so changes nothing and is ignored.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(self.timeout, self.session.logout()).await;
    }
}

/// Reads the server's greeting.
async fn greeting(client: &mut Client<impl AsyncStream>, timeout: Duration) -> Result<()> {
    match step("greeting", timeout, client.read_response()).await? {
        Some(_) => Ok(()),
        None => bail!("greeting: the server closed the connection"),
    }
}

/// What a client runs over.
trait AsyncStream:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send
{
}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send> AsyncStream
    for T
{
}

/// `name` as an IMAP quoted string (the configuration keeps out control characters).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_said_with_the_servers_own_text() {
        // A wrong password read `no response: code: None, info: Some("[AUTHENTICATIONFAILED] …")`.
        let info = Some("[AUTHENTICATIONFAILED] Authentication \"failed\".");
        let no = async_imap::error::Error::No(format!("code: {:?}, info: {info:?}", None::<u8>));
        assert_eq!(
            no.explain(),
            "the server answered NO: [AUTHENTICATIONFAILED] Authentication \"failed\"."
        );
        let bad = async_imap::error::Error::Bad("something else".into());
        assert_eq!(bad.explain(), "the server answered BAD: something else");
        assert_eq!(
            async_imap::error::Error::ConnectionLost.explain(),
            "connection lost"
        );
    }

    #[test]
    fn mailbox_names_are_quoted_for_list() {
        // A name with a quote or backslash must not end the IMAP string early.
        assert_eq!(quote("processed"), "\"processed\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
