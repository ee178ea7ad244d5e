//! Random valid programs, for checking the JIT against the interpreter.
//!
//! Programs are deterministic in their seed. They mix straight-line integer
//! and float arithmetic, stack shuffles, locals, heap and pointer accesses,
//! guards, forward branches and bounded loops (a counter local per loop),
//! and end by hashing every local and heap cell into the result, so any
//! difference in state shows. Some of them stop with a runtime error
//! (division by zero, heap index out of bounds) and many make the JIT deopt
//! (overflow, guards, float conversion out of range).
//!
//! Float values only leave float arithmetic through `f64_to_i64` and
//! `lt_f64`, so NaN payloads (which IEEE leaves unspecified) never reach
//! the result.

use std::fmt::Write;

/// Value locals the statements assign; loop counters follow them.
const VALUE_LOCALS: u32 = 4;
const MAX_LOOP_NESTING: u32 = 2;
const HEAP_CELLS: u32 = 8;

/// SplitMix64: small, fast and good enough to pick program shapes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

struct Gen {
    rng: Rng,
    out: String,
    labels: u32,
    /// Statements left to emit.
    budget: u32,
    loops: u32,
}

impl Gen {
    fn emit(&mut self, line: &str) {
        self.out.push_str("    ");
        self.out.push_str(line);
        self.out.push('\n');
    }

    fn label(&mut self) -> String {
        self.labels += 1;
        format!("L{}", self.labels)
    }

    fn place(&mut self, label: &str) {
        let _ = writeln!(self.out, "{label}:");
    }

    fn any_local(&mut self) -> u32 {
        self.rng.below((VALUE_LOCALS + self.loops) as u64) as u32
    }

    fn value_local(&mut self) -> u32 {
        self.rng.below(VALUE_LOCALS as u64) as u32
    }

    fn int_constant(&mut self) -> i64 {
        match self.rng.below(4) {
            0 => self.rng.pick(&[
                0,
                1,
                -1,
                2,
                3,
                -7,
                255,
                1 << 31,
                1 << 32,
                i64::MAX,
                i64::MIN,
                i64::MAX - 1,
                i64::MIN + 1,
            ]),
            1 => self.rng.next_u64() as i64,
            2 => self.rng.below(1 << 20) as i64 - (1 << 19),
            _ => self.rng.below(64) as i64,
        }
    }

    fn float_constant(&mut self) -> f64 {
        match self.rng.below(20) {
            0 | 1 => self.rng.pick(&[
                0.0,
                -0.0,
                0.1,
                1e300,
                -1e-300,
                5e-324,
                9.3e18,
                -9.3e18,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                f64::MAX,
            ]),
            2 => f64::from_bits(self.rng.next_u64()),
            _ => (self.rng.below(2_000_001) as f64 - 1e6) / 64.0,
        }
    }

    /// Pushes an in-range heap index (mostly) or any integer.
    fn heap_index(&mut self) {
        if self.rng.percent(97) {
            let i = self.rng.below(HEAP_CELLS as u64);
            self.emit(&format!("push_small {i}"));
        } else {
            self.int_expr(1);
        }
    }

    /// Pushes a pointer into the heap and an offset from it (mostly in range).
    fn pointer_and_offset(&mut self) {
        let base = self.rng.below(HEAP_CELLS as u64 + 1) as i64;
        self.emit(&format!("push_small {base}"));
        self.emit("heap_ptr");
        let offset = if self.rng.percent(97) {
            self.rng.below(HEAP_CELLS as u64) as i64 - base
        } else {
            self.rng
                .pick(&[-1 - base, HEAP_CELLS as i64 - base, i64::MIN / 4])
        };
        self.emit(&format!("push_i64 {offset}"));
    }

    /// Pushes one integer.
    fn int_expr(&mut self, depth: u32) {
        if depth == 0 || self.rng.percent(25) {
            return self.int_leaf();
        }
        let d = depth - 1;
        match self.rng.below(16) {
            0 => {
                self.int_expr(d);
                let op = self
                    .rng
                    .pick(&["neg_i64", "guard_nonneg", "dup\n    mul_i64"]);
                self.emit(op);
            }
            1 => {
                self.int_expr(d);
                let k = if self.rng.percent(80) {
                    self.rng.below(100)
                } else {
                    self.rng.below(1 << 32)
                };
                self.emit(&format!("add_imm {k}"));
            }
            2 | 3 => {
                self.float_expr(d);
                self.emit("f64_to_i64");
            }
            4 => {
                self.float_expr(d);
                self.float_expr(d);
                self.emit("lt_f64");
            }
            5 => {
                // (a op1 b) with the operands swapped
                self.int_expr(d);
                self.int_expr(d);
                self.emit("swap");
                self.binary_int_op();
            }
            6 => {
                // a b over -> a b a: a op2 (b op1 a)
                self.int_expr(d);
                self.int_expr(d);
                self.emit("over");
                self.binary_int_op();
                self.binary_int_op();
            }
            7 => {
                self.int_expr(d);
                self.int_expr(d);
                if self.rng.percent(90) {
                    // Odd, so never zero.
                    self.emit("push_small 1");
                    self.emit("or_i64");
                }
                let op = self.rng.pick(&["div_i64", "rem_i64"]);
                self.emit(op);
            }
            8 => {
                self.pointer_and_offset();
                self.emit("load_ptr");
            }
            9 => {
                self.int_expr(d);
                self.emit("drop");
                self.int_expr(d);
            }
            _ => {
                self.int_expr(d);
                self.int_expr(d);
                self.binary_int_op();
            }
        }
    }

