//! The matrix as Markdown: the tools of each version, one row per version
//! and target with its figures and outcome, why each failure failed, and
//! the timings, which `--check` leaves out of the comparison.

use std::fmt::Write as _;
use std::time::Duration;

use stencil_gen::diff::{self, DiffError, DiffOptions, TargetDiff};
use stencil_gen::target::Target;

use super::execution::{Outcome, Results};
use super::{TargetRun, VersionRun};

/// Everything the file is made from.
pub struct Matrix<'a> {
    pub runs: &'a [VersionRun],
    pub results: &'a Results,
    pub targets: &'a [&'static Target],
    pub pinned: u32,
    pub generation_time: Duration,
    pub execution_time: Duration,
    pub jobs: usize,
}

/// Marks the start of the section `--check` does not compare.
const TIMINGS_START: &str = "<!-- timings: not compared by `cargo xtask llvm-matrix --check` -->";
const TIMINGS_END: &str = "<!-- end of timings -->";

/// Lines of an error or a failure the file shows, at most.
const ERROR_LINES: usize = 12;
/// Failures of one check the file shows, at most.
const FAILURES_SHOWN: usize = 3;

/// One (version, target) cell: what happened, in a few words.
enum Status<'a> {
    NoTools,
    GenerationFailed(&'a str),
    NotExecuted,
    CannotRun(&'a str),
    Ran {
        runner: &'a str,
        checks: &'a [(String, Vec<String>)],
    },
}

impl Status<'_> {
    fn passed(&self) -> bool {
        matches!(self, Status::Ran { checks, .. } if checks.iter().all(|(_, f)| f.is_empty()))
    }

    /// The cell of the at-a-glance grid.
    fn mark(&self) -> &'static str {
        match self {
            _ if self.passed() => "✓",
            Status::NoTools => "no clang",
            Status::GenerationFailed(_) => "✗ generation",
            Status::NotExecuted | Status::CannotRun(_) => "✗ not run",
            Status::Ran { .. } => "✗ checks",
        }
    }

    /// The result column of a row.
    fn describe(&self) -> String {
        match self {
            Status::NoTools => "not run: no clang of this version".to_string(),
            Status::GenerationFailed(_) => "generation failed".to_string(),
            Status::NotExecuted => "generated; not executed".to_string(),
            Status::CannotRun(_) => "generated; cannot run".to_string(),
            Status::Ran { runner, checks } => {
                let failed: Vec<&str> = checks
                    .iter()
                    .filter(|(_, f)| !f.is_empty())
                    .map(|(name, _)| name.as_str())
                    .collect();
                if failed.is_empty() {
                    format!(
                        "{} of {} checks pass ({runner})",
                        checks.len(),
                        checks.len()
                    )
                } else {
                    format!(
                        "fails {} of {} checks: {} ({runner})",
                        failed.len(),
                        checks.len(),
                        failed.join(", ")
                    )
                }
            }
        }
    }
}

fn status<'a>(m: &'a Matrix<'_>, run: &'a VersionRun, target: &Target) -> Status<'a> {
    let Some(target_run) = target_run(run, target) else {
        return Status::NoTools;
    };
    if let Some(error) = &target_run.error {
        return Status::GenerationFailed(error);
    }
    match m.results.get(&(run.major, target.triple.to_string())) {
        None => Status::NotExecuted,
        Some(Outcome::Error(e)) => Status::CannotRun(e),
        Some(Outcome::Ran { runner, checks }) => Status::Ran { runner, checks },
    }
}

fn target_run<'a>(run: &'a VersionRun, target: &Target) -> Option<&'a TargetRun> {
    run.targets
        .iter()
        .find(|t| t.target.triple == target.triple)
}

/// Each version's figures per target, against the pinned version's
/// stencils when that version ran.
fn figures(m: &Matrix<'_>, run: &VersionRun) -> Result<Vec<TargetDiff>, DiffError> {
    if run.manifests.manifests.is_empty() {
        return Ok(Vec::new());
    }
    let base = m
        .runs
        .iter()
        .find(|r| r.major == m.pinned && !r.manifests.manifests.is_empty())
        .map_or(&run.manifests, |r| &r.manifests);
    Ok(diff::diff(base, &run.manifests, &DiffOptions::default())?.targets)
}

