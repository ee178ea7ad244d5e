//! Mach-O: section kinds from section types and attributes, and
//! relocations read from the raw table, where `ARM64_RELOC_ADDEND` pairs
//! are folded into the relocation they precede and x86-64 addends are
//! decoded from the relocated bytes.

use object::macho;
use object::read::macho::{MachHeader, MachOFile64};
use object::{Endianness, Object, ObjectSection};
use runtime::Arch;

use super::{reloc_names, ObjError, RawRelocation, SectionBytes, SectionKind};
use crate::target::Format;

/// What a Mach-O section holds, from its type and attributes; unwind
/// tables and thread-local data are no part of a stencil.
pub(super) fn section_kind(section: &object::Section<'_, '_>) -> SectionKind {
    let object::SectionFlags::MachO { flags } = section.flags() else {
        return SectionKind::Other;
    };
    let name = section.name().unwrap_or("");
    let segment = section.segment_name().ok().flatten().unwrap_or("");
    if matches!(name, "__compact_unwind" | "__eh_frame") || flags & macho::S_ATTR_DEBUG != 0 {
        return SectionKind::Other;
    }
    let instructions = macho::S_ATTR_PURE_INSTRUCTIONS | macho::S_ATTR_SOME_INSTRUCTIONS;
    match flags & macho::SECTION_TYPE {
        macho::S_ZEROFILL | macho::S_GB_ZEROFILL => SectionKind::Bss,
        macho::S_CSTRING_LITERALS
        | macho::S_4BYTE_LITERALS
        | macho::S_8BYTE_LITERALS
        | macho::S_16BYTE_LITERALS
        | macho::S_LITERAL_POINTERS => SectionKind::ReadOnlyData,
        macho::S_REGULAR if flags & instructions != 0 => SectionKind::Code,
        macho::S_REGULAR if segment == "__TEXT" || name == "__const" => SectionKind::ReadOnlyData,
        macho::S_REGULAR if segment.starts_with("__DATA") => SectionKind::Data,
        _ => SectionKind::Other,
    }
}

/// The relocations of section `index` of an `arch` object (x86-64 or
/// AArch64, as its header said), with effective addends.
pub(super) fn raw_relocations(
    file: &MachOFile64<'_, Endianness>,
    arch: Arch,
    index: object::SectionIndex,
    bytes: &SectionBytes<'_>,
) -> Result<Vec<RawRelocation>, ObjError> {
    let endian = file.endian();
    let cputype = file.macho_header().cputype(endian);
    let section = file
        .section_by_index(index)
        .map_err(|e| read_error(bytes, e))?;
    let table = section
        .macho_relocations()
        .map_err(|e| read_error(bytes, e))?;
    let mut relocations = Vec::with_capacity(table.len());
    // An `ARM64_RELOC_ADDEND` waiting for the relocation it belongs to:
    // its offset and addend.
    let mut pending: Option<(u32, i64)> = None;
    for entry in table {
        if entry.r_scattered(endian, cputype) {
            let offset = u64::from(entry.r_word0.get(endian) & 0x00ff_ffff);
            return Err(bytes.error(offset, "scattered relocation", "is not supported"));
        }
        let info = entry.info(endian);
        let r_type = u32::from(info.r_type);
        let type_name = reloc_names::name(Format::MachO, arch, r_type);
        let offset = u64::from(info.r_address);
        if arch == Arch::Aarch64 && r_type == u32::from(macho::ARM64_RELOC_ADDEND) {
            if pending.is_some() {
                return Err(bytes.error(offset, &type_name, "follows another ARM64_RELOC_ADDEND"));
            }
            // The addend is the 24-bit signed symbol number.
            let addend = i64::from((info.r_symbolnum << 8) as i32 >> 8);
            pending = Some((info.r_address, addend));
            continue;
        }
        let paired = match pending.take() {
            None => None,
            Some((address, addend)) if address == info.r_address && takes_addend(r_type) => {
                Some(addend)
            }
            Some((address, _)) => {
                return Err(bytes.error(
                    u64::from(address),
                    "ARM64_RELOC_ADDEND",
                    format!("is not followed by a page, page offset or branch relocation at its offset, but by {type_name} at {offset:#x}"),
                ))
            }
        };
        let target = if info.r_extern {
            object::RelocationTarget::Symbol(object::SymbolIndex(info.r_symbolnum as usize))
        } else {
            object::RelocationTarget::Section(object::SectionIndex(info.r_symbolnum as usize))
        };
        // A section target's implicit addend is an address in the object's
        // address space: make it an offset from the section's start.
        let target_start = if info.r_extern {
            0
        } else {
            file.section_by_index(object::SectionIndex(info.r_symbolnum as usize))
                .map(|s| s.address())
                .map_err(|_| bytes.error(offset, &type_name, "refers to a missing section"))?
        };
        let addend = match arch {
            Arch::X86_64 => x86_64_addend(bytes, &info, &type_name, target_start)?,
            _ => aarch64_addend(bytes, &info, &type_name, target_start, paired)?,
        };
        relocations.push(RawRelocation {
            offset,
            r_type,
            size: 1 << info.r_length,
            target,
            addend,
        });
    }
    if let Some((address, _)) = pending {
        return Err(bytes.error(
            u64::from(address),
            "ARM64_RELOC_ADDEND",
            "is the last relocation: nothing to add it to",
        ));
    }
    Ok(relocations)
}

