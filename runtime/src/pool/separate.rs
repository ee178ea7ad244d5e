//! The pool where memory cannot be mapped twice: each trace is an
//! [`ExecutableTrace`] of its own (page-aligned data, mapped and protected
//! per trace), counted against the capacity by its whole pages.

use std::sync::Mutex;

use super::{lock, PoolConfig, PoolStats};
use crate::emit::{EmitError, Layout, TraceOp};
use crate::exec::{ExecError, ExecutableTrace};
use crate::stencil::StencilTable;

/// The books of a pool: only counts, the traces own their memory.
#[derive(Debug)]
pub(crate) struct Backend {
    capacity: usize,
    page: usize,
    stats: PoolStats,
}

/// The mapping of one trace and what it counts for.
#[derive(Debug)]
pub(crate) struct Lease {
    trace: Option<ExecutableTrace>,
    mapped: usize,
}

impl Backend {
    pub fn new(config: PoolConfig, page: usize) -> Backend {
        Backend {
            capacity: config.capacity,
            page,
            stats: PoolStats::default(),
        }
    }

    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    fn reserve(&mut self, mapped: usize, len: usize) -> Result<(), ExecError> {
        let needed = self.stats.mapped.saturating_add(mapped);
        if needed > self.capacity {
            return Err(ExecError::PoolExhausted {
                needed,
                capacity: self.capacity,
            });
        }
        self.stats.mapped += mapped;
        self.stats.in_use += len;
        self.stats.traces += 1;
        Ok(())
    }

    fn unreserve(&mut self, mapped: usize, len: usize) {
        self.stats.mapped -= mapped;
        self.stats.in_use -= len;
        self.stats.traces -= 1;
    }
}

/// Maps `ops` as a trace of its own if the capacity allows.
pub(crate) fn compile(
    pool: &Mutex<Backend>,
    table: &StencilTable,
    ops: &[TraceOp],
    symbols: &[u64],
) -> Result<(Lease, Layout, u64), ExecError> {
    let page = lock(pool).page;
    // The layout `ExecutableTrace::new` will use, for its size.
    let planned = Layout::with_data_start_align(table, ops, page)?;
    let mapped = planned
        .len
        .max(1)
        .checked_next_multiple_of(page)
        .ok_or(EmitError::TooLarge)?;
    lock(pool).reserve(mapped, planned.len)?;
    match ExecutableTrace::new(table, ops, symbols) {
        Ok(trace) => {
            let layout = trace.layout().clone();
            let base = trace.base();
            let lease = Lease {
                trace: Some(trace),
                mapped,
            };
            Ok((lease, layout, base))
        }
        Err(error) => {
            lock(pool).unreserve(mapped, planned.len);
            Err(error)
        }
    }
}

/// Unmaps the trace of a lease, then takes it off the books.
pub(crate) fn release(pool: &Mutex<Backend>, lease: &mut Lease) {
    if let Some(trace) = lease.trace.take() {
        let len = trace.len();
        drop(trace);
        lock(pool).unreserve(lease.mapped, len);
    }
}
