//! Check 1: the two witnesses report the same relocations.

use std::collections::BTreeSet;

use stencil_gen::target::Target;

use super::account::at;
use super::report::{Report, Seen};

/// Differences between what goblin and llvm-readobj report.
pub fn agreement(target: &Target, uop: &str, goblin: &Report, readobj: &Report) -> Vec<String> {
    let mut failures = Vec::new();
    if (goblin.format, goblin.machine) != (readobj.format, readobj.machine) {
        failures.push(format!(
            "{} `{uop}`: goblin reads {:?} {:?}, llvm-readobj {:?} {:?}",
            target.triple, goblin.format, goblin.machine, readobj.format, readobj.machine
        ));
    }
    let relocated: BTreeSet<usize> = goblin
        .relocations
        .iter()
        .chain(&readobj.relocations)
        .map(|r| r.section)
        .collect();
    for index in relocated {
        let describe = |report: &Report| {
            report
                .section(index)
                .map(|s| (s.name.clone(), s.role, s.size))
        };
        if describe(goblin) != describe(readobj) {
            failures.push(format!(
                "{} `{uop}` section #{index}: goblin sees {:?}, llvm-readobj {:?}",
                target.triple,
                describe(goblin),
                describe(readobj)
            ));
        }
    }
    let mut only_goblin: Vec<&Seen> = goblin.relocations.iter().collect();
    let mut only_readobj = Vec::new();
    for seen in &readobj.relocations {
        match only_goblin.iter().position(|g| *g == seen) {
            Some(found) => {
                only_goblin.remove(found);
            }
            None => only_readobj.push(seen),
        }
    }
    for (witness, report, list) in [
        ("goblin", goblin, only_goblin),
        ("llvm-readobj", readobj, only_readobj),
    ] {
        for seen in list {
            let problem = format!(
                "only {witness} reports it ({}, symbol `{}`, addend {:?}, Mach-O pc-relative/width {:?})",
                seen.referent, seen.symbol, seen.addend, seen.mach
            );
            failures.push(at(target, uop, report, seen, &problem));
        }
    }
    failures
}
