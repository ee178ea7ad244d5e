//! Which hole kind each relocation type of each (format, instruction set)
//! becomes. One table per pair; a type missing from its table is an error.

use object::{elf, macho, pe};
use runtime::{Arch, HoleKind};

use super::RelocationProblem;
use crate::obj::{insn, Relocation};
use crate::target::Format;

/// What a relocation becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mapping {
    /// A hole of this kind, patched with the relocation's target.
    Direct(HoleKind),
    /// A hole of this kind, patched with the address of a GOT slot that
    /// holds the relocation's target.
    Got(HoleKind),
    /// A RISC-V `%pcrel_lo`: its target is the label of the `AUIPC` whose
    /// `%pcrel_hi`/`%got_pcrel_hi` it completes, and the hole is patched
    /// with that relocation's value.
    PcRelLow(HoleKind),
}

/// The mapping of `relocation`, in a section with bytes `data`.
/// `import` says the target is a COFF import slot (`__imp_NAME`): the
/// relocation then reads a GOT slot holding `NAME`.
pub(super) fn map(
    format: Format,
    arch: Arch,
    relocation: &Relocation,
    data: &[u8],
    import: bool,
) -> Result<Mapping, RelocationProblem> {
    let r_type = relocation.r_type;
    let mapping = match (format, arch) {
        (Format::Elf, Arch::X86_64) => elf_x86_64(r_type),
        (Format::Elf, Arch::Aarch64) => elf_aarch64(r_type),
        (Format::Elf, Arch::Riscv64) => return elf_riscv64(r_type),
        (Format::MachO, Arch::X86_64) => macho_x86_64(relocation, data),
        (Format::MachO, Arch::Aarch64) => return macho_arm64(relocation, data),
        (Format::Coff, Arch::X86_64) => coff_amd64(r_type),
        (Format::Coff, Arch::Aarch64) => return coff_arm64(relocation, data, import),
        (Format::Coff, Arch::I686) => coff_i386(r_type),
        _ => None,
    };
    let mapping = mapping.ok_or(RelocationProblem::Unsupported)?;
    let mapping = match mapping {
        Mapping::Direct(HoleKind::PcRel32)
            if rel32_ends_instruction(format, arch, r_type)
                && usize::try_from(relocation.offset)
                    .is_ok_and(|at| insn::x86_rel32_branch(data, at)) =>
        {
            Mapping::Direct(HoleKind::X86Branch32)
        }
        other => other,
    };
    Ok(match mapping {
        Mapping::Direct(kind) if import => Mapping::Got(import_kind(arch, kind, relocation, data)),
        other => other,
    })
}

/// Whether a pc-relative 32-bit relocation of type `r_type` is relative
/// to the end of its field with nothing after it in the instruction, as
/// the rel32 of a branch is (COFF's `REL32_1..5` and Mach-O's
/// `SIGNED_1/2/4` say bytes follow).
fn rel32_ends_instruction(format: Format, arch: Arch, r_type: u32) -> bool {
    match (format, arch) {
        (Format::Elf, Arch::X86_64) => {
            matches!(r_type, elf::R_X86_64_PC32 | elf::R_X86_64_PLT32)
        }
        (Format::MachO, Arch::X86_64) => u8::try_from(r_type)
            .is_ok_and(|t| matches!(t, macho::X86_64_RELOC_SIGNED | macho::X86_64_RELOC_BRANCH)),
        (Format::Coff, Arch::X86_64) => r_type == u32::from(pe::IMAGE_REL_AMD64_REL32),
        (Format::Coff, Arch::I686) => r_type == u32::from(pe::IMAGE_REL_I386_REL32),
        _ => false,
    }
}

/// Checks that a hole kind a trampoline may serve sits on the branch it
/// promises: only a branch may be redirected to a trampoline, so a
/// relocation of such a type on anything else is refused.
pub(super) fn check_branch_site(
    kind: HoleKind,
    data: &[u8],
    offset: u64,
) -> Result<(), RelocationProblem> {
    let is_branch = match kind {
        HoleKind::Aarch64Branch26 => word_at(data, offset).map(insn::aarch64_b_or_bl),
        HoleKind::Riscv64Call => word_at(data, offset).and_then(|auipc| {
            let jalr = word_at(data, offset.checked_add(4)?)?;
            Some(insn::riscv64_call_pair(auipc, jalr))
        }),
        _ => return Ok(()),
    };
    match is_branch {
        Some(true) => Ok(()),
        Some(false) => Err(RelocationProblem::UnexpectedInstruction(
            word_at(data, offset).unwrap_or_default(),
        )),
        None => Err(RelocationProblem::OutOfBounds),
    }
}

