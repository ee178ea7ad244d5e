//! RISC-V emission: hand-written RV64GC stencils (encodings from
//! `llvm-mc-19 --triple=riscv64 -mattr=+c`), emitted into plain buffers on
//! any host, and run under `qemu-riscv64` with the freestanding harness of
//! `tests/guest`. Every RISC-V hole kind is patched in code that runs, and
//! calls to a helper out of an `AUIPC` pair's reach run through the
//! trampoline.
//!
//! The trace's code is `int64_t (*)(int64_t)`: the uops keep the value in
//! `a0` and an accumulator in `a2`, and return to the shim with `ret`. The
//! table's code alignment is 2, as compressed instructions allow, so ops
//! after a compressed one start off a 4-byte boundary.

mod guest;
#[path = "common/table.rs"]
mod table;

use guest::Guest;
use runtime::{
    Arch, EmitError, Hole, HoleKind, HoleValue, PatchError, Stencil, StencilTable, TraceOp, UopInfo,
};
use table::{code_only, hole, info, jump, op, with_oparg, with_operand, words, OP_VALUES};

/// Little-endian bytes of one compressed (16-bit) instruction.
macro_rules! half {
    ($half:expr) => {
        &[
            ($half as u16).to_le_bytes()[0],
            ($half as u16).to_le_bytes()[1],
        ]
    };
}

/// The low part of a pc-relative pair: the value of the `AUIPC` at
/// `hi_offset`, with the addend that makes `S - P` at `lo_offset` what it
/// is at the `AUIPC` (as the generator lowers `R_RISCV_PCREL_LO12_*`).
const fn pcrel_lo(
    kind: HoleKind,
    lo_offset: u32,
    hi_offset: u32,
    value: HoleValue,
    hi_addend: i64,
) -> Hole {
    hole(
        lo_offset,
        kind,
        value,
        hi_addend + (lo_offset as i64 - hi_offset as i64),
    )
}

// 32-bit instructions.
const ADDI_SP_M16: u32 = 0xFF01_0113; // addi sp, sp, -16
const SD_RA: u32 = 0x0011_3423; // sd ra, 8(sp)
const AUIPC_RA: u32 = 0x0000_0097; // auipc ra, 0
const JALR_RA: u32 = 0x0000_80E7; // jalr ra, 0(ra)
const LD_RA: u32 = 0x0081_3083; // ld ra, 8(sp)
const ADDI_SP_16: u32 = 0x0101_0113; // addi sp, sp, 16
const RET: u32 = 0x0000_8067; // jalr zero, 0(ra)
const AUIPC_A1: u32 = 0x0000_0597; // auipc a1, 0
const AUIPC_A3: u32 = 0x0000_0697; // auipc a3, 0
const LUI_A1: u32 = 0x0000_05B7; // lui a1, 0
const ADDI_A1: u32 = 0x0005_8593; // addi a1, a1, 0
const LD_A0_A1: u32 = 0x0005_B503; // ld a0, 0(a1)
const LD_A1_A1: u32 = 0x0005_B583; // ld a1, 0(a1)
const LD_A4_A1: u32 = 0x0005_B703; // ld a4, 0(a1)
const LD_A4_A3: u32 = 0x0006_B703; // ld a4, 0(a3)
const SD_A0_A1: u32 = 0x00A5_B023; // sd a0, 0(a1)
const SD_A0_A3: u32 = 0x00A6_B023; // sd a0, 0(a3)
const SD_ZERO_A1: u32 = 0x0005_B023; // sd zero, 0(a1)
const SD_ZERO_A3: u32 = 0x0006_B023; // sd zero, 0(a3)
const ADD_A0_A1: u32 = 0x00B5_0533; // add a0, a0, a1
const ADD_A0_A4: u32 = 0x00E5_0533; // add a0, a0, a4
const J: u32 = 0x0000_006F; // jal zero, 0
const BNEZ_A0: u32 = 0x0005_1063; // bne a0, zero, 0
const BLTZ_A0: u32 = 0x0005_4063; // blt a0, zero, 0
const NEG_A0: u32 = 0x40A0_0533; // sub a0, zero, a0
const SLLI_A1_A0_1: u32 = 0x0015_1593; // slli a1, a0, 1

