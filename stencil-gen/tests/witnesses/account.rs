//! Checks 2 and 3: every relocation the witnesses report in a placed
//! section is a hole of the expected kind, value and addend, and every hole
//! comes from one of those relocations.

use std::collections::BTreeMap;

use runtime::HoleKind;
use stencil_gen::lower::Layout;
use stencil_gen::model::{Hole, StencilGroup, Value};
use stencil_gen::target::Target;

use super::addend::{effective, Site};
use super::mapping::{got_slot, hole_size, import_rule, rule, Code, Rule};
use super::report::{Format, Referent, Report, Role, Seen};

/// What the checks covered on one target.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub units: usize,
    /// Relocations accounted for, by type name.
    pub types: BTreeMap<String, usize>,
    pub got_loads: usize,
    /// RISC-V PCREL_LO12 relocations resolved through their HI20.
    pub pcrel_pairs: usize,
    /// Mach-O relocations with a folded ARM64_RELOC_ADDEND.
    pub addend_pairs: usize,
    pub trailing_jumps: usize,
    /// Sections lowering leaves out, with their relocation count.
    pub skipped: BTreeMap<String, usize>,
}

/// Everything about one lowered object the accounting needs.
pub struct Lowered<'a> {
    pub target: &'a Target,
    pub uop: &'a str,
    /// The witness whose section contents are read for implicit addends.
    pub report: &'a Report,
    /// Every relocation either witness reports.
    pub relocations: &'a [Seen],
    pub group: &'a StencilGroup,
    pub layout: &'a Layout,
}

/// A failure message naming target, uop, section, offset and type.
pub fn at(target: &Target, uop: &str, report: &Report, seen: &Seen, problem: &str) -> String {
    format!(
        "{} `{uop}` {}+{:#x} {}: {problem}",
        target.triple,
        report.section_name(seen.section),
        seen.offset,
        seen.type_name
    )
}

/// Check that relocations and holes match one to one; returns failures.
pub fn account(lowered: &Lowered<'_>, tally: &mut Tally) -> Vec<String> {
    let placed = match placements(lowered.report, lowered.layout) {
        Ok(placed) => placed,
        Err(problem) => {
            return vec![format!(
                "{} `{}`: {problem}",
                lowered.target.triple, lowered.uop
            )]
        }
    };
    let mut failures = same_bytes(lowered, &placed);
    let mut accounting = Accounting {
        lowered,
        placed,
        holes: Holes::new(lowered.group),
        trailing: 0,
        failures: std::mem::take(&mut failures),
    };
    tally.units += 1;
    for seen in lowered.relocations {
        if let Err(problem) = accounting.relocation(seen, tally) {
            let failure = at(lowered.target, lowered.uop, lowered.report, seen, &problem);
            accounting.failures.push(failure);
        }
    }
    accounting.finish()
}

/// Where lowering put one section of the object.
#[derive(Clone, Copy, Debug)]
struct Placed {
    in_code: bool,
    offset: u64,
}

/// Map each section lowering placed to the object's section (by index):
/// placements are in section order, so each is the next section of its
/// name and size.
fn placements(report: &Report, layout: &Layout) -> Result<BTreeMap<usize, Placed>, String> {
    let mut placed = BTreeMap::new();
    let mut next = 0;
    for placement in &layout.placements {
        let found = report.sections[next..]
            .iter()
            .position(|s| s.is_named(&placement.section) && s.size == placement.size)
            .ok_or_else(|| {
                format!(
                    "lowering placed section {} ({} bytes), which the object does not have there",
                    placement.section, placement.size
                )
            })?;
        let section = &report.sections[next + found];
        placed.insert(
            section.index,
            Placed {
                in_code: placement.in_code,
                offset: placement.offset,
            },
        );
        next += found + 1;
    }
    Ok(placed)
}

/// Each placed section's bytes are where lowering says it put them, but for
/// the bytes holes rewrite and a removed trailing jump.
fn same_bytes(lowered: &Lowered<'_>, placed: &BTreeMap<usize, Placed>) -> Vec<String> {
    let group = lowered.group;
    let mut failures = Vec::new();
    for (&index, place) in placed {
        let Some(section) = lowered.report.section(index) else {
            continue;
        };
        let (stencil, holes) = if place.in_code {
            (&group.code, &group.code_holes)
        } else {
            (&group.data, &group.data_holes)
        };
        let rewritten = |at: u64| {
            holes.iter().any(|h| {
                (u64::from(h.offset)..u64::from(h.offset) + hole_size(h.kind)).contains(&at)
            })
        };
        let differs = section.bytes.iter().enumerate().find(|&(i, byte)| {
            let at = place.offset + i as u64;
            match stencil.get(at as usize) {
                Some(copied) => copied != byte && !rewritten(at),
                // Only the code may end early, by the removed trailing jump.
                None => !(place.in_code && group.trailing_jump_removed),
            }
        });
        if let Some((i, _)) = differs {
            failures.push(format!(
                "{} `{}` {}+{i:#x}: the stencil's {} bytes at {:#x} are not the section's",
                lowered.target.triple,
                lowered.uop,
                section.name,
                part(place.in_code),
                place.offset + i as u64
            ));
        }
    }
    failures
}

