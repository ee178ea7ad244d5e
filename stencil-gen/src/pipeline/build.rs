//! The parallel phase of a generation: every (target, uop) translation unit
//! taken from the stencil cache, or compiled by clang and disassembled by
//! one streaming llvm-objdump per target and then stored in the cache; and
//! every object lowered into a stencil group.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rayon::prelude::*;

use super::{BuildError, Event, GenError, Progress, UnitId};
use crate::cache::{Cache, Entry, Key, KeyInputs, Lookup, Rejection};
use crate::emit_c::CSource;
use crate::lower;
use crate::model::{DeclaredValues, StencilGroup};
use crate::optimize;
use crate::target::Target;
use crate::toolchain::{self, Disassembler, Tool, Toolchain};

/// One translation unit to build for one target.
pub(super) struct Job<'a> {
    pub target: &'static Target,
    /// The index of `target` among the generation's targets.
    pub target_index: usize,
    pub unit: &'a CSource,
}

impl Job<'_> {
    pub fn id(&self) -> UnitId {
        UnitId {
            uop: self.unit.name.clone(),
            target: self.target.triple,
        }
    }
}

/// What the phase needs from the generation.
pub(super) struct Context<'a> {
    pub toolchain: &'a Toolchain,
    pub cache: Option<&'a Cache>,
    pub targets: usize,
    /// The hole values the VM declared.
    pub values: &'a DeclaredValues,
    pub pool: &'a rayon::ThreadPool,
    pub progress: &'a dyn Progress,
}

/// One job's result.
pub(super) struct BuiltUnit {
    pub group: StencilGroup,
    /// clang's warnings, if any, headed by the unit they are about.
    pub warnings: String,
    /// Zero when the unit came from the cache.
    pub clang_time: Duration,
    /// Whether clang ran for it (it was not in the cache).
    pub compiled: bool,
}

/// The phase's results.
pub(super) struct Built {
    /// One per job, in job order.
    pub units: Vec<BuiltUnit>,
    /// Cache entries that were found unsound and rebuilt, in job order.
    pub rejected: Vec<(UnitId, Rejection)>,
    /// Entries that could not be stored (the generation still succeeds).
    pub store_errors: Vec<String>,
}

/// What the cache gave for every job, in job order.
struct Looked {
    /// `None` without a cache.
    keys: Vec<Option<Key>>,
    /// The entry of each job; `None` until it is compiled.
    entries: Vec<Option<Entry>>,
    rejected: Vec<(UnitId, Rejection)>,
}

/// A unit compiled in this run, waiting for its listing.
struct Fresh {
    object: Vec<u8>,
    warnings: String,
    clang_time: Duration,
}

/// The llvm-objdump of one target and the jobs whose objects it was given,
/// in the order given.
struct Feed {
    disassembler: Disassembler,
    jobs: Vec<usize>,
}

