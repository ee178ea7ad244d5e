//! Mach-O: x86-64 (addends in the instruction bytes, `SIGNED_1/2/4`, GOT
//! references) and arm64 (`ARM64_RELOC_ADDEND` pairs, page offsets scaled
//! by the access size).

use runtime::HoleKind::*;
use stencil_gen::model::Value;
use stencil_gen::target::{Target, AARCH64_APPLE, X86_64_APPLE};

use crate::harness::*;

const X86: &Target = &X86_64_APPLE;
const A64: &Target = &AARCH64_APPLE;

const BASE: u64 = 0x5555_0000_1000;
const DATA: u64 = BASE + 0x2000;

// ---------------------------------------------------------------- x86-64

#[test]
fn x86_64_branch() {
    let object = assemble(
        X86,
        "pushq %rax\ncallq _helper\npopq %rax\njmp __JIT_CONTINUE\n",
    );
    assert_has_relocation(&object, "X86_64_RELOC_BRANCH");
    let group = lower_object(X86, &object);
    // The jump to the continuation at the end is dropped.
    assert!(group.trailing_jump_removed);
    assert_eq!(group.code_holes, [hole(2, X86Branch32, helper(), -4)]);
    let (code, _) = Emission::new(BASE, DATA)
        .with(helper(), 0x5555_4000_0010)
        .emit(&group);
    assert_eq!(instruction(X86, &code, BASE, 1), "callq 0x555540000010");
}

#[test]
fn x86_64_signed() {
    // Against a section (a local label) and against a symbol with an
    // addend: both keep their addend in the disp32.
    let object = assemble(
        X86,
        "leaq L_constant(%rip), %rax\nmovq _helper+8(%rip), %rcx\nretq\n\
         .section __TEXT,__const\n.quad 1\nL_constant:\n.quad 2\n",
    );
    assert_has_relocation(&object, "X86_64_RELOC_SIGNED");
    let group = lower_object(X86, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(3, PcRel32, Value::Data, 8 - 4),
            hole(10, PcRel32, helper(), 8 - 4)
        ]
    );
    assert_eq!(group.data.len(), 16);
    let helper_at = 0x5555_3000_0000;
    let (code, _) = Emission::new(BASE, DATA)
        .with(helper(), helper_at)
        .emit(&group);
    assert_eq!(
        instruction(X86, &code, BASE, 0),
        format!(
            "leaq {:#x}(%rip), %rax # {:#x}",
            DATA + 8 - (BASE + 7),
            DATA + 8
        )
    );
    assert!(instruction(X86, &code, BASE, 7).ends_with(&format!("# {:#x}", helper_at + 8)));
}

#[test]
fn x86_64_signed_1_2_4() {
    // An immediate after the disp32: the assembler names its size in the
    // type and biases the stored addend; the hole reaches the symbol.
    let object = assemble(
        X86,
        "movb $1, _helper(%rip)\nmovw $1, _helper(%rip)\nmovl $1, _helper(%rip)\n\
         movb $1, L_cell(%rip)\nretq\n.data\n.quad 0\nL_cell:\n.quad 0\n",
    );
    for name in [
        "X86_64_RELOC_SIGNED_1",
        "X86_64_RELOC_SIGNED_2",
        "X86_64_RELOC_SIGNED_4",
    ] {
        assert_has_relocation(&object, name);
    }
    let group = lower_object(X86, &object);
    // `P` is the disp32; the instruction ends 1, 2 or 4 bytes after it.
    assert_eq!(
        group.code_holes,
        [
            hole(2, PcRel32, helper(), -5),
            hole(10, PcRel32, helper(), -6),
            hole(18, PcRel32, helper(), -8),
            hole(28, PcRel32, Value::Data, 8 - 5),
        ]
    );
    let helper_at = 0x5555_3000_0000;
    let (code, _) = Emission::new(BASE, DATA)
        .with(helper(), helper_at)
        .emit(&group);
    let listing = disassemble(X86, &code, BASE);
    let targets: Vec<&str> = listing
        .iter()
        .filter_map(|(_, text)| text.rsplit_once("# ").map(|(_, t)| t))
        .collect();
    let helper_text = format!("{helper_at:#x}");
    let cell_text = format!("{:#x}", DATA + 8);
    assert_eq!(
        targets,
        [
            helper_text.as_str(),
            helper_text.as_str(),
            helper_text.as_str(),
            cell_text.as_str()
        ],
        "{listing:?}"
    );
}

