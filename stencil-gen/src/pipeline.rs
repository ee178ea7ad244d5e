//! The whole generation: parse the uop definitions, emit C, compile every
//! (target, uop) pair in parallel, lower, disassemble, and render every
//! output file in memory. Nothing touches the output directory until
//! [`write_outputs`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use uop_defs::ast::UopFile;

use crate::digest::InputDigests;
use crate::emit_c::{self, CSource, EmitError};
use crate::lower;
use crate::model::StencilGroup;
use crate::target::Target;
use crate::toolchain::{self, Disassembler, ObjectCode, Toolchain, ToolchainError, Version};
use crate::writer::{self, TargetStencils, UopMeta, WriteError};

pub use crate::writer::OutputFile;

/// What to generate, and with which tools.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// The directory of `.uop` files. Relative paths are taken from `root`.
    pub defs_dir: PathBuf,
    /// Paths written into the output are relative to this directory (the
    /// workspace root), so they are the same on every machine.
    pub root: PathBuf,
    pub targets: Vec<&'static Target>,
    /// Explicit directory of the LLVM tools.
    pub llvm_bin_dir: Option<PathBuf>,
    /// Compile jobs in parallel; `None` means one per core.
    pub jobs: Option<usize>,
    /// The LLVM major version to use.
    pub llvm_major: u32,
}

impl GenOptions {
    /// Options for `targets` with the pinned LLVM and the defaults.
    pub fn new(root: impl Into<PathBuf>, defs_dir: impl Into<PathBuf>) -> GenOptions {
        GenOptions {
            defs_dir: defs_dir.into(),
            root: root.into(),
            targets: crate::target::ALL.iter().collect(),
            llvm_bin_dir: None,
            jobs: None,
            llvm_major: toolchain::PINNED_LLVM_MAJOR,
        }
    }
}

/// Everything a generation produced.
#[derive(Clone, Debug)]
pub struct Generation {
    /// Every output file, relative to the output directory, in a fixed order.
    pub files: Vec<OutputFile>,
    pub report: GenReport,
}

/// Figures about a generation, for the summary and the benchmark.
#[derive(Clone, Debug)]
pub struct GenReport {
    pub targets: Vec<&'static str>,
    /// Uops per target.
    pub uops: usize,
    pub llvm_version: Version,
    pub clang_path: PathBuf,
    /// clang's warnings, one entry per translation unit that had any.
    pub warnings: Vec<String>,
    /// Wall time of the whole generation.
    pub total_time: Duration,
    /// clang's wall time summed over every translation unit.
    pub clang_time: Duration,
    /// Wall time of the parallel phase (compile, lower, disassemble).
    pub compile_time: Duration,
    /// Number of parallel jobs used.
    pub jobs: usize,
}

/// Why a generation failed.
#[derive(Debug)]
pub enum GenError {
    /// The uop definitions have errors.
    Defs(uop_defs::Diagnostics),
    /// A DSL file could not be read for its digest.
    Read {
        path: PathBuf,
        error: io::Error,
    },
    Emit(EmitError),
    Toolchain(ToolchainError),
    /// Translation units failed, in job order.
    Build(Vec<BuildError>),
    Write(WriteError),
    /// The thread pool could not be built.
    Threads(String),
}

/// One failed job of the parallel phase.
#[derive(Debug)]
pub enum BuildError {
    Toolchain(ToolchainError),
    Lower(lower::LowerError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Toolchain(e) => write!(f, "{e}"),
            BuildError::Lower(e) => write!(f, "cannot lower {e}"),
        }
    }
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenError::Defs(d) => write!(f, "{d}"),
            GenError::Read { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            GenError::Emit(e) => write!(f, "{e}"),
            GenError::Toolchain(e) => write!(f, "{e}"),
            GenError::Build(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            GenError::Write(e) => write!(f, "{e}"),
            GenError::Threads(e) => write!(f, "cannot start compile jobs: {e}"),
        }
    }
}

