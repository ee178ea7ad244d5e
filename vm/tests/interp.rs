//! The interpreter: every uop's semantics at its edges, the example programs
//! against answers computed here independently, runtime errors and resuming.

mod common;

use common::{asm, interp, load};
use vm::interp::Interpreter;
use vm::{RunError, RunErrorKind, VmState};

fn f(x: f64) -> i64 {
    x.to_bits() as i64
}

/// Runs `body` after pushing `inputs` (as `push_i64`), returning the top.
fn eval(inputs: &[i64], body: &str) -> Result<i64, RunError> {
    let mut source = String::from(".heap 4\n.locals 2\n");
    for v in inputs {
        source.push_str(&format!("push_i64 {v}\n"));
    }
    source.push_str(body);
    source.push_str("\nreturn\n");
    interp(&asm(&source), &[])
}

fn ok(inputs: &[i64], body: &str) -> i64 {
    eval(inputs, body).unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// The formula of `vm_hash` from the uop spec, written out again here.
fn spec_hash(a: i64, b: i64) -> i64 {
    let mut x = (a as u64).wrapping_mul(0x9E3779B97F4A7C15) ^ b as u64;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58476D1CE4E5B9);
    x ^= x >> 32;
    x as i64
}

#[test]
fn integer_arithmetic_wraps() {
    assert_eq!(ok(&[i64::MAX, 1], "add_i64"), i64::MIN);
    assert_eq!(ok(&[i64::MIN, 1], "sub_i64"), i64::MAX);
    assert_eq!(ok(&[i64::MAX, 2], "mul_i64"), -2);
    assert_eq!(ok(&[i64::MIN], "neg_i64"), i64::MIN);
    assert_eq!(ok(&[i64::MAX], "add_imm 1"), i64::MIN);
    assert_eq!(ok(&[-1], "add_imm 4294967295"), 4294967294);
    assert_eq!(ok(&[], "push_small 4294967295"), 4294967295);
    assert_eq!(ok(&[6, 3], "and_i64"), 2);
    assert_eq!(ok(&[6, 3], "or_i64"), 7);
    assert_eq!(ok(&[6, 3], "xor_i64"), 5);
}

#[test]
fn division_truncates_and_wraps() {
    assert_eq!(ok(&[7, -2], "div_i64"), -3);
    assert_eq!(ok(&[-7, 2], "div_i64"), -3);
    assert_eq!(ok(&[-7, 2], "rem_i64"), -1);
    assert_eq!(ok(&[7, -2], "rem_i64"), 1);
    assert_eq!(ok(&[i64::MIN, -1], "div_i64"), i64::MIN);
    assert_eq!(ok(&[i64::MIN, -1], "rem_i64"), 0);
    for op in ["div_i64", "rem_i64"] {
        assert_eq!(
            eval(&[1, 0], op),
            Err(RunError {
                pc: 2,
                kind: RunErrorKind::DivisionByZero
            })
        );
    }
}

#[test]
fn shifts_mask_the_count() {
    assert_eq!(ok(&[1, 63], "shl_i64"), i64::MIN);
    assert_eq!(ok(&[1, 64], "shl_i64"), 1);
    assert_eq!(ok(&[-1, 65], "shl_i64"), -2);
    assert_eq!(ok(&[i64::MIN, 63], "shr_i64"), -1);
    assert_eq!(ok(&[-8, 1], "shr_i64"), -4);
    assert_eq!(ok(&[i64::MAX, -1], "shr_i64"), 0);
}

#[test]
fn comparisons_are_signed() {
    let table = [
        ("lt_i64", [0, 0, 1]),
        ("le_i64", [0, 1, 1]),
        ("gt_i64", [1, 0, 0]),
        ("ge_i64", [1, 1, 0]),
        ("eq_i64", [0, 1, 0]),
        ("ne_i64", [1, 0, 1]),
    ];
    for (op, expect) in table {
        // a > b, a == b, a < b
        assert_eq!(ok(&[1, -1], op), expect[0], "{op} 1 -1");
        assert_eq!(ok(&[-5, -5], op), expect[1], "{op} -5 -5");
        assert_eq!(ok(&[i64::MIN, 0], op), expect[2], "{op} MIN 0");
    }
    assert_eq!(
        ok(
            &[-1, 0],
            "branch_if_lt yes\npush_small 0\nreturn\nyes: push_small 1"
        ),
        1
    );
    assert_eq!(
        ok(
            &[0, -1],
            "branch_if_lt yes\npush_small 0\nreturn\nyes: push_small 1"
        ),
        0
    );
}

