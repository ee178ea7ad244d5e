//! Building hand-written stencil tables and traces: holes, stencils with
//! code only, uop information with no flags set, and trace ops.
#![allow(dead_code, unused_macros, unused_imports)]

use runtime::{Hole, HoleKind, HoleValue, Stencil, TraceOp, UopInfo, ValueInfo};

/// Little-endian bytes of 32-bit instruction words.
macro_rules! words {
    ($($word:expr),* $(,)?) => {
        &[$(
            ($word as u32).to_le_bytes()[0],
            ($word as u32).to_le_bytes()[1],
            ($word as u32).to_le_bytes()[2],
            ($word as u32).to_le_bytes()[3],
        )*]
    };
}
pub(crate) use words;

pub const fn hole(offset: u32, kind: HoleKind, value: HoleValue, addend: i64) -> Hole {
    Hole {
        offset,
        kind,
        value,
        addend,
    }
}

pub const fn code_only(code: &'static [u8], code_holes: &'static [Hole]) -> Stencil {
    Stencil {
        code,
        code_holes,
        data: &[],
        data_holes: &[],
        data_align: 1,
    }
}

pub const fn info(name: &'static str) -> UopInfo {
    UopInfo {
        name,
        inputs: &[],
        outputs: &[],
        uses: &[],
        helpers: &[],
    }
}

/// An op of `uop` with every value zero.
pub fn op(uop: u16) -> TraceOp {
    TraceOp::new(uop)
}

/// The per-op values of the hand-written tables: the oparg, the operand
/// and the deopt target, in that order.
pub static OP_VALUES: [ValueInfo; 3] = [
    ValueInfo {
        name: "oparg",
        bits: 32,
    },
    ValueInfo {
        name: "operand",
        bits: 64,
    },
    ValueInfo {
        name: "deopt_target",
        bits: 64,
    },
];

pub fn with_oparg(uop: u16, oparg: u32) -> TraceOp {
    let mut op = op(uop);
    op.values[0] = u64::from(oparg);
    op
}

pub fn with_operand(uop: u16, operand: u64) -> TraceOp {
    let mut op = op(uop);
    op.values[1] = operand;
    op
}

/// `op` with its deopt target set.
pub fn with_deopt_target(mut op: TraceOp, deopt_target: u64) -> TraceOp {
    op.values[2] = deopt_target;
    op
}

pub fn jump(uop: u16, jump_target: u32) -> TraceOp {
    TraceOp {
        jump_target,
        ..op(uop)
    }
}
