//! The relocation type to hole kind table this test holds lowering to,
//! written from the formats' documents (ELF psABIs for x86-64, AArch64
//! and RISC-V; Apple's `mach-o/x86_64/reloc.h` and `mach-o/arm64/reloc.h`;
//! the PE/COFF specification), not taken from the generator.

use runtime::HoleKind::{self, *};

use super::report::{Format, Machine};

/// What a relocation must become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// A hole of this kind, patched with the relocation's referent.
    Direct(HoleKind),
    /// A hole of this kind, patched with the address of a GOT slot in the
    /// stencil's data; the slot's data hole holds the referent.
    Got(HoleKind),
    /// The low 12 bits of a RISC-V pc-relative pair: the relocation names
    /// the label of its `AUIPC`, whose hole value this hole takes.
    PcRelLo(HoleKind),
}

/// The bytes of a section and a relocated place in them.
#[derive(Clone, Copy, Debug)]
pub struct Code<'a> {
    pub bytes: &'a [u8],
    pub at: usize,
}

impl Code<'_> {
    /// The 32-bit little-endian word at the place.
    pub fn word(&self) -> Option<u32> {
        let bytes = self.bytes.get(self.at..self.at.checked_add(4)?)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    }

    /// The `count` bytes before the place.
    fn before(&self, count: usize) -> Option<&[u8]> {
        self.bytes.get(self.at.checked_sub(count)?..self.at)
    }
}

