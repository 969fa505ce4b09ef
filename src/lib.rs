//! `digest` builds ranked newsletter digests from tagged articles, renders them as emails and
//! mails them.
//!
//! The data path, one module per stage:
//! [`config`] → [`catalog`] → [`store`] → [`select`] → [`issue`] → [`render`];
//! [`cmd`] holds the commands that compose them.

pub mod archive;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod daemon;
pub mod fault;
pub mod files;
pub mod issue;
pub mod mail;
pub mod model;
pub mod period;
pub mod render;
pub mod schedule;
pub mod select;
pub mod stop;
pub mod store;
pub mod text;
pub mod web;
