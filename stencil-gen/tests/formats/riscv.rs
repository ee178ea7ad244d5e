//! RISC-V ELF: `auipc` pairs (`%pcrel_hi` with its `%pcrel_lo`, which
//! points at the `auipc`'s label), GOT loads, calls, branches and jumps,
//! compressed ones included, and relaxation refused.

use runtime::HoleKind::*;
use stencil_gen::model::Value;
use stencil_gen::target::{Target, RISCV64_LINUX};

use crate::harness::*;

const RV: &Target = &RISCV64_LINUX;

const CODE: u64 = 0x4000_0000;
const DATA: u64 = 0x4008_0a48;

/// The listing of `code` at `CODE`, as llvm-objdump decodes it.
fn listing(code: &[u8]) -> Vec<String> {
    crate::harness::listing(RV, code, CODE)
}

/// An immediate as llvm-objdump prints it (`0x12`, `-0x10`, `16`).
fn number(text: &str) -> i64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => digits.parse(),
    }
    .unwrap_or_else(|_| panic!("not a number: {text}"));
    if negative {
        -value
    } else {
        value
    }
}

/// The address an `auipc` at `pc` and the instruction after it reach, from
/// llvm-objdump's text of both: `pc + (imm20 << 12) + imm12`.
fn pair_target(pc: u64, auipc: &str, low: &str) -> u64 {
    let imm20 = number(auipc.rsplit(", ").next().unwrap());
    // The 20-bit field, printed unsigned: sign-extend it.
    let high = ((imm20 << 44) >> 32) as u64;
    // `ld a0, 0x48(a0)`, `sd a2, -0x8(a1)`, `addi a3, a1, 0x10`,
    // `jalr -0x20(ra)`, or `jalr ra` / `mv a3, a1` for 0.
    let operand = low.rsplit([' ', ',']).next().unwrap();
    let low = match operand.split_once('(') {
        Some((offset, _)) if !offset.is_empty() => number(offset),
        Some(_) => 0,
        None if low.starts_with("addi") => number(operand),
        None => 0,
    };
    pc.wrapping_add(high).wrapping_add(low as u64)
}

#[test]
fn call_plt() {
    // `call` and `tail`: an `auipc`+`jalr` pair each; the tail call to the
    // continuation at the end is dropped.
    let object = assemble(RV, "call helper\ntail _JIT_CONTINUE\n");
    assert_has_relocation(&object, "R_RISCV_CALL_PLT");
    let group = lower_object(RV, &object);
    assert!(group.trailing_jump_removed);
    assert_eq!(group.code.len(), 8);
    assert_eq!(group.code_holes, [hole(0, Riscv64Call, helper(), 0)]);
    let helper_at = 0x4321_5678;
    let (code, _) = Emission::new(CODE, DATA)
        .with(helper(), helper_at)
        .emit(&group);
    let lines = listing(&code);
    assert!(
        lines[0].starts_with("auipc ra, ") && lines[1].starts_with("jalr"),
        "{lines:?}"
    );
    assert_eq!(pair_target(CODE, &lines[0], &lines[1]), helper_at);
}

#[test]
fn call() {
    // `R_RISCV_CALL`, which clang 19 no longer writes for `call`.
    let object = assemble(
        RV,
        ".option push\n.option norvc\n.reloc ., R_RISCV_CALL, helper+16\n\
         auipc ra, 0\njalr ra, 0(ra)\n.option pop\nret\n",
    );
    assert_has_relocation(&object, "R_RISCV_CALL");
    let group = lower_object(RV, &object);
    assert_eq!(group.code_holes, [hole(0, Riscv64Call, helper(), 16)]);
    // Far below the code: a negative high part.
    let helper_at = 0x1000_0800;
    let (code, _) = Emission::new(CODE, DATA)
        .with(helper(), helper_at)
        .emit(&group);
    let lines = listing(&code);
    assert_eq!(pair_target(CODE, &lines[0], &lines[1]), helper_at + 16);
}

#[test]
fn got_hi20_and_pcrel_lo12_i() {
    let object = assemble(
        RV,
        "nop\n1: auipc a0, %got_pcrel_hi(helper)\nld a0, %pcrel_lo(1b)(a0)\nret\n",
    );
    assert_has_relocation(&object, "R_RISCV_GOT_HI20");
    assert_has_relocation(&object, "R_RISCV_PCREL_LO12_I");
    let group = lower_object(RV, &object);
    // The low part carries the `auipc`'s value, 4 bytes further on.
    assert_eq!(
        group.code_holes,
        [
            hole(2, Riscv64PcRelHi20, Value::Data, 0),
            hole(6, Riscv64PcRelLo12I, Value::Data, 4)
        ]
    );
    assert_eq!(group.data_holes, [hole(0, Abs64, helper(), 0)]);
    let (code, data) = Emission::new(CODE, DATA)
        .with(helper(), 0x4321_5678)
        .emit(&group);
    assert_eq!(read_u64(&data, 0), 0x4321_5678);
    let lines = listing(&code);
    assert!(lines[2].starts_with("ld a0, "), "{lines:?}");
    assert_eq!(pair_target(CODE + 2, &lines[1], &lines[2]), DATA);
}

