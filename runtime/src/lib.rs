//! Copy-and-patch runtime: lays out a trace of stencils, copies them into a
//! buffer at a chosen base address, patches their holes, and (with `std`)
//! maps the result executable.
//!
//! * [`mod@patch`]: the bit arithmetic of every [`HoleKind`], and the
//!   relaxation of x86-64 GOT loads.
//! * [`mod@emit`]: trace layout and emission into any `&mut [u8]` at any base
//!   address, for any target: pure, no OS, no allocation while emitting.
//! * [`exec`] (feature `std`, Unix and Windows): executable memory, never
//!   writable and executable at once.
//! * [`pool`] (feature `std`, Unix and Windows): an executable-memory pool
//!   that traces share. On Linux each chunk is one memory file mapped
//!   twice, writable at one address and executable at another, so
//!   compiling a trace maps and protects nothing once the pool has room;
//!   chunks can be placed near a helper so calls need no trampoline.
//!   Elsewhere each trace has its own mapping behind the same API.
//!
//! # Trace layout
//!
//! A trace is one block of memory, at offsets from its base:
//!
//! ```text
//! 0                  [shim code]       C-ABI entry, calls op 0
//! op_offsets[0]      [op 0 code]       each aligned to the table's code_align
//! op_offsets[1]      [op 1 code]
//! ...                [op N code]       code_end: continuation of op N
//! trampoline_offset  [trampolines]     one per symbol (see below)
//! code_len           [padding]         trap instructions
//! data_offset        [shim data]       aligned to 16 and to every data_align
//! op_data_offsets[0] [op 0 data]       each aligned to its data_align (>= 8)
//! ...                [op N data]
//! len
//! ```
//!
//! Hole values resolve per stencil: `Code` and `Data` are its own code and
//! data addresses, `Continue` the next op's code (the shim's continuation is
//! op 0, the last op's is `code_end`), `JumpTarget` the code of
//! `ops[op.jump_target]`, `Symbol(i)` the caller's `symbols[i]`.
//!
//! A trampoline is reserved for every symbol a call-like code hole uses;
//! the hole is redirected to it only when the symbol is out of the
//! branch's reach. Per instruction set ([`trampoline::form`]):
//!
//! | arch    | hole kind         | trampoline                                              | bytes, aligned |
//! |---------|-------------------|---------------------------------------------------------|----------------|
//! | x86-64  | `X86Branch32`     | `jmp *0(%rip); .quad address; int3; int3`               | 16, 16         |
//! | AArch64 | `Aarch64Branch26` | `ldr x16, #8; br x16; .quad address`                    | 16, 16         |
//! | RISC-V  | `Riscv64Call`     | `auipc t1, 0; ld t1, 16(t1); jr t1; nop; .quad address` | 24, 8          |
//!
//! i686 has none: a rel32 reaches the whole 32-bit address space (the
//! emitter wraps the distance). Only branches are redirected: a hole that
//! computes or reads an address (an x86-64 `PcRel32` in a `lea` or `mov`,
//! an AArch64 `ADRP`, a RISC-V `LUI`/`AUIPC` pair) would otherwise get the
//! trampoline's address, so out of reach it is an error naming the hole.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod bytes;
pub mod emit;
mod error;
#[cfg(all(feature = "std", any(unix, windows)))]
pub mod exec;
pub mod hole;
pub mod patch;
#[cfg(all(feature = "std", any(unix, windows)))]
pub mod pool;
pub mod stencil;
pub mod trampoline;

pub use emit::generated::{EmitFn, Emitters};
pub use emit::{
    emit, emit_reference, layout, EmitError, HoleSite, Layout, Section, TraceOp, MAX_OP_VALUES,
};
#[cfg(all(feature = "std", any(unix, windows)))]
pub use exec::{ExecError, ExecutableTrace};
pub use hole::{Arch, Hole, HoleKind, HoleValue};
pub use patch::{patch, relax_x86_64_got_load, PatchError};
#[cfg(all(feature = "std", any(unix, windows)))]
pub use pool::{ExecPool, PoolConfig, PoolStats, PoolTrace};
pub use stencil::{Stencil, StencilTable, UopInfo, ValueInfo, ValueType, CACHE_SPILL};
