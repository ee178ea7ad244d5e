//! Lowering: one object file in, one stencil (code, data and their holes)
//! out.
//!
//! Code is every executable section, data every other allocated section,
//! each concatenated in section order. Every relocation in them becomes a
//! hole or an error: none is skipped. GOT relocations (and COFF's import
//! slots, `__imp_NAME`) get a slot in the stencil's own data, after
//! everything else.

use std::collections::BTreeMap;
use std::fmt;

use runtime::{Arch, HoleKind};

use crate::model::{DeclaredValues, Hole, StencilGroup, Value, VALUE_SYMBOL_PREFIX};
use crate::obj::{
    self, insn, ObjError, ObjectFile, RelocTarget, Relocation, SectionKind, SymbolPlace,
};
use crate::target::{Format, Target};

mod mapping;
mod trailing_jump;

use mapping::Mapping;

/// Size of a GOT slot: a 64-bit value on every target, so that a 32-bit
/// target can read a 64-bit operand from one (its addresses are
/// zero-extended and read as the slot's low half).
const GOT_SLOT_SIZE: usize = 8;

/// Prefix of a COFF import slot's name: `__imp_NAME` holds `NAME`'s
/// address.
const IMPORT_PREFIX: &str = "__imp_";

/// How far before or after a removed trailing jump another hole's `S` may
/// point and still be taken as referring to it (covers the bias of
/// pc-relative addends), so the jump is kept.
const TRAILING_JUMP_MARGIN: i64 = 8;

/// Why an object file could not be lowered; names the uop and the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerError {
    /// Uop name (or `shim`) the object was built for.
    pub uop: String,
    /// Target triple.
    pub target: &'static str,
    /// Boxed to keep `Result`s small.
    pub kind: Box<LowerErrorKind>,
}

/// What went wrong while lowering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LowerErrorKind {
    /// The object file could not be read.
    Object(ObjError),
    /// `_JIT_ENTRY` is not at the start of the code.
    EntryNotAtStart { symbol: String, place: String },
    /// A relocation that cannot be turned into a hole.
    Relocation {
        section: String,
        offset: u64,
        type_name: String,
        problem: RelocationProblem,
    },
    /// The stencil's code or data does not fit the 32-bit hole offsets.
    TooLarge,
    /// A `_JIT_*` symbol the VM's ABI does not declare.
    UndeclaredValue { symbol: String },
    /// Two relocations rewrite the same bytes, so no patching gives the
    /// instruction either meaning.
    OverlappingHoles {
        part: &'static str,
        first: (u32, HoleKind),
        second: (u32, HoleKind),
    },
}

/// Why one relocation cannot be lowered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelocationProblem {
    /// No hole kind for this relocation type.
    Unsupported,
    /// The relocated bytes lie (partly) outside the section.
    OutOfBounds,
    /// The symbol it names is not in the symbol table.
    UnknownSymbol(String),
    /// It names a common symbol, which has no place yet.
    CommonSymbol(String),
    /// It refers to a section that is not part of the stencil.
    OutsideStencil(String),
    /// A linker relaxation marker (`R_RISCV_RELAX`, `R_RISCV_ALIGN`).
    Relaxation,
    /// It sits on an instruction its hole kind cannot patch (a page
    /// offset on something else than `ADD` or a load or store).
    UnexpectedInstruction(u32),
    /// A RISC-V `%pcrel_lo` whose label is not at an `AUIPC` with a
    /// `%pcrel_hi` or `%got_pcrel_hi` relocation.
    UnpairedLow(String),
    /// A RISC-V `%pcrel_lo` with an addend of its own, which linkers
    /// ignore.
    PairedAddend(i64),
}

impl fmt::Display for LowerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uop `{}` ({}): {}", self.uop, self.target, self.kind)
    }
}

