//! Trampolines: per-trace jumps to helpers a direct branch cannot reach.
//!
//! A trace lives wherever the OS maps it, often further than a branch can
//! reach from the helpers it calls (±128 MiB for AArch64 `B`/`BL`, ±2 GiB
//! for an x86-64 rel32 or a RISC-V `AUIPC`+`JALR` call). Such a branch goes
//! to a trampoline after the trace's code instead, which jumps to an
//! absolute address it holds.

use crate::hole::{Arch, HoleKind};

/// What the trampolines of one instruction set look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Form {
    /// The whole trampoline, with a zero address.
    pub template: &'static [u8],
    /// Offset of the 8-byte little-endian address in `template`.
    pub address_at: usize,
    /// Alignment of every trampoline's start. Where an instruction loads
    /// the address (AArch64 `ldr`, RISC-V `ld`) it is a multiple of the
    /// address's place in the template, so the address is 8-aligned; the
    /// x86-64 `jmp *` reads it unaligned.
    pub align: usize,
    /// The code hole kinds redirected to a trampoline when their symbol is
    /// out of reach.
    pub serves: &'static [HoleKind],
}

impl Form {
    /// Bytes of one trampoline.
    pub const fn size(&self) -> usize {
        self.template.len()
    }
}

/// `jmp *0(%rip)`, then the address; two `int3` pad it to 16 bytes.
const X86_64: Form = Form {
    template: &[
        0xFF, 0x25, 0, 0, 0, 0, // jmp *0(%rip)
        0, 0, 0, 0, 0, 0, 0, 0, // .quad address
        0xCC, 0xCC, // int3; int3
    ],
    address_at: 6,
    align: 16,
    serves: &[HoleKind::X86Branch32],
};

/// `ldr x16, #8; br x16`, then the address. x16 is the intra-procedure-call
/// scratch register, free at any call.
const AARCH64: Form = Form {
    template: &[
        0x50, 0x00, 0x00, 0x58, // ldr x16, #8
        0x00, 0x02, 0x1F, 0xD6, // br x16
        0, 0, 0, 0, 0, 0, 0, 0, // .quad address
    ],
    address_at: 8,
    align: 16,
    serves: &[HoleKind::Aarch64Branch26],
};

/// `auipc t1, 0; ld t1, 16(t1); jr t1; nop`, then the address. t1 (x6) is
/// a caller-saved temporary that carries no argument and that the psABI's
/// PLT stubs and `tail` sequence clobber already, so no call through a
/// `R_RISCV_CALL_PLT` may expect it to survive; t2 (x7) would not do, it
/// holds the landing-pad label of `Zicfilp` calls. The `nop` puts the
/// address 8-aligned for `ld`.
const RISCV64: Form = Form {
    template: &[
        0x17, 0x03, 0x00, 0x00, // auipc t1, 0
        0x03, 0x33, 0x03, 0x01, // ld t1, 16(t1)
        0x67, 0x00, 0x03, 0x00, // jr t1
        0x13, 0x00, 0x00, 0x00, // nop
        0, 0, 0, 0, 0, 0, 0, 0, // .quad address
    ],
    address_at: 16,
    align: 8,
    serves: &[HoleKind::Riscv64Call],
};

/// The trampolines of `arch`; none on i686, where a rel32 reaches the whole
/// 32-bit address space.
pub const fn form(arch: Arch) -> Option<&'static Form> {
    match arch {
        Arch::X86_64 => Some(&X86_64),
        Arch::Aarch64 => Some(&AARCH64),
        Arch::Riscv64 => Some(&RISCV64),
        Arch::I686 => None,
    }
}

/// Bytes of one trampoline of `arch`, if it has trampolines.
pub const fn size(arch: Arch) -> Option<usize> {
    match form(arch) {
        Some(form) => Some(form.size()),
        None => None,
    }
}

/// Whether a code hole of `kind` with a symbol value is redirected to a
/// trampoline when the symbol is out of its reach.
pub fn serves(arch: Arch, kind: HoleKind) -> bool {
    form(arch).is_some_and(|form| form.serves.contains(&kind))
}

/// Writes a trampoline to `address` into `slot`. False, and `slot`
/// untouched, for an instruction set without trampolines or a slot that is
/// not exactly one trampoline long.
pub fn write(arch: Arch, slot: &mut [u8], address: u64) -> bool {
    let Some(form) = form(arch) else {
        return false;
    };
    if slot.len() != form.size() {
        return false;
    }
    slot.copy_from_slice(form.template);
    slot[form.address_at..form.address_at + 8].copy_from_slice(&address.to_le_bytes());
    true
}
