//! Laying out and emitting traces: pure, any target, no OS.
//!
//! [`layout`] decides where every stencil's code and data go; [`emit`]
//! copies the stencils into a buffer that will live at a given base address
//! and patches their holes. Emission allocates nothing, so a [`Layout`] can
//! be computed once and the trace emitted many times, at any base.

mod emitter;
pub mod generated;
mod layout;

pub use crate::error::{EmitError, HoleSite, Section};
pub use layout::{layout, Layout};

use crate::stencil::StencilTable;
use emitter::Emitter;

/// How many per-op values a trace op carries at most.
pub const MAX_OP_VALUES: usize = 4;

/// One uop of a trace, with the values its holes are patched with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceOp {
    /// Uop id: an index into [`StencilTable::info`].
    pub uop: u16,
    /// The stencil variant: how many of the top stack values arrive in
    /// registers (0..=[`StencilTable::cache`]).
    pub variant: u8,
    /// Index into the trace's ops of the uop whose code `JumpTarget` is.
    pub jump_target: u32,
    /// The per-op values the VM declared, in the order of
    /// [`StencilTable::op_values`]; the rest are unused.
    pub values: [u64; MAX_OP_VALUES],
}

impl TraceOp {
    /// An op of `uop` with no jump target and every value zero.
    pub const fn new(uop: u16) -> TraceOp {
        TraceOp {
            uop,
            variant: 0,
            jump_target: 0,
            values: [0; MAX_OP_VALUES],
        }
    }
}

/// Emits the trace into `buf`, which will live at address `base`, with the
/// table's generated emit functions where it has them (see
/// [`generated`]); the bytes and errors are those of [`emit_reference`].
///
/// `symbols[i]` is the address of `table.symbols[i]`. `layout` must be the
/// layout of these `ops` with this `table`, and `base + layout.len` must not
/// pass 2^64 - 1. Writes exactly
/// `buf[..layout.len]`, every byte of it (padding in code is filled with
/// trap instructions, in data with zeros).
pub fn emit(
    table: &StencilTable,
    ops: &[TraceOp],
    layout: &Layout,
    symbols: &[u64],
    buf: &mut [u8],
    base: u64,
) -> Result<(), EmitError> {
    emit_with(table, ops, layout, symbols, buf, base, true)
}

/// [`emit`] reading every hole from the table: the reference the generated
/// emit functions are tested against.
pub fn emit_reference(
    table: &StencilTable,
    ops: &[TraceOp],
    layout: &Layout,
    symbols: &[u64],
    buf: &mut [u8],
    base: u64,
) -> Result<(), EmitError> {
    emit_with(table, ops, layout, symbols, buf, base, false)
}

fn emit_with(
    table: &StencilTable,
    ops: &[TraceOp],
    layout: &Layout,
    symbols: &[u64],
    buf: &mut [u8],
    base: u64,
    generated: bool,
) -> Result<(), EmitError> {
    check(table, ops, layout, buf.len(), base)?;
    let emitter = Emitter {
        table,
        ops,
        layout,
        symbols,
        base,
        generated,
    };
    let (code, data) = buf[..layout.len].split_at_mut(layout.data_offset);
    emitter.emit_all(code, data)
}

/// Checks what `emit` is given against the layout.
fn check(
    table: &StencilTable,
    ops: &[TraceOp],
    layout: &Layout,
    buf_len: usize,
    base: u64,
) -> Result<(), EmitError> {
    let trampolines_end = layout.trampolines_end();
    if layout.op_offsets.len() != ops.len()
        || layout.op_data_offsets.len() != ops.len()
        || layout.arch != Some(table.arch)
        || layout.code_end > layout.trampoline_offset
        || !matches!(trampolines_end, Some(end) if end <= layout.code_len)
        || layout.code_len > layout.data_offset
        || layout.data_offset > layout.len
    {
        return Err(EmitError::LayoutMismatch);
    }
    if buf_len < layout.len {
        return Err(EmitError::BufferTooSmall {
            needed: layout.len,
            len: buf_len,
        });
    }
    if !layout.align.is_power_of_two() || base & (layout.align as u64 - 1) != 0 {
        return Err(EmitError::MisalignedBase {
            base,
            align: layout.align,
        });
    }
    // Every address the emitter computes is `base` plus an offset of at most
    // `len`; this keeps them all from wrapping.
    let fits = u64::try_from(layout.len)
        .ok()
        .and_then(|len| base.checked_add(len))
        .is_some();
    if !fits {
        return Err(EmitError::AddressOverflow {
            base,
            len: layout.len,
        });
    }
    Ok(())
}
