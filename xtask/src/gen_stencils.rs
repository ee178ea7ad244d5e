//! `cargo xtask gen-stencils`: regenerate `generated/`.

use std::path::{Path, PathBuf};

use stencil_gen::pipeline::{self, GenOptions};
use stencil_gen::toolchain::PINNED_LLVM_MAJOR;

use crate::{targets, workspace_root};

#[derive(clap::Args)]
pub struct Args {
    /// `aarch64`, `x86_64`, a full triple, or `all`; may be repeated.
    #[arg(long = "target", default_value = "all", value_name = "TARGET")]
    targets: Vec<String>,
    /// Directory of the LLVM tools (else $STENCIL_LLVM_BIN_DIR, else clang-19 etc. in PATH).
    #[arg(long, value_name = "DIR")]
    llvm_bin_dir: Option<PathBuf>,
    /// Number of parallel compile jobs (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Directory of the `.uop` files (default: uop-defs/defs in the workspace).
    #[arg(long, value_name = "DIR")]
    defs: Option<PathBuf>,
    /// Output directory (default: generated/ in the workspace).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
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

    let mut opts = GenOptions::new(&root, defs);
    opts.targets = targets::select(&args.targets)?;
    opts.llvm_bin_dir = args.llvm_bin_dir.as_deref().map(from_cwd);
    opts.jobs = args.jobs.map(usize::from);
    opts.llvm_major = PINNED_LLVM_MAJOR;

    let generation = pipeline::run(&opts, &out).map_err(|e| e.to_string())?;

    let report = &generation.report;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "generated {} uops for {} with clang {} ({})",
        report.uops,
        report.targets.join(", "),
        report.llvm_version,
        report.clang_path.display()
    );
    println!(
        "{} jobs; total {:.2?}, compile phase {:.2?}, clang summed {:.2?}",
        report.jobs, report.total_time, report.compile_time, report.clang_time
    );
    for file in &generation.files {
        println!("  wrote {}", out.join(&file.path).display());
    }
    Ok(())
}
