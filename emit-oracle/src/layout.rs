//! What any valid layout of a trace satisfies: stencils in trace order,
//! each aligned, nothing overlapping, no more padding than alignment needs,
//! a trampoline for exactly the symbols that may need one.

use std::collections::BTreeSet;

use runtime::{Arch, HoleKind, HoleValue, Layout, Stencil, StencilTable, TraceOp};

use crate::trampoline;

/// Whether code holes of `kind` go through a trampoline when their symbol
/// is out of reach.
pub fn served(arch: Arch, kind: HoleKind) -> bool {
    matches!(
        (arch, kind),
        (Arch::X86_64, HoleKind::X86Branch32)
            | (Arch::Aarch64, HoleKind::Aarch64Branch26)
            | (Arch::Riscv64, HoleKind::Riscv64Call)
    )
}

/// Least alignment of each stencil's data.
const MIN_DATA_ALIGN: usize = 8;
/// Least alignment of the start of the data.
const DATA_START_ALIGN: usize = 16;

fn aligned(offset: usize, align: usize) -> bool {
    align.is_power_of_two() && offset & (align - 1) == 0
}

/// Checks `layout` of `ops` (whose uops are all in `table`).
pub fn check(
    table: &StencilTable,
    ops: &[TraceOp],
    layout: &Layout,
    data_start_align: usize,
) -> Result<(), String> {
    let stencils: Vec<&Stencil> = ops
        .iter()
        .filter_map(|op| table.stencil(op.uop, op.variant))
        .collect();
    if layout.op_offsets.len() != ops.len() || layout.op_data_offsets.len() != ops.len() {
        return Err(format!(
            "{} ops but {} code and {} data offsets",
            ops.len(),
            layout.op_offsets.len(),
            layout.op_data_offsets.len()
        ));
    }
    if layout.arch != Some(table.arch) {
        return Err(format!("layout is for {:?}", layout.arch));
    }
    let code_align = table.code_align as usize;
    let mut end = table.shim.code.len();
    for (i, stencil) in stencils.iter().enumerate() {
        let offset = layout.op_offsets[i] as usize;
        if offset < end || offset - end >= code_align || !aligned(offset, code_align) {
            return Err(format!(
                "op {i}'s code at {offset:#x}: the code before it ends at {end:#x}, code alignment {code_align}"
            ));
        }
        end = offset + stencil.code.len();
    }
    if layout.code_end != end {
        return Err(format!(
            "code_end is {:#x}, the last stencil ends at {end:#x}",
            layout.code_end
        ));
    }

    let symbols: BTreeSet<u16> = std::iter::once(&table.shim)
        .chain(stencils.iter().copied())
        .flat_map(|stencil| stencil.code_holes)
        .filter(|hole| served(table.arch, hole.kind))
        .filter_map(|hole| match hole.value {
            HoleValue::Symbol(symbol) => Some(symbol),
            _ => None,
        })
        .collect();
    let reserved: Vec<u16> = symbols.into_iter().collect();
    if layout.trampoline_symbols != reserved {
        return Err(format!(
            "trampolines for symbols {:?}, but calls that may need one go to {reserved:?}",
            layout.trampoline_symbols
        ));
    }
    let trampolines = match trampoline::size(table.arch) {
        Some(size) => size * reserved.len(),
        None if reserved.is_empty() => 0,
        None => return Err("trampolines on an instruction set without them".to_string()),
    };
    if layout.trampoline_offset < end
        || layout.trampoline_offset - end >= 16
        || layout.code_len != layout.trampoline_offset + trampolines
    {
        return Err(format!(
            "code ends at {end:#x}, {} trampolines at {:#x}, code_len {:#x}",
            reserved.len(),
            layout.trampoline_offset,
            layout.code_len
        ));
    }

    let mut align = code_align.max(DATA_START_ALIGN).max(data_start_align);
    align = align.max(table.shim.data_align as usize);
    for stencil in &stencils {
        align = align.max(stencil.data_align as usize);
    }
    if !layout.align.is_power_of_two() || !aligned(layout.align, align) {
        return Err(format!(
            "base alignment {}, but the stencils need {align}",
            layout.align
        ));
    }
    let data_start = layout.data_offset;
    if data_start < layout.code_len
        || !aligned(data_start, DATA_START_ALIGN.max(data_start_align))
        || data_start - layout.code_len >= layout.align
    {
        return Err(format!(
            "data at {data_start:#x}, code ends at {:#x}, data start alignment {data_start_align}",
            layout.code_len
        ));
    }
    let mut end = data_start + table.shim.data.len();
    for (i, stencil) in stencils.iter().enumerate() {
        let offset = layout.op_data_offsets[i] as usize;
        let align = (stencil.data_align as usize).max(MIN_DATA_ALIGN);
        if offset < end || offset - end >= align || !aligned(offset, align) {
            return Err(format!(
                "op {i}'s data at {offset:#x}: the data before it ends at {end:#x}, alignment {align}"
            ));
        }
        end = offset + stencil.data.len();
    }
    if layout.len != end {
        return Err(format!(
            "length {:#x}, the last data ends at {end:#x}",
            layout.len
        ));
    }
    Ok(())
}
