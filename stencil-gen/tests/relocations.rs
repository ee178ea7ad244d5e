//! One test per ELF relocation type of x86-64 and aarch64 lowering
//! accepts: real assembly through clang-19 into an ELF object, lowered,
//! checked hole by hole, patched with the runtime's patcher at chosen
//! addresses, and disassembled with llvm-objdump-19 to see that the
//! instruction reaches the intended value. Mach-O, COFF and RISC-V are in
//! `formats.rs`.

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

use runtime::HoleKind::*;
use stencil_gen::lower::lower;
use stencil_gen::model::{Hole, StencilGroup, Value};
use stencil_gen::target::{Target, AARCH64_LINUX, X86_64_LINUX};

#[path = "formats/harness.rs"]
mod harness;

use harness::{
    assemble_with, helper, hole, instruction, listing, lower_asm_with, read_u64, Emission,
};

const X86: &Target = &X86_64_LINUX;
const A64: &Target = &AARCH64_LINUX;

/// Lower `source` assembled with no clang flags beyond the target triple.
fn lower_asm(target: &Target, source: &str) -> StencilGroup {
    lower_asm_with(target, &[], source)
}

// ---------------------------------------------------------------- x86-64

#[test]
fn x86_64_64() {
    let group = lower_asm(X86, "nop\nmovabsq $_JIT_OPERAND, %rax\n");
    assert_eq!(
        group.code_holes,
        [hole(3, Abs64, Value::OpValue("operand".into()), 0)]
    );
    let base = 0x5555_0000_1000;
    let emission = Emission::new(base, base + 0x1000)
        .with(Value::OpValue("operand".into()), 0x1122_3344_5566_7788);
    let (code, _) = emission.emit(&group);
    assert_eq!(
        instruction(X86, &code, base, 1),
        "movabsq $0x1122334455667788, %rax # imm = 0x1122334455667788"
    );
}

#[test]
fn x86_64_32() {
    let group = lower_asm(X86, "nop\nmovl $_JIT_OPARG+2, %ecx\n");
    assert_eq!(
        group.code_holes,
        [hole(2, Abs32, Value::OpValue("oparg".into()), 2)]
    );
    let base = 0x5555_0000_1000;
    let emission =
        Emission::new(base, base + 0x1000).with(Value::OpValue("oparg".into()), 0xdead_beef);
    let (code, _) = emission.emit(&group);
    assert_eq!(
        instruction(X86, &code, base, 1),
        "movl $0xdeadbef1, %ecx # imm = 0xDEADBEF1"
    );
}

#[test]
fn x86_64_32s() {
    let group = lower_asm(X86, "movq $helper+8, %rdx\n");
    assert_eq!(group.code_holes, [hole(3, Abs32Signed, helper(), 8)]);
    let base = 0x5555_0000_1000;
    // S = -0x1000: the sign-extended immediate.
    let emission = Emission::new(base, base + 0x1000).with(helper(), 0u64.wrapping_sub(0x1008));
    let (code, _) = emission.emit(&group);
    assert_eq!(
        instruction(X86, &code, base, 0),
        "movq $-0x1000, %rdx # imm = 0xF000"
    );
}

#[test]
fn x86_64_pc32() {
    // A section-relative reference: the constant is 8 bytes into .rodata.
    let group = lower_asm(
        X86,
        "leaq .Lconstant(%rip), %rax\nretq\n\
         .section .rodata\n.quad 1\n.Lconstant:\n.quad 2\n",
    );
    assert_eq!(group.code_holes, [hole(3, PcRel32, Value::Data, 8 - 4)]);
    assert_eq!(group.data.len(), 16);
    let base = 0x5555_0000_1000;
    let data_base = base + 0x7_0000;
    let (code, _) = Emission::new(base, data_base).emit(&group);
    assert_eq!(
        instruction(X86, &code, base, 0),
        format!(
            "leaq {:#x}(%rip), %rax # {:#x}",
            data_base + 8 - (base + 7),
            data_base + 8
        )
    );
}

