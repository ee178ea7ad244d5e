//! COFF: every addend is in the relocated bytes (x86-64 and i386 disp32s
//! and data, AArch64 instruction immediates, page offsets scaled by the
//! access size), and `__imp_NAME` import slots become GOT slots.

#[allow(unused_imports)]
use crate::abi_support::{reference_abi, reference_values};
use object::{Object, ObjectSection};
use runtime::HoleKind::*;
use stencil_gen::model::Value;
use stencil_gen::target::{Target, AARCH64_WINDOWS, I686_WINDOWS, X86_64_WINDOWS};

use crate::harness::*;

const X86: &Target = &X86_64_WINDOWS;
const A64: &Target = &AARCH64_WINDOWS;
const I686: &Target = &I686_WINDOWS;

const BASE: u64 = 0x5555_0000_1000;
const DATA: u64 = BASE + 0x2000;

/// `object` with the relocation of `section` at `offset` given type
/// `r_type`, and the 4 bytes it relocates set to `bytes`.
fn rewrite(object: &[u8], section: &str, offset: u32, r_type: u16, bytes: [u8; 4]) -> Vec<u8> {
    let file = object::File::parse(object).unwrap();
    let object::File::Coff(coff) = &file else {
        panic!("not COFF");
    };
    let header = coff.section_by_name(section).unwrap().coff_section();
    let le = object::LittleEndian;
    let raw = header.pointer_to_raw_data.get(le) as usize;
    let table = header.pointer_to_relocations.get(le) as usize;
    let count = header.number_of_relocations.get(le) as usize;
    let mut out = object.to_vec();
    // Each entry: virtual address (4), symbol index (4), type (2).
    let entry = (0..count)
        .map(|i| table + 10 * i)
        .find(|&at| u32::from_le_bytes(out[at..at + 4].try_into().unwrap()) == offset)
        .unwrap_or_else(|| panic!("no relocation at {offset:#x}"));
    out[entry + 8..entry + 10].copy_from_slice(&r_type.to_le_bytes());
    let at = raw + offset as usize;
    out[at..at + 4].copy_from_slice(&bytes);
    out
}

/// The addresses llvm-objdump notes after `#` in an x86 listing.
fn noted_addresses(target: &Target, code: &[u8], base: u64) -> Vec<String> {
    disassemble(target, code, base)
        .into_iter()
        .filter_map(|(_, text)| text.rsplit_once("# ").map(|(_, t)| t.to_string()))
        .collect()
}

// ---------------------------------------------------------------- x86-64

#[test]
fn amd64_rel32() {
    let object = assemble(
        X86,
        "pushq %rax\ncallq helper\npopq %rax\njmp _JIT_CONTINUE\n",
    );
    assert_has_relocation(&object, "IMAGE_REL_AMD64_REL32");
    let group = lower_object(X86, &object);
    assert!(group.trailing_jump_removed);
    assert_eq!(group.code_holes, [hole(2, X86Branch32, helper(), -4)]);
    let (code, _) = Emission::new(BASE, DATA)
        .with(helper(), 0x5555_4000_0010)
        .emit(&group);
    assert_eq!(instruction(X86, &code, BASE, 1), "callq 0x555540000010");
}

#[test]
fn amd64_rel32_before_an_immediate() {
    // The assembler keeps plain REL32 and biases the disp32 by the bytes
    // after it; against a section the disp32 holds the offset too.
    let object = assemble(
        X86,
        "movb $1, helper(%rip)\nmovl $1, helper+8(%rip)\nleaq .Lconstant(%rip), %rax\nretq\n\
         .section .rdata,\"dr\"\n.quad 1\n.Lconstant:\n.quad 2\n",
    );
    let group = lower_object(X86, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(2, PcRel32, helper(), -5),
            hole(9, PcRel32, helper(), 8 - 8),
            hole(20, PcRel32, Value::Data, 8 - 4),
        ]
    );
    let helper_at = 0x5555_3000_0000;
    let (code, _) = Emission::new(BASE, DATA)
        .with(helper(), helper_at)
        .emit(&group);
    assert_eq!(
        noted_addresses(X86, &code, BASE),
        [
            format!("{helper_at:#x}"),
            format!("{:#x}", helper_at + 8),
            format!("{:#x}", DATA + 8),
        ]
    );
}

