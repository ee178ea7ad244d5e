//! Fields of the instructions relocations point into: the addends Mach-O
//! and COFF keep there, and the facts lowering needs to choose a hole kind
//! (an AArch64 load's access size, the form of an x86-64 GOT load).
//!
//! The encodings follow the Arm ARM (A64) and the Intel SDM.

/// `value`'s low `bits` bits, sign-extended.
fn sign_extend(value: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value << shift) as i64) >> shift
}

/// AArch64 `B`/`BL` imm26, in bytes.
pub fn aarch64_branch26(word: u32) -> i64 {
    sign_extend(u64::from(word & 0x03ff_ffff), 26) << 2
}

/// AArch64 `B.cond`/`CBZ`/`LDR (literal)` imm19 (bits 5..24), in bytes.
pub fn aarch64_branch19(word: u32) -> i64 {
    sign_extend(u64::from((word >> 5) & 0x7_ffff), 19) << 2
}

/// AArch64 `TBZ`/`TBNZ` imm14 (bits 5..19), in bytes.
pub fn aarch64_branch14(word: u32) -> i64 {
    sign_extend(u64::from((word >> 5) & 0x3fff), 14) << 2
}

/// AArch64 `ADR`/`ADRP` immhi:immlo as a signed 21-bit number (COFF keeps
/// an `ADRP`'s addend there, in bytes).
pub fn aarch64_adr_immediate(word: u32) -> i64 {
    let immlo = u64::from((word >> 29) & 0x3);
    let immhi = u64::from((word >> 5) & 0x7_ffff);
    sign_extend((immhi << 2) | immlo, 21)
}

/// AArch64 unsigned imm12 (bits 10..22) of `ADD`/`LDR`/`STR`, unscaled.
pub fn aarch64_imm12(word: u32) -> i64 {
    i64::from((word >> 10) & 0xfff)
}

/// The scale (log2 of the access size) by which an AArch64 instruction
/// shifts the page offset in its imm12: 0 for `ADD`/`SUB` (immediate), the
/// access size for a load or store with an unsigned offset (4 for a
/// 128-bit SIMD one); `None` for any other instruction.
pub fn aarch64_page_offset_scale(word: u32) -> Option<u8> {
    if word & 0x3b00_0000 == 0x3900_0000 {
        // Load/store register (unsigned immediate): size in bits 30..32;
        // V (bit 26) with opc<1> (bit 23) set is a 128-bit access.
        if word & 0x0480_0000 == 0x0480_0000 {
            Some(4)
        } else {
            Some((word >> 30) as u8)
        }
    } else if word & 0x1f00_0000 == 0x1100_0000 {
        // Add/subtract (immediate).
        Some(0)
    } else {
        None
    }
}

/// AArch64 `B` or `BL` (imm26).
pub fn aarch64_b_or_bl(word: u32) -> bool {
    word & 0x7c00_0000 == 0x1400_0000
}

/// RISC-V `AUIPC rX` followed by a `JALR` through `rX`: the pair a
/// `R_RISCV_CALL` patches.
pub fn riscv64_call_pair(auipc: u32, jalr: u32) -> bool {
    let auipc_rd = (auipc >> 7) & 0x1f;
    auipc & 0x7f == 0x17
        && jalr & 0x7f == 0x67
        && (jalr >> 12) & 0x7 == 0
        && (jalr >> 15) & 0x1f == auipc_rd
}

/// A `call rel32` (`E8`), `jmp rel32` (`E9`) or `jcc rel32` (`0F 80..8F`)
/// whose rel32 is at `at`. A RIP-relative operand's disp32 follows a ModRM
/// with mod 00, which none of these opcode bytes is, so the bytes before
/// a pc-relative field tell a branch from an operand.
pub fn x86_rel32_branch(code: &[u8], at: usize) -> bool {
    if at.checked_add(4).is_none_or(|end| end > code.len()) {
        return false;
    }
    let before = |n: usize| at.checked_sub(n).and_then(|i| code.get(i)).copied();
    matches!(before(1), Some(0xe8 | 0xe9))
        || (before(2) == Some(0x0f) && before(1).is_some_and(|b| b & 0xf0 == 0x80))
}

/// `8D /r` (`lea`) with a RIP-relative ModRM before the disp32 at `at`,
/// with or without prefixes: its result is the address itself, which a
/// `mov` (`8B /r`) from a slot holding that address gives as well.
pub fn x86_64_rip_lea(code: &[u8], at: usize) -> bool {
    let Some(&[opcode, modrm]) = at.checked_sub(2).and_then(|start| code.get(start..at)) else {
        return false;
    };
    // `0F 8D` would be a two-byte opcode (`jge rel32`, no ModRM).
    let two_byte = at
        .checked_sub(3)
        .and_then(|i| code.get(i))
        .is_some_and(|&b| b == 0x0f);
    opcode == 0x8d && rip_relative(modrm) && !two_byte && at + 4 <= code.len()
}

/// Whether the byte at `at - 3` may be a prefix, escape or REX byte of the
/// instruction whose ModRM is at `at - 1`, rather than the end of the one
/// before.
fn may_be_prefix(byte: u8) -> bool {
    matches!(
        byte,
        0x40..=0x4f
            | 0x66
            | 0x67
            | 0xf0
            | 0xf2
            | 0xf3
            | 0x26
            | 0x2e
            | 0x36
            | 0x3e
            | 0x64
            | 0x65
            | 0x0f
            | 0xc4
            | 0xc5
            | 0x62
            | 0x8f
    )
}

/// ModRM mod 00, rm 101: RIP-relative with a disp32.
fn rip_relative(modrm: u8) -> bool {
    modrm & 0xc7 == 0x05
}

