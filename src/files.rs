//! Crash-safe file writes: write a temporary file beside the target, fsync it, then move it into
//! place, so a reader (or a restart after `kill -9`) sees the old file or the new one, never half.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically, replacing any existing file.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temporary(path, bytes)?;
    let result = fs::rename(&tmp, path);
    finish(&tmp, path, result)
}

/// Writes `bytes` to `path` atomically unless `path` exists, in which case it fails with
/// [`io::ErrorKind::AlreadyExists`] and leaves the existing file alone (even against a concurrent
/// writer: the final step is a hard link, which never overwrites).
pub fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temporary(path, bytes)?;
    let result = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    finish(&tmp, path, result)
}

fn temporary(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let mut staged = Staged::create(path)?;
    staged.write_all(bytes)?;
    let tmp = staged.sync()?;
    crate::fault::point("freeze");
    Ok(tmp)
}

/// A file written piece by piece beside its target and moved into place by [`Staged::commit`]
/// (replacing any existing file), so a large file is never held in memory and a reader never sees
/// half of it. Dropped without a commit, it is removed and the target is left alone.
pub struct Staged {
    file: Option<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
}

impl Staged {
    /// Starts writing what will become `path` (its folder is created if needed).
    pub fn create(path: &Path) -> io::Result<Staged> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        remove_abandoned(dir, name);
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = BufWriter::new(File::create(&tmp)?);
        Ok(Staged {
            file: Some(file),
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Flushes and fsyncs the temporary file; its path, now owned by the caller.
    fn sync(mut self) -> io::Result<PathBuf> {
        let file = self.file.take().expect("taken only here");
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(std::mem::take(&mut self.tmp))
    }

    /// Makes the file durable and moves it into place, replacing the old one.
    pub fn commit(self) -> io::Result<()> {
        let path = self.path.clone();
        let tmp = self.sync()?;
        let result = fs::rename(&tmp, &path);
        finish(&tmp, &path, result)
    }
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("present until sync").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("present until sync").flush()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Not committed: the partial file goes (after `sync` the caller owns it: `tmp` is empty).
        if !self.tmp.as_os_str().is_empty() {
            drop(self.file.take());
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Removes temporary files for `name` left by writers that died mid-write (their process is gone;
/// a live writer's file is left alone).
fn remove_abandoned(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
        else {
            continue;
        };
        if pid.bytes().all(|b| b.is_ascii_digit()) && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn finish(tmp: &Path, path: &Path, result: io::Result<()>) -> io::Result<()> {
    if let Err(e) = result {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    // Make the rename itself durable.
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_new_never_overwrites_and_replace_does() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/issue.json");
        create_new(&p, b"one").unwrap();
        let e = create_new(&p, b"two").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&p).unwrap(), b"one");
        replace(&p, b"three").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"three");
        let leftovers: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files are cleaned up");
    }

    #[test]
    fn a_staged_file_appears_whole_on_commit_and_not_at_all_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r/list.txt");
        let mut staged = Staged::create(&p).unwrap();
        staged.write_all(b"one\n").unwrap();
        assert!(!p.exists(), "nothing in place before the commit");
        staged.write_all(b"two\n").unwrap();
        staged.commit().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one\ntwo\n");
        let mut dropped = Staged::create(&p).unwrap();
        dropped.write_all(b"three\n").unwrap();
        drop(dropped);
        assert_eq!(fs::read(&p).unwrap(), b"one\ntwo\n", "the old file stays");
        let entries = fs::read_dir(p.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1, "no temporary file is left");
    }
}
