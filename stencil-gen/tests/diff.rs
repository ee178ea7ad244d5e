//! The stencil diff on real data: the stencils of clang 16 against those of
//! clang 19 for every target, and committed manifests at a git revision of
//! a real repository against a working tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use stencil_gen::diff::{self, DiffError, DiffOptions, Figures, ManifestSet, StencilDiff};
use stencil_gen::pipeline::{self, GenOptions};
use stencil_gen::target;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The manifests generated with LLVM `major`.
fn generated(major: u32) -> ManifestSet {
    let mut opts = GenOptions::new(workspace_root(), "uop-defs/defs");
    opts.llvm_major = major;
    let generation = pipeline::generate(&opts).unwrap_or_else(|e| panic!("LLVM {major}: {e}"));
    let label = format!("LLVM {}", generation.report.llvm_version);
    ManifestSet::from_generation(&label, &generation).unwrap()
}

fn llvm16() -> &'static ManifestSet {
    static SET: OnceLock<ManifestSet> = OnceLock::new();
    SET.get_or_init(|| generated(16))
}

fn llvm19() -> &'static ManifestSet {
    static SET: OnceLock<ManifestSet> = OnceLock::new();
    SET.get_or_init(|| generated(19))
}

fn upgrade() -> &'static StencilDiff {
    static DIFF: OnceLock<StencilDiff> = OnceLock::new();
    DIFF.get_or_init(|| diff::diff(llvm16(), llvm19(), &DiffOptions::default()).unwrap())
}

fn sum<'a>(figures: impl Iterator<Item = &'a Figures>) -> Figures {
    figures.fold(Figures::default(), |t, f| Figures {
        code_bytes: t.code_bytes + f.code_bytes,
        data_bytes: t.data_bytes + f.data_bytes,
        holes: t.holes + f.holes,
        instructions: t.instructions + f.instructions,
    })
}

#[test]
fn llvm_16_builds_every_uop_and_the_totals_are_the_sums_of_the_rows() {
    let d = upgrade();
    assert!(d.a.starts_with("LLVM 16.") && d.b.starts_with("LLVM 19."));
    let triples: Vec<&str> = d.targets.iter().map(|t| t.target.as_str()).collect();
    let all: Vec<&str> = target::ALL.iter().map(|t| t.triple).collect();
    assert_eq!(triples, all);
    for t in &d.targets {
        let m19 = &llvm19().manifests[&t.target];
        let m16 = &llvm16().manifests[&t.target];
        assert_eq!(m16.uops.len(), m19.uops.len());
        // Every stencil on both sides, the shim first, in B's order.
        let names: Vec<&str> = t.rows.iter().map(|r| r.name.as_str()).collect();
        let expected: Vec<&str> = std::iter::once("shim")
            .chain(m19.uops.iter().map(|u| u.name.as_str()))
            .collect();
        assert_eq!(names, expected);
        assert!(t.rows[0].shim && t.rows.iter().skip(1).all(|r| !r.shim));
        assert!(t.rows.iter().all(|r| r.a.is_some() && r.b.is_some()));

        assert_eq!(t.total_a, sum(t.rows.iter().filter_map(|r| r.a.as_ref())));
        assert_eq!(t.total_b, sum(t.rows.iter().filter_map(|r| r.b.as_ref())));
        let change = |f: fn(&diff::Change) -> i64| t.rows.iter().map(|r| f(&r.change)).sum::<i64>();
        assert_eq!(t.total_change.code_bytes, change(|c| c.code_bytes));
        assert_eq!(t.total_change.holes, change(|c| c.holes));
        assert_eq!(
            t.total_change.code_bytes,
            t.total_b.code_bytes as i64 - t.total_a.code_bytes as i64
        );

        // The figures are those of the manifests.
        for (row, uop) in t.rows.iter().skip(1).zip(&m19.uops) {
            let b = row.b.unwrap();
            assert_eq!(b.code_bytes, uop.stencil.code.len() as u64, "{}", row.name);
            assert_eq!(b.data_bytes, uop.stencil.data.len() as u64, "{}", row.name);
            assert_eq!(
                b.holes,
                (uop.stencil.code_holes.len() + uop.stencil.data_holes.len()) as u64
            );
            // Every non-empty stencil has instructions, never more than bytes.
            assert_eq!(b.code_bytes == 0, b.instructions == 0, "{}", row.name);
            assert!(b.instructions <= b.code_bytes);
        }
        assert_eq!(t.llvm_a.as_deref(), Some(m16.llvm_version.as_str()));
        assert_eq!(t.llvm_b.as_deref(), Some(m19.llvm_version.as_str()));
    }
}

