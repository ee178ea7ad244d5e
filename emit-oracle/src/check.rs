//! The oracle: lay out and emit a case, then either justify the error or
//! read every byte of the trace back.

use std::collections::BTreeMap;

use runtime::{emit, EmitError, Hole, HoleKind, HoleSite, HoleValue, Layout, Section, TraceOp};

use crate::case::Case;
use crate::decode::{decode, field_mask, width};
use crate::got;
use crate::intended::{placements, value, NoValue, Placed};
use crate::layout::{self, served};
use crate::reach::reaches;
use crate::trampoline;

/// How a case ended, when the oracle found nothing wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Emitted, and every byte checked.
    Emitted,
    /// Emission refused, for a reason the oracle confirmed.
    Refused(EmitError),
    /// Layout refused, for a reason the oracle confirmed.
    NoLayout(EmitError),
}

/// What the checked cases exercised, so a test can tell that the oracle did
/// not pass by checking nothing.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Holes read back, by kind.
    pub holes: BTreeMap<HoleKind, usize>,
    /// Holes that reach their symbol through a trampoline.
    pub trampolines: usize,
    /// GOT loads rewritten into a direct form.
    pub relaxed: usize,
}

/// Lays out and emits `case`; `Err` says what the runtime got wrong.
pub fn check(case: &Case, stats: &mut Stats) -> Result<Outcome, String> {
    check_case(case, stats).map_err(|problem| format!("{problem}\n  in {}", describe(case)))
}

fn describe(case: &Case) -> String {
    let ops: Vec<String> = case
        .ops
        .iter()
        .map(|op| {
            format!(
                "{}.{}(values {:#x?}, jump {})",
                op.uop, op.variant, op.values, op.jump_target
            )
        })
        .collect();
    format!(
        "{}: ops [{}], symbols {:#x?}, base {:#x} ({}), then + {:#x}, data start align {}{}, fill {:#04x}, slack {}",
        case.table.target,
        ops.join(", "),
        case.symbols,
        case.base,
        if case.aligned { "aligned" } else { "misaligned" },
        case.rebase,
        case.data_start_align,
        if case.reuse_layout { " (layout recomputed)" } else { "" },
        case.fill,
        case.slack
    )
}

fn check_case(case: &Case, stats: &mut Stats) -> Result<Outcome, String> {
    let table = case.table;
    let unknown = case
        .ops
        .iter()
        .position(|op| table.stencil(op.uop, op.variant).is_none());
    let fresh = Layout::with_data_start_align(table, &case.ops, case.data_start_align);
    if case.reuse_layout {
        // Recomputed in place of the layout of a trace of every uop, it
        // must be the same as a fresh one.
        let other: Vec<TraceOp> = (0..table.info.len() as u16)
            .flat_map(|uop| {
                (0..=table.cache).map(move |variant| TraceOp {
                    variant,
                    ..TraceOp::new(uop)
                })
            })
            .collect();
        let mut layout = Layout::with_data_start_align(table, &other, 16).unwrap_or_default();
        let recomputed = layout
            .recompute(table, &case.ops, case.data_start_align)
            .map(|()| layout);
        if recomputed != fresh {
            return Err(format!(
                "a recomputed layout differs from a fresh one: {recomputed:?} vs {fresh:?}"
            ));
        }
    }
    let layout = match fresh {
        Ok(layout) => layout,
        Err(error) => {
            let justified = match error {
                EmitError::UnknownUop { op, uop } => {
                    unknown == Some(op)
                        && case.ops[op].uop == uop
                        && usize::from(uop) >= table.info.len()
                }
                EmitError::UnknownVariant {
                    op,
                    uop,
                    variant,
                    cache,
                } => {
                    unknown == Some(op)
                        && case.ops[op].uop == uop
                        && case.ops[op].variant == variant
                        && variant > cache
                        && cache == table.cache
                }
                EmitError::BadAlignment {
                    op: None,
                    section: Section::Data,
                    align,
                    ..
                } => {
                    !case.data_start_align.is_power_of_two()
                        && align == case.data_start_align as u64
                }
                _ => false,
            };
            return if justified {
                Ok(Outcome::NoLayout(error))
            } else {
                Err(format!("layout refused: {error}"))
            };
        }
    };
    if let Some(op) = unknown {
        return Err(format!("laid out op {op}, whose uop is not in the table"));
    }
    if !case.data_start_align.is_power_of_two() {
        return Err("laid out with a data start alignment that is not a power of two".into());
    }
    layout::check(table, &case.ops, &layout, case.data_start_align)
        .map_err(|problem| format!("wrong layout: {problem}"))?;

    let aligned_base = case.base & !(layout.align as u64 - 1);
    let (base, aligned) = if case.aligned {
        (aligned_base, true)
    } else {
        (aligned_base | 8, false)
    };
    let outcome = emit_at(case, &layout, base, aligned, case.fill, stats)?;
    // A layout serves any base: the same trace elsewhere, into a buffer
    // filled differently.
    let elsewhere = base.wrapping_add(case.rebase) & !(layout.align as u64 - 1);
    emit_at(case, &layout, elsewhere, true, !case.fill, stats)
        .map_err(|problem| format!("at a second base {elsewhere:#x}: {problem}"))?;
    Ok(outcome)
}