/// The whole file.
pub fn markdown(m: &Matrix<'_>) -> Result<String, DiffError> {
    let mut out = String::new();
    let versions: Vec<String> = m.runs.iter().map(|r| r.major.to_string()).collect();
    let _ = writeln!(out, "# LLVM compatibility matrix\n");
    let _ = writeln!(
        out,
        "Made by `cargo xtask llvm-matrix` (see README.md, \"LLVM versions\"); do not edit. \
         With each LLVM version ({}), the stencils of every target are generated alone \
         and cold (no stencil cache), then every execution check the committed stencils get \
         (`vm/tests/conformance`: the benchmark programs, a deopt resumed in the interpreter, \
         random programs, one program per uop, every variant of every uop) runs on that \
         version's manifests, natively or under qemu-user. Figures are totals over the {} \
         stencils of a target (shim and every variant of every uop); \"changed\" counts \
         stencils whose code, data or holes differ from LLVM {}'s.\n",
        versions.join(", "),
        m.runs
            .iter()
            .flat_map(|r| r.manifests.manifests.values())
            .map(|manifest| manifest.uops.len() + 1)
            .next()
            .map_or("generated".to_string(), |n| n.to_string()),
        m.pinned
    );
    glance(&mut out, m);
    tools(&mut out, m);
    rows(&mut out, m)?;
    failures(&mut out, m);
    notes(&mut out, m)?;
    timings(&mut out, m);
    Ok(out)
}

