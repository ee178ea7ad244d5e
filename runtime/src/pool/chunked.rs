//! The pool on Linux and Android: chunks of two views each ([`DualChunk`]),
//! carved into blocks by the [`Arena`]. The lock is held only to take or
//! return a block (and to map a chunk); emission runs outside it.

use core::ptr::NonNull;
use std::io;
use std::sync::atomic::{fence, Ordering};
use std::sync::Mutex;

use super::arena::{Arena, Block};
use super::dual::{is_near, near_hints, DualChunk};
use super::{lock, PoolConfig, PoolStats};
use crate::emit::{emit, layout, EmitError, Layout, TraceOp};
use crate::exec::{icache, ExecError};
use crate::stencil::StencilTable;

/// Least alignment of a trace's base, as the default layout assumes; block
/// lengths are rounded up to it too, so that traces follow each other
/// without gaps too small for any trace.
const MIN_ALIGN: usize = 16;

/// The books of a pool: its chunks and which of their bytes are taken.
#[derive(Debug)]
pub(crate) struct Backend {
    config: PoolConfig,
    page: usize,
    arena: Arena,
    /// Chunk number `i` of the arena is `chunks[i]`.
    chunks: Vec<DualChunk>,
    /// Start of the lowest executable view placed below and near
    /// `config.near`: the next chunk is tried right below it.
    lowest_near: Option<u64>,
    stats: PoolStats,
}

/// The block of one trace.
#[derive(Debug)]
pub(crate) struct Lease {
    block: Block,
}

impl Backend {
    /// An empty pool; `config.chunk` is whole pages of `page` bytes.
    pub fn new(config: PoolConfig, page: usize) -> Backend {
        Backend {
            config,
            page,
            arena: Arena::default(),
            chunks: Vec::new(),
            lowest_near: None,
            stats: PoolStats::default(),
        }
    }

    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Takes a block of `len` bytes whose executable address is a multiple
    /// of `align`, mapping a chunk if none has room. Returns the block, its
    /// writable start and its executable address.
    fn take(&mut self, len: usize, align: usize) -> Result<(Block, NonNull<u8>, u64), ExecError> {
        let block = match self.arena.allocate(len, align) {
            Some(block) => block,
            None => {
                let chunk = self.map_chunk(len, align)?;
                self.arena
                    .allocate_in(chunk, len, align)
                    .ok_or_else(|| ExecError::Map(io::Error::other("a new chunk is too small")))?
            }
        };
        self.stats.in_use += block.len;
        self.stats.traces += 1;
        let chunk = &self.chunks[block.chunk];
        // SAFETY: the block lies inside the chunk, so the offset stays
        // inside its writable view.
        let write = unsafe { chunk.write_start().add(block.offset) };
        Ok((block, write, chunk.exec_base() + block.offset as u64))
    }

    /// Returns a block taken by [`Backend::take`].
    fn give_back(&mut self, block: Block) {
        self.arena.free(block);
        self.stats.in_use -= block.len;
        self.stats.traces -= 1;
    }

    /// Maps a chunk with room for `len` bytes at an address aligned to
    /// `align`, within the capacity, and returns its number.
    fn map_chunk(&mut self, len: usize, align: usize) -> Result<usize, ExecError> {
        let capacity = self.config.capacity;
        let exhausted = |needed| ExecError::PoolExhausted { needed, capacity };
        // A chunk's start is only page-aligned.
        let needed = len
            .checked_add(align.saturating_sub(self.page))
            .and_then(|bytes| bytes.checked_next_multiple_of(self.page))
            .ok_or(exhausted(usize::MAX))?;
        let room = capacity.saturating_sub(self.stats.mapped) & !(self.page - 1);
        if needed > room {
            return Err(exhausted(self.stats.mapped.saturating_add(needed)));
        }
        // A whole chunk if the capacity allows, else what is left of it.
        let len = needed.max(self.config.chunk.min(room));
        let chunk = match self.config.near {
            Some(near) => {
                let hints = near_hints(near, self.lowest_near, len, self.page);
                let chunk = DualChunk::map(len, hints, |start| is_near(near, start, len))?;
                let start = chunk.exec_base();
                // Only chunks below `near` lead the way down.
                if start < near && is_near(near, start, len) {
                    self.lowest_near = Some(self.lowest_near.map_or(start, |low| low.min(start)));
                }
                chunk
            }
            None => DualChunk::map(len, core::iter::empty(), |_| false)?,
        };
        let number = self.arena.add_chunk(chunk.exec_base(), chunk.len());
        self.stats.mapped += chunk.len();
        self.chunks.push(chunk);
        Ok(number)
    }
}

/// A block taken for a trace being emitted; it goes back to the pool
/// unless kept, so an emission error (or a panic) loses nothing.
struct Pending<'a> {
    pool: &'a Mutex<Backend>,
    block: Block,
}

impl Pending<'_> {
    fn keep(self) -> Block {
        let block = self.block;
        core::mem::forget(self);
        block
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        lock(self.pool).give_back(self.block);
    }
}

/// Lays out and emits `ops` into a block of the pool. Returns the block,
/// the layout and the address the trace runs at.
pub(crate) fn compile(
    pool: &Mutex<Backend>,
    table: &StencilTable,
    ops: &[TraceOp],
    symbols: &[u64],
) -> Result<(Lease, Layout, u64), ExecError> {
    let layout = layout(table, ops)?;
    let len = layout
        .len
        .max(1)
        .checked_next_multiple_of(MIN_ALIGN)
        .ok_or(EmitError::TooLarge)?;
    let (block, write, base) = lock(pool).take(len, layout.align.max(MIN_ALIGN))?;
    let pending = Pending { pool, block };
    // SAFETY: the block is `len` bytes of the writable view, handed to
    // this trace alone until it is given back; the chunk stays mapped as
    // long as the pool does, which outlives this call.
    let buf = unsafe { core::slice::from_raw_parts_mut(write.as_ptr(), len) };
    emit(table, ops, &layout, symbols, buf, base)?;
    icache::flush(write.as_ptr(), base as usize as *const u8, len);
    // The code is complete before anything learns its address.
    fence(Ordering::Release);
    Ok((
        Lease {
            block: pending.keep(),
        },
        layout,
        base,
    ))
}

/// Gives the block of a dropped trace back to the pool.
pub(crate) fn release(pool: &Mutex<Backend>, lease: &mut Lease) {
    lock(pool).give_back(lease.block);
}
