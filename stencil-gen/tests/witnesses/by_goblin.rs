//! Witness (a): the object file as `goblin` reads it.

use goblin::container::{Container, Ctx};
use goblin::elf::section_header::SHT_NOBITS;
use goblin::elf::sym::STT_SECTION;
use goblin::elf::Elf;
use goblin::mach::relocation::ARM64_RELOC_ADDEND;
use goblin::mach::MachO;
use goblin::pe::Coff;

use super::names;
use super::report::{
    coff_role, elf_role, format_of, mach_o_role, Format, Machine, Referent, Report, Section, Seen,
};

const SHN_UNDEF: usize = 0;
const SHN_ABS: usize = 0xfff1;
const SHN_COMMON: usize = 0xfff2;

pub fn read(bytes: &[u8]) -> Result<Report, String> {
    match format_of(bytes)? {
        Format::Elf => elf(bytes),
        Format::MachO => mach_o(bytes),
        Format::Coff => coff(bytes),
    }
}

fn elf(bytes: &[u8]) -> Result<Report, String> {
    let elf = Elf::parse(bytes).map_err(|e| format!("goblin: {e}"))?;
    let machine = match elf.header.e_machine {
        goblin::elf::header::EM_X86_64 => Machine::X86_64,
        goblin::elf::header::EM_AARCH64 => Machine::Aarch64,
        goblin::elf::header::EM_RISCV => Machine::Riscv64,
        other => return Err(format!("goblin: ELF machine {other}")),
    };
    let mut sections = Vec::new();
    for (index, header) in elf.section_headers.iter().enumerate() {
        let name = elf
            .shdr_strtab
            .get_at(header.sh_name)
            .unwrap_or_default()
            .to_string();
        let role = elf_role(&name, header.sh_type, header.sh_flags);
        let contents = if header.sh_type == SHT_NOBITS {
            vec![0; header.sh_size as usize]
        } else {
            let start = header.sh_offset as usize;
            bytes
                .get(start..start + header.sh_size as usize)
                .ok_or_else(|| format!("goblin: section {name} lies outside the file"))?
                .to_vec()
        };
        sections.push(Section {
            index,
            name,
            role,
            size: header.sh_size,
            segment: String::new(),
            address: 0,
            bytes: contents,
        });
    }
    let mut relocations = Vec::new();
    for (relocation_section, table) in &elf.shdr_relocs {
        let section = elf.section_headers[*relocation_section].sh_info as usize;
        for relocation in table.iter() {
            let symbol = elf
                .syms
                .get(relocation.r_sym)
                .ok_or_else(|| format!("goblin: no symbol {}", relocation.r_sym))?;
            let shndx = symbol.st_shndx;
            let name = if symbol.st_type() == STT_SECTION {
                sections
                    .iter()
                    .find(|s| s.index == shndx)
                    .map(|s| s.name.clone())
                    .unwrap_or_default()
            } else {
                elf.strtab
                    .get_at(symbol.st_name)
                    .unwrap_or_default()
                    .to_string()
            };
            let referent = match shndx {
                _ if relocation.r_sym == 0 => Referent::Absolute(0),
                SHN_UNDEF => Referent::External(name.clone()),
                SHN_ABS => Referent::Absolute(symbol.st_value),
                SHN_COMMON => Referent::Common(name.clone()),
                section => Referent::Defined {
                    section,
                    offset: symbol.st_value,
                },
            };
            relocations.push(Seen {
                section,
                offset: relocation.r_offset,
                type_name: elf_type_name(relocation.r_type, elf.header.e_machine),
                symbol: name,
                referent,
                addend: relocation.r_addend,
                mach: None,
            });
        }
    }
    Ok(Report {
        format: Format::Elf,
        machine,
        sections,
        relocations,
    })
}

/// goblin spells some names without the `R_` that the psABIs (and
/// llvm-readelf) use.
fn elf_type_name(r_type: u32, machine: u16) -> String {
    let name = goblin::elf::reloc::r_to_str(r_type, machine);
    if name == "UNKNOWN" || name.is_empty() {
        format!("<unknown ELF relocation {r_type}>")
    } else if name.starts_with("R_") {
        name.to_string()
    } else {
        format!("R_{name}")
    }
}

