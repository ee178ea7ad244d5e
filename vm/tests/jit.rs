//! The JIT against the interpreter, on this machine's own stencil table:
//! every example program, uop edge cases that deopt, and random programs.
#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

mod common;

use common::{interp, load};
use runtime::StencilTable;
use vm::jit::{compile_ops, helper_symbols, host_table, CompiledProgram, RunStats};
use vm::{assemble, bind_args, Op, Program, RunError, RunErrorKind, VmState};

fn table() -> &'static StencilTable {
    host_table().expect("this host has a stencil table")
}

/// Runs `program` with the JIT.
fn jit(program: &Program, args: &[&str]) -> (Result<i64, RunError>, RunStats) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let values = bind_args(program, &args).unwrap();
    let mut state = VmState::new(program, &values).unwrap();
    let compiled = CompiledProgram::new(table(), program).unwrap_or_else(|e| panic!("{e}"));
    let mut stats = RunStats::default();
    let result = compiled.run(&mut state, &mut stats);
    (result, stats)
}

/// JIT and interpreter agree; returns the JIT's deopts.
fn same(program: &Program, args: &[&str]) -> RunStats {
    let (got, stats) = jit(program, args);
    let want = interp(program, args);
    assert_eq!(got, want, "{}", program.file);
    stats
}

#[test]
fn every_target_table_matches_the_interpreter() {
    for table in generated::TABLES {
        for op in Op::ALL {
            let id = table
                .uop_id(op.name())
                .unwrap_or_else(|| panic!("{}: no {}", table.target, op.name()));
            let info = &table.info[id as usize];
            assert_eq!(
                vm::uops::signature_mismatch(info, *op),
                None,
                "{}: {}",
                table.target,
                op.name()
            );
        }
        // Tables this host runs find their helpers, for their own calling
        // convention.
        if runtime::exec::host_arch() == Some(table.arch) && vm::EntryAbi::of(table).callable_here()
        {
            let symbols = helper_symbols(table).unwrap_or_else(|e| panic!("{}: {e}", table.target));
            assert_eq!(symbols.len(), table.symbols.len());
            assert!(symbols.iter().all(|&a| a != 0));
        }
    }
}

#[test]
fn compile_ops_maps_pcs() {
    let p = load("loop_sum");
    let ops = compile_ops(table(), &p).unwrap();
    assert_eq!(ops.len(), p.instrs.len());
    for (pc, (op, instr)) in ops.iter().zip(&p.instrs).enumerate() {
        assert_eq!(table().info[op.uop as usize].name, instr.op.name());
        let value = |name| op.values[table().op_value(name).unwrap()];
        assert_eq!(value("deopt_target"), pc as u64);
        assert_eq!(value("oparg"), u64::from(instr.oparg));
        assert_eq!(value("operand"), instr.operand);
        assert_eq!(op.jump_target, instr.target);
    }
    let body = p.label("body").unwrap();
    assert_eq!(ops[0].jump_target, p.label("test").unwrap());
    assert_eq!(ops.last().unwrap().uop, table().uop_id("return").unwrap());
    assert!(ops.iter().any(|op| op.jump_target == body));
}

#[test]
fn programs_match_the_interpreter_without_deopts() {
    let cases: &[(&str, &[&str])] = &[
        ("loop_sum", &["200000"]),
        ("fib", &["100000"]),
        ("sieve", &["100000"]),
        ("collatz", &["3000"]),
        ("hash_mix", &["100000"]),
        ("nbody", &["20000"]),
    ];
    for (name, args) in cases {
        let p = load(name);
        let stats = same(&p, args);
        assert!(stats.deopts.is_empty(), "{name}: {:?}", stats.deopts);
    }
    // Known answers straight from the JIT.
    assert_eq!(
        jit(&load("loop_sum"), &["200000"]).0,
        Ok(200000 * 199999 / 2)
    );
    assert_eq!(jit(&load("sieve"), &["10000"]).0, Ok(5736396));
}