fn glance(out: &mut String, m: &Matrix<'_>) {
    let _ = writeln!(out, "## At a glance\n");
    let mut header = "| LLVM |".to_string();
    let mut rule = "|---|".to_string();
    for t in m.targets {
        let _ = write!(header, " {} |", t.short);
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for run in m.runs {
        let mut line = format!("| {} |", run.major);
        for t in m.targets {
            let _ = write!(line, " {} |", status(m, run, t).mark());
        }
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
}

fn tools(out: &mut String, m: &Matrix<'_>) {
    let _ = writeln!(out, "## Tools\n");
    let _ = writeln!(out, "| LLVM | clang | llvm-objdump |\n|---|---|---|");
    for run in m.runs {
        match &run.tools {
            Some(tools) => {
                let _ = writeln!(
                    out,
                    "| {} | {}, {} | {} |",
                    run.major, tools.clang_version, tools.clang, tools.objdump_version
                );
            }
            None => {
                let _ = writeln!(out, "| {} | not found | |", run.major);
            }
        }
    }
    out.push('\n');
}

fn rows(out: &mut String, m: &Matrix<'_>) -> Result<(), DiffError> {
    let _ = writeln!(out, "## Results\n");
    let _ = writeln!(
        out,
        "| LLVM | target | result | code bytes | holes | instructions | stencils changed vs {} |",
        m.pinned
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|");
    for run in m.runs {
        let figures = figures(m, run)?;
        for t in m.targets {
            let status = status(m, run, t);
            let row = figures.iter().find(|d| d.target == t.triple);
            let (bytes, holes, instructions, changed) = match row {
                Some(d) if d.llvm_b.is_some() => {
                    let stencils = d.rows.iter().filter(|r| r.b.is_some()).count();
                    let changed = if run.major == m.pinned {
                        "(base)".to_string()
                    } else if d.llvm_a.is_none() {
                        "—".to_string()
                    } else {
                        let n = d.rows.iter().filter(|r| r.changed).count();
                        format!("{n} of {stencils}")
                    };
                    (
                        d.total_b.code_bytes.to_string(),
                        d.total_b.holes.to_string(),
                        d.total_b.instructions.to_string(),
                        changed,
                    )
                }
                _ => Default::default(),
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {bytes} | {holes} | {instructions} | {changed} |",
                run.major,
                t.triple,
                status.describe()
            );
        }
    }
    out.push('\n');
    Ok(())
}

/// `text`'s first lines in a fenced block, saying how many were left out.
fn block(out: &mut String, text: &str) {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let _ = writeln!(out, "```text");
    for line in lines.iter().take(ERROR_LINES) {
        let _ = writeln!(out, "{}", line.replace("```", "'''"));
    }
    if lines.len() > ERROR_LINES {
        let _ = writeln!(out, "... ({} more lines)", lines.len() - ERROR_LINES);
    }
    let _ = writeln!(out, "```\n");
}

fn failures(out: &mut String, m: &Matrix<'_>) {
    let _ = writeln!(out, "## Why a version fails on a target\n");
    let mut any = false;
    for run in m.runs {
        if let Some(missing) = &run.missing {
            any = true;
            let _ = writeln!(out, "### LLVM {}: no clang\n", run.major);
            block(out, missing);
        }
        for t in m.targets {
            let (title, texts): (&str, Vec<String>) = match status(m, run, t) {
                Status::GenerationFailed(e) => ("generation", vec![e.to_string()]),
                Status::CannotRun(e) => ("execution", vec![e.to_string()]),
                Status::NotExecuted => (
                    "execution",
                    vec!["the execution step wrote nothing for this table".to_string()],
                ),
                Status::Ran { checks, .. } => (
                    "execution",
                    checks
                        .iter()
                        .filter(|(_, f)| !f.is_empty())
                        .map(|(name, f)| {
                            let mut text = format!("{name}: {} failure(s)", f.len());
                            for failure in f.iter().take(FAILURES_SHOWN) {
                                text.push('\n');
                                text.push_str(failure);
                            }
                            text
                        })
                        .collect(),
                ),
                Status::NoTools => continue,
            };
            if texts.is_empty() {
                continue;
            }
            any = true;
            let _ = writeln!(out, "### LLVM {}, `{}`: {title}\n", run.major, t.triple);
            for text in texts {
                block(out, &text);
            }
        }
    }
    if !any {
        let _ = writeln!(out, "Every version runs every check on every target.\n");
    }
}

fn notes(out: &mut String, m: &Matrix<'_>) -> Result<(), DiffError> {
    let mut lines = Vec::new();
    for run in m.runs {
        if run.major == m.pinned && !run.manifests.manifests.is_empty() {
            lines.push(if run.unlike_committed.is_empty() {
                format!(
                    "- LLVM {} (pinned): every manifest generated equals the committed one in \
                     `generated/`, byte for byte.",
                    run.major
                )
            } else {
                format!(
                    "- LLVM {} (pinned): the manifests of {} differ from the committed ones in \
                     `generated/`.",
                    run.major,
                    run.unlike_committed.join(", ")
                )
            });
        }
        if !run.manifests.manifests.is_empty() {
            let d = diff::diff(&run.manifests, &run.manifests, &DiffOptions::default())?;
            lines.extend(d.notes.into_iter().map(|n| format!("- {n}.")));
        }
        // Each warning once, with the targets it came from.
        let mut warnings: Vec<(&str, Vec<&str>)> = Vec::new();
        for t in &run.targets {
            for w in &t.warnings {
                match warnings.iter_mut().find(|(line, _)| line == w) {
                    Some((_, targets)) => targets.push(t.target.short),
                    None => warnings.push((w, vec![t.target.short])),
                }
            }
        }
        for (line, targets) in warnings {
            lines.push(format!(
                "- LLVM {}: clang warns `{line}` ({}).",
                run.major,
                targets.join(", ")
            ));
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "## Notes\n\n{}\n", lines.join("\n"));
    }
    Ok(())
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn timings(out: &mut String, m: &Matrix<'_>) {
    let _ = writeln!(out, "{TIMINGS_START}\n");
    let _ = writeln!(out, "## Cold generation time\n");
    let _ = writeln!(
        out,
        "Wall time of each target's generation alone with an empty stencil cache, with {} \
         compile jobs, on the machine that last wrote this file. The whole run took {} to \
         generate and {} to execute.\n",
        m.jobs,
        seconds(m.generation_time),
        seconds(m.execution_time)
    );
    let mut header = "| LLVM |".to_string();
    let mut rule = "|---|".to_string();
    for t in m.targets {
        let _ = write!(header, " {} |", t.short);
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "{header} all |\n{rule}---:|");
    for run in m.runs {
        let mut line = format!("| {} |", run.major);
        for t in m.targets {
            let cell = target_run(run, t)
                .map(|r| seconds(r.time))
                .unwrap_or_default();
            let _ = write!(line, " {cell} |");
        }
        let total: Duration = run.targets.iter().map(|t| t.time).sum();
        let _ = writeln!(out, "{line} {} |", seconds(total));
    }
    let _ = writeln!(out, "\n{TIMINGS_END}");
}

/// The file without its timings section.
fn without_timings(text: &str) -> String {
    match (text.find(TIMINGS_START), text.find(TIMINGS_END)) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{}", &text[..start], &text[end + TIMINGS_END.len()..])
        }
        _ => text.to_string(),
    }
}

/// `None` when `committed` and `fresh` agree but for their timings; else
/// a unified diff from the one to the other.
pub fn compare(committed: &str, fresh: &str) -> Option<String> {
    let (a, b) = (without_timings(committed), without_timings(fresh));
    if a == b {
        return None;
    }
    let diff = similar::TextDiff::from_lines(&a, &b);
    Some(
        diff.unified_diff()
            .context_radius(2)
            .header("committed", "this run")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    use stencil_gen::diff::ManifestSet;
    use stencil_gen::target::{AARCH64_LINUX, X86_64_LINUX};

    use crate::llvm_matrix::{Tools, VersionRun};

    /// The committed manifests of `targets`, as if LLVM `major` made them.
    fn committed(major: u32, targets: &[&'static Target]) -> ManifestSet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated");
        let mut set = ManifestSet::from_dir("committed", &dir, targets).unwrap();
        set.label = format!("LLVM {major}");
        set
    }

    fn generated(target: &'static Target, error: Option<&str>) -> TargetRun {
        TargetRun {
            target,
            error: error.map(str::to_string),
            warnings: Vec::new(),
            time: Duration::from_millis(4200),
        }
    }

    fn tools(version: &str, clang: &str) -> Option<Tools> {
        Some(Tools {
            clang: clang.to_string(),
            clang_version: version.to_string(),
            objdump_version: "19.1.7".to_string(),
        })
    }

    #[test]
    fn a_version_that_fails_says_where_and_why() {
        let both: &[&'static Target] = &[&AARCH64_LINUX, &X86_64_LINUX];
        let runs = [
            VersionRun {
                major: 19,
                tools: tools("19.1.7", "`clang-19`"),
                missing: None,
                targets: vec![generated(&AARCH64_LINUX, None), generated(&X86_64_LINUX, None)],
                manifests: committed(19, both),
                unlike_committed: Vec::new(),
            },
            VersionRun {
                major: 21,
                tools: None,
                missing: Some("clang of LLVM 21 not found; looked for clang-21 in PATH".into()),
                targets: Vec::new(),
                manifests: committed(21, &[]),
                unlike_committed: Vec::new(),
            },
            VersionRun {
                major: 22,
                tools: tools("22.1.8", "`zig clang` (ziglang 0.17.0)"),
                missing: None,
                targets: vec![
                    generated(&AARCH64_LINUX, None),
                    generated(
                        &X86_64_LINUX,
                        Some("cannot lower `add_i64.r00` for x86_64-unknown-linux-gnu: relocation type 42"),
                    ),
                ],
                manifests: committed(22, &[&AARCH64_LINUX]),
                unlike_committed: Vec::new(),
            },
        ];
        let ran = |failures: Vec<String>| Outcome::Ran {
            runner: "qemu-aarch64".to_string(),
            checks: vec![
                ("benchmark programs".to_string(), Vec::new()),
                ("every uop".to_string(), failures),
            ],
        };
        let results: Results = [
            ((19, AARCH64_LINUX.triple.to_string()), ran(Vec::new())),
            (
                (19, X86_64_LINUX.triple.to_string()),
                Outcome::Error("no runner".to_string()),
            ),
            (
                (22, AARCH64_LINUX.triple.to_string()),
                ran(vec![
                    "uop `neg_i64`: got Ok(1), the interpreter gives Ok(-1)".to_string(),
                ]),
            ),
        ]
        .into_iter()
        .collect();
        let text = markdown(&Matrix {
            runs: &runs,
            results: &results,
            targets: both,
            pinned: 19,
            generation_time: Duration::from_secs(90),
            execution_time: Duration::from_secs(3),
            jobs: 2,
        })
        .unwrap();
        let section = |title: &str| {
            let start = text
                .find(title)
                .unwrap_or_else(|| panic!("{title}:\n{text}"));
            let end = text[start + 2..]
                .find("\n## ")
                .map_or(text.len(), |e| start + 3 + e);
            text[start..end].to_string()
        };
        assert_eq!(
            section("## At a glance"),
            "## At a glance\n\n| LLVM | aarch64 | x86_64 |\n|---|---|---|\n\
             | 19 | ✓ | ✗ not run |\n| 21 | no clang | no clang |\n\
             | 22 | ✗ checks | ✗ generation |\n\n"
        );
        assert_eq!(
            section("## Tools"),
            "## Tools\n\n| LLVM | clang | llvm-objdump |\n|---|---|---|\n\
             | 19 | 19.1.7, `clang-19` | 19.1.7 |\n| 21 | not found | |\n\
             | 22 | 22.1.8, `zig clang` (ziglang 0.17.0) | 19.1.7 |\n\n"
        );
        let results = section("## Results");
        assert!(
            results.contains(
                "| 22 | `aarch64-unknown-linux-gnu` | fails 1 of 2 checks: every uop (qemu-aarch64) \
                 | 4108 | 269 | 1027 | 0 of 205 |\n"
            ),
            "{results}"
        );
        assert!(
            results.contains(
                "| 19 | `aarch64-unknown-linux-gnu` | 2 of 2 checks pass (qemu-aarch64) | 4108 | 269 \
                 | 1027 | (base) |\n"
            ),
            "{results}"
        );
        assert!(
            results
                .contains("| 22 | `x86_64-unknown-linux-gnu` | generation failed |  |  |  |  |\n"),
            "{results}"
        );
        assert!(results
            .contains("| 21 | `x86_64-unknown-linux-gnu` | not run: no clang of this version |"));
        assert_eq!(
            section("## Why a version fails on a target"),
            "## Why a version fails on a target\n\n\
             ### LLVM 19, `x86_64-unknown-linux-gnu`: execution\n\n```text\nno runner\n```\n\n\
             ### LLVM 21: no clang\n\n```text\nclang of LLVM 21 not found; looked for clang-21 in PATH\n```\n\n\
             ### LLVM 22, `aarch64-unknown-linux-gnu`: execution\n\n```text\nevery uop: 1 failure(s)\n\
             uop `neg_i64`: got Ok(1), the interpreter gives Ok(-1)\n```\n\n\
             ### LLVM 22, `x86_64-unknown-linux-gnu`: generation\n\n```text\n\
             cannot lower `add_i64.r00` for x86_64-unknown-linux-gnu: relocation type 42\n```\n\n"
        );
        assert!(text.contains(
            "- LLVM 19 (pinned): every manifest generated equals the committed one in `generated/`, \
             byte for byte."
        ));
        let timings = section("## Cold generation time");
        assert!(
            timings.contains("| 19 | 4.2 s | 4.2 s | 8.4 s |\n"),
            "{timings}"
        );
        assert!(timings.contains("| 21 |  |  | 0.0 s |\n"), "{timings}");
    }

    #[test]
    fn the_comparison_leaves_out_the_timings_only() {
        let file = |table: &str, time: &str| {
            format!("# m\n\n{table}\n\n{TIMINGS_START}\n\n| 19 | {time} |\n\n{TIMINGS_END}\n")
        };
        assert_eq!(
            compare(&file("| 19 | ✓ |", "41.0 s"), &file("| 19 | ✓ |", "57.3 s")),
            None
        );
        let diff = compare(
            &file("| 19 | ✓ |", "41.0 s"),
            &file("| 19 | ✗ checks |", "41.0 s"),
        )
        .unwrap();
        assert!(diff.contains("-| 19 | ✓ |\n+| 19 | ✗ checks |\n"), "{diff}");
        // A file without the section is compared whole.
        assert!(compare("a\n", "b\n").is_some());
    }
}
