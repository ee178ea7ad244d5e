//! AArch64 emission: hand-written stencils (encodings from `llvm-mc`),
//! emitted into plain buffers on any host, and run under `qemu-aarch64`
//! with a small freestanding C harness built by `clang-19` and `lld`.

mod guest;
#[path = "common/table.rs"]
mod table;

use runtime::{emit, layout, Arch, HoleKind, HoleValue, Stencil, StencilTable, TraceOp, UopInfo};
use table::{code_only, hole, info, jump, op, with_oparg, with_operand, words, OP_VALUES};

const LOAD_OPERAND: u16 = 0;
const ADD_OPARG_GOT: u16 = 1;
const ADD_CONSTANT: u16 = 2;
const ADD_CONSTANT_PAGE: u16 = 3;
const CALL_HELPER: u16 = 4;
const SET_ACC_ZERO: u16 = 5;
const ACC_ADD: u16 = 6;
const DEC: u16 = 7;
const BRANCH_IF_NONZERO: u16 = 8;
const BRANCH_IF_NEGATIVE: u16 = 9;
const MOVE_ACC: u16 = 10;
const NEGATE: u16 = 11;
const RETURN: u16 = 12;

const RET: u32 = 0xD65F_03C0;
/// ldr x1, [x1]; add x0, x0, x1
const LOAD_X1_ADD: [u32; 2] = [0xF940_0021, 0x8B01_0000];

static UOPS: [Stencil; 13] = [
    // movz x0, #OPERAND[0:16]; movk x0, #OPERAND[16:32], lsl #16; ...
    code_only(
        words![0xD280_0000, 0xF2A0_0000, 0xF2C0_0000, 0xF2E0_0000],
        &[
            hole(
                0,
                HoleKind::Aarch64MovWide { group: 0 },
                HoleValue::OpValue(1),
                0,
            ),
            hole(
                4,
                HoleKind::Aarch64MovWide { group: 1 },
                HoleValue::OpValue(1),
                0,
            ),
            hole(
                8,
                HoleKind::Aarch64MovWide { group: 2 },
                HoleValue::OpValue(1),
                0,
            ),
            hole(
                12,
                HoleKind::Aarch64MovWide { group: 3 },
                HoleValue::OpValue(1),
                0,
            ),
        ],
    ),
    // adrp x1, GOT_SLOT; ldr x1, [x1, :lo12:GOT_SLOT]; add x0, x0, x1
    Stencil {
        code: words![0x9000_0001, LOAD_X1_ADD[0], LOAD_X1_ADD[1]],
        code_holes: &[
            hole(0, HoleKind::Aarch64AdrpPage21, HoleValue::Data, 0),
            hole(
                4,
                HoleKind::Aarch64PageOffset12 { scale: 3 },
                HoleValue::Data,
                0,
            ),
        ],
        data: &[0; 8],
        data_holes: &[hole(0, HoleKind::Abs64, HoleValue::OpValue(0), 0)],
        data_align: 8,
    },
    // adr x1, CONSTANT; ldr x1, [x1]; add x0, x0, x1
    Stencil {
        code: words![0x1000_0001, LOAD_X1_ADD[0], LOAD_X1_ADD[1]],
        code_holes: &[hole(0, HoleKind::Aarch64Adr21, HoleValue::Data, 0)],
        data: &1000u64.to_le_bytes(),
        data_holes: &[],
        data_align: 8,
    },
    // adrp x1, CONSTANT; add x1, x1, :lo12:CONSTANT; ldr x1, [x1];
    // add x0, x0, x1 -- the constant is the second word of the data.
    Stencil {
        code: words![0x9000_0001, 0x9100_0021, LOAD_X1_ADD[0], LOAD_X1_ADD[1]],
        code_holes: &[
            hole(0, HoleKind::Aarch64AdrpPage21, HoleValue::Data, 8),
            hole(
                4,
                HoleKind::Aarch64PageOffset12 { scale: 0 },
                HoleValue::Data,
                8,
            ),
        ],
        data: &[
            0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 7, 0, 0, 0, 0, 0, 0, 0,
        ],
        data_holes: &[],
        data_align: 16,
    },
    // stp x29, x30, [sp, #-16]!; bl SYMBOL0; ldp x29, x30, [sp], #16;
    // b CONTINUE
    code_only(
        words![0xA9BF_7BFD, 0x9400_0000, 0xA8C1_7BFD, 0x1400_0000],
        &[
            hole(4, HoleKind::Aarch64Branch26, HoleValue::Symbol(0), 0),
            hole(12, HoleKind::Aarch64Branch26, HoleValue::Continue, 0),
        ],
    ),
    // mov x2, xzr
    code_only(words![0xAA1F_03E2], &[]),
    // add x2, x2, x0
    code_only(words![0x8B00_0042], &[]),
    // sub x0, x0, #1
    code_only(words![0xD100_0400], &[]),
    // cbnz x0, JUMP_TARGET
    code_only(
        words![0xB500_0000],
        &[hole(0, HoleKind::Aarch64Branch19, HoleValue::JumpTarget, 0)],
    ),
    // tbnz x0, #63, JUMP_TARGET
    code_only(
        words![0xB7F8_0000],
        &[hole(0, HoleKind::Aarch64Branch14, HoleValue::JumpTarget, 0)],
    ),
    // mov x0, x2
    code_only(words![0xAA02_03E0], &[]),
    // neg x0, x0
    code_only(words![0xCB00_03E0], &[]),
    // ret (to the shim)
    code_only(words![RET], &[]),
];

