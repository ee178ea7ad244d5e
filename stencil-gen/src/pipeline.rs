//! The whole generation: parse the uop definitions, emit C, build every
//! (target, uop) pair in parallel (from the stencil cache, or with clang
//! and llvm-objdump), lower, and render every output file in memory.
//! Nothing touches the output directory until [`write_outputs`], which
//! writes every file or none.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use uop_defs::ast::{Abi, UopFile};

use crate::cache::{self, Cache};
use crate::digest::InputDigests;
use crate::emit_c::{self, CAbi, EmitError};
use crate::lower;
use crate::target::Target;
use crate::toolchain::{self, ClangSpec, Search, Tool, Toolchain, ToolchainError, Version};
use crate::writer::{self, TargetStencils, UopMeta, WriteError};

mod build;

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
    /// Explicit clang command (`--clang`), e.g. `zig clang`; else
    /// `STENCIL_CLANG_<llvm_major>`, else clang is searched for.
    pub clang: Option<String>,
    /// Compile jobs in parallel; `None` means one per core.
    pub jobs: Option<usize>,
    /// The LLVM major version to use.
    pub llvm_major: u32,
    /// The stencil cache directory; `None` compiles everything afresh and
    /// stores nothing. Relative paths are taken from the current directory.
    pub cache_dir: Option<PathBuf>,
    /// How long one run of clang, llvm-objdump or llvm-readelf may take
    /// before it is killed; `None` means `STENCIL_TOOL_TIMEOUT`, else
    /// [`toolchain::DEFAULT_TIMEOUT`].
    pub tool_timeout: Option<Duration>,
}

impl GenOptions {
    /// Options for every target with the pinned LLVM, one job per core,
    /// and the stencil cache in [`cache::DEFAULT_DIR`] under `root`.
    pub fn new(root: impl Into<PathBuf>, defs_dir: impl Into<PathBuf>) -> GenOptions {
        let root = root.into();
        GenOptions {
            defs_dir: defs_dir.into(),
            cache_dir: Some(root.join(cache::DEFAULT_DIR)),
            root,
            targets: crate::target::ALL.iter().collect(),
            llvm_bin_dir: None,
            clang: None,
            jobs: None,
            llvm_major: toolchain::PINNED_LLVM_MAJOR,
            tool_timeout: None,
        }
    }
}

/// One translation unit built for one target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitId {
    /// Uop name, or [`emit_c::SHIM_NAME`].
    pub uop: String,
    pub target: &'static str,
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` for {}", self.uop, self.target)
    }
}

/// What a generation tells as it goes, for a progress display.
#[derive(Debug)]
pub enum Event<'a> {
    /// Every unit was looked up in the cache: `cached` of `total` need no
    /// tool.
    Planned { total: usize, cached: usize },
    /// A tool is about to run, with this command line.
    Command { tool: Tool, line: String },
    /// `unit` was compiled; `done` of `total` units are now built, cached
    /// ones included.
    Compiled {
        unit: &'a UnitId,
        done: usize,
        total: usize,
    },
}

/// Receives a generation's [`Event`]s, from any of its threads.
pub trait Progress: Sync {
    fn event(&self, event: &Event<'_>);
}

/// Ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn event(&self, _: &Event<'_>) {}
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
    /// Stencil variants per uop: the declared cache plus one.
    pub variants: usize,
    pub llvm_version: Version,
    pub clang_path: PathBuf,
    /// The clang program with its leading arguments (`zig clang
    /// -resource-dir DIR`), as one might type it.
    pub clang_command: String,
    /// The first line clang's `--version` prints, which names its build
    /// (`Debian clang version 16.0.6 (15~deb12u1)`).
    pub clang_identity: String,
    /// llvm-objdump's version, which may differ from clang's (see
    /// `toolchain`).
    pub objdump_version: Version,
    pub objdump_path: PathBuf,
    /// clang's warnings, one entry per translation unit that had any
    /// (cached ones included), then entries the cache could not store.
    pub warnings: Vec<String>,
    /// Translation units in all: targets times (uops and the shim).
    pub units: usize,
    /// Units taken from the stencil cache.
    pub cached: usize,
    /// Units compiled in this run, in output order.
    pub recompiled: Vec<UnitId>,
    /// Cache entries found unsound (and so rebuilt), with the reason.
    pub rejected: Vec<(UnitId, String)>,
    /// The stencil cache used, if any.
    pub cache_dir: Option<PathBuf>,
    /// Wall time of the whole generation.
    pub total_time: Duration,
    /// clang's wall time summed over every translation unit compiled;
    /// zero when every unit came from the cache.
    pub clang_time: Duration,
    /// Wall time of the parallel phase (cache look-up, compile,
    /// disassemble, cache store, lower).
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
            GenError::Build(errors) => build_errors(f, errors),
            GenError::Write(e) => write!(f, "{e}"),
            GenError::Threads(e) => write!(f, "cannot start compile jobs: {e}"),
        }
    }
}

