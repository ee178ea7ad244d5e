//! `cargo xtask bench`: the project's speed figures, measured side by side
//! in one run.
//!
//! * emission: patching each benchmark program's trace into a buffer,
//!   against a memcpy of the same bytes, and
//! * run time: the JIT against the interpreter on each benchmark program,
//!   both from the VM's suite (`vm bench-suite`, built in release);
//! * generation: generating every stencil of one target, against the clang
//!   invocations of the same translation units alone.
//!
//! The VM runs as its own process so that this command never links the
//! generated stencils it may be about to rewrite.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use stencil_gen::pipeline::{self, GenOptions};
use stencil_gen::target::Target;
use stencil_gen::{emit_c, toolchain::Toolchain};

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
    /// Skip the VM's suite (emission and run time).
    #[arg(long)]
    no_vm: bool,
}

pub fn run(args: &Args) -> Result<(), String> {
    let root = crate::workspace_root();
    if !args.no_vm {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args([
                "run",
                "--release",
                "--quiet",
                "--package",
                "vm",
                "--",
                "bench-suite",
                "--runs",
            ])
            .arg(args.runs.max(1).to_string())
            .arg("--programs")
            .arg(root.join("vm/programs"))
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err("the VM's benchmark suite failed".to_string());
        }
    }
    if !args.no_gen {
        generation(&root, &args.target, args.runs.clamp(1, 3))?;
    }
    Ok(())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
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
    println!(
        "{:<28} {:>9.0}",
        format!("clang alone ({} units)", units.len()),
        t_clang.as_secs_f64() * 1e3
    );
    println!(
        "{:<28} {:>9.0}",
        "full generation",
        t_gen.as_secs_f64() * 1e3
    );
    println!(
        "generation overhead over clang: {:+.1}% (target: at most 10%)",
        overhead * 100.0
    );
    Ok(())
}
