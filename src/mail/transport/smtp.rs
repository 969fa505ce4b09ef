//! SMTP through lettre with tokio. Connections are opened on our own TCP socket with
//! `TCP_NODELAY` set: lettre writes a message's body and its final `.` separately, and with Nagle's
//! algorithm on, each message waited for a delayed ACK (~40 ms): 360 msgs/s instead of ~20,000
//! against Postfix's smtp-sink on loopback (see BENCHMARKS.md). TLS is explicit: implicit TLS,
//! STARTTLS required, or plain text only for a loopback host.
//!
//! A refusal keeps the connection: after a refused `MAIL`, `RCPT` or `DATA` the send loop says
//! `RSET` and goes on. When the server offers the SIZE extension, `MAIL FROM` declares the
//! message's size, so a message over the server's limit is refused before its upload.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::{Smtp, Tls};
use crate::mail::Error;
use crate::mail::error::Stage;

/// Opens SMTP connections to one relay.
#[derive(Clone)]
pub struct Connector {
    host: String,
    port: u16,
    tls: Tls,
    hello: ClientId,
    timeout: Duration,
    starttls: Option<TlsParameters>,
    implicit: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never prints the credentials.
        f.write_str(&self.describe())
    }
}

impl Connector {
    /// A connector for `smtp`; reads the extra CA file if one is configured.
    pub fn new(smtp: &Smtp) -> anyhow::Result<Connector> {
        use anyhow::Context as _;
        let extra = match &smtp.ca_file {
            Some(path) => crate::tls::pem_certificates(path, "smtp.ca_file")?,
            None => Vec::new(),
        };
        let (starttls, implicit) = match smtp.tls {
            Tls::None => (None, None),
            Tls::StartTls => {
                let mut builder = TlsParameters::builder(smtp.host.clone());
                for der in &extra {
                    builder = builder.add_root_certificate(Certificate::from_der(der.to_vec())?);
                }
                (Some(builder.build_rustls()?), None)
            }
            Tls::Implicit => {
                let config = crate::tls::client_config(extra)?;
                let name = ServerName::try_from(smtp.host.clone()).with_context(|| {
                    format!("smtp.host {:?} is not a valid TLS server name", smtp.host)
                })?;
                (
                    None,
                    Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name)),
                )
            }
        };
        // The configured name, or the configuration's fully qualified default.
        let hello = ClientId::Domain(smtp.hello_name.clone());
        Ok(Connector {
            host: smtp.host.clone(),
            port: smtp.port,
            tls: smtp.tls,
            hello,
            timeout: smtp.timeout,
            starttls,
            implicit,
            credentials: smtp
                .credentials
                .as_ref()
                .map(|c| Credentials::new(c.username.clone(), c.password.expose().to_string())),
        })
    }

    /// `host:port (tls mode)`.
    pub fn describe(&self) -> String {
        describe_parts(&self.host, self.port, self.tls)
    }

    /// Connects, greets, secures and logs in, each step bounded by the timeout.
    pub async fn connect(&self) -> Result<Connection, Error> {
        let where_ = self.describe();
        let step = |what: &str, e: String| Error::Connection(format!("{where_}: {what}: {e}"));
        let tcp = tokio::time::timeout(
            self.timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| step("connecting", "timed out".into()))?
        .map_err(|e| step("connecting", e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| step("setting TCP_NODELAY", e.to_string()))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.implicit {
            Some((connector, name)) => {
                let tls = tokio::time::timeout(self.timeout, connector.connect(name.clone(), tcp))
                    .await
                    .map_err(|_| step("TLS handshake", "timed out".into()))?
                    .map_err(|e| Error::Fatal(format!("{where_}: TLS handshake failed: {e}")))?;
                Box::new(TlsStream(tls))
            }
            None => Box::new(tcp),
        };
        let timed = |what: &'static str| move |_| step(what, "timed out".into());
        let mut conn = tokio::time::timeout(
            self.timeout,
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello),
        )
        .await
        .map_err(timed("greeting"))?
        .map_err(|e| match Error::from_smtp(Stage::Greeting, &e) {
            e if e.is_permanent() => Error::Fatal(format!("{where_}: the server refused us: {e}")),
            e => e,
        })?;
        if let Some(params) = &self.starttls {
            if !conn.can_starttls() {
                return Err(Error::Fatal(format!(
                    "{where_}: the server does not offer STARTTLS, and tls = \"starttls\" requires it"
                )));
            }
            tokio::time::timeout(self.timeout, conn.starttls(params.clone(), &self.hello))
                .await
                .map_err(timed("STARTTLS"))?
                .map_err(|e| Error::Fatal(format!("{where_}: STARTTLS failed: {e}")))?;
        }
        // lettre keeps only the extensions it knows, and SIZE is not one: ask again (RFC 5321
        // allows EHLO at any time; it resets no more than RSET does), before logging in. A server
        // that refuses a second EHLO gets no SIZE declared.
        let ehlo = conn.command(Ehlo::new(self.hello.clone()));
        let size = match tokio::time::timeout(self.timeout, ehlo)
            .await
            .map_err(timed("EHLO"))?
        {
            Ok(reply) => offers_size(&reply),
            Err(e) if e.status().is_some() => false,
            Err(e) => return Err(step("EHLO", e.to_string())),
        };
        if let Some(credentials) = &self.credentials {
            tokio::time::timeout(
                self.timeout,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await
            .map_err(timed("login"))?
            .map_err(|e| match Error::from_smtp(Stage::Greeting, &e) {
                // The reply is the server's; the credentials are never part of it.
                e if e.is_transient() => e,
                e => Error::Fatal(format!("{where_}: login refused: {e}")),
            })?;
        }
        Ok(Connection {
            conn,
            timeout: self.timeout,
            size,
        })
    }
}

