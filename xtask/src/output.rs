//! Printing that survives a closed pipe.
//!
//! `cargo xtask gen-stencils | head -1` closes stdout after one line;
//! `println!` would then panic. Here a stdout closed by its reader is
//! noted and whatever follows is dropped, so the command still finishes
//! its work (a generation writes every file) and exits with its own
//! status. Any other failure to write stdout (a full disk) is reported by
//! [`finish`]. Failures to write stderr are ignored: there is nowhere left
//! to report them.

use std::fmt;
use std::io::{self, ErrorKind, Write};
use std::sync::{Mutex, PoisonError};

/// Prints to stdout like `print!`, unless stdout was closed.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!($($arg)*))
    };
}

/// Prints a line to stdout like `println!`, unless stdout was closed.
macro_rules! outln {
    () => {
        $crate::output::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints a line to stderr like `eprintln!`, ignoring failures.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[derive(Default)]
enum Stdout {
    #[default]
    Open,
    /// The reader went away: later output is dropped.
    Closed,
    /// Writing failed otherwise: later output is dropped, the error kept.
    Failed(io::Error),
}

static STDOUT: Mutex<Stdout> = Mutex::new(Stdout::Open);

pub fn stdout(args: fmt::Arguments<'_>) {
    let mut state = STDOUT.lock().unwrap_or_else(PoisonError::into_inner);
    if !matches!(*state, Stdout::Open) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        *state = if e.kind() == ErrorKind::BrokenPipe {
            Stdout::Closed
        } else {
            Stdout::Failed(e)
        };
    }
}

pub fn stderr(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// Whether stdout's reader has gone, so nothing more will be seen.
pub fn stdout_closed() -> bool {
    !matches!(
        *STDOUT.lock().unwrap_or_else(PoisonError::into_inner),
        Stdout::Open
    )
}

/// An error if writing stdout failed for any reason but a closed pipe.
pub fn finish() -> Result<(), String> {
    let state = std::mem::take(&mut *STDOUT.lock().unwrap_or_else(PoisonError::into_inner));
    match state {
        Stdout::Failed(e) => Err(format!("cannot write to stdout: {e}")),
        Stdout::Open | Stdout::Closed => Ok(()),
    }
}
