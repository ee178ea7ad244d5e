//! COFF (plain and big objects): the file and optional headers, the
//! section table, each section's contents and relocations, the symbol
//! table and the string table after it.

use object::pe::{IMAGE_SCN_CNT_UNINITIALIZED_DATA, IMAGE_SCN_LNK_NRELOC_OVFL};

use super::{File, Record};
use crate::obj::ObjError;

const FILE_HEADER_SIZE: u64 = 20;
const BIGOBJ_HEADER_SIZE: u64 = 56;
const SECTION_SIZE: u64 = 40;
const RELOCATION_SIZE: u64 = 10;
const SYMBOL_SIZE: u64 = 18;
const BIGOBJ_SYMBOL_SIZE: u64 = 20;

/// What the file header says about the tables.
struct Tables {
    sections: u64,
    section_table: u64,
    symbols: u64,
    symbol_table: u64,
    symbol_size: u64,
}

pub(super) fn check(file: &File<'_>) -> Result<(), ObjError> {
    let tables = if file.bytes.starts_with(&[0, 0, 0xff, 0xff]) {
        let header = file.record(
            || "the COFF big object header".to_string(),
            0,
            BIGOBJ_HEADER_SIZE,
        )?;
        Tables {
            sections: header.u32(44).into(),
            section_table: BIGOBJ_HEADER_SIZE,
            symbol_table: header.u32(48).into(),
            symbols: header.u32(52).into(),
            symbol_size: BIGOBJ_SYMBOL_SIZE,
        }
    } else {
        let header = file.record(|| "the COFF file header".to_string(), 0, FILE_HEADER_SIZE)?;
        let optional = u64::from(header.u16(16));
        file.span(
            || "the COFF optional header".to_string(),
            FILE_HEADER_SIZE,
            optional,
        )?;
        Tables {
            sections: header.u16(2).into(),
            section_table: FILE_HEADER_SIZE + optional,
            symbol_table: header.u32(8).into(),
            symbols: header.u32(12).into(),
            symbol_size: SYMBOL_SIZE,
        }
    };
    file.table(
        || format!("the COFF section table of {} sections", tables.sections),
        tables.section_table,
        tables.sections,
        SECTION_SIZE,
    )?;
    for index in 0..tables.sections {
        let at = (tables.section_table + index * SECTION_SIZE) as usize;
        // In bounds: the whole table was checked above.
        let section = Record(&file.bytes[at..at + SECTION_SIZE as usize]);
        let name = format!("{} ({})", index + 1, section_name(file, &tables, &section));
        section_extents(file, &section, &name)?;
    }
    if tables.symbol_table != 0 {
        symbol_extents(file, &tables)?;
    }
    Ok(())
}

/// A section's name for messages: its 8-byte name, or for a long name
/// (`/OFFSET`) the string table's entry when it can be read.
fn section_name(file: &File<'_>, tables: &Tables, section: &Record<'_>) -> String {
    let short = section.name(0, 8);
    let long = short
        .strip_prefix('/')
        .and_then(|offset| offset.parse::<u64>().ok())
        .and_then(|offset| {
            let strings = tables.symbol_table + tables.symbols * tables.symbol_size;
            let start = usize::try_from(strings.checked_add(offset)?).ok()?;
            let rest = file.bytes.get(start..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&rest[..end]).into_owned())
        });
    long.unwrap_or(short)
}

/// A section's contents and relocations; `name` is its 1-based index and
/// name.
fn section_extents(file: &File<'_>, section: &Record<'_>, name: &str) -> Result<(), ObjError> {
    let characteristics = section.u32(36);
    let size = section.u32(16);
    if characteristics & IMAGE_SCN_CNT_UNINITIALIZED_DATA == 0 && size > 0 {
        file.span(
            || format!("the contents of COFF section {name}"),
            section.u32(20).into(),
            size.into(),
        )?;
    }
    let start = u64::from(section.u32(24));
    let mut count = u64::from(section.u16(32));
    // With the overflow flag the first relocation holds the real count
    // (itself included).
    if count == 0xffff && characteristics & IMAGE_SCN_LNK_NRELOC_OVFL != 0 {
        let first = file.record(
            || format!("the first relocation of COFF section {name}"),
            start,
            RELOCATION_SIZE,
        )?;
        count = first.u32(0).into();
    }
    if count > 0 {
        file.table(
            || format!("the relocations of COFF section {name}"),
            start,
            count,
            RELOCATION_SIZE,
        )?;
    }
    Ok(())
}

/// The symbol table and the string table, which starts with its own size.
fn symbol_extents(file: &File<'_>, tables: &Tables) -> Result<(), ObjError> {
    file.table(
        || format!("the COFF symbol table of {} symbols", tables.symbols),
        tables.symbol_table,
        tables.symbols,
        tables.symbol_size,
    )?;
    let strings = tables.symbol_table + tables.symbols * tables.symbol_size;
    let size = file.record(
        || "the size of the COFF string table".to_string(),
        strings,
        4,
    )?;
    file.span(
        || "the COFF string table".to_string(),
        strings,
        u64::from(size.u32(0)).max(4),
    )
}
