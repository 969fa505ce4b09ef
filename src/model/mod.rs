//! Value types shared by the configuration and the stages. Leaf modules: nothing here imports
//! from the rest of the crate (other than other leaves such as [`crate::period`]), so config,
//! catalog, store and mail can all use them without import cycles (`scripts/import-cycles`
//! checks).
//!
//! - [`article`]: [`Article`], [`Item`], [`Kind`], [`Publisher`] and the text limits
//!   [`MAX_TITLE`], [`MAX_SUMMARY`]; the catalogue makes them, the store keeps them.
//! - [`canonical`]: canonical article URLs; [`tag`]: tag normalisation.
//! - [`cidr`]: IP networks (the trusted reverse proxies of the sign-up pages).
//! - [`discussion`]: [`Discussion`], one source's record of an article it delivered.
//! - [`engagement`]: the engagement [`Field`](engagement::Field)s a source may name.
//! - [`Validators`]: HTTP cache validators, kept by the store, sent by the fetcher.
//! - [`token`]: unsubscribe-token and Message-ID signing [`Keys`](token::Keys), checked by the
//!   configuration and used by mail.
//! - [`IssueKey`]: names one issue (digest and period).
//! - [`signup`]: what sign-up confirmation and subscription-page tokens carry, and how an IP
//!   address is truncated before it is recorded.

pub mod article;
pub mod canonical;
pub mod cidr;
pub mod discussion;
pub mod engagement;
mod issue_key;
pub mod signup;
pub mod tag;
pub mod token;
mod validators;

pub use article::{Article, Item, Kind, MAX_SUMMARY, MAX_TITLE, Publisher};
pub use discussion::Discussion;
pub use issue_key::IssueKey;
pub use validators::Validators;
