//! Copying stencils into a trace and patching their holes.

use super::generated;
use super::layout::{uop_name, uop_stencil, Layout};
use super::TraceOp;
use crate::bytes;
use crate::error::{EmitError, HoleSite, Section};
use crate::hole::{Arch, Hole, HoleKind, HoleValue};
use crate::patch::{self, PatchError};
use crate::stencil::{Stencil, StencilTable};
use crate::trampoline;

/// Whether holes of `kind` are GOT loads the patcher may relax.
fn relaxable(kind: HoleKind) -> bool {
    matches!(kind, HoleKind::X86_64GotLoad | HoleKind::X86_64GotLoadNoRex)
}

/// Addresses a stencil's holes resolve against.
struct Place<'o> {
    op: Option<(usize, &'o TraceOp)>,
    code: u64,
    data: u64,
    continuation: u64,
}

/// Where one stencil of the trace goes.
struct Slot<'a> {
    stencil: &'a Stencil,
    place: Place<'a>,
    /// Offset of the stencil's code in the trace.
    code_offset: usize,
    /// Offset of the stencil's data from the start of the data.
    data_offset: usize,
}

pub(super) struct Emitter<'a> {
    pub table: &'a StencilTable,
    pub ops: &'a [TraceOp],
    pub layout: &'a Layout,
    pub symbols: &'a [u64],
    pub base: u64,
    /// Whether to use the table's generated emit functions.
    pub generated: bool,
}

impl<'a> Emitter<'a> {
    /// Emits everything. `code` is the trace up to the data, `data` the
    /// rest.
    #[inline(always)]
    pub fn emit_all(&self, code: &mut [u8], data: &mut [u8]) -> Result<(), EmitError> {
        let layout = self.layout;
        let padding = code_padding(self.table.arch);
        let shim = self.slot(None)?;
        self.emit_shim(&shim, code, data)?;
        let mut code_cursor = shim.stencil.code.len();
        let mut data_cursor = shim.stencil.data.len();
        let mut first = 0;
        if let Some(emitters) = self.emitters() {
            (first, code_cursor, data_cursor) =
                self.emit_generated(emitters, code, data, code_cursor, data_cursor)?;
        }
        for i in first..self.ops.len() {
            let slot = self.slot(Some(i))?;
            fill(code, code_cursor, slot.code_offset, padding)?;
            fill(data, data_cursor, slot.data_offset, 0)?;
            self.emit_stencil(&slot, code, data)?;
            code_cursor = slot.code_offset + slot.stencil.code.len();
            data_cursor = slot.data_offset + slot.stencil.data.len();
        }
        fill(code, code_cursor, layout.trampoline_offset, padding)?;
        let trampolines_end = self.emit_trampolines(code)?;
        let code_len = code.len();
        fill(code, trampolines_end, code_len, padding)?;
        let data_len = data.len();
        fill(data, data_cursor, data_len, 0)
    }