/// Build every job; on failure, every unit that did build is still stored
/// in the cache, so that fixing the failing ones recompiles only them.
pub(super) fn build_all(ctx: &Context<'_>, jobs: &[Job<'_>]) -> Result<Built, GenError> {
    let Looked {
        keys,
        mut entries,
        rejected,
    } = look_up_all(ctx, jobs);
    let cached = entries.iter().flatten().count();
    ctx.progress.event(&Event::Planned {
        total: jobs.len(),
        cached,
    });
    let feeds = start_feeds(ctx, jobs, &entries)?;
    let to_compile: Vec<usize> = (0..jobs.len()).filter(|&i| entries[i].is_none()).collect();
    let done = AtomicUsize::new(cached);
    let compiled: Vec<(usize, Result<Fresh, BuildError>)> = ctx.pool.install(|| {
        to_compile
            .par_iter()
            .map(|&index| {
                let feed = feeds[jobs[index].target_index].as_ref();
                (index, compile(ctx, jobs, index, feed, &done))
            })
            .collect()
    });
    let listings: Vec<Result<Vec<(usize, String)>, BuildError>> = ctx
        .pool
        .install(|| feeds.into_par_iter().flatten().map(finish).collect());

    let mut errors: Vec<(usize, BuildError)> = Vec::new();
    let mut fresh: Vec<Option<Fresh>> = (0..jobs.len()).map(|_| None).collect();
    for (index, result) in compiled {
        match result {
            Ok(unit) => fresh[index] = Some(unit),
            Err(e) => errors.push((index, e)),
        }
    }
    // Each unit compiled and disassembled in this run becomes an entry.
    let mut clang_times: Vec<Option<Duration>> = vec![None; jobs.len()];
    let mut feed_errors = Vec::new();
    for listing in listings {
        match listing {
            Ok(listing) => {
                for (index, listing) in listing {
                    if let Some(unit) = fresh[index].take() {
                        clang_times[index] = Some(unit.clang_time);
                        entries[index] = Some(Entry {
                            object: unit.object,
                            warnings: unit.warnings,
                            listing,
                        });
                    }
                }
            }
            Err(e) => feed_errors.push(e),
        }
    }
    let new: Vec<usize> = (0..jobs.len())
        .filter(|&i| clang_times[i].is_some())
        .collect();
    let store_errors = store(ctx, jobs, &keys, &entries, &new);

    let lowered: Vec<Option<Result<StencilGroup, BuildError>>> = ctx.pool.install(|| {
        jobs.par_iter()
            .zip(&entries)
            .map(|(job, entry)| entry.as_ref().map(|e| lower_entry(job, e, ctx.values)))
            .collect()
    });
    let mut units = Vec::with_capacity(jobs.len());
    for (index, group) in lowered.into_iter().enumerate() {
        match group {
            Some(Ok(group)) => units.push(BuiltUnit {
                group,
                warnings: warnings_of(&jobs[index], entries[index].as_ref()),
                clang_time: clang_times[index].unwrap_or_default(),
                compiled: clang_times[index].is_some(),
            }),
            Some(Err(e)) => errors.push((index, e)),
            // It failed to compile or to disassemble; that error is kept.
            None => {}
        }
    }
    if !errors.is_empty() || !feed_errors.is_empty() {
        errors.sort_by_key(|(index, _)| *index);
        let mut all: Vec<BuildError> = errors.into_iter().map(|(_, e)| e).collect();
        all.extend(feed_errors);
        return Err(GenError::Build(all));
    }
    Ok(Built {
        units,
        rejected,
        store_errors,
    })
}

/// Every job's key and cache entry; all misses when there is no cache.
fn look_up_all(ctx: &Context<'_>, jobs: &[Job<'_>]) -> Looked {
    let found: Vec<(Option<Key>, Lookup)> = ctx.pool.install(|| {
        jobs.par_iter()
            .map(|job| match ctx.cache {
                Some(cache) => {
                    let key = key_of(ctx.toolchain, job);
                    (Some(key), cache.load(&key))
                }
                None => (None, Lookup::Miss),
            })
            .collect()
    });
    let mut looked = Looked {
        keys: Vec::with_capacity(jobs.len()),
        entries: Vec::with_capacity(jobs.len()),
        rejected: Vec::new(),
    };
    for (job, (key, lookup)) in jobs.iter().zip(found) {
        looked.keys.push(key);
        looked.entries.push(match lookup {
            Lookup::Hit(entry) => Some(entry),
            Lookup::Miss => None,
            Lookup::Rejected(why) => {
                looked.rejected.push((job.id(), why));
                None
            }
        });
    }
    looked
}

