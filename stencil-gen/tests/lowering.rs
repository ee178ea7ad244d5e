//! Lowering of whole objects: golden tests of C stencils written against
//! the stencil ABI (rendered with `inspect`), the layout rules (code and
//! data sections, GOT, trailing jump) on hand-written assembly, and errors
//! on bad input.
//!
//! `UPDATE_GOLDEN=1 cargo test -p stencil-gen --test lowering` rewrites the
//! golden files under `tests/fixtures/`.

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

use std::path::{Path, PathBuf};
use std::process::Command;

use runtime::HoleKind::*;
use stencil_gen::inspect::inspect;
use stencil_gen::lower::{hole_size, lower};
use stencil_gen::model::{Hole, StencilGroup, Value};
use stencil_gen::obj::{self, SectionKind};
use stencil_gen::target::{
    Format, Target, AARCH64_APPLE, AARCH64_LINUX, ALL, X86_64_APPLE, X86_64_LINUX, X86_64_WINDOWS,
};

const CLANG: &str = "/usr/bin/clang-19";

const X86: &Target = &X86_64_LINUX;
const A64: &Target = &AARCH64_LINUX;

/// The flags every stencil is compiled with, before the target's own.
const STENCIL_FLAGS: &[&str] = &[
    "-O3",
    "-ffreestanding",
    "-nostdlibinc",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fno-stack-protector",
    "-fno-builtin",
    "-fno-jump-tables",
    "-fno-common",
    "-std=c11",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Run clang-19 on `input` for `target` with `flags`; the object's bytes.
fn clang(target: &Target, flags: &[&str], input: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let output = dir.path().join("out.o");
    let result = Command::new(CLANG)
        .arg("-c")
        .arg(format!("--target={}", target.clang_triple))
        .args(flags)
        .arg("-I")
        .arg(fixtures())
        .arg(input)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("run clang-19");
    assert!(
        result.status.success(),
        "clang-19 failed on {}: {}",
        input.display(),
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::read(&output).expect("read object")
}

/// Compile the C stencil `tests/fixtures/<name>.c` as the generator does.
fn compile_stencil(target: &Target, name: &str, extra: &[&str]) -> Vec<u8> {
    let mut flags = STENCIL_FLAGS.to_vec();
    flags.extend_from_slice(target.clang_flags);
    flags.extend_from_slice(extra);
    clang(target, &flags, &fixtures().join(format!("{name}.c")))
}

fn assemble(target: &Target, source: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let input = dir.path().join("stencil.s");
    std::fs::write(&input, source).expect("write assembly");
    clang(target, &[], &input)
}

fn lower_asm(target: &Target, source: &str) -> StencilGroup {
    lower(
        &assemble(target, source),
        target,
        "test_uop",
        reference_values(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Compare `actual` with `tests/fixtures/<file>`, or rewrite the file when
/// `UPDATE_GOLDEN=1`.
fn check_golden(file: &str, actual: &str) {
    let path = fixtures().join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; create it with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the lowering (rerun with UPDATE_GOLDEN=1 to accept):\n\
         --- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Invariants of every stencil: holes sorted, inside their bytes, not
/// overlapping; GOT slots unique.
fn check_invariants(group: &StencilGroup) {
    for (holes, bytes) in [
        (&group.code_holes, &group.code),
        (&group.data_holes, &group.data),
    ] {
        for pair in holes.windows(2) {
            assert!(
                u64::from(pair[0].offset) + hole_size(pair[0].kind) <= u64::from(pair[1].offset),
                "holes overlap or are unsorted: {pair:?}"
            );
        }
        for hole in holes.iter() {
            assert!(u64::from(hole.offset) + hole_size(hole.kind) <= bytes.len() as u64);
        }
    }
    let slots: Vec<_> = got_slots(group).collect();
    let mut unique = slots.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(slots.len(), unique.len(), "duplicate GOT slots: {slots:?}");
    assert!(group.data_align.is_power_of_two());
}

/// What each 8-byte pointer slot holds: the data holes of the GOT slots at
/// the end of the data, and of COFF's `.refptr` slots.
fn got_slots(group: &StencilGroup) -> impl Iterator<Item = (Value, i64)> + '_ {
    group
        .data_holes
        .iter()
        .filter(|h| h.kind == Abs64 && h.offset % 8 == 0)
        .map(|h| (h.value.clone(), h.addend))
}

/// Lower the C stencil `name` for every target, compare with the golden
/// renderings, and hand each stencil to `check`.
fn golden_stencil(name: &str, check: impl Fn(&Target, &StencilGroup)) {
    for target in ALL {
        let object = compile_stencil(target, name, &[]);
        let group =
            lower(&object, target, name, reference_values()).unwrap_or_else(|e| panic!("{e}"));
        check_invariants(&group);
        check(target, &group);
        let rendered =
            inspect(&object, target, name, reference_values()).unwrap_or_else(|e| panic!("{e}"));
        check_golden(&format!("{name}.{}.txt", target.short), &rendered);
    }
}

fn code_holes_with(group: &StencilGroup, value: &Value) -> Vec<Hole> {
    group
        .code_holes
        .iter()
        .filter(|h| h.value == *value)
        .cloned()
        .collect()
}

// ------------------------------------------------------------ golden tests

#[test]
fn golden_scale_add() {
    golden_stencil("scale_add", |target, group| {
        assert!(group.trailing_jump_removed);
        assert!(code_holes_with(group, &Value::Continue).is_empty());
        // One 8-byte slot per value, after the (empty) read-only data: GOT
        // slots, or COFF's `.refptr` slots in read-only data. The i686 oparg
        // slot takes 4 bytes; its operand is read from a GOT slot.
        let slots: Vec<_> = got_slots(group).collect();
        if target.arch == runtime::Arch::I686 {
            assert_eq!(slots, [(Value::OpValue("operand".into()), 0)]);
        } else {
            assert_eq!(
                slots,
                [
                    (Value::OpValue("oparg".into()), 0),
                    (Value::OpValue("operand".into()), 0)
                ]
            );
        }
        assert_eq!(group.data.len(), 16);
        assert_eq!(group.data_align, 8);
        let got_holes = code_holes_with(group, &Value::Data);
        let kinds: Vec<_> = got_holes.iter().map(|h| h.kind).collect();
        match (target.arch, target.format) {
            // `movl` of the oparg has no REX prefix, `addq` of the operand
            // has one.
            (runtime::Arch::X86_64, Format::Elf) => {
                assert_eq!(kinds, [X86_64GotLoadNoRex, X86_64GotLoad]);
            }
            // Mach-O: plain GOT references (`X86_64_RELOC_GOT`), which
            // promise no REX prefix: the `addq` of the operand has one, so
            // only the `movl` of the oparg may be relaxed.
            (runtime::Arch::X86_64, Format::MachO) => {
                assert_eq!(kinds, [X86_64GotLoadNoRex, X86_64GotLoadUnrelaxed]);
            }
            (runtime::Arch::X86_64, _) => assert_eq!(kinds, [PcRel32, PcRel32]),
            // ADRP and LDR per value, both pointing at the same slot.
            (runtime::Arch::Aarch64, _) => {
                assert_eq!(got_holes.len(), 4);
                assert_eq!(got_holes[0].addend, got_holes[1].addend);
                assert_eq!(got_holes[2].addend, got_holes[3].addend);
            }
            // The oparg's slot, then the 8-byte operand as the two 4-byte
            // halves of its slot.
            (runtime::Arch::I686, _) => {
                let addends: Vec<i64> = got_holes.iter().map(|h| h.addend).collect();
                assert_eq!(addends, [0, 8, 12]);
                assert!(kinds.iter().all(|k| *k == Abs32), "{kinds:?}");
            }
            // AUIPC and its load per value, the load's addend 4 bytes on.
            (runtime::Arch::Riscv64, _) => {
                assert_eq!(kinds.len(), 4);
                for pair in got_holes.chunks(2) {
                    assert_eq!(pair[0].kind, Riscv64PcRelHi20);
                    assert_eq!(pair[1].kind, Riscv64PcRelLo12I);
                    assert_eq!(
                        pair[1].addend - pair[0].addend,
                        i64::from(pair[1].offset - pair[0].offset)
                    );
                }
            }
        }
    });
}

#[test]
fn golden_call_helper() {
    golden_stencil("call_helper", |target, group| {
        assert!(group.trailing_jump_removed);
        let slots: Vec<_> = got_slots(group).collect();
        let helper = Value::Symbol("vm_helper_pow".into());
        if target.format == Format::Elf && target.arch != runtime::Arch::Riscv64 {
            // `-fno-plt`: called through a GOT slot.
            assert_eq!(slots, [(helper, 0)]);
        } else {
            // Called directly (a trampoline when out of reach).
            assert!(slots.is_empty(), "{slots:?}");
            assert_eq!(code_holes_with(group, &helper).len(), 1);
        }
    });
}

#[test]
fn golden_float_const() {
    golden_stencil("float_const", |target, group| {
        assert!(group.trailing_jump_removed);
        assert!(group.data_holes.is_empty());
        if target.format == Format::MachO && target.arch == runtime::Arch::Aarch64 {
            // Both constants built in registers.
            assert!(group.data.is_empty());
            assert!(group.code_holes.is_empty());
            return;
        }
        // Both constants in read-only data, no GOT.
        let constants: Vec<f64> = group
            .data
            .chunks(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(constants.len(), 2);
        assert!(constants.contains(&1.2345678901));
        assert!(constants.contains(&0.987654321));
        assert!(group.code_holes.iter().all(|h| h.value == Value::Data));
    });
}

#[test]
fn golden_branch_if() {
    golden_stencil("branch_if", |target, group| {
        assert_eq!(code_holes_with(group, &Value::JumpTarget).len(), 1);
        let slots: Vec<_> = got_slots(group).collect();
        if target.arch == runtime::Arch::I686 {
            // A 4-byte `.refptr` slot.
            assert!(slots.is_empty(), "{slots:?}");
            assert_eq!(
                group.data_holes,
                [hole(0, Abs32, Value::OpValue("deopt_target".into()), 0)]
            );
        } else {
            assert_eq!(slots, [(Value::OpValue("deopt_target".into()), 0)]);
        }
        // Where clang ends the stencil with the jump to the continuation
        // it is removed; where it ends with the deopt path it stays.
        assert_eq!(
            code_holes_with(group, &Value::Continue).len(),
            usize::from(!group.trailing_jump_removed)
        );
    });
}

#[test]
fn inspect_foreign_object() {
    // An ordinary C file, not a stencil: no `_JIT_ENTRY`, a direct call to
    // memcpy, a table in read-only data.
    for target in ALL {
        // RISC-V objects are only read without linker relaxation.
        let mut flags = vec!["-O2"];
        if target.arch == runtime::Arch::Riscv64 {
            flags.extend_from_slice(target.clang_flags);
        }
        let object = clang(target, &flags, &fixtures().join("foreign.c"));
        let group = lower(&object, target, "copy_points", reference_values())
            .unwrap_or_else(|e| panic!("{e}"));
        check_invariants(&group);
        assert!(!group.trailing_jump_removed);
        let memcpy = Value::Symbol("memcpy".into());
        assert_eq!(code_holes_with(&group, &memcpy).len(), 1);
        assert_eq!(group.data.len(), 32);
        let rendered = inspect(&object, target, "copy_points", reference_values())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(rendered.contains("symbol memcpy"), "{rendered}");
        check_golden(&format!("foreign.{}.txt", target.short), &rendered);
    }
}

// ------------------------------------------------------------ layout rules

#[test]
fn x86_64_trailing_jump_removed() {
    let group = lower_asm(X86, "movq %rax, %rbx\njmp _JIT_CONTINUE\n");
    assert!(group.trailing_jump_removed);
    assert_eq!(group.code, [0x48, 0x89, 0xc3]);
    assert!(group.code_holes.is_empty());
}

#[test]
fn aarch64_trailing_jump_removed() {
    let group = lower_asm(A64, "mov x1, x2\nb _JIT_CONTINUE\n");
    assert!(group.trailing_jump_removed);
    assert_eq!(group.code, 0xaa0203e1u32.to_le_bytes());
    assert!(group.code_holes.is_empty());
}

#[test]
fn trailing_jump_elsewhere_is_kept() {
    // Not last.
    let group = lower_asm(A64, "b _JIT_CONTINUE\nret\n");
    assert!(!group.trailing_jump_removed);
    assert_eq!(group.code.len(), 8);
    // Last, but to the jump target.
    let group = lower_asm(X86, "nop\njmp _JIT_JUMP_TARGET\n");
    assert!(!group.trailing_jump_removed);
    assert_eq!(group.code.len(), 6);
    // A conditional branch to the continuation is no jump to drop.
    let group = lower_asm(A64, "nop\nb.eq _JIT_CONTINUE\n");
    assert!(!group.trailing_jump_removed);
    assert_eq!(group.code_holes.len(), 1);
}

#[test]
fn trailing_jump_referred_to_is_kept() {
    // Data holds the address of the jump: removing it would leave that
    // address pointing past the code.
    let group = lower_asm(A64, "nop\n.Ljump:\nb _JIT_CONTINUE\n.data\n.xword .Ljump\n");
    assert!(!group.trailing_jump_removed);
    assert_eq!(group.code.len(), 8);
    assert_eq!(group.data_holes, [hole(0, Abs64, Value::Code, 4)]);
}

#[test]
fn code_sections_are_concatenated_in_order_and_aligned() {
    let group = lower_asm(
        X86,
        ".globl _JIT_ENTRY\n_JIT_ENTRY:\ntestq %rax, %rax\njne .Lcold\nretq\n\
         .section .text.cold,\"ax\",@progbits\n.p2align 4\n.Lcold:\ncallq helper\nud2\n",
    );
    // .text: 3 + 6 + 1 bytes, padded with int3 to 16, then .text.cold.
    assert_eq!(group.code.len(), 16 + 5 + 2);
    assert!(group.code[10..16].iter().all(|&b| b == 0xcc));
    assert_eq!(
        group.code_holes,
        [
            hole(5, X86Branch32, Value::Code, 16 - 4),
            hole(17, X86Branch32, Value::Symbol("helper".into()), -4),
        ]
    );
}

#[test]
fn data_sections_are_concatenated_with_bss_as_zeros() {
    let group = lower_asm(
        A64,
        "adrp x0, .Lcounter\nldr x1, [x0, :lo12:.Lcounter]\nret\n\
         .section .rodata\n.byte 1, 2, 3\n\
         .data\n.p2align 2\n.word 0x11223344\n\
         .bss\n.p2align 4\n.Lcounter:\n.zero 8\n",
    );
    assert_eq!(
        group.data,
        [1, 2, 3, 0, 0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(group.data_align, 16);
    assert_eq!(
        group.code_holes,
        [
            hole(0, Aarch64AdrpPage21, Value::Data, 16),
            hole(4, Aarch64PageOffset12 { scale: 3 }, Value::Data, 16),
        ]
    );
}

#[test]
fn x86_64_got_slots_are_deduplicated() {
    let group = lower_asm(
        X86,
        "movq helper@GOTPCREL(%rip), %rax\n\
         callq *helper@GOTPCREL(%rip)\n\
         movq _JIT_OPARG@GOTPCREL(%rip), %rcx\n\
         addq helper@GOTPCREL(%rip), %rdx\n\
         retq\n\
         .section .rodata\n.byte 9\n",
    );
    // One byte of .rodata, then the GOT from offset 8.
    assert_eq!(group.data.len(), 24);
    assert_eq!(
        group.data_holes,
        [
            hole(8, Abs64, Value::Symbol("helper".into()), 0),
            hole(16, Abs64, Value::OpValue("oparg".into()), 0),
        ]
    );
    let addends: Vec<i64> = group.code_holes.iter().map(|h| h.addend).collect();
    assert_eq!(addends, [4, 4, 12, 4]);
    // The kind follows the relocation: the `call` has no REX prefix.
    let kinds: Vec<_> = group.code_holes.iter().map(|h| h.kind).collect();
    assert_eq!(
        kinds,
        [
            X86_64GotLoad,
            X86_64GotLoadNoRex,
            X86_64GotLoad,
            X86_64GotLoad
        ]
    );
    assert!(group.code_holes.iter().all(|h| h.value == Value::Data));
}

#[test]
fn unwind_tables_are_ignored() {
    let seh = |body: &str| format!(".globl f\nf:\n.seh_proc f\n{body}\n.seh_endproc\n");
    let cases = [
        (
            X86,
            "callq helper\nretq".to_string(),
            cfi("callq helper\nretq"),
            ".eh_frame",
        ),
        (
            A64,
            "bl helper\nret".to_string(),
            cfi("bl helper\nret"),
            ".eh_frame",
        ),
        (
            &X86_64_APPLE,
            "pushq %rax\ncallq _helper\npopq %rax\nretq".to_string(),
            cfi("pushq %rax\n.cfi_def_cfa_offset 16\ncallq _helper\npopq %rax\nretq"),
            "__TEXT,__eh_frame",
        ),
        (
            &AARCH64_APPLE,
            "bl _helper\nret".to_string(),
            cfi("bl _helper\nret"),
            "__LD,__compact_unwind",
        ),
        (
            &X86_64_WINDOWS,
            ".globl f\nf:\npushq %rax\ncallq helper\npopq %rax\nretq".to_string(),
            seh("pushq %rax\n.seh_stackalloc 8\n.seh_endprologue\ncallq helper\npopq %rax\nretq"),
            ".pdata",
        ),
    ];
    for (target, plain, unwind, table) in cases {
        let plain = assemble(target, &format!("{plain}\n"));
        let unwind = assemble(target, &unwind);
        let file = obj::read(&unwind).expect("read object");
        let section = file
            .sections
            .iter()
            .find(|s| s.name == table)
            .unwrap_or_else(|| panic!("no {table} for {}", target.triple));
        // It refers to the code, but is no part of the stencil: neither its
        // bytes nor its relocations are read.
        assert_eq!(section.kind, SectionKind::Other);
        assert!(section.relocations.is_empty() && section.data.is_empty());
        let lowered = lower(&unwind, target, "call", reference_values()).unwrap();
        assert!(lowered.data.is_empty(), "{}", target.triple);
        assert_eq!(
            lowered,
            lower(&plain, target, "call", reference_values()).unwrap()
        );
    }
}

/// `body` as a function with call frame information.
fn cfi(body: &str) -> String {
    format!(".cfi_startproc\n{body}\n.cfi_endproc\n")
}

// ------------------------------------------------------------------ errors

#[test]
fn entry_must_start_the_code() {
    let object = assemble(X86, "nop\n.globl _JIT_ENTRY\n_JIT_ENTRY:\nretq\n");
    assert_eq!(
        lower(&object, X86, "late_entry", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `late_entry` (x86_64-unknown-linux-gnu): entry symbol `_JIT_ENTRY` \
         must be at code offset 0, but it is at code offset 0x1"
    );
    let object = assemble(
        A64,
        "ret\n.data\n.globl _JIT_ENTRY\n_JIT_ENTRY:\n.xword 0\n",
    );
    assert_eq!(
        lower(&object, A64, "data_entry", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `data_entry` (aarch64-unknown-linux-gnu): entry symbol `_JIT_ENTRY` \
         must be at code offset 0, but it is in section .data"
    );
}

#[test]
fn relocation_to_a_section_outside_the_stencil_is_an_error() {
    let object = assemble(
        A64,
        "ret\n.section .notes_of_mine,\"\",@progbits\n.Lnote:\n.byte 1\n\
         .data\n.xword .Lnote\n",
    );
    assert_eq!(
        lower(&object, A64, "bad_ref", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `bad_ref` (aarch64-unknown-linux-gnu): relocation R_AARCH64_ABS64 in .data \
         at offset 0x0 refers to section .notes_of_mine, which is not part of the stencil"
    );
}

#[test]
fn object_for_another_architecture_is_an_error() {
    let object = assemble(A64, "ret\n");
    assert_eq!(
        lower(&object, X86, "ret", reference_values()).unwrap_err().to_string(),
        "uop `ret` (x86_64-unknown-linux-gnu): this is ELF/AArch64, the target x86_64-unknown-linux-gnu needs ELF/x86-64"
    );
}

#[test]
fn unreadable_input_is_an_error() {
    let error = lower(
        b"definitely not an object file",
        A64,
        "junk",
        reference_values(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("uop `junk` (aarch64-unknown-linux-gnu): not a readable object file: "),
        "{error}"
    );
    // A truncated object is reported too, never a panic.
    let object = assemble(A64, "ret\n");
    for len in [16, 64, object.len() / 2, object.len() - 1] {
        assert!(lower(&object[..len], A64, "cut", reference_values()).is_err());
    }
}

#[test]
fn object_in_another_format_is_an_error() {
    let object = assemble(&AARCH64_APPLE, "ret\n");
    assert_eq!(
        lower(&object, A64, "ret", reference_values()).unwrap_err().to_string(),
        "uop `ret` (aarch64-unknown-linux-gnu): this is Mach-O/AArch64, the target aarch64-unknown-linux-gnu needs ELF/AArch64"
    );
    let object = assemble(&X86_64_WINDOWS, "retq\n");
    assert_eq!(
        lower(&object, &X86_64_APPLE, "ret", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `ret` (x86_64-apple-darwin): this is COFF/x86-64, the target x86_64-apple-darwin needs Mach-O/x86-64"
    );
}

#[test]
fn common_symbol_is_an_error() {
    let object = assemble(
        X86,
        "movq buffer@GOTPCREL(%rip), %rax\nretq\n.comm buffer, 8, 8\n",
    );
    assert_eq!(
        lower(&object, X86, "common", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `common` (x86_64-unknown-linux-gnu): relocation R_X86_64_REX_GOTPCRELX in .text \
         at offset 0x3 refers to common symbol `buffer` (compile with -fno-common)"
    );
}

/// File offset of the header of the section named `name` in a 64-bit
/// little-endian ELF file.
fn section_header(object: &[u8], name: &str) -> usize {
    use object::{Object, ObjectSection};
    let file = object::File::parse(object).expect("parse object");
    let index = file.section_by_name(name).expect("section").index().0;
    let shoff = u64::from_le_bytes(object[0x28..0x30].try_into().unwrap()) as usize;
    let shentsize = u16::from_le_bytes(object[0x3a..0x3c].try_into().unwrap()) as usize;
    shoff + index * shentsize
}

#[test]
fn relocation_outside_its_section_is_an_error() {
    let mut object = assemble(X86, "nop\ncallq helper\n");
    // Move the first relocation of .text (its r_offset) past the end.
    let header = section_header(&object, ".rela.text");
    let rela =
        u64::from_le_bytes(object[header + 0x18..header + 0x20].try_into().unwrap()) as usize;
    object[rela..rela + 8].copy_from_slice(&0x1000u64.to_le_bytes());
    assert_eq!(
        lower(&object, X86, "bad_offset", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `bad_offset` (x86_64-unknown-linux-gnu): relocation R_X86_64_PLT32 in .text \
         at offset 0x1000 lies outside the section"
    );
}

#[test]
fn bad_section_alignment_is_an_error() {
    let mut object = assemble(A64, "ret\n");
    let header = section_header(&object, ".text");
    object[header + 0x30..header + 0x38].copy_from_slice(&12u64.to_le_bytes());
    assert_eq!(
        lower(&object, A64, "odd_align", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `odd_align` (aarch64-unknown-linux-gnu): section .text has alignment 12, \
         not a power of two up to 65536"
    );
}

#[test]
fn huge_zero_filled_section_is_an_error() {
    let mut object = assemble(A64, "ret\n.bss\n.zero 16\n");
    let header = section_header(&object, ".bss");
    object[header + 0x20..header + 0x28].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_eq!(
        lower(&object, A64, "big_bss", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `big_bss` (aarch64-unknown-linux-gnu): section .bss brings the stencil \
         over 67108864 bytes"
    );
}

#[test]
fn corrupted_objects_never_panic() {
    // Random byte changes to real stencils: lowering and inspecting must
    // return, with a stencil or an error.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    for target in ALL {
        let original = compile_stencil(target, "scale_add", &[]);
        for _ in 0..1500 {
            let mut object = original.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % object.len() as u64) as usize;
                object[at] = next() as u8;
            }
            let lowered = lower(&object, target, "mutant", reference_values());
            errors += usize::from(lowered.is_err());
            assert_eq!(
                lowered.is_ok(),
                inspect(&object, target, "mutant", reference_values()).is_ok()
            );
        }
    }
    // Some mutations must have hit headers, tables or relocations.
    assert!(errors > 0);
}

fn hole(offset: u32, kind: runtime::HoleKind, value: Value, addend: i64) -> Hole {
    Hole {
        offset,
        kind,
        value,
        addend,
    }
}

#[test]
fn an_undeclared_value_symbol_is_kept_apart_from_helpers() {
    let group = lower(
        &assemble(X86, "movabsq $_JIT_EXECUTOR, %rax\ncallq helper\nretq\n"),
        X86,
        "peek",
        reference_values(),
    )
    .unwrap();
    assert_eq!(
        group.code_holes[0].value,
        Value::Undeclared("_JIT_EXECUTOR".into())
    );
    assert_eq!(group.code_holes[1].value, Value::Symbol("helper".into()));
    let error = stencil_gen::lower::require_declared(group, X86).unwrap_err();
    assert_eq!(
        error.to_string(),
        "uop `peek` (x86_64-unknown-linux-gnu): `_JIT_EXECUTOR` is not a hole value the ABI \
         declares; declare it in the `abi` item (`value executor: u64 per_op;` or `per_trace`), \
         or give the symbol another name"
    );
    // Declared values and the built-in ones are recognised.
    let group = lower(
        &assemble(X86, "movabsq $_JIT_OPERAND, %rax\njmp _JIT_JUMP_TARGET\n"),
        X86,
        "known",
        reference_values(),
    )
    .unwrap();
    assert_eq!(group.code_holes[0].value, Value::OpValue("operand".into()));
    assert_eq!(group.code_holes[1].value, Value::JumpTarget);
}
