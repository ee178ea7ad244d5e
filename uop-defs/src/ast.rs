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
    /// The names in `uses` clauses (declared values of the ABI, or the
    /// built-in `jump_target`), in declaration order, without duplicates.
    pub uses: Vec<String>,
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
    /// Whether the uop declares `uses NAME`.
    pub fn uses(&self, name: &str) -> bool {
        self.uses.iter().any(|n| n == name)
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
    /// The file's `abi` item, if it has one (a defs directory has exactly
    /// one).
    pub abi: Option<Abi>,
}

/// A C type as written in the ABI: identifiers, keywords and `*`,
/// normalised to single spaces with `*`s attached (`const char *`,
/// `int64_t **`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CType {
    pub text: String,
    pub span: Span,
}

/// A parameter of the shim's C signature: `TYPE NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CParam {
    pub name: String,
    pub ty: CType,
    /// Span of the name.
    pub span: Span,
}

/// `entry(PARAMS) -> RET;`: the C signature of the shim, which the VM
/// calls to enter a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub params: Vec<CParam>,
    pub ret: CType,
    /// Span of the `entry` keyword.
    pub span: Span,
}

/// `arg NAME: TYPE = EXPR;`: a threaded argument, which every stencil
/// receives and passes on; the shim computes it with `EXPR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadedArg {
    pub name: String,
    pub ty: CType,
    /// The C expression over the entry parameters, trimmed.
    pub init: String,
    pub init_span: Span,
    /// Span of the name.
    pub span: Span,
    pub doc: String,
}

/// `stack ARG: SLOT;`: the threaded argument that is the operand stack
/// pointer, and the C type of one stack slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackDecl {
    pub arg: String,
    pub slot: CType,
    /// Span of the arg's name.
    pub span: Span,
}

/// How many bits a declared value has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueWidth {
    U32,
    U64,
}

/// Where the runtime takes a declared value from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueSource {
    /// An immediate of each trace op.
    PerOp,
    /// One value for the whole trace, supplied by name when it is emitted.
    PerTrace,
}

/// `value NAME: WIDTH SOURCE;`: a hole value the VM declares; bodies read
/// it as the macro `NAME` uppercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueDecl {
    pub name: String,
    pub width: ValueWidth,
    pub source: ValueSource,
    /// Span of the name.
    pub span: Span,
    pub doc: String,
}

/// What the stack argument holds when a trace leaves through an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStack {
    /// The stack as it was before the uop: nothing popped.
    KeepsInputs,
    /// The stack after the uop's inputs are popped.
    PopsInputs,
}

/// `exit NAME(PARAMS) keeps|pops inputs [uses VALUES] { C-TEXT }`: a macro
/// a uop body may use to leave the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    pub name: String,
    /// Macro parameter names.
    pub params: Vec<String>,
    pub stack: ExitStack,
    /// Declared values the exit's body uses, in declaration order.
    pub uses: Vec<String>,
    /// The C text between the body's braces, exactly as written.
    pub body: String,
    /// Span of the body text (the first character after `{`).
    pub body_span: Span,
    /// Span of the name.
    pub span: Span,
    pub doc: String,
}

/// `abi { ... }`: the stencil ABI the VM declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abi {
    pub doc: String,
    /// Span of the `abi` keyword.
    pub span: Span,
    /// The C text between the braces of `types`, exactly as written.
    pub types: String,
    /// Span of the types text (the first character after `{`).
    pub types_span: Span,
    pub entry: Entry,
    /// Threaded arguments, in order.
    pub args: Vec<ThreadedArg>,
    pub stack: StackDecl,
    /// The C type of `ptr` stack values; `void *` (at the `abi` keyword)
    /// when not declared.
    pub pointer: CType,
    /// How many top-of-stack values may be kept in registers.
    pub cache: u32,
    pub values: Vec<ValueDecl>,
    pub exits: Vec<Exit>,
}

impl Abi {
    pub fn value(&self, name: &str) -> Option<&ValueDecl> {
        self.values.iter().find(|v| v.name == name)
    }

    pub fn exit(&self, name: &str) -> Option<&Exit> {
        self.exits.iter().find(|e| e.name == name)
    }

    pub fn arg(&self, name: &str) -> Option<&ThreadedArg> {
        self.args.iter().find(|a| a.name == name)
    }
}

impl ValueDecl {
    /// The body macro that reads the value: the name uppercased.
    pub fn macro_name(&self) -> String {
        self.name.to_ascii_uppercase()
    }
}
