//! Reading a patched hole back: what its bytes say about the `S` it was
//! patched with, and which of its bits patching may change.
//!
//! Written from the instruction set manuals (Intel SDM, Arm ARM A64, RISC-V
//! unprivileged ISA), not from the patcher, so that the two can disagree.

use runtime::{Arch, HoleKind};

/// Number of bytes a hole of `kind` covers.
pub fn width(kind: HoleKind) -> usize {
    match kind {
        HoleKind::Abs64 | HoleKind::PcRel64 | HoleKind::Riscv64Call => 8,
        HoleKind::Riscv64CBranch | HoleKind::Riscv64CJump => 2,
        HoleKind::Abs32
        | HoleKind::Abs32Signed
        | HoleKind::PcRel32
        | HoleKind::X86Branch32
        | HoleKind::X86_64GotLoad
        | HoleKind::X86_64GotLoadNoRex
        | HoleKind::X86_64GotLoadUnrelaxed
        | HoleKind::Aarch64Branch26
        | HoleKind::Aarch64Branch19
        | HoleKind::Aarch64Branch14
        | HoleKind::Aarch64AdrpPage21
        | HoleKind::Aarch64Adr21
        | HoleKind::Aarch64PageOffset12 { .. }
        | HoleKind::Aarch64MovWide { .. }
        | HoleKind::Riscv64Hi20
        | HoleKind::Riscv64Lo12I
        | HoleKind::Riscv64Lo12S
        | HoleKind::Riscv64PcRelHi20
        | HoleKind::Riscv64PcRelLo12I
        | HoleKind::Riscv64PcRelLo12S
        | HoleKind::Riscv64Branch
        | HoleKind::Riscv64Jal => 4,
    }
}

/// The bits of the hole's little-endian bytes (as one number, byte 0 lowest)
/// that patching may change; every other bit keeps the stencil's value.
pub fn field_mask(kind: HoleKind) -> u64 {
    // Immediate fields, by instruction format.
    const U_TYPE: u64 = 0xFFFF_F000;
    const I_TYPE: u64 = 0xFFF0_0000;
    const S_TYPE: u64 = 0xFE00_0F80;
    const ADR: u64 = (0b11 << 29) | (0x7_FFFF << 5);
    match kind {
        HoleKind::Abs64 | HoleKind::PcRel64 => u64::MAX,
        HoleKind::Abs32
        | HoleKind::Abs32Signed
        | HoleKind::PcRel32
        | HoleKind::X86Branch32
        | HoleKind::X86_64GotLoad
        | HoleKind::X86_64GotLoadNoRex
        | HoleKind::X86_64GotLoadUnrelaxed => 0xFFFF_FFFF,
        HoleKind::Aarch64Branch26 => 0x03FF_FFFF,
        HoleKind::Aarch64Branch19 => 0x7_FFFF << 5,
        HoleKind::Aarch64Branch14 => 0x3FFF << 5,
        HoleKind::Aarch64AdrpPage21 | HoleKind::Aarch64Adr21 => ADR,
        HoleKind::Aarch64PageOffset12 { .. } => 0xFFF << 10,
        HoleKind::Aarch64MovWide { .. } => 0xFFFF << 5,
        HoleKind::Riscv64Hi20 | HoleKind::Riscv64PcRelHi20 | HoleKind::Riscv64Jal => U_TYPE,
        HoleKind::Riscv64Lo12I | HoleKind::Riscv64PcRelLo12I => I_TYPE,
        HoleKind::Riscv64Lo12S | HoleKind::Riscv64PcRelLo12S | HoleKind::Riscv64Branch => S_TYPE,
        HoleKind::Riscv64Call => U_TYPE | (I_TYPE << 32),
        HoleKind::Riscv64CBranch => 0x1C7C,
        HoleKind::Riscv64CJump => 0x1FFC,
    }
}

/// What a patched hole says about its `S`, given its address `P`:
/// `((S - P if relative, else S) + bias) & mask == value`.
///
/// An absolute 64-bit hole pins all of `S`; a page offset only its low 12
/// bits; a RISC-V high part the rounded upper bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Constraint {
    pub relative: bool,
    pub bias: u64,
    pub mask: u64,
    pub value: u64,
}

impl Constraint {
    fn exact(value: u64) -> Self {
        Constraint {
            relative: false,
            bias: 0,
            mask: u64::MAX,
            value,
        }
    }

    fn relative(offset: i64) -> Self {
        Constraint {
            relative: true,
            bias: 0,
            mask: u64::MAX,
            value: offset as u64,
        }
    }

    fn masked(relative: bool, bias: u64, mask: u64, value: u64) -> Self {
        Constraint {
            relative,
            bias,
            mask,
            value,
        }
    }

    /// Whether a hole at `location` with these bytes encodes `target`.
    pub fn holds(&self, location: u64, target: u64) -> bool {
        let base = if self.relative {
            target.wrapping_sub(location)
        } else {
            target
        };
        base.wrapping_add(self.bias) & self.mask == self.value & self.mask
            && self.value & !self.mask == 0
    }

    /// The one target this constraint allows, if it pins all 64 bits.
    pub fn exact_target(&self, location: u64) -> Option<u64> {
        if self.mask != u64::MAX || self.bias != 0 {
            return None;
        }
        Some(if self.relative {
            location.wrapping_add(self.value)
        } else {
            self.value
        })
    }
}

/// `value`'s low `bits` bits as a two's complement number.
fn sext(value: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value << shift) as i64) >> shift
}