impl fmt::Display for LowerErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LowerErrorKind::Object(error) => write!(f, "{error}"),
            LowerErrorKind::EntryNotAtStart { symbol, place } => write!(
                f,
                "entry symbol `{symbol}` must be at code offset 0, but it is {place}"
            ),
            LowerErrorKind::Relocation {
                section,
                offset,
                type_name,
                problem,
            } => match problem {
                RelocationProblem::Unsupported => write!(
                    f,
                    "unsupported relocation {type_name} in {section} at offset {offset:#x}"
                ),
                RelocationProblem::OutOfBounds => write!(
                    f,
                    "relocation {type_name} in {section} at offset {offset:#x} lies outside the section"
                ),
                RelocationProblem::UnknownSymbol(name) => write!(
                    f,
                    "relocation {type_name} in {section} at offset {offset:#x} refers to unknown symbol `{name}`"
                ),
                RelocationProblem::CommonSymbol(name) => write!(
                    f,
                    "relocation {type_name} in {section} at offset {offset:#x} refers to common symbol `{name}` (compile with -fno-common)"
                ),
                RelocationProblem::OutsideStencil(target) => write!(
                    f,
                    "relocation {type_name} in {section} at offset {offset:#x} refers to section {target}, which is not part of the stencil"
                ),
                RelocationProblem::Relaxation => write!(
                    f,
                    "relocation {type_name} in {section} at offset {offset:#x} marks linker relaxation, which must be off (-mno-relax)"
                ),
                RelocationProblem::UnexpectedInstruction(word) => write!(
                    f,
                    "relocation {type_name} in {section} at offset {offset:#x} is on instruction {word:#010x}, which it cannot patch"
                ),
                RelocationProblem::UnpairedLow(label) => write!(
                    f,
                    "relocation {type_name} in {section} at offset {offset:#x} points at `{label}`, where no %pcrel_hi or %got_pcrel_hi relocation is"
                ),
                RelocationProblem::PairedAddend(addend) => write!(
                    f,
                    "relocation {type_name} in {section} at offset {offset:#x} has addend {addend}; a %pcrel_lo takes its addend from its %pcrel_hi"
                ),
            },
            LowerErrorKind::TooLarge => {
                write!(f, "code or data is larger than 4 GiB")
            }
            LowerErrorKind::OverlappingHoles {
                part,
                first,
                second,
            } => write!(
                f,
                "relocations overlap: the {:?} hole at {part} offset {:#x} and the {:?} hole at \
                 {part} offset {:#x} rewrite the same bytes",
                first.1, first.0, second.1, second.0
            ),
            LowerErrorKind::UndeclaredValue { symbol } => {
                let name = symbol.strip_prefix(VALUE_SYMBOL_PREFIX).unwrap_or(symbol);
                write!(
                    f,
                    "`{symbol}` is not a hole value the ABI declares; declare it in the `abi` item \
                     (`value {}: u64 per_op;` or `per_trace`), or give the symbol another name",
                    name.to_ascii_lowercase()
                )
            }
        }
    }
}

impl std::error::Error for LowerError {}

/// Where lowering put the parts of the object file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Sections copied into the stencil, in order.
    pub placements: Vec<Placement>,
    /// Data offset of the GOT (meaningful when it has slots).
    pub got_offset: u64,
    pub got_slots: usize,
}

/// Where lowering put one section of the object file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub section: String,
    /// Code (`true`) or data (`false`).
    pub in_code: bool,
    pub offset: u64,
    /// Size in the object file (before any trailing jump is removed).
    pub size: u64,
}

/// Lower one object file, built for uop `name`, into a stencil. `values`
/// are the hole values the VM declared: a `_JIT_*` symbol that is not one
/// of them (nor built in) becomes [`Value::Undeclared`].
pub fn lower(
    object: &[u8],
    target: &Target,
    name: &str,
    values: &DeclaredValues,
) -> Result<StencilGroup, LowerError> {
    lower_with_layout(object, target, name, values).map(|(group, _)| group)
}

/// `group`, unless one of its holes is a `_JIT_*` symbol nobody declared:
/// generation refuses what inspection only shows.
pub fn require_declared(group: StencilGroup, target: &Target) -> Result<StencilGroup, LowerError> {
    let undeclared = group
        .code_holes
        .iter()
        .chain(&group.data_holes)
        .find_map(|h| match &h.value {
            Value::Undeclared(symbol) => Some(symbol.clone()),
            _ => None,
        });
    match undeclared {
        Some(symbol) => Err(LowerError {
            uop: group.name,
            target: target.triple,
            kind: Box::new(LowerErrorKind::UndeclaredValue { symbol }),
        }),
        None => Ok(group),
    }
}