#[test]
fn pcrel_hi20_with_lo12_i_and_lo12_s() {
    // One `auipc`, two low parts at different distances from it.
    let object = assemble(
        RV,
        "1: auipc a1, %pcrel_hi(.Lcell)\nsd a2, %pcrel_lo(1b)(a1)\n\
         .option push\n.option norvc\naddi a3, a1, %pcrel_lo(1b)\n.option pop\nret\n\
         .section .rodata\n.quad 1\n.Lcell:\n.quad 2\n",
    );
    for name in [
        "R_RISCV_PCREL_HI20",
        "R_RISCV_PCREL_LO12_S",
        "R_RISCV_PCREL_LO12_I",
    ] {
        assert_has_relocation(&object, name);
    }
    let group = lower_object(RV, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(0, Riscv64PcRelHi20, Value::Data, 8),
            hole(4, Riscv64PcRelLo12S, Value::Data, 8 + 4),
            hole(8, Riscv64PcRelLo12I, Value::Data, 8 + 8),
        ]
    );
    let (code, _) = Emission::new(CODE, DATA).emit(&group);
    let lines = listing(&code);
    assert!(lines[1].starts_with("sd a2, "), "{lines:?}");
    assert!(lines[2].starts_with("addi a3, a1, "), "{lines:?}");
    assert_eq!(pair_target(CODE, &lines[0], &lines[1]), DATA + 8);
    assert_eq!(pair_target(CODE, &lines[0], &lines[2]), DATA + 8);
}

#[test]
fn hi20_with_lo12_i_and_lo12_s() {
    let object = assemble(
        RV,
        "lui a0, %hi(helper)\naddi a0, a0, %lo(helper)\n\
         lui a1, %hi(helper+8)\nsd a2, %lo(helper+8)(a1)\nret\n",
    );
    for name in ["R_RISCV_HI20", "R_RISCV_LO12_I", "R_RISCV_LO12_S"] {
        assert_has_relocation(&object, name);
    }
    let group = lower_object(RV, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(0, Riscv64Hi20, helper(), 0),
            hole(4, Riscv64Lo12I, helper(), 0),
            hole(8, Riscv64Hi20, helper(), 8),
            hole(12, Riscv64Lo12S, helper(), 8),
        ]
    );
    // A low part of 0xff0 is -16: the high part rounds up.
    let (code, _) = Emission::new(CODE, DATA)
        .with(helper(), 0x1234_5ff0)
        .emit(&group);
    assert_eq!(
        listing(&code),
        [
            "lui a0, 0x12346",
            "addi a0, a0, -0x10",
            "lui a1, 0x12346",
            "sd a2, -0x8(a1)",
            "ret"
        ]
    );
}

#[test]
fn branches_and_jumps() {
    // The assembler expands branches to symbols it cannot reach, so the
    // short forms come with `.reloc`.
    let object = assemble(
        RV,
        ".reloc ., R_RISCV_BRANCH, _JIT_JUMP_TARGET\n.4byte 0x00b50063\n\
         jal zero, _JIT_JUMP_TARGET\n\
         .reloc ., R_RISCV_RVC_BRANCH, _JIT_JUMP_TARGET\n.2byte 0xc101\n\
         .reloc ., R_RISCV_RVC_JUMP, _JIT_JUMP_TARGET\n.2byte 0xa001\nret\n",
    );
    for name in [
        "R_RISCV_BRANCH",
        "R_RISCV_JAL",
        "R_RISCV_RVC_BRANCH",
        "R_RISCV_RVC_JUMP",
    ] {
        assert_has_relocation(&object, name);
    }
    let group = lower_object(RV, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(0, Riscv64Branch, Value::JumpTarget, 0),
            hole(4, Riscv64Jal, Value::JumpTarget, 0),
            hole(8, Riscv64CBranch, Value::JumpTarget, 0),
            hole(10, Riscv64CJump, Value::JumpTarget, 0),
        ]
    );
    // Within a compressed branch's 256 bytes.
    let jump_target = CODE + 0x80;
    let (code, _) = Emission::new(CODE, DATA)
        .with(Value::JumpTarget, jump_target)
        .emit(&group);
    assert_eq!(
        listing(&code),
        [
            "beq a0, a1, 0x40000080",
            "j 0x40000080",
            "beqz a0, 0x40000080",
            "j 0x40000080",
            "ret"
        ]
    );
}

