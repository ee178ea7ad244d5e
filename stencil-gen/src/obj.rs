//! A format-neutral view of a relocatable object file (ELF, Mach-O or
//! COFF): its sections, their relocations and its symbols, read with the
//! `object` crate.
//!
//! Only what lowering needs is kept. Relocation types stay as the format's
//! raw numbers (with their names, for messages): mapping them onto hole
//! kinds is lowering's job. Addends are always explicit: where the format
//! keeps them in the relocated bytes (Mach-O, COFF) they are decoded here,
//! so that a relocation means `S + addend - P` whatever the format.
//!
//! Before anything else, the header says what the file is
//! ([`identify`]), and every header, table and section it declares must
//! lie within the file (`extents`): a truncated object is an error, never
//! a stencil missing its parts.

use std::collections::BTreeMap;
use std::fmt;

use object::{Object, ObjectSection, ObjectSymbol};
use runtime::Arch;

use crate::target::{Format, Target};

mod coff;
mod extents;
pub mod file;
mod identity;
pub mod insn;
mod macho;
mod reloc_names;

pub use identity::{arch_name, format_name, identify, target_identity, Identity};

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
    /// data and anything else. Neither its bytes nor its relocations are
    /// read.
    Other,
}

/// One section of an object file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The format's own section index (what relocations and symbols use).
    pub index: usize,
    /// The section's name; `SEGMENT,section` on Mach-O.
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
    /// Width in bytes of the relocated field where the format records it
    /// apart from the type (Mach-O's `r_length`); 0 elsewhere.
    pub size: u8,
    pub target: RelocTarget,
    /// The effective addend `A` of `S + A - P` (or `S + A`), whatever the
    /// format stores.
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
    pub format: Format,
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
    /// A format this reader does not handle, e.g. `a static archive`.
    UnsupportedFormat(String),
    /// A format and instruction set, as `FORMAT/ARCH`, that no target
    /// builds objects of.
    NoTarget(String),
    /// An object of another format or instruction set than the target's.
    WrongTarget {
        /// What the object is, as `FORMAT/ARCH`.
        object: String,
        /// The target's triple.
        triple: String,
        /// What the target needs, as `FORMAT/ARCH`.
        needs: String,
    },
    /// Not a relocatable object (an executable or a shared library).
    NotRelocatable,
    /// A header, table or section that runs past the end of the file.
    Truncated {
        what: String,
        start: u64,
        end: u64,
        file_size: u64,
    },
    /// A header or table whose own fields contradict each other.
    Malformed { what: String, problem: String },
    /// The sections to copy add up to more than [`MAX_TOTAL_SIZE`].
    TooLarge { section: String },
    /// An alignment that is not a power of two, or larger than
    /// [`MAX_ALIGN`].
    BadAlignment { section: String, align: u64 },
    /// Reading a section's contents or relocations failed.
    Section { section: String, message: String },
    /// A relocation whose addend is stored in a way this reader does not
    /// decode (an ELF `REL` section).
    ImplicitAddend { section: String, offset: u64 },
    /// A relocation names a symbol index that does not exist, or an
    /// undefined symbol without a name.
    BadSymbol { section: String, offset: u64 },
    /// A relocation that cannot be read as the format defines it (its
    /// bytes outside the section, a pairing broken, a flag contradicting
    /// its type).
    BadRelocation {
        section: String,
        offset: u64,
        type_name: String,
        problem: String,
    },
}

impl fmt::Display for ObjError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjError::Parse(message) => write!(f, "not a readable object file: {message}"),
            ObjError::UnsupportedFormat(format) => write!(
                f,
                "this is {format}, not a relocatable object file (ELF, Mach-O or COFF)"
            ),
            ObjError::NoTarget(identity) => {
                // Every target differs in format or instruction set.
                let known: Vec<String> = crate::target::ALL
                    .iter()
                    .map(target_identity)
                    .collect();
                write!(
                    f,
                    "this is {identity}, which no target builds (they build {})",
                    known.join(", ")
                )
            }
            ObjError::WrongTarget {
                object,
                triple,
                needs,
            } => write!(f, "this is {object}, the target {triple} needs {needs}"),
            ObjError::NotRelocatable => write!(f, "not a relocatable object file"),
            ObjError::Truncated {
                what,
                start,
                end,
                file_size,
            } => write!(
                f,
                "the file ({file_size} bytes) ends before the end of {what} \
                 (bytes {start:#x}..{end:#x}): the object is truncated or corrupt; rebuild it"
            ),
            ObjError::Malformed { what, problem } => write!(
                f,
                "{what} is malformed: {problem}; the object is corrupt, rebuild it"
            ),
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
            ObjError::BadRelocation {
                section,
                offset,
                type_name,
                problem,
            } => write!(
                f,
                "relocation {type_name} in {section} at offset {offset:#x}: {problem}"
            ),
        }
    }
}

