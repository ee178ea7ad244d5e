//! ELF: the file header, the program and section header tables, and the
//! contents of every section that has any in the file.

use object::elf::{SHN_XINDEX, SHT_NOBITS, SHT_NULL};

use super::{File, Record};
use crate::obj::ObjError;

/// Where the fields these checks read sit in the 32- and 64-bit layouts.
struct Layout {
    /// Addresses, offsets and sizes are 64-bit.
    wide: bool,
    header: u64,
    section: u64,
    phoff: usize,
    shoff: usize,
    /// `e_phentsize`, then `e_phnum`, `e_shentsize`, `e_shnum` and
    /// `e_shstrndx`, two bytes each.
    sizes: usize,
    sh_offset: usize,
    sh_size: usize,
    sh_link: usize,
}

const ELF32: Layout = Layout {
    wide: false,
    header: 52,
    section: 40,
    phoff: 0x1c,
    shoff: 0x20,
    sizes: 0x2a,
    sh_offset: 0x10,
    sh_size: 0x14,
    sh_link: 0x18,
};

const ELF64: Layout = Layout {
    wide: true,
    header: 64,
    section: 64,
    phoff: 0x20,
    shoff: 0x28,
    sizes: 0x36,
    sh_offset: 0x18,
    sh_size: 0x20,
    sh_link: 0x28,
};

impl Layout {
    fn word(&self, record: &Record<'_>, at: usize) -> u64 {
        if self.wide {
            record.u64(at)
        } else {
            u64::from(record.u32(at))
        }
    }
}

pub(super) fn check(file: &File<'_>) -> Result<(), ObjError> {
    // The class byte of the identification: 2 is 64-bit.
    let layout = if file.bytes.get(4) == Some(&2) {
        &ELF64
    } else {
        &ELF32
    };
    let header = file.record(|| "the ELF file header".to_string(), 0, layout.header)?;
    let phoff = layout.word(&header, layout.phoff);
    let shoff = layout.word(&header, layout.shoff);
    let field = |n: usize| u64::from(header.u16(layout.sizes + 2 * n));
    let (phentsize, phnum, shentsize, shnum, shstrndx) =
        (field(0), field(1), field(2), field(3), field(4));
    if phnum > 0 {
        file.table(
            || "the ELF program header table".to_string(),
            phoff,
            phnum,
            phentsize,
        )?;
    }
    if shoff == 0 {
        return Ok(());
    }
    if shentsize != layout.section {
        return Err(ObjError::Malformed {
            what: "the ELF section header table".to_string(),
            problem: format!("its entries are {shentsize} bytes, not {}", layout.section),
        });
    }
    // Section 0 holds the real count and name table index when they do
    // not fit the file header.
    let first = file.record(|| "ELF section header 0".to_string(), shoff, layout.section)?;
    let count = match shnum {
        0 => layout.word(&first, layout.sh_size),
        n => n,
    };
    file.table(
        || format!("the ELF section header table of {count} entries"),
        shoff,
        count,
        layout.section,
    )?;
    let header_at = |index: u64| -> Record<'_> {
        let start = (shoff + index * layout.section) as usize;
        // In bounds: the whole table was checked above.
        Record(&file.bytes[start..start + layout.section as usize])
    };
    let names_index = match shstrndx {
        SHN_XINDEX_U64 => u64::from(first.u32(layout.sh_link)),
        n => n,
    };
    let names = (names_index < count)
        .then(|| {
            let names = header_at(names_index);
            let start = layout.word(&names, layout.sh_offset);
            let size = layout.word(&names, layout.sh_size);
            let end = start.checked_add(size)?;
            file.bytes.get(start as usize..end as usize)
        })
        .flatten();
    for index in 0..count {
        let section = header_at(index);
        let kind = section.u32(4);
        if kind == SHT_NULL || kind == SHT_NOBITS {
            continue;
        }
        let name = || match section_name(names, section.u32(0)) {
            Some(name) => format!("ELF section {index} ({name})"),
            None => format!("ELF section {index}"),
        };
        file.span(
            name,
            layout.word(&section, layout.sh_offset),
            layout.word(&section, layout.sh_size),
        )?;
    }
    Ok(())
}

const SHN_XINDEX_U64: u64 = SHN_XINDEX as u64;

/// A section's name from the section name table, when it can be read.
fn section_name(names: Option<&[u8]>, offset: u32) -> Option<String> {
    let rest = names?.get(offset as usize..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}