fn mach_o(bytes: &[u8]) -> Result<Report, String> {
    use goblin::mach::constants::cputype::{CPU_TYPE_ARM64, CPU_TYPE_X86_64};
    let file = MachO::parse(bytes, 0).map_err(|e| format!("goblin: {e}"))?;
    let cputype = file.header.cputype;
    let machine = match cputype {
        CPU_TYPE_X86_64 => Machine::X86_64,
        CPU_TYPE_ARM64 => Machine::Aarch64,
        other => return Err(format!("goblin: Mach-O CPU type {other:#x}")),
    };
    let ctx = Ctx::new(Container::Big, goblin::container::Endian::Little);
    let mut sections = Vec::new();
    let mut headers = Vec::new();
    for segment in file.segments.iter() {
        for entry in segment.sections().map_err(|e| format!("goblin: {e}"))? {
            let (header, data) = entry;
            let name = header
                .name()
                .map_err(|e| format!("goblin: {e}"))?
                .to_string();
            let segment_name = header.segname().map_err(|e| format!("goblin: {e}"))?;
            let contents = if header.flags & 0xff == goblin::mach::constants::S_ZEROFILL {
                vec![0; header.size as usize]
            } else {
                data.to_vec()
            };
            sections.push(Section {
                index: sections.len() + 1,
                role: mach_o_role(segment_name, &name, header.flags),
                name,
                size: header.size,
                segment: segment_name.to_string(),
                address: header.addr,
                bytes: contents,
            });
            headers.push(header);
        }
    }
    let symbols = file.symbols.as_ref();
    let mut relocations = Vec::new();
    for (position, header) in headers.iter().enumerate() {
        let section = position + 1;
        let mut pending_addend = None;
        for info in header.iter_relocations(bytes, ctx) {
            let info = info.map_err(|e| format!("goblin: {e}"))?;
            if info.r_address < 0 {
                return Err(format!(
                    "goblin: scattered relocation in {}",
                    sections[position].name
                ));
            }
            let type_name =
                goblin::mach::relocation::reloc_to_str(info.r_type(), cputype).to_string();
            if machine == Machine::Aarch64 && info.r_type() == ARM64_RELOC_ADDEND {
                pending_addend = Some((info.r_address as u64, sign_extend_24(info.r_symbolnum())));
                continue;
            }
            let (symbol, referent) = if info.is_extern() {
                let (name, nlist) = symbols
                    .ok_or("goblin: relocation without a symbol table")?
                    .get(info.r_symbolnum())
                    .map_err(|e| format!("goblin: {e}"))?;
                (name.to_string(), mach_o_referent(name, &nlist, &sections))
            } else {
                let ordinal = info.r_symbolnum();
                let name = sections
                    .get(ordinal.wrapping_sub(1))
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                (name, Referent::SectionOrdinal(ordinal))
            };
            let offset = info.r_address as u64;
            let addend = paired_addend(&mut pending_addend, section, offset, &mut relocations);
            relocations.push(Seen {
                section,
                offset,
                type_name,
                symbol,
                referent,
                addend,
                mach: Some((info.r_pcrel() == 1, info.r_length())),
            });
        }
        if let Some((at, addend)) = pending_addend {
            relocations.push(unpaired_addend(section, at, addend));
        }
    }
    Ok(Report {
        format: Format::MachO,
        machine,
        sections,
        relocations,
    })
}

/// The addend of the relocation at `offset`: an `ARM64_RELOC_ADDEND`
/// just before it at the same place belongs to it; one at another place is
/// left unpaired.
pub fn paired_addend(
    pending: &mut Option<(u64, i64)>,
    section: usize,
    offset: u64,
    relocations: &mut Vec<Seen>,
) -> Option<i64> {
    match pending.take() {
        Some((at, addend)) if at == offset => Some(addend),
        Some((at, addend)) => {
            relocations.push(unpaired_addend(section, at, addend));
            None
        }
        None => None,
    }
}

