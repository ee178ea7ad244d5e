//! Trampolines: per-trace jumps to helpers a direct branch cannot reach.
//!
//! A trace lives wherever the OS maps it, often further than a branch can
//! reach from the helpers it calls (±128 MiB for AArch64 `B`/`BL`, ±2 GiB
//! for an x86-64 rel32). Such a branch goes to a trampoline after the
//! trace's code instead, which jumps to an absolute address it holds.

use crate::hole::{Arch, HoleKind};

/// Size of one trampoline; trampolines start 16-byte aligned.
pub const TRAMPOLINE_SIZE: usize = 16;

/// Whether a code hole of `kind` with a symbol value is redirected to a
/// trampoline when the symbol is out of its reach.
pub fn serves(arch: Arch, kind: HoleKind) -> bool {
    matches!(
        (arch, kind),
        (Arch::Aarch64, HoleKind::Aarch64Branch26) | (Arch::X86_64, HoleKind::PcRel32)
    )
}

/// Writes a trampoline to `address` into `slot`. False, and `slot`
/// untouched, for an instruction set without trampolines (i686 and RISC-V:
/// a branch that cannot reach its symbol is an error there).
pub fn write(arch: Arch, slot: &mut [u8; TRAMPOLINE_SIZE], address: u64) -> bool {
    let address = address.to_le_bytes();
    match arch {
        Arch::X86_64 => {
            // jmp *0(%rip), then the address; two int3 pad it to 16 bytes.
            slot[..6].copy_from_slice(&[0xFF, 0x25, 0, 0, 0, 0]);
            slot[6..14].copy_from_slice(&address);
            slot[14..].copy_from_slice(&[0xCC, 0xCC]);
        }
        Arch::Aarch64 => {
            // ldr x16, #8; br x16 (x16 is the intra-procedure-call scratch
            // register, free at any call), then the address.
            slot[..4].copy_from_slice(&0x5800_0050u32.to_le_bytes());
            slot[4..8].copy_from_slice(&0xD61F_0200u32.to_le_bytes());
            slot[8..].copy_from_slice(&address);
        }
        Arch::I686 | Arch::Riscv64 => return false,
    }
    true
}
