//! The assembler: syntax, immediates, directives, arguments and the exact
//! text of its errors.

mod common;

use common::{asm, asm_err};
use runtime::{UopInfo, ValueType};
use vm::asm::{parse_literal, Literal};
use vm::program::{HeapSize, ValueKind};
use vm::{assemble, bind_args, Op, VmState, UOPS};

#[test]
fn immediates_and_labels_resolve() {
    let p = asm("; comment only\n\
         .arg n 5        ; a parameter\n\
         .local acc\n\
         start: push_i64 -0x10\n\
         push_small 4294967295\n\
         push_f64 2\n\
         push_f64 -2e3\n\
         load_local n\n\
         store_local acc\n\
         add_imm 7\n\
         branch_if_zero done\n\
         done:\n\
         return\n");
    let ops: Vec<Op> = p.instrs.iter().map(|i| i.op).collect();
    assert_eq!(
        ops,
        [
            Op::PushI64,
            Op::PushSmall,
            Op::PushF64,
            Op::PushF64,
            Op::LoadLocal,
            Op::StoreLocal,
            Op::AddImm,
            Op::BranchIfZero,
            Op::Return
        ]
    );
    assert_eq!(p.instrs[0].operand, (-16i64) as u64);
    assert_eq!(p.instrs[1].oparg, u32::MAX);
    // An integer operand of push_f64 is that number as a double.
    assert_eq!(p.instrs[2].operand, 2.0f64.to_bits());
    assert_eq!(p.instrs[3].operand, (-2000.0f64).to_bits());
    assert_eq!(p.instrs[4].oparg, 0, "n is local 0");
    assert_eq!(p.instrs[5].oparg, 1, "acc is local 1");
    assert_eq!(p.instrs[6].oparg, 7);
    assert_eq!(p.instrs[7].target, 8);
    assert_eq!(p.label("start"), Some(0));
    assert_eq!(p.label("done"), Some(8));
    assert_eq!(p.layout.depth[8], Some(3));
    assert_eq!(p.layout.max_depth, 5);
    assert_eq!(p.locals, 2);
    assert_eq!(p.args.len(), 1);
    assert_eq!(p.args[0].name, "n");
    assert_eq!(p.args[0].default, 5);
    assert_eq!(p.spans[0].line, 4);
    assert_eq!(p.spans[0].col, 8);
}

#[test]
fn literals() {
    assert_eq!(parse_literal("1_000"), Some(Ok(Literal::Int(1000))));
    assert_eq!(parse_literal("-0b101"), Some(Ok(Literal::Int(-5))));
    assert_eq!(parse_literal("0o17"), Some(Ok(Literal::Int(15))));
    assert_eq!(
        parse_literal("0xffff_ffff_ffff_ffff"),
        Some(Ok(Literal::Int(u64::MAX as i128)))
    );
    assert_eq!(parse_literal(".5"), Some(Ok(Literal::Float(0.5))));
    assert_eq!(parse_literal("1e-3"), Some(Ok(Literal::Float(0.001))));
    assert_eq!(
        parse_literal("-inf"),
        Some(Ok(Literal::Float(f64::NEG_INFINITY)))
    );
    assert!(matches!(parse_literal("NaN"), Some(Ok(Literal::Float(v))) if v.is_nan()));
    assert_eq!(parse_literal("loop"), None);
    assert_eq!(
        parse_literal("12ab"),
        Some(Err("`12ab` is not a valid number".to_string()))
    );
    assert_eq!(
        parse_literal("0x1_0000_0000_0000_0000"),
        Some(Err(
            "integer `0x1_0000_0000_0000_0000` does not fit in 64 bits".to_string()
        ))
    );
    // u64::MAX is accepted as bits; one below i64::MIN is not.
    let p = asm("push_i64 0xffffffffffffffff\npush_i64 -9223372036854775808\nreturn\n");
    assert_eq!(p.instrs[0].operand, u64::MAX);
    assert_eq!(p.instrs[1].operand, i64::MIN as u64);
    assert!(asm_err("push_i64 -9223372036854775809\nreturn\n").contains("does not fit in 64 bits"));
}

