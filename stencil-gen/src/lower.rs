//! Lowering: one object file in, one stencil (code, data and their holes)
//! out.
//!
//! Code is every executable section, data every other allocated section,
//! each concatenated in section order. Every relocation in them becomes a
//! hole or an error: none is skipped. GOT relocations get a slot in the
//! stencil's own data, after everything else.

use std::collections::BTreeMap;
use std::fmt;

use runtime::{Arch, HoleKind};

use crate::model::{Hole, StencilGroup, Value};
use crate::obj::{self, ObjError, ObjectFile, RelocTarget, Relocation, SectionKind, SymbolPlace};
use crate::target::Target;

/// Size of a GOT slot: one 64-bit address.
const GOT_SLOT_SIZE: usize = 8;

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
    /// The object is for another instruction set than the target.
    WrongArch { object: Arch, target: Arch },
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
            LowerErrorKind::WrongArch { object, target } => write!(
                f,
                "object file is for {}, but the target is {}",
                arch_name(*object),
                arch_name(*target)
            ),
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
            },
            LowerErrorKind::TooLarge => {
                write!(f, "code or data is larger than 4 GiB")
            }
        }
    }
}

impl std::error::Error for LowerError {}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86-64",
        Arch::Aarch64 => "aarch64",
    }
}

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

/// Lower one object file, built for uop `name`, into a stencil.
pub fn lower(object: &[u8], target: &Target, name: &str) -> Result<StencilGroup, LowerError> {
    lower_with_layout(object, target, name).map(|(group, _)| group)
}

/// [`lower`], also saying where each section and the GOT went.
pub fn lower_with_layout(
    object: &[u8],
    target: &Target,
    name: &str,
) -> Result<(StencilGroup, Layout), LowerError> {
    let fail = |kind| LowerError {
        uop: name.to_string(),
        target: target.triple,
        kind: Box::new(kind),
    };
    let file = obj::read(object).map_err(|e| fail(LowerErrorKind::Object(e)))?;
    if file.arch != target.arch {
        return Err(fail(LowerErrorKind::WrongArch {
            object: file.arch,
            target: target.arch,
        }));
    }
    Lowering::new(&file, target).run(name).map_err(fail)
}

/// Which part of the stencil a section was placed in, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Code,
    Data,
}

/// What a relocation type becomes.
enum Mapping {
    /// A hole of this kind, patched with the relocation's target.
    Direct(HoleKind),
    /// A hole of this kind, patched with the address of a GOT slot that
    /// holds the relocation's target.
    Got(HoleKind),
}

