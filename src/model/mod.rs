//! Value types shared by the configuration and the stages. Leaf modules: nothing here imports
//! from the rest of the crate (other than other leaves such as [`crate::period`]), so config,
//! catalog, store and mail can all use them without import cycles.

mod issue_key;

pub use issue_key::IssueKey;
