//! Which targets a hole can encode at all: the ranges and alignments of the
//! instruction set manuals, to tell a justified refusal from a wrong one.

use runtime::{Arch, HoleKind};

/// Whether `value` is a `bits`-wide two's complement number.
fn fits_signed(value: i128, bits: u32) -> bool {
    let half = 1i128 << (bits - 1);
    (-half..half).contains(&value)
}

/// Whether a hole of `kind` at `location` can be patched to reach `target`
/// (for GOT loads: without relaxing the instruction).
pub fn reaches(kind: HoleKind, arch: Arch, location: u64, target: u64) -> bool {
    let relative = i128::from(target.wrapping_sub(location) as i64);
    let absolute = i128::from(target as i64);
    // LUI/AUIPC + a sign-extended 12-bit low part reach a sign-extended
    // 32-bit value.
    let pair = |value: i128| fits_signed(value + 0x800, 32);
    let even = |bits: u32| relative % 2 == 0 && fits_signed(relative, bits);
    let words = |bits: u32| relative % 4 == 0 && fits_signed(relative >> 2, bits);
    let is_32_bit = |address: u64| matches!(address >> 32, 0 | 0xFFFF_FFFF);
    match kind {
        HoleKind::Abs64 | HoleKind::PcRel64 => true,
        HoleKind::Abs32 => target >> 32 == 0,
        HoleKind::Abs32Signed => fits_signed(absolute, 32),
        HoleKind::PcRel32 | HoleKind::X86Branch32 if arch == Arch::I686 => {
            (location >> 32 == 0 && is_32_bit(target)) || fits_signed(relative, 32)
        }
        HoleKind::PcRel32
        | HoleKind::X86Branch32
        | HoleKind::X86_64GotLoad
        | HoleKind::X86_64GotLoadNoRex
        | HoleKind::X86_64GotLoadUnrelaxed => fits_signed(relative, 32),
        HoleKind::Aarch64Branch26 => words(26),
        HoleKind::Aarch64Branch19 => words(19),
        HoleKind::Aarch64Branch14 => words(14),
        HoleKind::Aarch64AdrpPage21 => {
            let pages = i128::from((target & !0xFFF).wrapping_sub(location & !0xFFF) as i64);
            fits_signed(pages >> 12, 21)
        }
        HoleKind::Aarch64Adr21 => fits_signed(relative, 21),
        HoleKind::Aarch64PageOffset12 { scale } => scale <= 4 && target & ((1 << scale) - 1) == 0,
        HoleKind::Aarch64MovWide { group } => group <= 3,
        HoleKind::Riscv64Hi20 | HoleKind::Riscv64Lo12I | HoleKind::Riscv64Lo12S => pair(absolute),
        HoleKind::Riscv64PcRelHi20
        | HoleKind::Riscv64PcRelLo12I
        | HoleKind::Riscv64PcRelLo12S
        | HoleKind::Riscv64Call => pair(relative),
        HoleKind::Riscv64Branch => even(13),
        HoleKind::Riscv64Jal => even(21),
        HoleKind::Riscv64CBranch => even(9),
        HoleKind::Riscv64CJump => even(12),
    }
}
