//! Independent witnesses: every reference uop (and the shim) is compiled
//! for every target in `stencil_gen::target::ALL`, lowered, and the same
//! object bytes are read again by two readers that share no code with the
//! generator's `obj` module:
//!
//! - (a) `goblin` (its ELF, Mach-O and COFF readers);
//! - (b) `llvm-readobj` of the pinned LLVM (the tool `llvm-readelf` is
//!   another name of), with `--sections --symbols --relocations
//!   --expand-relocs`: its JSON output (`--elf-output-style=JSON`) for ELF;
//!   LLVM 19 has no JSON output for Mach-O or COFF, so for those its
//!   default LLVM-style listing is parsed (`witnesses/listing.rs`).
//!
//! The checks:
//!
//! 1. The witnesses agree: the same relocations (section, offset, type
//!    name, referent, explicit addend, Mach-O pc-relative flag and width)
//!    in every section, and the same name, role and size for each section
//!    holding relocations.
//! 2. Every relocation either witness reports in a section lowering
//!    placed is a hole at the section's placement plus its offset, of the
//!    kind this test's own table (`witnesses/mapping.rs`) gives for the
//!    relocation type's name, with the same value and addend (implicit
//!    Mach-O and COFF addends are read from the bytes by this test's own
//!    rules, `witnesses/addend.rs`). GOT relocations (and COFF `__imp_`
//!    symbols) are a code hole at the data's GOT slot plus the addend,
//!    whose data hole holds the referent. A RISC-V PCREL_LO12 takes the
//!    value of the HI20 at its label, with the addend shifted by the
//!    distance between the two. A Mach-O ARM64_RELOC_ADDEND and the
//!    relocation after it are one hole. The continuation jump at the very
//!    end of the code may have no hole when `trailing_jump_removed` is set.
//!    Each placed section's bytes are in the stencil where lowering says,
//!    but for the bytes holes rewrite.
//! 3. Every hole comes from such a relocation, except a GOT slot's data
//!    hole.
//!
//! The reference uops make clang emit few addends, so the same checks also
//! run on one hand-written assembly file per object format and instruction
//! set (`witnesses/fixtures/`), full of addends, pairs and import slots.
//! Other tests change a lowered stencil or a report and see the checks
//! fail.
//!
//! Relocations in sections lowering leaves out are not checked, and only
//! when the section is unwind information (`.eh_frame`,
//! `__compact_unwind`, `.pdata`, `.xdata`) or metadata that is never
//! loaded (not allocated ELF sections, `.llvm_addrsig`, `__DWARF`,
//! `__LLVM`, COFF sections marked for removal or information); a left-out
//! section that holds code or data is a failure. (With the project's clang
//! flags no relocation lands in such a section today.)

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

use stencil_gen::lower::{lower_with_layout, Layout};
use stencil_gen::model::{Hole, StencilGroup, Value};
use stencil_gen::target::{Target, ALL};

#[path = "witnesses/account.rs"]
mod account;
#[path = "witnesses/addend.rs"]
mod addend;
#[path = "witnesses/agree.rs"]
mod agree;
#[path = "witnesses/by_goblin.rs"]
mod by_goblin;
#[path = "witnesses/by_readobj.rs"]
mod by_readobj;
#[path = "witnesses/corpus.rs"]
mod corpus;
#[path = "witnesses/listing.rs"]
mod listing;
#[path = "witnesses/mapping.rs"]
mod mapping;
#[path = "witnesses/names.rs"]
mod names;
#[path = "witnesses/report.rs"]
mod report;

use account::{account, Lowered, Tally};
use agree::agreement;
use corpus::{assemble, corpus, fixture, readobj, reports, union, Built, Unit};
use report::{Report, Seen};

