//! The JIT: a whole program becomes one trace of stencils, copied and
//! patched into executable memory. The trace runs until it returns or
//! deopts; after a deopt the interpreter resumes at the deopting uop with
//! the state the trace left in the frame.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use runtime::emit::TraceOp;
use std::sync::OnceLock;

use runtime::exec::ExecError;
use runtime::pool::{ExecPool, PoolConfig, PoolTrace};
use runtime::{StencilTable, CACHE_SPILL};

use crate::abi::EntryAbi;
use crate::helpers::helper_address;
use crate::interp::{Interpreter, RunError, RunErrorKind};
use crate::program::Program;
use crate::state::VmState;
use crate::uops::signature_mismatch;

/// The frame every stencil receives; the layout is fixed by the stencil ABI
/// (`docs/stencil-abi.md`).
#[repr(C)]
#[derive(Debug)]
pub struct VmFrame {
    pub locals: *mut i64,
    pub heap: *mut i64,
    pub heap_len: i64,
    /// Stack pointer when the trace exits: one past the top value.
    pub sp: *mut i64,
    /// The program's result after `return`.
    pub result: i64,
}

/// The shim, `int64_t shim(vm_frame *, int64_t *sp)`, with the calling
/// convention of its target.
#[derive(Clone, Copy)]
enum Entry {
    C(extern "C" fn(*mut VmFrame, *mut i64) -> i64),
    #[cfg(target_arch = "x86_64")]
    Win64(extern "win64" fn(*mut VmFrame, *mut i64) -> i64),
}

impl Entry {
    /// The shim at `code`, called with `abi`; `None` if this host cannot.
    ///
    /// # Safety
    /// `code` must be the shim of a trace in executable memory, of a table
    /// whose convention is `abi`, and stay mapped while the entry is used.
    unsafe fn new(code: *const u8, abi: EntryAbi) -> Option<Entry> {
        match abi {
            // SAFETY: the caller guarantees `code` is a C-ABI shim with this
            // signature (docs/stencil-abi.md).
            EntryAbi::C => Some(Entry::C(unsafe {
                std::mem::transmute::<*const u8, extern "C" fn(*mut VmFrame, *mut i64) -> i64>(code)
            })),
            // SAFETY: as above, for a shim built for Windows x64.
            #[cfg(target_arch = "x86_64")]
            EntryAbi::Win64 => Some(Entry::Win64(unsafe {
                std::mem::transmute::<*const u8, extern "win64" fn(*mut VmFrame, *mut i64) -> i64>(
                    code,
                )
            })),
            #[cfg(not(target_arch = "x86_64"))]
            EntryAbi::Win64 => None,
        }
    }

    fn call(self, frame: &mut VmFrame, sp: *mut i64) -> i64 {
        match self {
            Entry::C(f) => f(frame, sp),
            #[cfg(target_arch = "x86_64")]
            Entry::Win64(f) => f(frame, sp),
        }
    }
}

/// What the shim returns when the program returned.
const RETURNED: i64 = -1;

/// Why a program could not be compiled.
#[derive(Debug)]
pub enum JitError {
    /// No stencil table for this host's instruction set.
    NoHostTable,
    /// The program uses a uop the stencil table lacks.
    MissingUop {
        uop: &'static str,
        target: &'static str,
    },
    /// The table's ABI does not declare a per-op value the VM gives every
    /// op (or declares more than a trace op carries).
    MissingValue {
        value: &'static str,
        target: &'static str,
    },
    /// The table's uop has another stack effect or other immediates than
    /// the interpreter's.
    SignatureMismatch { uop: &'static str, diff: String },
    /// The table calls a helper the VM does not provide.
    UnknownSymbol(&'static str),
    /// This host cannot call code of the table's calling convention.
    UnsupportedAbi { target: &'static str, abi: EntryAbi },
    /// Emitting or mapping the trace failed.
    Exec(ExecError),
    /// The executable-memory pool could not be set up.
    Pool(String),
}

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JitError::NoHostTable => {
                f.write_str("no stencil table for this host's instruction set; use --interp")
            }
            JitError::MissingUop { uop, target } => {
                write!(f, "the stencil table for {target} has no uop `{uop}`")
            }
            JitError::MissingValue { value, target } => write!(
                f,
                "the stencil table for {target} declares no per-op value `{value}`: declare \
                 `value {value}: ... per_op;` in the defs' `abi` item and regenerate the stencils"
            ),
            JitError::SignatureMismatch { uop, diff } => write!(
                f,
                "uop `{uop}` in the stencil table differs from the interpreter's: {diff}"
            ),
            JitError::UnknownSymbol(name) => {
                write!(
                    f,
                    "the stencil table calls `{name}`, which the VM does not provide"
                )
            }
            JitError::UnsupportedAbi { target, abi } => write!(
                f,
                "this host cannot call {target} code, whose calling convention is {abi:?}"
            ),
            JitError::Exec(e) => e.fmt(f),
            JitError::Pool(e) => write!(f, "cannot set up executable memory for traces: {e}"),
        }
    }
}

