//! Stage 6, mail: audience (config lists − suppressions) → ledger → personalize → transport.

pub mod address;
pub mod audience;
pub mod campaign;
pub mod dkim;
pub mod error;
pub mod ledger;
pub mod message;
pub mod mx;
pub mod rate;
pub mod send;
pub mod transport;

/// Kept in the leaf `model` (the configuration checks the keys); re-exported for the old path.
pub use error::Error;
