//! What changes between two sets of stencils: built by two LLVM versions,
//! or committed at a git revision and in the working tree.
//!
//! Both sides are [`ManifestSet`]s (the JSON manifests of `generated/`), so
//! every source shares one model, [`StencilDiff`]: per target, one row per
//! stencil (the shim first, then the uops in side B's order, then the uops
//! only side A has) with its code bytes, data bytes, hole count and
//! instruction count on each side and the change; totals per target, which
//! are the sums of the rows; the hole kinds that appeared or vanished, per
//! target and per stencil; and for each changed stencil a unified diff of
//! its disassembly (see [`disassembly`] for what is stripped from the lines
//! first).
//!
//! # JSON
//!
//! `--format json` prints [`StencilDiff`] with serde; the fields are stable
//! and any change to them bumps [`FORMAT_VERSION`]:
//!
//! ```text
//! {
//!   "format_version": 1,
//!   "a": "LLVM 16.0.6",                     side labels
//!   "b": "LLVM 19.1.7",
//!   "notes": ["LLVM 16: no preserve_none; stencils use the C calling convention"],
//!   "targets": [{
//!     "target": "x86_64-unknown-linux-gnu",
//!     "llvm_a": "16.0.6", "llvm_b": "19.1.7",   null: no manifest on that side
//!     "rows": [{
//!       "name": "add_i64",
//!       "shim": false,                       true for the trace's entry stencil
//!       "a": {"code_bytes": 26, "data_bytes": 0, "holes": 2, "instructions": 7},
//!       "b": {...},                          null: the stencil is not on that side
//!       "change": {"code_bytes": -3, "data_bytes": 0, "holes": 0, "instructions": -1},
//!       "changed": true,                     code, data or holes differ, or one side lacks it
//!       "hole_kinds_appeared": ["x86_64_got_load"],
//!       "hole_kinds_vanished": [],
//!       "disassembly_diff": "--- ...\n+++ ...\n@@ ..."   null when unchanged
//!     }],
//!     "total_a": {...}, "total_b": {...}, "total_change": {...},
//!     "hole_kinds_appeared": [], "hole_kinds_vanished": []
//!   }]
//! }
//! ```
//!
//! A side without a stencil counts as zero in `change` and in the totals.
//!
//! `--format text` prints the same as a table per target (changed rows
//! marked `*`) followed by the diffs; `--format markdown` as a table per
//! target with each diff in a collapsed `<details>` section, for a pull
//! request comment.

pub mod disassembly;
pub mod manifest;
mod render;
pub mod source;

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::target;
pub use source::ManifestSet;

/// The version of the JSON structure.
pub const FORMAT_VERSION: u32 = 1;

/// The first LLVM major version whose clang has `preserve_none`; the
/// templates use it from this version on and the C calling convention
/// before (`#if __clang_major__ >= 19` in `templates/prologue.c`).
pub const PRESERVE_NONE_SINCE: u32 = 19;

/// Everything that differs between two sets of stencils.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StencilDiff {
    pub format_version: u32,
    /// The label of side A.
    pub a: String,
    /// The label of side B.
    pub b: String,
    /// Facts a reader needs to read the numbers, e.g. a missing
    /// `preserve_none`.
    pub notes: Vec<String>,
    pub targets: Vec<TargetDiff>,
}

/// The stencils of one target on both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDiff {
    pub target: String,
    /// The LLVM version of side A's manifest; `None` when side A has none.
    pub llvm_a: Option<String>,
    pub llvm_b: Option<String>,
    pub rows: Vec<StencilRow>,
    pub total_a: Figures,
    pub total_b: Figures,
    pub total_change: Change,
    /// Hole kinds some stencil of side B uses and none of side A.
    pub hole_kinds_appeared: Vec<String>,
    /// Hole kinds some stencil of side A uses and none of side B.
    pub hole_kinds_vanished: Vec<String>,
}

/// One stencil on both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StencilRow {
    /// The uop's name, or `shim`.
    pub name: String,
    /// Whether this is the shim, the trace's entry stencil.
    pub shim: bool,
    /// `None` when side A does not have the stencil.
    pub a: Option<Figures>,
    pub b: Option<Figures>,
    /// B minus A.
    pub change: Change,
    /// Whether code, data or holes differ, or only one side has it.
    pub changed: bool,
    pub hole_kinds_appeared: Vec<String>,
    pub hole_kinds_vanished: Vec<String>,
    /// A unified diff of the disassembly, for a stencil on both sides whose
    /// disassembly differs.
    pub disassembly_diff: Option<String>,
}

/// Sizes of a stencil, or of every stencil of a target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub code_bytes: u64,
    pub data_bytes: u64,
    /// Code holes and data holes.
    pub holes: u64,
    pub instructions: u64,
}

/// The difference of two [`Figures`], B minus A.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub code_bytes: i64,
    pub data_bytes: i64,
    pub holes: i64,
    pub instructions: i64,
}