#[test]
fn x86_64_got_load() {
    // `GOT_LOAD` promises a `movq`: relaxed to an immediate when it fits.
    let object = assemble(X86, "movq __JIT_OPERAND@GOTPCREL(%rip), %rcx\nretq\n");
    assert_has_relocation(&object, "X86_64_RELOC_GOT_LOAD");
    let group = lower_object(X86, &object);
    assert_eq!(group.code_holes, [hole(3, X86_64GotLoad, Value::Data, -4)]);
    assert_eq!(
        group.data_holes,
        [hole(0, Abs64, Value::OpValue("operand".into()), 0)]
    );
    let emit = |operand| {
        Emission::new(BASE, DATA)
            .with(Value::OpValue("operand".into()), operand)
            .emit(&group)
    };
    let (code, _) = emit(0x1234);
    assert_eq!(
        instruction(X86, &code, BASE, 0),
        "movq $0x1234, %rcx # imm = 0x1234"
    );
    // Out of every direct reach: the load through the slot stays.
    let (code, data) = emit(0x7f00_0000_0000);
    assert_eq!(read_u64(&data, 0), 0x7f00_0000_0000);
    assert_eq!(
        instruction(X86, &code, BASE, 0),
        format!("movq {:#x}(%rip), %rcx # {DATA:#x}", DATA - (BASE + 7))
    );
}

#[test]
fn x86_64_got() {
    // `GOT` says nothing of the instruction: the bytes decide. The `movl`
    // and the `call *` start at their opcode and are relaxed; the `addq`
    // has a REX prefix, which only `GOT_LOAD` vouches for, and stays.
    let object = assemble(
        X86,
        "movl __JIT_OPARG@GOTPCREL(%rip), %ecx\naddq _helper@GOTPCREL(%rip), %rdx\n\
         callq *_helper@GOTPCREL(%rip)\nretq\n",
    );
    assert_has_relocation(&object, "X86_64_RELOC_GOT");
    let group = lower_object(X86, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(2, X86_64GotLoadNoRex, Value::Data, -4),
            hole(9, X86_64GotLoadUnrelaxed, Value::Data, 8 - 4),
            hole(15, X86_64GotLoadNoRex, Value::Data, 8 - 4),
        ]
    );
    assert_eq!(
        group.data_holes,
        [
            hole(0, Abs64, Value::OpValue("oparg".into()), 0),
            hole(8, Abs64, helper(), 0)
        ]
    );
    let helper_at = 0x5555_2000_0000;
    let (code, _) = Emission::new(BASE, DATA)
        .with(Value::OpValue("oparg".into()), 0xdead_beef)
        .with(helper(), helper_at)
        .emit(&group);
    let listing = listing(X86, &code, BASE);
    assert_eq!(
        listing,
        [
            "movl $0xdeadbeef, %ecx # imm = 0xDEADBEEF".to_string(),
            format!(
                "addq {:#x}(%rip), %rdx # {:#x}",
                DATA + 8 - (BASE + 13),
                DATA + 8
            ),
            format!("addr32 callq {helper_at:#x}"),
            "retq".to_string(),
        ]
    );
}

#[test]
fn x86_64_unsigned() {
    let object = assemble(
        X86,
        "retq\n.data\n.quad 5\n.quad _helper+16\n.quad L_here\n.long _helper+4\n\
         .text\nL_here:\nnop\n",
    );
    assert_has_relocation(&object, "X86_64_RELOC_UNSIGNED");
    let group = lower_object(X86, &object);
    assert_absolute_data(&group, &[], (BASE, DATA), 1, 0x1234_5678);
}

#[test]
fn x86_64_subtractor_is_an_error() {
    let message = lower_error(
        X86,
        ".globl _f\n_f:\nretq\n.data\nL_start:\n.quad _f - L_start\n",
    );
    assert_eq!(
        message,
        "uop `test_uop` (x86_64-apple-darwin): unsupported relocation \
         X86_64_RELOC_SUBTRACTOR in __DATA,__data at offset 0x0"
    );
}

#[test]
fn x86_64_thread_local_is_an_error() {
    let message = lower_error(X86, "nop\nmovq _counter@TLVP(%rip), %rdi\nretq\n");
    assert_eq!(
        message,
        "uop `test_uop` (x86_64-apple-darwin): unsupported relocation \
         X86_64_RELOC_TLV in __TEXT,__text at offset 0x4"
    );
}