#[test]
fn the_missing_preserve_none_of_llvm_16_is_noted() {
    let d = upgrade();
    assert_eq!(
        d.notes,
        ["LLVM 16: no preserve_none; stencils use the C calling convention"]
    );
    assert!(d
        .to_text()
        .contains("\nnote: LLVM 16: no preserve_none; stencils use the C calling convention\n"));
    let same = diff::diff(llvm19(), llvm19(), &DiffOptions::default()).unwrap();
    assert!(same.notes.is_empty());
}

#[test]
fn the_preserve_none_version_is_the_one_the_templates_test() {
    let prologue =
        std::fs::read_to_string(workspace_root().join("stencil-gen/templates/prologue.c")).unwrap();
    let guard = format!("__clang_major__ >= {}", diff::PRESERVE_NONE_SINCE);
    let at = prologue.find(&guard).expect("the preserve_none guard");
    assert!(prologue[at..]
        .lines()
        .nth(1)
        .unwrap()
        .contains("preserve_none"));
}

#[test]
fn changed_code_comes_with_a_unified_diff_of_the_disassembly() {
    let d = upgrade();
    assert!(d.has_changes());
    for t in &d.targets {
        let m16 = &llvm16().manifests[&t.target];
        let m19 = &llvm19().manifests[&t.target];
        let mut with_code_change = 0;
        for row in t.rows.iter().skip(1) {
            let a = &m16
                .uops
                .iter()
                .find(|u| u.name == row.name)
                .unwrap()
                .stencil;
            let b = &m19
                .uops
                .iter()
                .find(|u| u.name == row.name)
                .unwrap()
                .stencil;
            assert_eq!(row.changed, !a.same_machine_code(b), "{}", row.name);
            if a.code == b.code {
                continue;
            }
            with_code_change += 1;
            let diff = row
                .disassembly_diff
                .as_deref()
                .unwrap_or_else(|| panic!("{} has no diff", row.name));
            let lines: Vec<&str> = diff.lines().collect();
            assert_eq!(
                lines[0],
                format!(
                    "--- A/{}/{} (LLVM {})",
                    t.target, row.name, m16.llvm_version
                )
            );
            assert_eq!(
                lines[1],
                format!(
                    "+++ B/{}/{} (LLVM {})",
                    t.target, row.name, m19.llvm_version
                )
            );
            assert!(lines[2].starts_with("@@ -"), "{diff}");
            // Offsets and raw bytes are stripped: no line starts with an
            // offset column.
            assert!(!lines.iter().any(|l| has_offset_column(l)), "{diff}");
            assert!(
                lines.iter().skip(2).any(|l| l.starts_with(['+', '-'])),
                "{diff}"
            );
        }
        // Nearly every uop where LLVM 16 lacks preserve_none (x86-64,
        // aarch64); some where both use the C calling convention.
        let preserve_none = target::Target::find(&t.target)
            .is_some_and(|t| matches!(t.arch, runtime::Arch::X86_64 | runtime::Arch::Aarch64));
        let least = if preserve_none { 10 } else { 0 };
        assert!(with_code_change > least, "{}: {with_code_change}", t.target);
        // A uop whose code is the same in both has no diff.
        for row in t.rows.iter().filter(|r| !r.changed) {
            assert!(row.disassembly_diff.is_none(), "{}", row.name);
        }
    }
}

/// Whether a diff line keeps objdump's `offset:` column.
fn has_offset_column(line: &str) -> bool {
    let body = line.get(1..).unwrap_or("").trim_start();
    body.split_once(": ").is_some_and(|(offset, _)| {
        !offset.is_empty() && offset.chars().all(|c| c.is_ascii_hexdigit())
    })
}

