//! The reference VM: a text assembler with a verifier, an interpreter (the
//! oracle for every uop's semantics) and a copy-and-patch JIT built on the
//! stencil tables in `generated`.

pub mod abi;
pub mod asm;
pub mod bench;
pub mod diag;
pub mod gen;
pub mod helpers;
pub mod interp;
pub mod jit;
pub mod program;
pub mod source;
pub mod state;
pub mod uops;
pub mod verify;
mod visible;

use std::fmt;

pub use abi::EntryAbi;
pub use asm::assemble;
pub use diag::{Diagnostic, Diagnostics};
pub use interp::{Interpreter, RunError, RunErrorKind};
pub use program::{Instr, Program, ValueKind};
pub use state::{bind_args, VmState};
pub use uops::{Op, UOPS};

/// Anything that stops a program from producing a result.
#[derive(Debug)]
pub enum Error {
    /// The initial state could not be built (bad arguments, heap too large).
    Setup(String),
    /// The program stopped with a runtime error.
    Run(RunError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setup(e) => f.write_str(e),
            Error::Run(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}
