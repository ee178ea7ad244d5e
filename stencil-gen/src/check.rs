//! The regeneration check: is the committed output exactly what a fresh
//! generation produces, and if not, what differs and why.
//!
//! [`check`] compares a [`Generation`] (in memory) with the files under the
//! output directory and writes nothing. Its [`CheckReport`] reads, in order,
//! each part only when it applies:
//!
//! ```text
//! LLVM version differs: found 16.0.6, the committed stencils need 19.1.7 (install clang-19 llvm-19 or pass --llvm-bin-dir)
//! stale: src/x86_64_unknown_linux_gnu.rs (changed)
//! stale: x86_64_unknown_linux_gnu.json (changed)
//! x86_64-unknown-linux-gnu:
//!   inputs changed: uop-defs/defs/int.uop, uop-defs/defs/stack.uop
//!   uop and_i64: code bytes 12 -> 22
//!   uop branch_if_lt: code holes 1 changed
//!     code hole changed: 17 pc_rel32 zero -4 -> 17 pc_rel32 continue -4
//!   uop no_op: renamed from nop?
//! 2 of 5 generated files are stale; run `cargo xtask gen-stencils --target all`
//! ```
//!
//! The per-uop part compares the JSON manifests; a difference only in a
//! Rust module shows as that file being stale. The reason comes from the
//! input digests the manifests record: the inputs whose digest differs, or,
//! when none does, a hand edit (or another generator version). A hole reads
//! `offset kind value addend`.
//!
//! [`CheckReport::to_json`] gives the same report as JSON for tools (the
//! schema is in `docs/json-output.md`).

mod compare;
mod display;
mod json;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::diff::manifest::{self, Hole};
use crate::pipeline::Generation;
use crate::target::{self, Target};
use crate::writer;

/// The marker every generated file carries near its top.
const GENERATED_MARKER: &str = "@generated";

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// Set when the LLVM found differs from the one the committed manifests
    /// record.
    pub llvm: Option<LlvmMismatch>,
    /// Stale files, in the generation's order, unexpected ones last.
    pub stale: Vec<StaleFile>,
    /// The number of files compared: every generated file, and every
    /// unexpected one.
    pub compared: usize,
    /// What changed per target with a stale file, and why.
    pub targets: Vec<TargetChanges>,
}

/// The LLVM found and the versions the committed manifests need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlvmMismatch {
    pub found: String,
    pub committed: Vec<String>,
}

/// A file of the output directory that is not what the generation made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleFile {
    /// Relative to the output directory.
    pub path: PathBuf,
    pub state: FileState,
    /// Why, for a file that belongs to no target (`src/lib.rs`).
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// Generated, but not committed.
    Missing,
    /// Committed with other content.
    Changed,
    /// Committed and marked generated, but no longer generated.
    Unexpected,
}

/// The changes of one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetChanges {
    pub target: String,
    /// Why: input digests that differ between the committed and the fresh
    /// manifest. Empty lists with stale files mean a hand edit.
    pub inputs: InputChanges,
    /// Stale files of this target while every input digest is equal.
    pub hand_edited: Vec<PathBuf>,
    /// Set when the committed manifest is missing or does not parse.
    pub unreadable: Option<String>,
    /// Top-level manifest changes: LLVM version, symbols, other fields.
    pub manifest: Vec<String>,
    /// Per stencil (the shim is named `shim`), in the fresh order, removed
    /// uops last.
    pub uops: Vec<UopChanges>,
}