impl Figures {
    fn of(stencil: &manifest::Stencil) -> Figures {
        Figures {
            code_bytes: stencil.code.len() as u64,
            data_bytes: stencil.data.len() as u64,
            holes: stencil.holes().count() as u64,
            instructions: disassembly::instruction_count(&stencil.disassembly),
        }
    }

    fn add(self, other: Figures) -> Figures {
        Figures {
            code_bytes: self.code_bytes + other.code_bytes,
            data_bytes: self.data_bytes + other.data_bytes,
            holes: self.holes + other.holes,
            instructions: self.instructions + other.instructions,
        }
    }
}

impl Change {
    /// `b - a`, a missing side counting as zero.
    pub fn between(a: Option<Figures>, b: Option<Figures>) -> Change {
        let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
        let d = |x: u64, y: u64| y as i64 - x as i64;
        Change {
            code_bytes: d(a.code_bytes, b.code_bytes),
            data_bytes: d(a.data_bytes, b.data_bytes),
            holes: d(a.holes, b.holes),
            instructions: d(a.instructions, b.instructions),
        }
    }
}

impl StencilDiff {
    /// Whether any stencil differs or exists on one side only.
    pub fn has_changes(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.rows.iter().any(|r| r.changed))
    }

    /// Plain text for a terminal.
    pub fn to_text(&self) -> String {
        render::text(self)
    }

    /// Markdown for a pull request: a table per target and the
    /// disassembly diffs in collapsed sections.
    pub fn to_markdown(&self) -> String {
        render::markdown(self)
    }

    /// The JSON structure of the module documentation, pretty-printed.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Which stencils to compare.
#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// Only this uop (or `shim`).
    pub uop: Option<String>,
}

/// Why a diff could not be made.
#[derive(Debug)]
pub enum DiffError {
    /// A manifest does not parse; `origin` says which and from where.
    Manifest {
        origin: String,
        message: String,
    },
    Io {
        path: PathBuf,
        error: io::Error,
    },
    /// git failed.
    Git {
        what: String,
        stderr: String,
    },
    /// `--uop` names a stencil neither side has.
    UnknownUop {
        name: String,
        known: Vec<String>,
    },
    /// Neither side has a manifest of any selected target.
    NoManifests {
        a: String,
        b: String,
    },
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffError::Manifest { origin, message } => {
                write!(f, "cannot read the manifest {origin}: {message}")
            }
            DiffError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            DiffError::Git { what, stderr } => {
                write!(f, "{what}")?;
                if !stderr.trim().is_empty() {
                    write!(f, ":\n{}", stderr.trim_end())?;
                }
                Ok(())
            }
            DiffError::UnknownUop { name, known } => write!(
                f,
                "no stencil named `{name}` on either side; known: {}",
                known.join(", ")
            ),
            DiffError::NoManifests { a, b } => write!(
                f,
                "neither {a} nor {b} has a manifest of the selected targets"
            ),
        }
    }
}

impl std::error::Error for DiffError {}

/// Compare side `a` with side `b`.
pub fn diff(
    a: &ManifestSet,
    b: &ManifestSet,
    opts: &DiffOptions,
) -> Result<StencilDiff, DiffError> {
    let mut triples: Vec<&String> = a.manifests.keys().chain(b.manifests.keys()).collect();
    triples.sort_by_key(|t| {
        let known = target::ALL.iter().position(|k| k.triple == t.as_str());
        (known.unwrap_or(usize::MAX), t.as_str())
    });
    triples.dedup();
    if triples.is_empty() {
        return Err(DiffError::NoManifests {
            a: a.label.clone(),
            b: b.label.clone(),
        });
    }
    if let Some(name) = &opts.uop {
        let mut known = BTreeSet::from(["shim".to_string()]);
        for m in a.manifests.values().chain(b.manifests.values()) {
            known.extend(m.uops.iter().map(|u| u.name.clone()));
        }
        if !known.iter().any(|k| names_stencil(name, k)) {
            return Err(DiffError::UnknownUop {
                name: name.clone(),
                known: known.into_iter().collect(),
            });
        }
    }
    let targets = triples
        .into_iter()
        .map(|triple| {
            let (ma, mb) = (a.manifests.get(triple), b.manifests.get(triple));
            target_diff(triple, ma, mb, &a.label, &b.label, opts)
        })
        .collect();
    let mut majors = BTreeSet::new();
    for m in a.manifests.values().chain(b.manifests.values()) {
        if let Some(major) = major_of(&m.llvm_version) {
            majors.insert(major);
        }
    }
    let notes = majors
        .into_iter()
        .filter(|&major| major < PRESERVE_NONE_SINCE)
        .map(|major| {
            format!("LLVM {major}: no preserve_none; stencils use the C calling convention")
        })
        .collect();
    Ok(StencilDiff {
        format_version: FORMAT_VERSION,
        a: a.label.clone(),
        b: b.label.clone(),
        notes,
        targets,
    })
}