/// One llvm-objdump for each target with a unit to compile, started now so
/// that it loads while clang runs; `None` for the other targets.
fn start_feeds(
    ctx: &Context<'_>,
    jobs: &[Job<'_>],
    entries: &[Option<Entry>],
) -> Result<Vec<Option<Mutex<Feed>>>, GenError> {
    (0..ctx.targets)
        .map(|target_index| {
            let Some(job) = jobs
                .iter()
                .zip(entries)
                .find(|(job, entry)| job.target_index == target_index && entry.is_none())
                .map(|(job, _)| job)
            else {
                return Ok(None);
            };
            ctx.progress.event(&Event::Command {
                tool: Tool::Objdump,
                line: ctx.toolchain.disassembler_command_line(),
            });
            let disassembler = ctx
                .toolchain
                .start_disassembler(job.target)
                .map_err(GenError::Toolchain)?;
            Ok(Some(Mutex::new(Feed {
                disassembler,
                jobs: Vec::new(),
            })))
        })
        .collect()
}

/// The cache key of a job: its C source, clang's arguments (compiling and
/// assembling), the exact versions of clang and llvm-objdump, and the
/// stencil optimizer's digest.
fn key_of(toolchain: &Toolchain, job: &Job<'_>) -> Key {
    // The leading arguments (zig's `clang -resource-dir DIR`) are part of
    // the clang run; a clang run by name has none.
    let mut clang_args = toolchain.clang.args.clone();
    clang_args.extend(toolchain::unit_args(job.target, job.unit));
    clang_args.extend(toolchain::assemble_args(job.target, job.unit));
    Key::of(&KeyInputs {
        source: &job.unit.text,
        clang_args: &clang_args,
        clang_version: &toolchain.clang.version_text,
        objdump_version: &toolchain.objdump.version_text,
        optimizer: &optimize::digest(),
    })
}

/// Compile job `index` and hand its object to its target's llvm-objdump;
/// `done` counts the units built.
fn compile(
    ctx: &Context<'_>,
    jobs: &[Job<'_>],
    index: usize,
    feed: Option<&Mutex<Feed>>,
    done: &AtomicUsize,
) -> Result<Fresh, BuildError> {
    let job = &jobs[index];
    ctx.progress.event(&Event::Command {
        tool: Tool::Clang,
        line: ctx.toolchain.compile_command_line(job.target, job.unit),
    });
    let compiled = ctx
        .toolchain
        .compile(job.target, job.unit)
        .map_err(BuildError::Toolchain)?;
    if let Some(feed) = feed {
        let mut feed = feed.lock().unwrap_or_else(PoisonError::into_inner);
        feed.disassembler
            .add_object(&job.unit.name, &compiled.object);
        feed.jobs.push(index);
    }
    ctx.progress.event(&Event::Compiled {
        unit: &job.id(),
        done: done.fetch_add(1, Ordering::Relaxed) + 1,
        total: jobs.len(),
    });
    Ok(Fresh {
        object: compiled.object,
        warnings: compiled.warnings,
        clang_time: compiled.clang_time,
    })
}

/// Each job given to `feed`, with objdump's listing of its object.
fn finish(feed: Mutex<Feed>) -> Result<Vec<(usize, String)>, BuildError> {
    let feed = feed.into_inner().unwrap_or_else(PoisonError::into_inner);
    let listings = feed
        .disassembler
        .finish_listings()
        .map_err(BuildError::Toolchain)?;
    Ok(feed.jobs.into_iter().zip(listings).collect())
}

/// Store the entries of the jobs at `indices`; the errors, as warnings.
fn store(
    ctx: &Context<'_>,
    jobs: &[Job<'_>],
    keys: &[Option<Key>],
    entries: &[Option<Entry>],
    indices: &[usize],
) -> Vec<String> {
    let Some(cache) = ctx.cache else {
        return Vec::new();
    };
    let mut errors: Vec<(usize, String)> = ctx.pool.install(|| {
        indices
            .par_iter()
            .filter_map(|&index| {
                let (key, entry) = (keys[index].as_ref()?, entries[index].as_ref()?);
                let error = cache.store(key, entry).err()?;
                Some((
                    index,
                    format!(
                        "cannot store {} in the stencil cache at {}: {error}",
                        jobs[index].id(),
                        cache.dir().display()
                    ),
                ))
            })
            .collect()
    });
    errors.sort();
    errors.into_iter().map(|(_, e)| e).collect()
}

/// Lower an entry's object and cut its listing to the stencil's code.
fn lower_entry(
    job: &Job<'_>,
    entry: &Entry,
    values: &DeclaredValues,
) -> Result<StencilGroup, BuildError> {
    let mut group = lower::lower(&entry.object, job.target, &job.unit.name, values)
        .and_then(|group| lower::require_declared(group, job.target))
        .map_err(BuildError::Lower)?;
    group.disassembly = toolchain::tidy_listing(job.target, &entry.listing, group.code.len());
    Ok(group)
}

fn warnings_of(job: &Job<'_>, entry: Option<&Entry>) -> String {
    match entry {
        Some(entry) if !entry.warnings.trim().is_empty() => format!(
            "warnings for `{}` on {}:\n{}",
            job.unit.name,
            job.target.triple,
            entry.warnings.trim_end()
        ),
        _ => String::new(),
    }
}
