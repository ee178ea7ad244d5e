//! `cargo xtask llvm-matrix`: the stencils of every target generated with
//! each LLVM version, the execution checks run on them, and the
//! compatibility matrix written from what happened (`docs/llvm-matrix.md`).
//!
//! ```text
//! cargo xtask llvm-matrix                 # LLVM 16, 19, 20, 21, 22; writes docs/llvm-matrix.md
//! cargo xtask llvm-matrix --check         # exit 1 when the file differs from a fresh run
//! ```
//!
//! Each (version, target) is generated alone and cold (no stencil cache),
//! so its generation time is that of a first run; its manifest goes to
//! `target/llvm-matrix/llvm-<MAJOR>/`. Then `cargo test -p vm --test
//! llvm_matrix` runs the checks of `vm/tests/conformance` on every
//! manifest there and writes `execution.json`, from which, with the
//! manifests and the pinned version's for the changes, the file is made.
//! `--check` compares everything but the timings section.

mod execution;
mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stencil_gen::diff::ManifestSet;
use stencil_gen::pipeline::{self, GenError, GenOptions, GenReport, Generation};
use stencil_gen::target::Target;
use stencil_gen::toolchain::{wheels, PINNED_LLVM_MAJOR};
use stencil_gen::writer;

use crate::{targets, workspace_root};

/// The LLVM versions the matrix runs by default.
pub const MATRIX_MAJORS: &[u32] = &[16, 19, 20, 21, 22];

#[derive(clap::Args)]
pub struct Args {
    /// An LLVM major version to run (default: 16, 19, 20, 21, 22); may be repeated.
    #[arg(long = "llvm", value_name = "MAJOR", value_parser = clap::value_parser!(u32).range(1..))]
    llvm: Vec<u32>,
    /// `aarch64`, `x86_64`, a full triple, or `all`; may be repeated.
    #[arg(long = "target", default_value = "all", value_name = "TARGET")]
    targets: Vec<String>,
    /// Where each version's manifests go (default: target/llvm-matrix).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The matrix file (default: docs/llvm-matrix.md).
    #[arg(long, value_name = "FILE")]
    doc: Option<PathBuf>,
    /// Write nothing; exit 1 when the matrix file differs from this run's
    /// (its timings section aside).
    #[arg(long)]
    check: bool,
    /// Number of parallel compile jobs (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
}

/// What one LLVM version did.
pub struct VersionRun {
    pub major: u32,
    /// Its tools, once found.
    pub tools: Option<Tools>,
    /// Why its tools were not found.
    pub missing: Option<String>,
    pub targets: Vec<TargetRun>,
    /// The manifests of the targets it generated.
    pub manifests: ManifestSet,
    /// For the pinned version: the targets whose manifest differs from
    /// the committed one in `generated/`.
    pub unlike_committed: Vec<&'static str>,
}

/// The tools of one version, as the matrix names them.
pub struct Tools {
    /// How clang was run: `clang-16`, `zig clang` (ziglang 0.15.1).
    pub clang: String,
    pub clang_version: String,
    pub objdump_version: String,
}

/// One target generated with one version.
pub struct TargetRun {
    pub target: &'static Target,
    /// The generation's error, if it failed.
    pub error: Option<String>,
    /// clang's warnings, each line once.
    pub warnings: Vec<String>,
    /// Wall time of the cold generation.
    pub time: Duration,
}

pub fn run(args: &Args) -> Result<(), String> {
    let root = workspace_root();
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let dir = cwd.join(
        args.dir
            .clone()
            .unwrap_or_else(|| root.join("target").join("llvm-matrix")),
    );
    let doc = cwd.join(
        args.doc
            .clone()
            .unwrap_or_else(|| root.join("docs").join("llvm-matrix.md")),
    );
    let majors: Vec<u32> = if args.llvm.is_empty() {
        MATRIX_MAJORS.to_vec()
    } else {
        let mut majors = args.llvm.clone();
        majors.sort_unstable();
        majors.dedup();
        majors
    };
    let selected = targets::select(&args.targets)?;
    execution::clear(&dir)?;

    let start = Instant::now();
    let runs = majors
        .iter()
        .map(|&major| generate_version(&root, &dir, major, &selected, args.jobs))
        .collect::<Result<Vec<_>, String>>()?;
    let generation_time = start.elapsed();
    let exec_start = Instant::now();
    let results = execution::run(&root, &dir)?;
    let execution_time = exec_start.elapsed();

    let matrix = render::Matrix {
        runs: &runs,
        results: &results,
        targets: &selected,
        pinned: PINNED_LLVM_MAJOR,
        generation_time,
        execution_time,
        jobs: args
            .jobs
            .map(usize::from)
            .unwrap_or_else(rayon::current_num_threads),
    };
    let text = render::markdown(&matrix).map_err(|e| e.to_string())?;
    errln!(
        "generation {:.0?}, execution {:.0?}",
        generation_time,
        execution_time
    );
    if args.check {
        let committed = std::fs::read_to_string(&doc)
            .map_err(|e| format!("cannot read {}: {e}", doc.display()))?;
        match render::compare(&committed, &text) {
            None => {
                outln!("{} is fresh", doc.display());
                Ok(())
            }
            Some(diff) => {
                outln!("{diff}");
                Err(format!(
                    "{} is stale; run `cargo xtask llvm-matrix` and commit it",
                    doc.display()
                ))
            }
        }
    } else {
        std::fs::write(&doc, &text).map_err(|e| format!("cannot write {}: {e}", doc.display()))?;
        outln!("wrote {}", doc.display());
        Ok(())
    }
}

