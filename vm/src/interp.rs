//! The interpreter: the reference semantics of every uop, written
//! independently of the stencils. It runs a pre-decoded instruction list
//! and can resume at any pc, which is how execution continues after a deopt.

use std::fmt;

use crate::helpers::{vm_hash, vm_sqrt};
use crate::program::{Instr, Program};
use crate::state::VmState;
use crate::uops::Op;

/// Why a program stopped without a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunErrorKind {
    DivisionByZero,
    HeapOutOfBounds {
        index: i64,
        cells: u64,
    },
    /// Only a resumed state that does not fit the program gets these.
    StackUnderflow,
    LocalOutOfRange(u32),
    BadResume(String),
}

/// A runtime error at a pc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunError {
    pub pc: usize,
    pub kind: RunErrorKind,
}

impl fmt::Display for RunErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunErrorKind::DivisionByZero => f.write_str("division by zero"),
            RunErrorKind::HeapOutOfBounds { index, cells } => {
                write!(
                    f,
                    "heap index out of bounds: index {index}, the heap has {cells} cells"
                )
            }
            RunErrorKind::StackUnderflow => f.write_str("stack underflow"),
            RunErrorKind::LocalOutOfRange(i) => write!(f, "local {i} is out of range"),
            RunErrorKind::BadResume(why) => write!(f, "cannot resume: {why}"),
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pc {}: {}", self.pc, self.kind)
    }
}

impl std::error::Error for RunError {}

/// An instruction decoded for dispatch: immediates are already in the
/// form the uop uses.
#[derive(Clone, Copy, Debug)]
enum Code {
    Nop,
    Push(i64),
    Dup,
    Drop,
    Swap,
    Over,
    LoadLocal(usize),
    StoreLocal(usize),
    IncLocal(usize),
    AddI64,
    SubI64,
    MulI64,
    DivI64,
    RemI64,
    NegI64,
    AddImm(i64),
    AndI64,
    OrI64,
    XorI64,
    ShlI64,
    ShrI64,
    LtI64,
    LeI64,
    GtI64,
    GeI64,
    EqI64,
    NeI64,
    HashI64,
    GuardNonneg,
    AddF64,
    SubF64,
    MulF64,
    DivF64,
    NegF64,
    LtF64,
    I64ToF64,
    F64ToI64,
    SqrtF64,
    Jump(usize),
    BranchIfZero(usize),
    BranchIfNonzero(usize),
    BranchIfLt(usize),
    Return,
    LoadHeap,
    StoreHeap,
    HeapPtr,
    LoadPtr,
    StorePtr,
}

fn decode(instr: &Instr) -> Code {
    let local = instr.oparg as usize;
    let target = instr.target as usize;
    match instr.op {
        Op::Nop => Code::Nop,
        Op::PushI64 | Op::PushF64 => Code::Push(instr.operand as i64),
        Op::PushSmall => Code::Push(i64::from(instr.oparg)),
        Op::Dup => Code::Dup,
        Op::Drop => Code::Drop,
        Op::Swap => Code::Swap,
        Op::Over => Code::Over,
        Op::LoadLocal => Code::LoadLocal(local),
        Op::StoreLocal => Code::StoreLocal(local),
        Op::IncLocal => Code::IncLocal(local),
        Op::AddI64 => Code::AddI64,
        Op::SubI64 => Code::SubI64,
        Op::MulI64 => Code::MulI64,
        Op::DivI64 => Code::DivI64,
        Op::RemI64 => Code::RemI64,
        Op::NegI64 => Code::NegI64,
        Op::AddImm => Code::AddImm(i64::from(instr.oparg)),
        Op::AndI64 => Code::AndI64,
        Op::OrI64 => Code::OrI64,
        Op::XorI64 => Code::XorI64,
        Op::ShlI64 => Code::ShlI64,
        Op::ShrI64 => Code::ShrI64,
        Op::LtI64 => Code::LtI64,
        Op::LeI64 => Code::LeI64,
        Op::GtI64 => Code::GtI64,
        Op::GeI64 => Code::GeI64,
        Op::EqI64 => Code::EqI64,
        Op::NeI64 => Code::NeI64,
        Op::HashI64 => Code::HashI64,
        Op::GuardNonneg => Code::GuardNonneg,
        Op::AddF64 => Code::AddF64,
        Op::SubF64 => Code::SubF64,
        Op::MulF64 => Code::MulF64,
        Op::DivF64 => Code::DivF64,
        Op::NegF64 => Code::NegF64,
        Op::LtF64 => Code::LtF64,
        Op::I64ToF64 => Code::I64ToF64,
        Op::F64ToI64 => Code::F64ToI64,
        Op::SqrtF64 => Code::SqrtF64,
        Op::Jump => Code::Jump(target),
        Op::BranchIfZero => Code::BranchIfZero(target),
        Op::BranchIfNonzero => Code::BranchIfNonzero(target),
        Op::BranchIfLt => Code::BranchIfLt(target),
        Op::Return => Code::Return,
        Op::LoadHeap => Code::LoadHeap,
        Op::StoreHeap => Code::StoreHeap,
        Op::HeapPtr => Code::HeapPtr,
        Op::LoadPtr => Code::LoadPtr,
        Op::StorePtr => Code::StorePtr,
    }
}