impl std::error::Error for ObjError {}

/// Check that `bytes` are an object of `target`'s format and instruction
/// set, from the header alone: an object built for another target is
/// named as such, whatever its sections and relocations hold.
pub fn check_target(bytes: &[u8], target: &Target) -> Result<(), ObjError> {
    let identity = identify(bytes)?;
    if identity.fits(target) {
        return Ok(());
    }
    Err(ObjError::WrongTarget {
        object: identity.to_string(),
        triple: target.triple.to_string(),
        needs: target_identity(target),
    })
}

/// Read an object file.
pub fn read(bytes: &[u8]) -> Result<ObjectFile, ObjError> {
    let identity = identify(bytes)?;
    let Some(format) = identity.format else {
        return Err(ObjError::UnsupportedFormat(identity.to_string()));
    };
    // An object no target builds is not read further, so that its own
    // oddities (an ELF i686 object's implicit addends) do not hide what
    // it is.
    let arch = match identity.arch {
        Some(arch)
            if crate::target::ALL
                .iter()
                .any(|t| t.format == format && t.arch == arch) =>
        {
            arch
        }
        _ => return Err(ObjError::NoTarget(identity.to_string())),
    };
    extents::check(bytes, format)?;
    let file = object::File::parse(bytes).map_err(|e| ObjError::Parse(e.to_string()))?;
    if file.kind() != object::ObjectKind::Relocatable {
        return Err(ObjError::NotRelocatable);
    }
    let reader = Reader {
        file: &file,
        format,
        arch,
        defined_names: defined_name_counts(&file),
    };
    let mut sections = Vec::new();
    let mut budget = MAX_TOTAL_SIZE;
    for section in file.sections() {
        sections.push(reader.read_section(&section, &mut budget)?);
    }
    Ok(ObjectFile {
        format,
        arch,
        sections,
        symbols: read_symbols(&file)?,
    })
}

/// Offset of a symbol in its section: Mach-O symbols hold addresses in the
/// object's own address space, ELF and COFF ones offsets (their sections
/// start at 0).
fn symbol_offset(file: &object::File<'_>, symbol: &object::Symbol<'_, '_>) -> u64 {
    let start = match symbol.section() {
        object::SymbolSection::Section(index) => file
            .section_by_index(index)
            .map(|s| s.address())
            .unwrap_or(0),
        _ => 0,
    };
    symbol.address().wrapping_sub(start)
}

/// The named symbols; a name that cannot be read (its offset outside the
/// string table) is an error, not a symbol quietly left out.
fn read_symbols(file: &object::File<'_>) -> Result<Vec<Symbol>, ObjError> {
    let mut symbols = Vec::new();
    for s in file.symbols() {
        if matches!(
            s.kind(),
            object::SymbolKind::Section | object::SymbolKind::File
        ) {
            continue;
        }
        let name = s.name().map_err(|e| ObjError::Malformed {
            what: format!("symbol {}", s.index().0),
            problem: format!("its name cannot be read ({e})"),
        })?;
        if name.is_empty() {
            continue;
        }
        symbols.push(Symbol {
            name: name.to_string(),
            place: symbol_place(s.section()),
            value: symbol_offset(file, &s),
            size: s.size(),
            global: s.is_global(),
            weak: s.is_weak(),
        });
    }
    Ok(symbols)
}

