//! One `xsell run` at a time per workspace: an exclusive lock on
//! `state/xsell.lock`. The operating system releases the lock when its
//! holder exits, however it exits (`kill -9` included), so a crashed run
//! never leaves a stale lock behind. The file also says who holds it, for
//! the message the second run prints.
//!
//! The lock is a convenience for operators; correctness does not depend on
//! it: the ledger's claims keep overlapping sends from double-sending even
//! if the lock is bypassed (another workspace path, a network filesystem).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held while the run lasts; released on drop or process exit.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

#[derive(Debug)]
pub enum LockError {
    /// Another run holds the lock; `holder` is what it wrote (pid, start time).
    Busy { path: PathBuf, holder: String },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Busy { path, holder } => write!(
                f,
                "another xsell run is in progress ({holder}; lock {})",
                path.display()
            ),
            LockError::Io { path, error } => {
                write!(f, "cannot use the run lock {}: {error}", path.display())
            }
        }
    }
}

impl RunLock {
    /// Takes the lock, waiting up to `wait` for a running holder to finish (zero: do not wait).
    pub fn acquire(path: &Path, wait: Duration, holder: &str) -> Result<RunLock, LockError> {
        let io = |error| LockError::Io {
            path: path.to_path_buf(),
            error,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    return Err(LockError::Busy {
                        path: path.to_path_buf(),
                        holder: text.trim().to_string(),
                    });
                }
                Err(TryLockError::Error(error)) => return Err(io(error)),
            }
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(holder.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(RunLock {
            file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_the_lock_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/xsell.lock");
        let first = RunLock::acquire(
            &path,
            Duration::ZERO,
            "pid 111, started 2026-11-16T09:00:00Z",
        )
        .unwrap();
        let busy = RunLock::acquire(&path, Duration::from_millis(250), "pid 222").unwrap_err();
        assert_eq!(
            busy.to_string(),
            format!(
                "another xsell run is in progress (pid 111, started 2026-11-16T09:00:00Z; lock {})",
                path.display()
            )
        );
        drop(first);
        let second = RunLock::acquire(&path, Duration::ZERO, "pid 222").unwrap();
        assert_eq!(std::fs::read_to_string(second.path()).unwrap(), "pid 222");
    }
}