impl std::error::Error for JitError {}

/// The stencil table for this host, if it has one.
pub fn host_table() -> Option<&'static StencilTable> {
    generated::host_table()
}

/// The trace ops of `program` for any stencil table: one op per
/// instruction, each deopting to its own pc, with a [`CACHE_SPILL`] op
/// before an instruction where the stack must be all in memory.
///
/// The trace compiler follows how many top-of-stack values are in
/// registers (the cache state) through the program statically: each op's
/// variant is the state it is entered in, and the state after it follows
/// from its stack effect ([`StencilTable::variant_out`]). Every jump target
/// is entered with nothing in registers, from a jump or by falling
/// through, so a branch may leave nothing in registers either: the state
/// is spilled before a jump target, and before a branch when more values
/// are in registers than the branch pops. Exits (a deopt, a return) store
/// what registers hold themselves, so the interpreter always resumes with
/// exactly its own stack in memory.
pub fn compile_ops(table: &StencilTable, program: &Program) -> Result<Vec<TraceOp>, JitError> {
    let slot = |name: &'static str| {
        table.op_value(name).ok_or(JitError::MissingValue {
            value: name,
            target: table.target,
        })
    };
    let (oparg, operand, deopt_target) = (slot("oparg")?, slot("operand")?, slot("deopt_target")?);
    let spill = match table.cache {
        0 => None,
        _ => Some(table.uop_id(CACHE_SPILL).ok_or(JitError::MissingUop {
            uop: CACHE_SPILL,
            target: table.target,
        })?),
    };
    let mut uops = Vec::with_capacity(program.instrs.len());
    for instr in &program.instrs {
        let name = instr.op.name();
        let uop = table.uop_id(name).ok_or(JitError::MissingUop {
            uop: name,
            target: table.target,
        })?;
        if let Some(diff) = signature_mismatch(&table.info[uop as usize], instr.op) {
            return Err(JitError::SignatureMismatch { uop: name, diff });
        }
        uops.push(uop);
    }
    let jump_targets: BTreeSet<u32> = program
        .instrs
        .iter()
        .filter(|i| i.op.info().uses_value("jump_target"))
        .map(|i| i.target)
        .collect();

    let mut ops = Vec::with_capacity(program.instrs.len());
    // The op of each pc, for jump targets.
    let mut op_of_pc = Vec::with_capacity(program.instrs.len());
    let mut state: u8 = 0;
    for (pc, (instr, &uop)) in program.instrs.iter().zip(&uops).enumerate() {
        let info = &table.info[uop as usize];
        let limit = if jump_targets.contains(&(pc as u32)) {
            0
        } else if info.uses_value("jump_target") {
            info.inputs.len()
        } else {
            usize::MAX
        };
        if usize::from(state) > limit {
            if let Some(spill) = spill {
                let mut op = TraceOp::new(spill);
                op.variant = state;
                op.values[deopt_target] = pc as u64;
                ops.push(op);
                state = 0;
            }
        }
        op_of_pc.push(ops.len() as u32);
        let mut op = TraceOp::new(uop);
        op.variant = state;
        op.jump_target = instr.target;
        op.values[oparg] = u64::from(instr.oparg);
        op.values[operand] = instr.operand;
        op.values[deopt_target] = pc as u64;
        ops.push(op);
        state = match instr.op.is_terminator() {
            // What follows is reached only by a jump.
            true => 0,
            false => table.variant_out(uop, state).unwrap_or(0),
        };
    }
    // A jump lands on the op of its target pc, after any spill before it.
    for (pc, instr) in program.instrs.iter().enumerate() {
        if instr.op.info().uses_value("jump_target") {
            if let Some(&target) = op_of_pc.get(instr.target as usize) {
                ops[op_of_pc[pc] as usize].jump_target = target;
            }
        }
    }
    Ok(ops)
}

/// Addresses of the table's external symbols, in `table.symbols` order:
/// the helpers' entry points for the table's calling convention.
pub fn helper_symbols(table: &StencilTable) -> Result<Vec<u64>, JitError> {
    let abi = EntryAbi::of(table);
    if !abi.callable_here() {
        return Err(JitError::UnsupportedAbi {
            target: table.target,
            abi,
        });
    }
    table
        .symbols
        .iter()
        .map(|name| helper_address(abi, name).ok_or(JitError::UnknownSymbol(name)))
        .collect()
}

/// The configuration of the VM's pools: the default, with the code placed
/// near the helpers.
pub fn pool_config() -> PoolConfig {
    PoolConfig {
        near: Some(crate::helpers::vm_hash as *const () as u64),
        ..PoolConfig::default()
    }
}

/// The executable memory every compiled program of the process shares,
/// placed near the helpers so that calls to them need no trampoline.
pub fn jit_pool() -> Result<&'static ExecPool, JitError> {
    static POOL: OnceLock<Result<ExecPool, String>> = OnceLock::new();
    POOL.get_or_init(|| ExecPool::new(pool_config()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| JitError::Pool(e.clone()))
}