impl std::error::Error for GenError {}

impl From<WriteError> for GenError {
    fn from(e: WriteError) -> Self {
        GenError::Write(e)
    }
}

/// One translation unit to build for one target.
struct Job<'a> {
    target: &'static Target,
    /// The index of `target` in the options.
    target_index: usize,
    unit: &'a CSource,
}

/// The llvm-objdump of one target and the jobs whose objects it was given,
/// in the order given.
struct Feed {
    disassembler: Disassembler,
    jobs: Vec<usize>,
}

/// The result of one job.
struct Built {
    group: StencilGroup,
    warnings: String,
    clang_time: Duration,
}

/// Parse, emit, compile, lower, disassemble and render, all in memory.
pub fn generate(opts: &GenOptions) -> Result<Generation, GenError> {
    let start = Instant::now();
    let (files, sources) = load_defs(opts)?;
    let toolchain = Toolchain::find(opts.llvm_bin_dir.as_deref(), opts.llvm_major)
        .map_err(GenError::Toolchain)?;
    let llvm_version = toolchain.llvm_version();

    let shim = emit_c::emit_shim().map_err(GenError::Emit)?;
    let mut units = vec![shim];
    let mut metas = Vec::new();
    for file in &files {
        for uop in &file.uops {
            units.push(emit_c::emit_uop(file, uop).map_err(GenError::Emit)?);
            metas.push(UopMeta::new(file, uop));
        }
    }

    let jobs: Vec<Job> = opts
        .targets
        .iter()
        .enumerate()
        .flat_map(|(target_index, &target)| {
            units.iter().map(move |unit| Job {
                target,
                target_index,
                unit,
            })
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| GenError::Threads(e.to_string()))?;
    let compile_start = Instant::now();
    // One llvm-objdump per target, started now so that it loads while
    // clang runs, and given each object as soon as it is built.
    let feeds = opts
        .targets
        .iter()
        .map(|target| {
            let disassembler = toolchain.start_disassembler(target)?;
            Ok(Mutex::new(Feed {
                disassembler,
                jobs: Vec::new(),
            }))
        })
        .collect::<Result<Vec<_>, ToolchainError>>()
        .map_err(GenError::Toolchain)?;
    let results: Vec<Result<Built, BuildError>> = pool.install(|| {
        jobs.par_iter()
            .enumerate()
            .map(|(index, job)| build(&toolchain, job, index, &feeds[job.target_index]))
            .collect()
    });
    let mut built = all_ok(results)?;
    let disassembled = pool.install(|| feeds.into_par_iter().map(finish).collect());
    for (index, listing) in all_ok(disassembled)?.into_iter().flatten() {
        built[index].group.disassembly = listing;
    }
    let compile_time = compile_start.elapsed();

    let clang_time = built.iter().map(|b| b.clang_time).sum();
    let warnings = built
        .iter()
        .filter(|b| !b.warnings.trim().is_empty())
        .map(|b| b.warnings.clone())
        .collect();
    let mut outputs = Vec::new();
    let mut built = built.into_iter();
    for &target in &opts.targets {
        let mut groups = built.by_ref().take(units.len()).map(|b| b.group);
        let shim = groups.next().unwrap_or_default();
        let stencils = TargetStencils {
            target,
            llvm_version: llvm_version.to_string(),
            digests: InputDigests::for_target(&sources, target, &llvm_version.to_string()),
            shim,
            uops: metas.iter().cloned().zip(groups).collect(),
        };
        outputs.extend(writer::render_target(&stencils)?);
    }
    outputs.push(writer::render_lib()?);

    Ok(Generation {
        files: outputs,
        report: GenReport {
            targets: opts.targets.iter().map(|t| t.triple).collect(),
            uops: metas.len(),
            llvm_version,
            clang_path: toolchain.clang.path.clone(),
            warnings,
            total_time: start.elapsed(),
            clang_time,
            compile_time,
            jobs: pool.current_num_threads(),
        },
    })
}

/// Generate, then write every file under `out_dir`; on any error before
/// writing, `out_dir` is left as it was.
pub fn run(opts: &GenOptions, out_dir: &Path) -> Result<Generation, GenError> {
    let generation = generate(opts)?;
    write_outputs(&generation.files, out_dir)?;
    Ok(generation)
}

/// Write the files of a generation under `out_dir` (see
/// [`writer::write_outputs`]).
pub fn write_outputs(files: &[OutputFile], out_dir: &Path) -> Result<(), GenError> {
    writer::write_outputs(files, out_dir).map_err(GenError::Write)
}

/// The parsed DSL files, with the paths rewritten relative to the root, and
/// each file's (path, content) for the digests.
#[allow(clippy::type_complexity)]
fn load_defs(opts: &GenOptions) -> Result<(Vec<UopFile>, Vec<(String, Vec<u8>)>), GenError> {
    let dir = opts.root.join(&opts.defs_dir);
    let label_dir = label_dir(&opts.root, &dir);
    let mut files = uop_defs::load_dir(&dir).map_err(GenError::Defs)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut sources = Vec::with_capacity(files.len());
    for file in &mut files {
        let on_disk = file.path.clone();
        let relative = on_disk.strip_prefix(&dir).unwrap_or(&on_disk).to_path_buf();
        file.path = label_dir.join(relative);
        let content = std::fs::read(&on_disk).map_err(|error| GenError::Read {
            path: on_disk.clone(),
            error,
        })?;
        sources.push((emit_c::dsl_path(&file.path), content));
    }
    Ok((files, sources))
}

/// The defs directory as written into the output: relative to the root when
/// it lies inside, else as given.
fn label_dir(root: &Path, dir: &Path) -> PathBuf {
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (root_abs, dir_abs) = (absolute(root), absolute(dir));
    match dir_abs.strip_prefix(&root_abs) {
        Ok(relative) => relative.to_path_buf(),
        Err(_) => dir.to_path_buf(),
    }
}

/// Every success, in order, or every failure, in order.
fn all_ok<T>(results: Vec<Result<T, BuildError>>) -> Result<Vec<T>, GenError> {
    let mut built = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(b) => built.push(b),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(built)
    } else {
        Err(GenError::Build(errors))
    }
}

