//! Copy-and-patch runtime: lays out a trace of stencils, copies them into a
//! buffer at a chosen base address, patches their holes, and (with `std`)
//! maps the result executable.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod hole;
pub mod stencil;

pub use hole::{Arch, Hole, HoleKind, HoleValue};
pub use stencil::{Stencil, StencilTable, UopInfo, ValueType};