#[test]
fn x86_64_plt32() {
    let group = lower_asm(X86, "pushq %rax\ncallq helper\npopq %rax\nretq\n");
    assert_eq!(group.code_holes, [hole(2, X86Branch32, helper(), -4)]);
    let base = 0x5555_0000_1000;
    let emission = Emission::new(base, base + 0x1000).with(helper(), 0x5555_4000_0010);
    let (code, _) = emission.emit(&group);
    assert_eq!(instruction(X86, &code, base, 1), "callq 0x555540000010");
}

#[test]
fn x86_64_pc64() {
    // `sym - .` with `.` the start of the instruction: the field is 2 bytes
    // further, so the addend is +2.
    let group = lower_asm(X86, "nop\nmovabsq $(_JIT_JUMP_TARGET - .), %rax\n");
    assert_eq!(group.code_holes, [hole(3, PcRel64, Value::JumpTarget, 2)]);
    let base = 0x5555_0000_1000;
    let jump_target = 0x6000_1234_5678;
    let emission = Emission::new(base, base + 0x1000).with(Value::JumpTarget, jump_target);
    let (code, _) = emission.emit(&group);
    assert_eq!(
        instruction(X86, &code, base, 1),
        format!(
            "movabsq ${0:#x}, %rax # imm = {0:#X}",
            jump_target - (base + 1)
        )
    );
}

#[test]
fn x86_64_gotpcrel() {
    // Without relaxable relocations the assembler emits plain GOTPCREL,
    // which says nothing of the instruction: it is never rewritten.
    let group = lower_asm_with(
        X86,
        &["-Wa,-mrelax-relocations=no"],
        "movq helper@GOTPCREL(%rip), %rax\nretq\n\
         .section .rodata\n.long 7\n",
    );
    // The GOT slot follows the 4 bytes of .rodata, 8-aligned.
    assert_eq!(
        group.code_holes,
        [hole(3, X86_64GotLoadUnrelaxed, Value::Data, 8 - 4)]
    );
    assert_eq!(group.data_holes, [hole(8, Abs64, helper(), 0)]);
    assert_eq!(group.data.len(), 16);
    assert_eq!(group.data_align, 8);

    let base = 0x5555_0000_1000;
    let data_base = base + 0x2000;
    // Values an imm32 or a rip-relative lea would reach: the load through
    // the GOT slot stays all the same.
    for value in [0x1234, 0x5555_1000_0000, 0x7f00_0000_0000] {
        let (code, data) = Emission::new(base, data_base)
            .with(helper(), value)
            .emit(&group);
        assert_eq!(read_u64(&data, 8), value);
        assert_eq!(&code[..3], &group.code[..3]);
        assert_eq!(
            instruction(X86, &code, base, 0),
            format!(
                "movq {:#x}(%rip), %rax # {:#x}",
                data_base + 8 - (base + 7),
                data_base + 8
            )
        );
    }
}

#[test]
fn x86_64_gotpcrelx() {
    // No REX prefix: `call *` and the 32-bit `movl` clang emits for the
    // oparg. `addq $0x48, %rsp` ends with 0x48, a byte that looks like
    // REX.W right before the `movl`'s opcode.
    let group = lower_asm(
        X86,
        "pushq %rax\ncallq *helper@GOTPCREL(%rip)\npopq %rax\n\
         addq $0x48, %rsp\nmovl _JIT_OPARG@GOTPCREL(%rip), %ecx\n\
         jmpq *helper@GOTPCREL(%rip)\n",
    );
    assert_eq!(
        group.code_holes,
        [
            hole(3, X86_64GotLoadNoRex, Value::Data, -4),
            hole(14, X86_64GotLoadNoRex, Value::Data, 8 - 4),
            hole(20, X86_64GotLoadNoRex, Value::Data, -4),
        ]
    );
    assert_eq!(group.code[8..14], [0x48, 0x83, 0xC4, 0x48, 0x8B, 0x0D]);
    assert_eq!(
        group.data_holes,
        [
            hole(0, Abs64, helper(), 0),
            hole(8, Abs64, Value::OpValue("oparg".into()), 0)
        ]
    );
    let base = 0x5555_0000_1000;
    let data_base = base + 0x2000;
    let target = 0x5555_2000_0000;
    let (code, _) = Emission::new(base, data_base)
        .with(helper(), target)
        .with(Value::OpValue("oparg".into()), 0xdead_beef)
        .emit(&group);
    let listing = listing(X86, &code, base);
    // All relaxed to direct forms of the same length; the `addq` before
    // the `movl` is intact.
    assert_eq!(
        listing,
        [
            "pushq %rax".to_string(),
            format!("addr32 callq {target:#x}"),
            "popq %rax".to_string(),
            "addq $0x48, %rsp".to_string(),
            "movl $0xdeadbeef, %ecx # imm = 0xDEADBEEF".to_string(),
            "nop".to_string(),
            format!("jmp {target:#x}"),
        ]
    );
}

