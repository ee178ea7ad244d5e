//! A trace prepared once and emitted at any number of base addresses.

use alloc::vec;
use alloc::vec::Vec;

use super::emitter::{Emitter, MovingHole, Pass};
use super::layout::{layout, Layout};
use super::{check, TraceOp};
use crate::error::EmitError;
use crate::stencil::StencilTable;

/// A trace whose bytes are emitted once, at a page-aligned reference base,
/// with only the holes that move with the base address left to patch.
///
/// [`PreparedTrace::emit`] then copies those bytes and patches the moving
/// holes (addresses of the trace's own code or data in absolute form, calls
/// to symbols, GOT loads whose relaxation depends on the distance, and on a
/// base that is not page aligned, AArch64 page and page offset holes). The
/// result is byte for byte what [`super::emit`] writes at the same base.
#[derive(Clone, Debug)]
pub struct PreparedTrace {
    table: StencilTable,
    ops: Vec<TraceOp>,
    symbols: Vec<u64>,
    layout: Layout,
    /// The trace emitted at base 0, moving holes unpatched.
    image: Vec<u8>,
    /// In emission order: a stencil's data holes before its code holes.
    moving: Vec<MovingHole>,
}

/// The pass that emits the fixed bytes and collects the moving holes.
struct Collect<'v>(&'v mut Vec<MovingHole>);

impl Pass for Collect<'_> {
    const FIXED_ONLY: bool = true;
    fn moving(&mut self, hole: MovingHole) {
        self.0.push(hole);
    }
}

impl PreparedTrace {
    /// Lays out and prepares `ops`; `symbols[i]` is the address of
    /// `table.symbols[i]`.
    pub fn new(
        table: &StencilTable,
        ops: &[TraceOp],
        symbols: &[u64],
    ) -> Result<PreparedTrace, EmitError> {
        PreparedTrace::with_layout(table, ops, symbols, layout(table, ops)?)
    }

    /// Prepares `ops` with a layout computed for them, e.g. by
    /// [`Layout::with_data_start_align`].
    pub fn with_layout(
        table: &StencilTable,
        ops: &[TraceOp],
        symbols: &[u64],
        layout: Layout,
    ) -> Result<PreparedTrace, EmitError> {
        check(table, ops, &layout, layout.len, 0)?;
        let mut image = vec![0; layout.len];
        let mut moving = Vec::new();
        let emitter = Emitter {
            table,
            ops,
            layout: &layout,
            symbols,
            base: 0,
        };
        let (code, data) = image.split_at_mut(layout.data_offset);
        emitter.emit_all(code, data, &mut Collect(&mut moving))?;
        Ok(PreparedTrace {
            table: *table,
            ops: ops.to_vec(),
            symbols: symbols.to_vec(),
            layout,
            image,
            moving,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of holes re-patched by [`PreparedTrace::emit`] at a base that
    /// is (or is not) page aligned.
    pub fn moving_holes(&self, page_aligned: bool) -> usize {
        self.moving
            .iter()
            .filter(|hole| !(page_aligned && hole.page_relative))
            .count()
    }

    /// Emits the trace into `buf`, which will live at address `base`;
    /// writes exactly `buf[..self.layout().len]`.
    pub fn emit(&self, buf: &mut [u8], base: u64) -> Result<(), EmitError> {
        let layout = &self.layout;
        check(&self.table, &self.ops, layout, buf.len(), base)?;
        let buf = &mut buf[..layout.len];
        buf.copy_from_slice(&self.image);
        let emitter = Emitter {
            table: &self.table,
            ops: &self.ops,
            layout,
            symbols: &self.symbols,
            base,
        };
        let page_aligned = base & 0xFFF == 0;
        let (code, data) = buf.split_at_mut(layout.data_offset);
        for hole in &self.moving {
            if !(page_aligned && hole.page_relative) {
                emitter.patch_moving(hole, code, data)?;
            }
        }
        Ok(())
    }
}
