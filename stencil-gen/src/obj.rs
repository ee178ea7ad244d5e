//! A format-neutral view of a relocatable object file: its sections, their
//! relocations and its symbols, read with the `object` crate.
//!
//! Only what lowering needs is kept. Relocation types stay as the format's
//! raw numbers (with their names, for messages): mapping them onto hole
//! kinds is lowering's job.

use std::collections::BTreeMap;
use std::fmt;

use object::{Object, ObjectSection, ObjectSymbol};
use runtime::Arch;

mod reloc_names;

/// Most bytes this reader copies out of one object (zero-filled sections
/// included), so that corrupt sizes cannot make it allocate without bound.
const MAX_TOTAL_SIZE: u64 = 1 << 26;

/// Largest section alignment accepted (a 64 KiB page).
const MAX_ALIGN: u64 = 1 << 16;

/// What a section holds, as far as a stencil cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SectionKind {
    /// Allocated and executable.
    Code,
    /// Allocated, read-only.
    ReadOnlyData,
    /// Allocated, writable.
    Data,
    /// Allocated, zero-filled (`data` holds the zeros).
    Bss,
    /// Not part of a stencil: metadata, notes, unwind tables, thread-local
    /// data and anything else.
    Other,
}

/// One section of an object file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The format's own section index (what relocations and symbols use).
    pub index: usize,
    pub name: String,
    pub kind: SectionKind,
    /// Required alignment, at least 1.
    pub align: u64,
    /// Contents; zeros for [`SectionKind::Bss`].
    pub data: Vec<u8>,
    /// Relocations applying to this section, sorted by offset.
    pub relocations: Vec<Relocation>,
}

/// One relocation, with its addend made explicit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Offset of the relocated place from the start of its section.
    pub offset: u64,
    /// The format's raw relocation type.
    pub r_type: u32,
    /// The format's name for `r_type`, e.g. `R_AARCH64_CALL26`.
    pub type_name: String,
    pub target: RelocTarget,
    pub addend: i64,
}

/// What a relocation refers to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RelocTarget {
    /// A symbol, by name; look it up in [`ObjectFile::symbols`]. Names are
    /// unique among defined symbols: a relocation against a defined symbol
    /// whose name is empty or shared is turned into a section target.
    Symbol(String),
    /// The start of the section with this index (section symbols end up
    /// here).
    Section(usize),
    /// No symbol at all: the addend alone is the value.
    Absolute,
}

/// Where a symbol is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SymbolPlace {
    Undefined,
    /// Defined in the section with this index.
    Section(usize),
    /// An absolute value.
    Absolute,
    /// A common symbol (not placed anywhere yet).
    Common,
}

/// A named symbol. Section and file symbols are left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub place: SymbolPlace,
    /// Offset in its section (or the absolute value).
    pub value: u64,
    pub size: u64,
    pub global: bool,
    pub weak: bool,
}

/// An object file, reduced to what lowering needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectFile {
    /// Instruction set the object is for.
    pub arch: Arch,
    /// All sections, in the format's order.
    pub sections: Vec<Section>,
    pub symbols: Vec<Symbol>,
}

impl ObjectFile {
    /// The section with this format index.
    pub fn section(&self, index: usize) -> Option<&Section> {
        self.sections.iter().find(|s| s.index == index)
    }

    /// The symbol with this name; a defined one wins over an undefined one.
    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        let mut found = None;
        for symbol in self.symbols.iter().filter(|s| s.name == name) {
            if symbol.place != SymbolPlace::Undefined {
                return Some(symbol);
            }
            found.get_or_insert(symbol);
        }
        found
    }
}

/// Why an object file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjError {
    /// The bytes are not an object file `object` understands.
    Parse(String),
    /// A format this reader does not handle yet.
    UnsupportedFormat(String),
    /// An instruction set no target uses.
    UnsupportedArchitecture(String),
    /// Not a relocatable object (an executable or a shared library).
    NotRelocatable,
    BigEndian,
    /// The sections to copy add up to more than [`MAX_TOTAL_SIZE`].
    TooLarge {
        section: String,
    },
    /// An alignment that is not a power of two, or larger than
    /// [`MAX_ALIGN`].
    BadAlignment {
        section: String,
        align: u64,
    },
    /// Reading a section's contents or relocations failed.
    Section {
        section: String,
        message: String,
    },
    /// A relocation whose addend is stored in the relocated bytes.
    ImplicitAddend {
        section: String,
        offset: u64,
    },
    /// A relocation names a symbol index that does not exist, or an
    /// undefined symbol without a name.
    BadSymbol {
        section: String,
        offset: u64,
    },
}