#[test]
fn x86_64_rex_gotpcrelx() {
    // With a REX prefix: a 64-bit `movq`, and a 32-bit `movl` whose REX.R
    // names %r9d.
    let group = lower_asm(
        X86,
        "movq _JIT_OPERAND@GOTPCREL(%rip), %rcx\n\
         movl _JIT_OPARG@GOTPCREL(%rip), %r9d\nretq\n",
    );
    assert_eq!(
        group.code_holes,
        [
            hole(3, X86_64GotLoad, Value::Data, -4),
            hole(10, X86_64GotLoad, Value::Data, 8 - 4),
        ]
    );
    assert_eq!(group.code[7..10], [0x44, 0x8B, 0x0D]);
    assert_eq!(
        group.data_holes,
        [
            hole(0, Abs64, Value::OpValue("operand".into()), 0),
            hole(8, Abs64, Value::OpValue("oparg".into()), 0)
        ]
    );
    let base = 0x5555_0000_1000;
    let emission = |operand, oparg| {
        Emission::new(base, base + 0x2000)
            .with(Value::OpValue("operand".into()), operand)
            .with(Value::OpValue("oparg".into()), oparg)
            .emit(&group)
            .0
    };
    // An operand that fits an imm32 becomes an immediate move, and the
    // `movl` one of the slot's low 32 bits.
    let code = emission(0x1234, 0xfffe_0001);
    assert_eq!(
        instruction(X86, &code, base, 0),
        "movq $0x1234, %rcx # imm = 0x1234"
    );
    assert_eq!(
        instruction(X86, &code, base, 7),
        "movl $0xfffe0001, %r9d # imm = 0xFFFE0001"
    );
    // An operand that fits 32 bits unsigned only: a zero-extending `movl`.
    let code = emission(0x8000_0000, 7);
    assert_eq!(
        instruction(X86, &code, base, 0),
        "movl $0x80000000, %ecx # imm = 0x80000000"
    );
    assert_eq!(instruction(X86, &code, base, 7), "movl $0x7, %r9d");
}

// ---------------------------------------------------------------- aarch64

/// An aarch64 code base, 4 KiB aligned, and a data base half a MiB and a bit
/// further (inside every reach but the 14-bit branches).
const A64_CODE: u64 = 0x4000_0000;
const A64_DATA: u64 = 0x4008_0a48;

/// Lower `instruction` placed after one `nop`, with a constant pool in
/// .rodata; return the stencil.
fn lower_a64(instruction: &str) -> StencilGroup {
    lower_asm(
        A64,
        &format!(
            "nop\n{instruction}\nret\n\
             .section .rodata\n.p2align 4\n.quad 0\n.Lconstant:\n.quad 0, 0\n"
        ),
    )
}

/// Lower and emit one aarch64 instruction whose single hole is at code
/// offset 4; return the hole and the decoded, patched instruction.
fn a64_case(source: &str, emission: &Emission) -> (Hole, String) {
    let group = lower_a64(source);
    assert_eq!(group.code_holes.len(), 1, "{:?}", group.code_holes);
    let (code, _) = emission.emit(&group);
    (
        group.code_holes[0].clone(),
        instruction(A64, &code, emission.code_base, 4),
    )
}