/// The arm64 relocation types an `ARM64_RELOC_ADDEND` may precede.
fn takes_addend(r_type: u32) -> bool {
    [
        macho::ARM64_RELOC_BRANCH26,
        macho::ARM64_RELOC_PAGE21,
        macho::ARM64_RELOC_PAGEOFF12,
    ]
    .iter()
    .any(|&t| u32::from(t) == r_type)
}

fn read_error(bytes: &SectionBytes<'_>, error: object::Error) -> ObjError {
    ObjError::Section {
        section: bytes.name.to_string(),
        message: error.to_string(),
    }
}

/// An `UNSIGNED` relocation's addend: the 32- or 64-bit value in place.
fn absolute_addend(
    bytes: &SectionBytes<'_>,
    info: &macho::RelocationInfo,
    type_name: &str,
    target_start: u64,
) -> Result<i64, ObjError> {
    let offset = u64::from(info.r_address);
    let value = match (info.r_pcrel, info.r_length) {
        (false, 2) => bytes.i32(offset, type_name)?,
        (false, 3) => bytes.i64(offset, type_name)?,
        _ => return Err(flags_error(bytes, info, type_name)),
    };
    Ok(value.wrapping_sub(target_start as i64))
}

fn flags_error(
    bytes: &SectionBytes<'_>,
    info: &macho::RelocationInfo,
    type_name: &str,
) -> ObjError {
    bytes.error(
        u64::from(info.r_address),
        type_name,
        format!(
            "its flags (r_pcrel {}, r_length {}) do not fit its type",
            u8::from(info.r_pcrel),
            info.r_length
        ),
    )
}

/// x86-64 Mach-O keeps every addend in the relocated bytes. A pc-relative
/// disp32 is relative to the end of its field (`P + 4`); the `SIGNED_1/2/4`
/// types say that 1, 2 or 4 bytes of immediate follow it, and the linker
/// adds that bias both to the addend and to the place, so it cancels:
/// `A = disp32 - 4` against a symbol. Against a section the disp32 was
/// computed from the object's own addresses: the target's offset in its
/// section is `P + 4 + disp32 + bias - start`, which, less `4 + bias`,
/// gives `A`.
fn x86_64_addend(
    bytes: &SectionBytes<'_>,
    info: &macho::RelocationInfo,
    type_name: &str,
    target_start: u64,
) -> Result<i64, ObjError> {
    let offset = u64::from(info.r_address);
    match info.r_type {
        macho::X86_64_RELOC_UNSIGNED => absolute_addend(bytes, info, type_name, target_start),
        macho::X86_64_RELOC_SIGNED
        | macho::X86_64_RELOC_SIGNED_1
        | macho::X86_64_RELOC_SIGNED_2
        | macho::X86_64_RELOC_SIGNED_4
        | macho::X86_64_RELOC_BRANCH
        | macho::X86_64_RELOC_GOT_LOAD
        | macho::X86_64_RELOC_GOT => {
            if !info.r_pcrel || info.r_length != 2 {
                return Err(flags_error(bytes, info, type_name));
            }
            let disp = bytes.i32(offset, type_name)?;
            if info.r_extern {
                Ok(disp - 4)
            } else {
                let place = bytes.address.wrapping_add(offset) as i64;
                Ok(place.wrapping_add(disp).wrapping_sub(target_start as i64))
            }
        }
        // Lowering rejects the rest by type (`SUBTRACTOR`, `TLV`).
        _ => Ok(0),
    }
}

/// arm64 Mach-O keeps only `UNSIGNED` addends in place; the others come
/// from an `ARM64_RELOC_ADDEND` (the instruction's immediate is ignored,
/// as linkers do). Instructions cannot hold an address, so those must
/// refer to a symbol.
fn aarch64_addend(
    bytes: &SectionBytes<'_>,
    info: &macho::RelocationInfo,
    type_name: &str,
    target_start: u64,
    paired: Option<i64>,
) -> Result<i64, ObjError> {
    if info.r_type == macho::ARM64_RELOC_UNSIGNED {
        return absolute_addend(bytes, info, type_name, target_start);
    }
    if !info.r_extern {
        return Err(bytes.error(
            u64::from(info.r_address),
            type_name,
            "refers to a section, not a symbol, which arm64 does not allow",
        ));
    }
    Ok(paired.unwrap_or(0))
}
