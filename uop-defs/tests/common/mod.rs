//! An ABI for tests of uops: the reference VM's values and exits.

// Each test file that includes this module uses only part of it.
#![allow(dead_code)]

use std::path::Path;

use uop_defs::{parse, Abi};

/// The text of `defs/abi.uop` in tests that need a defs directory.
pub const ABI_SRC: &str = "\
abi {
    types {
#define FRAME frame
#define OPERAND_F64 ((double)OPERAND)
#define DEOPT_IF(c) do { if (c) DEOPT(); } while (0)
    }
    entry(vm_frame *frame, int64_t *sp) -> int64_t;
    arg frame: vm_frame * = frame;
    arg sp: int64_t * = sp;
    stack sp: int64_t;
    value oparg: u32 per_op;
    value operand: u64 per_op;
    value deopt_target: u64 per_op;
    exit DEOPT() keeps inputs uses deopt_target { frame->sp = sp; return (int64_t)DEOPT_TARGET; }
    exit RETURN(v) pops inputs { frame->result = (v); frame->sp = sp; return -1; }
}
";

/// The ABI of [`ABI_SRC`].
pub fn abi() -> Abi {
    match parse(Path::new("defs/abi.uop"), ABI_SRC) {
        Ok(file) => file.abi.expect("ABI_SRC has an abi item"),
        Err(e) => panic!("ABI_SRC has errors:\n{e}"),
    }
}
