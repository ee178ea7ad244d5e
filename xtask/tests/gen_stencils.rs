//! `cargo xtask gen-stencils` as a user runs it, with the real LLVM 19
//! tools: the plain progress lines and summary, `--check` on a fresh and on
//! a stale output directory (writing nothing), and a warm cache.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("CI", "true")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir`, with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let content = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), content);
            }
        }
    }
    files
}

/// A copy of the committed `generated/`.
fn copy_of_generated() -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for (path, bytes) in snapshot(&workspace_root().join("generated")) {
        let to = copy.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    copy
}

#[test]
fn check_tells_fresh_from_stale_writes_nothing_and_uses_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let cache_arg = cache.path().to_str().unwrap();
    let out = copy_of_generated();
    let out_arg = out.path().to_str().unwrap();
    let before = snapshot(out.path());

    // Cold cache: a plain line per unit compiled, and the summary.
    let fresh = xtask(&[
        "gen-stencils",
        "--check",
        "--out",
        out_arg,
        "--cache-dir",
        cache_arg,
    ]);
    let (stdout, stderr) = (text(&fresh.stdout), text(&fresh.stderr));
    assert!(fresh.status.success(), "{stdout}\n{stderr}");
    let compiled: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("compiled "))
        .collect();
    let units = compiled.len();
    assert!(units > 2, "{stderr}");
    // Counted 1 to N, whatever order the units finish in.
    let mut counts: Vec<usize> = compiled
        .iter()
        .map(|l| {
            let count = l.rsplit_once(" (").unwrap().1;
            let (done, total) = count.trim_end_matches(')').split_once('/').unwrap();
            assert_eq!(total.parse::<usize>().unwrap(), units, "{l}");
            done.parse().unwrap()
        })
        .collect();
    counts.sort();
    assert_eq!(counts, (1..=units).collect::<Vec<_>>());
    assert!(
        compiled
            .iter()
            .any(|l| l.contains("add_i64.r21 for aarch64-unknown-linux-gnu (")),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "recompiled {units} of {units} translation units (0 cached) in "
        )),
        "{stdout}"
    );
    assert!(stdout.contains("generated files are fresh"), "{stdout}");
    assert_eq!(snapshot(out.path()), before);

    // A stale output directory: exit status 1, what differs, nothing
    // written; the cache is warm, so no unit compiles.
    let manifest = out.path().join("x86_64_unknown_linux_gnu.json");
    let edited =
        std::fs::read_to_string(&manifest)
            .unwrap()
            .replacen("\"code\": \"", "\"code\": \"00", 1);
    std::fs::write(&manifest, edited).unwrap();
    let stale_before = snapshot(out.path());
    let stale = xtask(&[
        "gen-stencils",
        "--check",
        "--out",
        out_arg,
        "--cache-dir",
        cache_arg,
    ]);
    let (stdout, stderr) = (text(&stale.stdout), text(&stale.stderr));
    assert_eq!(stale.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("stale: x86_64_unknown_linux_gnu.json (changed)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "recompiled 0 of {units} translation units ({units} cached)"
        )),
        "{stdout}"
    );
    assert!(!stderr.contains("compiled "), "{stderr}");
    assert!(stderr.contains("are stale"), "{stderr}");
    assert_eq!(snapshot(out.path()), stale_before);

    // Without --check, the warm cache rewrites the committed bytes, and
    // --verbose has no command line to print.
    let written = xtask(&[
        "gen-stencils",
        "--verbose",
        "--out",
        out_arg,
        "--cache-dir",
        cache_arg,
    ]);
    let stderr = text(&written.stderr);
    assert!(written.status.success(), "{stderr}");
    assert!(!stderr.contains("clang:"), "{stderr}");
    assert_eq!(snapshot(out.path()), before);
}

#[test]
fn verbose_prints_each_clang_and_objdump_command_line() {
    let root = tempfile::tempdir().unwrap();
    let defs = root.path().join("defs");
    std::fs::create_dir(&defs).unwrap();
    std::fs::write(defs.join("a.uop"), "uop nop( -- ) {\n}\n").unwrap();
    let abi = workspace_root().join("uop-defs/defs/abi.uop");
    std::fs::copy(abi, defs.join("abi.uop")).unwrap();
    let out = root.path().join("out");
    let run = xtask(&[
        "gen-stencils",
        "--target",
        "x86_64",
        "--verbose",
        "--no-cache",
        "--defs",
        defs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let clang: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("clang: "))
        .collect();
    // The shim, and each variant of `nop` and of `cache_spill`.
    assert_eq!(clang.len(), 9, "{stderr}");
    for name in ["shim", "nop.r00", "nop.r33", "cache_spill.r20"] {
        assert!(
            clang
                .iter()
                .any(|l| l.contains("--target=x86_64-unknown-linux-gnu")
                    && l.contains(&format!("-x c {name}.c -o {name}.s && "))
                    && l.ends_with(&format!("-x assembler {name}.s -o {name}.o"))),
            "{stderr}"
        );
    }
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("llvm-objdump: ") && l.ends_with("--disassemble --reloc -"))
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stdout.contains("recompiled 9 of 9 translation units (0 cached)"),
        "{stdout}"
    );
    assert!(out.join("x86_64_unknown_linux_gnu.json").is_file());
}

#[test]
fn no_cache_and_a_cache_dir_together_are_refused() {
    let run = xtask(&["gen-stencils", "--no-cache", "--cache-dir", "/tmp"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("cannot be used with"),
        "{}",
        text(&run.stderr)
    );
}