#[test]
fn directives() {
    let p = asm(".arg n 10\n.arg dt 0.5\n.locals 6\n.heap n\n.result f64\npush_small 0\nreturn\n");
    assert_eq!(p.locals, 6);
    assert_eq!(p.heap, HeapSize::Arg(0));
    assert_eq!(p.result, ValueKind::F64);
    assert_eq!(p.args[1].kind, ValueKind::F64);
    assert_eq!(p.args[1].default, 0.5f64.to_bits() as i64);

    let values = bind_args(&p, &["dt=3".to_string(), "7".to_string()]).unwrap();
    assert_eq!(values, [7, 3.0f64.to_bits() as i64]);
    let state = VmState::new(&p, &values).unwrap();
    assert_eq!(state.heap.len(), 7);
    assert_eq!(state.locals, [7, 3.0f64.to_bits() as i64, 0, 0, 0, 0]);

    let q = asm(".heap 3\npush_small 0\nreturn\n");
    assert_eq!(q.heap, HeapSize::Cells(3));
    assert_eq!(q.result, ValueKind::I64);
    assert_eq!(q.locals, 0);
}

#[test]
fn argument_errors() {
    let p = asm(".arg n 10\n.arg dt 0.5\n.heap n\npush_small 0\nreturn\n");
    let bind = |items: &[&str]| {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        bind_args(&p, &items)
    };
    assert_eq!(bind(&[]).unwrap(), [10, 0.5f64.to_bits() as i64]);
    assert_eq!(
        bind(&["1", "2", "3"]).unwrap_err(),
        "too many arguments: the program takes 2"
    );
    assert_eq!(
        bind(&["m=1"]).unwrap_err(),
        "unknown argument `m`: the program takes n, dt"
    );
    assert_eq!(
        bind(&["n=1", "n=2"]).unwrap_err(),
        "argument `n` is given twice"
    );
    assert_eq!(
        bind(&["n=1.5"]).unwrap_err(),
        "argument `n`: `1.5` is a float literal where an integer is expected"
    );
    assert_eq!(
        bind(&["n=x"]).unwrap_err(),
        "argument `n`: `x` is not an integer or float literal"
    );
    let values = bind(&["n=-1"]).unwrap();
    assert_eq!(
        VmState::new(&p, &values).unwrap_err(),
        "argument `n` sizes the heap and must not be negative, got -1"
    );
    let values = bind(&["n=0x10000000"]).unwrap();
    assert_eq!(
        VmState::new(&p, &values).unwrap_err(),
        "a heap of 268435456 cells exceeds the limit of 134217728"
    );
    // The largest declarations assemble; a program built with more locals
    // than the assembler allows is refused before anything is allocated.
    let mut q = asm(".locals 1048576\n.heap 134217728\npush_small 0\nreturn\n");
    assert_eq!(q.locals, 1 << 20);
    assert_eq!(q.heap, HeapSize::Cells(1 << 27));
    q.locals = u32::MAX;
    assert_eq!(
        VmState::new(&q, &[]).unwrap_err(),
        "4294967295 locals exceed the limit of 1048576"
    );
}

#[test]
fn all_errors_reported_at_once_with_carets() {
    let source = "\
; errors
.arg n 10
.arg n 5
.heap foo
.bogus 1
start:
    push_i64 1.5
    ad_i64
    load_local n 3
    load_local 4294967296
    jump nowhere
start:
    push_i64
\tdup 1
    push_f64 x
";
    let expected = "\
test.uasm:3:6: error: local `n` is already declared at line 2
3 | .arg n 5
  |      ^

test.uasm:4:7: error: `foo` is neither a cell count nor the name of an integer `.arg`
4 | .heap foo
  |       ^^^

test.uasm:5:1: error: unknown directive `.bogus`: expected `.arg`, `.local`, `.locals`, `.heap` or `.result`
5 | .bogus 1
  | ^^^^^^

test.uasm:7:14: error: `1.5` is a float literal, but `push_i64` takes an integer operand
7 |     push_i64 1.5
  |              ^^^

test.uasm:8:5: error: unknown uop `ad_i64`
8 |     ad_i64
  |     ^^^^^^

test.uasm:9:18: error: unexpected `3`: `load_local` takes 1 immediate
9 |     load_local n 3
  |                  ^

test.uasm:10:16: error: oparg `4294967296` is not an unsigned 32-bit integer
10 |     load_local 4294967296
   |                ^^^^^^^^^^

test.uasm:11:10: error: undefined label `nowhere`
11 |     jump nowhere
   |          ^^^^^^^

test.uasm:12:1: error: label `start` is already defined at line 6
12 | start:
   | ^^^^^^

test.uasm:13:5: error: `push_i64` expects an operand (an integer or float literal)
13 |     push_i64
   |     ^^^^^^^^

test.uasm:14:6: error: unexpected `1`: `dup` takes no immediate
14 | \tdup 1
   | \t    ^

test.uasm:15:14: error: `x` is not an integer or float literal
15 |     push_f64 x
   |              ^
";
    assert_eq!(asm_err(source), expected);
}

