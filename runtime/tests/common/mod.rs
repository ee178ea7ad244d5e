//! A hand-written x86-64 stencil table with real machine code (assembled
//! with `llvm-mc`, listings in the comments). Calling convention of the
//! trace: `extern "C" fn(i64) -> i64`; the uops keep an accumulator in
//! `%rax` and the argument in `%rdi`, and return to the shim with `ret`.
#![allow(dead_code)]

pub mod table;

use runtime::{Arch, Hole, HoleKind, HoleValue, Stencil, StencilTable, TraceOp, UopInfo};
use table::{code_only, hole, info};
pub use table::{op, with_deopt_target, with_oparg, with_operand, OP_VALUES};

/// One GOT slot holding `value`.
const fn got_slot(value: HoleValue) -> [Hole; 1] {
    [hole(0, HoleKind::Abs64, value, 0)]
}

/// A GOT load of the slot at `slot` in the stencil's data, disp32 at
/// `offset`: `S` is the slot's address plus ELF's addend -4.
const fn got_load(offset: u32, slot: i64) -> Hole {
    hole(offset, HoleKind::X86_64GotLoad, HoleValue::Data, slot - 4)
}

/// As [`got_load`], for an instruction without a REX prefix
/// (`R_X86_64_GOTPCRELX`).
const fn got_load_no_rex(offset: u32, slot: i64) -> Hole {
    hole(
        offset,
        HoleKind::X86_64GotLoadNoRex,
        HoleValue::Data,
        slot - 4,
    )
}

const fn continuation(offset: u32) -> Hole {
    hole(offset, HoleKind::X86Branch32, HoleValue::Continue, -4)
}

pub const LOAD_OPERAND: u16 = 0;
pub const ADD_OPARG: u16 = 1;
pub const ADD_OPARG_GOT: u16 = 2;
pub const ADD_CONSTANT: u16 = 3;
pub const CALL_GOT: u16 = 4;
pub const CALL_DIRECT: u16 = 5;
pub const GUARD_BELOW: u16 = 6;
pub const ADD_ARGUMENT: u16 = 7;
pub const COUNT_DOWN: u16 = 8;
pub const ZERO: u16 = 9;
pub const RETURN: u16 = 10;
pub const ADD_OPARG_MOVL: u16 = 11;

/// The constant `add_constant` adds.
pub const CONSTANT: i64 = 1000;