/// The stencil's holes, each claimed at most once.
struct Holes<'a> {
    holes: Vec<(bool, &'a Hole)>,
    used: Vec<bool>,
}

impl<'a> Holes<'a> {
    fn new(group: &'a StencilGroup) -> Self {
        let holes: Vec<(bool, &Hole)> = group
            .code_holes
            .iter()
            .map(|h| (true, h))
            .chain(group.data_holes.iter().map(|h| (false, h)))
            .collect();
        let used = vec![false; holes.len()];
        Holes { holes, used }
    }

    /// The hole at this place, if any (claimed or not).
    fn at(&self, in_code: bool, offset: u64) -> Option<(usize, &'a Hole)> {
        self.holes
            .iter()
            .enumerate()
            .find(|(_, (code, h))| *code == in_code && u64::from(h.offset) == offset)
            .map(|(i, (_, h))| (i, *h))
    }
}

/// `+0x10` or `-0x4`.
fn signed(value: i64) -> String {
    if value < 0 {
        format!("-{:#x}", value.unsigned_abs())
    } else {
        format!("+{value:#x}")
    }
}

fn part(in_code: bool) -> &'static str {
    if in_code {
        "code"
    } else {
        "data"
    }
}

/// The hole value of an undefined symbol, by the stencil ABI's names.
fn external_value(name: &str, prefix: &str) -> Value {
    let bare = name.strip_prefix(prefix).unwrap_or(name);
    match bare {
        "_JIT_CONTINUE" => Value::Continue,
        "_JIT_JUMP_TARGET" => Value::JumpTarget,
        "_JIT_OPARG" => Value::OpValue("oparg".into()),
        "_JIT_OPERAND" => Value::OpValue("operand".into()),
        "_JIT_DEOPT_TARGET" => Value::OpValue("deopt_target".into()),
        _ => Value::Symbol(bare.to_string()),
    }
}

/// What one relocation must be in the stencil.
struct Expected {
    rule: Rule,
    kind: HoleKind,
    in_code: bool,
    /// Offset of the hole in code or data.
    offset: u64,
    /// The referent as a hole value, and its offset from that value.
    value: Value,
    base: i64,
    /// The relocation's effective addend (ELF terms).
    addend: i64,
}

struct Accounting<'a, 'b> {
    lowered: &'b Lowered<'a>,
    placed: BTreeMap<usize, Placed>,
    holes: Holes<'a>,
    /// Relocations taken as the removed trailing jump.
    trailing: usize,
    failures: Vec<String>,
}

