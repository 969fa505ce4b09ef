//! SMTP through lettre with tokio. Connections are opened on our own TCP socket with
//! `TCP_NODELAY` set: lettre writes a message's body and its final `.` separately, and with Nagle's
//! algorithm on, each message waited for a delayed ACK (~40 ms): 360 msgs/s instead of ~20,000
//! against Postfix's smtp-sink on loopback (see BENCHMARKS.md). TLS is explicit: implicit TLS,
//! STARTTLS required, or plain text only for a loopback host.

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
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use rustls_pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::{Smtp, Tls};
use crate::mail::Error;

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
        let extra: Vec<Vec<u8>> = match &smtp.ca_file {
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("reading smtp.ca_file {}", path.display()))?;
                rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
                    .map(|c| c.map(|c| c.to_vec()))
                    .collect::<Result<_, _>>()
                    .with_context(|| {
                        format!("smtp.ca_file {}: not PEM certificates", path.display())
                    })?
            }
            None => Vec::new(),
        };
        let (starttls, implicit) = match smtp.tls {
            Tls::None => (None, None),
            Tls::StartTls => {
                let mut builder = TlsParameters::builder(smtp.host.clone());
                for der in &extra {
                    builder = builder.add_root_certificate(Certificate::from_der(der.clone())?);
                }
                (Some(builder.build_rustls()?), None)
            }
            Tls::Implicit => {
                let mut roots = rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                for der in extra {
                    roots.add(rustls_pki_types::CertificateDer::from(der))?;
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name = ServerName::try_from(smtp.host.clone()).with_context(|| {
                    format!("smtp.host {:?} is not a valid TLS server name", smtp.host)
                })?;
                (
                    None,
                    Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name)),
                )
            }
        };
        let hello = match &smtp.hello_name {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::default(),
        };
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
        .map_err(|e| match Error::from_smtp(&e) {
            Error::Permanent(r) => Error::Fatal(format!("{where_}: the server refused us: {r}")),
            other => other,
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
        if let Some(credentials) = &self.credentials {
            tokio::time::timeout(
                self.timeout,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await
            .map_err(timed("login"))?
            .map_err(|e| match Error::from_smtp(&e) {
                // The reply is the server's; the credentials are never part of it.
                e @ (Error::Transient(_) | Error::Connection(_)) => e,
                e => Error::Fatal(format!("{where_}: login refused: {e}")),
            })?;
        }
        Ok(Connection {
            conn,
            timeout: self.timeout,
        })
    }
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
}

impl Connection {
    /// Sends one message; the server's final reply on success.
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Error> {
        // Generous for large messages, bounded for a stalled server.
        let limit = self.timeout + Duration::from_millis(message.len() as u64 / 100);
        let response = tokio::time::timeout(limit, self.transaction(envelope, message))
            .await
            .map_err(|_| Error::Connection(format!("no reply within {}s", limit.as_secs())))?
            .map_err(|e| Error::from_smtp(&e))?;
        Ok(format!(
            "{} {}",
            response.code(),
            response.message().collect::<Vec<_>>().join(" ")
        ))
    }

    /// lettre's `send` (MAIL, RCPT, DATA, body), except that an ASCII message goes out
    /// dot-stuffed by [`DataBody`] in one write rather than through lettre's byte-at-a-time codec,
    /// which took a quarter of the sender's CPU (BENCHMARKS.md). Other messages (they need
    /// SMTPUTF8 or 8BITMIME) take lettre's own path. As in lettre, a failed step aborts the
    /// connection, which then reports itself broken.
    async fn transaction(&mut self, envelope: &Envelope, message: &[u8]) -> SmtpResult {
        let body = match std::str::from_utf8(message) {
            Ok(text) if text.is_ascii() && ascii_addresses(envelope) => DataBody(text),
            _ => return self.conn.send(envelope, message).await,
        };
        let conn = &mut self.conn;
        let steps = async {
            conn.command(Mail::new(envelope.from().cloned(), vec![]))
                .await?;
            for to in envelope.to() {
                conn.command(Rcpt::new(to.clone(), vec![])).await?;
            }
            conn.command(Data).await?;
            conn.command(body).await
        };
        let result = steps.await;
        if result.is_err() {
            self.conn.abort().await;
        }
        result
    }

    /// Says QUIT (briefly) and closes.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.conn.quit()).await;
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

type SmtpResult = Result<Response, lettre::transport::smtp::Error>;

/// A message as the DATA command sends it: a `.` starting a line is doubled (RFC 5321 4.5.2,
/// exactly where lettre's codec doubles it: after CRLF, or at the very start), then CRLF `.` CRLF.
struct DataBody<'a>(&'a str);

impl std::fmt::Display for DataBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Lines are found with `split_inclusive('\n')`, which searches with memchr.
        let mut line_start = true;
        for line in self.0.split_inclusive('\n') {
            if line_start && line.starts_with('.') {
                f.write_str(".")?;
            }
            f.write_str(line)?;
            line_start = line.ends_with("\r\n");
        }
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
    fn a_dot_starting_a_line_is_doubled_and_the_body_ends_with_the_terminator() {
        let body = DataBody(".top\r\n..two\r\nmid.dle\r\n.\r\nbare\n.lf\r.cr\r\n.");
        assert_eq!(
            body.to_string(),
            "..top\r\n...two\r\nmid.dle\r\n..\r\nbare\n.lf\r.cr\r\n..\r\n.\r\n"
        );
        assert_eq!(DataBody("").to_string(), "\r\n.\r\n");
    }
}