/// The rule for one relocation type. `width_log2` is a Mach-O
/// relocation's `r_length`; `code` is where it applies, for kinds the
/// instruction decides (AArch64 page offset scales, x86-64 GOT loads
/// Mach-O's relocation type does not describe).
pub fn rule(
    format: Format,
    machine: Machine,
    type_name: &str,
    width_log2: Option<u8>,
    code: Code<'_>,
) -> Result<Rule, String> {
    use Rule::{Direct, Got, PcRelLo};
    let scaled = || page_offset_scale(code.word()).map(|scale| Aarch64PageOffset12 { scale });
    let unsigned = || match width_log2 {
        Some(3) => Ok(Abs64),
        Some(2) => Ok(Abs32),
        other => Err(format!("{type_name} of width 2^{other:?} bytes")),
    };
    let rule = match (format, machine, type_name) {
        (Format::Elf, Machine::X86_64, name) => match name {
            "R_X86_64_64" => Direct(Abs64),
            "R_X86_64_32" => Direct(Abs32),
            "R_X86_64_32S" => Direct(Abs32Signed),
            "R_X86_64_PC32" | "R_X86_64_PLT32" => Direct(x86_rel32_kind(code)),
            "R_X86_64_PC64" => Direct(PcRel64),
            "R_X86_64_REX_GOTPCRELX" => Got(X86_64GotLoad),
            "R_X86_64_GOTPCRELX" => Got(X86_64GotLoadNoRex),
            "R_X86_64_GOTPCREL" => Got(X86_64GotLoadUnrelaxed),
            _ => return Err(unmapped(name)),
        },
        (Format::Elf, Machine::Aarch64, name) => match name {
            "R_AARCH64_ABS64" => Direct(Abs64),
            "R_AARCH64_PREL32" => Direct(PcRel32),
            "R_AARCH64_PREL64" => Direct(PcRel64),
            "R_AARCH64_CALL26" | "R_AARCH64_JUMP26" => Direct(Aarch64Branch26),
            "R_AARCH64_CONDBR19" | "R_AARCH64_LD_PREL_LO19" => Direct(Aarch64Branch19),
            "R_AARCH64_TSTBR14" => Direct(Aarch64Branch14),
            "R_AARCH64_ADR_PREL_PG_HI21" | "R_AARCH64_ADR_PREL_PG_HI21_NC" => {
                Direct(Aarch64AdrpPage21)
            }
            "R_AARCH64_ADR_PREL_LO21" => Direct(Aarch64Adr21),
            "R_AARCH64_ADD_ABS_LO12_NC" | "R_AARCH64_LDST8_ABS_LO12_NC" => {
                Direct(Aarch64PageOffset12 { scale: 0 })
            }
            "R_AARCH64_LDST16_ABS_LO12_NC" => Direct(Aarch64PageOffset12 { scale: 1 }),
            "R_AARCH64_LDST32_ABS_LO12_NC" => Direct(Aarch64PageOffset12 { scale: 2 }),
            "R_AARCH64_LDST64_ABS_LO12_NC" => Direct(Aarch64PageOffset12 { scale: 3 }),
            "R_AARCH64_LDST128_ABS_LO12_NC" => Direct(Aarch64PageOffset12 { scale: 4 }),
            "R_AARCH64_MOVW_UABS_G0" | "R_AARCH64_MOVW_UABS_G0_NC" => {
                Direct(Aarch64MovWide { group: 0 })
            }
            "R_AARCH64_MOVW_UABS_G1" | "R_AARCH64_MOVW_UABS_G1_NC" => {
                Direct(Aarch64MovWide { group: 1 })
            }
            "R_AARCH64_MOVW_UABS_G2" | "R_AARCH64_MOVW_UABS_G2_NC" => {
                Direct(Aarch64MovWide { group: 2 })
            }
            "R_AARCH64_MOVW_UABS_G3" => Direct(Aarch64MovWide { group: 3 }),
            "R_AARCH64_ADR_GOT_PAGE" => Got(Aarch64AdrpPage21),
            "R_AARCH64_LD64_GOT_LO12_NC" => Got(Aarch64PageOffset12 { scale: 3 }),
            _ => return Err(unmapped(name)),
        },
        (Format::Elf, Machine::Riscv64, name) => match name {
            "R_RISCV_64" => Direct(Abs64),
            "R_RISCV_HI20" => Direct(Riscv64Hi20),
            "R_RISCV_LO12_I" => Direct(Riscv64Lo12I),
            "R_RISCV_LO12_S" => Direct(Riscv64Lo12S),
            "R_RISCV_PCREL_HI20" => Direct(Riscv64PcRelHi20),
            "R_RISCV_GOT_HI20" => Got(Riscv64PcRelHi20),
            "R_RISCV_PCREL_LO12_I" => PcRelLo(Riscv64PcRelLo12I),
            "R_RISCV_PCREL_LO12_S" => PcRelLo(Riscv64PcRelLo12S),
            "R_RISCV_CALL" | "R_RISCV_CALL_PLT" => Direct(Riscv64Call),
            "R_RISCV_BRANCH" => Direct(Riscv64Branch),
            "R_RISCV_JAL" => Direct(Riscv64Jal),
            "R_RISCV_RVC_BRANCH" => Direct(Riscv64CBranch),
            "R_RISCV_RVC_JUMP" => Direct(Riscv64CJump),
            "R_RISCV_RELAX" | "R_RISCV_ALIGN" => {
                return Err(format!(
                    "{name}: stencils must be built with relaxation off"
                ))
            }
            _ => return Err(unmapped(name)),
        },
        (Format::MachO, Machine::X86_64, name) => match name {
            "X86_64_RELOC_UNSIGNED" => Direct(unsigned()?),
            "X86_64_RELOC_BRANCH" | "X86_64_RELOC_SIGNED" => Direct(x86_rel32_kind(code)),
            "X86_64_RELOC_SIGNED_1" | "X86_64_RELOC_SIGNED_2" | "X86_64_RELOC_SIGNED_4" => {
                Direct(PcRel32)
            }
            // Promises a `movq` of the slot (REX prefix, opcode, ModRM
            // before the displacement), as R_X86_64_REX_GOTPCRELX does.
            "X86_64_RELOC_GOT_LOAD" => Got(x86_64_got_kind(code, true)),
            // Says nothing about the instruction: its bytes must.
            "X86_64_RELOC_GOT" => Got(x86_64_got_kind(code, false)),
            _ => return Err(unmapped(name)),
        },
        (Format::MachO, Machine::Aarch64, name) => match name {
            "ARM64_RELOC_UNSIGNED" => Direct(unsigned()?),
            "ARM64_RELOC_BRANCH26" => Direct(Aarch64Branch26),
            "ARM64_RELOC_PAGE21" => Direct(Aarch64AdrpPage21),
            "ARM64_RELOC_PAGEOFF12" => Direct(scaled()?),
            "ARM64_RELOC_GOT_LOAD_PAGE21" => Got(Aarch64AdrpPage21),
            "ARM64_RELOC_GOT_LOAD_PAGEOFF12" => Got(Aarch64PageOffset12 { scale: 3 }),
            _ => return Err(unmapped(name)),
        },
        (Format::Coff, Machine::X86_64, name) => match name {
            "IMAGE_REL_AMD64_ADDR64" => Direct(Abs64),
            "IMAGE_REL_AMD64_ADDR32" => Direct(Abs32),
            "IMAGE_REL_AMD64_REL32" => Direct(x86_rel32_kind(code)),
            "IMAGE_REL_AMD64_REL32_1"
            | "IMAGE_REL_AMD64_REL32_2"
            | "IMAGE_REL_AMD64_REL32_3"
            | "IMAGE_REL_AMD64_REL32_4"
            | "IMAGE_REL_AMD64_REL32_5" => Direct(PcRel32),
            _ => return Err(unmapped(name)),
        },
        (Format::Coff, Machine::Aarch64, name) => match name {
            "IMAGE_REL_ARM64_ADDR64" => Direct(Abs64),
            "IMAGE_REL_ARM64_ADDR32" => Direct(Abs32),
            "IMAGE_REL_ARM64_REL32" => Direct(PcRel32),
            "IMAGE_REL_ARM64_BRANCH26" => Direct(Aarch64Branch26),
            "IMAGE_REL_ARM64_BRANCH19" => Direct(Aarch64Branch19),
            "IMAGE_REL_ARM64_BRANCH14" => Direct(Aarch64Branch14),
            "IMAGE_REL_ARM64_PAGEBASE_REL21" => Direct(Aarch64AdrpPage21),
            "IMAGE_REL_ARM64_REL21" => Direct(Aarch64Adr21),
            "IMAGE_REL_ARM64_PAGEOFFSET_12A" => Direct(Aarch64PageOffset12 { scale: 0 }),
            "IMAGE_REL_ARM64_PAGEOFFSET_12L" => Direct(scaled()?),
            _ => return Err(unmapped(name)),
        },
        (Format::Coff, Machine::I386, name) => match name {
            "IMAGE_REL_I386_DIR32" => Direct(Abs32),
            "IMAGE_REL_I386_REL32" => Direct(x86_rel32_kind(code)),
            _ => return Err(unmapped(name)),
        },
        (format, machine, name) => {
            return Err(format!(
                "{name}: no {machine:?} {format:?} relocations are expected"
            ))
        }
    };
    Ok(rule)
}

