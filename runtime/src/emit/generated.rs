//! What generated per-stencil emit functions are built from.
//!
//! `stencil-gen` writes one function per stencil into `generated/`: it
//! copies the stencil's code and data as fixed-size arrays and patches each
//! hole with its kind, offset and addend as constants, so nothing is
//! interpreted while emitting. A function returns `false` whenever the
//! table-driven emitter would do anything but patch in place (an error, a
//! trampoline): [`emit`](super::emit) then emits that stencil again the
//! table-driven way, which gives the bytes or the error. So the two
//! emitters give the same bytes and the same errors by construction, and
//! the tests check it over random traces of every table.

use super::MAX_OP_VALUES;
use crate::hole::HoleKind;
use crate::patch as holes;

/// Copies one stencil into `code` and `data` (exactly its lengths) and
/// patches its holes for the place `at`. `false`: nothing is promised of
/// the bytes, emit the stencil the table-driven way.
pub type EmitFn = fn(code: &mut [u8], data: &mut [u8], at: &Place<'_>) -> bool;

/// The generated emit functions of one stencil table.
#[derive(Clone, Copy, Debug)]
pub struct Emitters {
    pub shim: EmitFn,
    /// Indexed as the table's `uops`: `uop * (cache + 1) + variant`.
    pub uops: &'static [EmitFn],
}

/// The addresses one stencil's holes resolve against.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    /// Address of the stencil's code.
    pub code: u64,
    /// Address of the stencil's data.
    pub data: u64,
    /// Address of the next op's code.
    pub continuation: u64,
    /// Address of the op's jump target; `None` for the shim or an op whose
    /// jump target is not in the trace.
    pub jump_target: Option<u64>,
    /// The op's per-op values; `None` for the shim.
    pub values: Option<&'a [u64; MAX_OP_VALUES]>,
    /// The caller's symbol addresses.
    pub symbols: &'a [u64],
}

/// Patches a hole of `kind` in place; `false` if the value does not fit.
#[inline(always)]
pub fn patch(kind: HoleKind, buf: &mut [u8], at: usize, location: u64, target: u64) -> bool {
    holes::patch(kind, buf, at, location, target).is_ok()
}

/// An x86-64 GOT load: relaxed to a direct form where the slot's content
/// allows, else patched as the load it is. The slot is at `target + 4`
/// in the stencil's `data` (already patched), which starts at `data_at`.
#[inline(always)]
pub fn got_load(
    kind: HoleKind,
    code: &mut [u8],
    data: &[u8],
    data_at: u64,
    at: usize,
    location: u64,
    target: u64,
) -> bool {
    if let Some(form) = holes::got_load_form(kind, code, at) {
        let Some(value) = got_slot(data, data_at, target) else {
            return false;
        };
        if holes::rewrite_got_load(code, at, form, location, value) {
            return true;
        }
    }
    patch(kind, code, at, location, target)
}

/// The content of a GOT load's slot, if it is in `data` (starting at
/// `data_at`). The hole's `S` is the slot's address plus ELF's addend -4
/// (the disp32 ends the instruction), so the slot is at `S + 4`.
#[inline(always)]
pub(crate) fn got_slot(data: &[u8], data_at: u64, target: u64) -> Option<u64> {
    let offset = usize::try_from(target.wrapping_add(4).checked_sub(data_at)?).ok()?;
    let bytes = data.get(offset..offset.checked_add(8)?)?;
    let mut value = [0; 8];
    value.copy_from_slice(bytes);
    Some(u64::from_le_bytes(value))
}

/// On i686 a rel32 reaches every 32-bit address by wrapping around: a
/// 32-bit `target` becomes the address with its low 32 bits within ±2 GiB
/// of a 32-bit `location`. Both emitters use it.
#[inline(always)]
pub fn wrap_rel32(location: u64, target: u64) -> u64 {
    let is_32_bit = |address: u64| matches!(address >> 32, 0 | 0xFFFF_FFFF);
    if location >> 32 == 0 && is_32_bit(target) {
        let distance = target.wrapping_sub(location) as u32 as i32;
        location.wrapping_add(i64::from(distance) as u64)
    } else {
        target
    }
}
