//! The bit arithmetic of the RISC-V hole kinds (the RISC-V unprivileged
//! ISA's base and compressed instruction formats).
//!
//! A 32-bit value reaches an instruction in two parts: a high part of 20
//! bits (`LUI`/`AUIPC`) and a low part of 12 bits that the second
//! instruction sign-extends. The high part is rounded (`+ 0x800`) so that
//! `(hi << 12) + sign_extend(lo)` is the value again.

use super::{signed_field, PatchError};
use crate::hole::HoleKind;

/// U-type immediate (`LUI`, `AUIPC`): bits 12..32.
const U_MASK: u32 = 0xFFFF_F000;
/// I-type immediate: bits 20..32.
const I_MASK: u32 = 0xFFF0_0000;
/// S-type and B-type immediates: bits 25..32 and 7..12.
const S_MASK: u32 = 0xFE00_0F80;
/// J-type immediate: bits 12..32.
const J_MASK: u32 = 0xFFFF_F000;
/// CB-format offset (`C.BEQZ`, `C.BNEZ`): bits 10..13 and 2..7.
const CB_MASK: u16 = 0x1C7C;
/// CJ-format offset (`C.J`): bits 2..13.
const CJ_MASK: u16 = 0x1FFC;

/// Patches a RISC-V hole of `kind` whose bytes are `field` (exactly
/// [`super::width`] of them). Writes nothing on error.
#[inline]
pub(super) fn patch(
    kind: HoleKind,
    field: &mut [u8],
    location: u64,
    target: u64,
) -> Result<(), PatchError> {
    let out_of_range = PatchError::OutOfRange {
        kind,
        location,
        target,
    };
    let misaligned = PatchError::Misaligned {
        kind,
        location,
        target,
    };
    let pc_relative = target.wrapping_sub(location) as i64;
    // The 20-bit high part of a 32-bit value, rounded for the signed low
    // part; the value must be a sign-extended 32-bit number once rounded.
    let hi20 = |value: i64| -> Result<u32, PatchError> {
        signed_field(value.wrapping_add(0x800) >> 12, 20).ok_or(out_of_range)
    };
    // A branch offset: even, and a `bits`-wide signed number.
    let offset = |bits: u32| -> Result<u32, PatchError> {
        if pc_relative & 1 != 0 {
            return Err(misaligned);
        }
        signed_field(pc_relative, bits).ok_or(out_of_range)
    };
    let (mask, bits) = match kind {
        HoleKind::Riscv64Hi20 => (U_MASK, hi20(target as i64)? << 12),
        // The low part belongs to a high part that must reach the value
        // too: checking here makes a pair fail as one.
        HoleKind::Riscv64Lo12I => {
            hi20(target as i64)?;
            (I_MASK, i_bits(target as u32))
        }
        HoleKind::Riscv64Lo12S => {
            hi20(target as i64)?;
            (S_MASK, s_bits(target as u32))
        }
        HoleKind::Riscv64PcRelHi20 => (U_MASK, hi20(pc_relative)? << 12),
        HoleKind::Riscv64PcRelLo12I => {
            hi20(pc_relative)?;
            (I_MASK, i_bits(pc_relative as u32))
        }
        HoleKind::Riscv64PcRelLo12S => {
            hi20(pc_relative)?;
            (S_MASK, s_bits(pc_relative as u32))
        }
        HoleKind::Riscv64Call => {
            // `AUIPC` then `JALR`: two words, written together.
            let hi = hi20(pc_relative)? << 12;
            let lo = i_bits(pc_relative as u32);
            let auipc = rewrite(word(&field[..4]), U_MASK, hi);
            let jalr = rewrite(word(&field[4..8]), I_MASK, lo);
            field[..4].copy_from_slice(&auipc.to_le_bytes());
            field[4..8].copy_from_slice(&jalr.to_le_bytes());
            return Ok(());
        }
        HoleKind::Riscv64Branch => (S_MASK, b_bits(offset(13)?)),
        HoleKind::Riscv64Jal => (J_MASK, j_bits(offset(21)?)),
        HoleKind::Riscv64CBranch | HoleKind::Riscv64CJump => {
            let (mask, bits) = if kind == HoleKind::Riscv64CBranch {
                (CB_MASK, cb_bits(offset(9)?))
            } else {
                (CJ_MASK, cj_bits(offset(12)?))
            };
            let old = u16::from_le_bytes([field[0], field[1]]);
            field.copy_from_slice(&((old & !mask) | bits).to_le_bytes());
            return Ok(());
        }
        _ => return Err(PatchError::InvalidKind { kind }),
    };
    field.copy_from_slice(&rewrite(word(field), mask, bits).to_le_bytes());
    Ok(())
}

