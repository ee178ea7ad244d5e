//! Relaxation of x86-64 GOT loads: when the value a GOT slot holds is known
//! at emission, the load through the slot is replaced by a direct form of
//! the same length, so the trace does one memory access fewer.
//!
//! Every form rewritten here is a RIP-relative instruction whose disp32 (the
//! hole) is its last field: the instruction ends at `location + 4`.

/// An instruction that loads through a GOT slot and has a direct form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GotLoadForm {
    /// `mov disp32(%rip), %reg64`: REX.W, `8B`, ModRM (mod 00, rm 101).
    Mov { rex: u8, modrm: u8 },
    /// `call *disp32(%rip)`: `FF 15`.
    Call,
    /// `jmp *disp32(%rip)`: `FF 25`.
    Jmp,
}

/// Recognises the instruction whose disp32 is `buf[at..at + 4]`.
#[inline]
pub(crate) fn got_load_form(buf: &[u8], at: usize) -> Option<GotLoadForm> {
    if at < 2 || at.checked_add(4)? > buf.len() {
        return None;
    }
    match (buf[at - 2], buf[at - 1]) {
        (0xFF, 0x15) => Some(GotLoadForm::Call),
        (0xFF, 0x25) => Some(GotLoadForm::Jmp),
        // REX with W set (0100 1RXB); ModRM mod 00 and rm 101 is RIP-relative.
        (0x8B, modrm) if modrm & 0xC7 == 0x05 && at >= 3 && buf[at - 3] & 0xF8 == 0x48 => {
            Some(GotLoadForm::Mov {
                rex: buf[at - 3],
                modrm,
            })
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
    // The bytes before `at` that change (the last `len` of `opcode`).
    let (len, opcode, immediate) = match form {
        GotLoadForm::Mov { rex, modrm } => {
            // `mov $imm32, %reg` is `C7 /0` with the register in ModRM.rm,
            // so the register's high bit moves from REX.R to REX.B.
            let rex_b = (rex >> 2) & 1;
            let modrm_reg = 0xC0 | ((modrm >> 3) & 7);
            if let Ok(imm) = i32::try_from(slot_value as i64) {
                // REX.W: the imm32 is sign-extended to 64 bits.
                (3, [0x48 | rex_b, 0xC7, modrm_reg], imm as u32)
            } else if let Ok(imm) = u32::try_from(slot_value) {
                // No REX.W: a 32-bit move zero-extends into the register.
                (3, [0x40 | rex_b, 0xC7, modrm_reg], imm)
            } else if let Some(disp) = relative {
                // `lea disp32(%rip), %reg`: same prefix and ModRM, opcode 8D.
                (3, [rex, 0x8D, modrm], disp as u32)
            } else {
                return false;
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

/// Tries to rewrite the instruction around a GOT load whose disp32 is
/// `buf[at..at + 4]` into a direct form for `slot_value`, the value the GOT
/// slot holds. `location` is the address of the disp32 field.
///
/// Returns true if rewritten: the hole is then fully patched. The forms:
///
/// * `mov disp32(%rip), %reg64` becomes `mov $imm32, %reg64` (`REX.W C7 /0`)
///   if the value fits a sign-extended imm32, else `mov $imm32, %reg32`
///   (`REX C7 /0`, zero-extending) if it fits 32 bits unsigned, else
///   `lea disp32(%rip), %reg64` if the value is within ±2 GiB.
/// * `call *disp32(%rip)` becomes `addr32 call rel32` (`67 E8`).
/// * `jmp *disp32(%rip)` becomes `nop; jmp rel32` (`90 E9`).
///
/// All keep the instruction's length and put the immediate or rel32 at
/// `at`. Anything else (another instruction, a value out of reach, fewer
/// than 2 or 3 bytes before `at`, `at + 4` past the end) returns false and
/// leaves `buf` untouched; the load through the slot then stays.
pub fn relax_x86_64_got_load(buf: &mut [u8], at: usize, location: u64, slot_value: u64) -> bool {
    match got_load_form(buf, at) {
        Some(form) => rewrite_got_load(buf, at, form, location, slot_value),
        None => false,
    }
}
