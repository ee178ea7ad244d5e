//! i686 emission: hand-written 32-bit x86 stencils (encodings from
//! `llvm-mc-19 --triple=i686`), emitted into plain buffers on any host, and
//! run under `qemu-i386` with the freestanding harness of `tests/guest`.
//!
//! The shim is `int64_t (*)(int64_t)` in cdecl: it loads the argument's
//! low half into `%eax`, calls the first op and sign-extends `%eax` into
//! `%edx:%eax`. The uops work on `%eax` with `%ecx` as accumulator and
//! return to the shim with `ret`.

mod guest;
#[path = "common/table.rs"]
mod table;

use guest::Guest;
use runtime::{
    emit, layout, Arch, EmitError, HoleKind, HoleValue, PatchError, Stencil, StencilTable, TraceOp,
    UopInfo,
};
use table::{code_only, hole, info, jump, op, with_oparg, OP_VALUES};

const ADD_OPARG: u16 = 0;
const ADD_CONSTANT: u16 = 1;
const ADD_THROUGH_POINTER: u16 = 2;
const CALL_HELPER: u16 = 3;
const SET_ACC_ZERO: u16 = 4;
const ACC_ADD: u16 = 5;
const DEC: u16 = 6;
const BRANCH_IF_NONZERO: u16 = 7;
const MOVE_ACC: u16 = 8;
const RETURN: u16 = 9;

static UOPS: [Stencil; 10] = [
    // addl $OPARG, %eax
    code_only(
        &[0x05, 0, 0, 0, 0],
        &[hole(1, HoleKind::Abs32, HoleValue::OpValue(0), 0)],
    ),
    // addl data+4, %eax (an absolute address)
    Stencil {
        code: &[0x03, 0x05, 0, 0, 0, 0],
        code_holes: &[hole(2, HoleKind::Abs32, HoleValue::Data, 4)],
        data: &[0xEE, 0xEE, 0xEE, 0xEE, 0xE8, 0x03, 0, 0],
        data_holes: &[],
        data_align: 4,
    },
    // movl data, %ecx; addl (%ecx), %eax -- the data's first word points
    // at its third.
    Stencil {
        code: &[0x8B, 0x0D, 0, 0, 0, 0, 0x03, 0x01],
        code_holes: &[hole(2, HoleKind::Abs32, HoleValue::Data, 0)],
        data: &[0, 0, 0, 0, 0xEE, 0xEE, 0xEE, 0xEE, 7, 0, 0, 0],
        data_holes: &[hole(0, HoleKind::Abs32, HoleValue::Data, 8)],
        data_align: 4,
    },
    // calll SYMBOL0; jmp CONTINUE
    code_only(
        &[0xE8, 0, 0, 0, 0, 0xE9, 0, 0, 0, 0],
        &[
            hole(1, HoleKind::X86Branch32, HoleValue::Symbol(0), -4),
            hole(6, HoleKind::X86Branch32, HoleValue::Continue, -4),
        ],
    ),
    // xorl %ecx, %ecx
    code_only(&[0x31, 0xC9], &[]),
    // addl %eax, %ecx
    code_only(&[0x01, 0xC1], &[]),
    // decl %eax
    code_only(&[0x48], &[]),
    // testl %eax, %eax; jne JUMP_TARGET
    code_only(
        &[0x85, 0xC0, 0x0F, 0x85, 0, 0, 0, 0],
        &[hole(4, HoleKind::X86Branch32, HoleValue::JumpTarget, -4)],
    ),
    // movl %ecx, %eax
    code_only(&[0x89, 0xC8], &[]),
    // retl (to the shim)
    code_only(&[0xC3], &[]),
];

static INFO: [UopInfo; 10] = [
    info("add_oparg"),
    info("add_constant"),
    info("add_through_pointer"),
    info("call_helper"),
    info("set_acc_zero"),
    info("acc_add"),
    info("dec"),
    info("branch_if_nonzero"),
    info("move_acc"),
    info("return"),
];

/// The shim: movl 4(%esp), %eax; calll CONTINUE; cltd; retl
static TABLE: StencilTable = StencilTable {
    target: "i686-unknown-linux-gnu",
    arch: Arch::I686,
    llvm_version: "hand-written",
    code_align: 1,
    shim: code_only(
        &[0x8B, 0x44, 0x24, 0x04, 0xE8, 0, 0, 0, 0, 0x99, 0xC3],
        &[hole(5, HoleKind::X86Branch32, HoleValue::Continue, -4)],
    ),
    cache: 0,
    uops: &UOPS,
    info: &INFO,
    symbols: &["triple"],
    op_values: &OP_VALUES,
    trace_values: &[],
    emitters: None,
};