    fn binary_int_op(&mut self) {
        let op = self.rng.pick(&[
            "add_i64", "add_i64", "sub_i64", "sub_i64", "mul_i64", "and_i64", "or_i64", "xor_i64",
            "shl_i64", "shr_i64", "lt_i64", "le_i64", "gt_i64", "ge_i64", "eq_i64", "ne_i64",
            "hash_i64",
        ]);
        self.emit(op);
    }

    fn int_leaf(&mut self) {
        match self.rng.below(6) {
            0 | 1 => {
                let v = self.int_constant();
                self.emit(&format!("push_i64 {v}"));
            }
            2 => {
                let v = self.rng.below(1 << 32);
                self.emit(&format!("push_small {v}"));
            }
            3 | 4 => {
                let l = self.any_local();
                self.emit(&format!("load_local {l}"));
            }
            _ => {
                self.heap_index();
                self.emit("load_heap");
            }
        }
    }

    /// Pushes one float.
    fn float_expr(&mut self, depth: u32) {
        if depth == 0 || self.rng.percent(30) {
            if self.rng.percent(60) {
                let v = self.float_constant();
                self.emit(&format!("push_f64 {v:?}"));
            } else {
                self.int_expr(depth.saturating_sub(1));
                self.emit("i64_to_f64");
            }
            return;
        }
        let d = depth - 1;
        match self.rng.below(5) {
            0 => {
                self.float_expr(d);
                let op = self.rng.pick(&["neg_f64", "sqrt_f64"]);
                self.emit(op);
            }
            _ => {
                self.float_expr(d);
                self.float_expr(d);
                let op = self.rng.pick(&["add_f64", "sub_f64", "mul_f64", "div_f64"]);
                self.emit(op);
            }
        }
    }

    fn statements(&mut self, max: u32) {
        let count = 1 + self.rng.below(max as u64) as u32;
        for _ in 0..count {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            self.statement();
        }
    }

    /// Emits code that leaves the stack as it found it.
    fn statement(&mut self) {
        match self.rng.below(20) {
            0..=6 => {
                self.int_expr(3);
                let l = self.value_local();
                self.emit(&format!("store_local {l}"));
            }
            7 | 8 => {
                self.int_expr(2);
                self.heap_index();
                self.emit("store_heap");
            }
            9 => {
                self.int_expr(2);
                self.pointer_and_offset();
                self.emit("store_ptr");
            }
            10 | 11 => {
                let (otherwise, end) = (self.label(), self.label());
                self.int_expr(2);
                self.emit(&format!("branch_if_zero {otherwise}"));
                self.statements(3);
                if self.rng.percent(10) {
                    self.int_expr(2);
                    self.emit("return");
                } else {
                    self.emit(&format!("jump {end}"));
                }
                self.place(&otherwise);
                self.statements(3);
                self.place(&end);
            }
            12 => {
                let skip = self.label();
                self.int_expr(2);
                self.int_expr(2);
                let branch = self
                    .rng
                    .pick(&["branch_if_lt", "sub_i64\n    branch_if_nonzero"]);
                self.emit(&format!("{branch} {skip}"));
                self.statements(3);
                self.place(&skip);
            }
            13 | 14 if self.loops < MAX_LOOP_NESTING => {
                let counter = VALUE_LOCALS + self.loops;
                let times = 1 + self.rng.below(5);
                let top = self.label();
                self.emit("push_small 0");
                self.emit(&format!("store_local {counter}"));
                self.place(&top);
                self.loops += 1;
                self.statements(4);
                self.loops -= 1;
                self.emit(&format!("inc_local {counter}"));
                self.emit(&format!("load_local {counter}"));
                self.emit(&format!("push_small {times}"));
                self.emit(&format!("branch_if_lt {top}"));
            }
            15 => {
                // Carry a value across nested control flow.
                self.int_expr(1);
                self.statements(2);
                let l = self.value_local();
                self.emit(&format!("store_local {l}"));
            }
            16 => {
                let l = self.value_local();
                self.emit(&format!("inc_local {l}"));
                if self.rng.percent(30) {
                    self.emit("nop");
                }
            }
            _ => {
                self.int_expr(1);
                self.int_expr(1);
                self.emit("swap");
                let (a, b) = (self.value_local(), self.value_local());
                self.emit(&format!("store_local {a}"));
                self.emit(&format!("store_local {b}"));
            }
        }
    }
}

/// A random valid program, the same for the same seed.
pub fn random_program(seed: u64) -> String {
    let mut g = Gen {
        rng: Rng::new(seed),
        out: String::new(),
        labels: 0,
        budget: 6 + (seed % 19) as u32,
        loops: 0,
    };
    let _ = writeln!(g.out, "; random program, seed {seed}");
    let _ = writeln!(g.out, ".locals {}", VALUE_LOCALS + MAX_LOOP_NESTING);
    let _ = writeln!(g.out, ".heap {HEAP_CELLS}");
    while g.budget > 0 {
        g.statements(4);
    }
    // Fold every local and heap cell into the result.
    g.emit("push_i64 0");
    for l in 0..VALUE_LOCALS {
        g.emit(&format!("load_local {l}"));
        g.emit("hash_i64");
    }
    for i in 0..HEAP_CELLS {
        g.emit(&format!("push_small {i}"));
        g.emit("load_heap");
        g.emit("hash_i64");
    }
    g.emit("return");
    g.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_spread() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..100).map(|_| a.below(10)).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.below(10)).collect();
        assert_eq!(xs, ys);
        for v in 0..10 {
            assert!(xs.contains(&v), "{v} never drawn");
        }
        assert_eq!(random_program(3), random_program(3));
        assert_ne!(random_program(3), random_program(4));
    }
}
