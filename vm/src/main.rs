//! `vm`: assemble, check, run and time programs of the reference VM.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use vm::interp::Interpreter;
use vm::jit::{host_table, CompiledProgram, RunStats};
use vm::{assemble, bind_args, Program, RunError, ValueKind, VmState, UOPS};

#[derive(Parser)]
#[command(
    name = "vm",
    about = "The reference VM: run uop assembly in the interpreter or the copy-and-patch JIT"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program and print its result.
    Run {
        program: PathBuf,
        /// Parameters: `NAME=VALUE`, or bare values in `.arg` order.
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        /// Run the JIT (the default when this host has a stencil table).
        #[arg(long, conflicts_with = "interp")]
        jit: bool,
        /// Run the interpreter.
        #[arg(long)]
        interp: bool,
        /// Print deopts, trace size and timings.
        #[arg(long)]
        stats: bool,
    },
    /// Assemble and verify a program.
    Check {
        program: PathBuf,
        /// Print every instruction with its pc and stack depth.
        #[arg(long)]
        listing: bool,
    },
    /// Time the interpreter and the JIT on a program.
    Bench {
        program: PathBuf,
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        /// Runs of each; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: u32,
    },
    /// Emission vs memcpy, and the JIT vs the interpreter and native
    /// baselines built by clang, over the benchmark programs.
    BenchSuite {
        /// Directory of the benchmark programs and their C baselines.
        #[arg(long, default_value = "vm/programs")]
        programs: PathBuf,
        /// Runs of each program; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Leave out the native baselines (they need clang 19).
        #[arg(long)]
        no_native: bool,
        /// The clang 19 that builds the native baselines.
        #[arg(long, value_name = "PATH", conflicts_with = "no_native")]
        clang: Option<PathBuf>,
        /// Where the native baselines are built.
        #[arg(long, value_name = "DIR", default_value = "target/bench-native")]
        native_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{}", message.trim_end());
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path) -> Result<Program, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("error: cannot read {}: {e}", path.display()))?;
    let source =
        vm::source::decode(&path.display().to_string(), bytes).map_err(|d| d.to_string())?;
    // Assemble against the stencil table the JIT would use, so a program
    // that assembles also compiles.
    let uops = host_table().map_or(UOPS, |t| t.info);
    assemble(&path.display().to_string(), &source, uops).map_err(|d| d.to_string())
}

fn runtime_error(program: &Program, e: &RunError) -> String {
    format!(
        "error: runtime error at {}: {}",
        program.describe_pc(e.pc),
        e.kind
    )
}

fn render_result(program: &Program, value: i64) -> String {
    match program.result {
        ValueKind::I64 => value.to_string(),
        ValueKind::F64 => format!("{value} (f64: {})", ValueKind::F64.render(value)),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn compile(program: &Program) -> Result<CompiledProgram, String> {
    let table = host_table().ok_or_else(|| {
        "error: no stencil table for this host's instruction set; use --interp".to_string()
    })?;
    CompiledProgram::new(table, program).map_err(|e| format!("error: cannot compile: {e}"))
}

fn execute(command: Command) -> Result<(), String> {
    match command {
        Command::BenchSuite {
            programs,
            runs,
            no_native,
            clang,
            native_dir,
        } => {
            let native = (!no_native).then_some(vm::bench::NativeOptions {
                clang,
                out_dir: native_dir,
            });
            vm::bench::run_suite(&programs, runs, native.as_ref())
                .map_err(|e| format!("error: {e}"))
        }
        Command::Run {
            program,
            args,
            jit,
            interp,
            stats,
        } => {
            let program = load(&program)?;
            let values = bind_args(&program, &args).map_err(|e| format!("error: {e}"))?;
            let mut state = VmState::new(&program, &values).map_err(|e| format!("error: {e}"))?;
            let use_jit = jit || (!interp && host_table().is_some());
            if use_jit {
                let start = Instant::now();
                let compiled = compile(&program)?;
                let compiled_at = Instant::now();
                let mut run_stats = RunStats::default();
                let result = compiled.run(&mut state, &mut run_stats);
                let run_time = compiled_at.elapsed();
                let value = result.map_err(|e| runtime_error(&program, &e))?;
                println!("{}", render_result(&program, value));
                if stats {
                    println!("mode: jit");
                    println!(
                        "trace: {} ops, {} bytes of code, {} bytes in all",
                        compiled.ops(),
                        compiled.code_bytes(),
                        compiled.trace_bytes()
                    );
                    println!("deopts: {}", run_stats.deopts.values().sum::<u64>());
                    for (pc, count) in &run_stats.deopts {
                        println!("  {}: {count}", program.describe_pc(*pc));
                    }
                    println!("compile: {}", ms(compiled_at - start));
                    println!("run: {}", ms(run_time));
                }
            } else {
                let start = Instant::now();
                let value = Interpreter::new(&program)
                    .run(&mut state)
                    .map_err(|e| runtime_error(&program, &e))?;
                let run_time = start.elapsed();
                println!("{}", render_result(&program, value));
                if stats {
                    println!("mode: interp");
                    println!("run: {}", ms(run_time));
                }
            }
            Ok(())
        }
        Command::Check { program, listing } => {
            let program = load(&program)?;
            println!(
                "{}: ok, {} instructions, {} locals, max stack depth {}",
                program.file,
                program.instrs.len(),
                program.locals,
                program.layout.max_depth
            );
            if listing {
                for (pc, instr) in program.instrs.iter().enumerate() {
                    let depth = program.layout.depth[pc].map_or("-".to_string(), |d| d.to_string());
                    let line = program.spans[pc].line;
                    println!("{pc:5}  depth {depth:>3}  line {line:4}  {instr}");
                }
            }
            Ok(())
        }
        Command::Bench {
            program,
            args,
            runs,
        } => {
            let program = load(&program)?;
            let values = bind_args(&program, &args).map_err(|e| format!("error: {e}"))?;
            let compiled = compile(&program)?;
            let interp = Interpreter::new(&program);
            let runs = runs.max(1);
            let mut times = [Vec::new(), Vec::new()];
            let mut results = [None, None];
            for _ in 0..runs {
                for (mode, (time, result)) in times.iter_mut().zip(&mut results).enumerate() {
                    let mut state =
                        VmState::new(&program, &values).map_err(|e| format!("error: {e}"))?;
                    let start = Instant::now();
                    let outcome = if mode == 0 {
                        interp.run(&mut state)
                    } else {
                        compiled.run(&mut state, &mut RunStats::default())
                    };
                    time.push(start.elapsed());
                    *result = Some(outcome.map_err(|e| runtime_error(&program, &e))?);
                }
            }
            if results[0] != results[1] {
                return Err(format!(
                    "error: the JIT returned {:?} but the interpreter {:?}",
                    results[1], results[0]
                ));
            }
            let median = |t: &mut Vec<Duration>| {
                t.sort();
                t[t.len() / 2]
            };
            let interp_time = median(&mut times[0]);
            let jit_time = median(&mut times[1]);
            println!(
                "{}",
                render_result(&program, results[0].unwrap_or_default())
            );
            println!("interp: {}", ms(interp_time));
            println!("jit: {}", ms(jit_time));
            println!(
                "speedup: {:.2}x",
                interp_time.as_secs_f64() / jit_time.as_secs_f64().max(1e-9)
            );
            Ok(())
        }
    }
}