fn a64_emission() -> Emission {
    Emission::new(A64_CODE, A64_DATA)
        .with(helper(), 0x4321_5678)
        .with(Value::JumpTarget, 0x4000_7ff0)
        .with(Value::OpValue("operand".into()), 0x1122_3344_5566_7788)
        .with(Value::OpValue("oparg".into()), 0x0000_0000_0000_abc8)
}

#[test]
fn aarch64_abs64() {
    let group = lower_asm(
        A64,
        "ret\n.data\n.xword 5\n.xword helper+16\n.xword .Lhere\n.text\n.Lhere:\nnop\n",
    );
    assert_eq!(
        group.data_holes,
        [
            hole(8, Abs64, helper(), 16),
            hole(16, Abs64, Value::Code, 4)
        ]
    );
    let (_, data) = a64_emission().emit(&group);
    assert_eq!(read_u64(&data, 0), 5);
    assert_eq!(read_u64(&data, 8), 0x4321_5678 + 16);
    assert_eq!(read_u64(&data, 16), A64_CODE + 4);
}

#[test]
fn aarch64_prel32() {
    let group = lower_asm(A64, "ret\n.section .rodata\n.word 0\n.word helper - .\n");
    assert_eq!(group.data_holes, [hole(4, PcRel32, helper(), 0)]);
    let (_, data) = a64_emission().emit(&group);
    let stored = i32::from_le_bytes(data[4..8].try_into().unwrap());
    assert_eq!(i64::from(stored), 0x4321_5678 - (A64_DATA as i64 + 4));
}

#[test]
fn aarch64_prel64() {
    let group = lower_asm(
        A64,
        "ret\n.section .rodata\n.xword 0\n.xword _JIT_JUMP_TARGET - . + 3\n",
    );
    assert_eq!(group.data_holes, [hole(8, PcRel64, Value::JumpTarget, 3)]);
    let (_, data) = a64_emission().emit(&group);
    assert_eq!(
        read_u64(&data, 8) as i64,
        0x4000_7ff0 + 3 - (A64_DATA as i64 + 8)
    );
}

#[test]
fn aarch64_call26() {
    let (h, text) = a64_case("bl helper", &a64_emission());
    assert_eq!(h, hole(4, Aarch64Branch26, helper(), 0));
    assert_eq!(text, "bl 0x43215678");
}

#[test]
fn aarch64_jump26() {
    let (h, text) = a64_case("b _JIT_JUMP_TARGET", &a64_emission());
    assert_eq!(h, hole(4, Aarch64Branch26, Value::JumpTarget, 0));
    assert_eq!(text, "b 0x40007ff0");
}

#[test]
fn aarch64_condbr19() {
    let (h, text) = a64_case("b.ne _JIT_JUMP_TARGET", &a64_emission());
    assert_eq!(h, hole(4, Aarch64Branch19, Value::JumpTarget, 0));
    assert_eq!(text, "b.ne 0x40007ff0");
}

#[test]
fn aarch64_ld_prel_lo19() {
    let (h, text) = a64_case("ldr x1, .Lconstant", &a64_emission());
    assert_eq!(h, hole(4, Aarch64Branch19, Value::Data, 8));
    assert_eq!(text, format!("ldr x1, {:#x}", A64_DATA + 8));
}

#[test]
fn aarch64_tstbr14() {
    let (h, text) = a64_case("tbnz w3, #5, _JIT_JUMP_TARGET", &a64_emission());
    assert_eq!(h, hole(4, Aarch64Branch14, Value::JumpTarget, 0));
    assert_eq!(text, "tbnz w3, #0x5, 0x40007ff0");
}

#[test]
fn aarch64_adr_prel_pg_hi21() {
    let (h, text) = a64_case("adrp x2, .Lconstant", &a64_emission());
    assert_eq!(h, hole(4, Aarch64AdrpPage21, Value::Data, 8));
    assert_eq!(text, format!("adrp x2, {:#x}", (A64_DATA + 8) & !0xfff));
}

