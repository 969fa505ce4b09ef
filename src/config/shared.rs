//! The configuration in force in a long-running process, shared by the daemon's scheduler (which
//! replaces it on SIGHUP) and its web side (which reads it per request).

use std::sync::{Arc, RwLock};

use super::Config;

/// The configuration in force, replaced as a whole on SIGHUP.
#[derive(Debug, Clone)]
pub struct SharedConfig(Arc<RwLock<Arc<Config>>>);

impl SharedConfig {
    /// Shares `config`.
    pub fn new(config: Config) -> SharedConfig {
        SharedConfig(Arc::new(RwLock::new(Arc::new(config))))
    }

    /// The configuration in force now.
    pub fn get(&self) -> Arc<Config> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the configuration.
    pub fn set(&self, config: Config) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }
}