static INFO: [UopInfo; 13] = [
    info("load_operand"),
    info("add_oparg_got"),
    info("add_constant"),
    info("add_constant_page"),
    info("call_helper"),
    info("set_acc_zero"),
    info("acc_add"),
    info("dec"),
    info("branch_if_nonzero"),
    info("branch_if_negative"),
    info("move_acc"),
    info("negate"),
    info("return"),
];

/// The shim: stp x29, x30, [sp, #-16]!; bl CONTINUE; ldp x29, x30, [sp],
/// #16; ret
static TABLE: StencilTable = StencilTable {
    target: "aarch64-unknown-linux-gnu",
    arch: Arch::Aarch64,
    llvm_version: "hand-written",
    code_align: 4,
    shim: code_only(
        words![0xA9BF_7BFD, 0x9400_0000, 0xA8C1_7BFD, RET],
        &[hole(4, HoleKind::Aarch64Branch26, HoleValue::Continue, 0)],
    ),
    cache: 0,
    uops: &UOPS,
    info: &INFO,
    symbols: &["triple"],
    op_values: &OP_VALUES,
    trace_values: &[],
    emitters: None,
};

/// The helper: add x0, x0, x0, lsl #1; ret
const TRIPLE: &[u8] = words![0x8B00_0400, RET];

const OPERAND: u64 = 0x0001_0002_0003_0004;

/// `((OPERAND + 5 + 1000 + 7) * 3)`, with the multiplication in a helper.
fn arithmetic_trace() -> Vec<TraceOp> {
    vec![
        with_operand(LOAD_OPERAND, OPERAND),
        with_oparg(ADD_OPARG_GOT, 5),
        op(ADD_CONSTANT),
        op(ADD_CONSTANT_PAGE),
        op(CALL_HELPER),
        op(RETURN),
    ]
}

/// Sum of 1..=x0: acc = 0; loop: acc += x0; x0 -= 1; cbnz x0, loop.
fn sum_trace() -> Vec<TraceOp> {
    vec![
        op(SET_ACC_ZERO),
        op(ACC_ADD),
        op(DEC),
        jump(BRANCH_IF_NONZERO, 1),
        op(MOVE_ACC),
        op(RETURN),
    ]
}

fn emit_at(ops: &[TraceOp], symbols: &[u64], base: u64) -> Vec<u8> {
    let layout = layout(&TABLE, ops).unwrap();
    let mut buf = vec![0xA5; layout.len];
    emit(&TABLE, ops, &layout, symbols, &mut buf, base).unwrap();
    buf
}

fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Target of the B/BL at `at` in a trace at `base`.
fn branch26_target(bytes: &[u8], at: usize, base: u64) -> u64 {
    let imm26 = word(bytes, at) & 0x03FF_FFFF;
    let offset = (i64::from(imm26 << 6) as i32 >> 6) as i64 * 4;
    (base + at as u64).wrapping_add(offset as u64)
}

