//! The VM's benchmark suite: emission of each benchmark program's trace
//! against copying its bytes, the whole compile and the memory it maps,
//! and the run time of the JIT against
//! the interpreter and against native baselines (the same algorithms in C,
//! built by clang at `-O0` and `-O2`). `cargo xtask bench` runs it beside
//! the generation benchmark.

mod compile;
pub use compile::stencil_pieces;
pub mod native;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use runtime::StencilTable;

use crate::jit::{CompiledProgram, RunStats};
use crate::{assemble, bind_args, Interpreter, Program, VmState};
use native::{Clang, OptLevel};

/// The benchmark programs of `vm/programs`, run with their default
/// arguments; each has a native baseline `NAME.c` beside `NAME.uasm`.
pub const PROGRAMS: &[&str] = &["loop_sum", "fib", "sieve", "nbody", "collatz", "hash_mix"];

/// How the native baselines are built.
#[derive(Clone, Debug)]
pub struct NativeOptions {
    /// The clang to use; found as [`Clang::find`] says when `None`.
    pub clang: Option<PathBuf>,
    /// Where the executables go.
    pub out_dir: PathBuf,
}

/// Prints the stencil table's size, then both tables for the programs in
/// `dir`, `runs` runs each; with `native`, the run-time table has the
/// native baselines' columns too.
pub fn run_suite(dir: &Path, runs: usize, native: Option<&NativeOptions>) -> Result<(), String> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run it with --release for real figures");
    }
    let table = crate::jit::host_table().ok_or(
        "this host has no stencil table: the emission and run benchmarks need x86-64 or aarch64 Linux",
    )?;
    print_table_size(table);
    let programs = PROGRAMS
        .iter()
        .map(|name| load(dir, name, table))
        .collect::<Result<Vec<_>, _>>()?;
    let baselines = native
        .map(|options| build_baselines(dir, &programs, options))
        .transpose()?;
    compile::emission(table, &programs)?;
    compile::compile_time(table, &programs)?;
    compile::memory(table, &programs)?;
    run_time(table, &programs, baselines.as_ref(), runs.max(1))
}

/// How many stencils the host's table has and how many bytes of code.
fn print_table_size(table: &StencilTable) {
    let code = |s: &runtime::Stencil| s.code.len();
    let uop_code: usize = table.uops.iter().map(code).sum();
    println!(
        "== stencil table ({}, LLVM {}): {} stencils ({} uops + the shim), {} bytes of code \
         (uops {uop_code}, shim {})\n",
        table.target,
        table.llvm_version,
        table.uops.len() + 1,
        table.uops.len(),
        uop_code + code(&table.shim),
        code(&table.shim),
    );
}

/// Each program's baselines, in [`OptLevel::ALL`] order.
struct Baselines {
    clang: Clang,
    exes: Vec<[PathBuf; 2]>,
}