#[test]
fn hash_guard_and_stack_shuffles() {
    assert_eq!(ok(&[3, -4], "hash_i64"), spec_hash(3, -4));
    assert_eq!(
        ok(&[i64::MIN, i64::MAX], "hash_i64"),
        spec_hash(i64::MIN, i64::MAX)
    );
    assert_eq!(
        ok(&[-5], "guard_nonneg"),
        -5,
        "a guard never fails in the interpreter"
    );
    assert_eq!(ok(&[2, 3], "swap\nsub_i64"), 1);
    assert_eq!(ok(&[2, 3], "over\nsub_i64\nmul_i64"), 2);
    assert_eq!(ok(&[2, 3], "drop"), 2);
    assert_eq!(ok(&[4], "dup\nmul_i64"), 16);
    assert_eq!(ok(&[9], "store_local 1\ninc_local 1\nload_local 1"), 10);
    assert_eq!(
        ok(&[i64::MAX], "store_local 0\ninc_local 0\nload_local 0"),
        i64::MIN
    );
}

#[test]
fn floats_are_ieee() {
    let fl = |v: f64| format!("push_f64 {v:?}\n");
    let run = |a: f64, b: f64, op: &str| {
        f64::from_bits(ok(&[], &format!("{}{}{op}", fl(a), fl(b))) as u64)
    };
    assert_eq!(run(0.1, 0.2, "add_f64"), 0.1 + 0.2);
    assert_eq!(run(0.1, 0.2, "sub_f64"), 0.1 - 0.2);
    assert_eq!(run(1e300, 1e10, "mul_f64"), f64::INFINITY);
    assert_eq!(run(1.0, 3.0, "div_f64"), 1.0 / 3.0);
    assert_eq!(run(1.0, -0.0, "div_f64"), f64::NEG_INFINITY);
    assert_eq!(ok(&[], &format!("{}neg_f64", fl(0.0))), f(-0.0));
    assert_eq!(
        ok(&[], &format!("{}sqrt_f64", fl(2.0))),
        f(std::f64::consts::SQRT_2)
    );
    assert!(f64::from_bits(ok(&[], &format!("{}sqrt_f64", fl(-1.0))) as u64).is_nan());
    assert_eq!(ok(&[], &format!("{}{}lt_f64", fl(1.0), fl(2.0))), 1);
    assert_eq!(ok(&[], &format!("{}{}lt_f64", fl(2.0), fl(1.0))), 0);
    assert_eq!(ok(&[], &format!("{}{}lt_f64", fl(f64::NAN), fl(1.0))), 0);
    assert_eq!(ok(&[], &format!("{}{}lt_f64", fl(1.0), fl(f64::NAN))), 0);
    // 2^53 + 1 rounds to nearest even.
    assert_eq!(ok(&[(1 << 53) + 1], "i64_to_f64"), f(9007199254740992.0));
    assert_eq!(ok(&[-3], "i64_to_f64"), f(-3.0));
}

#[test]
fn float_to_integer_truncates_and_saturates() {
    let conv = |v: f64| ok(&[], &format!("push_f64 {v:?}\nf64_to_i64"));
    assert_eq!(conv(-1.9), -1);
    assert_eq!(conv(2.99), 2);
    assert_eq!(conv(1e300), i64::MAX);
    assert_eq!(conv(-1e300), i64::MIN);
    assert_eq!(conv(9223372036854775808.0), i64::MAX);
    assert_eq!(conv(-9223372036854775808.0), i64::MIN);
    assert_eq!(conv(f64::NAN), 0);
    assert_eq!(conv(f64::NEG_INFINITY), i64::MIN);
}