/// How many defined symbols carry each name, to spot names a relocation
/// target cannot be found by.
fn defined_name_counts(file: &object::File<'_>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for symbol in file.symbols() {
        let defined = matches!(
            symbol.section(),
            object::SymbolSection::Section(_) | object::SymbolSection::Absolute
        );
        if !defined || symbol.kind() == object::SymbolKind::Section {
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
        // COFF weak externals land here too: the VM provides them.
        _ => SymbolPlace::Undefined,
    }
}

/// A relocation as the format stores it, before its addend is decoded.
pub(crate) struct RawRelocation {
    pub offset: u64,
    pub r_type: u32,
    pub size: u8,
    pub target: object::RelocationTarget,
    /// The effective addend, decoded from wherever the format keeps it.
    pub addend: i64,
}

/// The section being read, for addend decoders.
pub(crate) struct SectionBytes<'a> {
    pub name: &'a str,
    /// The section's address in the object's own address space (non-zero
    /// only on Mach-O).
    pub address: u64,
    pub data: &'a [u8],
}

impl SectionBytes<'_> {
    /// The `N` bytes at `offset`, or an error naming the relocation.
    pub fn bytes<const N: usize>(&self, offset: u64, type_name: &str) -> Result<[u8; N], ObjError> {
        usize::try_from(offset)
            .ok()
            .and_then(|start| self.data.get(start..start.checked_add(N)?))
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| ObjError::BadRelocation {
                section: self.name.to_string(),
                offset,
                type_name: type_name.to_string(),
                problem: format!("its {N} bytes lie outside the section"),
            })
    }

    pub fn u32(&self, offset: u64, type_name: &str) -> Result<u32, ObjError> {
        self.bytes::<4>(offset, type_name).map(u32::from_le_bytes)
    }

    pub fn i32(&self, offset: u64, type_name: &str) -> Result<i64, ObjError> {
        self.bytes::<4>(offset, type_name)
            .map(|b| i64::from(i32::from_le_bytes(b)))
    }

    pub fn i64(&self, offset: u64, type_name: &str) -> Result<i64, ObjError> {
        self.bytes::<8>(offset, type_name).map(i64::from_le_bytes)
    }

    pub fn error(&self, offset: u64, type_name: &str, problem: impl Into<String>) -> ObjError {
        ObjError::BadRelocation {
            section: self.name.to_string(),
            offset,
            type_name: type_name.to_string(),
            problem: problem.into(),
        }
    }
}

struct Reader<'a, 'data> {
    file: &'a object::File<'data>,
    format: Format,
    arch: Arch,
    defined_names: BTreeMap<String, usize>,
}

impl Reader<'_, '_> {
    /// The section's name as messages show it: `SEGMENT,section` on Mach-O.
    fn section_name(&self, section: &object::Section<'_, '_>) -> String {
        let name = section.name().unwrap_or("<unnamed>");
        match (self.format, section.segment_name()) {
            (Format::MachO, Ok(Some(segment))) => format!("{segment},{name}"),
            _ => name.to_string(),
        }
    }

    fn section_kind(&self, section: &object::Section<'_, '_>) -> SectionKind {
        match self.format {
            Format::Elf => elf_section_kind(section),
            Format::MachO => macho::section_kind(section),
            Format::Coff => coff::section_kind(section),
        }
    }