/// The major version of `19.1.7`.
fn major_of(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

fn target_diff(
    triple: &str,
    a: Option<&manifest::Manifest>,
    b: Option<&manifest::Manifest>,
    label_a: &str,
    label_b: &str,
    opts: &DiffOptions,
) -> TargetDiff {
    // (name, shim, stencil on A, stencil on B), shim first, then B's order,
    // then what only A has.
    let mut pairs: Vec<(
        &str,
        bool,
        Option<&manifest::Stencil>,
        Option<&manifest::Stencil>,
    )> = vec![("shim", true, a.map(|m| &m.shim), b.map(|m| &m.shim))];
    for uop in b.iter().flat_map(|m| &m.uops) {
        pairs.push((&uop.name, false, find(a, &uop.name), Some(&uop.stencil)));
    }
    for uop in a.iter().flat_map(|m| &m.uops) {
        if find(b, &uop.name).is_none() {
            pairs.push((&uop.name, false, Some(&uop.stencil), None));
        }
    }
    let rows: Vec<StencilRow> = pairs
        .into_iter()
        .filter(|(name, _, sa, sb)| (sa.is_some() || sb.is_some()) && selected(opts, name))
        .map(|(name, shim, sa, sb)| {
            let header = |side: &str, label: &str, m: Option<&manifest::Manifest>| {
                let mut about = label.to_string();
                if let Some(m) = m.filter(|m| !label.contains(&m.llvm_version)) {
                    about.push_str(&format!(", LLVM {}", m.llvm_version));
                }
                format!("{side}/{triple}/{name} ({about})")
            };
            let (header_a, header_b) = (header("A", label_a, a), header("B", label_b, b));
            row(name, shim, sa, sb, &header_a, &header_b)
        })
        .collect();
    let total_a = rows
        .iter()
        .filter_map(|r| r.a)
        .fold(Figures::default(), Figures::add);
    let total_b = rows
        .iter()
        .filter_map(|r| r.b)
        .fold(Figures::default(), Figures::add);
    let kinds = |side: &dyn Fn(&StencilRow) -> bool, m: Option<&manifest::Manifest>| {
        let Some(m) = m else {
            return BTreeSet::new();
        };
        std::iter::once(("shim", &m.shim))
            .chain(m.uops.iter().map(|u| (u.name.as_str(), &u.stencil)))
            .filter(|(name, _)| rows.iter().any(|r| r.name == *name && side(r)))
            .flat_map(|(_, s)| s.holes().map(|h| h.kind.clone()))
            .collect::<BTreeSet<String>>()
    };
    let kinds_a = kinds(&|r| r.a.is_some(), a);
    let kinds_b = kinds(&|r| r.b.is_some(), b);
    TargetDiff {
        target: triple.to_string(),
        llvm_a: a.map(|m| m.llvm_version.clone()),
        llvm_b: b.map(|m| m.llvm_version.clone()),
        total_change: Change::between(Some(total_a), Some(total_b)),
        total_a,
        total_b,
        hole_kinds_appeared: kinds_b.difference(&kinds_a).cloned().collect(),
        hole_kinds_vanished: kinds_a.difference(&kinds_b).cloned().collect(),
        rows,
    }
}

/// The stencil of uop `name` in `m`.
fn find<'m>(m: Option<&'m manifest::Manifest>, name: &str) -> Option<&'m manifest::Stencil> {
    m.and_then(|m| m.uops.iter().find(|u| u.name == name))
        .map(|u| &u.stencil)
}

fn row(
    name: &str,
    shim: bool,
    a: Option<&manifest::Stencil>,
    b: Option<&manifest::Stencil>,
    header_a: &str,
    header_b: &str,
) -> StencilRow {
    let (fa, fb) = (a.map(Figures::of), b.map(Figures::of));
    let kinds = |s: Option<&manifest::Stencil>| -> BTreeSet<String> {
        s.iter()
            .flat_map(|s| s.holes().map(|h| h.kind.clone()))
            .collect()
    };
    let (kinds_a, kinds_b) = (kinds(a), kinds(b));
    let changed = match (a, b) {
        (Some(a), Some(b)) => !a.same_machine_code(b),
        _ => true,
    };
    let disassembly_diff = match (a, b) {
        (Some(a), Some(b)) if changed => {
            disassembly::unified_diff(&a.disassembly, &b.disassembly, header_a, header_b)
        }
        _ => None,
    };
    StencilRow {
        name: name.to_string(),
        shim,
        a: fa,
        b: fb,
        change: Change::between(fa, fb),
        changed,
        hole_kinds_appeared: kinds_b.difference(&kinds_a).cloned().collect(),
        hole_kinds_vanished: kinds_a.difference(&kinds_b).cloned().collect(),
        disassembly_diff,
    }
}

/// Whether `--uop` selects the stencil `name`.
fn selected(opts: &DiffOptions, name: &str) -> bool {
    opts.uop
        .as_deref()
        .is_none_or(|wanted| names_stencil(wanted, name))
}

/// Whether `wanted` is the stencil `name` or the uop it is a variant of
/// (`add` selects `add.r01`, `add.r11`, ...).
fn names_stencil(wanted: &str, name: &str) -> bool {
    wanted == name || crate::emit_c::split_unit_name(name).0 == wanted
}