#[test]
fn more_errors() {
    let cases: &[(&str, &str)] = &[
        ("jump", "test.uasm:1:1: error: `jump` expects a jump target (a label)"),
        ("load_local", "test.uasm:1:1: error: `load_local` expects an oparg (an unsigned 32-bit integer or a local name)"),
        ("load_local x\nreturn", "test.uasm:1:12: error: `x` is neither an unsigned 32-bit integer nor a local name"),
        ("load_local -1\nreturn", "test.uasm:1:12: error: oparg `-1` is not an unsigned 32-bit integer"),
        ("1x: nop", "test.uasm:1:1: error: invalid label name `1x`"),
        (".locals", "test.uasm:1:1: error: missing argument: usage is `.locals COUNT`"),
        (".locals 1 2", "test.uasm:1:11: error: unexpected `2`: usage is `.locals COUNT`"),
        (".locals -1", "test.uasm:1:9: error: `-1` is not a local count (an unsigned 32-bit integer)"),
        (".local a\n.locals 0", "test.uasm:2:9: error: `.locals 0` is fewer than the 1 named locals"),
        (".locals 1048577", "test.uasm:1:9: error: `.locals 1048577` exceeds the limit of 1048576 locals"),
        (".heap 134217729", "test.uasm:1:7: error: `.heap 134217729` exceeds the limit of 134217728 cells"),
        (".result i32", "test.uasm:1:9: error: unknown result type `i32`: expected `i64` or `f64`"),
        (".result i64\n.result f64", "test.uasm:2:1: error: `.result` is already set at line 1"),
        (".heap 1\n.heap 2", "test.uasm:2:1: error: `.heap` is already set at line 1"),
        (".arg dt 0.5\n.heap dt", "test.uasm:2:7: error: `dt` is neither a cell count nor the name of an integer `.arg`"),
        (".local 9a", "test.uasm:1:8: error: invalid local name `9a`"),
        (".arg a b", "test.uasm:1:8: error: `b` is not an integer or float literal"),
        ("push_i64 0x", "test.uasm:1:10: error: `0x` is not a valid number"),
        ("jump end\nend:", "test.uasm:2:1: error: label `end` marks the end of the program, not an instruction"),
    ];
    for (source, first_line) in cases {
        let text = asm_err(source);
        assert_eq!(
            text.lines().next(),
            Some(*first_line),
            "for {source:?}:\n{text}"
        );
    }
}

#[test]
fn validates_against_the_given_uop_table() {
    // A table that lacks a uop, and one whose uop disagrees with the interpreter.
    let without: Vec<UopInfo> = UOPS.iter().copied().filter(|u| u.name != "dup").collect();
    let err = assemble("t.uasm", "push_small 1\ndup\nreturn\n", &without).unwrap_err();
    assert_eq!(err.errors[0].message, "unknown uop `dup`");

    let mut drifted: Vec<UopInfo> = UOPS.to_vec();
    let i = drifted.iter().position(|u| u.name == "add_imm").unwrap();
    drifted[i].uses = &[];
    drifted[i].inputs = &[ValueType::I64, ValueType::I64];
    let err = assemble("t.uasm", "push_small 1\nadd_imm\nreturn\n", &drifted).unwrap_err();
    assert_eq!(
        err.errors[0].message,
        "uop `add_imm` in the stencil table differs from the interpreter's: \
         stack effect (2 -- 1) instead of (1 -- 1), does not use `oparg`"
    );

    let mut extra: Vec<UopInfo> = UOPS.to_vec();
    extra.push(UopInfo {
        name: "teleport",
        ..*Op::Nop.info()
    });
    let err = assemble("t.uasm", "teleport\npush_small 1\nreturn\n", &extra).unwrap_err();
    assert_eq!(
        err.errors[0].message,
        "uop `teleport` has no interpreter semantics"
    );
}

#[test]
fn invisible_characters_are_shown_escaped() {
    let source = "push_i64 1\0\npush_i64 \x1b[31m7\npush_i64 7\u{200b}\nre\u{200b}turn\n";
    let expected = "\
test.uasm:1:10: error: `1\\0` is not a valid number
1 | push_i64 1\\0
  |          ^^^

test.uasm:2:10: error: `\\x1b[31m7` is not an integer or float literal
2 | push_i64 \\x1b[31m7
  |          ^^^^^^^^^

test.uasm:3:10: error: `7\\u{200b}` is not a valid number
3 | push_i64 7\\u{200b}
  |          ^^^^^^^^^

test.uasm:4:1: error: unknown uop `re\\u{200b}turn`
4 | re\\u{200b}turn
  | ^^^^^^^^^^^^^^
";
    assert_eq!(asm_err(source), expected);
}
