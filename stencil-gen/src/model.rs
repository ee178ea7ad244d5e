//! The generator's stencil model: what lowering produces and writers consume.

use runtime::HoleKind;

/// What a hole is patched with (the generator's view of
/// `runtime::HoleValue`; external symbols keep their names here and become
/// indices only when written).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Code,
    Data,
    Continue,
    Oparg,
    Operand,
    JumpTarget,
    DeoptTarget,
    Zero,
    /// An external symbol, by its C name (without the format's prefix).
    Symbol(String),
}

/// A hole in code or data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hole {
    pub offset: u32,
    pub kind: HoleKind,
    pub value: Value,
    pub addend: i64,
}

/// The lowered form of one object file: one uop (or the shim).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StencilGroup {
    /// Uop name, or `shim`.
    pub name: String,
    pub code: Vec<u8>,
    /// Sorted by offset.
    pub code_holes: Vec<Hole>,
    /// Read-only data followed by GOT slots.
    pub data: Vec<u8>,
    /// Sorted by offset.
    pub data_holes: Vec<Hole>,
    pub data_align: u32,
    /// `llvm-objdump` disassembly of the code, one instruction per line,
    /// offsets relative to the stencil, no paths. Filled by the driver.
    pub disassembly: Vec<String>,
    /// Whether a trailing jump to the continuation was removed.
    pub trailing_jump_removed: bool,
}
