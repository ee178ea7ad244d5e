//! The verifier: stack depths, merges, locals, targets and the end of the
//! program.

mod common;

use common::{asm, asm_err};
use vm::program::Instr;
use vm::verify::{verify, VerifyError};
use vm::Op;

#[test]
fn depth_per_pc_and_maximum() {
    let p = asm("\
.local i
top:
    load_local i
    push_small 10
    over
    branch_if_lt more
    drop
    push_small 0
    return
more:
    drop
    inc_local i
    jump top
");
    assert_eq!(
        p.layout.depth,
        [0, 1, 2, 3, 1, 0, 1, 1, 0, 0].map(Some).to_vec()
    );
    assert_eq!(p.layout.max_depth, 3);
}

#[test]
fn unreachable_code_has_no_depth() {
    let p = asm("push_small 1\nreturn\nadd_i64\nreturn\n");
    assert_eq!(p.layout.depth, [Some(0), Some(1), None, None]);
}

#[test]
fn underflow() {
    assert_eq!(
        asm_err("push_small 1\nadd_i64\nreturn\n"),
        "\
test.uasm:2:1: error: stack underflow: `add_i64` takes 2 values but the stack holds 1 value
2 | add_i64
  | ^^^^^^^
"
    );
    assert!(asm_err("return\n").contains("`return` takes 1 value but the stack holds 0 values"));
}

#[test]
fn inconsistent_merge() {
    assert_eq!(
        asm_err("\
    push_small 1
loop:
    push_small 2
    jump loop
"),
        "\
test.uasm:3:5: error: inconsistent stack depth: 1 value when reached from line 1, 2 values when reached from line 4
3 |     push_small 2
  |     ^^^^^^^^^^
"
    );
    // A forward branch whose arms leave different depths.
    let text = asm_err(
        "\
    push_small 1
    branch_if_zero join
    push_small 5
join:
    push_small 0
    return
",
    );
    assert!(
        text.starts_with("test.uasm:5:5: error: inconsistent stack depth: 0 values when reached from line 2, 1 value when reached from line 3"),
        "{text}"
    );
}

#[test]
fn locals_and_end_of_program() {
    assert_eq!(
        asm_err("load_local 2\nstore_local 0\ninc_local 1\npush_small 0\nbranch_if_zero end\nend: nop\n"),
        "\
test.uasm:1:1: error: local 2 is out of range: the program has 0 locals (declare more with `.locals N`)
1 | load_local 2
  | ^^^^^^^^^^

test.uasm:2:1: error: local 0 is out of range: the program has 0 locals (declare more with `.locals N`)
2 | store_local 0
  | ^^^^^^^^^^^

test.uasm:3:1: error: local 1 is out of range: the program has 0 locals (declare more with `.locals N`)
3 | inc_local 1
  | ^^^^^^^^^

test.uasm:6:6: error: control runs past the end of the program: the last instruction must be `return` or `jump`
6 | end: nop
  |      ^^^
"
    );
    assert_eq!(
        asm_err("; nothing\n"),
        "\
test.uasm:1:1: error: the program has no instructions
1 | ; nothing
  | ^
"
    );
    // A conditional branch at the end can fall through.
    assert!(
        asm_err("top: push_small 0\nbranch_if_zero top\n").contains("control runs past the end")
    );
}

#[test]
fn targets_out_of_range_in_built_programs() {
    let instrs = [
        Instr {
            op: Op::Jump,
            oparg: 0,
            operand: 0,
            target: 5,
        },
        Instr {
            op: Op::Return,
            oparg: 0,
            operand: 0,
            target: 0,
        },
    ];
    let errors = verify(&instrs, 0, &|pc| format!("pc {pc}")).unwrap_err();
    assert_eq!(
        errors,
        [VerifyError {
            pc: Some(0),
            message: "jump target 5 is past the end of the program".to_string()
        }]
    );
}
