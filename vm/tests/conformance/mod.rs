//! The execution checks every stencil table gets: a table patched at a
//! chosen base address and run with its target's calling convention gives
//! the interpreter's results: x86-64 tables natively in this process
//! (System V or Windows x64), the others under qemu-user through the
//! freestanding harness (AAPCS64, RISC-V LP64D, i686 cdecl). After a deopt
//! the interpreter resumes from the state the trace left.
//!
//! Each check takes one table and its runner and returns its failures,
//! one line each; [`CHECKS`] lists them. `targets.rs` runs them on the
//! committed tables, `llvm_matrix.rs` on tables other LLVM versions built.

#![allow(dead_code)]

use std::collections::BTreeSet;

mod edges;

pub use edges::{Edge, EDGES};

use crate::emulation::{self, Guest, Harness};
use runtime::exec::host_arch;
use runtime::StencilTable;
use vm::jit::{compile_ops, finish, CompiledProgram, RunStats};
use vm::{assemble, bind_args, EntryAbi, Interpreter, Op, Program, RunError, VmState};

/// A check: its name, as the matrix shows it, and the function.
pub type Check = (&'static str, fn(&StencilTable, &Runner) -> Vec<String>);

/// Every check, in the order they are run and reported.
pub const CHECKS: &[Check] = &[
    ("benchmark programs", benchmark_programs),
    ("deopt resumes", deopt_resumes),
    ("random programs", random_programs),
    ("every uop", every_uop),
    ("every variant", every_variant),
];

/// How a table's code runs on this host.
pub enum Runner {
    /// In this process, through the VM's JIT, called with this convention.
    Native(EntryAbi),
    /// Under qemu-user.
    Emulated(&'static Harness),
}

impl Runner {
    pub fn for_table(table: &StencilTable) -> Result<Runner, String> {
        let abi = EntryAbi::of(table);
        if host_arch() == Some(table.arch) && abi.callable_here() {
            return Ok(Runner::Native(abi));
        }
        match Guest::for_arch(table.arch) {
            Some(guest) => emulation::harness(guest).map(Runner::Emulated),
            None => Err(format!(
                "no runner for {:?} code with the {abi:?} convention on this host ({:?})",
                table.arch,
                host_arch()
            )),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Runner::Native(abi) => format!("native, {abi:?} convention"),
            Runner::Emulated(h) => format!("{} with the {:?} harness", h.guest.qemu(), h.guest),
        }
    }
}

/// One program with its arguments.
pub struct Case {
    pub label: String,
    pub program: Program,
    pub args: Vec<i64>,
}

/// What running a case gave: the result (after resuming in the
/// interpreter if the trace deopted) and the pcs it deopted at.
#[derive(Debug)]
pub struct Outcome {
    result: Result<i64, RunError>,
    deopts: Vec<usize>,
}

fn run_native(table: &StencilTable, case: &Case) -> Result<Outcome, String> {
    let compiled = CompiledProgram::new(table, &case.program).map_err(|e| e.to_string())?;
    let mut state = VmState::new(&case.program, &case.args)?;
    let mut stats = RunStats::default();
    let result = compiled.run(&mut state, &mut stats);
    Ok(Outcome {
        result,
        deopts: stats.deopts.into_keys().collect(),
    })
}

/// Runs every case in one batch under emulation, then finishes each in the
/// interpreter on this host. Heap pointers in the state the trace left are
/// moved from the emulated heap to the host's.
fn run_emulated(
    table: &StencilTable,
    harness: &Harness,
    cases: &[Case],
) -> Vec<Result<Outcome, String>> {
    let mut requests = Vec::new();
    let prepared: Vec<Result<VmState, String>> = cases
        .iter()
        .map(|case| {
            let state = VmState::new(&case.program, &case.args)?;
            let ops = compile_ops(table, &case.program).map_err(|e| e.to_string())?;
            let max_depth = case.program.layout.max_depth as usize;
            requests.push(harness.request(table, &ops, &state.locals, &state.heap, max_depth)?);
            Ok(state)
        })
        .collect();
    // Replies come in request order; cases that made no request have none.
    let mut replies = harness.run(&requests).into_iter();
    let guest = harness.guest;
    cases
        .iter()
        .zip(prepared)
        .map(|(case, state)| {
            let mut state = state?;
            let reply = replies.next().expect("one reply per request")?;
            let host_heap = state.heap.as_ptr() as u64;
            let (n_locals, heap_len) = (state.locals.len(), state.heap.len());
            let moved = |values: &[i64]| -> Vec<i64> {
                values
                    .iter()
                    .map(|&v| guest.to_host_pointer(v, n_locals, heap_len, host_heap))
                    .collect()
            };
            state.locals = moved(&reply.locals);
            state.heap.copy_from_slice(&moved(&reply.heap));
            let stack = moved(&reply.stack);
            let mut stats = RunStats::default();
            let result = finish(
                &Interpreter::new(&case.program),
                &mut state,
                reply.status,
                reply.result,
                &stack,
                stack.len(),
                &mut stats,
            );
            Ok(Outcome {
                result,
                deopts: stats.deopts.into_keys().collect(),
            })
        })
        .collect()
}

fn run_cases(
    table: &StencilTable,
    runner: &Runner,
    cases: &[Case],
) -> Vec<Result<Outcome, String>> {
    match runner {
        Runner::Native(_) => cases.iter().map(|case| run_native(table, case)).collect(),
        Runner::Emulated(harness) => run_emulated(table, harness, cases),
    }
}

fn interpret(case: &Case) -> Result<i64, RunError> {
    let mut state = VmState::new(&case.program, &case.args).unwrap();
    Interpreter::new(&case.program).run(&mut state)
}

/// Runs the cases on the table and compares each with the interpreter;
/// returns the failures (by case index) and the outcomes.
pub fn compare(
    table: &StencilTable,
    runner: &Runner,
    cases: &[Case],
) -> (Vec<(usize, String)>, Vec<Option<Outcome>>) {
    let mut failures = Vec::new();
    let mut outcomes = Vec::new();
    for (i, (case, outcome)) in cases
        .iter()
        .zip(run_cases(table, runner, cases))
        .enumerate()
    {
        match outcome {
            Ok(outcome) => {
                let want = interpret(case);
                if outcome.result != want {
                    failures.push((
                        i,
                        format!(
                            "{}: got {:?} (deopts at {:?}), the interpreter gives {want:?}",
                            case.label, outcome.result, outcome.deopts
                        ),
                    ));
                }
                outcomes.push(Some(outcome));
            }
            Err(e) => {
                failures.push((i, format!("{}: {e}", case.label)));
                outcomes.push(None);
            }
        }
    }
    (failures, outcomes)
}

pub fn assemble_for(table: &StencilTable, name: &str, source: &str) -> Result<Program, String> {
    assemble(name, source, table.info).map_err(|d| d.to_string())
}

pub fn program_case(table: &StencilTable, name: &str, args: &[&str]) -> Result<Case, String> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("programs/{name}.uasm"));
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let program = assemble_for(table, &format!("{name}.uasm"), &source)?;
    let items: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let args = bind_args(&program, &items)?;
    Ok(Case {
        label: format!("{name} {}", items.join(" ")),
        program,
        args,
    })
}

