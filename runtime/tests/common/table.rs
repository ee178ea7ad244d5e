//! Building hand-written stencil tables and traces: holes, stencils with
//! code only, uop information with no flags set, and trace ops.
#![allow(dead_code, unused_macros, unused_imports)]

use runtime::{Hole, HoleKind, HoleValue, Stencil, TraceOp, UopInfo};

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
        uses_oparg: false,
        uses_operand: false,
        uses_jump_target: false,
        uses_deopt: false,
        helpers: &[],
    }
}

/// An op of `uop` with every value zero.
pub fn op(uop: u16) -> TraceOp {
    TraceOp {
        uop,
        oparg: 0,
        operand: 0,
        jump_target: 0,
        deopt_target: 0,
    }
}

pub fn with_oparg(uop: u16, oparg: u32) -> TraceOp {
    TraceOp { oparg, ..op(uop) }
}

pub fn jump(uop: u16, jump_target: u32) -> TraceOp {
    TraceOp {
        jump_target,
        ..op(uop)
    }
}