#[test]
fn aarch64_adr_prel_pg_hi21_nc() {
    let (h, text) = a64_case("adrp x2, :pg_hi21_nc:helper", &a64_emission());
    assert_eq!(h, hole(4, Aarch64AdrpPage21, helper(), 0));
    assert_eq!(text, "adrp x2, 0x43215000");
}

#[test]
fn aarch64_adr_prel_lo21() {
    let (h, text) = a64_case("adr x3, .Lconstant+4", &a64_emission());
    assert_eq!(h, hole(4, Aarch64Adr21, Value::Data, 12));
    assert_eq!(text, format!("adr x3, {:#x}", A64_DATA + 12));
}

#[test]
fn aarch64_add_abs_lo12_nc() {
    let (h, text) = a64_case("add x0, x0, :lo12:.Lconstant", &a64_emission());
    assert_eq!(h, hole(4, Aarch64PageOffset12 { scale: 0 }, Value::Data, 8));
    assert_eq!(text, format!("add x0, x0, #{:#x}", (A64_DATA + 8) & 0xfff));
}

#[test]
fn aarch64_ldst8_abs_lo12_nc() {
    let (h, text) = a64_case("ldrb w0, [x0, :lo12:_JIT_OPARG+1]", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64PageOffset12 { scale: 0 },
            Value::OpValue("oparg".into()),
            1
        )
    );
    assert_eq!(text, "ldrb w0, [x0, #0xbc9]");
}

#[test]
fn aarch64_ldst16_abs_lo12_nc() {
    let (h, text) = a64_case("ldrh w0, [x1, :lo12:_JIT_OPARG+2]", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64PageOffset12 { scale: 1 },
            Value::OpValue("oparg".into()),
            2
        )
    );
    assert_eq!(text, "ldrh w0, [x1, #0xbca]");
}

#[test]
fn aarch64_ldst32_abs_lo12_nc() {
    let (h, text) = a64_case("ldr w0, [x1, :lo12:_JIT_OPARG+4]", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64PageOffset12 { scale: 2 },
            Value::OpValue("oparg".into()),
            4
        )
    );
    assert_eq!(text, "ldr w0, [x1, #0xbcc]");
}

#[test]
fn aarch64_ldst64_abs_lo12_nc() {
    let (h, text) = a64_case("ldr x5, [x1, :lo12:.Lconstant]", &a64_emission());
    assert_eq!(h, hole(4, Aarch64PageOffset12 { scale: 3 }, Value::Data, 8));
    assert_eq!(
        text,
        format!("ldr x5, [x1, #{:#x}]", (A64_DATA + 8) & 0xfff)
    );
}

#[test]
fn aarch64_ldst128_abs_lo12_nc() {
    let (h, text) = a64_case("ldr q0, [x1, :lo12:_JIT_OPARG+8]", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64PageOffset12 { scale: 4 },
            Value::OpValue("oparg".into()),
            8
        )
    );
    assert_eq!(text, "ldr q0, [x1, #0xbd0]");
}

#[test]
fn aarch64_movw_uabs_g0() {
    let (h, text) = a64_case("movz x0, #:abs_g0:_JIT_OPARG", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64MovWide { group: 0 },
            Value::OpValue("oparg".into()),
            0
        )
    );
    assert_eq!(text, format!("mov x0, #0xabc8 // ={}", 0xabc8));
}

#[test]
fn aarch64_movw_uabs_g0_nc() {
    let (h, text) = a64_case("movk x0, #:abs_g0_nc:_JIT_OPERAND", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64MovWide { group: 0 },
            Value::OpValue("operand".into()),
            0
        )
    );
    assert_eq!(text, "movk x0, #0x7788");
}

#[test]
fn aarch64_movw_uabs_g1() {
    let (h, text) = a64_case("movz x0, #:abs_g1:helper", &a64_emission());
    assert_eq!(h, hole(4, Aarch64MovWide { group: 1 }, helper(), 0));
    assert_eq!(text, format!("mov x0, #0x43210000 // ={}", 0x4321_0000u32));
}

