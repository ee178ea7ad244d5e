//! Running an LLVM tool with a deadline: a tool that never exits (a hung
//! clang, a wrapper script stuck on a lock) is killed, with everything it
//! started, instead of holding the generation forever.
//!
//! The tool runs in a process group of its own, so that killing the group
//! also stops what it started (a wrapper script's clang, clang's `-cc1`),
//! which would otherwise keep its output pipes open. Its stdin is fed, and
//! its stdout and stderr drained, by threads, so neither a full pipe nor a
//! tool that stops reading can block the caller.

use std::io::{self, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a run ended when it did not finish in time or could not be waited
/// for.
#[derive(Debug)]
pub(crate) enum RunError {
    /// The tool could not be started or waited for.
    Io(io::Error),
    /// The deadline passed; the tool and its process group were killed.
    TimedOut,
}

/// What a finished tool left.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The first failed write to the tool's stdin (it stopped reading).
    pub write_error: Option<io::Error>,
}

/// A started tool.
#[derive(Debug)]
pub(crate) struct Running {
    /// `None` once waited for.
    child: Option<Child>,
    /// Queues bytes for the stdin feeder; dropped to close stdin.
    stdin: Option<Sender<Vec<u8>>>,
    feeder: Option<JoinHandle<Option<io::Error>>>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    /// One message per output pipe at its end of file.
    closed: Receiver<()>,
}

impl Running {
    /// Start `command` with piped stdout and stderr, and stdin piped when
    /// `with_stdin`, else empty.
    pub fn spawn(command: &mut Command, with_stdin: bool) -> io::Result<Running> {
        command
            .stdin(if with_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command.spawn()?;
        let (closed_tx, closed) = mpsc::channel();
        let stdout = child
            .stdout
            .take()
            .map(|pipe| drain(pipe, closed_tx.clone()));
        let stderr = child.stderr.take().map(|pipe| drain(pipe, closed_tx));
        let (stdin, feeder) = match child.stdin.take() {
            Some(pipe) => {
                let (tx, rx) = mpsc::channel::<Vec<u8>>();
                (Some(tx), Some(std::thread::spawn(move || feed(pipe, rx))))
            }
            None => (None, None),
        };
        Ok(Running {
            child: Some(child),
            stdin,
            feeder,
            stdout,
            stderr,
            closed,
        })
    }

    /// Queue `bytes` for the tool's stdin; never blocks.
    pub fn write(&self, bytes: Vec<u8>) {
        if let Some(stdin) = &self.stdin {
            // A closed channel means the feeder stopped on a write error,
            // which `finish` reports.
            let _ = stdin.send(bytes);
        }
    }

    /// Close stdin and wait for the tool until `timeout` has passed from
    /// now; then kill it and its process group.
    pub fn finish(mut self, timeout: Duration) -> Result<Finished, RunError> {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        let Some(mut child) = self.child.take() else {
            return Err(RunError::Io(io::Error::other("already waited for")));
        };
        let status = match wait_until(&mut child, &self.closed, deadline) {
            Ok(Some(status)) => status,
            Ok(None) => {
                stop(&mut child);
                self.join();
                return Err(RunError::TimedOut);
            }
            Err(error) => {
                stop(&mut child);
                self.join();
                return Err(RunError::Io(error));
            }
        };
        let (stdout, stderr, write_error) = self.join();
        Ok(Finished {
            status,
            stdout,
            stderr,
            write_error,
        })
    }

    /// Wait for the helper threads, which end once the tool's pipes close.
    fn join(&mut self) -> (Vec<u8>, Vec<u8>, Option<io::Error>) {
        let take = |handle: Option<JoinHandle<Vec<u8>>>| {
            handle
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default()
        };
        let stdout = take(self.stdout.take());
        let stderr = take(self.stderr.take());
        let write_error = self
            .feeder
            .take()
            .and_then(|h| h.join().unwrap_or_default());
        (stdout, stderr, write_error)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Not finished (the generation failed elsewhere): stop the tool
        // rather than leave it running.
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
            self.join();
        }
    }
}

/// Run `command` to the end, with `input` on its stdin when given, killing
/// it when `timeout` passes.
pub(crate) fn run(
    command: &mut Command,
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<Finished, RunError> {
    let running = Running::spawn(command, input.is_some()).map_err(RunError::Io)?;
    if let Some(input) = input {
        running.write(input.to_vec());
    }
    running.finish(timeout)
}

/// The exit status, once both output pipes are closed and the tool has
/// exited; `None` when `deadline` passes first.
fn wait_until(
    child: &mut Child,
    closed: &Receiver<()>,
    deadline: Instant,
) -> io::Result<Option<ExitStatus>> {
    // The pipes close when the tool (and all it started) exits: waiting
    // for them costs no polling in the usual case.
    let mut open = 2;
    while open > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match closed.recv_timeout(left) {
            Ok(()) => open -= 1,
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => return Ok(None),
        }
    }
    // A tool may close its pipes a moment before it exits, or close them
    // and go on running.
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Kill the tool and its process group, and reap it.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: `kill` only sends a signal. The group's id is the pid of
        // `child`, which is not reaped yet, so the id cannot have been
        // given to another process group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Read `pipe` to its end on a thread; tell `closed` when it ends.
fn drain(mut pipe: impl Read + Send + 'static, closed: Sender<()>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = closed.send(());
        bytes
    })
}

/// Write what arrives on `input` to `pipe` until `input` closes; the first
/// write error, after which the rest is dropped.
fn feed(mut pipe: impl Write, input: Receiver<Vec<u8>>) -> Option<io::Error> {
    for bytes in input {
        if let Err(error) = pipe.write_all(&bytes) {
            return Some(error);
        }
    }
    None
}