#[test]
fn heap_and_pointers() {
    // .heap 4 in `eval`.
    assert_eq!(ok(&[7, 3], "store_heap\npush_small 3\nload_heap"), 7);
    let oob = |index, pc| {
        Err(RunError {
            pc,
            kind: RunErrorKind::HeapOutOfBounds { index, cells: 4 },
        })
    };
    assert_eq!(eval(&[4], "load_heap"), oob(4, 1));
    assert_eq!(eval(&[-1], "load_heap"), oob(-1, 1));
    assert_eq!(
        eval(&[1, i64::MIN], "store_heap\npush_small 0"),
        oob(i64::MIN, 2)
    );
    // One past the end is a pointer, not a cell.
    assert_eq!(eval(&[5], "heap_ptr\ndrop\npush_small 0"), oob(5, 1));
    assert_eq!(eval(&[-1], "heap_ptr\ndrop\npush_small 0"), oob(-1, 1));
    assert_eq!(
        ok(
            &[9, 4],
            "heap_ptr\npush_i64 -1\nstore_ptr\npush_small 3\nload_heap"
        ),
        9
    );
    assert_eq!(
        ok(
            &[5, 2],
            "store_heap\npush_small 1\nheap_ptr\npush_small 1\nload_ptr"
        ),
        5
    );
    assert_eq!(eval(&[4], "heap_ptr\npush_small 0\nload_ptr"), oob(4, 3));
    assert_eq!(eval(&[2], "heap_ptr\npush_i64 -3\nload_ptr"), oob(-1, 3));
    assert_eq!(
        eval(&[1, 0], "heap_ptr\npush_i64 -0x10\nstore_ptr\npush_small 0"),
        oob(-16, 4)
    );
    // A pointer is the cell's address.
    let p = asm(".heap 4\npush_small 2\nheap_ptr\nreturn\n");
    let mut state = VmState::new(&p, &[]).unwrap();
    let value = Interpreter::new(&p).run(&mut state).unwrap();
    assert_eq!(value, state.heap.as_ptr() as i64 + 16);
}

fn rust_fib_mod(n: u64) -> i64 {
    let (mut a, mut b) = (0i64, 1i64);
    for _ in 0..n {
        (a, b) = (b, (a + b) % 1_000_000_007);
    }
    a
}

fn rust_prime_sum(n: usize) -> i64 {
    let mut composite = vec![false; n];
    let mut sum = 0;
    for i in 2..n {
        if !composite[i] {
            sum += i as i64;
            let mut j = i * i;
            while j < n {
                composite[j] = true;
                j += i;
            }
        }
    }
    sum
}

fn rust_collatz(n: i64) -> i64 {
    (1..=n)
        .map(|k| {
            let (mut x, mut steps) = (k, 0);
            while x != 1 {
                x = if x % 2 == 0 { x / 2 } else { 3 * x + 1 };
                steps += 1;
            }
            steps
        })
        .sum()
}

fn rust_hash_mix(n: i64, seed: i64) -> i64 {
    let mut h = seed;
    for i in 0..n {
        h = spec_hash(h, i) ^ (h >> 17);
    }
    h
}

/// The same integration as `nbody.uasm`, operation for operation.
fn rust_nbody(steps: u64, dt: f64) -> f64 {
    let (m1, m2) = (1.0f64, 0.001f64);
    let (mut x1, mut y1, mut vx1, mut vy1) = (0.0f64, 0.0f64, 0.0f64, -0.001f64);
    let (mut x2, mut y2, mut vx2, mut vy2) = (1.0f64, 0.0f64, 0.0f64, 1.0f64);
    for _ in 0..steps {
        let dx = x2 - x1;
        let dy = y2 - y1;
        let r2 = dx * dx + dy * dy;
        let s = dt / (r2 * r2.sqrt());
        vx1 += dx * m2 * s;
        vy1 += dy * m2 * s;
        vx2 -= dx * m1 * s;
        vy2 -= dy * m1 * s;
        x1 += vx1 * dt;
        y1 += vy1 * dt;
        x2 += vx2 * dt;
        y2 += vy2 * dt;
    }
    let kinetic = 0.5 * m1 * (vx1 * vx1 + vy1 * vy1) + 0.5 * m2 * (vx2 * vx2 + vy2 * vy2);
    let dx = x2 - x1;
    let dy = y2 - y1;
    kinetic - m1 * m2 / (dx * dx + dy * dy).sqrt()
}