#[test]
fn far_symbol_goes_through_the_trampoline() {
    let base = 0x10000;
    let helper = base + (1 << 30);
    let ops = arithmetic_trace();
    let layout = layout(&TABLE, &ops).unwrap();
    let bytes = emit_at(&ops, &[helper], base);

    assert_eq!(layout.trampoline_symbols, [0]);
    let trampoline = layout.trampoline(0).unwrap();
    assert_eq!(trampoline % 16, 0);
    let bl = layout.op_offsets[4] as usize + 4;
    assert_eq!(word(&bytes, bl) & 0xFC00_0000, 0x9400_0000, "still a bl");
    assert_eq!(branch26_target(&bytes, bl, base), base + trampoline as u64);
    // ldr x16, #8; br x16; .quad helper
    assert_eq!(word(&bytes, trampoline), 0x5800_0050);
    assert_eq!(word(&bytes, trampoline + 4), 0xD61F_0200);
    assert_eq!(
        &bytes[trampoline + 8..trampoline + 16],
        &helper.to_le_bytes()
    );
    // The continuation branch right after is direct, to the next op.
    assert_eq!(
        branch26_target(&bytes, bl + 8, base),
        base + u64::from(layout.op_offsets[5])
    );
}

#[test]
fn near_symbol_is_called_directly() {
    let base = 0x10000;
    let helper = base + 0x7FF_FFFC - 0x40;
    let ops = arithmetic_trace();
    let layout = layout(&TABLE, &ops).unwrap();
    let bytes = emit_at(&ops, &[helper], base);
    let bl = layout.op_offsets[4] as usize + 4;
    assert_eq!(branch26_target(&bytes, bl, base), helper);
    // The trampoline is emitted anyway.
    let trampoline = layout.trampoline(0).unwrap();
    assert_eq!(
        &bytes[trampoline + 8..trampoline + 16],
        &helper.to_le_bytes()
    );
}

#[test]
fn got_page_and_offset_point_at_the_slot() {
    let base = 0x7F00_0000_0000;
    let ops = arithmetic_trace();
    let layout = layout(&TABLE, &ops).unwrap();
    let bytes = emit_at(&ops, &[0x1234_5678], base);
    let slot = base + u64::from(layout.op_data_offsets[1]);
    let adrp = layout.op_offsets[1] as usize;
    let insn = word(&bytes, adrp);
    let immlo = u64::from((insn >> 29) & 3);
    let immhi = u64::from((insn >> 5) & 0x7_FFFF);
    let pages = ((immhi << 2 | immlo) << 43) as i64 >> 43;
    let page = ((base + adrp as u64) & !0xFFF).wrapping_add((pages << 12) as u64);
    let ldr = word(&bytes, adrp + 4);
    let offset = u64::from((ldr >> 10) & 0xFFF) * 8;
    assert_eq!(page + offset, slot);
    assert_eq!(
        &bytes[slot as usize - base as usize..][..8],
        &5u64.to_le_bytes()
    );
}

/// Emits `ops` at `base` with the helper at `helper`, runs the shim under
/// qemu-aarch64 once per argument and returns the results.
fn run(ops: &[TraceOp], base: u64, helper: u64, arguments: &[i64]) -> Vec<i64> {
    let trace = emit_at(ops, &[helper], base);
    let run = guest::Run {
        base,
        trace: &trace,
        code_len: trace.len(),
        helpers_base: helper,
        helpers: TRIPLE,
    };
    guest::run(guest::Guest::Aarch64, &run, arguments)
}

const BASE: u64 = 0x10_0000_0000;

#[test]
fn arithmetic_runs_with_a_far_helper() {
    let expected = (OPERAND as i64 + 5 + 1000 + 7) * 3;
    assert_eq!(
        run(&arithmetic_trace(), BASE, BASE + (1 << 30), &[0]),
        [expected]
    );
}

#[test]
fn arithmetic_runs_with_a_near_helper() {
    let expected = (OPERAND as i64 + 5 + 1000 + 7) * 3;
    let base = BASE + 0x100_0000_0000;
    assert_eq!(
        run(&arithmetic_trace(), base, base + 0x10_0000, &[0]),
        [expected]
    );
}

#[test]
fn conditional_branches_run() {
    let ops = sum_trace();
    let base = BASE + 0x200_0000_0000;
    assert_eq!(
        run(&ops, base, base + 0x10_0000, &[10, 1, 100]),
        [55, 1, 5050]
    );
    // Absolute value: tbnz x0, #63 to the negation.
    let ops = [
        jump(BRANCH_IF_NEGATIVE, 2),
        op(RETURN),
        op(NEGATE),
        op(RETURN),
    ];
    let base = BASE + 0x300_0000_0000;
    assert_eq!(
        run(&ops, base, base + 0x10_0000, &[-5, 7, 0, i64::MIN + 1]),
        [5, 7, 0, i64::MAX]
    );
}
