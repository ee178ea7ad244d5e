//! The LLVM matrix's execution step: every check of `conformance` on the
//! stencil tables of every LLVM version `cargo xtask llvm-matrix`
//! generated, read from their JSON manifests.
//!
//! ```text
//! STENCIL_MATRIX_DIR=target/llvm-matrix cargo test -p vm --test llvm_matrix
//! ```
//!
//! reads `DIR/llvm-<MAJOR>/*.json` and writes `DIR/execution.json`:
//! per version directory, per target, the runner and each check's
//! failures (a table that cannot be read or run has an `error` instead).
//! It exits 0 whatever the checks found: the matrix reports it. It is not
//! part of a plain `cargo test` (`test = false` in Cargo.toml).

mod conformance;
mod emulation;
#[path = "support/manifest.rs"]
mod manifest;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use conformance::{Runner, CHECKS};
use serde_json::{json, Value as Json};

/// The environment variable naming the matrix directory.
const DIR_ENV: &str = "STENCIL_MATRIX_DIR";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let dir = std::env::var_os(DIR_ENV)
        .filter(|v| !v.is_empty())
        .ok_or(format!(
            "{DIR_ENV} is not set: it names the directory `cargo xtask llvm-matrix` \
         generated the manifests in (`cargo xtask llvm-matrix` runs this itself)"
        ))?;
    let dir = PathBuf::from(dir);
    let mut results = BTreeMap::new();
    for version in version_dirs(&dir)? {
        let name = version
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut targets = BTreeMap::new();
        for manifest in manifests(&version)? {
            let (target, result) = check_manifest(&manifest);
            eprintln!("{name} {target}: {}", summary(&result));
            targets.insert(target, result);
        }
        results.insert(name, Json::Object(targets.into_iter().collect()));
    }
    let out = dir.join("execution.json");
    let text = serde_json::to_string_pretty(&Json::Object(results.into_iter().collect()))
        .map_err(|e| e.to_string())?;
    std::fs::write(&out, text + "\n").map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// The `llvm-*` directories under `dir`, in name order.
fn version_dirs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut dirs: Vec<PathBuf> = read_dir(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("llvm-"))
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The JSON manifests in `dir`, in name order.
fn manifests(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = read_dir(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))
}

/// The target of a manifest and what running its table gave.
fn check_manifest(path: &Path) -> (String, Json) {
    let file = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let table = match manifest::load(path) {
        Ok(table) => table,
        Err(e) => return (file, json!({ "error": e })),
    };
    let target = table.target.to_string();
    let runner = match Runner::for_table(table) {
        Ok(runner) => runner,
        Err(e) => return (target, json!({ "error": e })),
    };
    let checks: Vec<Json> = CHECKS
        .iter()
        .map(|(name, check)| {
            // A check that panics (a harness it cannot start, say) fails
            // with the panic's message; the others still run.
            let failures = catch_unwind(AssertUnwindSafe(|| check(table, &runner)))
                .unwrap_or_else(|panic| vec![format!("panicked: {}", panic_text(&*panic))]);
            json!({ "check": name, "failures": failures })
        })
        .collect();
    (
        target,
        json!({ "runner": runner.describe(), "checks": checks }),
    )
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "no message".to_string())
}

/// `ok`, or how many checks failed, for the progress lines.
fn summary(result: &Json) -> String {
    if let Some(error) = result["error"].as_str() {
        return format!("error: {error}");
    }
    let failed: Vec<&str> = result["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["failures"].as_array().is_some_and(|f| !f.is_empty()))
        .filter_map(|c| c["check"].as_str())
        .collect();
    if failed.is_empty() {
        "ok".to_string()
    } else {
        format!("failed: {}", failed.join(", "))
    }
}