const LOAD_OPERAND: u16 = 0;
const ADD_OPARG: u16 = 1;
const ADD_CONSTANT_ABSOLUTE: u16 = 2;
const ADD_CONSTANT_FAR: u16 = 3;
const CALL_HELPER: u16 = 4;
const DOUBLE_THROUGH_ABSOLUTE_STORE: u16 = 5;
const DOUBLE_THROUGH_RELATIVE_STORE: u16 = 6;
const SET_ACC_ZERO: u16 = 7;
const ACC_ADD: u16 = 8;
const DEC: u16 = 9;
const BRANCH_IF_NONZERO: u16 = 10;
const BRANCH_IF_NEGATIVE: u16 = 11;
const COMPRESSED_BRANCH_IF_NONZERO: u16 = 12;
const COMPRESSED_JUMP: u16 = 13;
const JUMP: u16 = 14;
const MOVE_ACC: u16 = 15;
const NEGATE: u16 = 16;
const RETURN: u16 = 17;

/// Data with `value` at byte `at`, zeros elsewhere.
const fn constant_at<const N: usize>(at: usize, value: u64) -> [u8; N] {
    let mut data = [0; N];
    let bytes = value.to_le_bytes();
    let mut i = 0;
    while i < 8 {
        data[at + i] = bytes[i];
        i += 1;
    }
    data
}

/// The constant of `ADD_CONSTANT_FAR` is past 2 KiB into its data, so the
/// low part of its distance is negative and the high part rounds up.
const FAR: usize = 0x880;
static FAR_DATA: [u8; FAR + 8] = constant_at(FAR, 7);
static ABSOLUTE_DATA: [u8; 16] = constant_at(8, 1000);