/// `REX 8B /r` with a RIP-relative ModRM before the disp32 at `at`: a
/// `mov` from memory that has a REX prefix, if the byte at `at - 3` is that
/// instruction's (which only the relocation type can promise).
pub fn x86_64_rex_mov_load(code: &[u8], at: usize) -> bool {
    match at.checked_sub(3).and_then(|start| code.get(start..at)) {
        Some(&[rex, opcode, modrm]) => {
            rex & 0xf0 == 0x40 && opcode == 0x8b && rip_relative(modrm) && at + 4 <= code.len()
        }
        _ => false,
    }
}

/// `8B /r` (32-bit `mov`), `FF 15` (`call *`) or `FF 25` (`jmp *`) with a
/// RIP-relative ModRM before the disp32 at `at`, where the byte before the
/// opcode cannot be a prefix of the same instruction: a load whose first
/// byte is its opcode, as `R_X86_64_GOTPCRELX` promises.
pub fn x86_64_plain_got_load(code: &[u8], at: usize) -> bool {
    let Some(&[opcode, modrm]) = at.checked_sub(2).and_then(|start| code.get(start..at)) else {
        return false;
    };
    let form = matches!((opcode, modrm), (0xff, 0x15) | (0xff, 0x25))
        || (opcode == 0x8b && rip_relative(modrm));
    let unprefixed = match at.checked_sub(3) {
        Some(before) => code.get(before).is_some_and(|&b| !may_be_prefix(b)),
        None => true,
    };
    form && unprefixed && at + 4 <= code.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aarch64_fields() {
        // b .-8
        assert_eq!(aarch64_branch26(0x17ff_fffe), -8);
        // bl .+0x10
        assert_eq!(aarch64_branch26(0x9400_0004), 16);
        // b.eq .-4
        assert_eq!(aarch64_branch19(0x54ff_ffe0), -4);
        // tbz w0, #3, .+8
        assert_eq!(aarch64_branch14(0x3618_0040), 8);
        // adrp x0, with immhi:immlo = 16 (COFF: sym+16)
        assert_eq!(aarch64_adr_immediate(0x9000_0080), 16);
        // adr x0, .-1
        assert_eq!(aarch64_adr_immediate(0x70ff_ffe0), -1);
        // add x0, x0, #0x10
        assert_eq!(aarch64_imm12(0x9100_4000), 0x10);
    }

    #[test]
    fn aarch64_scales() {
        assert_eq!(aarch64_page_offset_scale(0x9100_4000), Some(0)); // add x0, x0, #16
        assert_eq!(aarch64_page_offset_scale(0x1100_0000), Some(0)); // add w0, w0, #0
        assert_eq!(aarch64_page_offset_scale(0x3940_0c01), Some(0)); // ldrb w1, [x0, #3]
        assert_eq!(aarch64_page_offset_scale(0x7940_0001), Some(1)); // ldrh w1, [x0]
        assert_eq!(aarch64_page_offset_scale(0xb940_0401), Some(2)); // ldr w1, [x0, #4]
        assert_eq!(aarch64_page_offset_scale(0xb980_0001), Some(2)); // ldrsw x1, [x0]
        assert_eq!(aarch64_page_offset_scale(0xf940_0c01), Some(3)); // ldr x1, [x0, #24]
        assert_eq!(aarch64_page_offset_scale(0xfd40_0001), Some(3)); // ldr d1, [x0]
        assert_eq!(aarch64_page_offset_scale(0x3dc0_0801), Some(4)); // ldr q1, [x0, #32]
        assert_eq!(aarch64_page_offset_scale(0xf900_0001), Some(3)); // str x1, [x0]
        assert_eq!(aarch64_page_offset_scale(0x9000_0000), None); // adrp
        assert_eq!(aarch64_page_offset_scale(0xf860_6800), None); // ldr x0, [x0, x0]
    }

    #[test]
    fn x86_64_got_load_forms() {
        // movq 0(%rip), %rax
        let movq = [0x48, 0x8b, 0x05, 0, 0, 0, 0];
        assert!(x86_64_rex_mov_load(&movq, 3));
        assert!(!x86_64_plain_got_load(&movq, 3));
        // nop; movl 0(%rip), %eax
        let movl = [0x90, 0x8b, 0x05, 0, 0, 0, 0];
        assert!(x86_64_plain_got_load(&movl, 3));
        assert!(!x86_64_rex_mov_load(&movl, 3));
        // movl at the very start; call *; jmp *
        assert!(x86_64_plain_got_load(&[0x8b, 0x0d, 0, 0, 0, 0], 2));
        assert!(x86_64_plain_got_load(&[0xc3, 0xff, 0x15, 0, 0, 0, 0], 3));
        assert!(x86_64_plain_got_load(&[0xc3, 0xff, 0x25, 0, 0, 0, 0], 3));
        // A byte that could be a REX prefix before the opcode: unknown.
        assert!(!x86_64_plain_got_load(&[0x44, 0x8b, 0x0d, 0, 0, 0, 0], 3));
        // movw 0(%rip), %ax has a 66 prefix.
        assert!(!x86_64_plain_got_load(&[0x66, 0x8b, 0x05, 0, 0, 0, 0], 3));
        // Not RIP-relative, another opcode, too short.
        assert!(!x86_64_plain_got_load(&[0x90, 0x8b, 0x04, 0, 0, 0, 0], 3));
        assert!(!x86_64_plain_got_load(&[0x90, 0x03, 0x05, 0, 0, 0, 0], 3));
        assert!(!x86_64_plain_got_load(&[0x8b, 0x05, 0, 0], 2));
        assert!(!x86_64_rex_mov_load(&[0x8b, 0x05, 0, 0, 0, 0], 2));
    }
}