fn f(bits: i64) -> f64 {
    f64::from_bits(bits as u64)
}

fn bits(value: f64) -> i64 {
    value.to_bits() as i64
}

/// The cell a heap index names, if in range.
fn cell(heap: &[i64], index: i64) -> Option<usize> {
    usize::try_from(index).ok().filter(|&i| i < heap.len())
}

/// The cell index of pointer `p` plus `i` cells, computed like the
/// stencils do: `(p - heap) / 8 + i`, wrapping.
fn ptr_index(heap: &[i64], p: i64, i: i64) -> i64 {
    let base = heap.as_ptr() as i64;
    (p.wrapping_sub(base) >> 3).wrapping_add(i)
}

/// A program decoded for the interpreter.
pub struct Interpreter {
    code: Vec<Code>,
    depth: Vec<Option<u32>>,
    locals: usize,
}

impl Interpreter {
    pub fn new(program: &Program) -> Interpreter {
        Interpreter {
            code: program.instrs.iter().map(decode).collect(),
            depth: program.layout.depth.clone(),
            locals: program.locals as usize,
        }
    }

    /// Runs from the start.
    pub fn run(&self, state: &mut VmState) -> Result<i64, RunError> {
        self.resume(state, 0)
    }

    /// Runs from `pc` on `state`, whose stack must hold as many values as
    /// the verifier found for that pc.
    pub fn resume(&self, state: &mut VmState, pc: usize) -> Result<i64, RunError> {
        let bad = |why: String| {
            Err(RunError {
                pc,
                kind: RunErrorKind::BadResume(why),
            })
        };
        match self.depth.get(pc) {
            None => return bad(format!("pc {pc} is past the end of the program")),
            Some(None) => return bad(format!("pc {pc} is unreachable")),
            Some(Some(d)) if *d as usize != state.stack.len() => {
                return bad(format!(
                    "the stack holds {} values, pc {pc} expects {d}",
                    state.stack.len()
                ))
            }
            Some(Some(_)) => {}
        }
        if state.locals.len() != self.locals {
            return bad(format!(
                "{} locals given, the program has {}",
                state.locals.len(),
                self.locals
            ));
        }
        self.execute(state, pc)
    }