static UOPS: [Stencil; 12] = [
    // load_operand: movq OPERAND@GOTPCREL(%rip), %rax
    Stencil {
        code: &[0x48, 0x8B, 0x05, 0, 0, 0, 0],
        code_holes: &[got_load(3, 0)],
        data: &[0; 8],
        data_holes: &got_slot(HoleValue::OpValue(1)),
        data_align: 8,
    },
    // add_oparg: addq $OPARG, %rax
    code_only(
        &[0x48, 0x05, 0, 0, 0, 0],
        &[hole(2, HoleKind::Abs32Signed, HoleValue::OpValue(0), 0)],
    ),
    // add_oparg_got: movq OPARG@GOTPCREL(%rip), %rcx; addq %rcx, %rax;
    // jmp CONTINUE
    Stencil {
        code: &[
            0x48, 0x8B, 0x0D, 0, 0, 0, 0, 0x48, 0x01, 0xC8, 0xE9, 0, 0, 0, 0,
        ],
        code_holes: &[got_load(3, 0), continuation(11)],
        data: &[0; 8],
        data_holes: &got_slot(HoleValue::OpValue(0)),
        data_align: 8,
    },
    // add_constant: movq CONSTANT@GOTPCREL(%rip), %rcx; addq (%rcx), %rax.
    // The data is the constant, then the GOT slot holding its address.
    Stencil {
        code: &[0x48, 0x8B, 0x0D, 0, 0, 0, 0, 0x48, 0x03, 0x01],
        code_holes: &[got_load(3, 8)],
        data: &[0xE8, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        data_holes: &[hole(8, HoleKind::Abs64, HoleValue::Data, 0)],
        data_align: 16,
    },
    // call_got: pushq %rdi; movq %rax, %rdi; callq *SYMBOL0@GOTPCREL(%rip);
    // popq %rdi
    Stencil {
        code: &[0x57, 0x48, 0x89, 0xC7, 0xFF, 0x15, 0, 0, 0, 0, 0x5F],
        code_holes: &[got_load_no_rex(6, 0)],
        data: &[0; 8],
        data_holes: &got_slot(HoleValue::Symbol(0)),
        data_align: 8,
    },
    // call_direct: pushq %rdi; movq %rax, %rdi; callq SYMBOL1; popq %rdi
    code_only(
        &[0x57, 0x48, 0x89, 0xC7, 0xE8, 0, 0, 0, 0, 0x5F],
        &[hole(5, HoleKind::X86Branch32, HoleValue::Symbol(1), -4)],
    ),
    // guard_below: cmpq $OPARG, %rax; jge 1f; jmp CONTINUE;
    // 1: movabsq $DEOPT_TARGET, %rax; retq
    code_only(
        &[
            0x48, 0x3D, 0, 0, 0, 0, 0x7D, 0x05, 0xE9, 0, 0, 0, 0, 0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0,
            0, 0xC3,
        ],
        &[
            hole(2, HoleKind::Abs32Signed, HoleValue::OpValue(0), 0),
            continuation(9),
            hole(15, HoleKind::Abs64, HoleValue::OpValue(2), 0),
        ],
    ),
    // add_argument: addq %rdi, %rax
    code_only(&[0x48, 0x01, 0xF8], &[]),
    // count_down: addq %rdi, %rax; subq $1, %rdi; jne JUMP_TARGET
    code_only(
        &[
            0x48, 0x01, 0xF8, 0x48, 0x83, 0xEF, 0x01, 0x0F, 0x85, 0, 0, 0, 0,
        ],
        &[hole(9, HoleKind::X86Branch32, HoleValue::JumpTarget, -4)],
    ),
    // zero: xorl %eax, %eax
    code_only(&[0x31, 0xC0], &[]),
    // return: retq
    code_only(&[0xC3], &[]),
    // add_oparg_movl: addq $0x48, %rax; movl OPARG@GOTPCREL(%rip), %ecx;
    // addq %rcx, %rax; subq $0x48, %rax. The byte before the `movl`, the
    // immediate 0x48 of the `addq`, looks like REX.W.
    Stencil {
        code: &[
            0x48, 0x83, 0xC0, 0x48, 0x8B, 0x0D, 0, 0, 0, 0, 0x48, 0x01, 0xC8, 0x48, 0x83, 0xE8,
            0x48,
        ],
        code_holes: &[got_load_no_rex(6, 0)],
        data: &[0; 8],
        data_holes: &got_slot(HoleValue::OpValue(0)),
        data_align: 8,
    },
];

static INFO: [UopInfo; 12] = [
    info("load_operand"),
    info("add_oparg"),
    info("add_oparg_got"),
    info("add_constant"),
    info("call_got"),
    info("call_direct"),
    info("guard_below"),
    info("add_argument"),
    info("count_down"),
    info("zero"),
    info("return"),
    info("add_oparg_movl"),
];

/// The shim: pushq %rbx (keeps the stack 16-byte aligned for helper calls);
/// callq CONTINUE; popq %rbx; retq
pub static TABLE: StencilTable = StencilTable {
    target: "x86_64-unknown-linux-gnu",
    arch: Arch::X86_64,
    llvm_version: "hand-written",
    code_align: 1,
    shim: code_only(&[0x53, 0xE8, 0, 0, 0, 0, 0x5B, 0xC3], &[continuation(2)]),
    cache: 0,
    uops: &UOPS,
    info: &INFO,
    symbols: &["triple", "add_seven"],
    op_values: &OP_VALUES,
    trace_values: &[],
    emitters: None,
};

pub extern "C" fn triple(x: i64) -> i64 {
    x.wrapping_mul(3)
}

pub extern "C" fn add_seven(x: i64) -> i64 {
    x.wrapping_add(7)
}

pub fn symbols() -> [u64; 2] {
    [
        triple as extern "C" fn(i64) -> i64 as usize as u64,
        add_seven as extern "C" fn(i64) -> i64 as usize as u64,
    ]
}

/// `load_operand(40) add_oparg(2) add_oparg_got(100) add_constant call_got
/// (triple) call_direct (add_seven) guard_below(limit) add_argument return`,
/// which computes `(((40 + 2 + 100 + 1000) * 3) + 7) + argument` unless the
/// guard deopts with `deopt_target` 6.
pub fn arithmetic_trace(limit: u32) -> Vec<TraceOp> {
    vec![
        with_operand(LOAD_OPERAND, 40),
        with_oparg(ADD_OPARG, 2),
        with_oparg(ADD_OPARG_GOT, 100),
        op(ADD_CONSTANT),
        op(CALL_GOT),
        op(CALL_DIRECT),
        with_deopt_target(with_oparg(GUARD_BELOW, limit), 6),
        op(ADD_ARGUMENT),
        op(RETURN),
    ]
}
