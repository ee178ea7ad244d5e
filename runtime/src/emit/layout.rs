//! Trace layout: where every stencil's code and data, and the trampolines,
//! go (see the crate documentation for the picture).

use alloc::vec::Vec;

use super::TraceOp;
use crate::error::{EmitError, Section};
use crate::hole::{Arch, HoleValue};
use crate::stencil::{Stencil, StencilTable};
use crate::trampoline;

/// Alignment of the start of the data: GOT slots and constants never share
/// a 16-byte line with code.
const DATA_START_ALIGN: usize = 16;
/// Least alignment of each stencil's data, enough for its GOT slots.
const MIN_DATA_ALIGN: usize = 8;

/// Where everything of a trace goes, as byte offsets from its base.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Offset of each op's code. The shim's code is at offset 0.
    pub op_offsets: Vec<u32>,
    /// End of the code, trampolines included: `0..code_len` is executable.
    pub code_len: usize,
    /// Start of the data; the shim's data is here.
    pub data_offset: usize,
    /// Total length of the trace.
    pub len: usize,
    /// Offset of each op's data.
    pub op_data_offsets: Vec<u32>,
    /// End of the last op's code (the end of the shim's code if there are no
    /// ops): the continuation of the last op.
    pub code_end: usize,
    /// Offset of the first trampoline, aligned as the instruction set's
    /// trampolines require; they follow each other, one per symbol.
    pub trampoline_offset: usize,
    /// The symbol each trampoline jumps to, ascending.
    pub trampoline_symbols: Vec<u16>,
    /// Alignment the base address must have.
    pub align: usize,
    /// Instruction set of the table the layout was computed for.
    pub arch: Option<Arch>,
}

/// Lays out `ops` with the stencils of `table`.
pub fn layout(table: &StencilTable, ops: &[TraceOp]) -> Result<Layout, EmitError> {
    let mut layout = Layout::default();
    layout.recompute(table, ops, DATA_START_ALIGN)?;
    Ok(layout)
}

impl Layout {
    /// Like [`layout`], with the data starting at a multiple of
    /// `data_start_align` (a power of two), e.g. a page so that code and data
    /// get different protections.
    pub fn with_data_start_align(
        table: &StencilTable,
        ops: &[TraceOp],
        data_start_align: usize,
    ) -> Result<Layout, EmitError> {
        let mut layout = Layout::default();
        layout.recompute(table, ops, data_start_align)?;
        Ok(layout)
    }

    /// Lays out `ops` again, reusing this layout's vectors. The data starts
    /// at a multiple of `data_start_align` (a power of two) and of 16. On
    /// error the layout is left empty, fit for no trace.
    pub fn recompute(
        &mut self,
        table: &StencilTable,
        ops: &[TraceOp],
        data_start_align: usize,
    ) -> Result<(), EmitError> {
        let result = self.compute(table, ops, data_start_align);
        if result.is_err() {
            self.op_offsets.clear();
            self.op_data_offsets.clear();
            self.trampoline_symbols.clear();
            self.arch = None;
        }
        result
    }

