//! `cargo xtask bench`: the project's speed figures, measured side by side
//! in one run.
//!
//! * emission: patching each benchmark program's trace into a buffer,
//!   against a memcpy of the same bytes;
//! * run time: the JIT against the interpreter on each benchmark program;
//! * generation: generating every stencil of one target, against the clang
//!   invocations of the same translation units alone.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use runtime::emit::{emit, layout, TraceOp};
use runtime::StencilTable;
use stencil_gen::pipeline::{self, GenOptions};
use stencil_gen::target::Target;
use stencil_gen::{emit_c, toolchain::Toolchain};
use vm::jit::{compile_ops, helper_symbols, CompiledProgram, RunStats};
use vm::{assemble, bind_args, Interpreter, Program, VmState};

/// The benchmark programs of `vm/programs`, run with their default arguments.
const PROGRAMS: &[&str] = &["loop_sum", "fib", "sieve", "nbody", "collatz", "hash_mix"];

#[derive(clap::Args)]
pub struct Args {
    /// Target whose generation is timed.
    #[arg(long, default_value = "x86_64")]
    target: String,
    /// Runs of each program (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Skip the generation benchmark (it needs LLVM 19).
    #[arg(long)]
    no_gen: bool,
}

pub fn run(args: &Args) -> Result<(), String> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run `cargo xtask bench` (release) for real figures");
    }
    let table = vm::jit::host_table()
        .ok_or("this host has no stencil table: the emission and run benchmarks need x86-64 or aarch64 Linux")?;
    let root = crate::workspace_root();
    let programs = PROGRAMS
        .iter()
        .map(|name| load(&root, name, table))
        .collect::<Result<Vec<_>, _>>()?;

    emission(table, &programs)?;
    run_time(table, &programs, args.runs.max(1))?;
    if !args.no_gen {
        generation(&root, &args.target, args.runs.clamp(1, 3))?;
    }
    Ok(())
}

struct Loaded {
    name: &'static str,
    program: Program,
    args: Vec<i64>,
}

fn load(root: &Path, name: &'static str, table: &StencilTable) -> Result<Loaded, String> {
    let path = root.join("vm/programs").join(format!("{name}.uasm"));
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let program = assemble(&format!("{name}.uasm"), &source, table.info).map_err(|d| d.to_string())?;
    let args = bind_args(&program, &[])?;
    Ok(Loaded { name, program, args })
}