/// Input names (DSL files, templates, `clang flags`, `llvm version`) whose
/// digest differs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputChanges {
    pub changed: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl InputChanges {
    fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// What changed in one stencil.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UopChanges {
    pub name: String,
    pub changes: Vec<UopChange>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UopChange {
    /// A uop the committed manifest lacks.
    Added,
    /// A uop the fresh manifest lacks.
    Removed,
    /// An added uop that looks like a removed one renamed: the same
    /// location or the same machine code.
    Renamed { from: String },
    /// Code of another length.
    CodeSize { before: usize, after: usize },
    /// Code of the same length with `differing` other bytes.
    CodeBytes { len: usize, differing: usize },
    /// Data of another length or content.
    Data { before: usize, after: usize },
    /// Holes of the code (`data == false`) or of the data.
    Holes {
        data: bool,
        added: Vec<Hole>,
        removed: Vec<Hole>,
        /// Same offset, other kind, value or addend: (before, after).
        changed: Vec<(Hole, Hole)>,
    },
    /// The uop id, i.e. its place in the stencil table.
    Id { before: String, after: String },
    /// Fields of the uop's entry other than its stencil and id (doc,
    /// location, stack effect, immediates, helpers), or of its stencil
    /// (alignment, trailing jump), by name.
    Info { fields: Vec<String> },
    /// Only the disassembly listing differs.
    Disassembly,
}

impl CheckReport {
    /// Whether every generated file is committed as generated, nothing
    /// unexpected is there, and the LLVM matches.
    pub fn is_fresh(&self) -> bool {
        self.stale.is_empty() && self.llvm.is_none()
    }
}

impl LlvmMismatch {
    /// The mismatch between `found` (a full version, e.g. `16.0.6`) and
    /// the LLVM versions the committed manifests of `targets` under
    /// `out_dir` record; `None` when they agree or none can be read. For
    /// telling a reviewer which LLVM is needed when no generation is
    /// possible, e.g. because the pinned clang is not installed.
    pub fn find(out_dir: &Path, targets: &[&Target], found: &str) -> Option<LlvmMismatch> {
        let committed: BTreeSet<String> = targets
            .iter()
            .filter_map(|t| std::fs::read_to_string(out_dir.join(writer::manifest_path(t))).ok())
            .filter_map(|text| manifest::parse(&text).ok())
            .map(|m| m.llvm_version)
            .collect();
        LlvmMismatch::between(found, committed)
    }

    fn between(found: &str, committed: BTreeSet<String>) -> Option<LlvmMismatch> {
        (!committed.is_empty() && committed.iter().any(|v| v != found)).then(|| LlvmMismatch {
            found: found.to_string(),
            committed: committed.into_iter().collect(),
        })
    }
}

/// Compare `generation` with the committed files under `out_dir`.
/// `found_llvm` is the full version of the LLVM installed (e.g. `16.0.6`).
pub fn check(generation: &Generation, out_dir: &Path, found_llvm: &str) -> CheckReport {
    let mut stale = Vec::new();
    for file in &generation.files {
        let state = match std::fs::read(out_dir.join(&file.path)) {
            Ok(bytes) if bytes == file.bytes => continue,
            Ok(_) => FileState::Changed,
            Err(_) => FileState::Missing,
        };
        let reason = (file.path == Path::new("src").join("lib.rs") && state == FileState::Changed)
            .then(|| lib_reason(&file.bytes, &out_dir.join(&file.path)));
        stale.push(StaleFile {
            path: file.path.clone(),
            state,
            reason,
        });
    }
    let produced: BTreeSet<PathBuf> = generation.files.iter().map(|f| f.path.clone()).collect();
    let unexpected = unexpected_files(out_dir, &produced);
    let compared = generation.files.len() + unexpected.len();
    stale.extend(unexpected.into_iter().map(|path| StaleFile {
        path,
        state: FileState::Unexpected,
        reason: None,
    }));

    let mut committed_versions = BTreeSet::new();
    let mut targets = Vec::new();
    for triple in &generation.report.targets {
        let Some(target) = Target::find(triple) else {
            continue;
        };
        let manifest_path = writer::manifest_path(target);
        let committed = std::fs::read_to_string(out_dir.join(&manifest_path))
            .map_err(|e| format!("cannot read the committed {}: {e}", manifest_path.display()))
            .and_then(|text| {
                manifest::parse(&text).map_err(|e| {
                    format!("cannot read the committed {}: {e}", manifest_path.display())
                })
            });
        if let Ok(m) = &committed {
            committed_versions.insert(m.llvm_version.clone());
        }
        let target_files = [writer::module_path(target), manifest_path.clone()];
        let target_stale: Vec<PathBuf> = stale
            .iter()
            .filter(|s| target_files.contains(&s.path))
            .map(|s| s.path.clone())
            .collect();
        if target_stale.is_empty() {
            continue;
        }
        let fresh = generation
            .files
            .iter()
            .find(|f| f.path == manifest_path)
            .and_then(|f| std::str::from_utf8(&f.bytes).ok())
            .and_then(|text| manifest::parse(text).ok());
        targets.push(match (committed, fresh) {
            (Ok(committed), Some(fresh)) => {
                compare::compare_target(triple, &committed, &fresh, target_stale)
            }
            (Err(unreadable), _) => TargetChanges {
                unreadable: Some(unreadable),
                ..TargetChanges::empty(triple)
            },
            (Ok(_), None) => TargetChanges {
                unreadable: Some(format!(
                    "the fresh {} does not parse",
                    manifest_path.display()
                )),
                ..TargetChanges::empty(triple)
            },
        });
    }
    let llvm = LlvmMismatch::between(found_llvm, committed_versions);
    CheckReport {
        llvm,
        stale,
        compared,
        targets,
    }
}

impl TargetChanges {
    fn empty(triple: &str) -> TargetChanges {
        TargetChanges {
            target: triple.to_string(),
            inputs: InputChanges::default(),
            hand_edited: Vec::new(),
            unreadable: None,
            manifest: Vec::new(),
            uops: Vec::new(),
        }
    }
}

/// Why `src/lib.rs` differs: its template's digest, recorded in its header.
fn lib_reason(fresh: &[u8], committed: &Path) -> String {
    let digest_line = |text: &str| {
        text.lines()
            .find(|l| l.contains("Template digest"))
            .map(str::to_string)
    };
    let committed = std::fs::read_to_string(committed).unwrap_or_default();
    if digest_line(&String::from_utf8_lossy(fresh)) != digest_line(&committed) {
        "inputs changed: stencil-gen/templates/lib.rs".to_string()
    } else {
        "its template digest is the same: edited by hand or generated by a different generator version"
            .to_string()
    }
}

/// Files under `out_dir` marked generated that the generation does not
/// produce and that belong to no known target (a target left out of this
/// generation is not checked). Hidden files and directories are skipped.
fn unexpected_files(out_dir: &Path, produced: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    let known: BTreeSet<PathBuf> = target::ALL
        .iter()
        .flat_map(|t| [writer::module_path(t), writer::manifest_path(t)])
        .chain(produced.iter().cloned())
        .collect();
    let mut found = Vec::new();
    let mut dirs = vec![(PathBuf::new(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(out_dir.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let relative = dir.join(&name);
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < 3 {
                dirs.push((relative, depth + 1));
            } else if kind.is_file()
                && !known.contains(&relative)
                && marked_generated(&entry.path())
            {
                found.push(relative);
            }
        }
    }
    found.sort();
    found
}

fn marked_generated(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(1024);
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    if file.take(1024).read_to_end(&mut head).is_err() {
        return false;
    }
    String::from_utf8_lossy(&head).contains(GENERATED_MARKER)
}