static UOPS: [Stencil; 18] = [
    // auipc a1, %pcrel_hi(slot); ld a0, %pcrel_lo(.)(a1) -- the slot holds
    // the operand.
    Stencil {
        code: words![AUIPC_A1, LD_A0_A1],
        code_holes: &[
            hole(0, HoleKind::Riscv64PcRelHi20, HoleValue::Data, 0),
            pcrel_lo(HoleKind::Riscv64PcRelLo12I, 4, 0, HoleValue::Data, 0),
        ],
        data: &[0; 8],
        data_holes: &[hole(0, HoleKind::Abs64, HoleValue::OpValue(1), 0)],
        data_align: 8,
    },
    // lui a1, %hi(OPARG); addi a1, a1, %lo(OPARG); add a0, a0, a1
    code_only(
        words![LUI_A1, ADDI_A1, ADD_A0_A1],
        &[
            hole(0, HoleKind::Riscv64Hi20, HoleValue::OpValue(0), 0),
            hole(4, HoleKind::Riscv64Lo12I, HoleValue::OpValue(0), 0),
        ],
    ),
    // lui a1, %hi(data + 8); ld a1, %lo(data + 8)(a1); add a0, a0, a1
    Stencil {
        code: words![LUI_A1, LD_A1_A1, ADD_A0_A1],
        code_holes: &[
            hole(0, HoleKind::Riscv64Hi20, HoleValue::Data, 8),
            hole(4, HoleKind::Riscv64Lo12I, HoleValue::Data, 8),
        ],
        data: &ABSOLUTE_DATA,
        data_holes: &[],
        data_align: 8,
    },
    // auipc a1, %pcrel_hi(data + FAR); addi a1, a1, %pcrel_lo(.)(a1);
    // ld a1, 0(a1); add a0, a0, a1
    Stencil {
        code: words![AUIPC_A1, ADDI_A1, LD_A1_A1, ADD_A0_A1],
        code_holes: &[
            hole(0, HoleKind::Riscv64PcRelHi20, HoleValue::Data, FAR as i64),
            pcrel_lo(
                HoleKind::Riscv64PcRelLo12I,
                4,
                0,
                HoleValue::Data,
                FAR as i64,
            ),
        ],
        data: &FAR_DATA,
        data_holes: &[],
        data_align: 16,
    },
    // addi sp, sp, -16; sd ra, 8(sp); call SYMBOL0; ld ra, 8(sp);
    // addi sp, sp, 16; j CONTINUE
    code_only(
        words![ADDI_SP_M16, SD_RA, AUIPC_RA, JALR_RA, LD_RA, ADDI_SP_16, J],
        &[
            hole(8, HoleKind::Riscv64Call, HoleValue::Symbol(0), 0),
            hole(24, HoleKind::Riscv64Jal, HoleValue::Continue, 0),
        ],
    ),
    // Stores a0 with an absolute address, reads it back pc-relative, and
    // clears the slot: a0 += a0 only if both reach the same slot.
    // lui a1, %hi(data); sd a0, %lo(data)(a1); auipc a3, %pcrel_hi(data);
    // ld a4, %pcrel_lo(.)(a3); sd zero, %pcrel_lo(.)(a3); add a0, a0, a4
    Stencil {
        code: words![LUI_A1, SD_A0_A1, AUIPC_A3, LD_A4_A3, SD_ZERO_A3, ADD_A0_A4],
        code_holes: &[
            hole(0, HoleKind::Riscv64Hi20, HoleValue::Data, 0),
            hole(4, HoleKind::Riscv64Lo12S, HoleValue::Data, 0),
            hole(8, HoleKind::Riscv64PcRelHi20, HoleValue::Data, 0),
            pcrel_lo(HoleKind::Riscv64PcRelLo12I, 12, 8, HoleValue::Data, 0),
            pcrel_lo(HoleKind::Riscv64PcRelLo12S, 16, 8, HoleValue::Data, 0),
        ],
        data: &[0; 8],
        data_holes: &[],
        data_align: 8,
    },
    // The other way round: the store is pc-relative, the load and the
    // clearing absolute, on the slot at data + 8.
    // auipc a3, %pcrel_hi(data + 8); sd a0, %pcrel_lo(.)(a3);
    // lui a1, %hi(data + 8); ld a4, %lo(data + 8)(a1);
    // sd zero, %lo(data + 8)(a1); add a0, a0, a4
    Stencil {
        code: words![AUIPC_A3, SD_A0_A3, LUI_A1, LD_A4_A1, SD_ZERO_A1, ADD_A0_A4],
        code_holes: &[
            hole(0, HoleKind::Riscv64PcRelHi20, HoleValue::Data, 8),
            pcrel_lo(HoleKind::Riscv64PcRelLo12S, 4, 0, HoleValue::Data, 8),
            hole(8, HoleKind::Riscv64Hi20, HoleValue::Data, 8),
            hole(12, HoleKind::Riscv64Lo12I, HoleValue::Data, 8),
            hole(16, HoleKind::Riscv64Lo12S, HoleValue::Data, 8),
        ],
        data: &[0; 16],
        data_holes: &[],
        data_align: 8,
    },
    // c.li a2, 0
    code_only(half!(0x4601), &[]),
    // c.add a2, a0
    code_only(half!(0x962A), &[]),
    // c.addi a0, -1
    code_only(half!(0x157D), &[]),
    // bnez a0, JUMP_TARGET
    code_only(
        words![BNEZ_A0],
        &[hole(0, HoleKind::Riscv64Branch, HoleValue::JumpTarget, 0)],
    ),
    // bltz a0, JUMP_TARGET
    code_only(
        words![BLTZ_A0],
        &[hole(0, HoleKind::Riscv64Branch, HoleValue::JumpTarget, 0)],
    ),
    // c.bnez a0, JUMP_TARGET
    code_only(
        half!(0xE101),
        &[hole(0, HoleKind::Riscv64CBranch, HoleValue::JumpTarget, 0)],
    ),
    // c.j JUMP_TARGET
    code_only(
        half!(0xA001),
        &[hole(0, HoleKind::Riscv64CJump, HoleValue::JumpTarget, 0)],
    ),
    // j JUMP_TARGET
    code_only(
        words![J],
        &[hole(0, HoleKind::Riscv64Jal, HoleValue::JumpTarget, 0)],
    ),
    // c.mv a0, a2
    code_only(half!(0x8532), &[]),
    // neg a0, a0
    code_only(words![NEG_A0], &[]),
    // ret (to the shim)
    code_only(words![RET], &[]),
];

static INFO: [UopInfo; 18] = [
    info("load_operand"),
    info("add_oparg"),
    info("add_constant_absolute"),
    info("add_constant_far"),
    info("call_helper"),
    info("double_through_absolute_store"),
    info("double_through_relative_store"),
    info("set_acc_zero"),
    info("acc_add"),
    info("dec"),
    info("branch_if_nonzero"),
    info("branch_if_negative"),
    info("compressed_branch_if_nonzero"),
    info("compressed_jump"),
    info("jump"),
    info("move_acc"),
    info("negate"),
    info("return"),
];