#[test]
fn trailing_jumps_of_every_form_are_removed() {
    for (jump, kept) in [
        ("tail _JIT_CONTINUE", 4),
        ("j _JIT_CONTINUE", 4),
        (
            ".reloc ., R_RISCV_RVC_JUMP, _JIT_CONTINUE\n.2byte 0xa001",
            4,
        ),
    ] {
        let object = assemble(RV, &format!(".option norvc\nadd a0, a0, a1\n{jump}\n"));
        let group = lower_object(RV, &object);
        assert!(group.trailing_jump_removed, "{jump}");
        assert_eq!(group.code.len(), kept, "{jump}");
        assert!(group.code_holes.is_empty(), "{jump}");
    }
    // A call that returns is no jump.
    let group = lower_asm(RV, "call _JIT_CONTINUE\n");
    assert!(!group.trailing_jump_removed);
    assert_eq!(group.code_holes.len(), 1);
}

#[test]
fn data_relocations() {
    let object = assemble(
        RV,
        "ret\n.data\n.quad helper+16\n.word helper\n\
         .reloc ., R_RISCV_32_PCREL, helper+4\n.word 0\n",
    );
    for name in ["R_RISCV_64", "R_RISCV_32", "R_RISCV_32_PCREL"] {
        assert_has_relocation(&object, name);
    }
    let group = lower_object(RV, &object);
    assert_eq!(
        group.data_holes,
        [
            hole(0, Abs64, helper(), 16),
            hole(8, Abs32, helper(), 0),
            hole(12, PcRel32, helper(), 4),
        ]
    );
    let (_, data) = Emission::new(CODE, DATA)
        .with(helper(), 0x4321_5678)
        .emit(&group);
    assert_eq!(read_u64(&data, 0), 0x4321_5688);
    assert_eq!(read_u32(&data, 8), 0x4321_5678);
    let relative = i32::from_le_bytes(data[12..16].try_into().unwrap());
    assert_eq!(i64::from(relative), 0x4321_567c - (DATA as i64 + 12));
}

#[test]
fn relaxation_is_an_error() {
    assert_eq!(
        lower_error(RV, ".option relax\ncall helper\n"),
        "uop `test_uop` (riscv64gc-unknown-linux-gnu): relocation R_RISCV_RELAX in .text \
         at offset 0x0 marks linker relaxation, which must be off (-mno-relax)"
    );
}

#[test]
fn unsupported_relocation_is_an_error() {
    assert_eq!(
        lower_error(RV, "nop\nlui a0, %tprel_hi(counter)\nret\n"),
        "uop `test_uop` (riscv64gc-unknown-linux-gnu): unsupported relocation \
         R_RISCV_TPREL_HI20 in .text at offset 0x2"
    );
}

#[test]
fn pcrel_lo12_without_its_hi20_is_an_error() {
    assert_eq!(
        lower_error(
            RV,
            ".option norvc\n.reloc ., R_RISCV_PCREL_LO12_I, .Llabel\naddi a0, a0, 0\n\
             .Llabel:\nnop\nret\n",
        ),
        "uop `test_uop` (riscv64gc-unknown-linux-gnu): relocation R_RISCV_PCREL_LO12_I in \
         .text at offset 0x0 points at `.Llabel`, where no %pcrel_hi or %got_pcrel_hi \
         relocation is"
    );
    assert_eq!(
        lower_error(
            RV,
            ".option norvc\n1: auipc a0, %pcrel_hi(helper)\n\
             .reloc ., R_RISCV_PCREL_LO12_I, 1b+4\naddi a0, a0, 0\nret\n",
        ),
        "uop `test_uop` (riscv64gc-unknown-linux-gnu): relocation R_RISCV_PCREL_LO12_I in \
         .text at offset 0x4 has addend 4; a %pcrel_lo takes its addend from its %pcrel_hi"
    );
}

#[test]
fn call_on_another_instruction_pair_is_refused() {
    let message = lower_error(
        RV,
        ".option norvc\n.reloc ., R_RISCV_CALL_PLT, helper\naddi a0, a0, 1\naddi a0, a0, 1\nret\n",
    );
    assert_eq!(
        message,
        "uop `test_uop` (riscv64gc-unknown-linux-gnu): relocation R_RISCV_CALL_PLT in .text \
         at offset 0x0 is on instruction 0x00150513, which it cannot patch"
    );
}

#[test]
fn relocations_that_overlap_are_refused() {
    // A `%pcrel_lo` put on the `AUIPC` it pairs with: two holes in one
    // instruction word, each with its own field.
    let message = lower_error(
        RV,
        ".Lhi:\nauipc a0, %got_pcrel_hi(_JIT_OPARG)\n\
         .reloc .Lhi, R_RISCV_PCREL_LO12_I, .Lhi\nld a0, 0(a0)\nret\n",
    );
    assert_eq!(
        message,
        "uop `test_uop` (riscv64gc-unknown-linux-gnu): relocations overlap: the Riscv64PcRelHi20 \
         hole at code offset 0x0 and the Riscv64PcRelLo12I hole at code offset 0x0 rewrite the \
         same bytes"
    );
}