// ----------------------------------------------------------------- arm64

/// A code base, 4 KiB aligned, and a data base half a MiB and a bit
/// further.
const A64_CODE: u64 = 0x4000_0000;
const A64_DATA: u64 = 0x4008_0a48;

#[test]
fn arm64_branch26() {
    // An addend comes as an `ARM64_RELOC_ADDEND` before its relocation.
    let object = assemble(A64, "bl _helper\nb _helper+8\nb __JIT_CONTINUE\n");
    assert_has_relocation(&object, "ARM64_RELOC_BRANCH26");
    assert_has_relocation(&object, "ARM64_RELOC_ADDEND");
    let group = lower_object(A64, &object);
    assert!(group.trailing_jump_removed);
    assert_eq!(
        group.code_holes,
        [
            hole(0, Aarch64Branch26, helper(), 0),
            hole(4, Aarch64Branch26, helper(), 8)
        ]
    );
    let (code, _) = Emission::new(A64_CODE, A64_DATA)
        .with(helper(), 0x4321_5678)
        .emit(&group);
    assert_eq!(instruction(A64, &code, A64_CODE, 0), "bl 0x43215678");
    assert_eq!(instruction(A64, &code, A64_CODE, 4), "b 0x43215680");
}

#[test]
fn arm64_page21_and_pageoff12() {
    // Page offsets of adds and of loads of every size: the scale comes
    // from the instruction, the addend from the `ADDEND` pair.
    let object = assemble(
        A64,
        "adrp x0, _helper@PAGE+16\nadd x0, x0, _helper@PAGEOFF+16\n\
         ldr x1, [x0, _helper@PAGEOFF+24]\nldr w1, [x0, _helper@PAGEOFF+4]\n\
         ldr q1, [x0, _helper@PAGEOFF+32]\nldrb w1, [x0, _helper@PAGEOFF+3]\nret\n",
    );
    assert_has_relocation(&object, "ARM64_RELOC_PAGE21");
    assert_has_relocation(&object, "ARM64_RELOC_PAGEOFF12");
    assert_page_offsets(A64, &lower_object(A64, &object), (A64_CODE, A64_DATA));
}

#[test]
fn arm64_got_load_page21_and_pageoff12() {
    let object = assemble(
        A64,
        "adrp x2, _helper@GOTPAGE\nldr x2, [x2, _helper@GOTPAGEOFF]\nret\n",
    );
    assert_has_relocation(&object, "ARM64_RELOC_GOT_LOAD_PAGE21");
    assert_has_relocation(&object, "ARM64_RELOC_GOT_LOAD_PAGEOFF12");
    let group = lower_object(A64, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(0, Aarch64AdrpPage21, Value::Data, 0),
            hole(4, Aarch64PageOffset12 { scale: 3 }, Value::Data, 0)
        ]
    );
    assert_eq!(group.data_holes, [hole(0, Abs64, helper(), 0)]);
    let (code, data) = Emission::new(A64_CODE, A64_DATA)
        .with(helper(), 0x4321_5678)
        .emit(&group);
    assert_eq!(read_u64(&data, 0), 0x4321_5678);
    assert_eq!(instruction(A64, &code, A64_CODE, 0), "adrp x2, 0x40080000");
    assert_eq!(instruction(A64, &code, A64_CODE, 4), "ldr x2, [x2, #0xa48]");
}

#[test]
fn arm64_unsigned() {
    let object = assemble(
        A64,
        "ret\n.data\n.quad 5\n.quad _helper+16\n.quad Lhere\n.long _helper+4\n\
         .text\nLhere:\nnop\n",
    );
    assert_has_relocation(&object, "ARM64_RELOC_UNSIGNED");
    let group = lower_object(A64, &object);
    assert_absolute_data(&group, &[], (A64_CODE, A64_DATA), 4, 0x1234_5678);
}

#[test]
fn arm64_thread_local_is_an_error() {
    let message = lower_error(A64, "nop\nadrp x0, _counter@TLVPPAGE\nret\n");
    assert_eq!(
        message,
        "uop `test_uop` (aarch64-apple-darwin): unsupported relocation \
         ARM64_RELOC_TLVP_LOAD_PAGE21 in __TEXT,__text at offset 0x4"
    );
}
