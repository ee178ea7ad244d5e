//! Relaxation of x86-64 GOT loads: when the value a GOT slot holds is known
//! at emission, the load through the slot is replaced by a direct form of
//! the same length, so the trace does one memory access fewer.
//!
//! Every form rewritten here is a RIP-relative instruction whose disp32 (the
//! hole) is its last field: the instruction ends at `location + 4`. Which
//! bytes before the disp32 belong to the instruction comes from the hole
//! kind, that is from the ELF relocation type: `R_X86_64_REX_GOTPCRELX` puts
//! a REX prefix, the opcode and the ModRM there, `R_X86_64_GOTPCRELX` only
//! the opcode and the ModRM. No other byte is read or written.

use crate::hole::HoleKind;

/// An instruction that loads through a GOT slot and has a direct form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GotLoadForm {
    /// `mov disp32(%rip), %reg64`: REX.W, `8B`, ModRM (mod 00, rm 101).
    Mov64 { rex: u8, modrm: u8 },
    /// `mov disp32(%rip), %reg32`: `8B` and ModRM, after a REX prefix
    /// without W if the instruction has one.
    Mov32 { rex: Option<u8>, modrm: u8 },
    /// `call *disp32(%rip)`: `FF 15`.
    Call,
    /// `jmp *disp32(%rip)`: `FF 25`.
    Jmp,
}

/// ModRM mod 00 and rm 101: RIP-relative with a disp32.
#[inline]
fn rip_relative(modrm: u8) -> bool {
    modrm & 0xC7 == 0x05
}