/// Every target generated with LLVM `major`, one at a time and cold, the
/// manifests written under `dir/llvm-<major>/`.
fn generate_version(
    root: &Path,
    dir: &Path,
    major: u32,
    selected: &[&'static Target],
    jobs: Option<u16>,
) -> Result<VersionRun, String> {
    let out = dir.join(format!("llvm-{major}"));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut run = VersionRun {
        major,
        tools: None,
        missing: None,
        targets: Vec::new(),
        manifests: ManifestSet {
            label: format!("LLVM {major}"),
            manifests: BTreeMap::new(),
        },
        unlike_committed: Vec::new(),
    };
    for &target in selected {
        let mut opts = GenOptions::new(root, root.join("uop-defs").join("defs"));
        opts.targets = vec![target];
        opts.llvm_major = major;
        opts.cache_dir = None;
        opts.jobs = jobs.map(usize::from);
        let start = Instant::now();
        let generation = pipeline::generate(&opts);
        let time = start.elapsed();
        match generation {
            Err(GenError::Toolchain(error)) => {
                errln!("LLVM {major}: {error}");
                run.missing = Some(error.to_string());
                break;
            }
            Err(error) => {
                errln!("LLVM {major} {}: generation failed", target.triple);
                run.targets.push(TargetRun {
                    target,
                    error: Some(error.to_string()),
                    warnings: Vec::new(),
                    time,
                });
            }
            Ok(generation) => {
                errln!("LLVM {major} {}: generated in {:.1?}", target.triple, time);
                keep(&mut run, &generation, &out, target)?;
                if major == PINNED_LLVM_MAJOR && !like_committed(root, &generation, target) {
                    run.unlike_committed.push(target.triple);
                }
                run.targets.push(TargetRun {
                    target,
                    error: None,
                    warnings: warning_lines(&generation),
                    time,
                });
            }
        }
    }
    Ok(run)
}

/// Records the tools and the manifest of a generation and writes the
/// manifest for the execution step.
fn keep(
    run: &mut VersionRun,
    generation: &Generation,
    out: &Path,
    target: &'static Target,
) -> Result<(), String> {
    let report = &generation.report;
    run.tools.get_or_insert_with(|| Tools {
        clang: clang_name(report),
        clang_version: report.llvm_version.to_string(),
        objdump_version: report.objdump_version.to_string(),
    });
    let path = writer::manifest_path(target);
    let file = generation
        .files
        .iter()
        .find(|f| f.path == path)
        .ok_or_else(|| format!("the generation for {} wrote no manifest", target.triple))?;
    let dest = out.join(&path);
    std::fs::write(&dest, &file.bytes)
        .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    let set = ManifestSet::from_generation(&run.manifests.label, generation)
        .map_err(|e| e.to_string())?;
    run.manifests.manifests.extend(set.manifests);
    Ok(())
}

/// How clang was run, the same on every machine: the program's name, and
/// for zig the wheel that carries this version.
fn clang_name(report: &GenReport) -> String {
    let program = report
        .clang_path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let version = report.llvm_version.to_string();
    let wheel = wheels::wheel_for(report.llvm_version.major).filter(|w| w.clang == version);
    match (program.as_str(), wheel) {
        ("zig", Some(wheel)) => format!("`zig clang` (ziglang {})", wheel.zig),
        ("zig", None) => "`zig clang`".to_string(),
        _ => format!("`{program}`"),
    }
}

/// Whether the manifest of `target` is the committed one, byte for byte.
fn like_committed(root: &Path, generation: &Generation, target: &Target) -> bool {
    let path = writer::manifest_path(target);
    let committed = std::fs::read(root.join("generated").join(&path)).ok();
    let fresh = generation.files.iter().find(|f| f.path == path);
    matches!((committed, fresh), (Some(c), Some(f)) if c == f.bytes)
}

/// clang's warning lines, each once, in the order first seen (the lines
/// naming the unit are left out).
fn warning_lines(generation: &Generation) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for warning in &generation.report.warnings {
        for line in warning.lines().skip(1) {
            let line = line.trim();
            if line.contains("warning:") && !lines.iter().any(|l| l == line) {
                lines.push(line.to_string());
            }
        }
    }
    lines
}