#[test]
fn amd64_rel32_1_to_5() {
    // clang writes REL32 with a biased disp32; the REL32_N types say the
    // same with the bias in the type. An object rewritten to use them
    // lowers to the same holes.
    let source = "movb $1, helper(%rip)\nmovl $1, helper(%rip)\nretq\n";
    let object = assemble(X86, source);
    let plain = lower_object(X86, &object);
    let rewritten = rewrite(
        &object,
        ".text",
        2,
        object::pe::IMAGE_REL_AMD64_REL32_1,
        [0; 4],
    );
    let rewritten = rewrite(
        &rewritten,
        ".text",
        9,
        object::pe::IMAGE_REL_AMD64_REL32_4,
        [0; 4],
    );
    assert_has_relocation(&rewritten, "IMAGE_REL_AMD64_REL32_1");
    assert_has_relocation(&rewritten, "IMAGE_REL_AMD64_REL32_4");
    assert_eq!(lower_object(X86, &rewritten).code_holes, plain.code_holes);
    assert_eq!(
        plain.code_holes,
        [
            hole(2, PcRel32, helper(), -5),
            hole(9, PcRel32, helper(), -8)
        ]
    );
    // REL32_5 with a disp32 of 3: `S + 3 - (P + 9)`.
    let rewritten = rewrite(
        &object,
        ".text",
        2,
        object::pe::IMAGE_REL_AMD64_REL32_5,
        [3, 0, 0, 0],
    );
    assert_eq!(
        lower_object(X86, &rewritten).code_holes[0],
        hole(2, PcRel32, helper(), 3 - 4 - 5)
    );
}

#[test]
fn amd64_addr64_and_addr32() {
    let object = assemble(
        X86,
        "retq\n.data\n.quad 5\n.quad helper+16\n.quad .Lhere\n.long helper+4\n\
         .text\n.Lhere:\nnop\n",
    );
    assert_has_relocation(&object, "IMAGE_REL_AMD64_ADDR64");
    assert_has_relocation(&object, "IMAGE_REL_AMD64_ADDR32");
    let group = lower_object(X86, &object);
    assert_absolute_data(&group, &[], (BASE, DATA), 1, 0x1234_5678);
}

#[test]
fn amd64_import_slots_are_got_slots() {
    // `__imp_helper` holds helper's address: a GOT slot. The loads through
    // it are relaxed where the bytes show no prefix can precede the
    // opcode; the `movq`'s REX prefix could be the end of another
    // instruction as far as a REL32 tells, so it stays a load.
    let object = assemble(
        X86,
        "movq __imp_helper(%rip), %rax\nmovl __imp_helper(%rip), %ecx\n\
         callq *__imp_helper(%rip)\nretq\n",
    );
    let group = lower_object(X86, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(3, X86_64GotLoadUnrelaxed, Value::Data, -4),
            hole(9, X86_64GotLoadNoRex, Value::Data, -4),
            hole(15, X86_64GotLoadNoRex, Value::Data, -4),
        ]
    );
    assert_eq!(group.data_holes, [hole(0, Abs64, helper(), 0)]);
    let helper_at = 0x5555_2000_1234;
    let (code, _) = Emission::new(BASE, DATA)
        .with(helper(), helper_at)
        .emit(&group);
    let listing = listing(X86, &code, BASE);
    assert_eq!(
        listing,
        [
            format!("movq {:#x}(%rip), %rax # {DATA:#x}", DATA - (BASE + 7)),
            "movl $0x20001234, %ecx # imm = 0x20001234".to_string(),
            format!("addr32 callq {helper_at:#x}"),
            "retq".to_string(),
        ]
    );
}