impl std::error::Error for GenError {}

/// Writes the failed jobs, one per line group. The variants of a uop
/// usually fail with one and the same clang message: that message is
/// written once, naming them all.
fn build_errors(f: &mut fmt::Formatter<'_>, errors: &[BuildError]) -> fmt::Result {
    let mut i = 0;
    while i < errors.len() {
        if i > 0 {
            writeln!(f)?;
        }
        let same = errors[i + 1..]
            .iter()
            .take_while(|e| same_variant_failure(&errors[i], e))
            .count();
        match (&errors[i], same) {
            (
                BuildError::Toolchain(ToolchainError::Compile {
                    name,
                    location: Some(location),
                    target,
                    stderr,
                }),
                1..,
            ) => {
                let (uop, _) = emit_c::split_unit_name(name);
                let variants: Vec<&str> = errors[i..=i + same]
                    .iter()
                    .filter_map(|e| match e {
                        BuildError::Toolchain(ToolchainError::Compile { name, .. }) => {
                            emit_c::split_unit_name(name).1
                        }
                        _ => None,
                    })
                    .collect();
                write!(
                    f,
                    "clang failed on uop `{uop}` ({location}) in variants {} for {target}:\n{}",
                    variants.join(", "),
                    stderr.trim_end()
                )?;
            }
            (error, _) => write!(f, "{error}")?,
        }
        i += same + 1;
    }
    Ok(())
}

/// Whether `b` is another variant of `a`'s uop failing with `a`'s message.
fn same_variant_failure(a: &BuildError, b: &BuildError) -> bool {
    match (a, b) {
        (
            BuildError::Toolchain(ToolchainError::Compile {
                name: a_name,
                location: Some(a_location),
                target: a_target,
                stderr: a_stderr,
            }),
            BuildError::Toolchain(ToolchainError::Compile {
                name: b_name,
                location: Some(b_location),
                target: b_target,
                stderr: b_stderr,
            }),
        ) => {
            let (a_uop, a_variant) = emit_c::split_unit_name(a_name);
            let (b_uop, b_variant) = emit_c::split_unit_name(b_name);
            a_variant.is_some()
                && b_variant.is_some()
                && a_uop == b_uop
                && a_location == b_location
                && a_target == b_target
                && a_stderr == b_stderr
        }
        _ => false,
    }
}

impl From<WriteError> for GenError {
    fn from(e: WriteError) -> Self {
        GenError::Write(e)
    }
}

/// Parse, emit, build, lower and render, all in memory.
pub fn generate(opts: &GenOptions) -> Result<Generation, GenError> {
    generate_with(opts, &Quiet)
}

