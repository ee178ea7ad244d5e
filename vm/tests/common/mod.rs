//! Shared by the integration tests: loading programs and running them.
#![allow(dead_code)]

use std::path::PathBuf;

use runtime::UopInfo;
use vm::interp::Interpreter;
use vm::{assemble, bind_args, Program, RunError, VmState, UOPS};

/// The uop table programs are assembled against: the host's stencil table
/// when there is one, so everything that assembles also compiles.
pub fn uops() -> &'static [UopInfo] {
    vm::jit::host_table().map_or(UOPS, |t| t.info)
}

pub fn program_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("programs")
        .join(format!("{name}.uasm"))
}

/// Assembles a program of `vm/programs`.
pub fn load(name: &str) -> Program {
    let path = program_path(name);
    let source = std::fs::read_to_string(&path).unwrap();
    assemble(&format!("{name}.uasm"), &source, uops()).unwrap_or_else(|d| panic!("{d}"))
}

/// Assembles source text, panicking with the diagnostics on failure.
pub fn asm(source: &str) -> Program {
    assemble("test.uasm", source, UOPS).unwrap_or_else(|d| panic!("{d}"))
}

/// The diagnostics of source text that must not assemble.
pub fn asm_err(source: &str) -> String {
    match assemble("test.uasm", source, UOPS) {
        Ok(_) => panic!("assembled:\n{source}"),
        Err(d) => d.to_string(),
    }
}

/// Runs `program` in the interpreter with `NAME=VALUE`/positional args.
pub fn interp(program: &Program, args: &[&str]) -> Result<i64, RunError> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let values = bind_args(program, &args).unwrap();
    let mut state = VmState::new(program, &values).unwrap();
    Interpreter::new(program).run(&mut state)
}
