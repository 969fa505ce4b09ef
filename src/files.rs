//! Crash-safe file writes: write a temporary file beside the target, fsync it, then move it into
//! place, so a reader (or a restart after `kill -9`) sees the old file or the new one, never half.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

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

fn temporary(path: &Path, bytes: &[u8]) -> io::Result<std::path::PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    remove_abandoned(dir, name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    crate::fault::point("freeze");
    Ok(tmp)
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
}