/// Emits the laid out `case` at `base` into a buffer of `fill` and checks
/// the result.
fn emit_at(
    case: &Case,
    layout: &Layout,
    base: u64,
    aligned: bool,
    fill: u8,
    stats: &mut Stats,
) -> Result<Outcome, String> {
    let trace = Trace {
        case,
        layout,
        placed: placements(case.table, &case.ops, layout),
        base,
        aligned,
    };
    let mut buf = vec![fill; layout.len + case.slack];
    match emit(case.table, &case.ops, layout, &case.symbols, &mut buf, base) {
        Err(error) => {
            trace
                .justify(&error)
                .map_err(|why| format!("refused ({error}), but {why}"))?;
            Ok(Outcome::Refused(error))
        }
        Ok(()) => {
            if let Some(why) = trace.must_refuse() {
                return Err(format!("emitted, but {why}"));
            }
            if buf[layout.len..].iter().any(|&b| b != fill) {
                return Err("wrote past the layout's length".into());
            }
            trace.check_bytes(&buf, stats)?;
            Ok(Outcome::Emitted)
        }
    }
}

/// A laid out case at its base address.
struct Trace<'a> {
    case: &'a Case,
    layout: &'a Layout,
    placed: Vec<Placed<'a>>,
    base: u64,
    /// Whether `base` is aligned as the layout requires.
    aligned: bool,
}

