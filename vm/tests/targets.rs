//! Every stencil table in `generated::TABLES`, patched at a chosen base
//! address and run with its target's calling convention, gives the
//! interpreter's results: x86-64 tables natively in this process (System V
//! or Windows x64), the others under qemu-user through the freestanding
//! harness (AAPCS64, RISC-V LP64D, i686 cdecl). After a deopt the
//! interpreter resumes from the state the trace left. A table no runner can
//! execute fails every test, by name. The checks are in `conformance`,
//! which the LLVM matrix runs on the tables of other LLVM versions.

mod conformance;
mod emulation;

use std::collections::BTreeSet;

use conformance::{assemble_for, edge_case, Runner, EDGES};
use emulation::Guest;
use runtime::StencilTable;
use vm::jit::compile_ops;
use vm::Op;

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
    on_every_table(conformance::benchmark_programs);
}

#[test]
fn a_deopt_resumes_in_the_interpreter_on_every_target() {
    on_every_table(conformance::deopt_resumes);
}

#[test]
fn random_programs_match_the_interpreter_on_every_target() {
    on_every_table(conformance::random_programs);
}

#[test]
fn every_uop_matches_the_interpreter_on_every_target() {
    on_every_table(conformance::every_uop);
}

#[test]
fn every_variant_of_every_uop_matches_the_interpreter_on_every_target() {
    on_every_table(conformance::every_variant);
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
