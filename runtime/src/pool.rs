//! A pool of executable memory that traces share, so that compiling a
//! trace maps nothing and changes no protection in the common case.
//!
//! [`ExecPool::compile`] lays a trace out with the default [`layout`] (the
//! data is not page-aligned), takes a block of `layout.len` bytes from the
//! pool, emits the trace into it, makes the block visible to instruction
//! fetch and hands back a [`PoolTrace`]. Dropping the trace returns its
//! block to the pool.
//!
//! # Linux and Android: shared pages, W^X by two views
//!
//! The pool maps memory a chunk at a time ([`PoolConfig::chunk`] bytes, or
//! a chunk of its own for a larger trace). A chunk is an anonymous memory
//! file (`memfd_create`) mapped twice, shared: read + write where the pool
//! writes, read + execute where the code runs and at whose addresses the
//! holes are patched. No mapping is ever writable and executable, and no
//! protection changes after a chunk is mapped; in `/proc/self/maps` the
//! views are `rw-s` and `r-xs` lines of `/memfd:trace-pool`.
//!
//! Blocks are carved out of chunks first fit, in the order the chunks were
//! mapped; freed blocks merge with free neighbours. Chunks stay mapped
//! (and count towards [`PoolStats::mapped`]) until the last clone of the
//! pool and the last of its traces are dropped; their space is reused.
//!
//! With [`PoolConfig::near`], each chunk's executable view is placed
//! within ±1.5 GiB of that address if the kernel agrees to one of the
//! addresses tried, so pc-relative calls to helpers in the same image
//! reach them directly. Otherwise the chunk goes anywhere, and such calls
//! go through the trace's trampolines: slower, equally correct.
//!
//! # Elsewhere: one mapping per trace
//!
//! On other systems (macOS, Windows, the BSDs) each trace gets a mapping of
//! its own through [`ExecutableTrace`], behind the same API: its layout
//! starts the data on a page boundary, nothing shares pages, `near` is
//! ignored, and [`PoolStats::mapped`] counts each trace's whole pages
//! against the capacity.
//!
//! # Running the code
//!
//! A [`PoolTrace`] must outlive every run of its code: once it is dropped
//! its bytes may be overwritten by the next trace compiled.
//!
//! [`layout`]: crate::emit::layout
//! [`ExecutableTrace`]: crate::exec::ExecutableTrace

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::emit::{Layout, TraceOp};
use crate::exec::{check_host, page_size, ExecError};
use crate::stencil::StencilTable;

#[cfg(any(target_os = "linux", target_os = "android"))]
mod arena;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod chunked;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod dual;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod separate;

#[cfg(any(target_os = "linux", target_os = "android"))]
use chunked as backend;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use separate as backend;

/// How much an [`ExecPool`] may map, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most bytes the pool maps in all (one view of each chunk); a trace
    /// that would need more is refused with [`ExecError::PoolExhausted`].
    pub capacity: usize,
    /// Bytes mapped at a time, rounded up to whole pages. A trace larger
    /// than this gets a chunk of its own.
    pub chunk: usize,
    /// An address the code should be placed within ±2 GiB of, such as a
    /// helper function's, so that pc-relative holes reach helpers without
    /// trampolines.
    pub near: Option<u64>,
}

impl Default for PoolConfig {
    /// 256 MiB at most, 64 KiB at a time, anywhere.
    fn default() -> Self {
        PoolConfig {
            capacity: 256 << 20,
            chunk: 64 << 10,
            near: None,
        }
    }
}

/// How much of its memory a pool uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Bytes mapped (one view of each chunk).
    pub mapped: usize,
    /// Bytes of the blocks of live traces (on Linux and Android each
    /// trace's length rounded up to 16).
    pub in_use: usize,
    /// Live traces.
    pub traces: usize,
}

/// Executable memory shared by many traces. Cloning is cheap, and every
/// clone is the same pool; it may be used from several threads at once.
#[derive(Clone, Debug)]
pub struct ExecPool {
    backend: Arc<Mutex<backend::Backend>>,
}

impl ExecPool {
    /// A pool that maps nothing until the first trace is compiled.
    pub fn new(config: PoolConfig) -> Result<ExecPool, ExecError> {
        let page = page_size()?;
        // A chunk is at least a page, and whole pages (the largest multiple
        // of a page if rounding up overflows).
        let chunk = config
            .chunk
            .max(1)
            .checked_next_multiple_of(page)
            .unwrap_or(usize::MAX & !(page - 1));
        let backend = backend::Backend::new(PoolConfig { chunk, ..config }, page);
        Ok(ExecPool {
            backend: Arc::new(Mutex::new(backend)),
        })
    }

    /// Lays out, emits and makes executable `ops` in the pool.
    /// `symbols[i]` is the address of `table.symbols[i]`.
    pub fn compile(
        &self,
        table: &StencilTable,
        ops: &[TraceOp],
        symbols: &[u64],
    ) -> Result<PoolTrace, ExecError> {
        check_host(table)?;
        let (lease, layout, base) = backend::compile(&self.backend, table, ops, symbols)?;
        Ok(PoolTrace {
            pool: Arc::clone(&self.backend),
            lease,
            layout,
            base,
        })
    }

    /// What the pool has mapped and what its live traces use of it.
    pub fn stats(&self) -> PoolStats {
        lock(&self.backend).stats()
    }
}

/// A trace in an [`ExecPool`]; its block goes back to the pool on drop.
#[derive(Debug)]
pub struct PoolTrace {
    pool: Arc<Mutex<backend::Backend>>,
    lease: backend::Lease,
    layout: Layout,
    base: u64,
}

impl PoolTrace {
    /// Address of the shim, the trace's C-ABI entry (its first byte).
    pub fn entry(&self) -> *const u8 {
        self.base as usize as *const u8
    }

    /// Address the trace was emitted at, where its code runs.
    pub fn base(&self) -> u64 {
        self.base
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
        self.base + u64::from(self.layout.op_offsets[i])
    }

    /// Where everything of the trace is.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The bytes of the trace, read where the code runs.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the `layout.len` bytes at `base` are mapped readable while
        // the lease lives (as long as `self`), and nothing writes them until
        // the lease is returned on drop.
        unsafe { core::slice::from_raw_parts(self.entry(), self.layout.len) }
    }
}

impl Drop for PoolTrace {
    fn drop(&mut self) {
        backend::release(&self.pool, &mut self.lease);
    }
}

/// Locks the pool's books. A thread that panicked while holding the lock
/// left them consistent (no update is half done at a panic point), so a
/// poisoned lock is taken as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