impl Trace<'_> {
    fn arch(&self) -> runtime::Arch {
        self.case.table.arch
    }

    fn holes<'p>(placed: &'p Placed<'_>, section: Section) -> &'p [Hole] {
        match section {
            Section::Code => placed.stencil.code_holes,
            Section::Data => placed.stencil.data_holes,
        }
    }

    /// Where a hole of `placed` is, as an offset from the base.
    fn offset(placed: &Placed<'_>, section: Section, hole: &Hole) -> usize {
        let start = match section {
            Section::Code => placed.code,
            Section::Data => placed.data,
        };
        start + hole.offset as usize
    }

    /// `S` of a hole and its address `P`.
    fn target(
        &self,
        placed: &Placed<'_>,
        section: Section,
        hole: &Hole,
    ) -> Result<(u64, u64), NoValue> {
        let case = self.case;
        let value = value(
            hole.value,
            placed,
            &case.ops,
            self.layout,
            &case.symbols,
            self.base,
        )?;
        let location = self
            .base
            .wrapping_add(Self::offset(placed, section, hole) as u64);
        Ok((value.wrapping_add(hole.addend as u64), location))
    }

    fn all_holes(&self) -> impl Iterator<Item = (&Placed<'_>, Section, &Hole)> {
        self.placed.iter().flat_map(|placed| {
            [Section::Code, Section::Data]
                .into_iter()
                .flat_map(move |section| {
                    Self::holes(placed, section)
                        .iter()
                        .map(move |hole| (placed, section, hole))
                })
        })
    }

    /// Why emission must fail, if it must.
    fn must_refuse(&self) -> Option<String> {
        if !self.aligned {
            return Some(format!("base {:#x} is misaligned", self.base));
        }
        for (placed, section, hole) in self.all_holes() {
            if let Err(why) = self.target(placed, section, hole) {
                let name = placed.name(self.case.table, &self.case.ops);
                return Some(format!(
                    "{name}'s {section} hole at +{:#x} has no value: {why:?}",
                    hole.offset
                ));
            }
        }
        if let Some(symbol) = self
            .layout
            .trampoline_symbols
            .iter()
            .find(|&&symbol| usize::from(symbol) >= self.case.symbols.len())
        {
            return Some(format!("trampoline symbol {symbol} has no address"));
        }
        None
    }

    /// The hole an error names, with its stencil.
    fn at_site(&self, site: &HoleSite) -> Result<(&Placed<'_>, &Hole), String> {
        let placed = self
            .placed
            .iter()
            .find(|placed| placed.op == site.op)
            .ok_or("the error names an op the trace does not have")?;
        let hole = Self::holes(placed, site.section)
            .iter()
            .find(|hole| hole.offset == site.offset && hole.kind == site.kind)
            .ok_or("the error names a hole the stencil does not have")?;
        Ok((placed, hole))
    }

    /// Confirms the reason emission gave for failing.
    fn justify(&self, error: &EmitError) -> Result<(), String> {
        let case = self.case;
        let arch = self.arch();
        match *error {
            EmitError::MisalignedBase { base, align } => {
                if self.aligned || base != self.base || align != self.layout.align {
                    return Err("the base is aligned as the layout asks".into());
                }
            }
            EmitError::MissingSymbol { site, symbol, .. } => {
                if usize::from(symbol) < case.symbols.len() {
                    return Err(format!("symbol {symbol} has an address"));
                }
                let used = match site {
                    Some(site) => self.at_site(&site)?.1.value == HoleValue::Symbol(symbol),
                    None => self.layout.trampoline_symbols.contains(&symbol),
                };
                if !used {
                    return Err(format!("nothing named there uses symbol {symbol}"));
                }
            }
            EmitError::JumpTargetOutOfRange {
                site,
                jump_target,
                ops,
            } => {
                let (placed, hole) = self.at_site(&site)?;
                let op = placed.op.map(|i| &case.ops[i]);
                if hole.value != HoleValue::JumpTarget
                    || op.map(|op| op.jump_target) != Some(jump_target)
                    || ops != case.ops.len()
                    || (jump_target as usize) < ops
                {
                    return Err("the jump target is an op of the trace".into());
                }
            }
            EmitError::ValueOutsideOp { site, value } => {
                let (placed, hole) = self.at_site(&site)?;
                let op_only = matches!(value, HoleValue::OpValue(_) | HoleValue::JumpTarget);
                if placed.op.is_some() || hole.value != value || !op_only {
                    return Err("the hole's value exists there".into());
                }
            }
            EmitError::GotSlotOutsideData { site, slot } => {
                let (placed, hole) = self.at_site(&site)?;
                let (target, _) = self
                    .target(placed, site.section, hole)
                    .map_err(|e| format!("{e:?}"))?;
                if slot != target.wrapping_add(4) || self.slot(placed, slot).is_some() {
                    return Err(format!("the slot at {slot:#x} is in the stencil's data"));
                }
            }
            EmitError::Patch { site, value, .. } => {
                let (placed, hole) = self.at_site(&site)?;
                if hole.value != value {
                    return Err(format!("the hole's value is {:?}", hole.value));
                }
                let (target, location) = self.target(placed, site.section, hole).map_err(|e| {
                    format!("the hole has no value ({e:?}), which is another error")
                })?;
                if reaches(hole.kind, arch, location, target) {
                    return Err(format!(
                        "{:?} at {location:#x} reaches {target:#x}",
                        hole.kind
                    ));
                }
                if let (HoleValue::Symbol(symbol), Section::Code) = (hole.value, site.section) {
                    if let Some(at) = self.trampoline_at(symbol) {
                        let through = self
                            .base
                            .wrapping_add(at as u64)
                            .wrapping_add(hole.addend as u64);
                        if served(arch, hole.kind) && reaches(hole.kind, arch, location, through) {
                            return Err(format!("the trampoline at {through:#x} is in reach"));
                        }
                    }
                }
            }
            EmitError::AddressOverflow { base, len } => {
                if base != self.base
                    || len != self.layout.len
                    || base.checked_add(len as u64).is_some()
                {
                    return Err("the trace ends below the top of the address space".into());
                }
            }
            EmitError::UnknownUop { .. }
            | EmitError::UnknownVariant { .. }
            | EmitError::BadAlignment { .. }
            | EmitError::TooLarge
            | EmitError::BufferTooSmall { .. }
            | EmitError::LayoutMismatch => {
                return Err("the layout is the trace's and the buffer is long enough".into())
            }
        }
        Ok(())
    }

    /// Offset of the trampoline of `symbol` from the base.
    fn trampoline_at(&self, symbol: u16) -> Option<usize> {
        let index = self
            .layout
            .trampoline_symbols
            .iter()
            .position(|&s| s == symbol)?;
        Some(self.layout.trampoline_offset + index * trampoline::size(self.arch())?)
    }

    /// The value of the GOT slot at trace address `slot`, if it is inside
    /// `placed`'s data.
    fn slot_in(&self, buf: &[u8], placed: &Placed<'_>, slot: u64) -> Option<u64> {
        let at = self.slot(placed, slot)?;
        Some(u64::from_le_bytes(*buf.get(at..)?.first_chunk::<8>()?))
    }

    /// Offset from the base of the slot at `slot`, if inside `placed`'s data.
    fn slot(&self, placed: &Placed<'_>, slot: u64) -> Option<usize> {
        let start = self.base.wrapping_add(placed.data as u64);
        let offset = usize::try_from(slot.checked_sub(start)?).ok()?;
        (offset.checked_add(8)? <= placed.stencil.data.len()).then_some(placed.data + offset)
    }

    /// Reads every byte of an emitted trace back.
    fn check_bytes(&self, buf: &[u8], stats: &mut Stats) -> Result<(), String> {
        let arch = self.arch();
        let layout = self.layout;
        // Which bytes a stencil or trampoline accounts for.
        let mut owned = vec![false; layout.len];
        for placed in &self.placed {
            let name = placed.name(self.case.table, &self.case.ops);
            self.check_stencil(buf, placed, Section::Code, stats)
                .map_err(|why| format!("{name}, code: {why}"))?;
            self.check_stencil(buf, placed, Section::Data, stats)
                .map_err(|why| format!("{name}, data: {why}"))?;
            owned[placed.code..placed.code + placed.stencil.code.len()].fill(true);
            owned[placed.data..placed.data + placed.stencil.data.len()].fill(true);
        }
        let size = trampoline::size(arch).unwrap_or(0);
        for (i, &symbol) in layout.trampoline_symbols.iter().enumerate() {
            let at = layout.trampoline_offset + i * size;
            let target = trampoline::target(arch, buf, self.base, at)?;
            let address = self.case.symbols[usize::from(symbol)];
            if target != address {
                return Err(format!(
                    "trampoline {i} jumps to {target:#x}, but symbol {symbol} is at {address:#x}"
                ));
            }
            owned[at..at + size].fill(true);
        }
        let trap = match arch {
            runtime::Arch::X86_64 | runtime::Arch::I686 => 0xCC,
            runtime::Arch::Aarch64 | runtime::Arch::Riscv64 => 0x00,
        };
        for (at, (&byte, &owned)) in buf.iter().zip(&owned).enumerate() {
            let padding = if at < layout.data_offset { trap } else { 0 };
            if !owned && byte != padding {
                return Err(format!(
                    "padding byte at +{at:#x} is {byte:#04x}, not {padding:#04x}"
                ));
            }
        }
        Ok(())
    }

    /// Checks one stencil's code or data: every hole decodes to its `S`,
    /// every other bit is the stencil's.
    fn check_stencil(
        &self,
        buf: &[u8],
        placed: &Placed<'_>,
        section: Section,
        stats: &mut Stats,
    ) -> Result<(), String> {
        let arch = self.arch();
        let (start, original) = match section {
            Section::Code => (placed.code, placed.stencil.code),
            Section::Data => (placed.data, placed.stencil.data),
        };
        let emitted = &buf[start..start + original.len()];
        // Bytes a hole or a relaxed GOT load accounts for.
        let mut checked = vec![false; original.len()];
        for hole in Self::holes(placed, section) {
            let at = hole.offset as usize;
            let width = width(hole.kind);
            let here = format!(
                "{:?} hole at +{at:#x} ({:?}{:+#x})",
                hole.kind, hole.value, hole.addend
            );
            let (Some(before), Some(after)) =
                (original.get(at..at + width), emitted.get(at..at + width))
            else {
                return Err(format!(
                    "{here} runs past the stencil, yet emission succeeded"
                ));
            };
            let (target, location) = self
                .target(placed, section, hole)
                .map_err(|e| format!("{here} has no value ({e:?})"))?;
            let raw = |bytes: &[u8]| {
                let mut word = [0; 8];
                word[..bytes.len()].copy_from_slice(bytes);
                u64::from_le_bytes(word)
            };
            let changed = raw(before) ^ raw(after);
            if changed & !field_mask(hole.kind) != 0 {
                return Err(format!(
                    "{here}: bits outside its field changed ({:02x?} -> {:02x?})",
                    before, after
                ));
            }
            checked[at..at + width].fill(true);
            *stats.holes.entry(hole.kind).or_default() += 1;

            if section == Section::Code && got::prefix_len(hole.kind) > 0 {
                let slot = target.wrapping_add(4);
                let slot_value = self.slot_in(buf, placed, slot);
                let relaxed = got::check_relaxed(
                    hole.kind,
                    original,
                    emitted,
                    at,
                    location,
                    slot_value.unwrap_or(0),
                )
                .map_err(|why| format!("{here}: {why}"))?;
                if relaxed {
                    if slot_value.is_none() {
                        return Err(format!(
                            "{here}: relaxed, but its slot {slot:#x} is not in the stencil's data"
                        ));
                    }
                    checked[at - got::prefix_len(hole.kind)..at].fill(true);
                    stats.relaxed += 1;
                    continue;
                }
            }

            let Some(decoded) = decode(hole.kind, arch, after, location) else {
                return Err(format!("{here}: patched, but the kind has no encoding"));
            };
            if decoded.holds(location, target) {
                continue;
            }
            let through = match (hole.value, section) {
                (HoleValue::Symbol(symbol), Section::Code) if served(arch, hole.kind) => {
                    self.trampoline_at(symbol)
                }
                _ => None,
            };
            let Some(trampoline) = through else {
                return Err(format!(
                    "{here} at {location:#x} should encode {target:#x}, but decodes as {decoded:x?}"
                ));
            };
            let via = self
                .base
                .wrapping_add(trampoline as u64)
                .wrapping_add(hole.addend as u64);
            if !decoded.holds(location, via) {
                return Err(format!(
                    "{here} at {location:#x} should encode {target:#x} or its trampoline ({via:#x}), but decodes as {decoded:x?}"
                ));
            }
            if reaches(hole.kind, arch, location, target) {
                return Err(format!(
                    "{here} at {location:#x} goes through a trampoline, but reaches {target:#x} directly"
                ));
            }
            stats.trampolines += 1;
        }
        for (at, ((&was, &is), &checked)) in original.iter().zip(emitted).zip(&checked).enumerate()
        {
            if !checked && was != is {
                return Err(format!(
                    "byte +{at:#x} outside every hole is {is:#04x}, the stencil has {was:#04x}"
                ));
            }
        }
        Ok(())
    }
}