/// The helper: leal (%eax,%eax,2), %eax; retl
const TRIPLE: &[u8] = &[0x8D, 0x04, 0x40, 0xC3];

/// `(a0 + oparg + 1000 + 7) * 3`, the multiplication in the helper.
fn arithmetic_trace(oparg: u32) -> Vec<TraceOp> {
    vec![
        with_oparg(ADD_OPARG, oparg),
        op(ADD_CONSTANT),
        op(ADD_THROUGH_POINTER),
        op(CALL_HELPER),
        op(RETURN),
    ]
}

/// Emits `ops` at `base` with the helper at `helper`, runs the shim under
/// qemu-i386 once per argument and returns the results.
fn run(ops: &[TraceOp], base: u64, helper: u64, arguments: &[i64]) -> Vec<i64> {
    guest::run_trace(Guest::I686, &TABLE, TRIPLE, ops, base, helper, arguments)
}

const BASE: u64 = 0x1000_0000;

#[test]
fn arithmetic_runs_with_near_and_wrapping_calls() {
    // The second helper is 2.5 GiB above the trace: a rel32 reaches it
    // only by wrapping around the 32-bit address space.
    for helper in [BASE + 0x100_0000, BASE + 0xA000_0000] {
        let ops = arithmetic_trace(5);
        assert_eq!(
            run(&ops, BASE, helper, &[1, -50, 0x7FFF]),
            [3039, 2886, (0x7FFF + 1012) * 3],
            "helper {helper:#x}"
        );
    }
}

#[test]
fn conditional_branches_run() {
    // Sum of 1..=n: acc = 0; loop: acc += eax; eax -= 1; jne loop.
    let ops = [
        op(SET_ACC_ZERO),
        op(ACC_ADD),
        op(DEC),
        jump(BRANCH_IF_NONZERO, 1),
        op(MOVE_ACC),
        op(RETURN),
    ];
    assert_eq!(
        run(&ops, BASE + 0x4000_0000, BASE, &[10, 1, 100]),
        [55, 1, 5050]
    );
}

#[test]
fn the_call_wraps_around_four_gib() {
    let ops = arithmetic_trace(5);
    let layout = guest::trace_layout(&TABLE, &ops);
    let helper = BASE + 0xA000_0000;
    let bytes = guest::emit_at(&TABLE, &ops, helper, BASE).unwrap();
    // Code padding is `int3`.
    assert!(bytes[layout.code_end..layout.data_offset]
        .iter()
        .all(|&byte| byte == 0xCC));
    let at = layout.op_offsets[3] as usize + 1;
    let rel32 = i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    // -1.5 GiB back is 2.5 GiB forward, modulo 4 GiB.
    let next = BASE + at as u64 + 4;
    assert_eq!(rel32, (helper.wrapping_sub(next) as u32) as i32);
    assert_eq!(
        i64::from(rel32),
        0xA000_0000 - 0x1_0000_0000 - (next - BASE) as i64
    );
}

#[test]
fn a_trace_past_four_gib_is_an_error() {
    let ops = arithmetic_trace(5);
    let layout = layout(&TABLE, &ops).unwrap();
    let error = |base: u64| {
        let mut buf = vec![0; layout.len];
        emit(&TABLE, &ops, &layout, &[BASE], &mut buf, base).unwrap_err()
    };
    // The code fits below 4 GiB but the data does not: the absolute
    // address of the constant is out of range.
    let base = 0x1_0000_0000 - layout.data_offset as u64;
    let EmitError::Patch {
        site, value, error, ..
    } = error(base)
    else {
        panic!("{:?}", error(base));
    };
    assert_eq!(
        (site.op, site.kind, value),
        (Some(1), HoleKind::Abs32, HoleValue::Data)
    );
    assert_eq!(
        error,
        PatchError::OutOfRange {
            kind: HoleKind::Abs32,
            location: base + u64::from(layout.op_offsets[1]) + 2,
            target: base + u64::from(layout.op_data_offsets[1]) + 4,
        }
    );
    // Right below 4 GiB, everything fits.
    let base = (0x1_0000_0000 - layout.len as u64) & !(layout.align as u64 - 1);
    let mut buf = vec![0; layout.len];
    emit(&TABLE, &ops, &layout, &[BASE], &mut buf, base).unwrap();
}