    fn compute(
        &mut self,
        table: &StencilTable,
        ops: &[TraceOp],
        data_start_align: usize,
    ) -> Result<(), EmitError> {
        if !data_start_align.is_power_of_two() {
            return Err(EmitError::BadAlignment {
                op: None,
                uop: "trace",
                section: Section::Data,
                align: data_start_align as u64,
            });
        }
        self.op_offsets.clear();
        self.op_data_offsets.clear();
        self.trampoline_symbols.clear();
        self.arch = Some(table.arch);

        let code_align = alignment(table.code_align, None, "shim", Section::Code)?;
        let mut align = code_align.max(DATA_START_ALIGN).max(data_start_align);
        let mut offset = table.shim.code.len();
        self.reserve_trampolines(table.arch, &table.shim);
        align = align.max(alignment(
            table.shim.data_align,
            None,
            "shim",
            Section::Data,
        )?);
        for (i, op) in ops.iter().enumerate() {
            let stencil = uop_stencil(table, i, op)?;
            offset = align_up(offset, code_align)?;
            self.op_offsets.push(offset_u32(offset)?);
            offset = add(offset, stencil.code.len())?;
            self.reserve_trampolines(table.arch, stencil);
            let data_align = alignment(
                stencil.data_align,
                Some(i),
                uop_name(table, op.uop),
                Section::Data,
            )?;
            align = align.max(data_align);
        }
        self.trampoline_symbols.sort_unstable();
        self.trampoline_symbols.dedup();

        self.code_end = offset;
        match trampoline::form(table.arch) {
            Some(form) if !self.trampoline_symbols.is_empty() => {
                self.trampoline_offset = align_up(offset, form.align)?;
                let trampolines = self.trampoline_symbols.len() * form.size();
                self.code_len = add(self.trampoline_offset, trampolines)?;
            }
            // No symbol is reserved without a trampoline form.
            _ => {
                self.trampoline_offset = offset;
                self.code_len = offset;
            }
        }

        self.data_offset = align_up(self.code_len, align)?;
        let mut offset = add(self.data_offset, table.shim.data.len())?;
        for (i, op) in ops.iter().enumerate() {
            // Checked above: every uop exists and has a valid data alignment.
            let stencil = uop_stencil(table, i, op)?;
            offset = align_up(offset, (stencil.data_align as usize).max(MIN_DATA_ALIGN))?;
            self.op_data_offsets.push(offset_u32(offset)?);
            offset = add(offset, stencil.data.len())?;
        }
        self.len = offset;
        offset_u32(self.len)?;
        self.align = align;
        Ok(())
    }

    /// Notes the symbols that code holes of `stencil` may reach through a
    /// trampoline.
    fn reserve_trampolines(&mut self, arch: Arch, stencil: &Stencil) {
        for hole in stencil.code_holes {
            if let HoleValue::Symbol(symbol) = hole.value {
                if trampoline::serves(arch, hole.kind) {
                    self.trampoline_symbols.push(symbol);
                }
            }
        }
    }

    /// Offset of the trampoline that jumps to `symbol`, if one is reserved
    /// (and the offset does not overflow, in a layout built by hand).
    pub fn trampoline(&self, symbol: u16) -> Option<usize> {
        let index = self.trampoline_symbols.binary_search(&symbol).ok()?;
        let size = trampoline::size(self.arch?)?;
        index.checked_mul(size)?.checked_add(self.trampoline_offset)
    }

    /// End of the trampolines: `trampoline_offset` if there are none, and
    /// `None` if the layout reserves trampolines its instruction set does
    /// not have, or their end overflows.
    pub fn trampolines_end(&self) -> Option<usize> {
        if self.trampoline_symbols.is_empty() {
            return Some(self.trampoline_offset);
        }
        let size = trampoline::size(self.arch?)?;
        self.trampoline_symbols
            .len()
            .checked_mul(size)?
            .checked_add(self.trampoline_offset)
    }
}

pub(crate) fn uop_stencil<'t>(
    table: &'t StencilTable,
    op_index: usize,
    op: &TraceOp,
) -> Result<&'t Stencil, EmitError> {
    if usize::from(op.uop) >= table.uop_count() {
        return Err(EmitError::UnknownUop {
            op: op_index,
            uop: op.uop,
        });
    }
    table
        .stencil(op.uop, op.variant)
        .ok_or(EmitError::UnknownVariant {
            op: op_index,
            uop: op.uop,
            variant: op.variant,
            cache: table.cache,
        })
}

/// Name of a uop for messages.
pub(crate) fn uop_name(table: &StencilTable, uop: u16) -> &'static str {
    table
        .info
        .get(usize::from(uop))
        .map_or("<unnamed uop>", |info| info.name)
}

fn alignment(
    align: u32,
    op: Option<usize>,
    uop: &'static str,
    section: Section,
) -> Result<usize, EmitError> {
    if align.is_power_of_two() {
        Ok(align as usize)
    } else {
        Err(EmitError::BadAlignment {
            op,
            uop,
            section,
            align: u64::from(align),
        })
    }
}

fn add(a: usize, b: usize) -> Result<usize, EmitError> {
    a.checked_add(b).ok_or(EmitError::TooLarge)
}

fn align_up(offset: usize, align: usize) -> Result<usize, EmitError> {
    Ok(add(offset, align - 1)? & !(align - 1))
}

fn offset_u32(offset: usize) -> Result<u32, EmitError> {
    u32::try_from(offset).map_err(|_| EmitError::TooLarge)
}
