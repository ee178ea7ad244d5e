//! `cargo xtask gen-stencils`: regenerate `generated/`, or with `--check`
//! tell whether it is fresh.

mod progress;

use std::path::{Path, PathBuf};

use stencil_gen::pipeline::{self, GenOptions, Generation};
use stencil_gen::toolchain::PINNED_LLVM_MAJOR;

use crate::{targets, workspace_root};

#[derive(clap::Args)]
pub struct Args {
    /// `aarch64`, `x86_64`, a full triple, or `all`; may be repeated.
    #[arg(long = "target", default_value = "all", value_name = "TARGET")]
    targets: Vec<String>,
    /// The LLVM major version to generate with (default: the pinned one).
    /// Another version needs `--out DIR`: generated/ holds the pinned output.
    #[arg(long, value_name = "MAJOR", value_parser = clap::value_parser!(u32).range(1..))]
    llvm: Option<u32>,
    /// Directory of the LLVM tools (else $STENCIL_LLVM_BIN_DIR, else clang-MAJOR etc. in PATH).
    #[arg(long, value_name = "DIR")]
    llvm_bin_dir: Option<PathBuf>,
    /// The clang to run, as a command with arguments, e.g. `zig clang` or
    /// `python3 -m ziglang clang` (else $STENCIL_CLANG_<MAJOR>, else clang is
    /// searched for); it must be of the wanted LLVM version.
    #[arg(long, value_name = "CMD")]
    clang: Option<String>,
    /// Number of parallel compile jobs (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Directory of the `.uop` files (default: uop-defs/defs in the workspace).
    #[arg(long, value_name = "DIR")]
    defs: Option<PathBuf>,
    /// Output directory (default: generated/ in the workspace).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Compile every translation unit afresh; read and write no stencil cache.
    #[arg(long)]
    no_cache: bool,
    /// Stencil cache directory (default: target/stencil-cache in the workspace).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,
    /// Kill a clang, llvm-objdump or llvm-readelf run that takes longer than
    /// this (default: $STENCIL_TOOL_TIMEOUT, else 120).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    tool_timeout: Option<u64>,
    /// Print each clang and llvm-objdump command line.
    #[arg(long, short)]
    verbose: bool,
    /// Write nothing; compare a fresh generation with the output directory
    /// and exit with status 1 if it is stale.
    #[arg(long)]
    check: bool,
    /// Format of the `--check` report on stdout: `text`, or `json` for tools
    /// (docs/json-output.md; the summary then goes to stderr).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, requires = "check")]
    format: ReportFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

pub fn run(args: &Args) -> Result<(), String> {
    let root = workspace_root();
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let from_cwd = |p: &Path| cwd.join(p);
    let defs = args
        .defs
        .as_deref()
        .map(from_cwd)
        .unwrap_or_else(|| root.join("uop-defs").join("defs"));
    let out = args
        .out
        .as_deref()
        .map(from_cwd)
        .unwrap_or_else(|| root.join("generated"));

    let major = args.llvm.unwrap_or(PINNED_LLVM_MAJOR);
    if major != PINNED_LLVM_MAJOR && !args.check && same_dir(&out, &root.join("generated")) {
        return Err(format!(
            "generated/ holds the stencils of the pinned LLVM {PINNED_LLVM_MAJOR}; \
             to generate with LLVM {major}, pass `--out DIR` to write them elsewhere \
             (moving the pin is described in README.md, \"Moving the pinned LLVM\")"
        ));
    }

    let mut opts = GenOptions::new(&root, defs);
    opts.targets = targets::select(&args.targets)?;
    opts.llvm_bin_dir = args.llvm_bin_dir.as_deref().map(from_cwd);
    opts.clang = args.clang.clone();
    opts.jobs = args.jobs.map(usize::from);
    opts.llvm_major = major;
    opts.tool_timeout = args.tool_timeout.map(std::time::Duration::from_secs);
    if args.no_cache {
        opts.cache_dir = None;
    } else if let Some(dir) = &args.cache_dir {
        opts.cache_dir = Some(from_cwd(dir));
    }

    let display = progress::Display::new(args.verbose);
    let generation = if args.check {
        pipeline::generate_with(&opts, &display)
    } else {
        pipeline::run_with(&opts, &out, &display)
    };
    display.finish();
    let generation = generation.map_err(|e| e.to_string())?;
    print_report(&generation, args.format == ReportFormat::Json);
    if args.check {
        check(&generation, &out, args.format)
    } else {
        for file in &generation.files {
            outln!("  wrote {}", out.join(&file.path).display());
        }
        Ok(())
    }
}

/// Whether two paths name one directory (both may not exist yet).
fn same_dir(a: &Path, b: &Path) -> bool {
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    real(a) == real(b)
}

/// The generation's summary, on stderr when stdout carries JSON.
fn print_report(generation: &Generation, to_stderr: bool) {
    let report = &generation.report;
    for warning in &report.warnings {
        errln!("warning: {warning}");
    }
    for (unit, why) in &report.rejected {
        errln!("warning: rebuilt the stencil cache entry of {unit}: {why}");
    }
    let say = |line: String| {
        if to_stderr {
            errln!("{line}");
        } else {
            outln!("{line}");
        }
    };
    say(format!(
        "generated {} uops for {} with clang {} ({})",
        report.uops,
        report.targets.join(", "),
        report.llvm_version,
        report.clang_command
    ));
    if report.objdump_version != report.llvm_version {
        say(format!(
            "disassembled with llvm-objdump {} ({})",
            report.objdump_version,
            report.objdump_path.display()
        ));
    }
    say(progress::summary(report));
    say(format!(
        "{} jobs; compile phase {:.2?}, clang summed {:.2?}",
        report.jobs, report.compile_time, report.clang_time
    ));
}

/// Compare `generation` with the files in `out` and print what differs;
/// an error when anything is stale.
fn check(generation: &Generation, out: &Path, format: ReportFormat) -> Result<(), String> {
    let found_llvm = generation.report.llvm_version.to_string();
    let report = stencil_gen::check::check(generation, out, &found_llvm);
    match format {
        ReportFormat::Text => outln!("{report}"),
        ReportFormat::Json => out!("{}", report.to_json()),
    }
    if report.is_fresh() {
        Ok(())
    } else {
        Err(format!("the stencils in {} are stale", out.display()))
    }
}
