//! Stage 6, mail: audience (config lists − suppressions) → ledger → personalize → transport.

pub mod address;
pub mod audience;
pub mod token;
