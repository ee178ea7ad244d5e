//! The parsed form of a `.uop` file. Every node keeps the span it came from.

use std::path::PathBuf;

/// A region of a source file. Lines and columns are 1-based; columns count
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    /// Byte offset of the start and length in bytes.
    pub offset: usize,
    pub len: usize,
}

/// The type of a stack value or helper parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    I64,
    F64,
    Ptr,
}

impl ValueType {
    /// The C type the value has inside a uop body.
    pub fn c_type(self) -> &'static str {
        match self {
            ValueType::I64 => "int64_t",
            ValueType::F64 => "double",
            ValueType::Ptr => "int64_t *",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
            ValueType::Ptr => "ptr",
        }
    }
}

/// A named, typed stack slot in a stack effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackValue {
    pub name: String,
    pub ty: ValueType,
    pub span: Span,
}

/// An immediate a uop may use; each becomes a hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Immediate {
    /// `OPARG` in the body; 32-bit unsigned.
    Oparg,
    /// `OPERAND` / `OPERAND_F64` in the body; 64-bit.
    Operand,
    /// `JUMP()` in the body.
    JumpTarget,
    /// `DEOPT()` / `DEOPT_IF(cond)` in the body.
    Deopt,
}

impl Immediate {
    /// The keyword used in a `uses` clause.
    pub fn keyword(self) -> &'static str {
        match self {
            Immediate::Oparg => "oparg",
            Immediate::Operand => "operand",
            Immediate::JumpTarget => "jump_target",
            Immediate::Deopt => "deopt",
        }
    }
}

/// An external function the VM provides: `helper NAME(TYPES) -> TYPE;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helper {
    pub name: String,
    pub params: Vec<ValueType>,
    pub ret: ValueType,
    pub span: Span,
}

/// One micro-op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uop {
    pub name: String,
    /// The `///` lines above the uop, joined with `\n`, without the slashes.
    pub doc: String,
    /// Stack inputs, bottom first (leftmost in the stack effect).
    pub inputs: Vec<StackValue>,
    /// Stack outputs, bottom first.
    pub outputs: Vec<StackValue>,
    /// Declared immediates, sorted, without duplicates.
    pub immediates: Vec<Immediate>,
    /// Declared helpers (names of `helper` items of the same file), in
    /// declaration order.
    pub calls: Vec<String>,
    /// The C text between the body's braces, exactly as written.
    pub body: String,
    /// Span of the body text (the first character after `{`).
    pub body_span: Span,
    /// Span of the uop's name.
    pub span: Span,
}

impl Uop {
    pub fn uses(&self, imm: Immediate) -> bool {
        self.immediates.contains(&imm)
    }
}

/// One `.uop` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UopFile {
    /// The path as given to the loader (relative paths stay relative so that
    /// nothing machine-specific reaches generated output).
    pub path: PathBuf,
    /// The C text of the file's `prelude { ... }` blocks, concatenated.
    pub prelude: String,
    pub helpers: Vec<Helper>,
    pub uops: Vec<Uop>,
}