#[test]
fn hole_kinds_appear_and_vanish_per_uop_and_per_target() {
    let d = upgrade();
    for t in &d.targets {
        let m16 = &llvm16().manifests[&t.target];
        let m19 = &llvm19().manifests[&t.target];
        let kinds = |m: &diff::manifest::Manifest| -> BTreeSet<String> {
            std::iter::once(&m.shim)
                .chain(m.uops.iter().map(|u| &u.stencil))
                .flat_map(|s| s.holes().map(|h| h.kind.clone()))
                .collect()
        };
        let (k16, k19) = (kinds(m16), kinds(m19));
        let appeared: Vec<String> = k19.difference(&k16).cloned().collect();
        let vanished: Vec<String> = k16.difference(&k19).cloned().collect();
        assert_eq!(t.hole_kinds_appeared, appeared);
        assert_eq!(t.hole_kinds_vanished, vanished);
    }
    // On aarch64, LLVM 16 calls the sqrt helper with `bl` and LLVM 19 loads
    // it from the GOT.
    let aarch64 = d
        .targets
        .iter()
        .find(|t| t.target == "aarch64-unknown-linux-gnu")
        .unwrap();
    let sqrt = aarch64
        .rows
        .iter()
        .find(|r| r.name == "sqrt_f64.r01")
        .unwrap();
    assert_eq!(sqrt.hole_kinds_vanished, ["aarch64_branch26"]);
    assert!(sqrt
        .hole_kinds_appeared
        .contains(&"aarch64_adrp_page21".to_string()));
}

#[test]
fn json_round_trips_and_markdown_has_a_table_per_target() {
    let d = upgrade();
    let json = d.to_json();
    let back: StencilDiff = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, d);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format_version"], diff::FORMAT_VERSION);
    assert!(value["targets"][0]["rows"][1]["a"]["code_bytes"].is_u64());

    let md = d.to_markdown();
    let heads = md
        .lines()
        .filter(|l| l.starts_with("| stencil | code bytes A | code bytes B | Δ |"))
        .count();
    let rules = md.lines().filter(|l| l.starts_with("|:--|--:|")).count();
    let tables = target::ALL.len();
    assert_eq!((heads, rules), (tables, tables), "{md}");
    for t in &d.targets {
        assert!(md.contains(&format!("### `{}`", t.target)));
        let total = format!(
            "| **total** | {} | {} |",
            t.total_a.code_bytes, t.total_b.code_bytes
        );
        assert!(md.contains(&total), "{md}");
    }
    assert!(md.contains("```diff\n--- A/"), "{md}");
    assert!(md.contains("> **Note:** LLVM 16: no preserve_none"));

    let text = d.to_text();
    for t in &d.targets {
        assert!(text.contains(&format!(
            "\n{} (A: LLVM {}, B: LLVM {})\n",
            t.target,
            t.llvm_a.as_deref().unwrap(),
            t.llvm_b.as_deref().unwrap()
        )));
    }
    assert!(text.contains("\n--- A/x86_64-unknown-linux-gnu/"));
}