/// The kind of a hole reading an import slot: an x86-64 RIP-relative load
/// becomes a GOT load the patcher may relax when its bytes say which form
/// it has; anything else keeps its kind.
fn import_kind(arch: Arch, kind: HoleKind, relocation: &Relocation, data: &[u8]) -> HoleKind {
    if arch != Arch::X86_64 || kind != HoleKind::PcRel32 || relocation.addend != -4 {
        return kind;
    }
    x86_64_got_load_kind(data, relocation.offset, false)
}

/// The GOT load kind of an x86-64 disp32 at `offset`: with a REX prefix
/// only where the relocation type promises a `movq` (`rex_promised`), as
/// the byte before the opcode may end the previous instruction; without
/// one where no prefix can precede the opcode; else never relaxed.
fn x86_64_got_load_kind(data: &[u8], offset: u64, rex_promised: bool) -> HoleKind {
    let Ok(at) = usize::try_from(offset) else {
        return HoleKind::X86_64GotLoadUnrelaxed;
    };
    if rex_promised && insn::x86_64_rex_mov_load(data, at) {
        HoleKind::X86_64GotLoad
    } else if insn::x86_64_plain_got_load(data, at) {
        HoleKind::X86_64GotLoadNoRex
    } else {
        HoleKind::X86_64GotLoadUnrelaxed
    }
}