/// The shim: addi sp, sp, -16; sd ra, 8(sp); call CONTINUE; ld ra, 8(sp);
/// addi sp, sp, 16; ret
static TABLE: StencilTable = StencilTable {
    target: "riscv64gc-unknown-linux-gnu",
    arch: Arch::Riscv64,
    llvm_version: "hand-written",
    code_align: 2,
    shim: code_only(
        words![
            ADDI_SP_M16,
            SD_RA,
            AUIPC_RA,
            JALR_RA,
            LD_RA,
            ADDI_SP_16,
            RET
        ],
        &[hole(8, HoleKind::Riscv64Call, HoleValue::Continue, 0)],
    ),
    cache: 0,
    uops: &UOPS,
    info: &INFO,
    symbols: &["triple"],
    op_values: &OP_VALUES,
    trace_values: &[],
    emitters: None,
};

/// The helper: slli a1, a0, 1; add a0, a0, a1; ret
const TRIPLE: &[u8] = words![SLLI_A1_A0_1, ADD_A0_A1, RET];

const OPERAND: u64 = 0x0001_0002_0003_0004;

/// `(OPERAND + oparg + 1000 + 7) * 3`, the multiplication in the helper.
fn arithmetic_trace(oparg: u32) -> Vec<TraceOp> {
    vec![
        with_operand(LOAD_OPERAND, OPERAND),
        with_oparg(ADD_OPARG, oparg),
        op(ADD_CONSTANT_ABSOLUTE),
        op(ADD_CONSTANT_FAR),
        op(CALL_HELPER),
        op(RETURN),
    ]
}

fn arithmetic_result(oparg: u32) -> i64 {
    (OPERAND as i64 + i64::from(oparg) + 1000 + 7) * 3
}

/// Sum of 1..=a0, looping with `branch`.
fn sum_trace(branch: u16) -> Vec<TraceOp> {
    vec![
        op(SET_ACC_ZERO),
        op(ACC_ADD),
        op(DEC),
        jump(branch, 1),
        op(MOVE_ACC),
        op(RETURN),
    ]
}

/// Emits `ops` at `base` with the helper at `helper`, runs the shim under
/// qemu-riscv64 once per argument and returns the results.
fn run(ops: &[TraceOp], base: u64, helper: u64, arguments: &[i64]) -> Vec<i64> {
    guest::run_trace(Guest::Riscv64, &TABLE, TRIPLE, ops, base, helper, arguments)
}

/// Absolute holes of addresses in the trace need a trace in the low 2 GiB.
const LOW_BASE: u64 = 0x4000_0000;
/// Anything else runs anywhere.
const HIGH_BASE: u64 = 0x10_0000_0000;

#[test]
fn arithmetic_runs_with_pairs_and_calls() {
    // A low part of -1 (the high part rounds up), then a positive one; the
    // helper below the trace, then above it.
    for (oparg, helper) in [
        (0x1234_5FFF, LOW_BASE - 0x3000_0000),
        (0x1234_5123, LOW_BASE + 0x3000_0000),
    ] {
        assert_eq!(
            run(&arithmetic_trace(oparg), LOW_BASE, helper, &[0]),
            [arithmetic_result(oparg)],
            "oparg {oparg:#x}, helper {helper:#x}"
        );
    }
}

#[test]
fn stores_reach_the_slot_both_ways() {
    let ops = [
        op(DOUBLE_THROUGH_ABSOLUTE_STORE),
        op(DOUBLE_THROUGH_RELATIVE_STORE),
        op(RETURN),
    ];
    assert_eq!(
        run(&ops, LOW_BASE, LOW_BASE + 0x100_0000, &[1, 5, -7, 1 << 40]),
        [4, 20, -28, 4 << 40]
    );
}