#[test]
fn one_uop_can_be_selected_and_an_unknown_one_is_an_error() {
    let opts = DiffOptions {
        uop: Some("sqrt_f64".to_string()),
    };
    let d = diff::diff(llvm16(), llvm19(), &opts).unwrap();
    // A uop's name selects all its variants; a variant's name, that one.
    for t in &d.targets {
        let names: Vec<&str> = t.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sqrt_f64.r01",
                "sqrt_f64.r11",
                "sqrt_f64.r22",
                "sqrt_f64.r33"
            ]
        );
    }
    let opts = DiffOptions {
        uop: Some("sqrt_f64.r22".to_string()),
    };
    let d = diff::diff(llvm16(), llvm19(), &opts).unwrap();
    for t in &d.targets {
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].name, "sqrt_f64.r22");
        assert_eq!(Some(t.total_b), t.rows[0].b);
    }
    let opts = DiffOptions {
        uop: Some("no_such_uop".to_string()),
    };
    let err = diff::diff(llvm16(), llvm19(), &opts).unwrap_err();
    assert!(matches!(err, DiffError::UnknownUop { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with("no stencil named `no_such_uop` on either side; known: "),
        "{message}"
    );
    assert!(message.contains("sqrt_f64") && message.contains("shim"));
}

#[test]
fn the_same_stencils_have_no_changes() {
    let d = diff::diff(llvm19(), llvm19(), &DiffOptions::default()).unwrap();
    assert!(!d.has_changes());
    for t in &d.targets {
        assert!(t
            .rows
            .iter()
            .all(|r| !r.changed && r.disassembly_diff.is_none()));
        assert_eq!(t.total_a, t.total_b);
        assert!(t.hole_kinds_appeared.is_empty() && t.hole_kinds_vanished.is_empty());
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Stencil Test",
            "-c",
            "user.email=stencil@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Add a `nop` at the end of `uop`'s code in a manifest file.
fn append_nop(path: &Path, uop: &str) {
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entry = manifest["uops"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|u| u["name"] == uop)
        .unwrap();
    let stencil = &mut entry["stencil"];
    let code = stencil["code"].as_str().unwrap().to_string();
    let offset = code.len() / 2;
    stencil["code"] = format!("{code}90").into();
    stencil["disassembly"]
        .as_array_mut()
        .unwrap()
        .push(format!("{offset:>4x}: 90  nop").into());
    std::fs::write(path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}

#[test]
fn a_git_revision_against_the_working_tree() {
    // The project lies in a subdirectory of the repository, as it may.
    let repo = tempfile::tempdir().unwrap();
    let project = repo.path().join("project");
    let generated = project.join("generated");
    std::fs::create_dir_all(&generated).unwrap();
    for t in target::ALL {
        let name = format!("{}.json", t.module);
        std::fs::copy(
            workspace_root().join("generated").join(&name),
            generated.join(&name),
        )
        .unwrap();
    }
    git(repo.path(), &["init", "--quiet"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "stencils"]);
    let x86 = generated.join("x86_64_unknown_linux_gnu.json");
    append_nop(&x86, "add_i64.r01");
    git(repo.path(), &["commit", "--quiet", "-am", "longer add_i64"]);
    // The working tree: the aarch64 manifest is gone.
    std::fs::remove_file(generated.join("aarch64_unknown_linux_gnu.json")).unwrap();

    let all: Vec<_> = target::ALL.iter().collect();
    let rel = Path::new("generated");
    let working = ManifestSet::from_dir("working tree", &generated, &all).unwrap();
    assert_eq!(working.manifests.len(), target::ALL.len() - 1);

    // HEAD~1 against the working tree: add_i64 grew by a byte and aarch64
    // is only in A.
    let base = ManifestSet::from_git(&project, "HEAD~1", rel, &all).unwrap();
    assert_eq!(base.label, "HEAD~1");
    assert_eq!(base.manifests.len(), target::ALL.len());
    let d = diff::diff(&base, &working, &DiffOptions::default()).unwrap();
    assert!(d.has_changes());
    let (aarch64, x86_64) = (&d.targets[0], &d.targets[1]);
    assert_eq!(aarch64.target, "aarch64-unknown-linux-gnu");
    assert_eq!(aarch64.llvm_b, None);
    assert!(aarch64.rows.iter().all(|r| r.b.is_none() && r.changed));
    assert_eq!(aarch64.total_b, Figures::default());
    let changed: Vec<&str> = x86_64
        .rows
        .iter()
        .filter(|r| r.changed)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(changed, ["add_i64.r01"]);
    let row = x86_64
        .rows
        .iter()
        .find(|r| r.name == "add_i64.r01")
        .unwrap();
    assert_eq!(row.change.code_bytes, 1);
    assert_eq!(row.change.instructions, 1);
    assert_eq!(x86_64.total_change.code_bytes, 1);
    let unified = row.disassembly_diff.as_deref().unwrap();
    assert!(unified.starts_with("--- A/x86_64-unknown-linux-gnu/add_i64.r01 (HEAD~1, LLVM "));
    assert!(unified.contains("\n+nop\n"), "{unified}");
    assert_eq!(unified.lines().filter(|l| l.starts_with('+')).count(), 2);
    assert!(
        d.to_text().contains("\n* jump.r00 (only in A) "),
        "{}",
        d.to_text()
    );

    // HEAD has the longer add_i64 too: only aarch64 differs.
    let head = ManifestSet::from_git(&project, "HEAD", rel, &all).unwrap();
    let d = diff::diff(&head, &working, &DiffOptions::default()).unwrap();
    assert!(d.targets[1].rows.iter().all(|r| !r.changed));

    // Bad revisions are errors that say so.
    let err = ManifestSet::from_git(&project, "no-such-rev", rel, &all).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown revision `no-such-rev`"),
        "{err}"
    );
    let err = ManifestSet::from_git(&project, "--all", rel, &all).unwrap_err();
    assert!(err.to_string().contains("is not a revision"), "{err}");
}