#[test]
fn overflow_deopts_at_the_add_and_the_interpreter_finishes() {
    let p = load("overflow");
    let add = p.label("overflow").unwrap() as usize;
    assert_eq!(p.instrs[add].op, Op::AddI64);
    let (result, stats) = jit(&p, &["n=100000", "headroom=50"]);
    assert_eq!(result, Ok(i64::MIN + 49));
    assert_eq!(result, interp(&p, &["n=100000", "headroom=50"]));
    assert_eq!(stats.deopts.into_iter().collect::<Vec<_>>(), [(add, 1)]);
    // Without headroom the count ends exactly at i64::MAX: no deopt.
    let (result, stats) = jit(&p, &["n=1000", "headroom=0"]);
    assert_eq!(result, Ok(i64::MAX));
    assert_eq!(result, interp(&p, &["n=1000", "headroom=0"]));
    assert!(stats.deopts.is_empty());
}

/// Runs `body` on pushed inputs in both engines; returns the JIT's result
/// and the pcs it deopted at.
fn edge(inputs: &[i64], body: &str) -> (Result<i64, RunError>, Vec<usize>) {
    let mut source = String::from(".heap 4\n.locals 1\n");
    for v in inputs {
        source.push_str(&format!("push_i64 {v}\n"));
    }
    source.push_str(body);
    source.push_str("\nreturn\n");
    let p = assemble("edge.uasm", &source, common::uops()).unwrap_or_else(|d| panic!("{d}"));
    let (got, stats) = jit(&p, &[]);
    assert_eq!(got, interp(&p, &[]), "{body}");
    (got, stats.deopts.into_keys().collect())
}

#[test]
fn uops_deopt_where_the_interpreter_has_the_last_word() {
    let n = 2; // pc of the uop after two pushes
    assert_eq!(edge(&[i64::MAX, 1], "add_i64"), (Ok(i64::MIN), vec![n]));
    assert_eq!(edge(&[i64::MIN, 1], "sub_i64"), (Ok(i64::MAX), vec![n]));
    assert_eq!(edge(&[i64::MAX, 2], "mul_i64"), (Ok(-2), vec![n]));
    assert_eq!(edge(&[i64::MIN, -1], "div_i64"), (Ok(i64::MIN), vec![n]));
    assert_eq!(edge(&[i64::MIN, -1], "rem_i64"), (Ok(0), vec![n]));
    let div0 = Err(RunError {
        pc: n,
        kind: RunErrorKind::DivisionByZero,
    });
    assert_eq!(edge(&[1, 0], "div_i64"), (div0.clone(), vec![n]));
    assert_eq!(edge(&[1, 0], "rem_i64"), (div0, vec![n]));
    assert_eq!(edge(&[-3], "guard_nonneg"), (Ok(-3), vec![1]));
    assert_eq!(edge(&[3], "guard_nonneg"), (Ok(3), vec![]));
    assert_eq!(edge(&[], "push_f64 nan\nf64_to_i64"), (Ok(0), vec![1]));
    assert_eq!(
        edge(&[], "push_f64 1e19\nf64_to_i64"),
        (Ok(i64::MAX), vec![1])
    );
    assert_eq!(
        edge(&[], "push_f64 -9223372036854775808.0\nf64_to_i64"),
        (Ok(i64::MIN), vec![])
    );
    assert_eq!(edge(&[], "push_f64 -2.5\nf64_to_i64"), (Ok(-2), vec![]));
    let oob = |index, pc| {
        Err(RunError {
            pc,
            kind: RunErrorKind::HeapOutOfBounds { index, cells: 4 },
        })
    };
    assert_eq!(edge(&[4], "load_heap"), (oob(4, 1), vec![1]));
    assert_eq!(edge(&[-1], "load_heap"), (oob(-1, 1), vec![1]));
    assert_eq!(
        edge(&[7, 4], "store_heap\npush_small 0"),
        (oob(4, 2), vec![2])
    );
    assert_eq!(edge(&[5], "heap_ptr"), (oob(5, 1), vec![1]));
    assert_eq!(
        edge(&[4], "heap_ptr\npush_small 0\nload_ptr"),
        (oob(4, 3), vec![3])
    );
    assert_eq!(
        edge(&[1, 0], "heap_ptr\npush_i64 -1\nstore_ptr\npush_small 0"),
        (oob(-1, 4), vec![4])
    );
}

