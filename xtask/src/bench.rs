//! `cargo xtask bench`: the project's speed figures, measured side by side
//! in one run.
//!
//! * emission: patching each benchmark program's trace into a buffer,
//!   against a memcpy of the same bytes, and
//! * run time: the JIT against the interpreter, and against each benchmark
//!   program's native baseline (its algorithm in C, `vm/programs/NAME.c`,
//!   built by clang 19 at `-O0` and `-O2` into `target/bench-native/`),
//!   with the size of the host's stencil table; all from the VM's suite
//!   (`vm bench-suite`, built in release);
//! * generation: a full generation with a cold stencil cache, against the
//!   clang invocations of the same translation units alone; a generation
//!   with nothing changed and a warm cache; and one with one uop changed
//!   and a warm cache, with how many units each recompiled.
//!
//! The VM runs as its own process so that this command never links the
//! generated stencils it may be about to rewrite.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use stencil_gen::pipeline::{self, GenOptions, Generation};
use stencil_gen::target::Target;
use stencil_gen::{emit_c, toolchain::Toolchain};

#[derive(clap::Args)]
pub struct Args {
    /// Targets whose generation is timed: short names, triples or `all`.
    #[arg(long = "target", default_value = "all", value_name = "TARGET")]
    targets: Vec<String>,
    /// Runs of each program (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Skip the generation benchmark (it needs LLVM 19).
    #[arg(long)]
    no_gen: bool,
    /// Skip the VM's suite (emission and run time).
    #[arg(long)]
    no_vm: bool,
    /// Leave the native baselines (C built by clang 19) out of the run-time table.
    #[arg(long)]
    no_native: bool,
}

pub fn run(args: &Args) -> Result<(), String> {
    let root = crate::workspace_root();
    if !args.no_vm {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut suite = Command::new(cargo);
        suite
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
            .arg(root.join("vm/programs"));
        if args.no_native {
            suite.arg("--no-native");
        } else {
            suite
                .arg("--native-dir")
                .arg(target_dir(&root).join("bench-native"));
        }
        let status = relay_stdout(&mut suite)?;
        if !status.success() {
            return Err("the VM's benchmark suite failed".to_string());
        }
    }
    // Nobody reads the figures any more (`| head`): skip the long part.
    if !args.no_gen && !crate::output::stdout_closed() {
        let targets = crate::targets::select(&args.targets)?;
        generation(&root, targets, args.runs.clamp(1, 3))?;
    }
    Ok(())
}

/// Runs `command` with its stdout printed through ours, line by line, so a
/// closed pipe is handled here; the child never sees it.
fn relay_stdout(command: &mut Command) -> Result<ExitStatus, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut read_error = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).split(b'\n') {
            match line {
                Ok(line) => outln!("{}", String::from_utf8_lossy(&line)),
                Err(e) => {
                    read_error = Some(format!("cannot read the VM's output: {e}"));
                    break;
                }
            }
        }
    }
    // Waited for even after a read error, so no child outlives this.
    let status = child.wait().map_err(|e| format!("cannot run cargo: {e}"))?;
    read_error.map_or(Ok(status), Err)
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else `target/` in the root.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Where the uop definitions live, relative to the root.
const DEFS: &str = "uop-defs/defs";

/// One timed generation: its wall time and how many units it recompiled.
struct Sample {
    time: Duration,
    recompiled: usize,
}

fn timed(opts: &GenOptions) -> Result<Sample, String> {
    let start = Instant::now();
    let generation: Generation = pipeline::generate(opts).map_err(|e| e.to_string())?;
    Ok(Sample {
        time: start.elapsed(),
        recompiled: generation.report.recompiled.len(),
    })
}

/// The median time of `samples`, and the most units any of them
/// recompiled (the runs of one figure all recompile as many).
fn summarize(samples: Vec<Sample>) -> (Duration, usize) {
    let recompiled = samples.iter().map(|s| s.recompiled).max().unwrap_or(0);
    (
        median(samples.into_iter().map(|s| s.time).collect()),
        recompiled,
    )
}