/// The benchmark programs of `vm/programs`, none of which may deopt.
pub fn benchmark_programs(table: &StencilTable, runner: &Runner) -> Vec<String> {
    let mut failures = Vec::new();
    let mut cases = Vec::new();
    for (name, args) in [
        ("loop_sum", &["n=1000"][..]),
        ("fib", &["n=90"]),
        ("sieve", &["n=2000"]),
        ("collatz", &["n=300"]),
        ("nbody", &["steps=200"]),
        ("hash_mix", &["n=500"]),
    ] {
        match program_case(table, name, args) {
            Ok(case) => cases.push(case),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    let (found, outcomes) = compare(table, runner, &cases);
    failures.extend(found.into_iter().map(|(_, f)| f));
    for (case, outcome) in cases.iter().zip(outcomes) {
        if let Some(outcome) = outcome.filter(|o| !o.deopts.is_empty()) {
            failures.push(format!(
                "{}: deopted at {:?}, a benchmark never should",
                case.label, outcome.deopts
            ));
        }
    }
    failures
}

/// A checked add that overflows deopts there, and the interpreter finishes.
pub fn deopt_resumes(table: &StencilTable, runner: &Runner) -> Vec<String> {
    let case = match program_case(table, "overflow", &["n=100000", "headroom=50"]) {
        Ok(case) => case,
        Err(e) => return vec![e],
    };
    let add = case.program.label("overflow").unwrap() as usize;
    let (found, outcomes) = compare(table, runner, std::slice::from_ref(&case));
    let mut failures: Vec<String> = found.into_iter().map(|(_, f)| f).collect();
    if let Some(Some(outcome)) = outcomes.first() {
        if outcome.deopts != [add] {
            failures.push(format!(
                "{}: deopted at {:?}, expected at the add, pc {add}",
                case.label, outcome.deopts
            ));
        }
        if outcome.result != Ok(i64::MIN + 49) {
            failures.push(format!("{}: got {:?}", case.label, outcome.result));
        }
    }
    failures
}

/// Random programs, which must deopt often enough and from every cache
/// state.
pub fn random_programs(table: &StencilTable, runner: &Runner) -> Vec<String> {
    const SEEDS: u64 = 100;
    let mut failures = Vec::new();
    let mut cases = Vec::new();
    let mut sources = Vec::new();
    for seed in 0..SEEDS {
        let source = vm::gen::random_program(seed);
        match assemble_for(table, "random.uasm", &source) {
            Ok(program) => {
                cases.push(Case {
                    label: format!("random program, seed {seed}"),
                    program,
                    args: vec![],
                });
                sources.push(source);
            }
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
    }
    let (found, outcomes) = compare(table, runner, &cases);
    // The sources of the first few failing programs, to reproduce them.
    for (n, (i, failure)) in found.into_iter().enumerate() {
        if n < 3 {
            failures.push(format!("{failure}\n{}", sources[i]));
        } else {
            failures.push(failure);
        }
    }
    let deopted = outcomes
        .iter()
        .flatten()
        .filter(|o| !o.deopts.is_empty())
        .count();
    let errors = outcomes
        .iter()
        .flatten()
        .filter(|o| o.result.is_err())
        .count();
    println!(
        "{}: {} random programs, {deopted} deopted, {errors} stopped with an error",
        table.target,
        cases.len()
    );
    if deopted < 5 {
        failures.push(format!(
            "only {deopted} of {SEEDS} random programs deopted: the resume path is barely tested"
        ));
    }
    // Every cache state, and deopts from ops entered in every state.
    let mut states = BTreeSet::new();
    let mut deopt_states = BTreeSet::new();
    for (case, outcome) in cases.iter().zip(&outcomes) {
        let Ok(ops) = compile_ops(table, &case.program) else {
            continue;
        };
        states.extend(ops.iter().map(|op| op.variant));
        let deopts = outcome.as_ref().map_or(&[][..], |o| &o.deopts[..]);
        for &pc in deopts {
            // The op of `pc` (after any spill before it).
            let at = ops
                .iter()
                .rposition(|op| op.values[table.op_value("deopt_target").unwrap()] == pc as u64);
            deopt_states.extend(at.map(|i| ops[i].variant));
        }
    }
    let all: BTreeSet<u8> = (0..=table.cache).collect();
    if states != all {
        failures.push(format!(
            "random programs ran in cache states {states:?} only"
        ));
    }
    if deopt_states.len() < all.len().min(2) {
        failures.push(format!(
            "random programs deopted from cache states {deopt_states:?} only"
        ));
    }
    failures
}

pub fn edge_case(table: &StencilTable, edge: &Edge) -> Result<Case, String> {
    let mut source = String::from(".heap 4\n.locals 1\n");
    for v in edge.inputs {
        source.push_str(&format!("push_i64 {v}\n"));
    }
    source.push_str(edge.body);
    source.push_str("\nreturn\n");
    let program = assemble_for(table, "edge.uasm", &source)?;
    Ok(Case {
        label: format!(
            "uop `{}` on {:?}: `{}`",
            edge.uop,
            edge.inputs,
            edge.body.replace('\n', "; ")
        ),
        program,
        args: vec![],
    })
}

/// One small program per uop (`EDGES`), deopting exactly where expected.
pub fn every_uop(table: &StencilTable, runner: &Runner) -> Vec<String> {
    let mut failures = Vec::new();
    let mut cases = Vec::new();
    let mut edges = Vec::new();
    for e in EDGES {
        match edge_case(table, e) {
            Ok(case) => {
                cases.push(case);
                edges.push(e);
            }
            Err(err) => failures.push(format!("uop `{}`: {err}", e.uop)),
        }
    }
    let (found, outcomes) = compare(table, runner, &cases);
    failures.extend(found.into_iter().map(|(_, f)| f));
    for ((case, e), outcome) in cases.iter().zip(edges).zip(outcomes) {
        if let Some(outcome) = outcome.filter(|o| o.deopts != e.deopts) {
            failures.push(format!(
                "{}: deopted at {:?}, expected at {:?}",
                case.label, outcome.deopts, e.deopts
            ));
        }
    }
    failures
}

/// The lines of `edge`'s program before its uop (`pad` pushes below its
/// inputs, the inputs, the body up to the uop) and from the uop on.
fn variant_lines(edge: &Edge, pad: usize) -> (Vec<String>, Vec<String>) {
    let mut before: Vec<String> = std::iter::repeat_n(7, pad)
        .chain(edge.inputs.iter().copied())
        .map(|v| format!("push_i64 {v}"))
        .collect();
    let body: Vec<&str> = edge.body.lines().collect();
    let at = body
        .iter()
        .position(|l| l.split_whitespace().next() == Some(edge.uop))
        .unwrap_or(0);
    before.extend(body[..at].iter().map(|l| l.to_string()));
    (before, body[at..].iter().map(|l| l.to_string()).collect())
}

/// `edge` with `pad` values pushed below its inputs and a jump target
/// after the first `reset` lines before its uop: the uop and the ops
/// before it run with fewer or more values in registers, so the cases of
/// one edge reach every variant. The expected deopts move by the pushes
/// and the jump.
fn variant_case(
    table: &StencilTable,
    edge: &Edge,
    pad: usize,
    reset: usize,
) -> Result<(Case, Vec<usize>), String> {
    let (before, from_uop) = variant_lines(edge, pad);
    let mut source = String::from(".heap 4\n.locals 1\n");
    for (j, line) in before.iter().enumerate() {
        if j == reset {
            source.push_str("jump reset\nreset:\n");
        }
        source.push_str(line);
        source.push('\n');
    }
    if reset == before.len() {
        source.push_str("jump reset\nreset:\n");
    }
    for line in from_uop {
        source.push_str(&line);
        source.push('\n');
    }
    source.push_str("return\n");
    let program = assemble_for(table, "variant.uasm", &source)?;
    let case = Case {
        label: format!(
            "uop `{}` on {:?} over {pad} values, jump target after {reset} lines: `{}`",
            edge.uop,
            edge.inputs,
            edge.body.replace('\n', "; ")
        ),
        program,
        args: vec![],
    };
    Ok((case, edge.deopts.iter().map(|pc| pc + pad + 1).collect()))
}

/// The (uop, variant) pairs the trace compiler may pick: every variant
/// but those of a jump or branch entered with more values in registers
/// than it pops, as the stack is all in memory at a jump target.
fn pickable(table: &StencilTable) -> BTreeSet<(String, u8)> {
    let mut pairs = BTreeSet::new();
    for op in Op::ALL {
        let info = op.info();
        for k in 0..=table.cache {
            if !info.uses_value("jump_target") || usize::from(k) <= info.inputs.len() {
                pairs.insert((op.name().to_string(), k));
            }
        }
    }
    for k in 1..=table.cache {
        pairs.insert((runtime::CACHE_SPILL.to_string(), k));
    }
    pairs
}

/// The edge cases entered in every cache state: every variant the trace
/// compiler may pick runs.
pub fn every_variant(table: &StencilTable, runner: &Runner) -> Vec<String> {
    let mut failures = Vec::new();
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    let pad = usize::from(table.cache);
    for e in EDGES {
        for reset in 0..=variant_lines(e, pad).0.len() {
            match variant_case(table, e, pad, reset) {
                Ok((case, deopts)) => {
                    cases.push(case);
                    expected.push(deopts);
                }
                Err(err) => failures.push(format!("uop `{}`: {err}", e.uop)),
            }
        }
    }
    // Which variants the cases run.
    let mut ran = BTreeSet::new();
    for case in &cases {
        match compile_ops(table, &case.program) {
            Ok(ops) => ran.extend(
                ops.iter()
                    .map(|op| (table.info[op.uop as usize].name.to_string(), op.variant)),
            ),
            Err(e) => failures.push(format!("{}: {e}", case.label)),
        }
    }
    let missing: Vec<_> = pickable(table).difference(&ran).cloned().collect();
    if !missing.is_empty() {
        failures.push(format!("variants no case runs: {missing:?}"));
    }
    let (found, outcomes) = compare(table, runner, &cases);
    failures.extend(found.into_iter().map(|(_, f)| f));
    for ((case, deopts), outcome) in cases.iter().zip(&expected).zip(outcomes) {
        if let Some(outcome) = outcome.filter(|o| &o.deopts != deopts) {
            failures.push(format!(
                "{}: deopted at {:?}, expected at {:?}",
                case.label, outcome.deopts, deopts
            ));
        }
    }
    failures
}
