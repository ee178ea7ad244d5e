//! The forms a jump to the continuation takes at the end of a stencil, per
//! instruction set: the instruction bytes and the hole that patches them.

use runtime::{Arch, HoleKind};

use crate::model::{Hole, Value};

/// One form of jump to the continuation.
struct JumpForm {
    /// Bytes of the jump.
    size: usize,
    /// Offset of its hole from the start of the jump.
    hole_at: usize,
    kind: HoleKind,
    addend: i64,
    /// Whether these `size` bytes are such a jump.
    matches: fn(&[u8]) -> bool,
}

fn word(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// x86 `jmp rel32` (`E9`), on x86-64 and i686 alike.
fn x86_jmp(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0xe9)
}

/// AArch64 `B imm26`.
fn aarch64_b(bytes: &[u8]) -> bool {
    word(bytes, 0) & 0xfc00_0000 == 0x1400_0000
}

/// RISC-V `tail`: `auipc rX, 0` then `jalr x0, 0(rX)`.
fn riscv_tail(bytes: &[u8]) -> bool {
    let (auipc, jalr) = (word(bytes, 0), word(bytes, 4));
    let auipc_rd = (auipc >> 7) & 0x1f;
    auipc & 0x7f == 0x17
        && jalr & 0x7f == 0x67
        && (jalr >> 7) & 0x1f == 0
        && (jalr >> 12) & 0x7 == 0
        && (jalr >> 15) & 0x1f == auipc_rd
}

/// RISC-V `j`: `jal x0, imm`.
fn riscv_j(bytes: &[u8]) -> bool {
    word(bytes, 0) & 0xfff == 0x06f
}

/// RISC-V compressed `c.j`.
fn riscv_c_j(bytes: &[u8]) -> bool {
    match bytes {
        [low, high] => u16::from_le_bytes([*low, *high]) & 0xe003 == 0xa001,
        _ => false,
    }
}

fn forms(arch: Arch) -> &'static [JumpForm] {
    const X86: &[JumpForm] = &[JumpForm {
        size: 5,
        hole_at: 1,
        kind: HoleKind::X86Branch32,
        addend: -4,
        matches: x86_jmp,
    }];
    const AARCH64: &[JumpForm] = &[JumpForm {
        size: 4,
        hole_at: 0,
        kind: HoleKind::Aarch64Branch26,
        addend: 0,
        matches: aarch64_b,
    }];
    const RISCV64: &[JumpForm] = &[
        JumpForm {
            size: 8,
            hole_at: 0,
            kind: HoleKind::Riscv64Call,
            addend: 0,
            matches: riscv_tail,
        },
        JumpForm {
            size: 4,
            hole_at: 0,
            kind: HoleKind::Riscv64Jal,
            addend: 0,
            matches: riscv_j,
        },
        JumpForm {
            size: 2,
            hole_at: 0,
            kind: HoleKind::Riscv64CJump,
            addend: 0,
            matches: riscv_c_j,
        },
    ];
    match arch {
        Arch::X86_64 | Arch::I686 => X86,
        Arch::Aarch64 => AARCH64,
        Arch::Riscv64 => RISCV64,
    }
}

/// The jump to the continuation that ends `code`, if there is one: where
/// it starts and the index of its hole in `holes`.
pub(super) fn find(arch: Arch, code: &[u8], holes: &[Hole]) -> Option<(usize, usize)> {
    forms(arch).iter().find_map(|form| {
        let start = code.len().checked_sub(form.size)?;
        if !(form.matches)(&code[start..]) {
            return None;
        }
        let hole = holes.iter().position(|h| {
            h.offset as usize == start + form.hole_at
                && h.kind == form.kind
                && h.value == Value::Continue
                && h.addend == form.addend
        })?;
        Some((start, hole))
    })
}
