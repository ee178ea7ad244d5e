//! The lock that lets one generation at a time change an output directory,
//! and telling whether the process that left a temporary file is gone.
//!
//! The lock is an advisory `flock` on `.stencil-gen.lock` in the directory.
//! The kernel drops it when its holder dies, so a killed generation never
//! leaves the directory locked; the file itself is removed by the holder on
//! release, and a file left by a killed holder is taken over by the next.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file's name in the output directory.
pub(crate) const LOCK_NAME: &str = ".stencil-gen.lock";

/// The lock on one output directory, held until dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    path: PathBuf,
    /// Holds the lock while open.
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub(crate) enum LockError {
    /// The lock file could not be made or locked.
    Io { path: PathBuf, error: io::Error },
    /// Another process held it all along; its pid, if it wrote one.
    Busy { holder: Option<u32> },
}

enum Attempt {
    Got(DirLock),
    Busy,
    /// The file was removed by its last holder between opening and
    /// locking it: try again with a fresh one.
    Removed,
}

impl DirLock {
    /// The lock on `dir`, waiting up to `wait` for another holder.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_NAME);
        let deadline = Instant::now() + wait;
        loop {
            match attempt(&path).map_err(|error| LockError::Io {
                path: path.clone(),
                error,
            })? {
                Attempt::Got(lock) => return Ok(lock),
                Attempt::Removed => continue,
                Attempt::Busy if Instant::now() >= deadline => {
                    return Err(LockError::Busy {
                        holder: holder(&path),
                    })
                }
                Attempt::Busy => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// The lock on `dir` if no one holds it now.
    pub fn try_acquire(dir: &Path) -> Result<Option<DirLock>, LockError> {
        let path = dir.join(LOCK_NAME);
        loop {
            match attempt(&path).map_err(|error| LockError::Io {
                path: path.clone(),
                error,
            })? {
                Attempt::Got(lock) => return Ok(Some(lock)),
                Attempt::Busy => return Ok(None),
                Attempt::Removed => continue,
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Removed while still locked, so whoever waits on this file sees
        // that it is gone and opens a new one.
        let _ = fs::remove_file(&self.path);
    }
}

/// The pid written into the lock file by its holder.
fn holder(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(unix)]
fn attempt(path: &Path) -> io::Result<Attempt> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::io::AsRawFd;

    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // SAFETY: `flock` is given a descriptor `file` keeps open; it changes
    // no memory.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let error = io::Error::last_os_error();
        return match error.kind() {
            io::ErrorKind::WouldBlock => Ok(Attempt::Busy),
            _ => Err(error),
        };
    }
    let ours = file.metadata()?;
    match fs::metadata(path) {
        Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {}
        _ => return Ok(Attempt::Removed),
    }
    file.set_len(0)?;
    writeln!(file, "{}", std::process::id())?;
    Ok(Attempt::Got(DirLock {
        path: path.to_path_buf(),
        _file: file,
    }))
}

/// Without `flock`, generations are not kept apart; the file is still
/// written and removed, so leftovers look the same.
#[cfg(not(unix))]
fn attempt(path: &Path) -> io::Result<Attempt> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    writeln!(file, "{}", std::process::id())?;
    Ok(Attempt::Got(DirLock {
        path: path.to_path_buf(),
        _file: file,
    }))
}

/// Whether no process has id `pid` any more, so a temporary file named
/// after it is left over. A pid that cannot be checked counts as alive:
/// a file is kept rather than pulled from under its writer.
pub(crate) fn process_is_gone(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 is never delivered; `kill` only checks that the
        // process exists.
        let result = unsafe { libc::kill(pid, 0) };
        result != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}
