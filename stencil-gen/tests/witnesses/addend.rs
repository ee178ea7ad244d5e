//! The effective addend of a relocation, in ELF terms (`S + A - P` for
//! pc-relative kinds), and the place it refers to.
//!
//! ELF carries the addend in the relocation; Mach-O and COFF keep it in
//! the relocated bytes, where it is read here, by this test's own reading
//! of the formats' rules.

use super::report::{Format, Machine, Referent, Report, Seen};

/// What a relocation refers to, once the referent's place is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// An undefined symbol, by its name in the file.
    External(String),
    /// A place in a section.
    InSection { section: usize, offset: u64 },
    /// No place: the addend is the whole value.
    Absolute,
}

/// Where a relocation points, and its addend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    pub site: Site,
    pub addend: i64,
}

pub fn effective(report: &Report, seen: &Seen) -> Result<Effective, String> {
    match report.format {
        Format::Elf => {
            let addend = seen
                .addend
                .ok_or("an ELF relocation without an addend (SHT_REL)")?;
            site_of(&seen.referent, addend)
        }
        Format::MachO => mach_o(report, seen),
        Format::Coff => coff(report, seen),
    }
}

/// The site of a symbol referent (an absolute symbol's value joins the
/// addend).
fn site_of(referent: &Referent, addend: i64) -> Result<Effective, String> {
    let site = match referent {
        Referent::External(name) => Site::External(name.clone()),
        Referent::Defined { section, offset } => Site::InSection {
            section: *section,
            offset: *offset,
        },
        Referent::Absolute(value) => {
            return Ok(Effective {
                site: Site::Absolute,
                addend: addend.wrapping_add(*value as i64),
            })
        }
        Referent::Common(name) => return Err(format!("refers to common symbol {name}")),
        Referent::SectionOrdinal(_) => return Err("a section referent outside Mach-O".into()),
    };
    Ok(Effective { site, addend })
}

/// `count` little-endian bytes at the relocated place.
fn stored(report: &Report, seen: &Seen, count: usize) -> Result<u64, String> {
    let section = report
        .section(seen.section)
        .ok_or_else(|| format!("no section #{}", seen.section))?;
    let start = seen.offset as usize;
    let bytes = section
        .bytes
        .get(start..start + count)
        .ok_or("the relocated bytes lie outside the section")?;
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate() {
        value |= u64::from(*byte) << (8 * i);
    }
    Ok(value)
}

fn stored_i32(report: &Report, seen: &Seen) -> Result<i64, String> {
    Ok(i64::from(stored(report, seen, 4)? as u32 as i32))
}

/// The 32-bit instruction word at the relocated place.
fn instruction(report: &Report, seen: &Seen) -> Option<u32> {
    stored(report, seen, 4).ok().map(|w| w as u32)
}

fn section_address(report: &Report, ordinal: usize) -> Result<u64, String> {
    report
        .section(ordinal)
        .map(|s| s.address)
        .ok_or_else(|| format!("no section #{ordinal}"))
}

