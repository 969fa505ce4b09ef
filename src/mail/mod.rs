//! Stage 6, mail: audience (config lists − suppressions) → ledger → personalize → transport.

pub mod address;
pub mod audience;
pub mod campaign;
pub mod error;
pub mod ledger;
pub mod message;
pub mod rate;
pub mod send;
pub mod token;
pub mod transport;

pub use error::Error;