impl<'a> Accounting<'a, '_> {
    /// Account for one relocation, or say why it is not.
    fn relocation(&mut self, seen: &Seen, tally: &mut Tally) -> Result<(), String> {
        let Some(expected) = self.expect(seen, tally)? else {
            return Ok(());
        };
        let Some((index, hole)) = self.holes.at(expected.in_code, expected.offset) else {
            return self.removed_trailing_jump(&expected, seen, tally);
        };
        if self.holes.used[index] {
            return Err("two relocations claim the same hole".into());
        }
        self.holes.used[index] = true;
        *tally.types.entry(seen.type_name.clone()).or_default() += 1;
        if seen.addend.is_some() && self.lowered.report.format == Format::MachO {
            tally.addend_pairs += 1;
        }
        let mut problems = Vec::new();
        if hole.kind != expected.kind {
            problems.push(format!(
                "kind {:?}, expected {:?}",
                hole.kind, expected.kind
            ));
        }
        let checked = match expected.rule {
            Rule::Direct(_) => direct(hole, &expected),
            Rule::Got(_) => {
                tally.got_loads += 1;
                self.got(hole, &expected)
            }
            Rule::PcRelLo(_) => {
                tally.pcrel_pairs += 1;
                self.pcrel_lo(hole, &expected, seen)
            }
        };
        problems.extend(checked.err());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The hole a relocation must be, or `None` for one in a section
    /// lowering rightly leaves out.
    fn expect(&self, seen: &Seen, tally: &mut Tally) -> Result<Option<Expected>, String> {
        let Lowered { target, report, .. } = self.lowered;
        let Some(place) = self.placed.get(&seen.section).copied() else {
            let section = report.section(seen.section);
            return match section.map(|s| s.role) {
                Some(Role::Unwind | Role::Metadata) => {
                    let name = section.map(|s| s.name.clone()).unwrap_or_default();
                    *tally.skipped.entry(name).or_default() += 1;
                    Ok(None)
                }
                _ => Err(
                    "lowering left out this section, which holds code or data, with its relocations"
                        .into(),
                ),
            };
        };
        let code = Code {
            bytes: report.section(seen.section).map_or(&[][..], |s| &s.bytes),
            at: seen.offset as usize,
        };
        let width = seen.mach.map(|(_, width)| width);
        let rule = rule(report.format, report.machine, &seen.type_name, width, code)?;
        let effective = effective(report, seen)?;
        // COFF reaches a symbol a DLL exports through its `__imp_` pointer,
        // which the stencil keeps in a GOT slot.
        let imported = match (&effective.site, report.format) {
            (Site::External(name), Format::Coff) => name
                .strip_prefix("__imp_")
                .map(|bare| Site::External(bare.to_string())),
            _ => None,
        };
        let rule = match imported {
            Some(_) => import_rule(rule, report.machine, effective.addend, code),
            None => rule,
        };
        let (value, base) = match imported.unwrap_or(effective.site) {
            Site::External(name) => (external_value(&name, target.symbol_prefix), 0),
            Site::Absolute => (Value::Zero, 0),
            Site::InSection { section, offset } => self.in_section(section, offset)?,
        };
        let (Rule::Direct(kind) | Rule::Got(kind) | Rule::PcRelLo(kind)) = rule;
        Ok(Some(Expected {
            rule,
            kind,
            in_code: place.in_code,
            offset: place.offset + seen.offset,
            value,
            base,
            addend: effective.addend,
        }))
    }

    /// The hole value and offset of a place in a section of the object.
    fn in_section(&self, section: usize, offset: u64) -> Result<(Value, i64), String> {
        let report = self.lowered.report;
        if offset > report.section(section).map_or(0, |s| s.size) {
            return Err(format!(
                "refers to {}+{offset:#x}, past the end of the section",
                report.section_name(section)
            ));
        }
        let place = self.placed.get(&section).ok_or_else(|| {
            format!(
                "refers to section {}, which lowering did not place",
                report.section_name(section)
            )
        })?;
        let value = if place.in_code {
            Value::Code
        } else {
            Value::Data
        };
        Ok((value, (place.offset + offset) as i64))
    }

    /// A relocation with no hole is fine only as the continuation jump at
    /// the very end of the code, when lowering says it removed it.
    fn removed_trailing_jump(
        &mut self,
        expected: &Expected,
        seen: &Seen,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let Lowered { group, layout, .. } = self.lowered;
        let code_end = layout
            .placements
            .iter()
            .filter(|p| p.in_code)
            .map(|p| p.offset + p.size)
            .max()
            .unwrap_or(0);
        if expected.in_code
            && group.trailing_jump_removed
            && matches!(expected.rule, Rule::Direct(_))
            && expected.value == Value::Continue
            && expected.offset >= group.code.len() as u64
            && expected.offset + hole_size(expected.kind) == code_end
        {
            self.trailing += 1;
            tally.trailing_jumps += 1;
            *tally.types.entry(seen.type_name.clone()).or_default() += 1;
            return Ok(());
        }
        let what = match expected.rule {
            Rule::Got(_) => "a GOT slot holding ",
            _ => "",
        };
        Err(format!(
            "no hole at {}+{:#x} (expected {:?} of {what}{:?}{})",
            part(expected.in_code),
            expected.offset,
            expected.kind,
            expected.value,
            signed(expected.base + expected.addend)
        ))
    }

    /// A GOT relocation's hole holds the address of a GOT slot plus the
    /// addend, and the slot's data hole holds the referent.
    fn got(&mut self, hole: &Hole, expected: &Expected) -> Result<(), String> {
        let layout = self.lowered.layout;
        let (slot_kind, slot_size) = got_slot();
        let slot = hole.addend.wrapping_sub(expected.addend) as u64;
        let into = slot.wrapping_sub(layout.got_offset);
        let in_got = slot >= layout.got_offset && into < slot_size * layout.got_slots as u64;
        if hole.value != Value::Data || !in_got || into / slot_size * slot_size != into {
            return Err(format!(
                "value {:?}{} is not a GOT slot plus the addend {} (GOT at data+{:#x}, {} slots)",
                hole.value,
                signed(hole.addend),
                signed(expected.addend),
                layout.got_offset,
                layout.got_slots
            ));
        }
        let (index, content) = self
            .holes
            .at(false, slot)
            .ok_or_else(|| format!("its GOT slot at data+{slot:#x} has no hole"))?;
        self.holes.used[index] = true;
        if content.kind != slot_kind
            || content.value != expected.value
            || content.addend != expected.base
        {
            return Err(format!(
                "its GOT slot at data+{slot:#x} holds {:?} {:?}{}, expected {slot_kind:?} {:?}{}",
                content.kind,
                content.value,
                signed(content.addend),
                expected.value,
                signed(expected.base)
            ));
        }
        Ok(())
    }

    /// A PCREL_LO12 hole has its AUIPC's value, and an addend that makes
    /// `S - P` here what it is at the AUIPC.
    fn pcrel_lo(&self, hole: &Hole, expected: &Expected, seen: &Seen) -> Result<(), String> {
        if expected.addend != 0 {
            return Err(format!(
                "a PCREL_LO12 relocation with addend {}",
                signed(expected.addend)
            ));
        }
        let (hi_offset, hi) = self.pcrel_hi(seen)?;
        let addend = hi.addend + (expected.offset as i64 - hi_offset as i64);
        if hole.value != hi.value || hole.addend != addend {
            return Err(format!(
                "value {:?}{}, expected its AUIPC's {:?}{}",
                hole.value,
                signed(hole.addend),
                hi.value,
                signed(addend)
            ));
        }
        Ok(())
    }

    /// The `AUIPC` hole a PCREL_LO12 relocation's label names, with its
    /// code offset: the HI20 relocation at the label's place.
    fn pcrel_hi(&self, seen: &Seen) -> Result<(u64, &'a Hole), String> {
        let Referent::Defined { section, offset } = seen.referent else {
            return Err(format!(
                "names {}, not the label of an AUIPC",
                seen.referent
            ));
        };
        let hi_types = ["R_RISCV_PCREL_HI20", "R_RISCV_GOT_HI20"];
        if !self.lowered.relocations.iter().any(|r| {
            r.section == section && r.offset == offset && hi_types.contains(&r.type_name.as_str())
        }) {
            return Err(format!(
                "no PCREL_HI20 or GOT_HI20 at its label {}+{offset:#x}",
                self.lowered.report.section_name(section)
            ));
        }
        let place = self
            .placed
            .get(&section)
            .ok_or("its AUIPC lies in a section lowering did not place")?;
        let hi_offset = place.offset + offset;
        self.holes
            .at(place.in_code, hi_offset)
            .map(|(_, hole)| (hi_offset, hole))
            .ok_or_else(|| {
                format!(
                    "its AUIPC at {}+{hi_offset:#x} has no hole",
                    part(place.in_code)
                )
            })
    }

    /// The trailing jump's flag, and every hole no relocation claimed.
    fn finish(mut self) -> Vec<String> {
        let Lowered {
            target,
            uop,
            group,
            layout,
            ..
        } = self.lowered;
        if group.trailing_jump_removed && self.trailing != 1 {
            self.failures.push(format!(
                "{} `{uop}`: trailing_jump_removed is set, but {} relocations at the end of the code have no hole",
                target.triple, self.trailing
            ));
        }
        let (_, slot_size) = got_slot();
        let got = layout.got_offset..layout.got_offset + slot_size * layout.got_slots as u64;
        for (i, (in_code, hole)) in self.holes.holes.iter().enumerate() {
            // A GOT slot's hole has no relocation of its own.
            if self.holes.used[i] || (!in_code && got.contains(&u64::from(hole.offset))) {
                continue;
            }
            self.failures.push(format!(
                "{} `{uop}` {}+{:#x}: hole {:?} of {:?}{} comes from no relocation either witness reports",
                target.triple,
                part(*in_code),
                hole.offset,
                hole.kind,
                hole.value,
                signed(hole.addend)
            ));
        }
        self.failures
    }
}

/// A direct relocation's hole holds its referent plus the addend.
fn direct(hole: &Hole, expected: &Expected) -> Result<(), String> {
    let addend = expected.base + expected.addend;
    if hole.value != expected.value || hole.addend != addend {
        return Err(format!(
            "value {:?}{}, expected {:?}{}",
            hole.value,
            signed(hole.addend),
            expected.value,
            signed(addend)
        ));
    }
    Ok(())
}
