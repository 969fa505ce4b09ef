//! The daemon.

pub mod schedule;
