//! Inputs the `object` fuzz target found (see CI.md, "Fuzzing"), rebuilt
//! with the assembler so that each says what is wrong with it.

#[path = "support/abi.rs"]
mod abi_support;
#[path = "formats/harness.rs"]
mod harness;

use abi_support::reference_values;

use stencil_gen::lower::{hole_size, lower};
use stencil_gen::model::Hole;
use stencil_gen::target::RISCV64_LINUX;

/// Offsets of holes that share bytes with the hole before them.
fn overlapping(holes: &[Hole]) -> Vec<u32> {
    holes
        .windows(2)
        .filter(|pair| {
            u64::from(pair[0].offset) + hole_size(pair[0].kind) > u64::from(pair[1].offset)
        })
        .map(|pair| pair[1].offset)
        .collect()
}

/// Lowering `source` (RISC-V assembly) fails, naming the overlapping
/// relocation at `offset`: two relocations that rewrite the same bytes,
/// each its own field, make an instruction that means neither.
fn assert_refused(source: &str, offset: u32) {
    let object = harness::assemble(&RISCV64_LINUX, source);
    match lower(&object, &RISCV64_LINUX, "overlap", reference_values()) {
        Ok(group) => panic!(
            "lowered to holes that overlap at {:?}: {:?}",
            overlapping(&group.code_holes),
            group.code_holes
        ),
        Err(error) => {
            let text = error.to_string();
            assert!(text.contains(&format!("offset {offset:#x}")), "{text}");
            assert!(text.contains("overlap"), "{text}");
        }
    }
}

/// The fuzzer's object had the `R_RISCV_PCREL_LO12_I` of a `ld` moved onto
/// the `auipc` it pairs with: both holes at code offset 0.
#[test]
fn overlapping_relocations_are_refused() {
    assert_refused(
        r#"
    .text
    .globl _JIT_ENTRY
_JIT_ENTRY:
.Lpcrel_hi0:
    auipc a0, %got_pcrel_hi(_JIT_OPARG)
    .reloc .Lpcrel_hi0, R_RISCV_PCREL_LO12_I, .Lpcrel_hi0
    ld a0, 0(a0)
    ret
"#,
        0,
    );
}

/// The fuzzer's object had an `R_RISCV_GOT_HI20` moved to 3 bytes before
/// the `%pcrel_lo` that pairs with it: the 4-byte holes share bytes. Here
/// the high part is at offset 4 (after a compressed `nop` and 2 bytes into
/// the `auipc`) and the low part, pointing at it, at 6.
#[test]
fn partly_overlapping_relocations_are_refused() {
    assert_refused(
        r#"
    .text
    .globl _JIT_ENTRY
_JIT_ENTRY:
    nop
.Lhi:
    auipc a0, 0
    .reloc .Lhi+2, R_RISCV_GOT_HI20, _JIT_OPARG
.Llo:
    ld a0, 0(a0)
    .reloc .Llo, R_RISCV_PCREL_LO12_I, .Lodd
    ret
    .set .Lodd, .Lhi+2
"#,
        6,
    );
}