#[test]
fn aarch64_movw_uabs_g1_nc() {
    let (h, text) = a64_case("movk x0, #:abs_g1_nc:_JIT_OPERAND", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64MovWide { group: 1 },
            Value::OpValue("operand".into()),
            0
        )
    );
    assert_eq!(text, "movk x0, #0x5566, lsl #16");
}

#[test]
fn aarch64_movw_uabs_g2() {
    let (h, text) = a64_case("movz x0, #:abs_g2:_JIT_OPERAND", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64MovWide { group: 2 },
            Value::OpValue("operand".into()),
            0
        )
    );
    assert_eq!(
        text,
        format!("mov x0, #0x334400000000 // ={}", 0x3344_0000_0000u64)
    );
}

#[test]
fn aarch64_movw_uabs_g2_nc() {
    let (h, text) = a64_case("movk x0, #:abs_g2_nc:_JIT_OPERAND", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64MovWide { group: 2 },
            Value::OpValue("operand".into()),
            0
        )
    );
    assert_eq!(text, "movk x0, #0x3344, lsl #32");
}

#[test]
fn aarch64_movw_uabs_g3() {
    let (h, text) = a64_case("movz x0, #:abs_g3:_JIT_OPERAND", &a64_emission());
    assert_eq!(
        h,
        hole(
            4,
            Aarch64MovWide { group: 3 },
            Value::OpValue("operand".into()),
            0
        )
    );
    assert_eq!(
        text,
        format!(
            "mov x0, #0x1122000000000000 // ={}",
            0x1122_0000_0000_0000u64
        )
    );
}

/// A GOT load of `helper` after 12 bytes of .rodata: the slot is at data
/// offset 16.
fn lower_a64_got() -> StencilGroup {
    let group = lower_asm(
        A64,
        "nop\nadrp x0, :got:helper\nldr x0, [x0, :got_lo12:helper]\nret\n\
         .section .rodata\n.word 1, 2, 3\n",
    );
    assert_eq!(group.data.len(), 24);
    assert_eq!(group.data_align, 8);
    assert_eq!(group.data_holes, [hole(16, Abs64, helper(), 0)]);
    group
}

#[test]
fn aarch64_adr_got_page() {
    let group = lower_a64_got();
    assert_eq!(
        group.code_holes[0],
        hole(4, Aarch64AdrpPage21, Value::Data, 16)
    );
    let data_base = 0x4012_3ff8; // the slot starts the next page
    let (code, data) = Emission::new(A64_CODE, data_base)
        .with(helper(), 0x4321_5678)
        .emit(&group);
    assert_eq!(read_u64(&data, 16), 0x4321_5678);
    assert_eq!(instruction(A64, &code, A64_CODE, 4), "adrp x0, 0x40124000");
}

#[test]
fn aarch64_ld64_got_lo12_nc() {
    let group = lower_a64_got();
    assert_eq!(
        group.code_holes[1],
        hole(8, Aarch64PageOffset12 { scale: 3 }, Value::Data, 16)
    );
    let data_base = 0x4012_3ab0;
    let (code, _) = Emission::new(A64_CODE, data_base)
        .with(helper(), 0x4321_5678)
        .emit(&group);
    assert_eq!(instruction(A64, &code, A64_CODE, 8), "ldr x0, [x0, #0xac0]");
}

// ------------------------------------------------------- unsupported types

#[test]
fn unsupported_aarch64_relocation_is_an_error() {
    let object = assemble_with(
        A64,
        &[],
        "nop\nnop\nnop\nnop\nnop\nnop\nnop\nadd x0, x0, :tprel_hi12:counter\n",
    );
    let error = lower(&object, A64, "add_i64", reference_values()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "uop `add_i64` (aarch64-unknown-linux-gnu): unsupported relocation \
         R_AARCH64_TLSLE_ADD_TPREL_HI12 in .text at offset 0x1c"
    );
}