    /// Read one section; `budget` is how many more bytes may be copied.
    fn read_section(
        &self,
        section: &object::Section<'_, '_>,
        budget: &mut u64,
    ) -> Result<Section, ObjError> {
        let name = self.section_name(section);
        let kind = self.section_kind(section);
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
        if kind != SectionKind::Other {
            let bytes = SectionBytes {
                name: &name,
                address: section.address(),
                data: &data,
            };
            for raw in self.raw_relocations(section, &bytes)? {
                relocations.push(self.read_relocation(&bytes, raw)?);
            }
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

    fn raw_relocations(
        &self,
        section: &object::Section<'_, '_>,
        bytes: &SectionBytes<'_>,
    ) -> Result<Vec<RawRelocation>, ObjError> {
        match (self.format, self.file) {
            (Format::MachO, object::File::MachO64(file)) => {
                macho::raw_relocations(file, self.arch, section.index(), bytes)
            }
            (Format::MachO, _) => Err(ObjError::UnsupportedFormat("32-bit Mach-O".to_string())),
            _ => section
                .relocations()
                .map(|(offset, relocation)| {
                    generic_raw(self.format, self.arch, bytes, offset, &relocation)
                })
                .collect(),
        }
    }

    fn read_relocation(
        &self,
        bytes: &SectionBytes<'_>,
        raw: RawRelocation,
    ) -> Result<Relocation, ObjError> {
        let type_name = reloc_names::name(self.format, self.arch, raw.r_type);
        let section = bytes.name;
        let offset = raw.offset;
        let mut addend = raw.addend;
        let target = match raw.target {
            object::RelocationTarget::Symbol(index) => {
                let bad_symbol = || ObjError::BadSymbol {
                    section: section.to_string(),
                    offset,
                };
                let symbol = self.file.symbol_by_index(index).map_err(|_| bad_symbol())?;
                let name = symbol.name().unwrap_or("");
                let unique = self.defined_names.get(name).copied().unwrap_or(0) <= 1;
                let symbol_offset = symbol_offset(self.file, &symbol);
                match symbol.section() {
                    object::SymbolSection::Section(index)
                        if symbol.kind() == object::SymbolKind::Section
                            || name.is_empty()
                            || !unique =>
                    {
                        addend = addend.wrapping_add(symbol_offset as i64);
                        RelocTarget::Section(index.0)
                    }
                    object::SymbolSection::Absolute if name.is_empty() || !unique => {
                        addend = addend.wrapping_add(symbol.address() as i64);
                        RelocTarget::Absolute
                    }
                    // An undefined symbol with no name cannot be resolved.
                    _ if name.is_empty() => return Err(bad_symbol()),
                    _ => RelocTarget::Symbol(name.to_string()),
                }
            }
            object::RelocationTarget::Section(index) => RelocTarget::Section(index.0),
            _ => RelocTarget::Absolute,
        };
        Ok(Relocation {
            offset,
            r_type: raw.r_type,
            type_name,
            size: raw.size,
            target,
            addend,
        })
    }
}

/// ELF and COFF relocations, as the `object` crate reads them.
fn generic_raw(
    format: Format,
    arch: Arch,
    bytes: &SectionBytes<'_>,
    offset: u64,
    relocation: &object::Relocation,
) -> Result<RawRelocation, ObjError> {
    let (r_type, addend) = match (format, relocation.flags()) {
        (Format::Elf, object::RelocationFlags::Elf { r_type }) => {
            // `REL` sections (no addend field) are not produced by clang for
            // any target here.
            if relocation.has_implicit_addend() {
                return Err(ObjError::ImplicitAddend {
                    section: bytes.name.to_string(),
                    offset,
                });
            }
            (r_type, relocation.addend())
        }
        // COFF addends live in the relocated bytes.
        (Format::Coff, object::RelocationFlags::Coff { typ }) => {
            let r_type = u32::from(typ);
            let type_name = reloc_names::name(format, arch, r_type);
            (
                r_type,
                coff::addend(arch, bytes, offset, r_type, &type_name)?,
            )
        }
        (_, other) => return Err(ObjError::UnsupportedFormat(format!("{other:?}"))),
    };
    Ok(RawRelocation {
        offset,
        r_type,
        size: 0,
        target: relocation.target(),
        addend,
    })
}

fn elf_section_kind(section: &object::Section<'_, '_>) -> SectionKind {
    // Unwind tables are not wanted (stencils are built without them); if
    // one shows up anyway it is not part of the stencil.
    if matches!(section.name(), Ok(".eh_frame")) {
        return SectionKind::Other;
    }
    generic_section_kind(section.kind())
}

fn generic_section_kind(kind: object::SectionKind) -> SectionKind {
    match kind {
        object::SectionKind::Text => SectionKind::Code,
        object::SectionKind::ReadOnlyData
        | object::SectionKind::ReadOnlyDataWithRel
        | object::SectionKind::ReadOnlyString => SectionKind::ReadOnlyData,
        object::SectionKind::Data => SectionKind::Data,
        object::SectionKind::UninitializedData => SectionKind::Bss,
        _ => SectionKind::Other,
    }
}
