//! Transports: where finished messages go. One module per transport, as in lettre: SMTP to a relay,
//! or `.eml` files in a folder (dry-run samples and offline use).

pub mod file;
pub mod smtp;

use lettre::address::Envelope;

use super::Error;

/// Opens connections; one per worker.
#[derive(Debug, Clone)]
pub enum Connector {
    /// An SMTP relay.
    Smtp(smtp::Connector),
    /// A folder of `.eml` files.
    File(file::Folder),
}

/// One open connection.
pub enum Connection {
    /// To an SMTP relay.
    Smtp(Box<smtp::Connection>),
    /// To a folder.
    File(file::Folder),
}

impl Connector {
    /// Opens a connection.
    pub async fn connect(&self) -> Result<Connection, Error> {
        match self {
            Connector::Smtp(c) => c.connect().await.map(|c| Connection::Smtp(Box::new(c))),
            Connector::File(f) => Ok(Connection::File(f.clone())),
        }
    }

    /// Where messages go, for people: `smtp.example.com:587 (starttls)` or a folder.
    pub fn describe(&self) -> String {
        match self {
            Connector::Smtp(c) => c.describe(),
            Connector::File(f) => format!("folder {}", f.path().display()),
        }
    }
}

impl Connection {
    /// Hands over one message; the server's reply on success.
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Error> {
        match self {
            Connection::Smtp(c) => c.send(envelope, message).await,
            Connection::File(f) => f.write(envelope, message),
        }
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        if let Connection::Smtp(c) = self {
            c.close().await;
        }
    }
}