    /// The stencil of op `op` (the shim for `None`) and its addresses.
    #[inline(always)]
    fn slot(&self, op: Option<usize>) -> Result<Slot<'a>, EmitError> {
        let layout = self.layout;
        let data_start = self.base.wrapping_add(layout.data_offset as u64);
        let Some(i) = op else {
            let continuation = layout
                .op_offsets
                .first()
                .map_or(layout.code_end, |&offset| offset as usize);
            return Ok(Slot {
                stencil: &self.table.shim,
                place: Place {
                    op: None,
                    code: self.base,
                    data: data_start,
                    continuation: self.base.wrapping_add(continuation as u64),
                },
                code_offset: 0,
                data_offset: 0,
            });
        };
        let (Some(op), Some(&code_offset), Some(&data_offset)) = (
            self.ops.get(i),
            layout.op_offsets.get(i),
            layout.op_data_offsets.get(i),
        ) else {
            return Err(EmitError::LayoutMismatch);
        };
        let stencil = uop_stencil(self.table, i, op)?;
        let code_offset = code_offset as usize;
        let data_offset = (data_offset as usize)
            .checked_sub(layout.data_offset)
            .ok_or(EmitError::LayoutMismatch)?;
        let continuation = layout
            .op_offsets
            .get(i + 1)
            .map_or(code_offset + stencil.code.len(), |&offset| offset as usize);
        Ok(Slot {
            stencil,
            place: Place {
                op: Some((i, op)),
                code: self.base.wrapping_add(code_offset as u64),
                data: data_start.wrapping_add(data_offset as u64),
                continuation: self.base.wrapping_add(continuation as u64),
            },
            code_offset,
            data_offset,
        })
    }

    /// Emits ops with their generated functions, from the first, as long
    /// as everything is as the layout says; returns the index of the first
    /// op not emitted (for the table-driven loop to take over, and find
    /// what is wrong) and the cursors past what is emitted. A function
    /// that defers has its stencil emitted the table-driven way here.
    #[inline(always)]
    fn emit_generated(
        &self,
        emitters: &generated::Emitters,
        code: &mut [u8],
        data: &mut [u8],
        mut code_cursor: usize,
        mut data_cursor: usize,
    ) -> Result<(usize, usize, usize), EmitError> {
        let (table, layout) = (self.table, self.layout);
        let padding = code_padding(table.arch);
        let variants = usize::from(table.cache) + 1;
        let data_start = self.base.wrapping_add(layout.data_offset as u64);
        let offsets = layout.op_offsets.iter().zip(&layout.op_data_offsets);
        for (i, (op, (&code_offset, &data_offset))) in self.ops.iter().zip(offsets).enumerate() {
            let index = usize::from(op.uop) * variants + usize::from(op.variant);
            let (Some(stencil), Some(&emit), true) = (
                table.uops.get(index),
                emitters.uops.get(index),
                op.variant <= table.cache && usize::from(op.uop) < table.info.len(),
            ) else {
                return Ok((i, code_cursor, data_cursor));
            };
            let code_offset = code_offset as usize;
            let Some(data_offset) = (data_offset as usize).checked_sub(layout.data_offset) else {
                return Ok((i, code_cursor, data_cursor));
            };
            let code_end = code_offset + stencil.code.len();
            let data_end = data_offset + stencil.data.len();
            if code_cursor > code_offset
                || data_cursor > data_offset
                || code_end > code.len()
                || data_end > data.len()
            {
                return Ok((i, code_cursor, data_cursor));
            }
            // Usually nothing to fill: skip the call's length tests.
            if code_cursor < code_offset {
                bytes::fill(&mut code[code_cursor..code_offset], padding);
            }
            if data_cursor < data_offset {
                bytes::fill(&mut data[data_cursor..data_offset], 0);
            }
            let continuation = layout
                .op_offsets
                .get(i + 1)
                .map_or(code_end, |&offset| offset as usize);
            let at = generated::Place {
                code: self.base.wrapping_add(code_offset as u64),
                data: data_start.wrapping_add(data_offset as u64),
                continuation: self.base.wrapping_add(continuation as u64),
                jump_target: layout
                    .op_offsets
                    .get(op.jump_target as usize)
                    .map(|&offset| self.base.wrapping_add(u64::from(offset))),
                values: Some(&op.values),
                symbols: self.symbols,
            };
            if !emit(
                &mut code[code_offset..code_end],
                &mut data[data_offset..data_end],
                &at,
            ) {
                // Not patched in place: emitted again the table-driven
                // way, with the trampoline or the error it needs.
                let slot = self.slot(Some(i))?;
                self.emit_stencil(&slot, code, data)?;
            }
            code_cursor = code_end;
            data_cursor = data_end;
        }
        Ok((self.ops.len(), code_cursor, data_cursor))
    }

    fn emitters(&self) -> Option<&'static generated::Emitters> {
        self.table.emitters.filter(|_| self.generated)
    }

    /// Emits the shim with its generated function when the table has one
    /// and it succeeds, else the table-driven way.
    fn emit_shim(
        &self,
        shim: &Slot<'_>,
        code: &mut [u8],
        data: &mut [u8],
    ) -> Result<(), EmitError> {
        if let Some(emitters) = self.emitters() {
            let place = &shim.place;
            let at = generated::Place {
                code: place.code,
                data: place.data,
                continuation: place.continuation,
                jump_target: None,
                values: None,
                symbols: self.symbols,
            };
            let (shim_code, shim_data) = stencil_bytes(shim, code, data)?;
            if (emitters.shim)(shim_code, shim_data, &at) {
                return Ok(());
            }
        }
        self.emit_stencil(shim, code, data)
    }

    /// Writes the trampolines and returns where they end.
    fn emit_trampolines(&self, code: &mut [u8]) -> Result<usize, EmitError> {
        let mut offset = self.layout.trampoline_offset;
        if self.layout.trampoline_symbols.is_empty() {
            return Ok(offset);
        }
        let size = trampoline::size(self.table.arch).ok_or(EmitError::LayoutMismatch)?;
        for &symbol in &self.layout.trampoline_symbols {
            let address = *self
                .symbols
                .get(usize::from(symbol))
                .ok_or_else(|| self.missing_symbol(symbol, None))?;
            let slot = code
                .get_mut(offset..offset + size)
                .ok_or(EmitError::LayoutMismatch)?;
            if !trampoline::write(self.table.arch, slot, address) {
                return Err(EmitError::LayoutMismatch);
            }
            offset += size;
        }
        Ok(offset)
    }

    /// Copies one stencil and patches its data holes, then its code holes
    /// (a GOT load's relaxation reads the slot the data holes filled).
    #[inline(always)]
    fn emit_stencil(
        &self,
        slot: &Slot<'_>,
        code: &mut [u8],
        data: &mut [u8],
    ) -> Result<(), EmitError> {
        let (stencil, place) = (slot.stencil, &slot.place);
        let (code, data) = stencil_bytes(slot, code, data)?;
        bytes::copy(data, stencil.data);
        for hole in stencil.data_holes {
            self.patch_data_hole(hole, place, data)?;
        }
        bytes::copy(code, stencil.code);
        for hole in stencil.code_holes {
            self.patch_code_hole(hole, place, code, data)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn patch_data_hole(
        &self,
        hole: &Hole,
        place: &Place<'_>,
        data: &mut [u8],
    ) -> Result<(), EmitError> {
        let location = place.data.wrapping_add(u64::from(hole.offset));
        let target = self.wrap_rel32(
            hole.kind,
            location,
            self.target(hole, place, Section::Data)?,
        );
        patch::patch(hole.kind, data, hole.offset as usize, location, target)
            .map_err(|error| self.patch_error(place, Section::Data, hole, error))
    }

    #[inline(always)]
    fn patch_code_hole(
        &self,
        hole: &Hole,
        place: &Place<'_>,
        code: &mut [u8],
        data: &[u8],
    ) -> Result<(), EmitError> {
        let at = hole.offset as usize;
        let location = place.code.wrapping_add(u64::from(hole.offset));
        let target = self.wrap_rel32(
            hole.kind,
            location,
            self.target(hole, place, Section::Code)?,
        );
        if relaxable(hole.kind) {
            if let Some(form) = patch::got_load_form(hole.kind, code, at) {
                let slot_value = self.got_slot(hole, place, data, target)?;
                if patch::rewrite_got_load(code, at, form, location, slot_value) {
                    return Ok(());
                }
            }
        }
        let mut result = patch::patch(hole.kind, code, at, location, target);
        if let (Err(_), HoleValue::Symbol(symbol)) = (result, hole.value) {
            if let Some(offset) = self.trampoline_for(symbol, hole.kind) {
                let trampoline = self.base.wrapping_add(offset as u64);
                let target = trampoline.wrapping_add(hole.addend as u64);
                result = patch::patch(hole.kind, code, at, location, target);
            }
        }
        result.map_err(|error| self.patch_error(place, Section::Code, hole, error))
    }

    /// The content of a GOT load's slot, which must be in the stencil's own
    /// data (already patched).
    #[inline]
    fn got_slot(
        &self,
        hole: &Hole,
        place: &Place<'_>,
        data: &[u8],
        target: u64,
    ) -> Result<u64, EmitError> {
        generated::got_slot(data, place.data, target).ok_or_else(|| EmitError::GotSlotOutsideData {
            site: self.site(place, Section::Code, hole),
            slot: target.wrapping_add(4),
        })
    }

    /// On i686 a rel32 reaches every 32-bit address by wrapping around.
    #[inline(always)]
    fn wrap_rel32(&self, kind: HoleKind, location: u64, target: u64) -> u64 {
        if self.table.arch == Arch::I686
            && matches!(kind, HoleKind::PcRel32 | HoleKind::X86Branch32)
        {
            generated::wrap_rel32(location, target)
        } else {
            target
        }
    }

    fn trampoline_for(&self, symbol: u16, kind: HoleKind) -> Option<usize> {
        if trampoline::serves(self.table.arch, kind) {
            self.layout.trampoline(symbol)
        } else {
            None
        }
    }

    /// `S`: the hole's value plus its addend.
    #[inline(always)]
    fn target(&self, hole: &Hole, place: &Place<'_>, section: Section) -> Result<u64, EmitError> {
        let value = match hole.value {
            HoleValue::Code => place.code,
            HoleValue::Data => place.data,
            HoleValue::Continue => place.continuation,
            HoleValue::Zero => 0,
            HoleValue::Symbol(symbol) => match self.symbols.get(usize::from(symbol)) {
                Some(&address) => address,
                None => {
                    return Err(self.missing_symbol(symbol, Some(self.site(place, section, hole))))
                }
            },
            HoleValue::OpValue(_) | HoleValue::JumpTarget => {
                let Some((_, op)) = place.op else {
                    return Err(EmitError::ValueOutsideOp {
                        site: self.site(place, section, hole),
                        value: hole.value,
                    });
                };
                match hole.value {
                    HoleValue::OpValue(i) => match op.values.get(usize::from(i)) {
                        Some(&value) => value,
                        None => {
                            return Err(EmitError::ValueOutsideOp {
                                site: self.site(place, section, hole),
                                value: hole.value,
                            })
                        }
                    },
                    _ => self.jump_target(op, place, section, hole)?,
                }
            }
        };
        Ok(value.wrapping_add(hole.addend as u64))
    }

    fn jump_target(
        &self,
        op: &TraceOp,
        place: &Place<'_>,
        section: Section,
        hole: &Hole,
    ) -> Result<u64, EmitError> {
        match self.layout.op_offsets.get(op.jump_target as usize) {
            Some(&offset) => Ok(self.base.wrapping_add(u64::from(offset))),
            None => Err(EmitError::JumpTargetOutOfRange {
                site: self.site(place, section, hole),
                jump_target: op.jump_target,
                ops: self.ops.len(),
            }),
        }
    }

    #[cold]
    fn missing_symbol(&self, symbol: u16, site: Option<HoleSite>) -> EmitError {
        EmitError::MissingSymbol {
            site,
            symbol,
            name: self.table.symbols.get(usize::from(symbol)).copied(),
        }
    }

    #[cold]
    fn site(&self, place: &Place<'_>, section: Section, hole: &Hole) -> HoleSite {
        HoleSite {
            op: place.op.map(|(i, _)| i),
            uop: match place.op {
                Some((_, op)) => uop_name(self.table, op.uop),
                None => "shim",
            },
            section,
            offset: hole.offset,
            kind: hole.kind,
        }
    }

    #[cold]
    fn patch_error(
        &self,
        place: &Place<'_>,
        section: Section,
        hole: &Hole,
        error: PatchError,
    ) -> EmitError {
        let name = match hole.value {
            HoleValue::OpValue(i) => self.table.op_values.get(usize::from(i)).map(|v| v.name),
            HoleValue::Symbol(i) => self.table.symbols.get(usize::from(i)).copied(),
            _ => None,
        };
        EmitError::Patch {
            site: self.site(place, section, hole),
            value: hole.value,
            name,
            error,
        }
    }
}

/// The stencil's code and data bytes within the trace's code and data.
#[inline(always)]
fn stencil_bytes<'b>(
    slot: &Slot<'_>,
    code: &'b mut [u8],
    data: &'b mut [u8],
) -> Result<(&'b mut [u8], &'b mut [u8]), EmitError> {
    let code = code
        .get_mut(slot.code_offset..slot.code_offset + slot.stencil.code.len())
        .ok_or(EmitError::LayoutMismatch)?;
    let data = data
        .get_mut(slot.data_offset..slot.data_offset + slot.stencil.data.len())
        .ok_or(EmitError::LayoutMismatch)?;
    Ok((code, data))
}

/// Padding byte of code: a trap on x86 (`int3`); on AArch64 a zero word
/// is the permanently undefined `udf #0`, on RISC-V a zero halfword the
/// defined illegal instruction `c.unimp`.
fn code_padding(arch: Arch) -> u8 {
    match arch {
        Arch::X86_64 | Arch::I686 => 0xCC,
        Arch::Aarch64 | Arch::Riscv64 => 0x00,
    }
}

/// Fills `buf[from..to]` with `byte`.
#[inline(always)]
fn fill(buf: &mut [u8], from: usize, to: usize, byte: u8) -> Result<(), EmitError> {
    if from < to {
        bytes::fill(
            buf.get_mut(from..to).ok_or(EmitError::LayoutMismatch)?,
            byte,
        );
    }
    Ok(())
}
