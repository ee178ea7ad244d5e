//! The bit arithmetic of every hole kind.
//!
//! [`patch`] rewrites the bytes of one hole. It checks bounds, range and
//! alignment before writing anything, so an error leaves the buffer as it
//! was. The encodings follow the Intel SDM (x86), the Arm ARM (A64) and the
//! RISC-V unprivileged ISA.

use core::fmt;

use crate::hole::HoleKind;

mod relax;
mod riscv;

pub use relax::relax_x86_64_got_load;
pub(crate) use relax::{got_load_form, rewrite_got_load};

/// Why a hole could not be patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchError {
    /// The hole's bytes `at..at + width` are not inside the buffer.
    OutOfBounds {
        kind: HoleKind,
        at: usize,
        len: usize,
    },
    /// The value does not fit the hole's field.
    OutOfRange {
        kind: HoleKind,
        location: u64,
        target: u64,
    },
    /// The value is not aligned as the hole's field requires.
    Misaligned {
        kind: HoleKind,
        location: u64,
        target: u64,
    },
    /// The kind's parameter has no encoding (a page offset scale above 4, a
    /// move-wide group above 3).
    InvalidKind { kind: HoleKind },
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PatchError::OutOfBounds { kind, at, len } => write!(
                f,
                "{kind:?} hole at byte {at} needs {} bytes but the buffer has {len}",
                width(kind)
            ),
            PatchError::OutOfRange {
                kind,
                location,
                target,
            } => write!(
                f,
                "{kind:?} hole at {location:#x} cannot reach value {target:#x}"
            ),
            PatchError::Misaligned {
                kind,
                location,
                target,
            } => write!(
                f,
                "{kind:?} hole at {location:#x} needs an aligned value, got {target:#x}"
            ),
            PatchError::InvalidKind { kind } => write!(f, "{kind:?} has no encoding"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PatchError {}

/// Number of bytes a hole of this kind occupies.
pub const fn width(kind: HoleKind) -> usize {
    match kind {
        HoleKind::Abs64 | HoleKind::PcRel64 | HoleKind::Riscv64Call => 8,
        HoleKind::Riscv64CBranch | HoleKind::Riscv64CJump => 2,
        _ => 4,
    }
}

/// Patches the hole of `kind` whose bytes are `buf[at..]`.
///
/// `location` is the address the hole will have when the code runs (`P`),
/// `target` the hole value plus its addend (`S`). A value the field cannot
/// hold is an error, never truncated.
#[inline(always)]
pub fn patch(
    kind: HoleKind,
    buf: &mut [u8],
    at: usize,
    location: u64,
    target: u64,
) -> Result<(), PatchError> {
    let out_of_bounds = PatchError::OutOfBounds {
        kind,
        at,
        len: buf.len(),
    };
    let field = match at.checked_add(width(kind)) {
        Some(end) => buf.get_mut(at..end).ok_or(out_of_bounds)?,
        None => return Err(out_of_bounds),
    };
    let out_of_range = PatchError::OutOfRange {
        kind,
        location,
        target,
    };
    let pc_relative = target.wrapping_sub(location) as i64;
    match kind {
        HoleKind::Abs64 => field.copy_from_slice(&target.to_le_bytes()),
        HoleKind::PcRel64 => field.copy_from_slice(&pc_relative.to_le_bytes()),
        HoleKind::Abs32 => {
            let value = u32::try_from(target).map_err(|_| out_of_range)?;
            field.copy_from_slice(&value.to_le_bytes());
        }
        HoleKind::Abs32Signed => {
            let value = i32::try_from(target as i64).map_err(|_| out_of_range)?;
            field.copy_from_slice(&value.to_le_bytes());
        }
        HoleKind::PcRel32
        | HoleKind::X86Branch32
        | HoleKind::X86_64GotLoad
        | HoleKind::X86_64GotLoadNoRex
        | HoleKind::X86_64GotLoadUnrelaxed => {
            let value = i32::try_from(pc_relative).map_err(|_| out_of_range)?;
            field.copy_from_slice(&value.to_le_bytes());
        }
        HoleKind::Riscv64Hi20
        | HoleKind::Riscv64Lo12I
        | HoleKind::Riscv64Lo12S
        | HoleKind::Riscv64PcRelHi20
        | HoleKind::Riscv64PcRelLo12I
        | HoleKind::Riscv64PcRelLo12S
        | HoleKind::Riscv64Call
        | HoleKind::Riscv64Branch
        | HoleKind::Riscv64Jal
        | HoleKind::Riscv64CBranch
        | HoleKind::Riscv64CJump => riscv::patch(kind, field, location, target)?,
        _ => {
            let (mask, bits) = aarch64_field(kind, location, target, pc_relative)?;
            let old = u32::from_le_bytes([field[0], field[1], field[2], field[3]]);
            field.copy_from_slice(&((old & !mask) | bits).to_le_bytes());
        }
    }
    Ok(())
}

/// The mask of the instruction field an AArch64 hole rewrites and the
/// field's new bits.
#[inline]
fn aarch64_field(
    kind: HoleKind,
    location: u64,
    target: u64,
    pc_relative: i64,
) -> Result<(u32, u32), PatchError> {
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
    // A branch's offset counts instructions: drop the two zero bits, then
    // keep `bits` of the signed word count.
    let branch = |bits: u32| -> Result<u32, PatchError> {
        if pc_relative & 3 != 0 {
            return Err(misaligned);
        }
        signed_field(pc_relative >> 2, bits).ok_or(out_of_range)
    };
    match kind {
        HoleKind::Aarch64Branch26 => Ok((0x03ff_ffff, branch(26)?)),
        HoleKind::Aarch64Branch19 => Ok((0x7_ffff << 5, branch(19)? << 5)),
        HoleKind::Aarch64Branch14 => Ok((0x3fff << 5, branch(14)? << 5)),
        HoleKind::Aarch64AdrpPage21 => {
            let pages = ((target & !0xfff).wrapping_sub(location & !0xfff) as i64) >> 12;
            let imm = signed_field(pages, 21).ok_or(out_of_range)?;
            Ok((ADR_MASK, adr_bits(imm)))
        }
        HoleKind::Aarch64Adr21 => {
            let imm = signed_field(pc_relative, 21).ok_or(out_of_range)?;
            Ok((ADR_MASK, adr_bits(imm)))
        }
        HoleKind::Aarch64PageOffset12 { scale } => {
            if scale > 4 {
                return Err(PatchError::InvalidKind { kind });
            }
            let offset = (target & 0xfff) as u32;
            if offset & ((1 << scale) - 1) != 0 {
                return Err(misaligned);
            }
            Ok((0xfff << 10, (offset >> scale) << 10))
        }
        HoleKind::Aarch64MovWide { group } => {
            if group > 3 {
                return Err(PatchError::InvalidKind { kind });
            }
            let imm16 = ((target >> (16 * u32::from(group))) & 0xffff) as u32;
            Ok((0xffff << 5, imm16 << 5))
        }
        // Not an AArch64 kind: `patch` handles it before coming here.
        _ => Err(PatchError::InvalidKind { kind }),
    }
}

/// `ADR`/`ADRP` split their 21-bit immediate: immlo at bits 29..31, immhi at
/// bits 5..24.
const ADR_MASK: u32 = (0b11 << 29) | (0x7_ffff << 5);

fn adr_bits(imm21: u32) -> u32 {
    ((imm21 & 0b11) << 29) | (((imm21 >> 2) & 0x7_ffff) << 5)
}

/// `value` as a `bits`-wide two's complement field, if it fits.
#[inline]
fn signed_field(value: i64, bits: u32) -> Option<u32> {
    let half = 1i64 << (bits - 1);
    if (-half..half).contains(&value) {
        Some((value as u32) & (((1u64 << bits) - 1) as u32))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_field_bounds() {
        assert_eq!(signed_field(-1, 14), Some(0x3fff));
        assert_eq!(signed_field(8191, 14), Some(0x1fff));
        assert_eq!(signed_field(8192, 14), None);
        assert_eq!(signed_field(-8192, 14), Some(0x2000));
        assert_eq!(signed_field(-8193, 14), None);
    }

    #[test]
    fn adr_bits_split_the_immediate() {
        assert_eq!(adr_bits(0b1_0110), (0b10 << 29) | (0b101 << 5));
    }

    #[test]
    fn non_aarch64_kind_has_no_field() {
        assert_eq!(
            aarch64_field(HoleKind::Abs64, 0, 0, 0),
            Err(PatchError::InvalidKind {
                kind: HoleKind::Abs64
            })
        );
    }
}