/// Each job given to `feed` with its disassembly.
fn finish(feed: Mutex<Feed>) -> Result<Vec<(usize, Vec<String>)>, BuildError> {
    let feed = feed.into_inner().unwrap_or_else(PoisonError::into_inner);
    let listings = feed.disassembler.finish().map_err(BuildError::Toolchain)?;
    Ok(feed.jobs.into_iter().zip(listings).collect())
}

/// Compile and lower job `index` (`job`), and hand its object to its
/// target's llvm-objdump (`feed`).
fn build(
    toolchain: &Toolchain,
    job: &Job,
    index: usize,
    feed: &Mutex<Feed>,
) -> Result<Built, BuildError> {
    let compiled = toolchain
        .compile(job.target, job.unit)
        .map_err(BuildError::Toolchain)?;
    let group =
        lower::lower(&compiled.object, job.target, &job.unit.name).map_err(BuildError::Lower)?;
    {
        let mut feed = feed.lock().unwrap_or_else(PoisonError::into_inner);
        feed.disassembler.add(ObjectCode {
            name: &job.unit.name,
            object: &compiled.object,
            code_len: group.code.len(),
        });
        feed.jobs.push(index);
    }
    let warnings = if compiled.warnings.trim().is_empty() {
        String::new()
    } else {
        format!(
            "warnings for `{}` on {}:\n{}",
            job.unit.name,
            job.target.triple,
            compiled.warnings.trim_end()
        )
    };
    Ok(Built {
        group,
        warnings,
        clang_time: compiled.clang_time,
    })
}
