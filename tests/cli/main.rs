//! End-to-end tests of the `digest` binary and its library, one module per feature.

mod archive;
mod catalogue;
mod common;
mod config;
#[cfg(feature = "fault-injection")]
mod crash;
mod daemon;
mod dkim;
mod faults;
mod feeds;
mod freeze;
mod golden;
mod hostile;
mod inbound;
mod inbox;
mod init;
mod maildev;
mod message;
mod outage;
mod periods;
mod regression;
mod send;
mod serve;
mod smtp;
mod snapshots;
mod unsubscribe;
