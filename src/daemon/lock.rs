//! One daemon per store: an exclusive lock on `<store>.lock`, held for the life of the process.
//!
//! The operating system releases the lock when the process exits, however it exits, so a crash
//! never leaves a stale lock behind. The file holds the holder's process id, for the message the
//! second daemon prints.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    _file: File,
}

impl Lock {
    /// Where the lock of the store at `store` lives: beside it, named `<store file>.lock`.
    pub fn path_for(store: &Path) -> PathBuf {
        let mut name = store.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        store.with_file_name(name)
    }

    /// Takes the lock of the store at `store`, or fails saying which process holds it.
    pub fn acquire(store: &Path) -> Result<Lock> {
        let path = Self::path_for(store);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the store's folder {}", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    pid if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) => {
                        format!(" (pid {pid})")
                    }
                    _ => String::new(),
                };
                bail!(
                    "another digest daemon{holder} is already running on the store {}: it holds \
                     {}; stop it first (one daemon per store, so no issue is sent twice)",
                    store.display(),
                    path.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        file.sync_all()?;
        Ok(Lock { path, _file: file })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_daemon_on_the_same_store_is_refused_until_the_first_stops() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("digest.db");
        let first = Lock::acquire(&store).unwrap();
        assert_eq!(first.path(), dir.path().join("digest.db.lock"));
        let e = Lock::acquire(&store).unwrap_err().to_string();
        let pid = std::process::id();
        assert!(
            e.starts_with(&format!(
                "another digest daemon (pid {pid}) is already running on the store {}",
                store.display()
            )),
            "{e}"
        );
        // Another store is independent.
        let other = Lock::acquire(&dir.path().join("other.db")).unwrap();
        drop(first);
        let again = Lock::acquire(&store).unwrap();
        drop((again, other));
    }
}
