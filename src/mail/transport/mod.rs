//! Transports: where finished messages go. One module per transport, as in lettre: SMTP to a relay,
//! `.eml` files in a folder (dry-run samples and offline use), and a scripted stub for tests. The
//! send loop holds an `Arc<dyn Transport>` and opens one [`Connection`] per worker.

pub mod file;
pub mod smtp;
pub mod stub;

use lettre::address::Envelope;

use super::Error;

/// Opens connections; one per worker.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// Opens a connection, ready to take messages. A transient error (refused, timed out, a 4xx
    /// greeting) means the relay is unreachable for now; [`Error::Fatal`] that it never will be
    /// with this configuration.
    async fn connect(&self) -> Result<Box<dyn Connection>, Error>;

    /// Where messages go, for people: `smtp.example.com:587 (STARTTLS)` or a folder.
    fn describe(&self) -> String;
}

/// One open connection.
#[async_trait::async_trait]
pub trait Connection: Send {
    /// Hands over one message; the server's reply on success, for the ledger. After an error for
    /// which [`Error::needs_reset`] holds, call [`Connection::reset`] before the next message;
    /// after one for which [`Error::drops_connection`] holds, drop the connection.
    async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Error>;

    /// Abandons a transaction refused part-way (`RSET`), keeping the connection.
    async fn reset(&mut self) -> Result<(), Error>;

    /// Closes the connection politely.
    async fn close(self: Box<Self>);
}
