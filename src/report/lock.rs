//! One run at a time per results folder: an exclusive `flock` on
//! `<results>/.self-heal.lock`, held while a run checks out, patches and
//! records. Two self-heal runs on the same repository (two workflow runs, a
//! laptop and a hook) wait for each other instead of colliding.
//!
//! Invariants: the kernel releases the lock when its holder exits, however it
//! exits, so a crashed run never leaves a stale lock; within one process the
//! lock is re-entrant (a run that holds it may enter the pipeline, which takes
//! it too); waiting is bounded by `LOCK_TIMEOUT`, after which the run gives up
//! with the holder's process id.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The lock file's name inside the results folder.
pub const LOCK_FILE: &str = ".self-heal.lock";

/// The lock could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run held it for the whole wait.
    #[error(
        "another self-heal run ({holder}) holds {path} and did not finish within {waited_s} s (LOCK_TIMEOUT): not running two repairs on one repository at once"
    )]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as it wrote itself.
        holder: String,
        /// Seconds waited.
        waited_s: u64,
    },
    /// The file could not be opened.
    #[error("could not lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A lock file this process holds (open, so the flock stays), and how many guards share it.
type Held = (File, usize);

/// Locks this process holds, by canonical folder.
static HELD: LazyLock<Mutex<HashMap<PathBuf, Held>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The table of held locks; a panic elsewhere while it was held leaves it usable.
fn held() -> std::sync::MutexGuard<'static, HashMap<PathBuf, Held>> {
    HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The held lock; released when the last guard of this process is dropped.
#[derive(Debug)]
pub struct RunLock {
    dir: PathBuf,
}

impl RunLock {
    /// Takes the lock on results folder `dir` (created if missing), waiting up to `wait`.
    pub async fn acquire(dir: &Path, wait: Duration) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let key = dir.canonicalize().map_err(io)?;
        if let Some((_, count)) = held().get_mut(&key) {
            *count += 1;
            return Ok(Self { dir: key });
        }
        let mut file =
            std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(io)?;
        let started = Instant::now();
        let mut said = false;
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {}
                Err(e) => return Err(io(e.into())),
            }
            let holder = holder(&mut file);
            if started.elapsed() >= wait {
                return Err(LockError::Busy { path, holder, waited_s: wait.as_secs() });
            }
            if !said {
                tracing::info!("waiting for another self-heal run ({holder}) to finish with {}", dir.display());
                said = true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Who holds it, for the message a waiting run prints.
        let me = format!("pid {} since {}", std::process::id(), crate::report::now_rfc3339());
        let _ = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(me.as_bytes()));
        held().insert(key.clone(), (file, 1));
        Ok(Self { dir: key })
    }
}

fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.take(200).read_to_string(&mut text));
    if text.trim().is_empty() { "unknown process".to_string() } else { text.trim().to_string() }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let mut held = held();
        if let Some((_, count)) = held.get_mut(&self.dir) {
            *count -= 1;
            if *count == 0 {
                // Closing the file releases the flock.
                held.remove(&self.dir);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_lock_is_reentrant_in_a_process_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let a = RunLock::acquire(dir.path(), Duration::ZERO).await.unwrap();
        let b = RunLock::acquire(dir.path(), Duration::ZERO).await.unwrap();
        drop(a);
        // Still held by `b`: another open file description cannot take it.
        let other = File::open(dir.path().join(LOCK_FILE)).unwrap();
        assert!(rustix::fs::flock(&other, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err());
        drop(b);
        assert!(rustix::fs::flock(&other, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok());
        // Now that another holds it, acquiring waits, then names the holder.
        let err = RunLock::acquire(dir.path(), Duration::from_millis(300)).await.unwrap_err();
        assert!(err.to_string().contains("pid ") && err.to_string().contains("LOCK_TIMEOUT"), "{err}");
    }
}
