//! Executable memory for a trace: mapped writable, emitted, then made
//! executable. No page is ever writable and executable at once (W^X).
//!
//! The layout starts the data on a page boundary, so the code pages become
//! read + execute and the data pages read-only.

use core::fmt;
use core::ptr::NonNull;
use std::io;

use crate::emit::{emit, EmitError, Layout, TraceOp};
use crate::hole::Arch;
use crate::stencil::StencilTable;

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
        }
    }
}

impl std::error::Error for ExecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExecError::ArchMismatch { .. } => None,
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
    } else {
        None
    }
}

/// A trace in executable memory, unmapped on drop.
#[derive(Debug)]
pub struct ExecutableTrace {
    start: NonNull<u8>,
    /// Length of the mapping: the trace rounded up to whole pages.
    map_len: usize,
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
        let host = host_arch();
        if host != Some(table.arch) {
            return Err(ExecError::ArchMismatch {
                table: table.arch,
                host,
            });
        }
        let page = page_size()?;
        let layout = Layout::with_data_start_align(table, ops, page)?;
        // Round up to whole pages; an empty trace still maps one page.
        let map_len = layout
            .len
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or(ExecError::Emit(EmitError::TooLarge))?;

        // SAFETY: a fresh private anonymous mapping; it aliases nothing.
        let start = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(ExecError::Map(io::Error::last_os_error()));
        }
        let start = NonNull::new(start.cast::<u8>())
            .ok_or_else(|| ExecError::Map(io::Error::other("mmap returned null")))?;
        // From here on, dropping `trace` unmaps the memory on every error.
        let trace = ExecutableTrace {
            start,
            map_len,
            layout,
        };

        // SAFETY: the mapping is `map_len` bytes, readable and writable, and
        // nothing else refers to it.
        let buf = unsafe { core::slice::from_raw_parts_mut(start.as_ptr(), map_len) };
        emit(table, ops, &trace.layout, symbols, buf, trace.base())?;

        // The data starts on a page boundary (see `Layout::with_data_start_align`).
        let code_pages = trace.layout.data_offset;
        trace.protect(0, code_pages, libc::PROT_READ | libc::PROT_EXEC)?;
        trace.protect(code_pages, map_len - code_pages, libc::PROT_READ)?;
        flush_instruction_cache(start.as_ptr(), trace.layout.code_len);
        Ok(trace)
    }

    fn protect(&self, offset: usize, len: usize, protection: libc::c_int) -> Result<(), ExecError> {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `offset..offset + len` is a page-aligned part of our own
        // mapping.
        let result = unsafe {
            libc::mprotect(
                self.start.as_ptr().add(offset).cast::<libc::c_void>(),
                len,
                protection,
            )
        };
        if result == 0 {
            Ok(())
        } else {
            Err(ExecError::Protect(io::Error::last_os_error()))
        }
    }

    /// Address of the shim, the trace's C-ABI entry (the start of the
    /// mapping).
    pub fn entry(&self) -> *const u8 {
        self.start.as_ptr()
    }

    /// Address the trace was emitted at.
    pub fn base(&self) -> u64 {
        self.start.as_ptr() as u64
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
        unsafe { core::slice::from_raw_parts(self.start.as_ptr(), self.layout.len) }
    }
}

impl Drop for ExecutableTrace {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` created; no reference to
        // it outlives `self`. A failure cannot be reported from `drop` and
        // leaves the memory mapped, which is harmless.
        unsafe {
            libc::munmap(self.start.as_ptr().cast::<libc::c_void>(), self.map_len);
        }
    }
}

fn page_size() -> Result<usize, ExecError> {
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    match usize::try_from(page) {
        Ok(page) if page.is_power_of_two() => Ok(page),
        _ => Err(ExecError::PageSize(io::Error::last_os_error())),
    }
}

/// Makes freshly written code visible to instruction fetch. x86-64 keeps
/// its instruction cache coherent; AArch64 needs the data cache cleaned to
/// the point of unification and the instruction cache invalidated.
#[cfg(not(target_arch = "aarch64"))]
fn flush_instruction_cache(_start: *const u8, _len: usize) {}

#[cfg(target_arch = "aarch64")]
fn flush_instruction_cache(start: *const u8, len: usize) {
    use core::arch::asm;

    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effect; Linux and macOS allow it
    // at EL0 (or emulate it).
    unsafe { asm!("mrs {0}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    // Line sizes are log2 of the number of 4-byte words.
    let data_line = 4usize << ((ctr >> 16) & 0xf);
    let instruction_line = 4usize << (ctr & 0xf);
    let start = start as usize;
    let end = start + len;

    let mut line = start & !(data_line - 1);
    while line < end {
        // SAFETY: cleaning a cache line of our own readable mapping changes
        // no memory contents.
        unsafe { asm!("dc cvau, {0}", in(reg) line, options(nostack, preserves_flags)) };
        line += data_line;
    }
    // SAFETY: a barrier has no effect on memory contents.
    unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    let mut line = start & !(instruction_line - 1);
    while line < end {
        // SAFETY: invalidating instruction cache lines changes no memory.
        unsafe { asm!("ic ivau, {0}", in(reg) line, options(nostack, preserves_flags)) };
        line += instruction_line;
    }
    // SAFETY: barriers have no effect on memory contents.
    unsafe { asm!("dsb ish", "isb", options(nostack, preserves_flags)) };
}
