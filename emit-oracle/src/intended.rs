//! What every hole of a trace should hold, computed from the trace and its
//! layout alone, and where each stencil went.

use runtime::{HoleValue, Layout, Stencil, StencilTable, TraceOp};

/// One stencil of the trace (the shim or an op) and its addresses.
#[derive(Clone, Copy, Debug)]
pub struct Placed<'a> {
    /// Index of the op; `None` for the shim.
    pub op: Option<usize>,
    pub stencil: &'a Stencil,
    /// Offsets of its code and data from the base.
    pub code: usize,
    pub data: usize,
    /// Offset of the code it continues at.
    pub continuation: usize,
}

impl Placed<'_> {
    pub fn name(&self, table: &StencilTable, ops: &[TraceOp]) -> String {
        match self.op {
            None => "shim".to_string(),
            Some(i) => {
                let uop = ops[i].uop;
                let name = table
                    .info
                    .get(usize::from(uop))
                    .map_or("?", |info| info.name);
                format!("op {i} ({name})")
            }
        }
    }
}

/// The shim and every op where `layout` puts them. The ops' uops must be in
/// the table.
pub fn placements<'a>(
    table: &'a StencilTable,
    ops: &[TraceOp],
    layout: &Layout,
) -> Vec<Placed<'a>> {
    let stencil = |i: usize| {
        table
            .stencil(ops[i].uop, ops[i].variant)
            .expect("checked: every op's stencil exists")
    };
    let code_end = |i: usize| layout.op_offsets[i] as usize + stencil(i).code.len();
    let mut placed = vec![Placed {
        op: None,
        stencil: &table.shim,
        code: 0,
        data: layout.data_offset,
        continuation: match ops.len() {
            0 => table.shim.code.len(),
            _ => layout.op_offsets[0] as usize,
        },
    }];
    for i in 0..ops.len() {
        placed.push(Placed {
            op: Some(i),
            stencil: stencil(i),
            code: layout.op_offsets[i] as usize,
            data: layout.op_data_offsets[i] as usize,
            continuation: match layout.op_offsets.get(i + 1) {
                Some(&next) => next as usize,
                None => code_end(i),
            },
        });
    }
    placed
}

/// Why a hole has no value in this trace: emission must fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoValue {
    MissingSymbol(u16),
    JumpTargetOutOfRange(u32),
    OutsideOp,
}

/// The hole's value (without its addend) in this trace.
pub fn value(
    value: HoleValue,
    placed: &Placed<'_>,
    ops: &[TraceOp],
    layout: &Layout,
    symbols: &[u64],
    base: u64,
) -> Result<u64, NoValue> {
    let at = |offset: usize| base.wrapping_add(offset as u64);
    let op = placed.op.map(|i| &ops[i]);
    Ok(match value {
        HoleValue::Code => at(placed.code),
        HoleValue::Data => at(placed.data),
        HoleValue::Continue => at(placed.continuation),
        HoleValue::Zero => 0,
        HoleValue::Symbol(symbol) => *symbols
            .get(usize::from(symbol))
            .ok_or(NoValue::MissingSymbol(symbol))?,
        HoleValue::OpValue(i) => *op
            .ok_or(NoValue::OutsideOp)?
            .values
            .get(usize::from(i))
            .ok_or(NoValue::OutsideOp)?,
        HoleValue::JumpTarget => {
            let target = op.ok_or(NoValue::OutsideOp)?.jump_target;
            let offset = layout
                .op_offsets
                .get(target as usize)
                .ok_or(NoValue::JumpTargetOutOfRange(target))?;
            at(*offset as usize)
        }
    })
}