/// `len` bits of `value` from bit `from`.
fn field(value: u64, from: u32, len: u32) -> u64 {
    (value >> from) & ((1 << len) - 1)
}

/// Reads the hole of `kind` in `bytes` (exactly [`width`] of them) at
/// address `location`. `None` for a kind whose parameter has no encoding
/// (a page offset scale above 4, a move-wide group above 3).
pub fn decode(kind: HoleKind, arch: Arch, bytes: &[u8], location: u64) -> Option<Constraint> {
    let mut raw = [0u8; 8];
    raw[..bytes.len()].copy_from_slice(bytes);
    let raw = u64::from_le_bytes(raw);
    let word = raw & 0xFFFF_FFFF;
    let low12 = |value: u64| Constraint::masked(false, 0, 0xFFF, value);
    let pc_low12 = |value: u64| Constraint::masked(true, 0, 0xFFF, value);
    // LUI/AUIPC: the rounded upper part of a sign-extended 32-bit value.
    let upper = |relative: bool| {
        Constraint::masked(relative, 0x800, !0xFFF, sext(word & 0xFFFF_F000, 32) as u64)
    };
    let branch = |from: u32, len: u32| Constraint::relative(sext(field(word, from, len), len) << 2);
    Some(match kind {
        HoleKind::Abs64 => Constraint::exact(raw),
        HoleKind::Abs32 => Constraint::exact(word),
        HoleKind::Abs32Signed => Constraint::exact(sext(word, 32) as u64),
        HoleKind::PcRel64 => Constraint::relative(raw as i64),
        HoleKind::PcRel32 | HoleKind::X86Branch32 if arch == Arch::I686 && location >> 32 == 0 => {
            // A 32-bit processor adds the displacement modulo 2^32.
            Constraint::masked(true, 0, 0xFFFF_FFFF, word)
        }
        HoleKind::PcRel32
        | HoleKind::X86Branch32
        | HoleKind::X86_64GotLoad
        | HoleKind::X86_64GotLoadNoRex
        | HoleKind::X86_64GotLoadUnrelaxed => Constraint::relative(sext(word, 32)),
        HoleKind::Aarch64Branch26 => branch(0, 26),
        HoleKind::Aarch64Branch19 => branch(5, 19),
        HoleKind::Aarch64Branch14 => branch(5, 14),
        HoleKind::Aarch64AdrpPage21 | HoleKind::Aarch64Adr21 => {
            let imm = sext(field(word, 5, 19) << 2 | field(word, 29, 2), 21);
            if kind == HoleKind::Aarch64Adr21 {
                Constraint::relative(imm)
            } else {
                let page = (location & !0xFFF).wrapping_add((imm << 12) as u64);
                Constraint::masked(false, 0, !0xFFF, page)
            }
        }
        HoleKind::Aarch64PageOffset12 { scale } => {
            if scale > 4 {
                return None;
            }
            // A value wider than 12 bits matches no target.
            low12(field(word, 10, 12) << scale)
        }
        HoleKind::Aarch64MovWide { group } => {
            if group > 3 {
                return None;
            }
            let shift = 16 * u32::from(group);
            Constraint::masked(false, 0, 0xFFFF << shift, field(word, 5, 16) << shift)
        }
        HoleKind::Riscv64Hi20 => upper(false),
        HoleKind::Riscv64PcRelHi20 => upper(true),
        HoleKind::Riscv64Lo12I => low12(field(word, 20, 12)),
        HoleKind::Riscv64PcRelLo12I => pc_low12(field(word, 20, 12)),
        HoleKind::Riscv64Lo12S => low12(s_immediate(word)),
        HoleKind::Riscv64PcRelLo12S => pc_low12(s_immediate(word)),
        HoleKind::Riscv64Call => {
            let auipc = sext(word & 0xFFFF_F000, 32);
            let jalr = sext(field(raw, 32 + 20, 12), 12);
            Constraint::relative(auipc.wrapping_add(jalr))
        }
        HoleKind::Riscv64Branch => {
            let imm = field(word, 31, 1) << 12
                | field(word, 7, 1) << 11
                | field(word, 25, 6) << 5
                | field(word, 8, 4) << 1;
            Constraint::relative(sext(imm, 13))
        }
        HoleKind::Riscv64Jal => {
            let imm = field(word, 31, 1) << 20
                | field(word, 12, 8) << 12
                | field(word, 20, 1) << 11
                | field(word, 21, 10) << 1;
            Constraint::relative(sext(imm, 21))
        }
        HoleKind::Riscv64CBranch => {
            let imm = field(word, 12, 1) << 8
                | field(word, 5, 2) << 6
                | field(word, 2, 1) << 5
                | field(word, 10, 2) << 3
                | field(word, 3, 2) << 1;
            Constraint::relative(sext(imm, 9))
        }
        HoleKind::Riscv64CJump => {
            let imm = field(word, 12, 1) << 11
                | field(word, 8, 1) << 10
                | field(word, 9, 2) << 8
                | field(word, 6, 1) << 7
                | field(word, 7, 1) << 6
                | field(word, 2, 1) << 5
                | field(word, 11, 1) << 4
                | field(word, 3, 3) << 1;
            Constraint::relative(sext(imm, 12))
        }
    })
}

/// S-type immediate: imm[11:5] at bits 25..32, imm[4:0] at bits 7..12.
fn s_immediate(word: u64) -> u64 {
    field(word, 25, 7) << 5 | field(word, 7, 5)
}
