//! The file transport: each message becomes an `.eml` file in a folder, named after its first
//! recipient and a counter so repeated sends never overwrite.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lettre::address::Envelope;

use super::{Connection, Transport};
use crate::mail::Error;

/// A folder receiving `.eml` files.
#[derive(Debug, Clone)]
pub struct Folder {
    path: PathBuf,
    counter: Arc<AtomicU64>,
}

impl Folder {
    /// Messages will be written into `path` (created if missing).
    pub fn new(path: &Path) -> std::io::Result<Folder> {
        std::fs::create_dir_all(path)?;
        Ok(Folder {
            path: path.to_path_buf(),
            counter: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one message; its file name on success.
    pub fn write(&self, envelope: &Envelope, message: &[u8]) -> Result<String, Error> {
        let to = envelope
            .to()
            .first()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let safe: String = to
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        loop {
            // Numbers already taken by an earlier run are skipped, never overwritten.
            let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
            let file = self.path.join(format!("{n:06}-{safe}.eml"));
            match crate::files::create_new(&file, message) {
                Ok(()) => return Ok(format!("written to {}", file.display())),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::Fatal(format!("writing {}: {e}", file.display()))),
            }
        }
    }
}

#[async_trait::async_trait]
impl Transport for Folder {
    async fn connect(&self) -> Result<Box<dyn Connection>, Error> {
        Ok(Box::new(self.clone()))
    }

    fn describe(&self) -> String {
        format!("folder {}", self.path.display())
    }
}

#[async_trait::async_trait]
impl Connection for Folder {
    async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Error> {
        self.write(envelope, message)
    }

    async fn reset(&mut self) -> Result<(), Error> {
        Ok(())
    }

    async fn close(self: Box<Self>) {}
}
