//! The corpus every test here shares: each reference uop and the shim,
//! compiled for every target, read by both witnesses and lowered, once per
//! test run; and the hand-written fixtures.

#[allow(unused_imports)]
use crate::abi_support::{reference_abi, reference_values};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use stencil_gen::emit_c::{emit_shim, emit_uop, CSource};
use stencil_gen::lower::{lower_with_layout, Layout};
use stencil_gen::model::StencilGroup;
use stencil_gen::target::{Target, ALL};
use stencil_gen::toolchain::{compile_args, Toolchain, PINNED_LLVM_MAJOR};

use super::by_goblin;
use super::by_readobj::Readobj;
use super::report::{Report, Seen};

/// Parallel clang runs (the machines this runs on are small).
const JOBS: usize = 2;

/// One compiled unit of one target, as each reader sees it.
pub struct Unit {
    pub name: String,
    pub goblin: Result<Report, String>,
    pub readobj: Result<Report, String>,
    pub lowered: Result<(StencilGroup, Layout), String>,
}

/// A compiled object file, or why clang failed.
type Object = Result<Vec<u8>, String>;

/// Every unit of one target, or why they could not be built.
pub struct Built {
    pub target: &'static Target,
    pub units: Result<Vec<Unit>, String>,
}

/// Compiled, read and lowered once per test run, for all tests here.
pub fn corpus() -> &'static [Built] {
    static CORPUS: OnceLock<Vec<Built>> = OnceLock::new();
    CORPUS.get_or_init(build)
}

fn sources() -> Vec<CSource> {
    let defs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../uop-defs/defs");
    let files = uop_defs::load_dir(&defs)
        .unwrap_or_else(|d| panic!("{d}"))
        .files;
    let mut units = vec![emit_shim(reference_abi()).unwrap_or_else(|e| panic!("{e:?}"))];
    for file in &files {
        for uop in &file.uops {
            units.push(emit_uop(reference_abi(), file, uop).unwrap_or_else(|e| panic!("{e:?}")));
        }
    }
    units
}

pub fn toolchain() -> &'static Toolchain {
    static TOOLCHAIN: OnceLock<Toolchain> = OnceLock::new();
    TOOLCHAIN
        .get_or_init(|| Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}")))
}

pub fn readobj() -> Readobj {
    Readobj::beside(&toolchain().readelf.path)
}

fn build() -> Vec<Built> {
    let toolchain = toolchain();
    let readobj = readobj();
    let sources = sources();
    let jobs: Vec<(usize, usize)> = (0..ALL.len())
        .flat_map(|t| (0..sources.len()).map(move |u| (t, u)))
        .collect();
    let objects: Vec<Mutex<Option<Object>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..JOBS {
            scope.spawn(|| loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(t, u)) = jobs.get(job) else { break };
                let compiled = toolchain
                    .compile(&ALL[t], &sources[u])
                    .map(|c| c.object)
                    .map_err(|e| e.to_string());
                *objects[job].lock().unwrap_or_else(|p| p.into_inner()) = Some(compiled);
            });
        }
    });
    let mut objects = objects
        .into_iter()
        .map(|o| o.into_inner().unwrap_or_else(|p| p.into_inner()));
    ALL.iter()
        .map(|target| {
            let compiled: Result<Vec<(String, Vec<u8>)>, String> = sources
                .iter()
                .map(|source| {
                    let object = objects
                        .next()
                        .flatten()
                        .unwrap_or_else(|| Err("not compiled".into()))?;
                    Ok((source.name.clone(), object))
                })
                .collect();
            let units = compiled.map(|compiled| {
                let mut readobj_reports = readobj.read_all(&compiled).into_iter();
                compiled
                    .iter()
                    .map(|(name, object)| Unit {
                        name: name.clone(),
                        goblin: by_goblin::read(object),
                        readobj: readobj_reports
                            .next()
                            .unwrap_or_else(|| Err("no llvm-readobj report".into())),
                        lowered: lower_with_layout(object, target, name, reference_values())
                            .map_err(|e| e.to_string()),
                    })
                    .collect()
            });
            Built { target, units }
        })
        .collect()
}

/// Both witnesses' reports of a unit, or why one is missing.
pub fn reports(unit: &Unit) -> Result<(&Report, &Report), String> {
    match (&unit.goblin, &unit.readobj) {
        (Ok(goblin), Ok(readobj)) => Ok((goblin, readobj)),
        (Err(e), _) => Err(format!("goblin cannot read it: {e}")),
        (_, Err(e)) => Err(format!("llvm-readobj cannot read it: {e}")),
    }
}

/// Every relocation either witness reports, once.
pub fn union(goblin: &Report, readobj: &Report) -> Vec<Seen> {
    let mut all: Vec<Seen> = goblin.relocations.clone();
    for seen in &readobj.relocations {
        if !all.contains(seen) {
            all.push(seen.clone());
        }
    }
    all
}

/// The hand-written assembly for a target's object format and instruction
/// set: the addends, `ARM64_RELOC_ADDEND` pairs, PCREL_LO12 pairs, import
/// slots and relocation forms the reference uops do not make clang emit.
pub fn fixture(target: &Target) -> PathBuf {
    let name = format!("{:?}-{:?}.s", target.format, target.arch).to_lowercase();
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/witnesses/fixtures")
        .join(name)
}

/// Assemble `source` for `target`, with the clang arguments the uops get.
pub fn assemble(target: &Target, source: &Path) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let object = dir.path().join("fixture.o");
    let output = toolchain()
        .clang
        .command()
        .args(compile_args(target))
        .arg(source)
        .arg("-o")
        .arg(&object)
        .output()
        .map_err(|e| format!("cannot run clang: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    std::fs::read(&object).map_err(|e| e.to_string())
}