#[test]
fn amd64_unsupported_relocations_are_errors() {
    assert_eq!(
        lower_error(X86, "retq\n.data\n.long 0\n.secrel32 helper\n"),
        "uop `test_uop` (x86_64-pc-windows-msvc): unsupported relocation \
         IMAGE_REL_AMD64_SECREL in .data at offset 0x4"
    );
    assert_eq!(
        lower_error(X86, "retq\n.data\n.rva helper\n"),
        "uop `test_uop` (x86_64-pc-windows-msvc): unsupported relocation \
         IMAGE_REL_AMD64_ADDR32NB in .data at offset 0x0"
    );
}

// ----------------------------------------------------------------- ARM64

const A64_CODE: u64 = 0x4000_0000;
const A64_DATA: u64 = 0x4008_0a48;

#[test]
fn arm64_branches() {
    let object = assemble(
        A64,
        "bl helper\nb.eq helper\ntbz x0, #3, helper\nb _JIT_CONTINUE\n",
    );
    for name in [
        "IMAGE_REL_ARM64_BRANCH26",
        "IMAGE_REL_ARM64_BRANCH19",
        "IMAGE_REL_ARM64_BRANCH14",
    ] {
        assert_has_relocation(&object, name);
    }
    let group = lower_object(A64, &object);
    assert!(group.trailing_jump_removed);
    assert_eq!(
        group.code_holes,
        [
            hole(0, Aarch64Branch26, helper(), 0),
            hole(4, Aarch64Branch19, helper(), 0),
            hole(8, Aarch64Branch14, helper(), 0),
        ]
    );
    // Within a TBZ's 32 KiB.
    let (code, _) = Emission::new(A64_CODE, A64_DATA)
        .with(helper(), A64_CODE + 0x2000)
        .emit(&group);
    let listing = listing(A64, &code, A64_CODE);
    assert_eq!(
        listing,
        [
            "bl 0x40002000",
            "b.eq 0x40002000",
            "tbz w0, #0x3, 0x40002000"
        ]
    );
}

#[test]
fn arm64_pagebase_and_page_offsets() {
    // The addends are in the instructions: bytes in ADRP's immediate, the
    // page offset in the imm12, scaled by the access size of a load.
    let object = assemble(
        A64,
        "adrp x0, helper+16\nadd x0, x0, :lo12:helper+16\nldr x1, [x0, :lo12:helper+24]\n\
         ldr w1, [x0, :lo12:helper+4]\nldr q1, [x0, :lo12:helper+32]\n\
         ldrb w1, [x0, :lo12:helper+3]\nret\n",
    );
    for name in [
        "IMAGE_REL_ARM64_PAGEBASE_REL21",
        "IMAGE_REL_ARM64_PAGEOFFSET_12A",
        "IMAGE_REL_ARM64_PAGEOFFSET_12L",
    ] {
        assert_has_relocation(&object, name);
    }
    assert_page_offsets(A64, &lower_object(A64, &object), (A64_CODE, A64_DATA));
}

#[test]
fn arm64_page_offset_on_another_instruction_is_an_error() {
    let object = assemble(A64, "adrp x0, helper\nldr x1, [x0, :lo12:helper]\nret\n");
    // The load turned into `madd x1, x0, x0, x0`, which has no imm12.
    let madd = 0x9b00_0001u32;
    let file = object::File::parse(&*object).unwrap();
    let text = file.section_by_name(".text").unwrap();
    let (start, _) = text.file_range().unwrap();
    let mut broken = object.clone();
    broken[start as usize + 4..start as usize + 8].copy_from_slice(&madd.to_le_bytes());
    let error =
        stencil_gen::lower::lower(&broken, A64, "test_uop", reference_values()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "uop `test_uop` (aarch64-pc-windows-msvc): relocation IMAGE_REL_ARM64_PAGEOFFSET_12L \
         in .text at offset 0x4: is on 0x9b000001, not a load or store with an unsigned offset"
    );
}