/// Median time of one call to `f`, calling it in batches long enough to
/// time reliably.
fn per_call(mut f: impl FnMut()) -> Duration {
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

fn geomean(ratios: &[f64]) -> f64 {
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}

fn emission(table: &StencilTable, programs: &[Loaded]) -> Result<(), String> {
    println!("== emission ({}): copy + patch a program's trace into a buffer, vs memcpy of its bytes", table.target);
    println!(
        "{:<10} {:>5} {:>7} {:>10} {:>9} {:>9} {:>10} {:>9} {:>8}",
        "program", "uops", "bytes", "layout ns", "emit ns", "ns/uop", "emit MB/s", "memcpy ns", "ratio"
    );
    let symbols = helper_symbols(table).map_err(|e| e.to_string())?;
    let mut ratios = Vec::new();
    for p in programs {
        let ops: Vec<TraceOp> = compile_ops(table, &p.program).map_err(|e| e.to_string())?;
        let lay = layout(table, &ops).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; lay.len];
        let base = 0x7000_0000_0000u64;
        emit(table, &ops, &lay, &symbols, &mut buf, base).map_err(|e| e.to_string())?;
        let source = buf.clone();
        let t_layout = per_call(|| {
            black_box(layout(black_box(table), black_box(&ops)).ok());
        });
        let t_emit = per_call(|| {
            emit(table, black_box(&ops), &lay, &symbols, black_box(&mut buf), base).ok();
        });
        let t_copy = per_call(|| {
            black_box(&mut buf).copy_from_slice(black_box(&source));
        });
        let ratio = t_emit.as_secs_f64() / t_copy.as_secs_f64();
        ratios.push(ratio);
        println!(
            "{:<10} {:>5} {:>7} {:>10.0} {:>9.0} {:>9.2} {:>10.0} {:>9.0} {:>7.2}x",
            p.name,
            ops.len(),
            lay.len,
            t_layout.as_nanos(),
            t_emit.as_nanos(),
            t_emit.as_nanos() as f64 / ops.len() as f64,
            lay.len as f64 / t_emit.as_secs_f64() / 1e6,
            t_copy.as_nanos(),
            ratio
        );
    }
    println!("emit / memcpy, geometric mean: {:.2}x (target: at most 3x)\n", geomean(&ratios));
    Ok(())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn run_time(table: &StencilTable, programs: &[Loaded], runs: usize) -> Result<(), String> {
    println!("== run time: JIT vs interpreter, default arguments, median of {runs} runs");
    println!(
        "{:<10} {:>12} {:>12} {:>14} {:>9}",
        "program", "interp ms", "JIT ms", "JIT compile us", "speedup"
    );
    let mut ratios = Vec::new();
    for p in programs {
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
                    let r = compiled.run(&mut state, &mut stats).map_err(|e| e.to_string())?;
                    let t = start.elapsed();
                    if Some(r) != expected {
                        return Err(format!("{}: JIT gave {r}, interpreter {expected:?}", p.name));
                    }
                    Ok(t)
                })
                .collect::<Result<Vec<_>, String>>()?,
        );
        let ratio = t_interp.as_secs_f64() / t_jit.as_secs_f64();
        ratios.push(ratio);
        println!(
            "{:<10} {:>12.1} {:>12.1} {:>14.1} {:>8.2}x",
            p.name,
            t_interp.as_secs_f64() * 1e3,
            t_jit.as_secs_f64() * 1e3,
            t_compile.as_secs_f64() * 1e6,
            ratio
        );
    }
    println!("JIT speedup, geometric mean: {:.2}x (target: at least 3x)\n", geomean(&ratios));
    Ok(())
}

fn generation(root: &Path, target: &str, runs: usize) -> Result<(), String> {
    let target: &'static Target =
        Target::find(target).ok_or_else(|| format!("unknown target `{target}`"))?;
    let defs = root.join("uop-defs/defs");
    let mut opts = GenOptions::new(root, "uop-defs/defs");
    opts.targets = vec![target];
    let jobs = rayon::current_num_threads();
    println!("== generation ({}): all stencils of one target vs the clang invocations alone, {jobs} jobs, median of {runs}", target.triple);

    let toolchain = Toolchain::find(None, opts.llvm_major).map_err(|e| e.to_string())?;
    let files = uop_defs::load_dir(&defs).map_err(|d| d.to_string())?;
    let mut units = vec![emit_c::emit_shim().map_err(|e| e.to_string())?];
    for file in &files {
        for uop in &file.uops {
            units.push(emit_c::emit_uop(file, uop).map_err(|e| e.to_string())?);
        }
    }

    let mut t_gen = Vec::new();
    let mut t_clang = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        units
            .par_iter()
            .map(|unit| toolchain.compile(target, unit).map(|_| ()))
            .collect::<Result<Vec<()>, _>>()
            .map_err(|e| e.to_string())?;
        t_clang.push(start.elapsed());

        let start = Instant::now();
        black_box(pipeline::generate(&opts).map_err(|e| e.to_string())?);
        t_gen.push(start.elapsed());
    }
    let (t_gen, t_clang) = (median(t_gen), median(t_clang));
    let overhead = t_gen.as_secs_f64() / t_clang.as_secs_f64() - 1.0;
    println!("{:<28} {:>9}", "", "ms");
    println!("{:<28} {:>9.0}", format!("clang alone ({} units)", units.len()), t_clang.as_secs_f64() * 1e3);
    println!("{:<28} {:>9.0}", "full generation", t_gen.as_secs_f64() * 1e3);
    println!("generation overhead over clang: {:+.1}% (target: at most 10%)", overhead * 100.0);
    Ok(())
}