impl fmt::Display for ObjError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjError::Parse(message) => write!(f, "not a readable object file: {message}"),
            ObjError::UnsupportedFormat(format) => {
                write!(f, "unsupported object format {format} (only ELF is read)")
            }
            ObjError::UnsupportedArchitecture(arch) => {
                write!(f, "unsupported architecture {arch} (x86-64 and aarch64 only)")
            }
            ObjError::NotRelocatable => write!(f, "not a relocatable object file"),
            ObjError::BigEndian => write!(f, "big-endian object files are not supported"),
            ObjError::TooLarge { section } => write!(
                f,
                "section {section} brings the stencil over {MAX_TOTAL_SIZE} bytes"
            ),
            ObjError::BadAlignment { section, align } => write!(
                f,
                "section {section} has alignment {align}, not a power of two up to {MAX_ALIGN}"
            ),
            ObjError::Section { section, message } => {
                write!(f, "cannot read section {section}: {message}")
            }
            ObjError::ImplicitAddend { section, offset } => write!(
                f,
                "relocation in {section} at offset {offset:#x} has an implicit addend, which is not supported"
            ),
            ObjError::BadSymbol { section, offset } => write!(
                f,
                "relocation in {section} at offset {offset:#x} refers to a missing or nameless symbol"
            ),
        }
    }
}

impl std::error::Error for ObjError {}

/// Read an object file.
pub fn read(bytes: &[u8]) -> Result<ObjectFile, ObjError> {
    let file = object::File::parse(bytes).map_err(|e| ObjError::Parse(e.to_string()))?;
    if file.format() != object::BinaryFormat::Elf {
        return Err(ObjError::UnsupportedFormat(format!("{:?}", file.format())));
    }
    if !file.is_little_endian() {
        return Err(ObjError::BigEndian);
    }
    if file.kind() != object::ObjectKind::Relocatable {
        return Err(ObjError::NotRelocatable);
    }
    let arch = match file.architecture() {
        object::Architecture::X86_64 => Arch::X86_64,
        object::Architecture::Aarch64 => Arch::Aarch64,
        other => return Err(ObjError::UnsupportedArchitecture(format!("{other:?}"))),
    };

    let symbols = read_symbols(&file);
    let defined_names = defined_name_counts(&file);
    let mut sections = Vec::new();
    let mut budget = MAX_TOTAL_SIZE;
    for section in file.sections() {
        sections.push(read_section(
            &file,
            &section,
            arch,
            &defined_names,
            &mut budget,
        )?);
    }
    Ok(ObjectFile {
        arch,
        sections,
        symbols,
    })
}

fn read_symbols(file: &object::File<'_>) -> Vec<Symbol> {
    file.symbols()
        .filter(|s| {
            !matches!(
                s.kind(),
                object::SymbolKind::Section | object::SymbolKind::File
            )
        })
        .filter_map(|s| {
            let name = s.name().ok()?;
            if name.is_empty() {
                return None;
            }
            Some(Symbol {
                name: name.to_string(),
                place: symbol_place(s.section()),
                value: s.address(),
                size: s.size(),
                global: s.is_global(),
                weak: s.is_weak(),
            })
        })
        .collect()
}