struct Lowering<'a> {
    file: &'a ObjectFile,
    target: &'a Target,
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
    fn new(file: &'a ObjectFile, target: &'a Target) -> Self {
        Lowering {
            file,
            target,
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
            Arch::X86_64 => 0xcc,
            Arch::Aarch64 => 0x00,
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
        let mapping = map_relocation(self.target.arch, relocation.r_type)
            .ok_or(problem(RelocationProblem::Unsupported))?;
        let kind = match mapping {
            Mapping::Direct(kind) | Mapping::Got(kind) => kind,
        };
        match relocation.offset.checked_add(hole_size(kind)) {
            Some(end) if end <= section.data.len() as u64 => {}
            _ => return Err(problem(RelocationProblem::OutOfBounds)),
        }
        let offset =
            u32::try_from(base + relocation.offset).map_err(|_| LowerErrorKind::TooLarge)?;
        let (value, addend) = match mapping {
            Mapping::Direct(_) => {
                let (value, at) = self.resolve(&relocation.target).map_err(problem)?;
                (value, at.wrapping_add(relocation.addend))
            }
            Mapping::Got(_) => {
                let content = self.resolve(&relocation.target).map_err(problem)?;
                let slot = self.got_slot(content);
                // Still `S + A - P` with `S` the slot: the addend keeps the
                // instruction's bias (-4 on x86-64).
                (Value::Data, (slot as i64).wrapping_add(relocation.addend))
            }
        };
        let hole = Hole {
            offset,
            kind,
            value,
            addend,
        };
        match part {
            Part::Code => self.code_holes.push(hole),
            Part::Data => self.data_holes.push(hole),
        }
        Ok(())
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
        match bare {
            "_JIT_CONTINUE" => Value::Continue,
            "_JIT_JUMP_TARGET" => Value::JumpTarget,
            "_JIT_OPARG" => Value::Oparg,
            "_JIT_OPERAND" => Value::Operand,
            "_JIT_DEOPT_TARGET" => Value::DeoptTarget,
            _ => Value::Symbol(bare.to_string()),
        }
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
        let (size, opcode_ok, kind, addend) = match self.target.arch {
            Arch::X86_64 => (
                5,
                len >= 5 && self.code[len - 5] == 0xe9,
                HoleKind::PcRel32,
                -4,
            ),
            Arch::Aarch64 => {
                let ok = len >= 4
                    && u32::from_le_bytes([
                        self.code[len - 4],
                        self.code[len - 3],
                        self.code[len - 2],
                        self.code[len - 1],
                    ]) & 0xfc00_0000
                        == 0x1400_0000;
                (4, ok, HoleKind::Aarch64Branch26, 0)
            }
        };
        if !opcode_ok {
            return false;
        }
        let start = len - size;
        let Some(jump) = self.code_holes.iter().position(|h| {
            h.offset as usize == len - 4
                && h.kind == kind
                && h.value == Value::Continue
                && h.addend == addend
        }) else {
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

fn align_up(value: u64, align: u64) -> u64 {
    let align = align.max(1);
    value.div_ceil(align) * align
}

/// Number of bytes a hole of this kind rewrites.
pub fn hole_size(kind: HoleKind) -> u64 {
    match kind {
        HoleKind::Abs64 | HoleKind::PcRel64 => 8,
        _ => 4,
    }
}

/// The hole kind for a relocation type of this instruction set.
fn map_relocation(arch: Arch, r_type: u32) -> Option<Mapping> {
    use object::elf::*;
    use Mapping::{Direct, Got};
    let mapping = match arch {
        Arch::X86_64 => match r_type {
            R_X86_64_64 => Direct(HoleKind::Abs64),
            R_X86_64_32 => Direct(HoleKind::Abs32),
            R_X86_64_32S => Direct(HoleKind::Abs32Signed),
            R_X86_64_PC32 | R_X86_64_PLT32 => Direct(HoleKind::PcRel32),
            R_X86_64_PC64 => Direct(HoleKind::PcRel64),
            // The relocation type tells which bytes before the disp32 are
            // the instruction's, hence whether it can be relaxed.
            R_X86_64_REX_GOTPCRELX => Got(HoleKind::X86_64GotLoad),
            R_X86_64_GOTPCRELX => Got(HoleKind::X86_64GotLoadNoRex),
            R_X86_64_GOTPCREL => Got(HoleKind::X86_64GotLoadUnrelaxed),
            _ => return None,
        },
        Arch::Aarch64 => match r_type {
            R_AARCH64_ABS64 => Direct(HoleKind::Abs64),
            R_AARCH64_PREL32 => Direct(HoleKind::PcRel32),
            R_AARCH64_PREL64 => Direct(HoleKind::PcRel64),
            R_AARCH64_CALL26 | R_AARCH64_JUMP26 => Direct(HoleKind::Aarch64Branch26),
            R_AARCH64_CONDBR19 | R_AARCH64_LD_PREL_LO19 => Direct(HoleKind::Aarch64Branch19),
            R_AARCH64_TSTBR14 => Direct(HoleKind::Aarch64Branch14),
            R_AARCH64_ADR_PREL_PG_HI21 | R_AARCH64_ADR_PREL_PG_HI21_NC => {
                Direct(HoleKind::Aarch64AdrpPage21)
            }
            R_AARCH64_ADR_PREL_LO21 => Direct(HoleKind::Aarch64Adr21),
            R_AARCH64_ADD_ABS_LO12_NC | R_AARCH64_LDST8_ABS_LO12_NC => {
                Direct(HoleKind::Aarch64PageOffset12 { scale: 0 })
            }
            R_AARCH64_LDST16_ABS_LO12_NC => Direct(HoleKind::Aarch64PageOffset12 { scale: 1 }),
            R_AARCH64_LDST32_ABS_LO12_NC => Direct(HoleKind::Aarch64PageOffset12 { scale: 2 }),
            R_AARCH64_LDST64_ABS_LO12_NC => Direct(HoleKind::Aarch64PageOffset12 { scale: 3 }),
            R_AARCH64_LDST128_ABS_LO12_NC => Direct(HoleKind::Aarch64PageOffset12 { scale: 4 }),
            R_AARCH64_MOVW_UABS_G0 | R_AARCH64_MOVW_UABS_G0_NC => {
                Direct(HoleKind::Aarch64MovWide { group: 0 })
            }
            R_AARCH64_MOVW_UABS_G1 | R_AARCH64_MOVW_UABS_G1_NC => {
                Direct(HoleKind::Aarch64MovWide { group: 1 })
            }
            R_AARCH64_MOVW_UABS_G2 | R_AARCH64_MOVW_UABS_G2_NC => {
                Direct(HoleKind::Aarch64MovWide { group: 2 })
            }
            R_AARCH64_MOVW_UABS_G3 => Direct(HoleKind::Aarch64MovWide { group: 3 }),
            R_AARCH64_ADR_GOT_PAGE => Got(HoleKind::Aarch64AdrpPage21),
            R_AARCH64_LD64_GOT_LO12_NC => Got(HoleKind::Aarch64PageOffset12 { scale: 3 }),
            _ => return None,
        },
    };
    Some(mapping)
}