fn generation(root: &Path, targets: Vec<&'static Target>, runs: usize) -> Result<(), String> {
    let mut opts = GenOptions::new(root, DEFS);
    opts.targets = targets.clone();
    let jobs = rayon::current_num_threads();
    let triples: Vec<&str> = targets.iter().map(|t| t.triple).collect();

    let toolchain = Toolchain::find(None, opts.llvm_major).map_err(|e| e.to_string())?;
    let defs = uop_defs::load_dir(&root.join(DEFS)).map_err(|d| d.to_string())?;
    let abi = emit_c::CAbi::new(&defs.abi, emit_c::dsl_path(&defs.abi_path));
    let mut units = vec![emit_c::emit_shim(&abi).map_err(|e| e.to_string())?];
    units.extend(emit_c::emit_cache_spill(&abi).map_err(|e| e.to_string())?);
    for file in &defs.files {
        for uop in &file.uops {
            units.extend(emit_c::emit_variants(&abi, file, uop).map_err(|e| e.to_string())?);
        }
    }
    let all_units: Vec<(&Target, &emit_c::CSource)> = targets
        .iter()
        .flat_map(|&t| units.iter().map(move |u| (t, u)))
        .collect();
    outln!(
        "== generation ({}): {} translation units, {jobs} jobs, median of {runs}",
        triples.join(", "),
        all_units.len()
    );

    // (a) Every unit compiled: clang alone, and a generation with a cold
    // cache (a new, empty one for each run).
    let mut clang = Vec::new();
    let mut cold = Vec::new();
    let mut warm_cache = None;
    for _ in 0..runs {
        let start = Instant::now();
        all_units
            .par_iter()
            .map(|(target, unit)| toolchain.compile(target, unit).map(|_| ()))
            .collect::<Result<Vec<()>, _>>()
            .map_err(|e| e.to_string())?;
        clang.push(start.elapsed());

        let cache = temp_dir()?;
        opts.cache_dir = Some(cache.path().to_path_buf());
        cold.push(timed(&opts)?);
        warm_cache = Some(cache);
    }
    let warm_cache = warm_cache.ok_or("no runs")?;
    opts.cache_dir = Some(warm_cache.path().to_path_buf());

    // (b) Nothing changed, the cache warm.
    let unchanged = (0..runs)
        .map(|_| timed(&opts))
        .collect::<Result<Vec<_>, _>>()?;

    // (c) One uop changed, in a copy of the definitions laid out as in the
    // workspace (so every other unit's C, `#line`s included, is the same);
    // each run changes it differently, so each finds it not cached.
    let copy = temp_dir()?;
    let mut changed_opts = opts.clone();
    changed_opts.root = copy.path().to_path_buf();
    let mut changed = Vec::new();
    let mut changed_uop = String::new();
    for run in 0..runs {
        changed_uop =
            write_defs_with_one_change(&root.join(DEFS), &copy.path().join(DEFS), run + 1)?;
        changed.push(timed(&changed_opts)?);
    }

    let clang = median(clang);
    let (cold, cold_units) = summarize(cold);
    let (unchanged, unchanged_units) = summarize(unchanged);
    let (changed, changed_units) = summarize(changed);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    outln!("{:<36} {:>9} {:>11}", "", "ms", "recompiled");
    let rows = [
        ("clang alone", ms(clang), all_units.len()),
        ("full generation, cold cache", ms(cold), cold_units),
        ("no change, warm cache", ms(unchanged), unchanged_units),
        (
            &*format!("`{changed_uop}` changed, warm cache"),
            ms(changed),
            changed_units,
        ),
    ];
    for (name, time, recompiled) in rows {
        outln!("{name:<36} {time:>9.1} {recompiled:>11}");
    }
    let overhead = cold.as_secs_f64() / clang.as_secs_f64() - 1.0;
    outln!(
        "cold generation overhead over clang: {:+.1}% (target: at most 10%)",
        overhead * 100.0
    );
    outln!(
        "no-change generation: {:.0} ms (target: under 300 ms)",
        ms(unchanged)
    );
    Ok(())
}

fn temp_dir() -> Result<tempfile::TempDir, String> {
    tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))
}

/// Copy the `.uop` files of `from` into `to`, with the body of the first
/// uop of the first file opening with `count` empty statements (`;`): its
/// C changes, but no line moves, so no other uop's C does. Returns the
/// changed uop's name.
fn write_defs_with_one_change(from: &Path, to: &Path, count: usize) -> Result<String, String> {
    let mut files = uop_defs::load_dir(from).map_err(|d| d.to_string())?.files;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let mut changed = None;
    for file in &files {
        let mut text = std::fs::read_to_string(&file.path)
            .map_err(|e| format!("cannot read {}: {e}", file.path.display()))?;
        if let (None, Some(uop)) = (&changed, file.uops.first()) {
            text.insert_str(uop.body_span.offset, &";".repeat(count));
            changed = Some(uop.name.clone());
        }
        let name: PathBuf = file.path.file_name().map(PathBuf::from).unwrap_or_default();
        let path = to.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    changed.ok_or_else(|| format!("no uop in {}", from.display()))
}