#[async_trait::async_trait]
impl super::Transport for Connector {
    async fn connect(&self) -> Result<Box<dyn super::Connection>, Error> {
        // The inherent `connect` (a concrete connection, which the benchmarks use).
        Ok(Box::new(Connector::connect(self).await?))
    }

    fn describe(&self) -> String {
        Connector::describe(self)
    }
}

/// Whether an EHLO reply offers the SIZE extension (RFC 1870): a line `SIZE` or `SIZE <limit>`.
fn offers_size(ehlo: &Response) -> bool {
    ehlo.message().skip(1).any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("SIZE"))
    })
}

/// The relay configured by `smtp`, for people: `host:port (tls mode)`.
pub fn describe(smtp: &Smtp) -> String {
    describe_parts(&smtp.host, smtp.port, smtp.tls)
}

fn describe_parts(host: &str, port: u16, tls: Tls) -> String {
    let tls = match tls {
        Tls::Implicit => "implicit TLS",
        Tls::StartTls => "STARTTLS",
        Tls::None => "plain text",
    };
    format!("{host}:{port} ({tls})")
}

/// An open, ready SMTP connection.
pub struct Connection {
    conn: AsyncSmtpConnection,
    timeout: Duration,
    /// The server offers SIZE: `MAIL FROM` declares the message's size.
    size: bool,
}

impl Connection {
    /// Sends one message; the server's final reply on success.
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Error> {
        // Generous for large messages, bounded for a stalled server.
        let limit = self.timeout + Duration::from_millis(message.len() as u64 / 100);
        let response = tokio::time::timeout(limit, self.transaction(envelope, message))
            .await
            .map_err(|_| Error::Connection(format!("no reply within {}s", limit.as_secs())))??;
        Ok(format!(
            "{} {}",
            response.code(),
            response.message().collect::<Vec<_>>().join(" ")
        ))
    }

