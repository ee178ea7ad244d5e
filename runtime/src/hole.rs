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
    /// 32-bit x86: addresses and absolute holes are 32 bits.
    I686,
    /// RV64GC.
    Riscv64,
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
    /// 32-bit `S - P`, must fit signed, at a site that is not a branch: a
    /// RIP-relative operand (`lea`, `mov`, `add`, ...) or data
    /// (`R_X86_64_PC32`, `R_AARCH64_PREL32`). Never redirected to a
    /// trampoline: what the instruction reads or computes is the address
    /// itself, so one out of reach is an error.
    PcRel32,
    /// The rel32 of an x86 `call` (`E8`), `jmp` (`E9`) or `jcc` (`0F 8x`),
    /// whose field ends the instruction: 32-bit `S - P`, must fit signed.
    /// Lowering chooses it from the instruction bytes, whatever the
    /// relocation type (`R_X86_64_PLT32`, `R_X86_64_PC32`,
    /// `IMAGE_REL_AMD64_REL32`, `X86_64_RELOC_BRANCH`, ...). On x86-64 a
    /// branch to a symbol out of reach goes through a trampoline.
    X86Branch32,
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
    /// RISC-V `LUI` imm20 at bits 12..32, `(S + 0x800) >> 12`
    /// (`R_RISCV_HI20`): rounded so that the sign-extended low 12 bits of
    /// the paired [`HoleKind::Riscv64Lo12I`]/[`HoleKind::Riscv64Lo12S`] add
    /// up to `S`. `S + 0x800` must be a sign-extended 32-bit value, as
    /// `LUI` sign-extends on RV64.
    Riscv64Hi20,
    /// RISC-V I-type imm12 at bits 20..32, `S & 0xfff` (`R_RISCV_LO12_I`).
    /// `S` must be in the reach of its [`HoleKind::Riscv64Hi20`], so that
    /// a pair fails as one.
    Riscv64Lo12I,
    /// RISC-V S-type imm12, `S & 0xfff` split into bits 25..32 (`imm[11:5]`)
    /// and 7..12 (`imm[4:0]`) (`R_RISCV_LO12_S`). Range as
    /// [`HoleKind::Riscv64Lo12I`].
    Riscv64Lo12S,
    /// RISC-V `AUIPC` imm20 at bits 12..32, `(S - P + 0x800) >> 12`
    /// (`R_RISCV_PCREL_HI20`, `R_RISCV_GOT_HI20` after the GOT is built).
    /// `S - P` must be within ±2 GiB.
    Riscv64PcRelHi20,
    /// RISC-V I-type imm12, the low 12 bits of `S - P`
    /// (`R_RISCV_PCREL_LO12_I`). The hole carries the value of its `AUIPC`
    /// and an addend that makes `S - P` here equal `S - P` at the `AUIPC`
    /// (the `AUIPC`'s addend plus the distance from it to this hole), and
    /// `S - P` must be in the `AUIPC`'s reach.
    Riscv64PcRelLo12I,
    /// As [`HoleKind::Riscv64PcRelLo12I`] for an S-type instruction
    /// (`R_RISCV_PCREL_LO12_S`).
    Riscv64PcRelLo12S,
    /// RISC-V `AUIPC` + `JALR` pair, 8 bytes, `S - P` within ±2 GiB
    /// (`R_RISCV_CALL`, `R_RISCV_CALL_PLT`).
    Riscv64Call,
    /// RISC-V B-type conditional branch, `S - P` within ±4 KiB, even
    /// (`R_RISCV_BRANCH`).
    Riscv64Branch,
    /// RISC-V J-type `JAL`, `S - P` within ±1 MiB, even (`R_RISCV_JAL`).
    Riscv64Jal,
    /// RISC-V compressed `C.BEQZ`/`C.BNEZ`, 2 bytes, `S - P` within
    /// ±256 bytes, even (`R_RISCV_RVC_BRANCH`).
    Riscv64CBranch,
    /// RISC-V compressed `C.J`, 2 bytes, `S - P` within ±2 KiB, even
    /// (`R_RISCV_RVC_JUMP`).
    Riscv64CJump,
}

/// What a hole is patched with. `S = value + addend`.
///
/// The first five are built in: every stencil ABI has them. The VM declares
/// the rest with its uop definitions: per-op values, which each
/// [`crate::TraceOp`] carries, and per-trace values and helpers, which the
/// VM resolves by name like any external symbol.
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
    /// Address of the code of the uop the trace jumps to (`_JIT_JUMP_TARGET`).
    JumpTarget,
    /// Zero.
    Zero,
    /// A per-op value the VM declared: `TraceOp::values[i]`, where `i`
    /// indexes [`crate::StencilTable::op_values`].
    OpValue(u8),
    /// Address of an external symbol (a helper the VM provides) or a
    /// per-trace value the VM declared; an index into
    /// [`crate::StencilTable::symbols`].
    Symbol(u16),
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