#[test]
fn unsupported_x86_64_relocation_is_an_error() {
    let object = assemble_with(X86, &[], "nop\nmovl %fs:counter@tpoff, %eax\nretq\n");
    let error = lower(&object, X86, "load_tls", reference_values()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "uop `load_tls` (x86_64-unknown-linux-gnu): unsupported relocation \
         R_X86_64_TPOFF32 in .text at offset 0x5"
    );
}

#[test]
fn unsupported_relocation_in_data_is_an_error() {
    // A 16-bit absolute value has no hole kind.
    let object = assemble_with(A64, &[], "ret\n.data\n.hword 0\n.hword helper\n");
    let error = lower(&object, A64, "short_data", reference_values()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "uop `short_data` (aarch64-unknown-linux-gnu): unsupported relocation \
         R_AARCH64_ABS16 in .data at offset 0x2"
    );
}

// ------------------------------------------------- branches and addresses

#[test]
fn x86_64_branch_kind_comes_from_the_instruction() {
    // A `jcc` and a `jmp` to the continuation, and a PLT32 relocation on a
    // `lea`: the relocation type alone does not make a branch.
    let group = lower_asm(
        X86,
        "testq %rax, %rax\njne _JIT_JUMP_TARGET\njmp _JIT_CONTINUE\n\
         .byte 0x48, 0x8d, 0x05\n.reloc ., R_X86_64_PLT32, helper-4\n.long 0\nretq\n",
    );
    assert_eq!(
        group.code_holes[0],
        hole(5, X86Branch32, Value::JumpTarget, -4)
    );
    assert_eq!(
        group.code_holes[1],
        hole(10, X86Branch32, Value::Continue, -4)
    );
    // The `lea` of the helper became a load of a GOT slot holding it.
    assert_eq!(group.code[15], 0x8b);
    assert_eq!(
        group.code_holes[2],
        hole(17, X86_64GotLoadUnrelaxed, Value::Data, -4)
    );
    assert_eq!(group.data_holes, [hole(0, Abs64, helper(), 0)]);
}

#[test]
fn x86_64_lea_of_a_far_helper_reads_its_address_from_a_got_slot() {
    let group = lower_asm(X86, "leaq helper+16(%rip), %rax\nretq\n");
    assert_eq!(&group.code[..3], &[0x48, 0x8b, 0x05]);
    assert_eq!(
        group.code_holes,
        [hole(3, X86_64GotLoadUnrelaxed, Value::Data, -4)]
    );
    assert_eq!(group.data_holes, [hole(0, Abs64, helper(), 16)]);
    // 64 GiB away: beyond any disp32, and no trampoline stands in.
    let base = 0x5555_0000_1000;
    let data_base = base + 0x1000;
    let far = base + 0x10_0000_0000;
    let (code, data) = Emission::new(base, data_base)
        .with(helper(), far)
        .emit(&group);
    assert_eq!(read_u64(&data, 0), far + 16);
    assert_eq!(
        instruction(X86, &code, base, 0),
        format!(
            "movq {:#x}(%rip), %rax # {data_base:#x}",
            data_base - (base + 7)
        )
    );
}

#[test]
fn x86_64_rip_relative_data_of_a_helper_stays_pc_relative() {
    // Reading memory at a helper's symbol cannot go through a slot without
    // another instruction: it stays a `PcRel32`, which the runtime never
    // redirects to a trampoline.
    let group = lower_asm(X86, "addq helper(%rip), %rax\nretq\n");
    assert_eq!(group.code_holes, [hole(3, PcRel32, helper(), -4)]);
    assert!(group.data_holes.is_empty());
}

#[test]
fn aarch64_call26_on_another_instruction_is_refused() {
    let message = harness::lower_error(
        A64,
        ".reloc ., R_AARCH64_CALL26, helper\nadd x0, x0, #0\nret\n",
    );
    assert_eq!(
        message,
        "uop `test_uop` (aarch64-unknown-linux-gnu): relocation R_AARCH64_CALL26 in .text \
         at offset 0x0 is on instruction 0x91000000, which it cannot patch"
    );
}