#[test]
fn branches_run_from_any_halfword() {
    for branch in [BRANCH_IF_NONZERO, COMPRESSED_BRANCH_IF_NONZERO] {
        let ops = sum_trace(branch);
        // The compressed ops put the branch off a 4-byte boundary.
        assert_eq!(guest::trace_layout(&TABLE, &ops).op_offsets[3] % 4, 2);
        assert_eq!(
            run(&ops, HIGH_BASE, HIGH_BASE + 0x10_0000, &[10, 1, 100]),
            [55, 1, 5050],
            "uop {branch}"
        );
    }
    // Absolute value: bltz to the negation.
    let ops = [
        jump(BRANCH_IF_NEGATIVE, 2),
        op(RETURN),
        op(NEGATE),
        op(RETURN),
    ];
    let base = HIGH_BASE + 0x100_0000_0000;
    assert_eq!(
        run(&ops, base, base + 0x10_0000, &[-5, 7, 0, i64::MIN + 1]),
        [5, 7, 0, i64::MAX]
    );
}

#[test]
fn jumps_skip_ops() {
    // c.j over a negation, then j over another: a0 - 1.
    let ops = [
        jump(COMPRESSED_JUMP, 2),
        op(NEGATE),
        op(DEC),
        jump(JUMP, 5),
        op(NEGATE),
        op(RETURN),
    ];
    assert_eq!(
        run(&ops, HIGH_BASE, HIGH_BASE + 0x10_0000, &[3, -4, 0]),
        [2, -5, -1]
    );
}

/// The offset a patched `AUIPC` + I-type pair at `at` adds to its address.
fn pair_offset(bytes: &[u8], at: usize) -> i64 {
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let hi = i64::from((word(at) & 0xFFFF_F000) as i32);
    let lo = i64::from(word(at + 4) as i32 >> 20);
    hi + lo
}

#[test]
fn far_data_addresses_are_errors() {
    // Absolute addresses of the trace above 2 GiB do not fit LUI + ADDI.
    let error = guest::emit_at(&TABLE, &arithmetic_trace(5), HIGH_BASE, HIGH_BASE).unwrap_err();
    let EmitError::Patch {
        site, value, error, ..
    } = error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        (site.op, site.kind, value),
        (Some(2), HoleKind::Riscv64Hi20, HoleValue::Data)
    );
    assert!(matches!(error, PatchError::OutOfRange { .. }), "{error:?}");
}

/// `[CALL_HELPER, CALL_HELPER, RETURN]`: nine times the argument, with
/// no absolute hole, so the trace runs at any address.
fn nine_times_trace() -> Vec<TraceOp> {
    vec![op(CALL_HELPER), op(CALL_HELPER), op(RETURN)]
}

/// Where the call of the `CALL_HELPER` op `i` of `layout` goes.
fn call_target(bytes: &[u8], layout: &runtime::Layout, i: usize, base: u64) -> u64 {
    let call = layout.op_offsets[i] as usize + 8;
    (base + call as u64).wrapping_add(pair_offset(bytes, call) as u64)
}

#[test]
fn far_helper_is_called_through_the_trampoline() {
    let ops = nine_times_trace();
    let layout = guest::trace_layout(&TABLE, &ops);
    // One trampoline for the one symbol, 8-aligned after the code.
    assert_eq!(layout.trampoline_symbols, [0]);
    let trampoline = layout.trampoline(0).unwrap();
    assert_eq!(trampoline, layout.trampoline_offset);
    assert_eq!(trampoline % 8, 0);
    assert!(trampoline >= layout.code_end && trampoline - layout.code_end < 8);
    assert_eq!(layout.code_len, trampoline + 24);

    // The helper 64 GiB above the trace, then the trace 64 TiB above the
    // helper: out of the `AUIPC` pair's ±2 GiB both ways.
    for (base, helper) in [
        (LOW_BASE, LOW_BASE + 0x10_0000_0000),
        (0x4000_0000_0000, LOW_BASE),
    ] {
        let bytes = guest::emit_at(&TABLE, &ops, helper, base).unwrap();
        for i in [0, 1] {
            assert_eq!(
                call_target(&bytes, &layout, i, base),
                base + trampoline as u64,
                "op {i}, base {base:#x}"
            );
        }
        // auipc t1, 0; ld t1, 16(t1); jr t1; nop; .quad helper
        assert_eq!(
            bytes[trampoline..trampoline + 16],
            *words![0x0000_0317, 0x0103_3303, 0x0003_0067, 0x0000_0013]
        );
        assert_eq!(
            bytes[trampoline + 16..trampoline + 24],
            helper.to_le_bytes()
        );
        assert_eq!(
            run(&ops, base, helper, &[0, 1, -7, 1 << 40]),
            [0, 9, -63, 9 << 40],
            "base {base:#x}, helper {helper:#x}"
        );
    }
}