#[test]
fn programs_give_known_answers() {
    assert_eq!(
        interp(&load("loop_sum"), &["100000"]),
        Ok(100000 * 99999 / 2)
    );
    assert_eq!(interp(&load("loop_sum"), &["0"]), Ok(0));
    assert_eq!(interp(&load("fib"), &["10"]), Ok(55));
    assert_eq!(interp(&load("fib"), &["100000"]), Ok(rust_fib_mod(100000)));
    assert_eq!(interp(&load("sieve"), &["10"]), Ok(2 + 3 + 5 + 7));
    assert_eq!(interp(&load("sieve"), &["n=10000"]), Ok(5736396));
    assert_eq!(
        interp(&load("sieve"), &["n=100000"]),
        Ok(rust_prime_sum(100000))
    );
    assert_eq!(interp(&load("collatz"), &["10"]), Ok(67));
    assert_eq!(interp(&load("collatz"), &["5000"]), Ok(rust_collatz(5000)));
    assert_eq!(
        interp(&load("hash_mix"), &["50000", "7"]),
        Ok(rust_hash_mix(50000, 7))
    );
    assert_eq!(interp(&load("overflow"), &["1000", "10"]), Ok(i64::MIN + 9));
    let energy = interp(&load("nbody"), &["steps=20000", "dt=0.001"]).unwrap();
    assert_eq!(f64::from_bits(energy as u64), rust_nbody(20000, 0.001));
}

#[test]
fn resumes_at_any_pc() {
    let p = load("loop_sum");
    let test = p.label("test").unwrap() as usize;
    let interp = Interpreter::new(&p);
    // Continue the loop from i = 5 with sum = 1000: 1000 + (5 + ... + 9).
    let mut state = VmState {
        stack: vec![],
        locals: vec![10, 5, 1000],
        heap: vec![],
    };
    assert_eq!(interp.resume(&mut state, test), Ok(1000 + 35));
    // Mid-expression: `add_i64` of `body` with sum and i on the stack.
    let add = p.label("body").unwrap() as usize + 2;
    let mut state = VmState {
        stack: vec![100, 9],
        locals: vec![10, 9, 0],
        heap: vec![],
    };
    assert_eq!(interp.resume(&mut state, add), Ok(109));

    let mut bad = VmState {
        stack: vec![1],
        locals: vec![10, 0, 0],
        heap: vec![],
    };
    let err = interp.resume(&mut bad, test).unwrap_err();
    assert_eq!(err.pc, test);
    assert_eq!(
        err.kind,
        RunErrorKind::BadResume(format!("the stack holds 1 values, pc {test} expects 0"))
    );
    let err = interp.resume(&mut bad, 99).unwrap_err();
    assert_eq!(
        err.kind,
        RunErrorKind::BadResume("pc 99 is past the end of the program".into())
    );
    bad.stack.clear();
    bad.locals.pop();
    let err = interp.resume(&mut bad, test).unwrap_err();
    assert_eq!(
        err.kind,
        RunErrorKind::BadResume("2 locals given, the program has 3".into())
    );
}

#[test]
fn random_programs_assemble_and_mostly_finish() {
    let mut finished = 0;
    let mut errors = 0;
    for seed in 0..300 {
        let source = vm::gen::random_program(seed);
        let p = vm::assemble("random.uasm", &source, vm::UOPS)
            .unwrap_or_else(|d| panic!("seed {seed}:\n{d}\n{source}"));
        match interp(&p, &[]) {
            Ok(_) => finished += 1,
            Err(e) => {
                assert!(
                    matches!(
                        e.kind,
                        RunErrorKind::DivisionByZero | RunErrorKind::HeapOutOfBounds { .. }
                    ),
                    "seed {seed}: {e}"
                );
                errors += 1;
            }
        }
    }
    // Both outcomes are exercised, and finishing is the common case.
    assert!(finished > 200, "{finished} finished, {errors} errors");
    assert!(errors > 5, "{finished} finished, {errors} errors");
}