/// An `ARM64_RELOC_ADDEND` with no relocation after it at its place: kept
/// as a relocation of its own, which no hole accounts for.
pub fn unpaired_addend(section: usize, offset: u64, addend: i64) -> Seen {
    Seen {
        section,
        offset,
        type_name: "ARM64_RELOC_ADDEND".to_string(),
        symbol: String::new(),
        referent: Referent::Absolute(addend as u64),
        addend: None,
        mach: None,
    }
}

pub fn sign_extend_24(value: usize) -> i64 {
    ((value as i64) << 40) >> 40
}

fn mach_o_referent(
    name: &str,
    nlist: &goblin::mach::symbols::Nlist,
    sections: &[Section],
) -> Referent {
    use goblin::mach::symbols::{N_ABS, N_SECT, N_UNDF};
    match nlist.get_type() {
        N_UNDF if nlist.n_value == 0 => Referent::External(name.to_string()),
        N_UNDF => Referent::Common(name.to_string()),
        N_ABS => Referent::Absolute(nlist.n_value),
        N_SECT => {
            let address = sections
                .get(nlist.n_sect.wrapping_sub(1))
                .map_or(0, |s| s.address);
            Referent::Defined {
                section: nlist.n_sect,
                offset: nlist.n_value.wrapping_sub(address),
            }
        }
        _ => Referent::External(name.to_string()),
    }
}

fn coff(bytes: &[u8]) -> Result<Report, String> {
    const IMAGE_SCN_CNT_UNINITIALIZED_DATA: u32 = 0x80;
    let file = Coff::parse(bytes).map_err(|e| format!("goblin: {e}"))?;
    let machine = match file.header.machine {
        0x8664 => Machine::X86_64,
        0xaa64 => Machine::Aarch64,
        0x14c => Machine::I386,
        other => return Err(format!("goblin: COFF machine {other:#x}")),
    };
    let mut sections = Vec::new();
    for (position, header) in file.sections.iter().enumerate() {
        let name = header
            .name()
            .map_err(|e| format!("goblin: {e}"))?
            .to_string();
        let size = u64::from(header.size_of_raw_data);
        let contents = if header.characteristics & IMAGE_SCN_CNT_UNINITIALIZED_DATA != 0 {
            vec![0; size as usize]
        } else {
            let start = header.pointer_to_raw_data as usize;
            bytes
                .get(start..start + size as usize)
                .ok_or_else(|| format!("goblin: section {name} lies outside the file"))?
                .to_vec()
        };
        sections.push(Section {
            index: position + 1,
            role: coff_role(&name, header.characteristics),
            name,
            size,
            segment: String::new(),
            address: 0,
            bytes: contents,
        });
    }
    let symbols = file.symbols.as_ref();
    let strings = file.strings.as_ref();
    let mut relocations = Vec::new();
    for (position, header) in file.sections.iter().enumerate() {
        let relocation_table = header
            .relocations(bytes)
            .map_err(|e| format!("goblin: {e}"))?;
        for relocation in relocation_table {
            let (inline, symbol) = symbols
                .and_then(|s| s.get(relocation.symbol_table_index as usize))
                .ok_or_else(|| format!("goblin: no symbol {}", relocation.symbol_table_index))?;
            let name = match (inline, strings) {
                (Some(name), _) => name.to_string(),
                (None, Some(strings)) => symbol
                    .name(strings)
                    .map_err(|e| format!("goblin: {e}"))?
                    .to_string(),
                (None, None) => String::new(),
            };
            let referent = match symbol.section_number {
                0 if symbol.value != 0 && symbol.storage_class == 2 => {
                    Referent::Common(name.clone())
                }
                0 => Referent::External(name.clone()),
                -1 => Referent::Absolute(u64::from(symbol.value)),
                number if number > 0 => Referent::Defined {
                    section: number as usize,
                    offset: u64::from(symbol.value),
                },
                _ => Referent::Absolute(u64::from(symbol.value)),
            };
            relocations.push(Seen {
                section: position + 1,
                offset: u64::from(
                    relocation
                        .virtual_address
                        .wrapping_sub(header.virtual_address),
                ),
                type_name: names::coff(machine, relocation.typ),
                symbol: name,
                referent,
                addend: None,
                mach: None,
            });
        }
    }
    Ok(Report {
        format: Format::Coff,
        machine,
        sections,
        relocations,
    })
}