fn fail_if_any(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn both_witnesses_report_the_same_relocations() {
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for built in corpus() {
        let units = match &built.units {
            Ok(units) => units,
            Err(e) => {
                failures.push(format!("{}: {e}", built.target.triple));
                continue;
            }
        };
        let mut compared = 0;
        for unit in units {
            match reports(unit) {
                Ok((goblin, readobj)) => {
                    compared += goblin.relocations.len();
                    failures.extend(agreement(built.target, &unit.name, goblin, readobj));
                }
                Err(e) => failures.push(format!("{} `{}`: {e}", built.target.triple, unit.name)),
            }
        }
        if compared == 0 {
            failures.push(format!(
                "{}: the witnesses report no relocation",
                built.target.triple
            ));
        }
        summary.push(format!(
            "{}: {compared} relocations in {} units",
            built.target.triple,
            units.len()
        ));
    }
    println!("{}", summary.join("\n"));
    fail_if_any(&failures);
}

#[test]
fn every_relocation_is_a_hole_and_every_hole_a_relocation() {
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for built in corpus() {
        let target = built.target;
        let units = match &built.units {
            Ok(units) => units,
            Err(e) => {
                failures.push(format!("{}: {e}", target.triple));
                continue;
            }
        };
        let mut tally = Tally::default();
        for unit in units {
            let (goblin, readobj) = match reports(unit) {
                Ok(reports) => reports,
                Err(e) => {
                    failures.push(format!("{} `{}`: {e}", target.triple, unit.name));
                    continue;
                }
            };
            let (group, layout) = match &unit.lowered {
                Ok(lowered) => lowered,
                Err(e) => {
                    failures.push(format!(
                        "{} `{}`: lowering failed: {e}",
                        target.triple, unit.name
                    ));
                    continue;
                }
            };
            let relocations = union(goblin, readobj);
            failures.extend(account(
                &Lowered {
                    target,
                    uop: &unit.name,
                    report: goblin,
                    relocations: &relocations,
                    group,
                    layout,
                },
                &mut tally,
            ));
        }
        let checked: usize = tally.types.values().sum();
        if checked == 0 {
            failures.push(format!("{}: no relocation was checked", target.triple));
        }
        summary.push(format!(
            "{}: {} units, {checked} relocations ({} through the GOT, {} PCREL_LO12 pairs, {} ADDEND pairs, {} removed trailing jumps); types {:?}; skipped {:?}",
            target.triple,
            tally.units,
            tally.got_loads,
            tally.pcrel_pairs,
            tally.addend_pairs,
            tally.trailing_jumps,
            tally.types,
            tally.skipped
        ));
    }
    println!("{}", summary.join("\n"));
    fail_if_any(&failures);
}

/// The first unit of each target whose stencil has a hole of a relocation
/// in its code that is not a GOT load, with what it needs for accounting.
fn sample(built: &Built) -> Option<(&Unit, &Report, Vec<Seen>)> {
    let units = built.units.as_ref().ok()?;
    units.iter().find_map(|unit| {
        let (goblin, readobj) = reports(unit).ok()?;
        let (group, _) = unit.lowered.as_ref().ok()?;
        let direct = group.code_holes.iter().any(|h| h.value != Value::Data);
        direct.then(|| (unit, goblin, union(goblin, readobj)))
    })
}

fn account_with(
    target: &Target,
    unit: &Unit,
    report: &Report,
    relocations: &[Seen],
    group: &StencilGroup,
) -> Vec<String> {
    let (_, layout) = unit.lowered.as_ref().expect("lowered");
    account(
        &Lowered {
            target,
            uop: &unit.name,
            report,
            relocations,
            group,
            layout,
        },
        &mut Tally::default(),
    )
}

#[test]
fn the_accounting_catches_a_changed_stencil() {
    let mut bytes_changed = 0;
    for built in corpus() {
        let target = built.target;
        let (unit, report, relocations) =
            sample(built).unwrap_or_else(|| panic!("{}: no unit to change", target.triple));
        let (group, _) = unit.lowered.as_ref().expect("lowered");
        let unchanged = account_with(target, unit, report, &relocations, group);
        assert!(unchanged.is_empty(), "{unchanged:?}");
        let victim = group
            .code_holes
            .iter()
            .position(|h| h.value != Value::Data)
            .expect("a hole");
        let offset = group.code_holes[victim].offset;

        let mut moved = group.clone();
        moved.code_holes[victim].addend += 1;
        let failures = account_with(target, unit, report, &relocations, &moved);
        assert!(
            failures.iter().any(|f| f.contains(target.triple)
                && f.contains(&unit.name)
                && f.contains("expected")),
            "{}: a changed addend went unnoticed: {failures:?}",
            target.triple
        );

        let mut missing = group.clone();
        missing.code_holes.remove(victim);
        let failures = account_with(target, unit, report, &relocations, &missing);
        assert!(
            failures
                .iter()
                .any(|f| f.contains(&format!("no hole at code+{offset:#x}"))),
            "{}: a missing hole went unnoticed: {failures:?}",
            target.triple
        );

        let mut extra = group.clone();
        extra.code_holes.push(Hole {
            offset: offset + 1,
            ..group.code_holes[victim].clone()
        });
        let failures = account_with(target, unit, report, &relocations, &extra);
        assert!(
            failures
                .iter()
                .any(|f| f.contains(&format!("code+{:#x}: hole", offset + 1))
                    && f.contains("comes from no relocation")),
            "{}: a hole without a relocation went unnoticed: {failures:?}",
            target.triple
        );

        let uncovered = (0..group.code.len() as u32).find(|&at| {
            group.code_holes.iter().all(|h| {
                !(u64::from(h.offset)..u64::from(h.offset) + mapping::hole_size(h.kind))
                    .contains(&u64::from(at))
            })
        });
        if let Some(at) = uncovered {
            let mut rewritten = group.clone();
            rewritten.code[at as usize] ^= 0xff;
            let failures = account_with(target, unit, report, &relocations, &rewritten);
            assert!(
                failures
                    .iter()
                    .any(|f| f.contains(&format!("code bytes at {at:#x} are not the section's"))),
                "{}: a changed code byte went unnoticed: {failures:?}",
                target.triple
            );
            bytes_changed += 1;
        }

        let mut retyped = group.clone();
        let kind = retyped.code_holes[victim].kind;
        retyped.code_holes[victim].kind = if kind == runtime::HoleKind::Abs64 {
            runtime::HoleKind::PcRel64
        } else {
            runtime::HoleKind::Abs64
        };
        let failures = account_with(target, unit, report, &relocations, &retyped);
        assert!(
            failures
                .iter()
                .any(|f| f.contains(&format!("expected {kind:?}"))),
            "{}: a changed kind went unnoticed: {failures:?}",
            target.triple
        );
    }
    assert!(
        bytes_changed > 0,
        "no stencil had a code byte outside its holes"
    );
}

/// Each unit of `built` that satisfies `wanted`, with its relocations.
fn units_where<'a>(
    built: &'a Built,
    wanted: impl Fn(&StencilGroup, &Layout) -> bool + 'a,
) -> impl Iterator<Item = (&'a Unit, &'a Report, Vec<Seen>, &'a StencilGroup)> + 'a {
    built.units.iter().flatten().filter_map(move |unit| {
        let (goblin, readobj) = reports(unit).ok()?;
        let (group, layout) = unit.lowered.as_ref().ok()?;
        wanted(group, layout).then(|| (unit, goblin, union(goblin, readobj), group))
    })
}

#[test]
fn the_accounting_catches_a_changed_got_pair_or_trailing_jump() {
    let mut checked = [0; 4];
    for built in corpus() {
        let target = built.target;
        let check = |unit: &Unit,
                     report: &Report,
                     relocations: &[Seen],
                     group: &StencilGroup,
                     needle: &str| {
            let failures = account_with(target, unit, report, relocations, group);
            assert!(
                failures
                    .iter()
                    .any(|f| f.contains(target.triple) && f.contains(needle)),
                "{} `{}`: expected a failure with `{needle}`, got {failures:?}",
                target.triple,
                unit.name
            );
        };
        if let Some((unit, report, relocations, group)) =
            units_where(built, |_, layout| layout.got_slots > 0).next()
        {
            let (_, layout) = unit.lowered.as_ref().expect("lowered");
            let mut changed = group.clone();
            let slot = changed
                .data_holes
                .iter_mut()
                .find(|h| u64::from(h.offset) == layout.got_offset)
                .expect("a GOT slot hole");
            slot.value = Value::Symbol("elsewhere".to_string());
            check(unit, report, &relocations, &changed, "its GOT slot");
            checked[0] += 1;
        }
        if let Some((unit, report, relocations, group)) = units_where(built, |group, _| {
            group
                .code_holes
                .iter()
                .any(|h| h.kind == runtime::HoleKind::Riscv64PcRelLo12I)
        })
        .next()
        {
            let mut changed = group.clone();
            let low = changed
                .code_holes
                .iter_mut()
                .find(|h| h.kind == runtime::HoleKind::Riscv64PcRelLo12I)
                .expect("a PCREL_LO12 hole");
            low.addend += 4;
            check(unit, report, &relocations, &changed, "expected its AUIPC's");
            checked[1] += 1;
        }
        if let Some((unit, report, relocations, group)) =
            units_where(built, |group, _| group.trailing_jump_removed).next()
        {
            let mut changed = group.clone();
            changed.trailing_jump_removed = false;
            check(unit, report, &relocations, &changed, "no hole at code+");
            checked[2] += 1;
        }
        if let Some((unit, report, relocations, group)) =
            units_where(built, |group, _| !group.trailing_jump_removed).next()
        {
            let mut changed = group.clone();
            changed.trailing_jump_removed = true;
            check(
                unit,
                report,
                &relocations,
                &changed,
                "trailing_jump_removed is set",
            );
            checked[3] += 1;
        }
    }
    assert!(
        checked.iter().all(|&n| n > 0),
        "cases tried per kind of change: {checked:?}"
    );
}

#[test]
fn the_agreement_check_catches_a_differing_witness() {
    for built in corpus() {
        let target = built.target;
        let (unit, report, _) =
            sample(built).unwrap_or_else(|| panic!("{}: no unit to change", target.triple));
        assert!(agreement(target, &unit.name, report, report).is_empty());
        let mut shifted = report.clone();
        let first = &mut shifted.relocations[0];
        first.offset += 2;
        let (section, offset, type_name) = (first.section, first.offset, first.type_name.clone());
        let failures = agreement(target, &unit.name, report, &shifted);
        let name = report.section_name(section);
        assert!(
            failures.iter().any(|f| f.contains(&format!(
                "{name}+{offset:#x} {type_name}: only llvm-readobj"
            ))),
            "{}: a moved relocation went unnoticed: {failures:?}",
            target.triple
        );
        let mut dropped = report.clone();
        dropped.relocations.pop();
        let failures = agreement(target, &unit.name, report, &dropped);
        assert!(
            failures
                .iter()
                .any(|f| f.contains("only goblin reports it")),
            "{}: a missing relocation went unnoticed: {failures:?}",
            target.triple
        );
    }
}

#[test]
fn hand_written_relocations_are_accounted_for_too() {
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for target in ALL {
        let path = fixture(target);
        let fail =
            |problem: String| format!("{} fixture {}: {problem}", target.triple, path.display());
        if !path.is_file() {
            failures.push(fail(
                "missing: every object format and instruction set needs one".into(),
            ));
            continue;
        }
        let object = match assemble(target, &path) {
            Ok(object) => object,
            Err(e) => {
                failures.push(fail(format!("clang failed: {e}")));
                continue;
            }
        };
        let name = "fixture";
        let goblin = by_goblin::read(&object);
        let readobj = readobj()
            .read_all(&[(name.to_string(), object.clone())])
            .pop();
        let (goblin, readobj) = match (goblin, readobj) {
            (Ok(goblin), Some(Ok(readobj))) => (goblin, readobj),
            (goblin, readobj) => {
                failures.push(fail(format!(
                    "unreadable: {:?} / {:?}",
                    goblin.err(),
                    readobj
                )));
                continue;
            }
        };
        failures.extend(agreement(target, name, &goblin, &readobj));
        let (group, layout) = match lower_with_layout(&object, target, name, reference_values()) {
            Ok(lowered) => lowered,
            Err(e) => {
                failures.push(fail(format!("lowering failed: {e}")));
                continue;
            }
        };
        let relocations = union(&goblin, &readobj);
        let mut tally = Tally::default();
        failures.extend(account(
            &Lowered {
                target,
                uop: name,
                report: &goblin,
                relocations: &relocations,
                group: &group,
                layout: &layout,
            },
            &mut tally,
        ));
        let checked: usize = tally.types.values().sum();
        if checked != relocations.len() {
            failures.push(fail(format!(
                "{checked} of {} relocations accounted for",
                relocations.len()
            )));
        }
        summary.push(format!(
            "{} fixture: {checked} relocations ({} through the GOT, {} PCREL_LO12 pairs, {} ADDEND pairs, {} removed trailing jumps); types {:?}",
            target.triple,
            tally.got_loads,
            tally.pcrel_pairs,
            tally.addend_pairs,
            tally.trailing_jumps,
            tally.types
        ));
    }
    println!("{}", summary.join("\n"));
    fail_if_any(&failures);
}
