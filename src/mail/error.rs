//! Sending errors, classified the way the ledger needs: retry later, give up on this recipient,
//! or stop the whole send.

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A 4xx reply: try again later.
    #[error("{0}")]
    Transient(String),
    /// A 5xx reply for this message or recipient: do not retry.
    #[error("{0}")]
    Permanent(String),
    /// The connection failed or broke (refused, reset, timeout): try again on a new connection.
    #[error("{0}")]
    Connection(String),
    /// Nothing can be sent with this configuration (TLS unavailable, login refused): stop.
    #[error("{0}")]
    Fatal(String),
}

impl Error {
    /// Worth retrying (4xx, connection trouble).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient(_) | Error::Connection(_))
    }

    /// A permanent failure for this recipient (5xx).
    pub fn is_permanent(&self) -> bool {
        matches!(self, Error::Permanent(_))
    }

    /// The whole send must stop.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::Fatal(_))
    }

    /// Whether the server asked everyone to slow down (421, 451, 452).
    pub fn is_throttle(&self) -> bool {
        matches!(self, Error::Transient(r) if ["421", "451", "452"].iter().any(|c| r.contains(c)))
    }

    /// Whether a permanent failure says the address does not exist (a hard bounce: 5.1.x).
    pub fn is_hard_bounce(&self) -> bool {
        let Error::Permanent(reply) = self else {
            return false;
        };
        let r = reply.to_ascii_lowercase();
        ["5.1.1", "5.1.2", "5.1.3", "5.1.10"]
            .iter()
            .any(|c| r.contains(c))
            || (r.contains("550")
                && [
                    "user unknown",
                    "no such user",
                    "does not exist",
                    "unknown user",
                    "mailbox unavailable",
                ]
                .iter()
                .any(|p| r.contains(p)))
    }

    /// Classifies a lettre SMTP error. A client error (lettre refused the message for this server,
    /// e.g. a non-ASCII address without SMTPUTF8) cannot succeed on a retry: permanent.
    pub fn from_smtp(e: &lettre::transport::smtp::Error) -> Error {
        let text = e.to_string();
        if e.is_permanent() || e.is_client() {
            Error::Permanent(text)
        } else if e.is_transient() {
            Error::Transient(text)
        } else {
            Error::Connection(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_bounces_are_told_from_policy_rejections() {
        assert!(
            Error::Permanent("permanent error (550): 5.1.1 <x@y>: User unknown".into())
                .is_hard_bounce()
        );
        assert!(
            Error::Permanent("permanent error (550): no such user here".into()).is_hard_bounce()
        );
        assert!(
            !Error::Permanent("permanent error (554): 5.7.1 message rejected as spam".into())
                .is_hard_bounce()
        );
        assert!(
            !Error::Transient("transient error (450): 5.1.1 try later".into()).is_hard_bounce()
        );
    }

    #[test]
    fn throttling_replies_are_recognised() {
        assert!(
            Error::Transient("transient error (421): too many connections".into()).is_throttle()
        );
        assert!(Error::Transient("transient error (451): greylisted".into()).is_throttle());
        assert!(!Error::Transient("transient error (450): mailbox busy".into()).is_throttle());
        assert!(!Error::Connection("connection reset".into()).is_throttle());
    }
}
