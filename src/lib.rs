//! `digest` builds ranked newsletter digests from tagged articles, renders them as emails and
//! mails them.
//!
//! The data path, one module per stage:
//! [`config`] → [`catalog`] → [`store`] → [`select`] → [`issue`] → [`render`] → [`mail`];
//! [`cmd`] holds the commands that compose them.
//!
//! Value types that the configuration and several stages share live in leaf modules, which import
//! nothing from the crate but other leaves: [`model`] (articles, tags, canonical URLs, engagement
//! fields, cache validators, signing keys, issue keys), [`period`] and [`schedule`]. So the
//! modules form no import cycle; `scripts/import-cycles` checks it.

pub mod archive;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod daemon;
pub mod events;
pub mod fault;
pub mod files;
pub mod inbound;
pub mod issue;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod period;
pub mod publish;
pub mod render;
pub mod schedule;
pub mod select;
pub mod stop;
pub mod store;
pub mod text;
pub mod tls;
pub mod web;
