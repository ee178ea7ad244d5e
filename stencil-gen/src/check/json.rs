//! `gen-stencils --check --format json`: the check report as JSON, in
//! explicit types so that the schema (`docs/json-output.md`) changes only
//! on purpose.

use std::path::Path;

use serde::Serialize;

use super::{CheckReport, FileState, TargetChanges, UopChange, UopChanges};
use crate::diff::manifest::Hole;

/// Bumped whenever a field changes meaning or goes away.
pub const SCHEMA: u32 = 1;

/// The command that makes stale output fresh.
const FIX: &str = "cargo xtask gen-stencils --target all";

#[derive(Serialize)]
struct Output<'a> {
    schema: u32,
    fresh: bool,
    compared: usize,
    llvm: Option<LlvmJson<'a>>,
    stale: Vec<StaleJson<'a>>,
    targets: Vec<TargetJson<'a>>,
    fix: Option<&'static str>,
}

#[derive(Serialize)]
struct LlvmJson<'a> {
    found: &'a str,
    committed: &'a [String],
}

#[derive(Serialize)]
struct StaleJson<'a> {
    path: String,
    state: &'static str,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct TargetJson<'a> {
    target: &'a str,
    inputs: InputsJson<'a>,
    hand_edited: Vec<String>,
    unreadable: Option<&'a str>,
    manifest: &'a [String],
    uops: Vec<UopJson<'a>>,
}

/// Input names whose recorded digest differs between the committed and the
/// fresh manifest.
#[derive(Serialize)]
struct InputsJson<'a> {
    changed: &'a [String],
    added: &'a [String],
    removed: &'a [String],
}

#[derive(Serialize)]
struct UopJson<'a> {
    name: &'a str,
    changes: Vec<ChangeJson<'a>>,
}

/// One change of a uop's stencil or entry, tagged by `change`.
#[derive(Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
enum ChangeJson<'a> {
    Added,
    Removed,
    Renamed {
        from: &'a str,
    },
    CodeSize {
        before: usize,
        after: usize,
    },
    CodeBytes {
        len: usize,
        differing: usize,
    },
    Data {
        before: usize,
        after: usize,
    },
    Holes {
        part: &'static str,
        added: Vec<HoleJson<'a>>,
        removed: Vec<HoleJson<'a>>,
        changed: Vec<HoleChangeJson<'a>>,
    },
    Id {
        before: &'a str,
        after: &'a str,
    },
    Info {
        fields: &'a [String],
    },
    Disassembly,
}

/// A hole as the manifests spell it; `symbol` is the external symbol's
/// name when `value` is `symbol`.
#[derive(Serialize)]
struct HoleJson<'a> {
    offset: u64,
    kind: &'a str,
    value: &'a str,
    symbol: Option<&'a str>,
    addend: i64,
}

#[derive(Serialize)]
struct HoleChangeJson<'a> {
    before: HoleJson<'a>,
    after: HoleJson<'a>,
}

impl CheckReport {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let output = Output {
            schema: SCHEMA,
            fresh: self.is_fresh(),
            compared: self.compared,
            llvm: self.llvm.as_ref().map(|llvm| LlvmJson {
                found: &llvm.found,
                committed: &llvm.committed,
            }),
            stale: self
                .stale
                .iter()
                .map(|file| StaleJson {
                    path: slashed(&file.path),
                    state: match file.state {
                        FileState::Missing => "missing",
                        FileState::Changed => "changed",
                        FileState::Unexpected => "unexpected",
                    },
                    reason: file.reason.as_deref(),
                })
                .collect(),
            targets: self.targets.iter().map(target).collect(),
            fix: (!self.stale.is_empty()).then_some(FIX),
        };
        // Plain structs of strings and numbers always serialize.
        serde_json::to_string_pretty(&output).unwrap_or_default() + "\n"
    }
}

/// A relative path with `/` between its parts on every platform.
fn slashed(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

fn target(changes: &TargetChanges) -> TargetJson<'_> {
    TargetJson {
        target: &changes.target,
        inputs: InputsJson {
            changed: &changes.inputs.changed,
            added: &changes.inputs.added,
            removed: &changes.inputs.removed,
        },
        hand_edited: changes.hand_edited.iter().map(|p| slashed(p)).collect(),
        unreadable: changes.unreadable.as_deref(),
        manifest: &changes.manifest,
        uops: changes.uops.iter().map(uop).collect(),
    }
}

fn uop(uop: &UopChanges) -> UopJson<'_> {
    UopJson {
        name: &uop.name,
        changes: uop.changes.iter().map(change).collect(),
    }
}

fn change(change: &UopChange) -> ChangeJson<'_> {
    match change {
        UopChange::Added => ChangeJson::Added,
        UopChange::Removed => ChangeJson::Removed,
        UopChange::Renamed { from } => ChangeJson::Renamed { from },
        UopChange::CodeSize { before, after } => ChangeJson::CodeSize {
            before: *before,
            after: *after,
        },
        UopChange::CodeBytes { len, differing } => ChangeJson::CodeBytes {
            len: *len,
            differing: *differing,
        },
        UopChange::Data { before, after } => ChangeJson::Data {
            before: *before,
            after: *after,
        },
        UopChange::Holes {
            data,
            added,
            removed,
            changed,
        } => ChangeJson::Holes {
            part: if *data { "data" } else { "code" },
            added: added.iter().map(hole).collect(),
            removed: removed.iter().map(hole).collect(),
            changed: changed
                .iter()
                .map(|(before, after)| HoleChangeJson {
                    before: hole(before),
                    after: hole(after),
                })
                .collect(),
        },
        UopChange::Id { before, after } => ChangeJson::Id { before, after },
        UopChange::Info { fields } => ChangeJson::Info { fields },
        UopChange::Disassembly => ChangeJson::Disassembly,
    }
}

/// A manifest hole; its value reads `symbol:NAME` for an external symbol.
fn hole(hole: &Hole) -> HoleJson<'_> {
    let (value, symbol) = match hole.value.strip_prefix("symbol:") {
        Some(name) => ("symbol", Some(name)),
        None => (hole.value.as_str(), None),
    };
    HoleJson {
        offset: hole.offset,
        kind: &hole.kind,
        value,
        symbol,
        addend: hole.addend,
    }
}
