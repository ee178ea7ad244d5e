//! Executable memory for a trace: mapped writable, emitted, then made
//! executable. No page is ever writable and executable at once (W^X).
//!
//! The layout starts the data on a page boundary, so the code pages become
//! read + execute and the data pages read-only. Each OS family has its own
//! small module behind `cfg`:
//!
//! * `unix`: `mmap` read + write, then `mprotect` (Linux, the BSDs, x86-64
//!   macOS).
//! * `apple`: on Apple silicon macOS, a `MAP_JIT` mapping whose write
//!   protection is lifted for the emitting thread only
//!   (`pthread_jit_write_protect_np`), then `sys_icache_invalidate`.
//! * `windows`: `VirtualAlloc` read + write, then `VirtualProtect` and
//!   `FlushInstructionCache`.
//!
//! Each trace maps pages of its own here; [`crate::pool`] shares them
//! between traces instead.

use core::fmt;
use std::io;

use crate::emit::{emit, EmitError, Layout, TraceOp};
use crate::hole::Arch;
use crate::stencil::StencilTable;

#[cfg(all(target_os = "macos", target_arch = "aarch64"))]
mod apple;
#[cfg(all(unix, not(all(target_os = "macos", target_arch = "aarch64"))))]
pub(crate) mod icache;
#[cfg(all(unix, not(all(target_os = "macos", target_arch = "aarch64"))))]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(all(target_os = "macos", target_arch = "aarch64"))]
use apple::Memory;
#[cfg(all(unix, not(all(target_os = "macos", target_arch = "aarch64"))))]
use unix::Memory;
#[cfg(windows)]
use windows::Memory;

/// Why a trace could not be made executable.
#[derive(Debug)]
pub enum ExecError {
    /// The stencil table is for another instruction set than this host's
    /// (`host` is `None` on a host no table can target).
    ArchMismatch { table: Arch, host: Option<Arch> },
    /// Laying out or emitting the trace failed.
    Emit(EmitError),
    /// The OS did not report its page size.
    PageSize(io::Error),
    /// Mapping memory failed.
    Map(io::Error),
    /// Changing the protection of the mapping failed.
    Protect(io::Error),
    /// An [`ExecPool`](crate::pool::ExecPool) would have to map `needed`
    /// bytes in all to hold the trace, more than its `capacity`.
    PoolExhausted { needed: usize, capacity: usize },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::ArchMismatch { table, host } => match host {
                Some(host) => write!(
                    f,
                    "the stencil table is for {table:?} but this host is {host:?}"
                ),
                None => write!(
                    f,
                    "the stencil table is for {table:?} but this host runs no stencils"
                ),
            },
            ExecError::Emit(error) => write!(f, "cannot emit the trace: {error}"),
            ExecError::PageSize(error) => write!(f, "cannot read the page size: {error}"),
            ExecError::Map(error) => write!(f, "cannot map memory for the trace: {error}"),
            ExecError::Protect(error) => {
                write!(f, "cannot change the protection of the trace: {error}")
            }
            ExecError::PoolExhausted { needed, capacity } => write!(
                f,
                "the executable-memory pool would need {needed} bytes mapped for this trace, \
                 more than its capacity of {capacity} bytes; raise `PoolConfig::capacity` or \
                 drop traces that no longer run"
            ),
        }
    }
}

impl std::error::Error for ExecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExecError::ArchMismatch { .. } | ExecError::PoolExhausted { .. } => None,
            ExecError::Emit(error) => Some(error),
            ExecError::PageSize(error) | ExecError::Map(error) | ExecError::Protect(error) => {
                Some(error)
            }
        }
    }
}

impl From<EmitError> for ExecError {
    fn from(error: EmitError) -> Self {
        ExecError::Emit(error)
    }
}

/// The instruction set of this host, if stencils can target it.
pub const fn host_arch() -> Option<Arch> {
    if cfg!(target_arch = "x86_64") {
        Some(Arch::X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(Arch::Aarch64)
    } else if cfg!(target_arch = "x86") {
        Some(Arch::I686)
    } else if cfg!(target_arch = "riscv64") {
        Some(Arch::Riscv64)
    } else {
        None
    }
}

/// The size of a page of memory, which mappings are made of.
pub fn page_size() -> Result<usize, ExecError> {
    Memory::page_size()
}

/// Checks that stencils of `table` can run on this host.
pub(crate) fn check_host(table: &StencilTable) -> Result<(), ExecError> {
    let host = host_arch();
    if host == Some(table.arch) {
        Ok(())
    } else {
        Err(ExecError::ArchMismatch {
            table: table.arch,
            host,
        })
    }
}

/// A trace in executable memory, unmapped on drop.
#[derive(Debug)]
pub struct ExecutableTrace {
    memory: Memory,
    layout: Layout,
}

// SAFETY: the mapping is owned by the trace alone and never written after
// `new` returns, so sharing or moving it between threads is sound.
unsafe impl Send for ExecutableTrace {}
// SAFETY: as above; every method only reads.
unsafe impl Sync for ExecutableTrace {}

impl ExecutableTrace {
    /// Lays out, emits and maps `ops` executable. `symbols[i]` is the
    /// address of `table.symbols[i]`.
    pub fn new(
        table: &StencilTable,
        ops: &[TraceOp],
        symbols: &[u64],
    ) -> Result<ExecutableTrace, ExecError> {
        check_host(table)?;
        let page = Memory::page_size()?;
        let layout = Layout::with_data_start_align(table, ops, page)?;
        // Round up to whole pages; an empty trace still maps one page.
        let map_len = layout
            .len
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or(ExecError::Emit(EmitError::TooLarge))?;
        // Dropping `memory` unmaps it on every error below.
        let mut memory = Memory::map(map_len)?;
        let base = memory.start().as_ptr() as u64;
        memory.write(|buf| emit(table, ops, &layout, symbols, buf, base))?;
        // The data starts on a page boundary (see `Layout::with_data_start_align`).
        memory.seal(layout.data_offset)?;
        Ok(ExecutableTrace { memory, layout })
    }

    /// Address of the shim, the trace's C-ABI entry (the start of the
    /// mapping).
    pub fn entry(&self) -> *const u8 {
        self.memory.start().as_ptr()
    }

    /// Address the trace was emitted at.
    pub fn base(&self) -> u64 {
        self.memory.start().as_ptr() as u64
    }

    /// Length of the trace (code, trampolines, padding and data).
    pub fn len(&self) -> usize {
        self.layout.len
    }

    /// Whether the trace has no bytes at all (never for a real shim).
    pub fn is_empty(&self) -> bool {
        self.layout.len == 0
    }

    /// Address of the code of op `i`.
    ///
    /// # Panics
    ///
    /// If `i` is not an op index of the trace.
    pub fn op_address(&self, i: usize) -> u64 {
        self.base() + u64::from(self.layout.op_offsets[i])
    }

    /// Where everything of the trace is.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The bytes of the trace.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the first `layout.len` bytes are mapped and readable for
        // the lifetime of `self`, and never written after `new`.
        unsafe { core::slice::from_raw_parts(self.memory.start().as_ptr(), self.layout.len) }
    }
}