#[inline]
fn word(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[inline]
fn rewrite(old: u32, mask: u32, bits: u32) -> u32 {
    (old & !mask) | bits
}

/// Bit `from` of `value` moved to bit `to` (`len` bits).
#[inline]
const fn bits(value: u32, from: u32, len: u32, to: u32) -> u32 {
    ((value >> from) & ((1 << len) - 1)) << to
}

/// I-type: imm[11:0] at 20..32.
#[inline]
fn i_bits(imm: u32) -> u32 {
    bits(imm, 0, 12, 20)
}

/// S-type: imm[11:5] at 25..32, imm[4:0] at 7..12.
#[inline]
fn s_bits(imm: u32) -> u32 {
    bits(imm, 5, 7, 25) | bits(imm, 0, 5, 7)
}

/// B-type: imm[12] at 31, imm[10:5] at 25..31, imm[4:1] at 8..12,
/// imm[11] at 7.
#[inline]
fn b_bits(imm: u32) -> u32 {
    bits(imm, 12, 1, 31) | bits(imm, 5, 6, 25) | bits(imm, 1, 4, 8) | bits(imm, 11, 1, 7)
}

/// J-type: imm[20] at 31, imm[10:1] at 21..31, imm[11] at 20,
/// imm[19:12] at 12..20.
#[inline]
fn j_bits(imm: u32) -> u32 {
    bits(imm, 20, 1, 31) | bits(imm, 1, 10, 21) | bits(imm, 11, 1, 20) | bits(imm, 12, 8, 12)
}

/// CB format: offset[8] at 12, offset[4:3] at 10..12, offset[7:6] at 5..7,
/// offset[2:1] at 3..5, offset[5] at 2.
#[inline]
fn cb_bits(imm: u32) -> u16 {
    (bits(imm, 8, 1, 12)
        | bits(imm, 3, 2, 10)
        | bits(imm, 6, 2, 5)
        | bits(imm, 1, 2, 3)
        | bits(imm, 5, 1, 2)) as u16
}

/// CJ format: offset[11] at 12, offset[4] at 11, offset[9:8] at 9..11,
/// offset[10] at 8, offset[6] at 7, offset[7] at 6, offset[3:1] at 3..6,
/// offset[5] at 2.
#[inline]
fn cj_bits(imm: u32) -> u16 {
    (bits(imm, 11, 1, 12)
        | bits(imm, 4, 1, 11)
        | bits(imm, 8, 2, 9)
        | bits(imm, 10, 1, 8)
        | bits(imm, 6, 1, 7)
        | bits(imm, 7, 1, 6)
        | bits(imm, 1, 3, 3)
        | bits(imm, 5, 1, 2)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_cover_exactly_the_immediate_bits() {
        assert_eq!(i_bits(u32::MAX), I_MASK);
        assert_eq!(s_bits(u32::MAX), S_MASK);
        assert_eq!(b_bits(0x1FFE), S_MASK);
        assert_eq!(j_bits(0x1F_FFFE), J_MASK);
        assert_eq!(cb_bits(0x1FE), CB_MASK);
        assert_eq!(cj_bits(0xFFE), CJ_MASK);
    }

    #[test]
    fn non_riscv_kind_is_invalid() {
        let mut field = [0; 4];
        assert_eq!(
            patch(HoleKind::Abs32, &mut field, 0, 0),
            Err(PatchError::InvalidKind {
                kind: HoleKind::Abs32
            })
        );
    }
}