/// [`lower`], also saying where each section and the GOT went.
pub fn lower_with_layout(
    object: &[u8],
    target: &Target,
    name: &str,
    values: &DeclaredValues,
) -> Result<(StencilGroup, Layout), LowerError> {
    let fail = |kind| LowerError {
        uop: name.to_string(),
        target: target.triple,
        kind: Box::new(kind),
    };
    // The header alone names an object of another target, before any of
    // its relocations could be taken for a relocation problem.
    obj::check_target(object, target).map_err(|e| fail(LowerErrorKind::Object(e)))?;
    let file = obj::read(object).map_err(|e| fail(LowerErrorKind::Object(e)))?;
    // The reader agrees with the header; were it ever not to, the object
    // is still named the one way.
    if file.format != target.format || file.arch != target.arch {
        return Err(fail(LowerErrorKind::Object(ObjError::WrongTarget {
            object: format!(
                "{}/{}",
                obj::format_name(file.format),
                obj::arch_name(file.arch)
            ),
            triple: target.triple.to_string(),
            needs: obj::target_identity(target),
        })));
    }
    Lowering::new(&file, target, values).run(name).map_err(fail)
}

/// Which part of the stencil a section was placed in, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Code,
    Data,
}

struct Lowering<'a> {
    file: &'a ObjectFile,
    target: &'a Target,
    values: &'a DeclaredValues,
    code: Vec<u8>,
    data: Vec<u8>,
    data_align: u64,
    /// Section index to its part and offset in it.
    placed: BTreeMap<usize, (Part, u64)>,
    placements: Vec<Placement>,
    code_holes: Vec<Hole>,
    data_holes: Vec<Hole>,
    /// GOT slots in order of first use, with their content.
    got: Vec<(Value, i64)>,
    /// Data offset of the GOT: after all other data, which is laid out
    /// before any relocation is lowered.
    got_start: u64,
}

impl<'a> Lowering<'a> {
    fn new(file: &'a ObjectFile, target: &'a Target, values: &'a DeclaredValues) -> Self {
        Lowering {
            file,
            target,
            values,
            code: Vec::new(),
            data: Vec::new(),
            data_align: 1,
            placed: BTreeMap::new(),
            placements: Vec::new(),
            code_holes: Vec::new(),
            data_holes: Vec::new(),
            got: Vec::new(),
            got_start: 0,
        }
    }

    fn run(mut self, name: &str) -> Result<(StencilGroup, Layout), LowerErrorKind> {
        self.lay_out();
        self.got_start = align_up(self.data.len() as u64, GOT_SLOT_SIZE as u64);
        self.check_entry()?;
        for section in &self.file.sections {
            let Some(&(part, base)) = self.placed.get(&section.index) else {
                continue;
            };
            for relocation in &section.relocations {
                self.lower_relocation(section, part, base, relocation)?;
            }
        }
        self.append_got()?;
        let trailing_jump_removed = self.remove_trailing_jump();
        self.code_holes.sort_by_key(|h| h.offset);
        self.data_holes.sort_by_key(|h| h.offset);
        no_overlap("code", &self.code_holes)?;
        no_overlap("data", &self.data_holes)?;
        if u32::try_from(self.code.len()).is_err() || u32::try_from(self.data.len()).is_err() {
            return Err(LowerErrorKind::TooLarge);
        }
        let group = StencilGroup {
            name: name.to_string(),
            code: self.code,
            code_holes: self.code_holes,
            data: self.data,
            data_holes: self.data_holes,
            data_align: u32::try_from(self.data_align).map_err(|_| LowerErrorKind::TooLarge)?,
            disassembly: Vec::new(),
            trailing_jump_removed,
        };
        let layout = Layout {
            placements: self.placements,
            got_offset: self.got_start,
            got_slots: self.got.len(),
        };
        Ok((group, layout))
    }

    /// Concatenate code sections and data sections, each aligned.
    fn lay_out(&mut self) {
        // Padding between code sections traps if it is ever executed.
        let code_fill = match self.target.arch {
            Arch::X86_64 | Arch::I686 => 0xcc,
            // An all-zero word is an undefined instruction on both.
            Arch::Aarch64 | Arch::Riscv64 => 0x00,
        };
        for section in &self.file.sections {
            let (part, buffer, fill) = match section.kind {
                SectionKind::Code => (Part::Code, &mut self.code, code_fill),
                SectionKind::ReadOnlyData | SectionKind::Data | SectionKind::Bss => {
                    self.data_align = self.data_align.max(section.align);
                    (Part::Data, &mut self.data, 0)
                }
                SectionKind::Other => continue,
            };
            let offset = align_up(buffer.len() as u64, section.align);
            buffer.resize(offset as usize, fill);
            buffer.extend_from_slice(&section.data);
            self.placed.insert(section.index, (part, offset));
            self.placements.push(Placement {
                section: section.name.clone(),
                in_code: part == Part::Code,
                offset,
                size: section.data.len() as u64,
            });
        }
    }

