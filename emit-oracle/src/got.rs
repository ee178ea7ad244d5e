//! x86-64 GOT loads the patcher rewrote into a direct form: what the
//! rewritten instruction does must be what the load through the slot did.

use runtime::HoleKind;

/// What an instruction around a GOT load's disp32 does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Sets a general purpose register (0..16) to a 64-bit value.
    Set {
        register: u8,
        value: u64,
    },
    Call(u64),
    Jump(u64),
}

/// How many instruction bytes before its disp32 a GOT load of `kind` owns
/// (REX, opcode, ModRM, or opcode and ModRM); 0 for other kinds.
pub fn prefix_len(kind: HoleKind) -> usize {
    match kind {
        HoleKind::X86_64GotLoad => 3,
        HoleKind::X86_64GotLoadNoRex => 2,
        _ => 0,
    }
}

/// ModRM mod 00, rm 101: RIP-relative with a disp32.
fn rip_relative(modrm: u8) -> bool {
    modrm & 0xC7 == 0x05
}

/// ModRM mod 11 and reg 0 (`C7 /0` on a register).
fn register_direct(modrm: u8) -> bool {
    modrm & 0xF8 == 0xC0
}

/// What the stencil's load through a slot holding `slot` does.
fn loaded(kind: HoleKind, prefix: &[u8], slot: u64) -> Result<Effect, String> {
    let low = u64::from(slot as u32);
    match (kind, prefix) {
        (HoleKind::X86_64GotLoad, &[rex, 0x8B, modrm])
            if rex & 0xF0 == 0x40 && rip_relative(modrm) =>
        {
            Ok(Effect::Set {
                register: ((rex >> 2) & 1) << 3 | (modrm >> 3) & 7,
                value: if rex & 8 != 0 { slot } else { low },
            })
        }
        (HoleKind::X86_64GotLoadNoRex, &[0x8B, modrm]) if rip_relative(modrm) => Ok(Effect::Set {
            register: (modrm >> 3) & 7,
            value: low,
        }),
        (HoleKind::X86_64GotLoadNoRex, &[0xFF, 0x15]) => Ok(Effect::Call(slot)),
        (HoleKind::X86_64GotLoadNoRex, &[0xFF, 0x25]) => Ok(Effect::Jump(slot)),
        _ => Err(format!(
            "rewrote {prefix:02x?}, which is not a {kind:?} the patcher may relax"
        )),
    }
}

/// What the rewritten instruction does: `prefix` the bytes before the
/// 32-bit field `imm`, which ends the instruction at `location + 4`.
fn rewritten(kind: HoleKind, prefix: &[u8], imm: u32, location: u64) -> Result<Effect, String> {
    let signed = imm as i32 as i64 as u64;
    let next = location.wrapping_add(4).wrapping_add(signed);
    match (kind, prefix) {
        // mov $imm32, %reg: REX.W sign-extends, without it the 32-bit move
        // zero-extends.
        (HoleKind::X86_64GotLoad, &[rex, 0xC7, modrm])
            if rex & 0xF6 == 0x40 && register_direct(modrm) =>
        {
            Ok(Effect::Set {
                register: (rex & 1) << 3 | modrm & 7,
                value: if rex & 8 != 0 { signed } else { u64::from(imm) },
            })
        }
        // lea disp32(%rip), %reg
        (HoleKind::X86_64GotLoad, &[rex, 0x8D, modrm])
            if rex & 0xF0 == 0x40 && rip_relative(modrm) =>
        {
            Ok(Effect::Set {
                register: ((rex >> 2) & 1) << 3 | (modrm >> 3) & 7,
                value: if rex & 8 != 0 {
                    next
                } else {
                    u64::from(next as u32)
                },
            })
        }
        (HoleKind::X86_64GotLoadNoRex, &[0xC7, modrm]) if register_direct(modrm) => {
            Ok(Effect::Set {
                register: modrm & 7,
                value: u64::from(imm),
            })
        }
        // addr32 call rel32; nop; jmp rel32.
        (HoleKind::X86_64GotLoadNoRex, &[0x67, 0xE8]) => Ok(Effect::Call(next)),
        (HoleKind::X86_64GotLoadNoRex, &[0x90, 0xE9]) => Ok(Effect::Jump(next)),
        _ => Err(format!(
            "rewrote a {kind:?} into {prefix:02x?}, which is no direct form"
        )),
    }
}

/// Checks the GOT load hole of `kind` whose disp32 is at `at` in a stencil's
/// `original` and `emitted` code, at address `location`, whose slot holds
/// `slot`. `Ok(false)`: the instruction was left as it was (its disp32 is
/// then an ordinary hole); `Ok(true)`: rewritten into an equivalent direct
/// form.
pub fn check_relaxed(
    kind: HoleKind,
    original: &[u8],
    emitted: &[u8],
    at: usize,
    location: u64,
    slot: u64,
) -> Result<bool, String> {
    let len = prefix_len(kind);
    let Some(start) = at.checked_sub(len) else {
        return Ok(false);
    };
    let (Some(before), Some(after)) = (original.get(start..at + 4), emitted.get(start..at + 4))
    else {
        return Ok(false);
    };
    if len == 0 || before[..len] == after[..len] {
        return Ok(false);
    }
    let imm = u32::from_le_bytes([after[len], after[len + 1], after[len + 2], after[len + 3]]);
    let intended = loaded(kind, &before[..len], slot)?;
    let actual = rewritten(kind, &after[..len], imm, location)?;
    if intended == actual {
        Ok(true)
    } else {
        Err(format!(
            "rewrote the GOT load into {actual:x?}, but through its slot ({slot:#x}) it does {intended:x?}"
        ))
    }
}
