//! An assembled, verified program: instructions, locals, heap, arguments.

use std::collections::BTreeMap;
use std::fmt;

use crate::uops::Op;

/// Where an instruction was written, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
    /// Length in characters (at least 1).
    pub len: u32,
}

/// One uop with its immediates. Fields a uop does not use are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instr {
    pub op: Op,
    pub oparg: u32,
    /// The operand's 64 bits (an `i64` or the bits of an `f64`).
    pub operand: u64,
    /// The pc a jump goes to.
    pub target: u32,
}

/// How a value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ValueKind {
    #[default]
    I64,
    F64,
}

impl ValueKind {
    /// Renders a slot's bits as this kind.
    pub fn render(self, bits: i64) -> String {
        match self {
            ValueKind::I64 => bits.to_string(),
            ValueKind::F64 => format!("{:?}", f64::from_bits(bits as u64)),
        }
    }
}

/// A program parameter: a local slot set before the program starts.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgDecl {
    pub name: String,
    pub local: u32,
    /// Bits of the default value.
    pub default: i64,
    /// Kind of the default, which is also how values given for it are read.
    pub kind: ValueKind,
}

/// Number of heap cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeapSize {
    Cells(u64),
    /// As many cells as the value of this argument (index into `args`).
    Arg(usize),
}

/// Stack facts the verifier proved.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StackLayout {
    /// Stack depth before each instruction; `None` where unreachable.
    pub depth: Vec<Option<u32>>,
    /// The deepest the stack gets.
    pub max_depth: u32,
}

/// An assembled and verified program.
#[derive(Clone, Debug)]
pub struct Program {
    /// The name it was assembled from, for messages.
    pub file: String,
    pub instrs: Vec<Instr>,
    /// Source position of each instruction's uop name.
    pub spans: Vec<Span>,
    pub locals: u32,
    pub heap: HeapSize,
    pub args: Vec<ArgDecl>,
    pub result: ValueKind,
    /// Label name to pc.
    pub labels: BTreeMap<String, u32>,
    pub layout: StackLayout,
}

impl Program {
    /// The pc a label stands for.
    pub fn label(&self, name: &str) -> Option<u32> {
        self.labels.get(name).copied()
    }

    /// A pc for messages: `file:line:col (uop)`.
    pub fn describe_pc(&self, pc: usize) -> String {
        match (self.instrs.get(pc), self.spans.get(pc)) {
            (Some(instr), Some(span)) => format!(
                "{}:{}:{}: pc {pc} (`{}`)",
                self.file,
                span.line,
                span.col,
                instr.op.name()
            ),
            _ => format!("{}: pc {pc}", self.file),
        }
    }
}

impl fmt::Display for Instr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.op.info();
        f.write_str(self.op.name())?;
        if info.uses_value("oparg") {
            write!(f, " {}", self.oparg)?;
        }
        if info.uses_value("operand") {
            write!(f, " {:#x}", self.operand)?;
        }
        if info.uses_value("jump_target") {
            write!(f, " @{}", self.target)?;
        }
        Ok(())
    }
}