    /// The entry symbol, when there is one, must start the code.
    fn check_entry(&self) -> Result<(), LowerErrorKind> {
        let name = format!("{}_JIT_ENTRY", self.target.symbol_prefix);
        let Some(symbol) = self.file.symbol(&name) else {
            return Ok(());
        };
        let place = match symbol.place {
            SymbolPlace::Section(index) => match self.placed.get(&index) {
                Some(&(Part::Code, base)) if base.wrapping_add(symbol.value) == 0 => return Ok(()),
                Some(&(Part::Code, base)) => {
                    format!("at code offset {:#x}", base.wrapping_add(symbol.value))
                }
                _ => format!("in section {}", self.section_name(index)),
            },
            SymbolPlace::Undefined => "undefined".to_string(),
            SymbolPlace::Absolute => "an absolute symbol".to_string(),
            SymbolPlace::Common => "a common symbol".to_string(),
        };
        Err(LowerErrorKind::EntryNotAtStart {
            symbol: name,
            place,
        })
    }

    fn section_name(&self, index: usize) -> String {
        self.file
            .section(index)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("#{index}"))
    }

    fn lower_relocation(
        &mut self,
        section: &obj::Section,
        part: Part,
        base: u64,
        relocation: &Relocation,
    ) -> Result<(), LowerErrorKind> {
        let problem = |problem| LowerErrorKind::Relocation {
            section: section.name.clone(),
            offset: relocation.offset,
            type_name: relocation.type_name.clone(),
            problem,
        };
        let import = self.import(&relocation.target);
        let mapping = mapping::map(
            self.file.format,
            self.file.arch,
            relocation,
            &section.data,
            import.is_some(),
        )
        .map_err(problem)?;
        let kind = match mapping {
            Mapping::Direct(kind) | Mapping::Got(kind) | Mapping::PcRelLow(kind) => kind,
        };
        match relocation.offset.checked_add(hole_size(kind)) {
            Some(end) if end <= section.data.len() as u64 => {}
            _ => return Err(problem(RelocationProblem::OutOfBounds)),
        }
        mapping::check_branch_site(kind, &section.data, relocation.offset).map_err(problem)?;
        let offset =
            u32::try_from(base + relocation.offset).map_err(|_| LowerErrorKind::TooLarge)?;
        let (value, addend) = match mapping {
            Mapping::PcRelLow(_) => {
                let (value, addend, high) = self.pcrel_high(relocation).map_err(problem)?;
                // `S - P` here must equal `S - P` at the `AUIPC`.
                let distance = i64::from(offset) - high as i64;
                (value, addend.wrapping_add(distance))
            }
            _ => self
                .hole_value(mapping, relocation, import.as_deref())
                .map_err(problem)?,
        };
        let hole = Hole {
            offset,
            kind,
            value,
            addend,
        };
        let hole = match part {
            Part::Code => self.address_through_got(hole),
            Part::Data => hole,
        };
        match part {
            Part::Code => self.code_holes.push(hole),
            Part::Data => self.data_holes.push(hole),
        }
        Ok(())
    }

    /// An x86-64 `lea` of a value from outside the trace (a helper, an
    /// operand) loads it from a GOT slot instead: the `lea` becomes a
    /// `mov` of the same length, and the address reaches wherever the
    /// trace is. A `lea` through a trampoline would compute the
    /// trampoline's address; a direct one fails beyond ±2 GiB.
    fn address_through_got(&mut self, hole: Hole) -> Hole {
        let outside = matches!(
            hole.value,
            Value::Symbol(_) | Value::OpValue(_) | Value::Undeclared(_)
        );
        let at = hole.offset as usize;
        if self.file.arch != Arch::X86_64
            || hole.kind != HoleKind::PcRel32
            || !outside
            || !insn::x86_64_rip_lea(&self.code, at)
        {
            return hole;
        }
        // The `lea` computes the end of its disp32 plus the disp32:
        // `S + 4` with the hole's `S`.
        let slot = self.got_slot((hole.value, hole.addend.wrapping_add(4)));
        self.code[at - 2] = 0x8b;
        // The slot is read by a `mov` whose prefix bytes lowering cannot
        // tell from the previous instruction's, so it is never relaxed.
        Hole {
            offset: hole.offset,
            kind: HoleKind::X86_64GotLoadUnrelaxed,
            value: Value::Data,
            addend: (slot as i64).wrapping_sub(4),
        }
    }

    /// The name whose import slot `target` is, for a COFF `__imp_NAME`
    /// this object does not define.
    fn import(&self, target: &RelocTarget) -> Option<String> {
        let RelocTarget::Symbol(name) = target else {
            return None;
        };
        let imported = name.strip_prefix(IMPORT_PREFIX)?;
        let undefined = self
            .file
            .symbol(name)
            .is_some_and(|s| s.place == SymbolPlace::Undefined);
        (self.file.format == Format::Coff && undefined && !imported.is_empty())
            .then(|| imported.to_string())
    }

    /// What a direct or GOT hole is patched with: `(value, addend)`.
    fn hole_value(
        &mut self,
        mapping: Mapping,
        relocation: &Relocation,
        import: Option<&str>,
    ) -> Result<(Value, i64), RelocationProblem> {
        match mapping {
            Mapping::Got(_) => {
                let content = match import {
                    Some(name) => (self.external(name), 0),
                    None => self.resolve(&relocation.target)?,
                };
                let slot = self.got_slot(content);
                // Still `S + A - P` with `S` the slot: the addend keeps the
                // instruction's bias (-4 on x86-64).
                Ok((Value::Data, (slot as i64).wrapping_add(relocation.addend)))
            }
            _ => {
                let (value, at) = self.resolve(&relocation.target)?;
                Ok((value, at.wrapping_add(relocation.addend)))
            }
        }
    }

    /// The value and addend of the `%pcrel_hi`/`%got_pcrel_hi` a RISC-V
    /// `%pcrel_lo` completes, and the code offset of its `AUIPC`. The low
    /// relocation points at the `AUIPC`'s label, by name or (when the
    /// label's name is not unique) as a section offset in its addend.
    fn pcrel_high(&mut self, low: &Relocation) -> Result<(Value, i64, u64), RelocationProblem> {
        let (index, at, label) = match &low.target {
            RelocTarget::Symbol(name) => {
                if low.addend != 0 {
                    return Err(RelocationProblem::PairedAddend(low.addend));
                }
                let symbol = self
                    .file
                    .symbol(name)
                    .ok_or_else(|| RelocationProblem::UnknownSymbol(name.clone()))?;
                match symbol.place {
                    SymbolPlace::Section(index) => (index, symbol.value, name.clone()),
                    _ => return Err(RelocationProblem::UnpairedLow(name.clone())),
                }
            }
            RelocTarget::Section(index) => {
                let label = format!("{}+{:#x}", self.section_name(*index), low.addend);
                (*index, low.addend as u64, label)
            }
            RelocTarget::Absolute => return Err(RelocationProblem::UnpairedLow("0".into())),
        };
        let unpaired = || RelocationProblem::UnpairedLow(label.clone());
        let file = self.file;
        let section = file.section(index).ok_or_else(unpaired)?;
        let Some(&(Part::Code, base)) = self.placed.get(&index) else {
            return Err(unpaired());
        };
        let high = section
            .relocations
            .iter()
            .filter(|r| r.offset == at)
            .find_map(|r| {
                let mapping = mapping::map(file.format, file.arch, r, &section.data, false);
                match mapping {
                    Ok(m @ (Mapping::Direct(k) | Mapping::Got(k)))
                        if k == HoleKind::Riscv64PcRelHi20 =>
                    {
                        Some((m, r))
                    }
                    _ => None,
                }
            })
            .ok_or_else(unpaired)?;
        let (value, addend) = self.hole_value(high.0, high.1, None)?;
        Ok((value, addend, base.wrapping_add(at)))
    }

    /// The hole value of a relocation target, with the offset it adds.
    fn resolve(&self, target: &RelocTarget) -> Result<(Value, i64), RelocationProblem> {
        match target {
            RelocTarget::Absolute => Ok((Value::Zero, 0)),
            RelocTarget::Section(index) => self.resolve_section(*index, 0),
            RelocTarget::Symbol(name) => {
                let symbol = self
                    .file
                    .symbol(name)
                    .ok_or_else(|| RelocationProblem::UnknownSymbol(name.clone()))?;
                match symbol.place {
                    SymbolPlace::Section(index) => self.resolve_section(index, symbol.value),
                    SymbolPlace::Absolute => Ok((Value::Zero, symbol.value as i64)),
                    SymbolPlace::Common => Err(RelocationProblem::CommonSymbol(name.clone())),
                    SymbolPlace::Undefined => Ok((self.external(name), 0)),
                }
            }
        }
    }

    fn resolve_section(
        &self,
        index: usize,
        offset: u64,
    ) -> Result<(Value, i64), RelocationProblem> {
        match self.placed.get(&index) {
            // A corrupt symbol value must not overflow: wrap, as the
            // relocation arithmetic does.
            Some(&(Part::Code, base)) => Ok((Value::Code, base.wrapping_add(offset) as i64)),
            Some(&(Part::Data, base)) => Ok((Value::Data, base.wrapping_add(offset) as i64)),
            None => Err(RelocationProblem::OutsideStencil(self.section_name(index))),
        }
    }

    /// The hole value an undefined symbol stands for.
    fn external(&self, name: &str) -> Value {
        let bare = name.strip_prefix(self.target.symbol_prefix).unwrap_or(name);
        self.values
            .value_of(bare)
            .unwrap_or_else(|| Value::Symbol(bare.to_string()))
    }

    /// Data offset of the GOT slot holding `content`, allocated on first
    /// use.
    fn got_slot(&mut self, content: (Value, i64)) -> u64 {
        let index = match self.got.iter().position(|c| *c == content) {
            Some(index) => index,
            None => {
                self.got.push(content);
                self.got.len() - 1
            }
        };
        self.got_start + (index * GOT_SLOT_SIZE) as u64
    }

    /// Append the GOT to the data and give each slot a data hole.
    fn append_got(&mut self) -> Result<(), LowerErrorKind> {
        if self.got.is_empty() {
            return Ok(());
        }
        let start = self.got_start;
        self.data.resize(start as usize, 0);
        self.data_align = self.data_align.max(GOT_SLOT_SIZE as u64);
        for (index, (value, addend)) in self.got.iter().enumerate() {
            let offset = start as usize + index * GOT_SLOT_SIZE;
            self.data.resize(offset + GOT_SLOT_SIZE, 0);
            self.data_holes.push(Hole {
                offset: u32::try_from(offset).map_err(|_| LowerErrorKind::TooLarge)?,
                kind: HoleKind::Abs64,
                value: value.clone(),
                addend: *addend,
            });
        }
        Ok(())
    }

    /// Drop a final jump to the continuation so the next stencil is
    /// reached by falling through.
    fn remove_trailing_jump(&mut self) -> bool {
        let len = self.code.len();
        let Some((start, jump)) =
            trailing_jump::find(self.target.arch, &self.code, &self.code_holes)
        else {
            return false;
        };
        let overlaps = self.code_holes.iter().enumerate().any(|(i, h)| {
            i != jump
                && (h.offset as u64) < len as u64
                && h.offset as u64 + hole_size(h.kind) > start as u64
        });
        let referenced = self
            .code_holes
            .iter()
            .chain(&self.data_holes)
            .enumerate()
            .any(|(i, h)| {
                i != jump
                    && h.value == Value::Code
                    && h.addend >= start as i64 - TRAILING_JUMP_MARGIN
                    && h.addend <= len as i64 + TRAILING_JUMP_MARGIN
            });
        if overlaps || referenced {
            return false;
        }
        self.code_holes.remove(jump);
        self.code.truncate(start);
        true
    }
}

/// Holes sorted by offset must not share a byte.
fn no_overlap(part: &'static str, holes: &[Hole]) -> Result<(), LowerErrorKind> {
    for pair in holes.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if u64::from(a.offset) + hole_size(a.kind) > u64::from(b.offset) {
            return Err(LowerErrorKind::OverlappingHoles {
                part,
                first: (a.offset, a.kind),
                second: (b.offset, b.kind),
            });
        }
    }
    Ok(())
}

fn align_up(value: u64, align: u64) -> u64 {
    let align = align.max(1);
    value.div_ceil(align) * align
}

/// Number of bytes a hole of this kind rewrites.
pub fn hole_size(kind: HoleKind) -> u64 {
    runtime::patch::width(kind) as u64
}