/// How many defined symbols carry each name, to spot names a relocation
/// target cannot be found by.
fn defined_name_counts(file: &object::File<'_>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for symbol in file.symbols() {
        if symbol.is_undefined() || symbol.kind() == object::SymbolKind::Section {
            continue;
        }
        if let Ok(name) = symbol.name() {
            *counts.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

fn symbol_place(section: object::SymbolSection) -> SymbolPlace {
    match section {
        object::SymbolSection::Section(index) => SymbolPlace::Section(index.0),
        object::SymbolSection::Absolute => SymbolPlace::Absolute,
        object::SymbolSection::Common => SymbolPlace::Common,
        _ => SymbolPlace::Undefined,
    }
}

fn section_kind(section: &object::Section<'_, '_>) -> SectionKind {
    // Unwind tables are not wanted (stencils are built without them); if
    // one shows up anyway it is not part of the stencil.
    if matches!(section.name(), Ok(".eh_frame")) {
        return SectionKind::Other;
    }
    match section.kind() {
        object::SectionKind::Text => SectionKind::Code,
        object::SectionKind::ReadOnlyData
        | object::SectionKind::ReadOnlyDataWithRel
        | object::SectionKind::ReadOnlyString => SectionKind::ReadOnlyData,
        object::SectionKind::Data => SectionKind::Data,
        object::SectionKind::UninitializedData => SectionKind::Bss,
        _ => SectionKind::Other,
    }
}

/// Read one section; `budget` is how many more bytes may be copied.
fn read_section(
    file: &object::File<'_>,
    section: &object::Section<'_, '_>,
    arch: Arch,
    defined_names: &BTreeMap<String, usize>,
    budget: &mut u64,
) -> Result<Section, ObjError> {
    let name = section.name().unwrap_or("<unnamed>").to_string();
    let kind = section_kind(section);
    let align = section.align().max(1);
    if kind != SectionKind::Other && (!align.is_power_of_two() || align > MAX_ALIGN) {
        return Err(ObjError::BadAlignment {
            section: name,
            align,
        });
    }
    let size = match kind {
        // Sections outside the stencil are never looked at; they may be
        // large (debug info) and need not be copied.
        SectionKind::Other => 0,
        _ => section.size(),
    };
    *budget = budget.checked_sub(size).ok_or_else(|| ObjError::TooLarge {
        section: name.clone(),
    })?;
    let data = match kind {
        SectionKind::Other => Vec::new(),
        SectionKind::Bss => vec![0; size as usize],
        _ => {
            let bytes = section.data().map_err(|e| ObjError::Section {
                section: name.clone(),
                message: e.to_string(),
            })?;
            bytes.to_vec()
        }
    };
    let mut relocations = Vec::new();
    for (offset, relocation) in section.relocations() {
        relocations.push(read_relocation(
            file,
            &name,
            offset,
            &relocation,
            arch,
            defined_names,
        )?);
    }
    // Stable, so relocations sharing an offset keep the file's order.
    relocations.sort_by_key(|r| r.offset);
    Ok(Section {
        index: section.index().0,
        name,
        kind,
        align,
        data,
        relocations,
    })
}

fn read_relocation(
    file: &object::File<'_>,
    section: &str,
    offset: u64,
    relocation: &object::Relocation,
    arch: Arch,
    defined_names: &BTreeMap<String, usize>,
) -> Result<Relocation, ObjError> {
    if relocation.has_implicit_addend() {
        return Err(ObjError::ImplicitAddend {
            section: section.to_string(),
            offset,
        });
    }
    let r_type = match relocation.flags() {
        object::RelocationFlags::Elf { r_type } => r_type,
        other => return Err(ObjError::UnsupportedFormat(format!("{other:?}"))),
    };
    let mut addend = relocation.addend();
    let target = match relocation.target() {
        object::RelocationTarget::Symbol(index) => {
            let symbol = file
                .symbol_by_index(index)
                .map_err(|_| ObjError::BadSymbol {
                    section: section.to_string(),
                    offset,
                })?;
            let name = symbol.name().unwrap_or("");
            let unique = defined_names.get(name).copied().unwrap_or(0) <= 1;
            match symbol.section() {
                object::SymbolSection::Section(index)
                    if symbol.kind() == object::SymbolKind::Section
                        || name.is_empty()
                        || !unique =>
                {
                    addend = addend.wrapping_add(symbol.address() as i64);
                    RelocTarget::Section(index.0)
                }
                object::SymbolSection::Absolute if name.is_empty() || !unique => {
                    addend = addend.wrapping_add(symbol.address() as i64);
                    RelocTarget::Absolute
                }
                // An undefined symbol with no name cannot be resolved.
                _ if name.is_empty() => {
                    return Err(ObjError::BadSymbol {
                        section: section.to_string(),
                        offset,
                    })
                }
                _ => RelocTarget::Symbol(name.to_string()),
            }
        }
        object::RelocationTarget::Section(index) => RelocTarget::Section(index.0),
        _ => RelocTarget::Absolute,
    };
    Ok(Relocation {
        offset,
        r_type,
        type_name: reloc_names::elf_name(arch, r_type),
        target,
        addend,
    })
}
