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
    JumpTarget,
    Zero,
    /// A per-op value the VM declared, by its declared name.
    OpValue(String),
    /// An external symbol, by its C name (without the format's prefix): a
    /// helper, or a per-trace value the VM declared (by its declared name).
    Symbol(String),
    /// A `_JIT_*` symbol that is neither built in nor declared, by its C
    /// name: an error when generating, shown as such when inspecting.
    Undeclared(String),
}

/// Prefix of the symbols whose address is a hole value.
pub const VALUE_SYMBOL_PREFIX: &str = "_JIT_";

/// One hole value a VM declared.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeclaredValue {
    pub name: String,
    /// 32 or 64.
    pub bits: u8,
}

/// The hole values a VM declared beyond the built-in ones: what lowering
/// may map `_JIT_*` symbols onto and what the stencil table lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeclaredValues {
    /// In the order of `TraceOp::values`.
    pub per_op: Vec<DeclaredValue>,
    /// Resolved by the VM by name, like helpers.
    pub per_trace: Vec<DeclaredValue>,
}

impl DeclaredValues {
    /// The C symbol whose address stands for the value `name`:
    /// `_JIT_` and the name in upper case.
    pub fn symbol(name: &str) -> String {
        format!("{VALUE_SYMBOL_PREFIX}{}", name.to_ascii_uppercase())
    }

    /// The hole value of the `_JIT_*` symbol `symbol` (without the
    /// format's prefix), or `None` for any other symbol.
    pub fn value_of(&self, symbol: &str) -> Option<Value> {
        let rest = symbol.strip_prefix(VALUE_SYMBOL_PREFIX)?;
        let named = |values: &[DeclaredValue]| {
            values
                .iter()
                .find(|v| v.name.to_ascii_uppercase() == rest)
                .map(|v| v.name.clone())
        };
        Some(match rest {
            "CONTINUE" => Value::Continue,
            "JUMP_TARGET" => Value::JumpTarget,
            // Lowering sees the entry symbol only as a place, never as a
            // value; anything else must be declared.
            _ => match (named(&self.per_op), named(&self.per_trace)) {
                (Some(name), _) => Value::OpValue(name),
                (None, Some(name)) => Value::Symbol(name),
                (None, None) => Value::Undeclared(symbol.to_string()),
            },
        })
    }
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
