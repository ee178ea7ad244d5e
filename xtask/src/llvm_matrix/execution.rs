//! The matrix's execution step: `cargo test -p vm --test llvm_matrix` run
//! on the matrix directory, and the `execution.json` it writes read back.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value as Json;

/// What the checks found for one table.
pub enum Outcome {
    /// The table ran: its runner and each check's failures.
    Ran {
        runner: String,
        checks: Vec<(String, Vec<String>)>,
    },
    /// It could not be read or run.
    Error(String),
}

/// Every table's outcome, by LLVM major version and target triple.
pub type Results = BTreeMap<(u32, String), Outcome>;

/// The file the execution step writes.
const RESULTS: &str = "execution.json";

/// Removes what an earlier run left in `dir`: the version directories and
/// the results, nothing else.
pub fn clear(dir: &Path) -> Result<(), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let removed = if name.starts_with("llvm-") && path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else if name == RESULTS {
            std::fs::remove_file(&path)
        } else {
            continue;
        };
        removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Runs the checks on every manifest under `dir` and reads what they found.
pub fn run(root: &Path, dir: &Path) -> Result<Results, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let line = "cargo test -p vm --test llvm_matrix";
    errln!("running {line} on {}", dir.display());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["test", "-p", "vm", "--test", "llvm_matrix"])
        .env("STENCIL_MATRIX_DIR", dir)
        // stdout carries this command's own report.
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|e| format!("cannot run `{line}`: {e}"))?;
    if !status.success() {
        return Err(format!("the execution step `{line}` failed ({status})"));
    }
    let path = dir.join(RESULTS);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let json: Json =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    parse(&json).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(json: &Json) -> Result<Results, String> {
    let versions = json.as_object().ok_or("not an object")?;
    let mut results = Results::new();
    for (name, targets) in versions {
        let major: u32 = name
            .strip_prefix("llvm-")
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| format!("`{name}` is not `llvm-MAJOR`"))?;
        let targets = targets
            .as_object()
            .ok_or_else(|| format!("`{name}` is not an object"))?;
        for (target, result) in targets {
            results.insert((major, target.clone()), outcome(result));
        }
    }
    Ok(results)
}

fn outcome(result: &Json) -> Outcome {
    if let Some(error) = result["error"].as_str() {
        return Outcome::Error(error.to_string());
    }
    let strings = |v: &Json| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    Outcome::Ran {
        runner: result["runner"].as_str().unwrap_or_default().to_string(),
        checks: result["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["check"].as_str().unwrap_or_default().to_string(),
                    strings(&c["failures"]),
                )
            })
            .collect(),
    }
}