fn build_baselines(
    dir: &Path,
    programs: &[Loaded],
    options: &NativeOptions,
) -> Result<Baselines, String> {
    let clang = Clang::find(options.clang.as_deref()).map_err(|e| {
        format!(
            "{e}\nthe native baselines need it: give its path with --clang, \
             or leave them out with --no-native"
        )
    })?;
    let exes = programs
        .iter()
        .map(|p| {
            let [o0, o2] = OptLevel::ALL;
            Ok([
                native::build(&clang, dir, p.name, o0, &options.out_dir)?,
                native::build(&clang, dir, p.name, o2, &options.out_dir)?,
            ])
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Baselines { clang, exes })
}

struct Loaded {
    name: &'static str,
    program: Program,
    args: Vec<i64>,
}

fn load(dir: &Path, name: &'static str, table: &StencilTable) -> Result<Loaded, String> {
    let path = dir.join(format!("{name}.uasm"));
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let source =
        crate::source::decode(&format!("{name}.uasm"), bytes).map_err(|d| d.to_string())?;
    let program =
        assemble(&format!("{name}.uasm"), &source, table.info).map_err(|d| d.to_string())?;
    let args = bind_args(&program, &[])?;
    Ok(Loaded {
        name,
        program,
        args,
    })
}

/// Median time of one call to `f`, calling it in batches long enough to
/// time reliably.
pub fn per_call(mut f: impl FnMut()) -> Duration {
    let mut batch = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        if start.elapsed() >= Duration::from_millis(20) {
            break;
        }
        batch *= 2;
    }
    let mut samples: Vec<Duration> = (0..9)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed() / batch
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

pub fn geomean(ratios: &[f64]) -> f64 {
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn run_time(
    table: &StencilTable,
    programs: &[Loaded],
    baselines: Option<&Baselines>,
    runs: usize,
) -> Result<(), String> {
    println!("== run time: default arguments, median of {runs} runs");
    match baselines {
        Some(b) => println!(
            "   -O0, -O2: the same algorithm in C (vm/programs/NAME.c) built by clang {} at that \
             level, timed inside its process around the kernel",
            b.clang.version
        ),
        None => println!("   -O0, -O2: native baselines left out"),
    }
    println!("   ratios are the JIT's time over the other's: below 1 the JIT is faster");
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10} {:>8} {:>8}",
        "program",
        "interp ms",
        "JIT ms",
        "-O0 ms",
        "-O2 ms",
        "compile us",
        "JIT/interp",
        "JIT/-O0",
        "JIT/-O2"
    );
    let mut ratios: [Vec<f64>; 3] = Default::default();
    for (index, p) in programs.iter().enumerate() {
        let interp = Interpreter::new(&p.program);
        let mut expected = None;
        let t_interp = median(
            (0..runs)
                .map(|_| {
                    let mut state = VmState::new(&p.program, &p.args)?;
                    let start = Instant::now();
                    let r = interp.run(&mut state).map_err(|e| e.to_string())?;
                    let t = start.elapsed();
                    expected = Some(r);
                    Ok(t)
                })
                .collect::<Result<Vec<_>, String>>()?,
        );
        let expected = expected.ok_or("no runs")?;
        let t_compile = median(
            (0..runs)
                .map(|_| {
                    let start = Instant::now();
                    let c = CompiledProgram::new(table, &p.program).map_err(|e| e.to_string());
                    black_box(c.map(|_| ()))?;
                    Ok(start.elapsed())
                })
                .collect::<Result<Vec<_>, String>>()?,
        );
        let compiled = CompiledProgram::new(table, &p.program).map_err(|e| e.to_string())?;
        let t_jit = median(
            (0..runs)
                .map(|_| {
                    let mut state = VmState::new(&p.program, &p.args)?;
                    let mut stats = RunStats::default();
                    let start = Instant::now();
                    let r = compiled
                        .run(&mut state, &mut stats)
                        .map_err(|e| e.to_string())?;
                    let t = start.elapsed();
                    if r != expected {
                        return Err(format!(
                            "{}: the JIT gave {r}, the interpreter {expected}",
                            p.name
                        ));
                    }
                    Ok(t)
                })
                .collect::<Result<Vec<_>, String>>()?,
        );
        let t_native = match baselines {
            Some(b) => b.exes[index]
                .iter()
                .zip(OptLevel::ALL)
                .map(|(exe, opt)| {
                    let params = native::params(&p.program, &p.args);
                    native::median_time(p.name, opt, exe, &params, expected, runs).map(Some)
                })
                .collect::<Result<Vec<_>, String>>()?,
            None => vec![None, None],
        };
        let jit = t_jit.as_secs_f64();
        let ratio = |other: Option<Duration>| other.map(|t| jit / t.as_secs_f64());
        let row = [
            ratio(Some(t_interp)),
            ratio(t_native[0]),
            ratio(t_native[1]),
        ];
        for (all, r) in ratios.iter_mut().zip(row) {
            all.extend(r);
        }
        let ms = |t: Option<Duration>| {
            t.map_or("-".to_string(), |t| format!("{:.1}", t.as_secs_f64() * 1e3))
        };
        let x = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
        println!(
            "{:<10} {:>10} {:>10} {:>10} {:>10} {:>11.1} {:>10} {:>8} {:>8}",
            p.name,
            ms(Some(t_interp)),
            ms(Some(t_jit)),
            ms(t_native[0]),
            ms(t_native[1]),
            t_compile.as_secs_f64() * 1e6,
            x(row[0]),
            x(row[1]),
            x(row[2])
        );
    }
    let mean = |r: &[f64]| {
        if r.is_empty() {
            "-".to_string()
        } else {
            format!("{:.2}", geomean(r))
        }
    };
    println!(
        "{:<66} {:>10} {:>8} {:>8}",
        "geometric mean",
        mean(&ratios[0]),
        mean(&ratios[1]),
        mean(&ratios[2])
    );
    println!(
        "JIT speedup over the interpreter, geometric mean: {:.2}x (target: at least 5x)\n",
        1.0 / geomean(&ratios[0])
    );
    Ok(())
}
