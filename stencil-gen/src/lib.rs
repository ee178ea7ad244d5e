//! The stencil compiler: uop definitions in, committed stencil tables out.
//!
//! Data flows one way through these modules:
//! `emit_c` -> `toolchain` -> `obj` -> `lower` -> `writer`, driven by
//! `pipeline`, which keeps what clang and llvm-objdump made in `cache`.

pub mod cache;
pub mod check;
pub mod diff;
pub mod digest;
pub mod emit_c;
pub mod inspect;
pub mod lower;
pub mod model;
pub mod obj;
pub mod optimize;
pub mod pipeline;
pub mod target;
pub mod toolchain;
pub mod writer;
