//! Reading a trampoline back: the instructions at its start are decoded and
//! followed to the absolute address they jump to.

use runtime::Arch;

/// Bytes of one trampoline of `arch` (`None`: the instruction set has
/// none), and the alignment its address needs to be loaded.
pub fn size(arch: Arch) -> Option<usize> {
    match arch {
        Arch::X86_64 | Arch::Aarch64 => Some(16),
        Arch::Riscv64 => Some(24),
        Arch::I686 => None,
    }
}

fn word(trace: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(*trace.get(at..)?.first_chunk::<4>()?))
}

/// The 64-bit address stored at trace address `address`, which must be
/// 8-aligned where the instruction set faults on (or may not support) an
/// unaligned load: not on x86-64.
fn load(trace: &[u8], base: u64, address: u64, aligned: bool) -> Result<u64, String> {
    if aligned && address & 7 != 0 {
        return Err(format!(
            "loads its address from {address:#x}, which is not 8-aligned"
        ));
    }
    let at = usize::try_from(address.wrapping_sub(base)).map_err(|_| "outside the trace")?;
    trace
        .get(at..)
        .and_then(|rest| rest.first_chunk::<8>())
        .map(|bytes| u64::from_le_bytes(*bytes))
        .ok_or_else(|| format!("loads its address from {address:#x}, outside the trace"))
}

fn sext(value: u32, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((u64::from(value) << shift) as i64) >> shift
}

/// Where the trampoline at trace offset `at` jumps: decodes its first
/// instructions, follows them, and loads the address they use.
pub fn target(arch: Arch, trace: &[u8], base: u64, at: usize) -> Result<u64, String> {
    let here = base.wrapping_add(at as u64);
    let bad = |what: &str| Err(format!("trampoline at {here:#x}: {what}"));
    match arch {
        Arch::X86_64 => {
            // jmp *disp32(%rip): FF /4 with ModRM mod 00, rm 101.
            let Some(&[0xFF, 0x25]) = trace.get(at..).and_then(|rest| rest.first_chunk::<2>())
            else {
                return bad("does not start with jmp *disp32(%rip)");
            };
            let Some(disp) = word(trace, at + 2) else {
                return bad("runs past the trace");
            };
            let slot = here.wrapping_add(6).wrapping_add(sext(disp, 32) as u64);
            load(trace, base, slot, false)
        }
        Arch::Aarch64 => {
            let (Some(ldr), Some(br)) = (word(trace, at), word(trace, at + 4)) else {
                return bad("runs past the trace");
            };
            // LDR Xt, label (64-bit literal): 0101 1000 imm19 Rt.
            if ldr & 0xFF00_0000 != 0x5800_0000 {
                return bad("does not start with ldr (literal)");
            }
            let register = ldr & 0x1F;
            // BR Xn: 1101 0110 0001 1111 0000 00 Rn 00000.
            if br & 0xFFFF_FC1F != 0xD61F_0000 || (br >> 5) & 0x1F != register {
                return bad("does not branch to the register it loads");
            }
            let slot = here.wrapping_add((sext((ldr >> 5) & 0x7_FFFF, 19) << 2) as u64);
            load(trace, base, slot, true)
        }
        Arch::Riscv64 => {
            let (Some(auipc), Some(ld), Some(jalr)) =
                (word(trace, at), word(trace, at + 4), word(trace, at + 8))
            else {
                return bad("runs past the trace");
            };
            let rd = |w: u32| (w >> 7) & 0x1F;
            let rs1 = |w: u32| (w >> 15) & 0x1F;
            let funct3 = |w: u32| (w >> 12) & 0x7;
            if auipc & 0x7F != 0x17 || rd(auipc) == 0 {
                return bad("does not start with auipc");
            }
            if ld & 0x7F != 0x03 || funct3(ld) != 3 || rs1(ld) != rd(auipc) || rd(ld) == 0 {
                return bad("does not load a doubleword relative to its auipc");
            }
            if jalr & 0x7F != 0x67 || funct3(jalr) != 0 || rd(jalr) != 0 || rs1(jalr) != rd(ld) {
                return bad("does not jump to the register it loads");
            }
            if jalr >> 20 != 0 {
                return bad("jumps to an offset from the loaded address");
            }
            let high = sext(auipc & 0xFFFF_F000, 32);
            let slot = here
                .wrapping_add(high as u64)
                .wrapping_add(sext(ld >> 20, 12) as u64);
            load(trace, base, slot, true)
        }
        Arch::I686 => bad("i686 has no trampolines"),
    }
}
