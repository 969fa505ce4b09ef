//! End-to-end tests of the `digest` binary and its library, one module per feature.

mod archive;
mod catalogue;
mod clusters;
mod common;
mod config;
#[cfg(feature = "fault-injection")]
mod crash;
mod daemon;
mod desk;
mod discussions;
mod dkim;
mod dsn;
mod faults;
mod feeds;
mod freeze;
mod golden;
mod hostile;
mod imap;
mod inbound;
mod inbox;
mod init;
mod maildev;
mod message;
mod ops;
mod outage;
mod periods;
mod postfix;
mod providers;
mod regression;
mod relay;
mod send;
mod serve;
mod signup;
mod smtp;
mod snapshots;
mod unsubscribe;
