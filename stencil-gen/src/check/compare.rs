//! Comparing a committed manifest with a fresh one: which inputs changed,
//! and what changed in each stencil.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{InputChanges, TargetChanges, UopChange, UopChanges};
use crate::diff::manifest::{Hole, Manifest, Stencil};

pub(super) fn compare_target(
    triple: &str,
    committed: &Manifest,
    fresh: &Manifest,
    target_stale: Vec<PathBuf>,
) -> TargetChanges {
    let inputs = input_changes(&committed.input_digests, &fresh.input_digests);
    let hand_edited = if inputs.is_empty() {
        target_stale
    } else {
        Vec::new()
    };
    TargetChanges {
        target: triple.to_string(),
        inputs,
        hand_edited,
        unreadable: None,
        manifest: manifest_changes(committed, fresh),
        uops: uop_changes(committed, fresh),
    }
}

fn input_changes(
    committed: &BTreeMap<String, String>,
    fresh: &BTreeMap<String, String>,
) -> InputChanges {
    let mut changes = InputChanges::default();
    for (name, digest) in fresh {
        match committed.get(name) {
            None => changes.added.push(name.clone()),
            Some(old) if old != digest => changes.changed.push(name.clone()),
            Some(_) => {}
        }
    }
    changes.removed = committed
        .keys()
        .filter(|name| !fresh.contains_key(*name))
        .cloned()
        .collect();
    changes
}

fn manifest_changes(committed: &Manifest, fresh: &Manifest) -> Vec<String> {
    let mut changes = Vec::new();
    if committed.llvm_version != fresh.llvm_version {
        changes.push(format!(
            "LLVM {} -> {}",
            committed.llvm_version, fresh.llvm_version
        ));
    }
    let (old, new): (BTreeSet<&String>, BTreeSet<&String>) = (
        committed.symbols.iter().collect(),
        fresh.symbols.iter().collect(),
    );
    let added: Vec<&str> = new.difference(&old).map(|s| s.as_str()).collect();
    let removed: Vec<&str> = old.difference(&new).map(|s| s.as_str()).collect();
    if !added.is_empty() {
        changes.push(format!("symbols added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        changes.push(format!("symbols removed: {}", removed.join(", ")));
    }
    // The combined digest only repeats the input digests.
    let mut fields = changed_fields(&committed.other, &fresh.other);
    fields.retain(|f| f != "inputs_digest");
    if !fields.is_empty() {
        changes.push(format!("fields changed: {}", fields.join(", ")));
    }
    changes
}

/// Keys whose values differ, or that only one map has.
fn changed_fields(
    a: &BTreeMap<String, serde_json::Value>,
    b: &BTreeMap<String, serde_json::Value>,
) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn uop_changes(committed: &Manifest, fresh: &Manifest) -> Vec<UopChanges> {
    let mut out = Vec::new();
    let shim = stencil_changes(&committed.shim, &fresh.shim);
    if !shim.is_empty() {
        out.push(UopChanges {
            name: "shim".to_string(),
            changes: shim,
        });
    }
    let by_name = |m: &Manifest, name: &str| m.uops.iter().position(|u| u.name == name);
    let mut removed: Vec<usize> = (0..committed.uops.len())
        .filter(|&i| by_name(fresh, &committed.uops[i].name).is_none())
        .collect();
    for uop in &fresh.uops {
        let mut changes = Vec::new();
        let old = match by_name(committed, &uop.name) {
            Some(i) => Some(&committed.uops[i]),
            None => {
                let renamed = removed.iter().position(|&i| {
                    let old = &committed.uops[i];
                    old.info.get("location") == uop.info.get("location")
                        || old.stencil.same_machine_code(&uop.stencil)
                });
                match renamed {
                    Some(at) => {
                        let old = &committed.uops[removed.remove(at)];
                        changes.push(UopChange::Renamed {
                            from: old.name.clone(),
                        });
                        Some(old)
                    }
                    None => {
                        changes.push(UopChange::Added);
                        None
                    }
                }
            }
        };
        if let Some(old) = old {
            let (old_id, new_id) = (old.info.get("id"), uop.info.get("id"));
            if old_id != new_id {
                let show =
                    |v: Option<&serde_json::Value>| v.map_or("none".to_string(), |v| v.to_string());
                changes.push(UopChange::Id {
                    before: show(old_id),
                    after: show(new_id),
                });
            }
            changes.extend(stencil_changes(&old.stencil, &uop.stencil));
            let mut fields = changed_fields(&old.info, &uop.info);
            // `uop` names the uop a variant belongs to: it changes with a
            // rename, which is reported as such.
            fields.retain(|f| f != "id" && f != "uop");
            if !fields.is_empty() {
                changes.push(UopChange::Info { fields });
            }
        }
        if !changes.is_empty() {
            out.push(UopChanges {
                name: uop.name.clone(),
                changes,
            });
        }
    }
    out.extend(removed.into_iter().map(|i| UopChanges {
        name: committed.uops[i].name.clone(),
        changes: vec![UopChange::Removed],
    }));
    out
}

fn stencil_changes(old: &Stencil, new: &Stencil) -> Vec<UopChange> {
    let mut changes = Vec::new();
    if old.code.len() != new.code.len() {
        changes.push(UopChange::CodeSize {
            before: old.code.len(),
            after: new.code.len(),
        });
    } else if old.code != new.code {
        changes.push(UopChange::CodeBytes {
            len: old.code.len(),
            differing: old
                .code
                .iter()
                .zip(&new.code)
                .filter(|(a, b)| a != b)
                .count(),
        });
    }
    if old.data != new.data {
        changes.push(UopChange::Data {
            before: old.data.len(),
            after: new.data.len(),
        });
    }
    for (data, a, b, same_size) in [
        (
            false,
            &old.code_holes,
            &new.code_holes,
            old.code.len() == new.code.len(),
        ),
        (
            true,
            &old.data_holes,
            &new.data_holes,
            old.data.len() == new.data.len(),
        ),
    ] {
        if a != b {
            changes.push(hole_changes(data, a, b, same_size));
        }
    }
    let fields = changed_fields(&old.other, &new.other);
    if !fields.is_empty() {
        changes.push(UopChange::Info { fields });
    }
    if changes.is_empty() && old.disassembly != new.disassembly {
        changes.push(UopChange::Disassembly);
    }
    changes
}

/// Holes only `old` has, only `new` has, and, when the code (or data) kept
/// its size so that an offset still means the same place, those at one
/// offset that differ otherwise.
fn hole_changes(data: bool, old: &[Hole], new: &[Hole], same_size: bool) -> UopChange {
    let mut removed = multiset_minus(old, new);
    let mut added = multiset_minus(new, old);
    let mut changed = Vec::new();
    removed.retain(
        |r| match added.iter().position(|a| same_size && a.offset == r.offset) {
            Some(at) => {
                changed.push((r.clone(), added.remove(at)));
                false
            }
            None => true,
        },
    );
    UopChange::Holes {
        data,
        added,
        removed,
        changed,
    }
}

/// `a` without one occurrence of each element of `b`.
fn multiset_minus(a: &[Hole], b: &[Hole]) -> Vec<Hole> {
    let mut rest: Vec<&Hole> = b.iter().collect();
    a.iter()
        .filter(|h| match rest.iter().position(|r| r == h) {
            Some(at) => {
                rest.swap_remove(at);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}
