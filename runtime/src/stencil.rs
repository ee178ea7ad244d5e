//! The stencil table: what `generated` provides and the patcher consumes.

use crate::emit::generated::Emitters;
use crate::hole::{Arch, Hole};

/// One compiled uop (or the shim): code and data with their holes.
#[derive(Clone, Copy, Debug)]
pub struct Stencil {
    pub code: &'static [u8],
    pub code_holes: &'static [Hole],
    /// Read-only data and GOT slots, placed after all code of a trace.
    pub data: &'static [u8],
    pub data_holes: &'static [Hole],
    /// Required alignment of `data` (a power of two, at least 1).
    pub data_align: u32,
}

/// Type of a stack value, as declared in the uop DSL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ValueType {
    I64,
    F64,
    Ptr,
}

/// What the VM needs to know about a uop to lay out a trace that uses it.
#[derive(Clone, Copy, Debug)]
pub struct UopInfo {
    pub name: &'static str,
    /// Stack inputs, bottom first.
    pub inputs: &'static [ValueType],
    /// Stack outputs, bottom first.
    pub outputs: &'static [ValueType],
    /// The values the uop uses: per-op and per-trace values the VM
    /// declared, and `jump_target`, in declaration order.
    pub uses: &'static [&'static str],
    pub helpers: &'static [&'static str],
}

impl UopInfo {
    /// Whether the uop uses the value `name` (a declared value or
    /// `jump_target`).
    pub fn uses_value(&self, name: &str) -> bool {
        self.uses.contains(&name)
    }
}

/// The uop the generator adds when the cache holds values: variant `k`
/// stores the `k` values in registers to the memory stack and leaves none
/// in registers. A trace compiler puts it where the stack must be all in
/// memory (before a jump target, say).
pub const CACHE_SPILL: &str = "cache_spill";

/// A value the VM declared with its uop definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueInfo {
    pub name: &'static str,
    /// Width in bits (32 or 64): the VM must give a value that fits.
    pub bits: u8,
}

/// All stencils of one target.
#[derive(Clone, Copy, Debug)]
pub struct StencilTable {
    /// Target triple, e.g. `aarch64-unknown-linux-gnu`.
    pub target: &'static str,
    pub arch: Arch,
    /// Version of the LLVM that produced the stencils.
    pub llvm_version: &'static str,
    /// Alignment of each stencil's code in a trace.
    pub code_align: u32,
    /// The C-ABI entry stencil that enters a trace.
    pub shim: Stencil,
    /// How many of the top stack values a stencil may keep in registers:
    /// every uop has `cache + 1` variants, one per number of values that
    /// arrive in registers.
    pub cache: u8,
    /// Indexed by uop id and variant: `uops[uop * (cache + 1) + variant]`.
    pub uops: &'static [Stencil],
    /// Indexed by uop id.
    pub info: &'static [UopInfo],
    /// External symbols referenced by `HoleValue::Symbol(i)`: helpers and
    /// per-trace values, both resolved by the VM by name.
    pub symbols: &'static [&'static str],
    /// The per-op values, in the order of `TraceOp::values`
    /// (`HoleValue::OpValue(i)` is `op_values[i]`).
    pub op_values: &'static [ValueInfo],
    /// The per-trace values the VM declared; each one the stencils use is
    /// also in `symbols`.
    pub trace_values: &'static [ValueInfo],
    /// Generated emit functions of the stencils, if the table has them.
    pub emitters: Option<&'static Emitters>,
}

impl StencilTable {
    /// The id of the uop with this name.
    pub fn uop_id(&self, name: &str) -> Option<u16> {
        self.info
            .iter()
            .position(|u| u.name == name)
            .map(|i| i as u16)
    }

    /// How many uops the table has (each with `cache + 1` variants).
    pub fn uop_count(&self) -> usize {
        self.uops.len() / (usize::from(self.cache) + 1)
    }

    /// The stencil of `uop` entered with `variant` values in registers.
    pub fn stencil(&self, uop: u16, variant: u8) -> Option<&'static Stencil> {
        if variant > self.cache {
            return None;
        }
        let index = usize::from(uop) * (usize::from(self.cache) + 1) + usize::from(variant);
        self.uops.get(index)
    }

    /// How many stack values are in registers after `uop` entered with
    /// `variant` of them: its inputs come from the registers first, the
    /// values left below them and its outputs stay there as far as the
    /// cache reaches, the deepest going to memory. [`CACHE_SPILL`] leaves
    /// none.
    pub fn variant_out(&self, uop: u16, variant: u8) -> Option<u8> {
        let info = self.info.get(usize::from(uop))?;
        if info.name == CACHE_SPILL {
            return Some(0);
        }
        let left = usize::from(variant).saturating_sub(info.inputs.len());
        let held = (left + info.outputs.len()).min(usize::from(self.cache));
        Some(held as u8)
    }

    /// The index in `TraceOp::values` of the per-op value with this name.
    pub fn op_value(&self, name: &str) -> Option<usize> {
        self.op_values
            .iter()
            .position(|v| v.name == name)
            .filter(|&i| i < crate::emit::MAX_OP_VALUES)
    }
}