/// A rel32 that ends its instruction is a branch's when the opcode before
/// it is `call` (`E8`), `jmp` (`E9`) or a `jcc` (`0F 8x`); any other
/// instruction has a ModRM there.
fn x86_rel32_kind(code: Code<'_>) -> HoleKind {
    if code.bytes.len() < code.at + 4 {
        return PcRel32;
    }
    let branch = match (code.before(2), code.before(1)) {
        (_, Some(&[0xe8 | 0xe9])) => true,
        (Some(&[0x0f, second]), _) => (0x80..=0x8f).contains(&second),
        _ => false,
    };
    if branch {
        X86Branch32
    } else {
        PcRel32
    }
}

/// The rule for a relocation whose referent is a COFF import slot
/// (`__imp_NAME`, which holds NAME's address, or on i686 the whole 64-bit
/// operand): the slot becomes a GOT slot. An x86-64 RIP-relative load of
/// it may be relaxed when its bytes show a plain `mov`, `call *` or
/// `jmp *`.
pub fn import_rule(rule: Rule, machine: Machine, addend: i64, code: Code<'_>) -> Rule {
    match rule {
        Rule::Direct(PcRel32) if machine == Machine::X86_64 && addend == -4 => {
            Rule::Got(x86_64_got_kind(code, false))
        }
        Rule::Direct(kind) => Rule::Got(kind),
        other => other,
    }
}

/// The GOT load kind of an x86-64 disp32, from the bytes before it: a
/// REX `mov` only where the relocation type promises one (else the byte
/// at `at - 3` may end another instruction); an `8B` `mov`, `FF /2` call
/// or `FF /4` jump whose opcode no prefix or escape byte can precede; else
/// a load that is never rewritten.
fn x86_64_got_kind(code: Code<'_>, rex_promised: bool) -> HoleKind {
    let rip = |modrm: u8| modrm & 0xc7 == 0x05;
    if code.bytes.len() < code.at + 4 {
        return X86_64GotLoadUnrelaxed;
    }
    if let Some(&[rex, 0x8b, modrm]) = code.before(3) {
        if rex_promised && (0x40..=0x4f).contains(&rex) && rip(modrm) {
            return X86_64GotLoad;
        }
    }
    let plain = match code.before(2) {
        Some(&[0x8b, modrm]) => rip(modrm),
        Some(&[0xff, 0x15 | 0x25]) => true,
        _ => false,
    };
    // Legacy prefixes, REX, the two-byte opcode escape and VEX, EVEX and
    // XOP leaders.
    let prefix = |byte: u8| {
        matches!(
            byte,
            0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 | 0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3 | 0x40
                ..=0x4f | 0x0f | 0xc4 | 0xc5 | 0x62 | 0x8f
        )
    };
    let unprefixed = !matches!(code.before(3), Some(&[byte, ..]) if prefix(byte));
    if plain && unprefixed {
        X86_64GotLoadNoRex
    } else {
        X86_64GotLoadUnrelaxed
    }
}

fn unmapped(name: &str) -> String {
    format!("{name} has no hole kind in the test's table")
}

/// The scale of an AArch64 page offset: 0 for `ADD` (immediate), the
/// access size for a load or store with an unsigned immediate.
pub fn page_offset_scale(instruction: Option<u32>) -> Result<u8, String> {
    let word = instruction.ok_or("no instruction at the relocated place")?;
    if word & 0x1f00_0000 == 0x1100_0000 {
        return Ok(0);
    }
    if word & 0x3b00_0000 == 0x3900_0000 {
        let size = (word >> 30) as u8;
        let vector = (word >> 26) & 1 == 1;
        let opc_high = (word >> 23) & 1 == 1;
        // Size 0 with a SIMD register and opc<1> set is the 128-bit `q` form.
        return Ok(if vector && size == 0 && opc_high {
            4
        } else {
            size
        });
    }
    Err(format!(
        "page offset on {word:#010x}, neither ADD (immediate) nor a load or store"
    ))
}

/// Bytes a hole of this kind rewrites.
pub fn hole_size(kind: HoleKind) -> u64 {
    match kind {
        Abs64 | PcRel64 | Riscv64Call => 8,
        Riscv64CBranch | Riscv64CJump => 2,
        _ => 4,
    }
}

/// The kind and size of a GOT slot's data hole: 64 bits on every target
/// (an i686 import slot holds the whole 64-bit operand).
pub fn got_slot() -> (HoleKind, u64) {
    (Abs64, 8)
}
