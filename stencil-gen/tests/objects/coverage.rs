//! Witness: where the last structure of an object file ends, as `goblin`
//! reads the file: headers, load commands, section table, section
//! contents, relocations, symbols and strings.

use goblin::elf::section_header::{SHT_NOBITS, SHT_NULL};
use goblin::elf::Elf;
use goblin::mach::load_command::CommandVariant;
use goblin::mach::MachO;
use goblin::pe::Coff;

/// The end of the last structure of `bytes`, an ELF, 64-bit Mach-O or
/// COFF object.
pub fn structures_end(bytes: &[u8]) -> u64 {
    let mut spans = Vec::new();
    if bytes.starts_with(b"\x7fELF") {
        elf(bytes, &mut spans);
    } else if bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe]) {
        macho(bytes, &mut spans);
    } else {
        coff(bytes, &mut spans);
    }
    spans
        .iter()
        .map(|(start, size)| start + size)
        .max()
        .unwrap_or(0)
}

fn elf(bytes: &[u8], spans: &mut Vec<(u64, u64)>) {
    let elf = Elf::parse(bytes).expect("goblin reads the ELF file");
    let header = &elf.header;
    spans.push((0, header.e_ehsize.into()));
    spans.push((
        header.e_shoff,
        u64::from(header.e_shnum) * u64::from(header.e_shentsize),
    ));
    for section in &elf.section_headers {
        if section.sh_type != SHT_NOBITS && section.sh_type != SHT_NULL {
            spans.push((section.sh_offset, section.sh_size));
        }
    }
}

fn macho(bytes: &[u8], spans: &mut Vec<(u64, u64)>) {
    let macho = MachO::parse(bytes, 0).expect("goblin reads the Mach-O file");
    spans.push((0, 32 + u64::from(macho.header.sizeofcmds)));
    for command in &macho.load_commands {
        match &command.command {
            CommandVariant::Segment64(segment) => spans.push((segment.fileoff, segment.filesize)),
            CommandVariant::Symtab(symtab) => {
                spans.push((symtab.symoff.into(), u64::from(symtab.nsyms) * 16));
                spans.push((symtab.stroff.into(), symtab.strsize.into()));
            }
            CommandVariant::LinkerOptimizationHint(data) | CommandVariant::DataInCode(data) => {
                spans.push((data.dataoff.into(), data.datasize.into()));
            }
            _ => {}
        }
    }
    for segment in macho.segments.iter() {
        for (section, _) in segment.sections().expect("goblin reads the sections") {
            // Zero-fill sections have no bytes in the file.
            if !matches!(section.flags & 0xff, 0x1 | 0xc | 0x12) {
                spans.push((section.offset.into(), section.size));
            }
            spans.push((section.reloff.into(), u64::from(section.nreloc) * 8));
        }
    }
}

fn coff(bytes: &[u8], spans: &mut Vec<(u64, u64)>) {
    let coff = Coff::parse(bytes).expect("goblin reads the COFF file");
    let header = &coff.header;
    spans.push((
        20 + u64::from(header.size_of_optional_header),
        u64::from(header.number_of_sections) * 40,
    ));
    for section in &coff.sections {
        // Uninitialized data has no bytes in the file.
        if section.characteristics & 0x80 == 0 {
            spans.push((
                section.pointer_to_raw_data.into(),
                section.size_of_raw_data.into(),
            ));
        }
        spans.push((
            section.pointer_to_relocations.into(),
            u64::from(section.number_of_relocations) * 10,
        ));
    }
    // The string table follows the symbols and starts with its size.
    let strings =
        u64::from(header.pointer_to_symbol_table) + u64::from(header.number_of_symbol_table) * 18;
    let at = strings as usize;
    let size = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    spans.push((strings, size.into()));
}