/// [`generate`], telling `progress` what happens.
pub fn generate_with(opts: &GenOptions, progress: &dyn Progress) -> Result<Generation, GenError> {
    let start = Instant::now();
    let Loaded {
        abi,
        abi_path,
        files,
        sources,
    } = load_defs(opts)?;
    let c_abi = CAbi::new(&abi, abi_path);
    let values = CAbi::declared_values(&abi);
    let mut search = Search::standard(opts.llvm_bin_dir.clone(), opts.llvm_major);
    search.timeout = opts.tool_timeout;
    if let Some(command) = &opts.clang {
        search.clang = Some(ClangSpec::flag(command));
    }
    let toolchain = Toolchain::find_with(&search).map_err(GenError::Toolchain)?;
    let llvm_version = toolchain.llvm_version();
    let objdump_version = toolchain.other_objdump_version().map(|v| v.to_string());
    // What the digests record of the tools: clang's version, and
    // llvm-objdump's when it is another.
    let tools = match &objdump_version {
        Some(objdump) => format!("{llvm_version}, llvm-objdump {objdump}"),
        None => llvm_version.to_string(),
    };

    let shim = emit_c::emit_shim(&c_abi).map_err(GenError::Emit)?;
    let mut units = vec![shim];
    let mut metas = Vec::new();
    // One unit per variant of each uop, variants of a uop side by side.
    for file in &files {
        for uop in &file.uops {
            for unit in emit_c::emit_variants(&c_abi, file, uop).map_err(GenError::Emit)? {
                units.push(unit);
                metas.push(UopMeta::new(file, uop));
            }
        }
    }
    for unit in emit_c::emit_cache_spill(&c_abi).map_err(GenError::Emit)? {
        units.push(unit);
        metas.push(UopMeta::cache_spill());
    }

    let jobs: Vec<build::Job> = opts
        .targets
        .iter()
        .enumerate()
        .flat_map(|(target_index, &target)| {
            units.iter().map(move |unit| build::Job {
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
    let cache = opts.cache_dir.as_ref().map(Cache::new);
    let leftover_errors: Vec<String> = cache
        .iter()
        .flat_map(Cache::remove_leftovers)
        .map(|(path, error)| {
            format!(
                "cannot remove {}, left in the stencil cache by a process that died: {error}",
                path.display()
            )
        })
        .collect();
    let compile_start = Instant::now();
    let built = build::build_all(
        &build::Context {
            toolchain: &toolchain,
            cache: cache.as_ref(),
            targets: opts.targets.len(),
            values: &values,
            pool: &pool,
            progress,
        },
        &jobs,
    )?;
    let compile_time = compile_start.elapsed();

    let clang_time = built.units.iter().map(|b| b.clang_time).sum();
    let recompiled = jobs
        .iter()
        .zip(&built.units)
        .filter(|(_, b)| b.compiled)
        .map(|(job, _)| job.id())
        .collect::<Vec<_>>();
    let mut warnings: Vec<String> = built
        .units
        .iter()
        .filter(|b| !b.warnings.trim().is_empty())
        .map(|b| b.warnings.clone())
        .collect();
    warnings.extend(built.store_errors);
    warnings.extend(leftover_errors);
    let mut outputs = Vec::new();
    let mut groups = built.units.into_iter().map(|b| b.group);
    for &target in &opts.targets {
        let mut groups = groups.by_ref().take(units.len());
        let shim = groups.next().unwrap_or_default();
        let stencils = TargetStencils {
            target,
            values: values.clone(),
            cache: c_abi.cache,
            llvm_version: llvm_version.to_string(),
            objdump_version: objdump_version.clone(),
            digests: InputDigests::for_target(&sources, target, &tools),
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
            // Variants of one uop are side by side.
            uops: metas
                .iter()
                .enumerate()
                .filter(|(i, m)| *i == 0 || metas[i - 1].name != m.name)
                .count(),
            variants: c_abi.cache as usize + 1,
            llvm_version,
            clang_path: toolchain.clang.path.clone(),
            clang_command: toolchain.clang.command_line(),
            clang_identity: toolchain
                .clang
                .version_text
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            objdump_version: toolchain.objdump.version,
            objdump_path: toolchain.objdump.path.clone(),
            warnings,
            units: jobs.len(),
            cached: jobs.len() - recompiled.len(),
            recompiled,
            rejected: built
                .rejected
                .into_iter()
                .map(|(unit, why)| (unit, why.to_string()))
                .collect(),
            cache_dir: opts.cache_dir.clone(),
            total_time: start.elapsed(),
            clang_time,
            compile_time,
            jobs: pool.current_num_threads(),
        },
    })
}

/// Generate, then write every file under `out_dir`; on any error, `out_dir`
/// is left as it was. What a killed earlier run left in `out_dir` is
/// recovered first (see [`writer::commit`]).
pub fn run(opts: &GenOptions, out_dir: &Path) -> Result<Generation, GenError> {
    run_with(opts, out_dir, &Quiet)
}

/// [`run`], telling `progress` what happens.
pub fn run_with(
    opts: &GenOptions,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<Generation, GenError> {
    writer::recover(out_dir)?;
    let generation = generate_with(opts, progress)?;
    write_outputs(&generation.files, out_dir)?;
    Ok(generation)
}

/// Write the files of a generation under `out_dir`, all or none (see
/// [`writer::commit`]).
pub fn write_outputs(files: &[OutputFile], out_dir: &Path) -> Result<(), GenError> {
    writer::write_outputs(files, out_dir).map_err(GenError::Write)
}

/// What the defs directory holds, as the generation uses it.
struct Loaded {
    abi: Abi,
    /// The file of the `abi` item, as written into generated text.
    abi_path: String,
    /// The parsed DSL files, with the paths rewritten relative to the root.
    files: Vec<UopFile>,
    /// Each file's (path, content) for the digests.
    sources: Vec<(String, Vec<u8>)>,
}

fn load_defs(opts: &GenOptions) -> Result<Loaded, GenError> {
    let dir = opts.root.join(&opts.defs_dir);
    let label_dir = label_dir(&opts.root, &dir);
    let defs = uop_defs::load_dir(&dir).map_err(GenError::Defs)?;
    let relative = defs
        .abi_path
        .strip_prefix(&dir)
        .unwrap_or(&defs.abi_path)
        .to_path_buf();
    let abi_path = emit_c::dsl_path(&label_dir.join(relative));
    let mut files = defs.files;
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
    Ok(Loaded {
        abi: defs.abi,
        abi_path,
        files,
        sources,
    })
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
