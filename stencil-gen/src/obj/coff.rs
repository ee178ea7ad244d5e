//! COFF: section kinds (unwind tables dropped) and the addends COFF keeps
//! in the relocated bytes, decoded per relocation type.

use object::pe;
use object::ObjectSection;
use runtime::Arch;

use super::{generic_section_kind, insn, ObjError, SectionBytes, SectionKind};

/// What a COFF section holds, from its characteristics; `.pdata` and
/// `.xdata` (unwind tables, `$suffix` or not) are no part of a stencil.
pub(super) fn section_kind(section: &object::Section<'_, '_>) -> SectionKind {
    let name = section.name().unwrap_or("");
    let base = name.split('$').next().unwrap_or(name);
    if matches!(base, ".pdata" | ".xdata") {
        return SectionKind::Other;
    }
    generic_section_kind(section.kind())
}

/// The effective addend of a COFF relocation of type `r_type` at
/// `offset`, from the bytes in place. A pc-relative field is relative to
/// its end (`P + 4`), and `REL32_N` to `N` bytes further. Types lowering
/// does not map get 0 and are rejected there.
pub(super) fn addend(
    arch: Arch,
    bytes: &SectionBytes<'_>,
    offset: u64,
    r_type: u32,
    type_name: &str,
) -> Result<i64, ObjError> {
    let Ok(r_type) = u16::try_from(r_type) else {
        return Ok(0);
    };
    let word = || bytes.u32(offset, type_name);
    let addend = match arch {
        Arch::X86_64 => match r_type {
            pe::IMAGE_REL_AMD64_ADDR64 => bytes.i64(offset, type_name)?,
            pe::IMAGE_REL_AMD64_ADDR32 => i64::from(word()?),
            pe::IMAGE_REL_AMD64_REL32..=pe::IMAGE_REL_AMD64_REL32_5 => {
                let bias = i64::from(r_type - pe::IMAGE_REL_AMD64_REL32);
                bytes.i32(offset, type_name)? - 4 - bias
            }
            _ => 0,
        },
        Arch::I686 => match r_type {
            pe::IMAGE_REL_I386_DIR32 => bytes.i32(offset, type_name)?,
            pe::IMAGE_REL_I386_REL32 => bytes.i32(offset, type_name)? - 4,
            _ => 0,
        },
        Arch::Aarch64 => match r_type {
            pe::IMAGE_REL_ARM64_ADDR64 => bytes.i64(offset, type_name)?,
            pe::IMAGE_REL_ARM64_ADDR32 => i64::from(word()?),
            pe::IMAGE_REL_ARM64_REL32 => bytes.i32(offset, type_name)? - 4,
            pe::IMAGE_REL_ARM64_BRANCH26 => insn::aarch64_branch26(word()?),
            pe::IMAGE_REL_ARM64_BRANCH19 => insn::aarch64_branch19(word()?),
            pe::IMAGE_REL_ARM64_BRANCH14 => insn::aarch64_branch14(word()?),
            // In bytes, not pages.
            pe::IMAGE_REL_ARM64_PAGEBASE_REL21 | pe::IMAGE_REL_ARM64_REL21 => {
                insn::aarch64_adr_immediate(word()?)
            }
            pe::IMAGE_REL_ARM64_PAGEOFFSET_12A => insn::aarch64_imm12(word()?),
            // Scaled by the access size, as the instruction will be.
            pe::IMAGE_REL_ARM64_PAGEOFFSET_12L => {
                let word = word()?;
                let scale = insn::aarch64_page_offset_scale(word).ok_or_else(|| {
                    bytes.error(
                        offset,
                        type_name,
                        format!("is on {word:#010x}, not a load or store with an unsigned offset"),
                    )
                })?;
                insn::aarch64_imm12(word) << scale
            }
            _ => 0,
        },
        Arch::Riscv64 => 0,
    };
    Ok(addend)
}