    /// lettre's `send` (MAIL, RCPT, DATA, body), except that an ASCII message goes out
    /// dot-stuffed by [`DataBody`] in one write rather than through lettre's byte-at-a-time codec,
    /// which took a quarter of the sender's CPU (BENCHMARKS.md); other messages (they need
    /// 8BITMIME) take lettre's codec. Unlike lettre's, a refusal leaves the connection open: the
    /// caller says `RSET` (see [`Error::needs_reset`]).
    async fn transaction(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Response, Error> {
        let info = self.conn.server_info();
        let mut params = Vec::new();
        if !ascii_addresses(envelope) {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(Error::Unsendable(
                    "the address is not ASCII and the server does not offer SMTPUTF8".into(),
                ));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        let ascii = std::str::from_utf8(message).ok().filter(|t| t.is_ascii());
        if ascii.is_none() {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(Error::Unsendable(
                    "the message is not ASCII and the server does not offer 8BITMIME".into(),
                ));
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        if self.size {
            params.push(MailParameter::Size(message.len()));
        }
        let at = |stage| move |e| Error::from_smtp(stage, &e);
        let conn = &mut self.conn;
        conn.command(Mail::new(envelope.from().cloned(), params))
            .await
            .map_err(at(Stage::Mail))?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), vec![]))
                .await
                .map_err(at(Stage::Rcpt))?;
        }
        conn.command(Data).await.map_err(at(Stage::Data))?;
        match ascii {
            Some(text) => conn.command(DataBody(text)).await,
            None => conn.message(message).await,
        }
        .map_err(at(Stage::Body))
    }

    /// Says `RSET`: the refused transaction is abandoned and the connection stays.
    pub async fn reset(&mut self) -> Result<(), Error> {
        tokio::time::timeout(self.timeout, self.conn.command(Rset))
            .await
            .map_err(|_| Error::Connection("no reply to RSET".into()))?
            .map_err(|e| Error::Connection(format!("RSET: {e}")))?;
        Ok(())
    }

    /// Says QUIT (briefly) and closes.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.conn.quit()).await;
    }
}

#[async_trait::async_trait]
impl super::Connection for Connection {
    async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Error> {
        Connection::send(self, envelope, message).await
    }

    async fn reset(&mut self) -> Result<(), Error> {
        Connection::reset(self).await
    }

    async fn close(self: Box<Self>) {
        Connection::close(*self).await
    }
}

/// Whether every address of `envelope` is ASCII (else MAIL needs SMTPUTF8).
fn ascii_addresses(envelope: &Envelope) -> bool {
    envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .all(|a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii())
}

/// A message as the DATA command sends it: a `.` starting a line is doubled (RFC 5321 4.5.2,
/// exactly where lettre's codec doubles it: after CRLF, or at the very start), then CRLF `.` CRLF.
struct DataBody<'a>(&'a str);

impl std::fmt::Display for DataBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The dots to double are found with memmem's vectorised search, and the text between
        // them, usually all of it, is written whole (not line by line).
        let text = self.0;
        if text.starts_with('.') {
            f.write_str(".")?;
        }
        let mut from = 0;
        for at in memchr::memmem::find_iter(text.as_bytes(), b"\r\n.") {
            let dot = at + 2;
            f.write_str(&text[from..dot])?;
            f.write_str(".")?;
            from = dot;
        }
        f.write_str(&text[from..])?;
        f.write_str("\r\n.\r\n")
    }
}

/// Implicit TLS over our own `TCP_NODELAY` socket, handed to lettre as an existing stream.
#[derive(Debug)]
struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_extension_is_read_from_the_ehlo_reply_lines_after_the_greeting() {
        use lettre::transport::smtp::response::{Category, Code, Detail, Severity};
        let ehlo = |lines: &[&str]| {
            let code = Code::new(
                Severity::PositiveCompletion,
                Category::MailSystem,
                Detail::Zero,
            );
            Response::new(code, lines.iter().map(|l| l.to_string()).collect())
        };
        assert!(offers_size(&ehlo(&[
            "mx.example",
            "PIPELINING",
            "SIZE 10240000"
        ])));
        assert!(offers_size(&ehlo(&["mx.example", "size"])));
        assert!(!offers_size(&ehlo(&["mx.example", "8BITMIME", "SIZEX 5"])));
        assert!(
            !offers_size(&ehlo(&["SIZE"])),
            "the first line names the server"
        );
    }

    #[test]
    fn a_dot_starting_a_line_is_doubled_and_the_body_ends_with_the_terminator() {
        let body = DataBody(".top\r\n..two\r\nmid.dle\r\n.\r\nbare\n.lf\r.cr\r\n.");
        assert_eq!(
            body.to_string(),
            "..top\r\n...two\r\nmid.dle\r\n..\r\nbare\n.lf\r.cr\r\n..\r\n.\r\n"
        );
        assert_eq!(DataBody("").to_string(), "\r\n.\r\n");
    }
}
