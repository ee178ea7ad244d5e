//! The native baselines of the benchmark (`vm/programs/NAME.c`) compute
//! what the programs compute: each is built by clang 19 at `-O0` and `-O2`,
//! run with small parameters, and must give the interpreter's result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use vm::bench::native::{self, Clang, OptLevel};
use vm::bench::PROGRAMS;
use vm::{bind_args, Interpreter, VmState};

mod common;

fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("programs")
}

fn clang() -> &'static Clang {
    static CLANG: OnceLock<Clang> = OnceLock::new();
    CLANG.get_or_init(|| Clang::find(None).unwrap_or_else(|e| panic!("{e}")))
}

/// The baseline of `name` at `opt`, built once per test binary (tests run
/// side by side, and an executable being run cannot be rewritten).
fn build(name: &str, opt: OptLevel) -> PathBuf {
    static BUILT: Mutex<BTreeMap<(String, &str), PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let key = (name.to_string(), opt.flag());
    if let Some(exe) = built.get(&key) {
        return exe.clone();
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native");
    let exe =
        native::build(clang(), &programs_dir(), name, opt, &out).unwrap_or_else(|e| panic!("{e}"));
    built.insert(key, exe.clone());
    exe
}

/// Small parameter sets of each benchmark program, edge cases first.
fn cases(name: &str) -> &'static [&'static [&'static str]] {
    match name {
        "loop_sum" => &[&["n=0"], &["n=-5"], &["n=1"], &["n=2"], &["n=1000"]],
        "fib" => &[&["n=0"], &["n=1"], &["n=2"], &["n=50"], &["n=2000"]],
        "sieve" => &[&["n=0"], &["n=2"], &["n=3"], &["n=4"], &["n=1000"]],
        // Enough steps that rounding one operation differently shows in
        // the result's bits.
        "nbody" => &[
            &["steps=0"],
            &["steps=1"],
            &["steps=20000"],
            &["steps=10000", "dt=0.01"],
        ],
        "collatz" => &[&["n=0"], &["n=1"], &["n=2"], &["n=300"]],
        "hash_mix" => &[&["n=0"], &["n=1"], &["n=2000"], &["n=2000", "seed=-1"]],
        other => panic!("no small parameters for `{other}`: add them to this test"),
    }
}

#[test]
fn every_benchmark_program_has_a_baseline_and_nothing_else_does() {
    let mut sources: Vec<String> = std::fs::read_dir(programs_dir())
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "c").then(|| path.file_stem().unwrap().to_string_lossy().into())
        })
        .collect();
    sources.sort();
    let mut programs: Vec<String> = PROGRAMS.iter().map(|p| p.to_string()).collect();
    programs.sort();
    assert_eq!(sources, programs);
}

#[test]
fn baselines_give_the_interpreters_results_at_o0_and_o2() {
    for &name in PROGRAMS {
        let program = common::load(name);
        let exes = OptLevel::ALL.map(|opt| (opt, build(name, opt)));
        for &case in cases(name) {
            let items: Vec<String> = case.iter().map(|s| s.to_string()).collect();
            let values = bind_args(&program, &items).unwrap();
            let mut state = VmState::new(&program, &values).unwrap();
            let expected = Interpreter::new(&program).run(&mut state).unwrap();
            let params = native::params(&program, &values);
            for (opt, exe) in &exes {
                let run = native::run(exe, &params).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    run.result,
                    expected,
                    "{name} {case:?} at {}: the baseline differs from the interpreter",
                    opt.flag()
                );
            }
        }
    }
}

#[test]
fn float_parameters_reach_the_baseline_bit_for_bit() {
    let program = common::load("nbody");
    // A step that decimal text rounds unless it is written in full.
    let dt = f64::from_bits(0.001f64.to_bits() + 1);
    let values = [300, dt.to_bits() as i64];
    assert_eq!(
        native::params(&program, &values),
        ["300", "0.0010000000000000002"]
    );
    let mut state = VmState::new(&program, &values).unwrap();
    let expected = Interpreter::new(&program).run(&mut state).unwrap();
    let run = native::run(
        &build("nbody", OptLevel::O2),
        &native::params(&program, &values),
    );
    assert_eq!(run.unwrap().result, expected);
}

#[test]
fn the_benchmark_refuses_a_baseline_that_differs_from_the_vm() {
    let exe = build("loop_sum", OptLevel::O2);
    let params = ["100".to_string()];
    let time = native::median_time("loop_sum", OptLevel::O2, &exe, &params, 4950, 3);
    assert!(time.is_ok(), "{time:?}");
    let error = native::median_time("loop_sum", OptLevel::O2, &exe, &params, 4951, 3).unwrap_err();
    assert_eq!(
        error,
        "loop_sum: the clang -O2 baseline gave 4950, the VM 4951; \
         loop_sum.c must compute what loop_sum.uasm computes"
    );
}

#[test]
fn a_failing_baseline_is_reported_with_its_message() {
    let exe = build("sieve", OptLevel::O0);
    let error = native::run(&exe, &["-1".to_string()]).unwrap_err();
    assert_eq!(
        error,
        format!(
            "`{} -1` failed (exit status: 2): error: parameter `n` sizes the heap and must be 0 \
             to 134217728, got -1",
            exe.display()
        )
    );
    let error = native::run(&exe, &["12x".to_string()]).unwrap_err();
    assert!(
        error.ends_with(": error: parameter `n`: `12x` is not a 64-bit decimal integer"),
        "{error}"
    );
    let error = native::run(&exe, &[]).unwrap_err();
    assert!(
        error.ends_with(&format!("usage: {} N", exe.display())),
        "{error}"
    );
}

#[test]
fn a_clang_of_another_version_is_refused() {
    let Some(clang16) = ["/usr/bin/clang-16", "/usr/lib/llvm-16/bin/clang"]
        .map(PathBuf::from)
        .into_iter()
        .find(|p| p.is_file())
    else {
        panic!("clang 16 is needed (apt-get install clang-16), as for the LLVM diff tests");
    };
    let error = Clang::find(Some(&clang16)).unwrap_err();
    let prefix = format!("clang at {} is version 16.", clang16.display());
    assert!(
        error.starts_with(&prefix)
            && error.ends_with(", but the native baselines are built with clang 19"),
        "{error}"
    );
    let missing = Clang::find(Some(Path::new("/nonexistent/clang"))).unwrap_err();
    assert_eq!(
        missing,
        "cannot run `/nonexistent/clang --version`; give the path of clang 19"
    );
}