fn mach_o(report: &Report, seen: &Seen) -> Result<Effective, String> {
    let (pcrel, width_log2) = seen.mach.ok_or("a Mach-O relocation without its width")?;
    let width = 1usize << width_log2;
    let unsigned = seen.type_name.ends_with("_RELOC_UNSIGNED");
    if unsigned {
        let raw = match width {
            8 => stored(report, seen, 8)? as i64,
            4 => stored_i32(report, seen)?,
            _ => return Err(format!("an UNSIGNED relocation {width} bytes wide")),
        };
        return match seen.referent {
            // The bytes hold the referent's address in the file.
            Referent::SectionOrdinal(ordinal) => Ok(Effective {
                site: Site::InSection {
                    section: ordinal,
                    offset: (raw as u64).wrapping_sub(section_address(report, ordinal)?),
                },
                addend: 0,
            }),
            ref referent => site_of(referent, raw),
        };
    }
    match report.machine {
        Machine::X86_64 if pcrel && width == 4 => {
            // SIGNED_n: n bytes of immediate follow the displacement.
            let after = match seen.type_name.as_str() {
                "X86_64_RELOC_SIGNED_1" => 1,
                "X86_64_RELOC_SIGNED_2" => 2,
                "X86_64_RELOC_SIGNED_4" => 4,
                _ => 0,
            };
            let displacement = stored_i32(report, seen)?;
            match seen.referent {
                // The displacement reaches the referent from the end of the
                // instruction, at the section's address in the file.
                Referent::SectionOrdinal(ordinal) => {
                    let place = section_address(report, seen.section)? + seen.offset;
                    let address = (place as i64 + 4 + after + displacement) as u64;
                    Ok(Effective {
                        site: Site::InSection {
                            section: ordinal,
                            offset: address.wrapping_sub(section_address(report, ordinal)?),
                        },
                        addend: -4 - after,
                    })
                }
                // `S + displacement - (P + 4)`, whatever follows.
                ref referent => site_of(referent, displacement - 4),
            }
        }
        Machine::Aarch64 => match seen.referent {
            Referent::SectionOrdinal(_) => {
                Err("a non-external arm64 instruction relocation".into())
            }
            // Instruction relocations carry their addend in a preceding
            // ARM64_RELOC_ADDEND, never in the instruction.
            ref referent => site_of(referent, seen.addend.unwrap_or(0)),
        },
        _ => Err(format!(
            "a {} relocation {width} bytes wide, pc-relative {pcrel}",
            seen.type_name
        )),
    }
}

fn coff(report: &Report, seen: &Seen) -> Result<Effective, String> {
    let name = seen.type_name.as_str();
    let addend = match name {
        "IMAGE_REL_AMD64_ADDR64" | "IMAGE_REL_ARM64_ADDR64" => stored(report, seen, 8)? as i64,
        "IMAGE_REL_AMD64_ADDR32" | "IMAGE_REL_ARM64_ADDR32" => stored(report, seen, 4)? as i64,
        "IMAGE_REL_I386_DIR32" => stored_i32(report, seen)?,
        // Relative to the end of the 32-bit field (`S + A - (P + 4)`), or
        // to n bytes after it for REL32_n.
        "IMAGE_REL_AMD64_REL32" | "IMAGE_REL_I386_REL32" | "IMAGE_REL_ARM64_REL32" => {
            stored_i32(report, seen)? - 4
        }
        _ if name.starts_with("IMAGE_REL_AMD64_REL32_") => {
            let after: i64 = name["IMAGE_REL_AMD64_REL32_".len()..]
                .parse()
                .map_err(|_| format!("{name}: no distance"))?;
            stored_i32(report, seen)? - 4 - after
        }
        _ if name.starts_with("IMAGE_REL_ARM64_") => arm64_immediate(report, seen)?,
        _ => return Err(format!("{name}: no addend rule")),
    };
    site_of(&seen.referent, addend)
}

/// The addend an ARM64 COFF instruction holds in its immediate field.
fn arm64_immediate(report: &Report, seen: &Seen) -> Result<i64, String> {
    let word = instruction(report, seen).ok_or("no instruction at the relocated place")?;
    let signed = |value: u32, bits: u32| ((i64::from(value)) << (64 - bits)) >> (64 - bits);
    Ok(match seen.type_name.as_str() {
        "IMAGE_REL_ARM64_BRANCH26" => signed(word & 0x03ff_ffff, 26) << 2,
        "IMAGE_REL_ARM64_BRANCH19" => signed((word >> 5) & 0x7ffff, 19) << 2,
        "IMAGE_REL_ARM64_BRANCH14" => signed((word >> 5) & 0x3fff, 14) << 2,
        "IMAGE_REL_ARM64_PAGEBASE_REL21" | "IMAGE_REL_ARM64_REL21" => {
            signed(((word >> 29) & 0x3) | ((word >> 3) & 0x1f_fffc), 21)
        }
        "IMAGE_REL_ARM64_PAGEOFFSET_12A" => i64::from((word >> 10) & 0xfff),
        "IMAGE_REL_ARM64_PAGEOFFSET_12L" => {
            let scale = super::mapping::page_offset_scale(Some(word))?;
            i64::from((word >> 10) & 0xfff) << scale
        }
        other => return Err(format!("{other}: no addend rule")),
    })
}
