//! End-to-end tests of the `digest` binary and its library, one module per feature.

mod catalogue;
mod common;
mod config;
mod feeds;
mod freeze;
mod golden;
mod hostile;
mod periods;
mod serve;
