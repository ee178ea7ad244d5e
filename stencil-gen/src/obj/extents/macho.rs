//! 64-bit Mach-O: the header, each load command within the load command
//! table, and what the commands point at: segment and section contents,
//! relocation tables, the symbol and string tables, the dynamic symbol
//! table's parts and link-edit data blobs.

use object::macho::{
    LC_CODE_SIGNATURE, LC_DATA_IN_CODE, LC_DYLD_CHAINED_FIXUPS, LC_DYLD_EXPORTS_TRIE,
    LC_DYLIB_CODE_SIGN_DRS, LC_DYSYMTAB, LC_FUNCTION_STARTS, LC_LINKER_OPTIMIZATION_HINT,
    LC_SEGMENT_64, LC_SEGMENT_SPLIT_INFO, LC_SYMTAB, SECTION_TYPE, S_GB_ZEROFILL,
    S_THREAD_LOCAL_ZEROFILL, S_ZEROFILL,
};

use super::{File, Record};
use crate::obj::ObjError;

const HEADER_SIZE: u64 = 32;
const SEGMENT_SIZE: u64 = 72;
const SECTION_SIZE: u64 = 80;
const RELOCATION_SIZE: u64 = 8;
const SYMBOL_SIZE: u64 = 16;
const SYMTAB_SIZE: u64 = 24;
const DYSYMTAB_SIZE: u64 = 80;
const LINKEDIT_DATA_SIZE: u64 = 16;
/// A dylib module table entry (`dylib_module_64`).
const MODULE_SIZE: u64 = 56;

pub(super) fn check(file: &File<'_>) -> Result<(), ObjError> {
    let header = file.record(|| "the Mach-O header".to_string(), 0, HEADER_SIZE)?;
    let ncmds = header.u32(16);
    let sizeofcmds = u64::from(header.u32(20));
    file.span(
        || format!("the {ncmds} Mach-O load commands"),
        HEADER_SIZE,
        sizeofcmds,
    )?;
    let end = HEADER_SIZE + sizeofcmds;
    let mut at = HEADER_SIZE;
    for index in 0..ncmds {
        let what = || format!("Mach-O load command {index}");
        let malformed = |problem: String| ObjError::Malformed {
            what: what(),
            problem,
        };
        if at + 8 > end {
            return Err(malformed(format!(
                "it would start at {at:#x}, but the {ncmds} load commands end at {end:#x}"
            )));
        }
        let head = file.record(what, at, 8)?;
        let (cmd, cmdsize) = (head.u32(0), u64::from(head.u32(4)));
        if cmdsize < 8 || cmdsize % 8 != 0 {
            return Err(malformed(format!(
                "its size {cmdsize} is not a positive multiple of 8"
            )));
        }
        if at + cmdsize > end {
            return Err(malformed(format!(
                "it runs to {:#x}, past the end of the load commands at {end:#x}",
                at + cmdsize
            )));
        }
        let body = file.record(what, at, cmdsize)?;
        let minimum = match cmd {
            LC_SEGMENT_64 => SEGMENT_SIZE,
            LC_SYMTAB => SYMTAB_SIZE,
            LC_DYSYMTAB => DYSYMTAB_SIZE,
            _ if is_linkedit_data(cmd) => LINKEDIT_DATA_SIZE,
            _ => 8,
        };
        if cmdsize < minimum {
            return Err(malformed(format!(
                "command {cmd:#x} needs {minimum} bytes, it has {cmdsize}"
            )));
        }
        match cmd {
            LC_SEGMENT_64 => segment(file, &body, index)?,
            LC_SYMTAB => symtab(file, &body)?,
            LC_DYSYMTAB => dysymtab(file, &body)?,
            _ if is_linkedit_data(cmd) => {
                let (offset, size) = (body.u32(8), body.u32(12));
                file.span(
                    || format!("the link-edit data of load command {index} ({cmd:#x})"),
                    offset.into(),
                    size.into(),
                )?;
            }
            _ => {}
        }
        at += cmdsize;
    }
    Ok(())
}

/// Load commands whose body is a `linkedit_data_command`: an offset and a
/// size in the file.
fn is_linkedit_data(cmd: u32) -> bool {
    [
        LC_CODE_SIGNATURE,
        LC_SEGMENT_SPLIT_INFO,
        LC_FUNCTION_STARTS,
        LC_DATA_IN_CODE,
        LC_DYLIB_CODE_SIGN_DRS,
        LC_LINKER_OPTIMIZATION_HINT,
        LC_DYLD_EXPORTS_TRIE,
        LC_DYLD_CHAINED_FIXUPS,
    ]
    .contains(&cmd)
}

fn segment(file: &File<'_>, command: &Record<'_>, index: u32) -> Result<(), ObjError> {
    let segment = command.name(8, 16);
    let nsects = u64::from(command.u32(64));
    let needed = nsects
        .checked_mul(SECTION_SIZE)
        .and_then(|n| n.checked_add(SEGMENT_SIZE));
    if needed.is_none_or(|n| n > command.0.len() as u64) {
        return Err(ObjError::Malformed {
            what: format!("Mach-O load command {index} (segment `{segment}`)"),
            problem: format!(
                "its {nsects} sections do not fit its {} bytes",
                command.0.len()
            ),
        });
    }
    file.span(
        || format!("the contents of Mach-O segment `{segment}`"),
        command.u64(40),
        command.u64(48),
    )?;
    for n in 0..nsects as usize {
        let at = SEGMENT_SIZE as usize + n * SECTION_SIZE as usize;
        let section = Record(&command.0[at..at + SECTION_SIZE as usize]);
        let name = format!("{},{}", section.name(16, 16), section.name(0, 16));
        let size = section.u64(40);
        let flags = section.u32(64);
        let zerofill = matches!(
            flags & SECTION_TYPE,
            S_ZEROFILL | S_GB_ZEROFILL | S_THREAD_LOCAL_ZEROFILL
        );
        if !zerofill {
            file.span(
                || format!("Mach-O section {name}"),
                section.u32(48).into(),
                size,
            )?;
        }
        let nreloc = section.u32(60);
        if nreloc > 0 {
            file.table(
                || format!("the relocations of Mach-O section {name}"),
                section.u32(56).into(),
                nreloc.into(),
                RELOCATION_SIZE,
            )?;
        }
    }
    Ok(())
}

fn symtab(file: &File<'_>, command: &Record<'_>) -> Result<(), ObjError> {
    let nsyms = command.u32(12);
    file.table(
        || format!("the Mach-O symbol table of {nsyms} symbols"),
        command.u32(8).into(),
        nsyms.into(),
        SYMBOL_SIZE,
    )?;
    file.span(
        || "the Mach-O string table".to_string(),
        command.u32(16).into(),
        command.u32(20).into(),
    )
}

/// The tables a `dysymtab_command` points at: table of contents, module
/// table, external references, indirect symbols, external and local
/// relocations.
fn dysymtab(file: &File<'_>, command: &Record<'_>) -> Result<(), ObjError> {
    let tables = [
        ("table of contents", 32, 8),
        ("module table", 40, MODULE_SIZE),
        ("external reference table", 48, 4),
        ("indirect symbol table", 56, 4),
        ("external relocations", 64, RELOCATION_SIZE),
        ("local relocations", 72, RELOCATION_SIZE),
    ];
    for (what, at, entry) in tables {
        let count = command.u32(at + 4);
        if count > 0 {
            file.table(
                || format!("the Mach-O {what}"),
                command.u32(at).into(),
                count.into(),
                entry,
            )?;
        }
    }
    Ok(())
}