/// Recognises the instruction of a GOT load hole of `kind` whose disp32 is
/// `buf[at..at + 4]`; `None` for any other kind.
#[inline]
pub(crate) fn got_load_form(kind: HoleKind, buf: &[u8], at: usize) -> Option<GotLoadForm> {
    if at.checked_add(4)? > buf.len() {
        return None;
    }
    match kind {
        // The relocation says the byte at `at - 3` is a REX prefix.
        HoleKind::X86_64GotLoad => {
            let [rex, opcode, modrm] = *buf.get(at.checked_sub(3)?..at)?.first_chunk::<3>()?;
            if rex & 0xF0 != 0x40 || opcode != 0x8B || !rip_relative(modrm) {
                return None;
            }
            Some(if rex & 0x08 != 0 {
                GotLoadForm::Mov64 { rex, modrm }
            } else {
                GotLoadForm::Mov32 {
                    rex: Some(rex),
                    modrm,
                }
            })
        }
        // Only the opcode and the ModRM are the instruction's: a byte at
        // `at - 3` that looks like REX.W belongs to the one before.
        HoleKind::X86_64GotLoadNoRex => {
            let [opcode, modrm] = *buf.get(at.checked_sub(2)?..at)?.first_chunk::<2>()?;
            match (opcode, modrm) {
                (0xFF, 0x15) => Some(GotLoadForm::Call),
                (0xFF, 0x25) => Some(GotLoadForm::Jmp),
                // Assemblers emit this relocation for the 32-bit `mov` only
                // (a 16-bit one, with a 66 prefix, gets `R_X86_64_GOTPCREL`).
                (0x8B, modrm) if rip_relative(modrm) => {
                    Some(GotLoadForm::Mov32 { rex: None, modrm })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Rewrites a recognised GOT load for a slot holding `slot_value`; false
/// (and `buf` untouched) if no direct form reaches the value.
#[inline(always)]
pub(crate) fn rewrite_got_load(
    buf: &mut [u8],
    at: usize,
    form: GotLoadForm,
    location: u64,
    slot_value: u64,
) -> bool {
    let relative = i32::try_from(slot_value.wrapping_sub(location.wrapping_add(4)) as i64).ok();
    // `mov $imm32, %reg` is `C7 /0` with the register in ModRM.rm, so the
    // register's high bit moves from REX.R to REX.B.
    let rex_b = |rex: u8| (rex >> 2) & 1;
    let modrm_reg = |modrm: u8| 0xC0 | ((modrm >> 3) & 7);
    // The bytes before `at` that change (the last `len` of `opcode`).
    let (len, opcode, immediate) = match form {
        GotLoadForm::Mov64 { rex, modrm } => {
            if let Ok(imm) = i32::try_from(slot_value as i64) {
                // REX.W: the imm32 is sign-extended to 64 bits.
                (3, [0x48 | rex_b(rex), 0xC7, modrm_reg(modrm)], imm as u32)
            } else if let Ok(imm) = u32::try_from(slot_value) {
                // No REX.W: a 32-bit move zero-extends into the register.
                (3, [0x40 | rex_b(rex), 0xC7, modrm_reg(modrm)], imm)
            } else if let Some(disp) = relative {
                // `lea disp32(%rip), %reg`: same prefix and ModRM, opcode 8D.
                (3, [rex, 0x8D, modrm], disp as u32)
            } else {
                return false;
            }
        }
        // A 32-bit load of the slot reads its low 32 bits, which always fit
        // the imm32; both forms zero-extend into the register.
        GotLoadForm::Mov32 { rex, modrm } => {
            let imm = slot_value as u32;
            match rex {
                Some(rex) => (3, [0x40 | rex_b(rex), 0xC7, modrm_reg(modrm)], imm),
                None => (2, [0, 0xC7, modrm_reg(modrm)], imm),
            }
        }
        // `addr32 call rel32`: the redundant address-size prefix keeps the
        // length at 6 bytes, as linkers do for this relaxation.
        GotLoadForm::Call => match relative {
            Some(disp) => (2, [0, 0x67, 0xE8], disp as u32),
            None => return false,
        },
        // `nop; jmp rel32`: the one-byte nop comes first so that the rel32
        // stays at `at` and the jump still ends at `at + 4`.
        GotLoadForm::Jmp => match relative {
            Some(disp) => (2, [0, 0x90, 0xE9], disp as u32),
            None => return false,
        },
    };
    // The rewritten bytes, from `at - len` to `at + 4`: fixed-size copies,
    // as a copy of `len` bytes would be a call to memcpy.
    let [a, b, c] = opcode;
    let [d, e, f, g] = immediate.to_le_bytes();
    let Some(start) = at.checked_sub(len) else {
        return false;
    };
    let rest = buf.get_mut(start..);
    if len == 3 {
        let Some(field) = rest.and_then(|rest| rest.first_chunk_mut::<7>()) else {
            return false;
        };
        *field = [a, b, c, d, e, f, g];
    } else {
        let Some(field) = rest.and_then(|rest| rest.first_chunk_mut::<6>()) else {
            return false;
        };
        *field = [b, c, d, e, f, g];
    }
    true
}

/// Tries to rewrite the instruction around a GOT load hole of `kind` whose
/// disp32 is `buf[at..at + 4]` into a direct form for `slot_value`, the
/// value the GOT slot holds. `location` is the address of the disp32 field.
///
/// Returns true if rewritten: the hole is then fully patched. The forms:
///
/// * [`HoleKind::X86_64GotLoad`] (a REX prefix at `at - 3`):
///   `mov disp32(%rip), %reg64` becomes `mov $imm32, %reg64`
///   (`REX.W C7 /0`) if the value fits a sign-extended imm32, else
///   `mov $imm32, %reg32` (`REX C7 /0`, zero-extending) if it fits 32 bits
///   unsigned, else `lea disp32(%rip), %reg64` if the value is within
///   ±2 GiB; `mov disp32(%rip), %reg32` (REX without W) becomes
///   `mov $imm32, %reg32` with the value's low 32 bits.
/// * [`HoleKind::X86_64GotLoadNoRex`] (opcode at `at - 2`):
///   `mov disp32(%rip), %reg32` becomes `mov $imm32, %reg32` (`C7 /0`) with
///   the value's low 32 bits, `call *disp32(%rip)` becomes
///   `addr32 call rel32` (`67 E8`) and `jmp *disp32(%rip)` becomes
///   `nop; jmp rel32` (`90 E9`).
///
/// All keep the instruction's length and put the immediate or rel32 at
/// `at`. Anything else (another kind or instruction, a value out of reach,
/// too few bytes before `at`, `at + 4` past the end) returns false and
/// leaves `buf` untouched; the load through the slot then stays.
pub fn relax_x86_64_got_load(
    kind: HoleKind,
    buf: &mut [u8],
    at: usize,
    location: u64,
    slot_value: u64,
) -> bool {
    match got_load_form(kind, buf, at) {
        Some(form) => rewrite_got_load(buf, at, form, location, slot_value),
        None => false,
    }
}
