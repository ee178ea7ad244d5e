//! Mach-O, COFF and RISC-V ELF objects: one test per relocation type each
//! target's clang 19 emits for the reference uops (and per other type the
//! lowering maps), on real assembly through clang-19. Each test checks that
//! the object holds the relocation (as llvm-readobj lists it), the holes
//! lowering makes of it, and the instruction llvm-objdump-19 decodes once
//! the runtime's patcher has patched it at chosen addresses. Types with no
//! hole kind give an error naming them.
//!
//! The relocation types clang 19 emits for the reference uops:
//!
//! | target | types |
//! |---|---|
//! | x86_64-apple-darwin | `BRANCH`, `GOT_LOAD`, `GOT`, `SIGNED` |
//! | aarch64-apple-darwin | `BRANCH26`, `GOT_LOAD_PAGE21`, `GOT_LOAD_PAGEOFF12` |
//! | x86_64-pc-windows-msvc | `REL32`, `ADDR64` |
//! | aarch64-pc-windows-msvc | `BRANCH26`, `PAGEBASE_REL21`, `PAGEOFFSET_12L`, `ADDR64` |
//! | i686-pc-windows-msvc | `REL32`, `DIR32` |
//! | riscv64gc-unknown-linux-gnu | `CALL_PLT`, `GOT_HI20`, `PCREL_HI20`, `PCREL_LO12_I` |

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

#[path = "formats/harness.rs"]
mod harness;

#[path = "formats/coff.rs"]
mod coff;
#[path = "formats/macho.rs"]
mod macho;
#[path = "formats/riscv.rs"]
mod riscv;
