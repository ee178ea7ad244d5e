//! Hole kinds and hole values: the contract between the generator and the patcher.
//!
//! Every relocation the generator accepts is lowered onto one of these kinds;
//! this module is the only place that defines them.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Instruction set of a target, as far as patching cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Arch {
    X86_64,
    Aarch64,
}

/// How the bytes of a hole are rewritten. One variant per bit layout.
///
/// In the formulas, `S` is the resolved hole value plus the addend and `P`
/// is the address of the hole itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum HoleKind {
    /// 64-bit little-endian `S` (`R_X86_64_64`, `R_AARCH64_ABS64`).
    Abs64,
    /// 32-bit `S`, must fit unsigned (`R_X86_64_32`).
    Abs32,
    /// 32-bit `S`, must fit signed (`R_X86_64_32S`).
    Abs32Signed,
    /// 32-bit `S - P`, must fit signed (`R_X86_64_PC32`, `R_X86_64_PLT32`,
    /// `R_AARCH64_PREL32`).
    PcRel32,
    /// 64-bit `S - P` (`R_X86_64_PC64`, `R_AARCH64_PREL64`).
    PcRel64,
    /// x86-64 RIP-relative load of a GOT slot by an instruction with a REX
    /// prefix (`R_X86_64_REX_GOTPCRELX`): the REX prefix, opcode and ModRM
    /// are the three bytes before the hole. The disp32 is `S - P`, as for
    /// `PcRel32`. The hole's addend keeps the ELF addend (-4, as the disp32
    /// ends the instruction), so `S` is the slot's address minus 4 and the
    /// slot is read at `S + 4`. The slot lives in the stencil's data and is
    /// patched first.
    /// The patcher relaxes `mov` to `mov $imm32` or `lea` when the slot's
    /// content allows.
    X86_64GotLoad,
    /// As [`HoleKind::X86_64GotLoad`], for an instruction without a REX
    /// prefix (`R_X86_64_GOTPCRELX`): the opcode and ModRM are the two bytes
    /// before the hole, and the byte before them belongs to another
    /// instruction. The patcher relaxes the 32-bit `mov` to `mov $imm32`,
    /// `call *`/`jmp *` to a direct `call`/`jmp`.
    X86_64GotLoadNoRex,
    /// As [`HoleKind::X86_64GotLoad`], for an instruction the relocation
    /// says nothing about (`R_X86_64_GOTPCREL`): patched as `PcRel32` to
    /// the slot and never rewritten.
    X86_64GotLoadUnrelaxed,
    /// AArch64 `B`/`BL` imm26, `(S - P) >> 2` (`R_AARCH64_JUMP26`,
    /// `R_AARCH64_CALL26`). Out of range calls to external symbols go
    /// through a trampoline.
    Aarch64Branch26,
    /// AArch64 imm19 at bits 5..24, `(S - P) >> 2` (`R_AARCH64_CONDBR19`,
    /// `R_AARCH64_LD_PREL_LO19`).
    Aarch64Branch19,
    /// AArch64 `TBZ`/`TBNZ` imm14, `(S - P) >> 2` (`R_AARCH64_TSTBR14`).
    Aarch64Branch14,
    /// AArch64 `ADRP`, `Page(S) - Page(P)` (`R_AARCH64_ADR_PREL_PG_HI21`,
    /// `R_AARCH64_ADR_GOT_PAGE` after the GOT is built).
    Aarch64AdrpPage21,
    /// AArch64 `ADR`, `S - P` (`R_AARCH64_ADR_PREL_LO21`).
    Aarch64Adr21,
    /// AArch64 12-bit page offset `S & 0xfff` shifted right by `scale`
    /// (`R_AARCH64_ADD_ABS_LO12_NC` has scale 0, `LDST{8,16,32,64,128}` have
    /// scale 0..4, `LD64_GOT_LO12_NC` has scale 3). The low `scale` bits
    /// must be zero.
    Aarch64PageOffset12 { scale: u8 },
    /// AArch64 `MOVZ`/`MOVK` imm16, bits `16*group..16*group+16` of `S`
    /// (`R_AARCH64_MOVW_UABS_G0..G3[_NC]`).
    Aarch64MovWide { group: u8 },
}

/// What a hole is patched with. `S = value + addend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum HoleValue {
    /// Address of this stencil's code.
    Code,
    /// Address of this stencil's data (read-only data and GOT slots).
    Data,
    /// Address of the next uop's code: the continuation.
    Continue,
    /// The uop's oparg (`_JIT_OPARG`).
    Oparg,
    /// The uop's 64-bit operand (`_JIT_OPERAND`).
    Operand,
    /// Address of the code of the uop the trace jumps to (`_JIT_JUMP_TARGET`).
    JumpTarget,
    /// The value returned to the VM on a deopt (`_JIT_DEOPT_TARGET`).
    DeoptTarget,
    /// Address of an external symbol (a helper the VM provides); an index
    /// into [`crate::StencilTable::symbols`].
    Symbol(u16),
    /// Zero.
    Zero,
}

/// A place in a stencil's code or data that is rewritten at emission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Hole {
    /// Byte offset of the hole from the start of the stencil's code (or data).
    pub offset: u32,
    pub kind: HoleKind,
    pub value: HoleValue,
    pub addend: i64,
}