/// What happened during one JIT run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Deopts by pc.
    pub deopts: BTreeMap<usize, u64>,
}

/// A program compiled to native code.
pub struct CompiledProgram {
    /// The shim, in `trace`.
    entry: Entry,
    trace: PoolTrace,
    interp: Interpreter,
    max_depth: usize,
    locals: usize,
    ops: usize,
}

impl CompiledProgram {
    /// Compiles `program` with `table`, which must be for this host's
    /// instruction set; its calling convention may be any this host can
    /// call (so x86-64 Windows and macOS tables run on an x86-64 Linux host).
    pub fn new(table: &StencilTable, program: &Program) -> Result<CompiledProgram, JitError> {
        CompiledProgram::new_in(jit_pool()?, table, program)
    }

    /// [`CompiledProgram::new`] with the trace in `pool`.
    pub fn new_in(
        pool: &ExecPool,
        table: &StencilTable,
        program: &Program,
    ) -> Result<CompiledProgram, JitError> {
        let ops = compile_ops(table, program)?;
        let symbols = helper_symbols(table)?;
        let trace = pool
            .compile(table, &ops, &symbols)
            .map_err(JitError::Exec)?;
        let abi = EntryAbi::of(table);
        // SAFETY: `trace.entry()` is the shim of a trace built from `table`,
        // whose convention is `abi`; the trace is kept alongside the entry
        // and lives as long as it.
        let entry = unsafe { Entry::new(trace.entry(), abi) }.ok_or(JitError::UnsupportedAbi {
            target: table.target,
            abi,
        })?;
        Ok(CompiledProgram {
            entry,
            trace,
            interp: Interpreter::new(program),
            max_depth: program.layout.max_depth as usize,
            locals: program.locals as usize,
            ops: ops.len(),
        })
    }

    /// Number of trace ops (one per instruction).
    pub fn ops(&self) -> usize {
        self.ops
    }

    /// Bytes of machine code, trampolines included.
    pub fn code_bytes(&self) -> usize {
        self.trace.layout().code_len
    }

    /// Bytes of the whole trace: code, padding and data.
    pub fn trace_bytes(&self) -> usize {
        self.trace.len()
    }

    /// Runs the program from the start on `state` (whose stack must be
    /// empty), finishing in the interpreter after a deopt.
    pub fn run(&self, state: &mut VmState, stats: &mut RunStats) -> Result<i64, RunError> {
        let bad = |why: String| {
            Err(RunError {
                pc: 0,
                kind: RunErrorKind::BadResume(why),
            })
        };
        if !state.stack.is_empty() || state.locals.len() != self.locals {
            return bad("the JIT starts with an empty stack and the program's locals".to_string());
        }
        let Ok(heap_len) = i64::try_from(state.heap.len()) else {
            return bad("the heap is too large".to_string());
        };
        // Never shorter than the verifier's bound, so the trace stays inside it.
        let mut stack = vec![0i64; self.max_depth.max(1)];
        let base = stack.as_mut_ptr();
        let mut frame = VmFrame {
            locals: state.locals.as_mut_ptr(),
            heap: state.heap.as_mut_ptr(),
            heap_len,
            sp: base,
            result: 0,
        };
        // The trace only touches the frame, locals below `locals` (verified),
        // heap cells below `heap_len` (it deopts otherwise) and stack slots
        // below the verified maximum depth.
        let code = self.entry.call(&mut frame, base);
        let depth = (frame.sp as usize).wrapping_sub(base as usize) / size_of::<i64>();
        finish(
            &self.interp,
            state,
            code,
            frame.result,
            &stack,
            depth,
            stats,
        )
    }
}

/// Carries on after a trace exits with `code` (what the shim returned):
/// `-1` is a return with `result`; a pc is a deopt, and the interpreter
/// resumes there with the first `depth` values of `stack`. Usable for a
/// trace run anywhere, e.g. under an emulator.
pub fn finish(
    interp: &Interpreter,
    state: &mut VmState,
    code: i64,
    result: i64,
    stack: &[i64],
    depth: usize,
    stats: &mut RunStats,
) -> Result<i64, RunError> {
    if code == RETURNED {
        return Ok(result);
    }
    let Ok(pc) = usize::try_from(code) else {
        return Err(RunError {
            pc: 0,
            kind: RunErrorKind::BadResume(format!(
                "the trace returned {code}, neither -1 nor a pc"
            )),
        });
    };
    let Some(values) = stack.get(..depth) else {
        return Err(RunError {
            pc,
            kind: RunErrorKind::BadResume(format!(
                "the trace deopted with a stack pointer {depth} slots up a {}-slot stack",
                stack.len()
            )),
        });
    };
    *stats.deopts.entry(pc).or_default() += 1;
    state.stack = values.to_vec();
    // `resume` checks the pc and that the depth is the verifier's.
    interp.resume(state, pc)
}