#[test]
fn near_helper_is_called_directly() {
    // Just in reach (the pair's largest positive offset), the call lands on
    // the helper; the trampoline is there anyway.
    let ops = arithmetic_trace(5);
    let layout = guest::trace_layout(&TABLE, &ops);
    let call = layout.op_offsets[4] as usize + 8;
    let helper = LOW_BASE + call as u64 + 0x7FFF_F7FF;
    let bytes = guest::emit_at(&TABLE, &ops, helper, LOW_BASE).unwrap();
    assert_eq!(pair_offset(&bytes, call), 0x7FFF_F7FF);
    let trampoline = layout.trampoline(0).unwrap();
    assert_eq!(
        bytes[trampoline + 16..trampoline + 24],
        helper.to_le_bytes()
    );
    // One byte further, it goes through the trampoline.
    let bytes = guest::emit_at(&TABLE, &ops, helper + 1, LOW_BASE).unwrap();
    assert_eq!(
        call_target(&bytes, &layout, 4, LOW_BASE),
        LOW_BASE + trampoline as u64
    );
}

#[test]
fn pc_relative_pairs_meet_at_the_auipc_target() {
    let ops = arithmetic_trace(5);
    let layout = guest::trace_layout(&TABLE, &ops);
    let bytes = guest::emit_at(&TABLE, &ops, LOW_BASE, LOW_BASE).unwrap();
    // The far constant: the AUIPC at the op's start, the ADDI right after;
    // their sum is relative to the AUIPC.
    let at = layout.op_offsets[3] as usize;
    let constant = u64::from(layout.op_data_offsets[3]) + FAR as u64;
    assert_eq!(pair_offset(&bytes, at), constant as i64 - at as i64);
    assert_eq!(
        bytes[constant as usize..constant as usize + 8],
        7u64.to_le_bytes()
    );
}

#[test]
fn padding_traps() {
    // No helper call: no trampoline.
    let ops = [op(DEC), op(RETURN)];
    let layout = guest::trace_layout(&TABLE, &ops);
    assert!(layout.trampoline_symbols.is_empty());
    assert_eq!(layout.code_len, layout.code_end);
    let bytes = guest::emit_at(&TABLE, &ops, 0, HIGH_BASE).unwrap();
    // Zero halfwords are `c.unimp`, the defined illegal instruction.
    assert!(layout.data_offset > layout.code_end);
    assert!(bytes[layout.code_end..layout.data_offset]
        .iter()
        .all(|&byte| byte == 0));
    // With a trampoline, before and after it too.
    let ops = nine_times_trace();
    let layout = guest::trace_layout(&TABLE, &ops);
    let bytes = guest::emit_at(&TABLE, &ops, 0, HIGH_BASE).unwrap();
    assert!(bytes[layout.code_end..layout.trampoline_offset]
        .iter()
        .chain(&bytes[layout.code_len..layout.data_offset])
        .all(|&byte| byte == 0));
}

#[test]
fn only_calls_are_served_and_i686_has_no_trampolines() {
    for kind in [
        HoleKind::Riscv64Jal,
        HoleKind::Riscv64Branch,
        HoleKind::Riscv64PcRelHi20,
        HoleKind::PcRel32,
    ] {
        assert!(
            !runtime::trampoline::serves(Arch::Riscv64, kind),
            "{kind:?}"
        );
    }
    assert!(runtime::trampoline::serves(
        Arch::Riscv64,
        HoleKind::Riscv64Call
    ));
    assert_eq!(runtime::trampoline::form(Arch::I686), None);
    let mut slot = [0xA5; 16];
    assert!(!runtime::trampoline::write(Arch::I686, &mut slot, 0x1234));
    assert_eq!(slot, [0xA5; 16]);
    for kind in [HoleKind::PcRel32, HoleKind::Riscv64Call] {
        assert!(!runtime::trampoline::serves(Arch::I686, kind), "{kind:?}");
    }
}