#[test]
fn arm64_addr64_addr32_and_rel32() {
    let object = assemble(
        A64,
        "ret\n.data\n.quad 5\n.quad helper+16\n.quad .Lhere\n.long helper+4\n\
         .word helper - .\n.text\n.Lhere:\nnop\n",
    );
    for name in [
        "IMAGE_REL_ARM64_ADDR64",
        "IMAGE_REL_ARM64_ADDR32",
        "IMAGE_REL_ARM64_REL32",
    ] {
        assert_has_relocation(&object, name);
    }
    let group = lower_object(A64, &object);
    let data = assert_absolute_data(
        &group,
        &[hole(28, PcRel32, helper(), 0)],
        (A64_CODE, A64_DATA),
        4,
        0x4321_5678,
    );
    let relative = i32::from_le_bytes(data[28..32].try_into().unwrap());
    assert_eq!(i64::from(relative), 0x4321_5678 - (A64_DATA as i64 + 28));
}

#[test]
fn arm64_import_slots_are_got_slots() {
    let object = assemble(
        A64,
        "adrp x2, __imp_helper\nldr x2, [x2, :lo12:__imp_helper]\nret\n",
    );
    let group = lower_object(A64, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(0, Aarch64AdrpPage21, Value::Data, 0),
            hole(4, Aarch64PageOffset12 { scale: 3 }, Value::Data, 0),
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
fn arm64_unsupported_relocation_is_an_error() {
    assert_eq!(
        lower_error(A64, "ret\n.data\n.secrel32 helper\n"),
        "uop `test_uop` (aarch64-pc-windows-msvc): unsupported relocation \
         IMAGE_REL_ARM64_SECREL in .data at offset 0x0"
    );
}

// ------------------------------------------------------------------ i386

/// 32-bit addresses for the code and its data.
const I686_CODE: u64 = 0x0804_8000;
const I686_DATA: u64 = 0x0805_0000;

#[test]
fn i386_dir32() {
    let object = assemble(I686, "movl _helper+8, %eax\nmovl $_helper+4, %ecx\nretl\n");
    assert_has_relocation(&object, "IMAGE_REL_I386_DIR32");
    let group = lower_object(I686, &object);
    assert_eq!(
        group.code_holes,
        [hole(1, Abs32, helper(), 8), hole(6, Abs32, helper(), 4)]
    );
    let (code, _) = Emission::new(I686_CODE, I686_DATA)
        .with(helper(), 0x1234_5678)
        .emit(&group);
    assert_eq!(
        instruction(I686, &code, I686_CODE, 0),
        "movl 0x12345680, %eax"
    );
    assert_eq!(
        instruction(I686, &code, I686_CODE, 5),
        "movl $0x1234567c, %ecx # imm = 0x1234567C"
    );
}

#[test]
fn i386_rel32() {
    let object = assemble(I686, "calll _helper\njmp __JIT_CONTINUE\n");
    assert_has_relocation(&object, "IMAGE_REL_I386_REL32");
    let group = lower_object(I686, &object);
    assert!(group.trailing_jump_removed);
    assert_eq!(group.code_holes, [hole(1, X86Branch32, helper(), -4)]);
    let (code, _) = Emission::new(I686_CODE, I686_DATA)
        .with(helper(), 0x0900_0010)
        .emit(&group);
    assert_eq!(instruction(I686, &code, I686_CODE, 0), "calll 0x9000010");
}

#[test]
fn i386_import_slots_are_got_slots() {
    let object = assemble(I686, "calll *__imp__helper\nretl\n");
    let group = lower_object(I686, &object);
    assert_eq!(group.code_holes, [hole(2, Abs32, Value::Data, 0)]);
    assert_eq!(group.data_holes, [hole(0, Abs64, helper(), 0)]);
    let (code, data) = Emission::new(I686_CODE, I686_DATA)
        .with(helper(), 0x0900_0010)
        .emit(&group);
    assert_eq!(read_u64(&data, 0), 0x0900_0010);
    assert_eq!(
        instruction(I686, &code, I686_CODE, 0),
        format!("calll *{I686_DATA:#x}")
    );
}

#[test]
fn i386_reads_the_whole_operand_from_its_slot() {
    // As the uop template does: both halves of the 8-byte slot of
    // `__imp___JIT_OPERAND`, which holds all 64 bits of the operand.
    let object = assemble(
        I686,
        "movl __imp___JIT_OPERAND, %eax\nmovl __imp___JIT_OPERAND+4, %edx\nretl\n",
    );
    let group = lower_object(I686, &object);
    assert_eq!(
        group.code_holes,
        [
            hole(1, Abs32, Value::Data, 0),
            hole(7, Abs32, Value::Data, 4)
        ]
    );
    assert_eq!(
        group.data_holes,
        [hole(0, Abs64, Value::OpValue("operand".into()), 0)]
    );
    let (code, data) = Emission::new(I686_CODE, I686_DATA)
        .with(Value::OpValue("operand".into()), 0x1122_3344_5566_7788)
        .emit(&group);
    assert_eq!(read_u64(&data, 0), 0x1122_3344_5566_7788);
    assert_eq!(
        instruction(I686, &code, I686_CODE, 0),
        format!("movl {I686_DATA:#x}, %eax")
    );
    assert_eq!(
        instruction(I686, &code, I686_CODE, 5),
        format!("movl {:#x}, %edx", I686_DATA + 4)
    );
}

#[test]
fn i386_unsupported_relocations_are_errors() {
    assert_eq!(
        lower_error(I686, "retl\n.data\n.secrel32 _helper\n"),
        "uop `test_uop` (i686-pc-windows-msvc): unsupported relocation \
         IMAGE_REL_I386_SECREL in .data at offset 0x0"
    );
    assert_eq!(
        lower_error(I686, "retl\n.data\n.long 0\n.rva _helper\n"),
        "uop `test_uop` (i686-pc-windows-msvc): unsupported relocation \
         IMAGE_REL_I386_DIR32NB in .data at offset 0x4"
    );
}

#[test]
fn amd64_helper_address_taken_in_c_goes_through_a_got_slot() {
    // clang takes a helper's address with a RIP-relative `leaq` on
    // Windows, where there is no GOT: lowering turns it into a load of a
    // slot, so the address is right wherever the trace lands.
    let flags: Vec<&str> = X86.clang_flags.iter().copied().chain(["-x", "c"]).collect();
    let object = assemble_with(
        X86,
        &flags,
        "extern void helper(void);\nvoid *_JIT_ENTRY(void) { return (void *)&helper; }\n",
    );
    assert_has_relocation(&object, "IMAGE_REL_AMD64_REL32");
    let group = lower_object(X86, &object);
    let slot = group
        .data_holes
        .iter()
        .find(|h| h.value == helper())
        .expect("a GOT slot holding the helper");
    assert_eq!((slot.kind, slot.addend), (Abs64, 0));
    let load = group
        .code_holes
        .iter()
        .find(|h| h.kind == X86_64GotLoadUnrelaxed)
        .expect("a load of the slot");
    assert_eq!(load.addend, i64::from(slot.offset) - 4);
    assert!(group.code_holes.iter().all(|h| h.value != helper()));
    let far = BASE + 0x10_0000_0000;
    let (code, data) = Emission::new(BASE, DATA).with(helper(), far).emit(&group);
    assert_eq!(read_u64(&data, slot.offset as usize), far);
    let at = u64::from(load.offset) - 3;
    assert_eq!(
        instruction(X86, &code, BASE, at),
        format!(
            "movq {:#x}(%rip), %rax # {:#x}",
            DATA + u64::from(slot.offset) - (BASE + at + 7),
            DATA + u64::from(slot.offset)
        )
    );
}
