//! Every stencil table in `generated::TABLES`, patched at a chosen base
//! address and run with its target's calling convention, gives the
//! interpreter's results: x86-64 tables natively in this process (System V
//! or Windows x64), the others under qemu-user through the freestanding
//! harness (AAPCS64, RISC-V LP64D, i686 cdecl). After a deopt the
//! interpreter resumes from the state the trace left. A table no runner can
//! execute fails every test, by name.

mod emulation;

use std::collections::BTreeSet;

use emulation::{Guest, Harness};
use runtime::exec::host_arch;
use runtime::StencilTable;
use vm::jit::{compile_ops, finish, CompiledProgram, RunStats};
use vm::{assemble, bind_args, EntryAbi, Interpreter, Op, Program, RunError, VmState};

/// How a table's code runs on this host.
enum Runner {
    /// In this process, through the VM's JIT, called with this convention.
    Native(EntryAbi),
    /// Under qemu-user.
    Emulated(&'static Harness),
}

impl Runner {
    fn for_table(table: &StencilTable) -> Result<Runner, String> {
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

    fn describe(&self) -> String {
        match self {
            Runner::Native(abi) => format!("native, {abi:?} convention"),
            Runner::Emulated(h) => format!("{} with the {:?} harness", h.guest.qemu(), h.guest),
        }
    }
}

/// One program with its arguments.
struct Case {
    label: String,
    program: Program,
    args: Vec<i64>,
}

/// What running a case gave: the result (after resuming in the
/// interpreter if the trace deopted) and the pcs it deopted at.
#[derive(Debug)]
struct Outcome {
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

/// Runs `check` on every table with its runner; fails with every failure
/// of every table, each line naming the target.
fn on_every_table(mut check: impl FnMut(&StencilTable, &Runner) -> Vec<String>) {
    assert!(!generated::TABLES.is_empty(), "no stencil tables");
    let mut failures = Vec::new();
    for table in generated::TABLES {
        let found = match Runner::for_table(table) {
            Ok(runner) => check(table, &runner),
            Err(e) => vec![e],
        };
        failures.extend(found.into_iter().map(|f| format!("{}: {f}", table.target)));
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs the cases on the table and compares each with the interpreter;
/// returns the failures (by case index) and the outcomes.
fn compare(
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

fn assemble_for(table: &StencilTable, name: &str, source: &str) -> Result<Program, String> {
    assemble(name, source, table.info).map_err(|d| d.to_string())
}

fn program_case(table: &StencilTable, name: &str, args: &[&str]) -> Result<Case, String> {
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

#[test]
fn every_table_has_a_runner() {
    let mut seen = BTreeSet::new();
    on_every_table(|table, runner| {
        println!("{}: {}", table.target, runner.describe());
        if seen.insert(table.target) {
            vec![]
        } else {
            vec!["two tables for one target".to_string()]
        }
    });
}

#[test]
fn benchmark_programs_match_the_interpreter_on_every_target() {
    on_every_table(|table, runner| {
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
    });
}

#[test]
fn a_deopt_resumes_in_the_interpreter_on_every_target() {
    on_every_table(|table, runner| {
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
    });
}

#[test]
fn random_programs_match_the_interpreter_on_every_target() {
    const SEEDS: u64 = 100;
    on_every_table(|table, runner| {
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
                let at = ops.iter().rposition(|op| {
                    op.values[table.op_value("deopt_target").unwrap()] == pc as u64
                });
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
    });
}

/// A small program around one uop: push `inputs`, run `body`, return the
/// top of the stack; the JIT deopts at exactly `deopts`.
struct Edge {
    uop: &'static str,
    inputs: &'static [i64],
    body: &'static str,
    deopts: &'static [usize],
}

const fn edge(
    uop: &'static str,
    inputs: &'static [i64],
    body: &'static str,
    deopts: &'static [usize],
) -> Edge {
    Edge {
        uop,
        inputs,
        body,
        deopts,
    }
}

const MIN: i64 = i64::MIN;
const MAX: i64 = i64::MAX;

/// Each uop on ordinary values and on the edges where 32-bit code splits
/// words, where the JIT deopts and where the interpreter has the last word.
/// Deopt pcs count the pushes of the inputs.
const EDGES: &[Edge] = &[
    edge("nop", &[], "nop\npush_small 3", &[]),
    edge("push_i64", &[MIN], "", &[]),
    edge("push_i64", &[-2], "", &[]),
    edge("push_small", &[], "push_small 4294967295", &[]),
    edge("push_f64", &[], "push_f64 -1.5e300", &[]),
    edge("dup", &[4], "dup\nmul_i64", &[]),
    edge("drop", &[2, 3], "drop", &[]),
    edge("swap", &[2, 3], "swap\nsub_i64", &[]),
    edge("over", &[2, 3], "over\nsub_i64\nmul_i64", &[]),
    edge("load_local", &[9], "store_local 0\ninc_local 0\nload_local 0", &[]),
    edge("inc_local", &[MAX], "store_local 0\ninc_local 0\nload_local 0", &[]),
    // With three values above: the locals base stays in its register
    // while the cache is full.
    edge("load_local", &[1, 2, 3], "load_local 0\nadd_i64\nadd_i64\nadd_i64", &[]),
    edge("inc_local", &[1, 2, 3], "inc_local 0\nadd_i64\nadd_i64", &[]),
    edge("add_i64", &[1 << 32, -1], "add_i64", &[]),
    edge("add_i64", &[MAX, 1], "add_i64", &[2]),
    edge("sub_i64", &[5, 1 << 33], "sub_i64", &[]),
    edge("sub_i64", &[MIN, 1], "sub_i64", &[2]),
    edge("mul_i64", &[-3, 1 << 40], "mul_i64", &[]),
    edge("mul_i64", &[MAX, 2], "mul_i64", &[2]),
    edge("mul_i64", &[MIN, -1], "mul_i64", &[2]),
    edge("div_i64", &[-7, 2], "div_i64", &[]),
    edge("div_i64", &[MAX, (1 << 33) + 1], "div_i64", &[]),
    edge("div_i64", &[MIN, 3], "div_i64", &[]),
    edge("div_i64", &[MIN, -1], "div_i64", &[2]),
    edge("div_i64", &[1, 0], "div_i64", &[2]),
    edge("rem_i64", &[-7, 2], "rem_i64", &[]),
    edge("rem_i64", &[7, -2], "rem_i64", &[]),
    edge("rem_i64", &[MAX, (1 << 33) + 1], "rem_i64", &[]),
    edge("rem_i64", &[MIN, 3], "rem_i64", &[]),
    edge("rem_i64", &[MIN, -1], "rem_i64", &[2]),
    edge("rem_i64", &[1, 0], "rem_i64", &[2]),
    edge("neg_i64", &[MIN], "neg_i64", &[]),
    edge("neg_i64", &[1 << 32], "neg_i64", &[]),
    edge("add_imm", &[MAX], "add_imm 4294967295", &[]),
    edge("add_imm", &[-1], "add_imm 1", &[]),
    edge("and_i64", &[-1 << 31, 0x1_ffff_ffff], "and_i64", &[]),
    edge("or_i64", &[1 << 40, 6], "or_i64", &[]),
    edge("xor_i64", &[-1, 0x0f0f_0000_0000], "xor_i64", &[]),
    edge("shl_i64", &[1, 64], "shl_i64", &[]),
    edge("shl_i64", &[3, 35], "shl_i64", &[]),
    edge("shl_i64", &[1, 63], "shl_i64", &[]),
    edge("shr_i64", &[MIN, 63], "shr_i64", &[]),
    edge("shr_i64", &[-1 << 40, 35], "shr_i64", &[]),
    edge("shr_i64", &[5, -1], "shr_i64", &[]),
    edge("lt_i64", &[-1, 0], "lt_i64", &[]),
    edge("lt_i64", &[1 << 32, 1], "lt_i64", &[]),
    edge("le_i64", &[0, 0], "le_i64", &[]),
    edge("gt_i64", &[1 << 32, 1], "gt_i64", &[]),
    edge("ge_i64", &[MIN, MAX], "ge_i64", &[]),
    edge("eq_i64", &[5, 5], "eq_i64", &[]),
    edge("eq_i64", &[1 << 32, 0], "eq_i64", &[]),
    edge("ne_i64", &[1 << 32, 0], "ne_i64", &[]),
    edge("ne_i64", &[5, 5], "ne_i64", &[]),
    edge("hash_i64", &[1, 2], "hash_i64", &[]),
    edge("hash_i64", &[-1, 1 << 40], "hash_i64", &[]),
    edge("guard_nonneg", &[-3], "guard_nonneg", &[1]),
    edge("guard_nonneg", &[3], "guard_nonneg", &[]),
    edge("add_f64", &[], "push_f64 0.1\npush_f64 0.2\nadd_f64", &[]),
    edge("sub_f64", &[], "push_f64 0.1\npush_f64 0.2\nsub_f64", &[]),
    edge("mul_f64", &[], "push_f64 0.1\npush_f64 3\nmul_f64", &[]),
    edge("div_f64", &[], "push_f64 1\npush_f64 3\ndiv_f64", &[]),
    edge("div_f64", &[], "push_f64 1\npush_f64 0\ndiv_f64", &[]),
    edge("neg_f64", &[], "push_f64 0\nneg_f64", &[]),
    edge("lt_f64", &[], "push_f64 nan\npush_f64 1\nlt_f64", &[]),
    edge("lt_f64", &[], "push_f64 -1\npush_f64 1\nlt_f64", &[]),
    edge("i64_to_f64", &[-7], "i64_to_f64", &[]),
    edge("i64_to_f64", &[MAX], "i64_to_f64", &[]),
    edge("i64_to_f64", &[(1 << 53) + 1], "i64_to_f64", &[]),
    edge("f64_to_i64", &[], "push_f64 nan\nf64_to_i64", &[1]),
    edge("f64_to_i64", &[], "push_f64 1e19\nf64_to_i64", &[1]),
    edge("f64_to_i64", &[], "push_f64 -1e19\nf64_to_i64", &[1]),
    edge("f64_to_i64", &[], "push_f64 -9223372036854775808.0\nf64_to_i64", &[]),
    edge("f64_to_i64", &[], "push_f64 -2.5\nf64_to_i64", &[]),
    edge("f64_to_i64", &[], "push_f64 1e18\nf64_to_i64", &[]),
    edge("sqrt_f64", &[], "push_f64 2\nsqrt_f64", &[]),
    edge("sqrt_f64", &[], "push_f64 -0.0\nsqrt_f64", &[]),
    edge("sqrt_f64", &[], "push_f64 1e-300\nsqrt_f64", &[]),
    edge("jump", &[], "jump over\npush_small 1\nreturn\nover: push_small 2", &[]),
    edge("branch_if_zero", &[0], "branch_if_zero yes\npush_small 0\nreturn\nyes: push_small 1", &[]),
    edge("branch_if_zero", &[1 << 32], "branch_if_zero yes\npush_small 0\nreturn\nyes: push_small 1", &[]),
    edge("branch_if_nonzero", &[0], "branch_if_nonzero yes\npush_small 0\nreturn\nyes: push_small 1", &[]),
    edge("branch_if_nonzero", &[1 << 32], "branch_if_nonzero yes\npush_small 0\nreturn\nyes: push_small 1", &[]),
    edge("branch_if_lt", &[-1, 0], "branch_if_lt yes\npush_small 0\nreturn\nyes: push_small 1", &[]),
    edge("branch_if_lt", &[1 << 32, 1], "branch_if_lt yes\npush_small 0\nreturn\nyes: push_small 1", &[]),
    edge("return", &[MIN + 1], "", &[]),
    edge("load_heap", &[7, 3], "store_heap\npush_small 3\nload_heap", &[]),
    edge("load_heap", &[4], "load_heap", &[1]),
    edge("load_heap", &[-1], "load_heap", &[1]),
    edge("store_heap", &[7, 4], "store_heap\npush_small 0", &[2]),
    edge("store_heap", &[7, 1 << 32], "store_heap\npush_small 0", &[2]),
    edge("heap_ptr", &[5], "heap_ptr", &[1]),
    edge("heap_ptr", &[4], "heap_ptr\npush_i64 -1\nload_ptr", &[]),
    edge("load_ptr", &[9, 2], "store_heap\npush_small 2\nheap_ptr\npush_small 0\nload_ptr", &[]),
    edge("load_ptr", &[4], "heap_ptr\npush_small 0\nload_ptr", &[3]),
    edge("store_ptr", &[9, 4], "heap_ptr\npush_i64 -4\nstore_ptr\npush_small 0\nload_heap", &[]),
    edge("store_ptr", &[1, 0], "heap_ptr\npush_i64 -1\nstore_ptr\npush_small 0", &[4]),
    // A deopt with heap pointers on the stack and in a local: the
    // interpreter goes on with them after they moved to the host's heap.
    edge(
        "heap_ptr",
        &[9, 3],
        "store_heap\npush_small 2\nheap_ptr\ndup\nstore_local 0\npush_i64 9223372036854775807\npush_small 1\nadd_i64\ndrop\npush_small 1\nload_ptr\nload_local 0\npush_small 1\nload_ptr\nadd_i64",
        &[9],
    ),
];

fn edge_case(table: &StencilTable, edge: &Edge) -> Result<Case, String> {
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

#[test]
fn the_edge_cases_exercise_every_uop() {
    let table = generated::TABLES[0];
    let mut used = BTreeSet::new();
    for e in EDGES {
        let case = edge_case(table, e).unwrap_or_else(|err| panic!("{}: {err}", e.uop));
        assert!(
            case.program.instrs.iter().any(|i| i.op.name() == e.uop),
            "{}: the program does not use its uop",
            case.label
        );
        used.extend(case.program.instrs.iter().map(|i| i.op));
    }
    let missing: Vec<&str> = Op::ALL
        .iter()
        .filter(|op| !used.contains(op))
        .map(|op| op.name())
        .collect();
    assert!(missing.is_empty(), "uops with no edge case: {missing:?}");
}

#[test]
fn every_uop_matches_the_interpreter_on_every_target() {
    on_every_table(|table, runner| {
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
    });
}

#[test]
fn a_crashing_trace_fails_alone_and_the_batch_goes_on() {
    let table = generated::table("aarch64-unknown-linux-gnu").unwrap();
    let harness = emulation::harness(Guest::Aarch64).unwrap_or_else(|e| panic!("{e}"));
    let program = assemble_for(table, "t.uasm", "push_small 7\nreturn\n").unwrap();
    let ops = compile_ops(table, &program).unwrap();
    let good = || harness.request(table, &ops, &[], &[], 1).unwrap();
    // All-zero words are permanently undefined instructions on aarch64.
    let crash = emulation::Request::from_code(vec![0; 64], &[], &[], 1);
    let replies = harness.run(&[good(), crash, good(), good()]);
    assert_eq!(replies.len(), 4);
    for i in [0, 2, 3] {
        let reply = replies[i].as_ref().unwrap_or_else(|e| panic!("{i}: {e}"));
        assert_eq!((reply.status, reply.result), (-1, 7), "{i}");
    }
    let error = replies[1].as_ref().unwrap_err();
    assert!(error.contains("signal"), "{error}");
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

#[test]
fn every_variant_of_every_uop_matches_the_interpreter_on_every_target() {
    on_every_table(|table, runner| {
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
    });
}
