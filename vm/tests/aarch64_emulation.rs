//! The aarch64 stencils, patched on this host for an address chosen here
//! and run under qemu-user, give the interpreter's results.

mod emulation;

use emulation::Guest;

use runtime::StencilTable;
use vm::interp::Interpreter;
use vm::jit::compile_ops;
use vm::{assemble, bind_args, Program, RunError, VmState};

fn table() -> &'static StencilTable {
    &generated::aarch64_unknown_linux_gnu::TABLE
}

fn program(name: &str, source: &str) -> Program {
    assemble(name, source, table().info).unwrap_or_else(|d| panic!("{d}"))
}

fn interpret(p: &Program, args: &[i64]) -> Result<i64, RunError> {
    let mut state = VmState::new(p, args).unwrap();
    Interpreter::new(p).run(&mut state)
}

/// Runs `p` under emulation and, after a deopt, finishes in the interpreter
/// on this host from the state the emulated trace left. Heap pointers on
/// the stack are moved from the emulated heap to the host's.
fn emulate(p: &Program, args: &[i64]) -> (Result<i64, RunError>, Option<usize>) {
    let mut state = VmState::new(p, args).unwrap();
    let ops = compile_ops(table(), p).unwrap();
    let stack_cap = p.layout.max_depth as usize;
    let reply = emulation::run(
        Guest::Aarch64,
        table(),
        &ops,
        &state.locals,
        &state.heap,
        stack_cap,
    );
    if reply.status == -1 {
        return (Ok(reply.result), None);
    }
    let pc = usize::try_from(reply.status).expect("status is -1 or a pc");
    let emu_heap = Guest::Aarch64.heap_base(state.locals.len()) as i64;
    let emu_end = emu_heap + 8 * (state.heap.len() as i64 + 1);
    let host_heap = state.heap.as_ptr() as i64;
    // A value in the emulated heap's address range is taken for a pointer:
    // the range is a 2^47-aligned window no computed integer lands in by chance.
    let moved = |values: Vec<i64>| -> Vec<i64> {
        values
            .into_iter()
            .map(|v| {
                if (emu_heap..emu_end).contains(&v) {
                    v - emu_heap + host_heap
                } else {
                    v
                }
            })
            .collect()
    };
    state.locals = moved(reply.locals);
    let heap = moved(reply.heap);
    state.heap.copy_from_slice(&heap);
    state.stack = moved(reply.stack);
    (Interpreter::new(p).resume(&mut state, pc), Some(pc))
}

fn program_file(name: &str) -> Program {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("programs/{name}.uasm"));
    program(name, &std::fs::read_to_string(path).unwrap())
}

#[test]
fn benchmark_programs_match_the_interpreter() {
    for (name, args) in [
        ("loop_sum", vec!["n=1000".to_string()]),
        ("fib", vec!["n=90".to_string()]),
        ("sieve", vec!["n=2000".to_string()]),
        ("collatz", vec!["n=300".to_string()]),
        ("nbody", vec!["steps=200".to_string()]),
        ("hash_mix", vec!["n=500".to_string()]),
    ] {
        let p = program_file(name);
        let args = bind_args(&p, &args).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = interpret(&p, &args);
        assert!(want.is_ok(), "{name}: {want:?}");
        let (got, deopt) = emulate(&p, &args);
        assert_eq!(got, want, "{name} (deopt at {deopt:?})");
    }
}

#[test]
fn a_deopt_resumes_in_the_interpreter_with_the_emulated_state() {
    let p = program_file("overflow");
    let args = bind_args(&p, &[]).unwrap();
    let (got, deopt) = emulate(&p, &args);
    assert!(deopt.is_some(), "the overflow program must deopt");
    assert_eq!(got, interpret(&p, &args));
}

#[test]
fn random_programs_match_the_interpreter() {
    let mut deopted = 0;
    for seed in 0..120 {
        let source = vm::gen::random_program(seed);
        let p = program("random.uasm", &source);
        let want = interpret(&p, &[]);
        let (got, deopt) = emulate(&p, &[]);
        assert_eq!(got, want, "seed {seed}, deopt at {deopt:?}:\n{source}");
        deopted += usize::from(deopt.is_some());
    }
    assert!(deopted > 5, "only {deopted} programs deopted");
}
