//! What one witness reports about one object file, in a form both
//! witnesses share so that they can be compared field by field.

use std::fmt;

/// Object file format, told by the file's own magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Elf,
    MachO,
    Coff,
}

/// Instruction set, as the file's header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    X86_64,
    Aarch64,
    I386,
    Riscv64,
}

/// What a section is for, as far as a stencil is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Allocated code or data: lowering must place it.
    Stencil,
    /// Unwind tables (`.eh_frame`, `__compact_unwind`, `.pdata`, `.xdata`):
    /// they describe frames of a function that is never unwound.
    Unwind,
    /// Not loaded at all: symbol, string and relocation tables, notes,
    /// debug info, `.llvm_addrsig`, linker directives.
    Metadata,
}

/// One section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The format's own numbering: ELF section header index, Mach-O
    /// 1-based section ordinal, COFF 1-based section number.
    pub index: usize,
    pub name: String,
    pub role: Role,
    pub size: u64,
    /// Mach-O only: the segment the section belongs to.
    pub segment: String,
    /// Address in the object's address space (non-zero on Mach-O only).
    pub address: u64,
    /// Contents (zeros for zero-filled sections); empty when the witness
    /// does not read contents.
    pub bytes: Vec<u8>,
}

/// What a relocation refers to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Referent {
    /// An undefined symbol, by its name in the file (format prefix
    /// included).
    External(String),
    /// A place in a section: a defined symbol, a section symbol.
    Defined { section: usize, offset: u64 },
    /// An absolute value (or no symbol at all).
    Absolute(u64),
    /// A common symbol, which has no place.
    Common(String),
    /// A Mach-O non-external relocation: the referent lies in this section
    /// (by ordinal) at an address stored in the relocated bytes.
    SectionOrdinal(usize),
}

/// One relocation as a witness reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seen {
    /// Index of the section it applies to (see [`Section::index`]).
    pub section: usize,
    pub offset: u64,
    /// The format's name for its type, e.g. `R_X86_64_PLT32`,
    /// `ARM64_RELOC_PAGE21`, `IMAGE_REL_AMD64_REL32`.
    pub type_name: String,
    /// The symbol's name as the file spells it (a section symbol's is its
    /// section's name), for messages and for COFF `__imp_` symbols.
    pub symbol: String,
    pub referent: Referent,
    /// The addend the relocation record itself carries: ELF `r_addend`,
    /// the value of a Mach-O `ARM64_RELOC_ADDEND` folded into the
    /// relocation it precedes. `None` when the addend lies in the
    /// relocated bytes.
    pub addend: Option<i64>,
    /// Mach-O only: whether it is pc-relative, and log2 of its width.
    pub mach: Option<(bool, u8)>,
}

/// Everything one witness says about one object file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub format: Format,
    pub machine: Machine,
    pub sections: Vec<Section>,
    /// In the order of the sections, then of the file's relocation table.
    pub relocations: Vec<Seen>,
}

impl Section {
    /// Whether lowering's name for a section is this one: the name alone,
    /// or `segment,name` on Mach-O.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name
            || name
                .split_once(',')
                .is_some_and(|(segment, section)| segment == self.segment && section == self.name)
    }
}

impl Report {
    pub fn section(&self, index: usize) -> Option<&Section> {
        self.sections.iter().find(|s| s.index == index)
    }

    pub fn section_name(&self, index: usize) -> String {
        self.section(index)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("#{index}"))
    }
}

impl fmt::Display for Referent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Referent::External(name) => write!(f, "external {name}"),
            Referent::Defined { section, offset } => write!(f, "section #{section}+{offset:#x}"),
            Referent::Absolute(value) => write!(f, "absolute {value:#x}"),
            Referent::Common(name) => write!(f, "common {name}"),
            Referent::SectionOrdinal(ordinal) => write!(f, "section #{ordinal} (address in bytes)"),
        }
    }
}

/// The format of `bytes`, by magic number.
pub fn format_of(bytes: &[u8]) -> Result<Format, String> {
    match bytes {
        [0x7f, b'E', b'L', b'F', ..] => Ok(Format::Elf),
        [0xcf, 0xfa, 0xed, 0xfe, ..] | [0xce, 0xfa, 0xed, 0xfe, ..] => Ok(Format::MachO),
        // COFF objects start with the machine number.
        [0x64, 0x86, ..] | [0x64, 0xaa, ..] | [0x4c, 0x01, ..] => Ok(Format::Coff),
        _ => Err(format!(
            "unknown object format (first bytes {:02x?})",
            &bytes[..bytes.len().min(4)]
        )),
    }
}

/// The role of an ELF section, from its flags.
pub fn elf_role(name: &str, sh_type: u32, flags: u64) -> Role {
    const SHF_ALLOC: u64 = 0x2;
    const SHT_X86_64_UNWIND: u32 = 0x7000_0001;
    if flags & SHF_ALLOC == 0 {
        Role::Metadata
    } else if name == ".eh_frame" || sh_type == SHT_X86_64_UNWIND {
        Role::Unwind
    } else {
        Role::Stencil
    }
}

/// The role of a Mach-O section, from its segment, name and flags.
pub fn mach_o_role(segment: &str, name: &str, flags: u32) -> Role {
    const S_ATTR_DEBUG: u32 = 0x0200_0000;
    if name == "__compact_unwind" || name == "__eh_frame" {
        Role::Unwind
    } else if segment == "__DWARF" || segment == "__LLVM" || flags & S_ATTR_DEBUG != 0 {
        Role::Metadata
    } else {
        Role::Stencil
    }
}

/// The role of a COFF section, from its name and characteristics.
pub fn coff_role(name: &str, characteristics: u32) -> Role {
    const IMAGE_SCN_CNT_CODE: u32 = 0x20;
    const IMAGE_SCN_CNT_INITIALIZED_DATA: u32 = 0x40;
    const IMAGE_SCN_CNT_UNINITIALIZED_DATA: u32 = 0x80;
    const IMAGE_SCN_LNK_INFO: u32 = 0x200;
    const IMAGE_SCN_LNK_REMOVE: u32 = 0x800;
    let contents =
        IMAGE_SCN_CNT_CODE | IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_CNT_UNINITIALIZED_DATA;
    let base = name.split('$').next().unwrap_or(name);
    if base == ".pdata" || base == ".xdata" {
        Role::Unwind
    } else if characteristics & (IMAGE_SCN_LNK_INFO | IMAGE_SCN_LNK_REMOVE) != 0
        || characteristics & contents == 0
        || name.starts_with(".debug")
    {
        Role::Metadata
    } else {
        Role::Stencil
    }
}
