//! `cargo xtask diff-stencils`: what an LLVM upgrade, or a regeneration
//! under review, changes in the stencils.
//!
//! ```text
//! cargo xtask diff-stencils --llvm 16 --llvm 19 [--target x86_64] [--uop add_i64]
//! cargo xtask diff-stencils --base origin/main --format markdown
//! ```
//!
//! With `--llvm A --llvm B`, the stencils are generated in memory with
//! both LLVM major versions; with `--base REV`, the manifests committed at
//! `REV` are compared with the working tree's `generated/`. The exit status
//! is 0 whatever differs, unless `--fail-on-change`.

use std::path::{Path, PathBuf};

use stencil_gen::diff::{self, DiffOptions, ManifestSet};
use stencil_gen::pipeline::{self, GenOptions};
use stencil_gen::target::Target;

use crate::{targets, workspace_root};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// An LLVM major version to generate with; give it twice (A, then B).
    #[arg(long = "llvm", value_name = "MAJOR", conflicts_with = "base")]
    llvm: Vec<u32>,
    /// Compare the manifests committed at this git revision (A) with the
    /// working tree's generated/ (B).
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// `aarch64`, `x86_64`, a full triple, or `all`; may be repeated.
    #[arg(long = "target", default_value = "all", value_name = "TARGET")]
    targets: Vec<String>,
    /// Only this uop (`shim` for the trace's entry stencil).
    #[arg(long, value_name = "NAME")]
    uop: Option<String>,
    /// `text` for a terminal, `markdown` for a pull request, `json` for
    /// tools (its fields are documented in `stencil_gen::diff`).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Exit with status 1 when any stencil differs.
    #[arg(long)]
    fail_on_change: bool,
    /// Directory of the LLVM tools of side A.
    #[arg(long, value_name = "DIR", conflicts_with = "base")]
    llvm_bin_dir_a: Option<PathBuf>,
    /// Directory of the LLVM tools of side B.
    #[arg(long, value_name = "DIR", conflicts_with = "base")]
    llvm_bin_dir_b: Option<PathBuf>,
    /// The clang command of side A, e.g. `zig clang` (see gen-stencils --clang).
    #[arg(long, value_name = "CMD", conflicts_with = "base")]
    clang_a: Option<String>,
    /// The clang command of side B.
    #[arg(long, value_name = "CMD", conflicts_with = "base")]
    clang_b: Option<String>,
}

pub fn run(args: &Args) -> Result<(), String> {
    let root = workspace_root();
    let selected = targets::select(&args.targets)?;
    let (a, b) =
        match (&args.base, args.llvm.as_slice()) {
            (Some(rev), _) => {
                let generated = Path::new("generated");
                let a = ManifestSet::from_git(&root, rev, generated, &selected)
                    .map_err(|e| e.to_string())?;
                let b = ManifestSet::from_dir("working tree", &root.join(generated), &selected)
                    .map_err(|e| e.to_string())?;
                (a, b)
            }
            (None, &[major_a, major_b]) => {
                let cwd = std::env::current_dir()
                    .map_err(|e| format!("cannot read the current directory: {e}"))?;
                let bin_dir = |d: &Option<PathBuf>| d.as_deref().map(|d| cwd.join(d));
                let a = generate(
                    &root,
                    &selected,
                    major_a,
                    bin_dir(&args.llvm_bin_dir_a),
                    args.clang_a.clone(),
                )?;
                let b = generate(
                    &root,
                    &selected,
                    major_b,
                    bin_dir(&args.llvm_bin_dir_b),
                    args.clang_b.clone(),
                )?;
                (a, b)
            }
            (None, _) => return Err(
                "give two LLVM versions (`--llvm 16 --llvm 19`) or a git revision (`--base REV`)"
                    .to_string(),
            ),
        };
    let opts = DiffOptions {
        uop: args.uop.clone(),
    };
    let report = diff::diff(&a, &b, &opts).map_err(|e| e.to_string())?;
    let text = match args.format {
        Format::Text => report.to_text(),
        Format::Markdown => report.to_markdown(),
        Format::Json => report.to_json(),
    };
    out!("{text}");
    if args.fail_on_change && report.has_changes() {
        return Err(format!(
            "the stencils of {} and {} differ (--fail-on-change)",
            report.a, report.b
        ));
    }
    Ok(())
}

/// The manifests generated with LLVM `major`, labelled with its full
/// version.
fn generate(
    root: &Path,
    selected: &[&'static Target],
    major: u32,
    llvm_bin_dir: Option<PathBuf>,
    clang: Option<String>,
) -> Result<ManifestSet, String> {
    let mut opts = GenOptions::new(root, root.join("uop-defs").join("defs"));
    opts.targets = selected.to_vec();
    opts.llvm_major = major;
    opts.llvm_bin_dir = llvm_bin_dir;
    opts.clang = clang;
    let generation = pipeline::generate(&opts).map_err(|e| e.to_string())?;
    for warning in &generation.report.warnings {
        errln!("warning: {warning}");
    }
    let label = format!("LLVM {}", generation.report.llvm_version);
    ManifestSet::from_generation(&label, &generation).map_err(|e| e.to_string())
}