#[test]
fn uops_agree_without_deopts() {
    for (inputs, body, want) in [
        (&[6i64, 3][..], "and_i64", 2),
        (&[6, 3], "or_i64", 7),
        (&[6, 3], "xor_i64", 5),
        (&[1, 64], "shl_i64", 1),
        (&[i64::MIN, 63], "shr_i64", -1),
        (&[-1, 0], "lt_i64", 1),
        (&[0, 0], "le_i64", 1),
        (&[0, 0], "gt_i64", 0),
        (&[i64::MIN, i64::MAX], "ge_i64", 0),
        (&[5, 5], "eq_i64", 1),
        (&[5, 5], "ne_i64", 0),
        (&[i64::MIN], "neg_i64", i64::MIN),
        (
            &[i64::MAX],
            "add_imm 4294967295",
            i64::MAX.wrapping_add(4294967295),
        ),
        (&[2, 3], "swap\nsub_i64", 1),
        (&[2, 3], "over\nsub_i64\nmul_i64", 2),
        (&[2, 3], "drop", 2),
        (&[4], "dup\nmul_i64", 16),
        (&[9], "store_local 0\ninc_local 0\nload_local 0", 10),
        (&[], "push_small 4294967295", 4294967295),
        (&[1, 2], "hash_i64", vm::helpers::vm_hash(1, 2)),
        (
            &[-1, 0],
            "branch_if_lt yes\npush_small 0\nreturn\nyes: push_small 1",
            1,
        ),
        (
            &[0],
            "branch_if_zero yes\npush_small 0\nreturn\nyes: push_small 1",
            1,
        ),
        (
            &[0],
            "branch_if_nonzero yes\npush_small 0\nreturn\nyes: push_small 1",
            0,
        ),
        (
            &[9, 2],
            "store_heap\npush_small 2\nheap_ptr\npush_small 0\nload_ptr",
            9,
        ),
        (
            &[9, 4],
            "heap_ptr\npush_i64 -4\nstore_ptr\npush_small 0\nload_heap",
            9,
        ),
    ] {
        assert_eq!(edge(inputs, body), (Ok(want), vec![]), "{body}");
    }
    let float = |body: &str| edge(&[], body).0.map(|bits| f64::from_bits(bits as u64));
    assert_eq!(float("push_f64 0.1\npush_f64 0.2\nadd_f64"), Ok(0.1 + 0.2));
    assert_eq!(float("push_f64 0.1\npush_f64 0.2\nsub_f64"), Ok(0.1 - 0.2));
    assert_eq!(float("push_f64 0.1\npush_f64 3\nmul_f64"), Ok(0.1 * 3.0));
    assert_eq!(float("push_f64 1\npush_f64 3\ndiv_f64"), Ok(1.0 / 3.0));
    assert_eq!(float("push_f64 2\nsqrt_f64"), Ok(std::f64::consts::SQRT_2));
    assert_eq!(float("push_f64 2\nneg_f64"), Ok(-2.0));
    assert_eq!(float("push_i64 -7\ni64_to_f64"), Ok(-7.0));
    assert_eq!(edge(&[], "push_f64 nan\npush_f64 1\nlt_f64").0, Ok(0));
    assert_eq!(edge(&[], "push_f64 -1\npush_f64 1\nlt_f64").0, Ok(1));
}

#[test]
fn random_programs_match_the_interpreter() {
    let mut deopted = 0;
    let mut errors = 0;
    for seed in 0..500 {
        let source = vm::gen::random_program(seed);
        let p = assemble("random.uasm", &source, common::uops())
            .unwrap_or_else(|d| panic!("seed {seed}:\n{d}"));
        let (got, stats) = jit(&p, &[]);
        let want = interp(&p, &[]);
        assert_eq!(
            got, want,
            "seed {seed}, deopts {:?}:\n{source}",
            stats.deopts
        );
        deopted += usize::from(!stats.deopts.is_empty());
        errors += usize::from(want.is_err());
    }
    // The comparison covers trace exits as well as straight runs.
    assert!(deopted > 50, "only {deopted} programs deopted");
    assert!(deopted < 450, "{deopted} programs deopted");
    assert!(errors > 5, "only {errors} programs stopped with an error");
}