    fn execute(&self, state: &mut VmState, start: usize) -> Result<i64, RunError> {
        let VmState {
            stack,
            locals,
            heap,
        } = state;
        let heap = heap.as_mut_slice();
        let mut pc = start;
        loop {
            let at = pc;
            let fail = |kind| Err(RunError { pc: at, kind });
            // The verifier guarantees the last instruction is a terminator,
            // so pc never runs off the end; a resumed state is checked above.
            let Some(&code) = self.code.get(pc) else {
                return fail(RunErrorKind::BadResume(format!(
                    "pc {pc} is past the end of the program"
                )));
            };
            pc += 1;
            macro_rules! pop {
                () => {
                    match stack.pop() {
                        Some(v) => v,
                        None => return fail(RunErrorKind::StackUnderflow),
                    }
                };
            }
            macro_rules! binary {
                (|$a:ident, $b:ident| $e:expr) => {{
                    let $b = pop!();
                    let $a = pop!();
                    stack.push($e);
                }};
            }
            macro_rules! local {
                ($i:expr) => {
                    match locals.get_mut($i) {
                        Some(slot) => slot,
                        None => return fail(RunErrorKind::LocalOutOfRange($i as u32)),
                    }
                };
            }
            match code {
                Code::Nop | Code::GuardNonneg => {}
                Code::Push(v) => stack.push(v),
                Code::Dup => {
                    let a = pop!();
                    stack.extend([a, a]);
                }
                Code::Drop => {
                    pop!();
                }
                Code::Swap => {
                    let b = pop!();
                    let a = pop!();
                    stack.extend([b, a]);
                }
                Code::Over => {
                    let b = pop!();
                    let a = pop!();
                    stack.extend([a, b, a]);
                }
                Code::LoadLocal(i) => {
                    let v = *local!(i);
                    stack.push(v);
                }
                Code::StoreLocal(i) => {
                    let v = pop!();
                    *local!(i) = v;
                }
                Code::IncLocal(i) => {
                    let slot = local!(i);
                    *slot = slot.wrapping_add(1);
                }
                Code::AddI64 => binary!(|a, b| a.wrapping_add(b)),
                Code::SubI64 => binary!(|a, b| a.wrapping_sub(b)),
                Code::MulI64 => binary!(|a, b| a.wrapping_mul(b)),
                Code::DivI64 | Code::RemI64 => {
                    let b = pop!();
                    let a = pop!();
                    if b == 0 {
                        return fail(RunErrorKind::DivisionByZero);
                    }
                    stack.push(if matches!(code, Code::DivI64) {
                        a.wrapping_div(b)
                    } else {
                        a.wrapping_rem(b)
                    });
                }
                Code::NegI64 => {
                    let a = pop!();
                    stack.push(a.wrapping_neg());
                }
                Code::AddImm(k) => {
                    let a = pop!();
                    stack.push(a.wrapping_add(k));
                }
                Code::AndI64 => binary!(|a, b| a & b),
                Code::OrI64 => binary!(|a, b| a | b),
                Code::XorI64 => binary!(|a, b| a ^ b),
                Code::ShlI64 => binary!(|a, b| ((a as u64) << (b & 63)) as i64),
                Code::ShrI64 => binary!(|a, b| a >> (b & 63)),
                Code::LtI64 => binary!(|a, b| i64::from(a < b)),
                Code::LeI64 => binary!(|a, b| i64::from(a <= b)),
                Code::GtI64 => binary!(|a, b| i64::from(a > b)),
                Code::GeI64 => binary!(|a, b| i64::from(a >= b)),
                Code::EqI64 => binary!(|a, b| i64::from(a == b)),
                Code::NeI64 => binary!(|a, b| i64::from(a != b)),
                Code::HashI64 => binary!(|a, b| vm_hash(a, b)),
                Code::AddF64 => binary!(|a, b| bits(f(a) + f(b))),
                Code::SubF64 => binary!(|a, b| bits(f(a) - f(b))),
                Code::MulF64 => binary!(|a, b| bits(f(a) * f(b))),
                Code::DivF64 => binary!(|a, b| bits(f(a) / f(b))),
                Code::NegF64 => {
                    let a = pop!();
                    stack.push(bits(-f(a)));
                }
                Code::LtF64 => binary!(|a, b| i64::from(f(a) < f(b))),
                Code::I64ToF64 => {
                    let a = pop!();
                    stack.push(bits(a as f64));
                }
                Code::F64ToI64 => {
                    let a = pop!();
                    stack.push(f(a) as i64);
                }
                Code::SqrtF64 => {
                    let a = pop!();
                    stack.push(bits(vm_sqrt(f(a))));
                }
                Code::Jump(target) => pc = target,
                Code::BranchIfZero(target) => {
                    if pop!() == 0 {
                        pc = target;
                    }
                }
                Code::BranchIfNonzero(target) => {
                    if pop!() != 0 {
                        pc = target;
                    }
                }
                Code::BranchIfLt(target) => {
                    let b = pop!();
                    let a = pop!();
                    if a < b {
                        pc = target;
                    }
                }
                Code::Return => return Ok(pop!()),
                Code::LoadHeap => {
                    let i = pop!();
                    match cell(heap, i) {
                        Some(c) => stack.push(heap[c]),
                        None => return fail(out_of_bounds(heap, i)),
                    }
                }
                Code::StoreHeap => {
                    let i = pop!();
                    let v = pop!();
                    match cell(heap, i) {
                        Some(c) => heap[c] = v,
                        None => return fail(out_of_bounds(heap, i)),
                    }
                }
                Code::HeapPtr => {
                    let i = pop!();
                    // One past the end is a valid pointer, not a valid cell.
                    if i < 0 || i as u64 > heap.len() as u64 {
                        return fail(out_of_bounds(heap, i));
                    }
                    stack.push((heap.as_ptr() as i64).wrapping_add(i * 8));
                }
                Code::LoadPtr => {
                    let i = pop!();
                    let p = pop!();
                    let k = ptr_index(heap, p, i);
                    match cell(heap, k) {
                        Some(c) => stack.push(heap[c]),
                        None => return fail(out_of_bounds(heap, k)),
                    }
                }
                Code::StorePtr => {
                    let i = pop!();
                    let p = pop!();
                    let v = pop!();
                    let k = ptr_index(heap, p, i);
                    match cell(heap, k) {
                        Some(c) => heap[c] = v,
                        None => return fail(out_of_bounds(heap, k)),
                    }
                }
            }
        }
    }
}

fn out_of_bounds(heap: &[i64], index: i64) -> RunErrorKind {
    RunErrorKind::HeapOutOfBounds {
        index,
        cells: heap.len() as u64,
    }
}

/// Runs `program` from the start on a fresh state built from `args`.
pub fn run(program: &Program, args: &[i64]) -> Result<i64, crate::Error> {
    let mut state = VmState::new(program, args).map_err(crate::Error::Setup)?;
    Interpreter::new(program)
        .run(&mut state)
        .map_err(crate::Error::Run)
}