/// The instruction word a relocation points at.
fn word_at(data: &[u8], offset: u64) -> Option<u32> {
    let start = usize::try_from(offset).ok()?;
    let bytes = data.get(start..start.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// An AArch64 page offset hole, its scale read from the instruction.
fn page_offset(data: &[u8], offset: u64) -> Result<HoleKind, RelocationProblem> {
    let word = word_at(data, offset).ok_or(RelocationProblem::OutOfBounds)?;
    let scale = insn::aarch64_page_offset_scale(word)
        .ok_or(RelocationProblem::UnexpectedInstruction(word))?;
    Ok(HoleKind::Aarch64PageOffset12 { scale })
}

fn elf_x86_64(r_type: u32) -> Option<Mapping> {
    use elf::*;
    use Mapping::{Direct, Got};
    Some(match r_type {
        R_X86_64_64 => Direct(HoleKind::Abs64),
        R_X86_64_32 => Direct(HoleKind::Abs32),
        R_X86_64_32S => Direct(HoleKind::Abs32Signed),
        R_X86_64_PC32 | R_X86_64_PLT32 => Direct(HoleKind::PcRel32),
        R_X86_64_PC64 => Direct(HoleKind::PcRel64),
        // The relocation type tells which bytes before the disp32 are
        // the instruction's, hence whether it can be relaxed.
        R_X86_64_REX_GOTPCRELX => Got(HoleKind::X86_64GotLoad),
        R_X86_64_GOTPCRELX => Got(HoleKind::X86_64GotLoadNoRex),
        R_X86_64_GOTPCREL => Got(HoleKind::X86_64GotLoadUnrelaxed),
        _ => return None,
    })
}

fn elf_aarch64(r_type: u32) -> Option<Mapping> {
    use elf::*;
    use HoleKind::*;
    use Mapping::{Direct, Got};
    Some(match r_type {
        R_AARCH64_ABS64 => Direct(Abs64),
        R_AARCH64_PREL32 => Direct(PcRel32),
        R_AARCH64_PREL64 => Direct(PcRel64),
        R_AARCH64_CALL26 | R_AARCH64_JUMP26 => Direct(Aarch64Branch26),
        R_AARCH64_CONDBR19 | R_AARCH64_LD_PREL_LO19 => Direct(Aarch64Branch19),
        R_AARCH64_TSTBR14 => Direct(Aarch64Branch14),
        R_AARCH64_ADR_PREL_PG_HI21 | R_AARCH64_ADR_PREL_PG_HI21_NC => Direct(Aarch64AdrpPage21),
        R_AARCH64_ADR_PREL_LO21 => Direct(Aarch64Adr21),
        R_AARCH64_ADD_ABS_LO12_NC | R_AARCH64_LDST8_ABS_LO12_NC => {
            Direct(Aarch64PageOffset12 { scale: 0 })
        }
        R_AARCH64_LDST16_ABS_LO12_NC => Direct(Aarch64PageOffset12 { scale: 1 }),
        R_AARCH64_LDST32_ABS_LO12_NC => Direct(Aarch64PageOffset12 { scale: 2 }),
        R_AARCH64_LDST64_ABS_LO12_NC => Direct(Aarch64PageOffset12 { scale: 3 }),
        R_AARCH64_LDST128_ABS_LO12_NC => Direct(Aarch64PageOffset12 { scale: 4 }),
        R_AARCH64_MOVW_UABS_G0 | R_AARCH64_MOVW_UABS_G0_NC => Direct(Aarch64MovWide { group: 0 }),
        R_AARCH64_MOVW_UABS_G1 | R_AARCH64_MOVW_UABS_G1_NC => Direct(Aarch64MovWide { group: 1 }),
        R_AARCH64_MOVW_UABS_G2 | R_AARCH64_MOVW_UABS_G2_NC => Direct(Aarch64MovWide { group: 2 }),
        R_AARCH64_MOVW_UABS_G3 => Direct(Aarch64MovWide { group: 3 }),
        R_AARCH64_ADR_GOT_PAGE => Got(Aarch64AdrpPage21),
        R_AARCH64_LD64_GOT_LO12_NC => Got(Aarch64PageOffset12 { scale: 3 }),
        _ => return None,
    })
}

fn elf_riscv64(r_type: u32) -> Result<Mapping, RelocationProblem> {
    use elf::*;
    use HoleKind::*;
    use Mapping::{Direct, Got, PcRelLow};
    Ok(match r_type {
        R_RISCV_64 => Direct(Abs64),
        R_RISCV_32 => Direct(Abs32),
        R_RISCV_32_PCREL => Direct(PcRel32),
        R_RISCV_HI20 => Direct(Riscv64Hi20),
        R_RISCV_LO12_I => Direct(Riscv64Lo12I),
        R_RISCV_LO12_S => Direct(Riscv64Lo12S),
        R_RISCV_PCREL_HI20 => Direct(Riscv64PcRelHi20),
        R_RISCV_GOT_HI20 => Got(Riscv64PcRelHi20),
        R_RISCV_PCREL_LO12_I => PcRelLow(Riscv64PcRelLo12I),
        R_RISCV_PCREL_LO12_S => PcRelLow(Riscv64PcRelLo12S),
        R_RISCV_CALL | R_RISCV_CALL_PLT => Direct(Riscv64Call),
        R_RISCV_BRANCH => Direct(Riscv64Branch),
        R_RISCV_JAL => Direct(Riscv64Jal),
        R_RISCV_RVC_BRANCH => Direct(Riscv64CBranch),
        R_RISCV_RVC_JUMP => Direct(Riscv64CJump),
        // A linker may shrink relaxable sequences; a stencil's bytes are
        // final, so its objects must be built with `-mno-relax`.
        R_RISCV_RELAX | R_RISCV_ALIGN => return Err(RelocationProblem::Relaxation),
        _ => return Err(RelocationProblem::Unsupported),
    })
}

fn macho_x86_64(relocation: &Relocation, data: &[u8]) -> Option<Mapping> {
    use Mapping::{Direct, Got};
    let Ok(r_type) = u8::try_from(relocation.r_type) else {
        return None;
    };
    Some(match (r_type, relocation.size) {
        (macho::X86_64_RELOC_UNSIGNED, 8) => Direct(HoleKind::Abs64),
        (macho::X86_64_RELOC_UNSIGNED, 4) => Direct(HoleKind::Abs32),
        (
            macho::X86_64_RELOC_SIGNED
            | macho::X86_64_RELOC_SIGNED_1
            | macho::X86_64_RELOC_SIGNED_2
            | macho::X86_64_RELOC_SIGNED_4
            | macho::X86_64_RELOC_BRANCH,
            4,
        ) => Direct(HoleKind::PcRel32),
        // `GOT_LOAD` promises a `movq` (which has a REX prefix), `GOT` says
        // nothing about the instruction.
        (macho::X86_64_RELOC_GOT_LOAD, 4) => {
            Got(x86_64_got_load_kind(data, relocation.offset, true))
        }
        (macho::X86_64_RELOC_GOT, 4) => Got(x86_64_got_load_kind(data, relocation.offset, false)),
        _ => return None,
    })
}

fn macho_arm64(relocation: &Relocation, data: &[u8]) -> Result<Mapping, RelocationProblem> {
    use HoleKind::*;
    use Mapping::{Direct, Got};
    let r_type = u8::try_from(relocation.r_type).map_err(|_| RelocationProblem::Unsupported)?;
    Ok(match (r_type, relocation.size) {
        (macho::ARM64_RELOC_UNSIGNED, 8) => Direct(Abs64),
        (macho::ARM64_RELOC_UNSIGNED, 4) => Direct(Abs32),
        (macho::ARM64_RELOC_BRANCH26, 4) => Direct(Aarch64Branch26),
        (macho::ARM64_RELOC_PAGE21, 4) => Direct(Aarch64AdrpPage21),
        (macho::ARM64_RELOC_PAGEOFF12, 4) => Direct(page_offset(data, relocation.offset)?),
        (macho::ARM64_RELOC_GOT_LOAD_PAGE21, 4) => Got(Aarch64AdrpPage21),
        (macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12, 4) => {
            // The slot is read by a 64-bit `ldr`.
            let kind = page_offset(data, relocation.offset)?;
            if kind != (Aarch64PageOffset12 { scale: 3 }) {
                let word = word_at(data, relocation.offset).unwrap_or_default();
                return Err(RelocationProblem::UnexpectedInstruction(word));
            }
            Got(kind)
        }
        _ => return Err(RelocationProblem::Unsupported),
    })
}

fn coff_amd64(r_type: u32) -> Option<Mapping> {
    let r_type = u16::try_from(r_type).ok()?;
    Some(Mapping::Direct(match r_type {
        pe::IMAGE_REL_AMD64_ADDR64 => HoleKind::Abs64,
        pe::IMAGE_REL_AMD64_ADDR32 => HoleKind::Abs32,
        pe::IMAGE_REL_AMD64_REL32..=pe::IMAGE_REL_AMD64_REL32_5 => HoleKind::PcRel32,
        _ => return None,
    }))
}

fn coff_arm64(
    relocation: &Relocation,
    data: &[u8],
    import: bool,
) -> Result<Mapping, RelocationProblem> {
    use HoleKind::*;
    let r_type = u16::try_from(relocation.r_type).map_err(|_| RelocationProblem::Unsupported)?;
    let kind = match r_type {
        pe::IMAGE_REL_ARM64_ADDR64 => Abs64,
        pe::IMAGE_REL_ARM64_ADDR32 => Abs32,
        pe::IMAGE_REL_ARM64_REL32 => PcRel32,
        pe::IMAGE_REL_ARM64_BRANCH26 => Aarch64Branch26,
        pe::IMAGE_REL_ARM64_BRANCH19 => Aarch64Branch19,
        pe::IMAGE_REL_ARM64_BRANCH14 => Aarch64Branch14,
        pe::IMAGE_REL_ARM64_PAGEBASE_REL21 => Aarch64AdrpPage21,
        pe::IMAGE_REL_ARM64_REL21 => Aarch64Adr21,
        pe::IMAGE_REL_ARM64_PAGEOFFSET_12A => Aarch64PageOffset12 { scale: 0 },
        pe::IMAGE_REL_ARM64_PAGEOFFSET_12L => page_offset(data, relocation.offset)?,
        _ => return Err(RelocationProblem::Unsupported),
    };
    Ok(if import {
        Mapping::Got(kind)
    } else {
        Mapping::Direct(kind)
    })
}

fn coff_i386(r_type: u32) -> Option<Mapping> {
    let r_type = u16::try_from(r_type).ok()?;
    Some(Mapping::Direct(match r_type {
        pe::IMAGE_REL_I386_DIR32 => HoleKind::Abs32,
        pe::IMAGE_REL_I386_REL32 => HoleKind::PcRel32,
        _ => return None,
    }))
}
