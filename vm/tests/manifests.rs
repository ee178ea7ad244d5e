//! Stencil tables read from JSON manifests at run time, as the LLVM matrix
//! reads the output of other LLVM versions: the committed manifests give
//! the committed tables field for field, run, and a damaged manifest is an
//! error naming the file and the field.

mod conformance;
mod emulation;
#[path = "support/manifest.rs"]
mod manifest;

use std::path::{Path, PathBuf};

use runtime::StencilTable;

fn manifest_path(table: &StencilTable) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../generated")
        .join(format!("{}.json", table.target.replace(['-', '.'], "_")))
}

/// Every field but the emit functions, which only the Rust module has.
fn assert_same(loaded: &StencilTable, committed: &StencilTable) {
    let target = committed.target;
    assert_eq!(loaded.target, committed.target);
    assert_eq!(loaded.arch, committed.arch, "{target}");
    assert_eq!(loaded.llvm_version, committed.llvm_version, "{target}");
    assert_eq!(loaded.code_align, committed.code_align, "{target}");
    assert_eq!(loaded.cache, committed.cache, "{target}");
    assert_eq!(loaded.symbols, committed.symbols, "{target}");
    assert_eq!(loaded.op_values, committed.op_values, "{target}");
    assert_eq!(loaded.trace_values, committed.trace_values, "{target}");
    // Stencils and uop information compare by every field they print.
    let shown = |s: &dyn std::fmt::Debug| format!("{s:?}");
    assert_eq!(shown(&loaded.shim), shown(&committed.shim), "{target}");
    assert_eq!(loaded.uops.len(), committed.uops.len(), "{target}");
    for (i, (a, b)) in loaded.uops.iter().zip(committed.uops).enumerate() {
        assert_eq!(shown(a), shown(b), "{target}: stencil {i}");
    }
    assert_eq!(loaded.info.len(), committed.info.len(), "{target}");
    for (a, b) in loaded.info.iter().zip(committed.info) {
        assert_eq!(shown(a), shown(b), "{target}");
    }
    assert!(loaded.emitters.is_none() && committed.emitters.is_some());
}

#[test]
fn committed_manifests_load_as_the_generated_tables() {
    for committed in generated::TABLES {
        let loaded = manifest::load(&manifest_path(committed)).unwrap_or_else(|e| panic!("{e}"));
        assert_same(loaded, committed);
    }
}

/// The loaded table has no emit functions: the table-driven emitter
/// patches it, and its traces run.
#[test]
fn a_loaded_table_runs_every_uop_on_this_host() {
    let Some(host) = generated::host_table() else {
        eprintln!("skipped: no stencil table for this host");
        return;
    };
    let table = manifest::load(&manifest_path(host)).unwrap_or_else(|e| panic!("{e}"));
    let runner = conformance::Runner::for_table(table).unwrap_or_else(|e| panic!("{e}"));
    let failures = conformance::every_uop(table, &runner);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_damaged_manifest_is_an_error_naming_the_file_and_the_field() {
    let committed = generated::TABLES[0];
    let text = std::fs::read_to_string(manifest_path(committed)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["uops"][3]["stencil"]
        .as_object_mut()
        .unwrap()
        .remove("code_holes");
    std::fs::write(&path, json.to_string()).unwrap();
    assert_eq!(
        manifest::load(&path).unwrap_err(),
        format!("{}: no `code_holes`", path.display())
    );
    json["uops"][3]["stencil"]["code_holes"] = serde_json::json!([]);
    json["uops"][3]["stencil"]["code"] = serde_json::json!("abc");
    std::fs::write(&path, json.to_string()).unwrap();
    assert_eq!(
        manifest::load(&path).unwrap_err(),
        format!("{}: `abc` is not hex bytes", path.display())
    );
    json["uops"].as_array_mut().unwrap().pop();
    json["uops"][3]["stencil"]["code"] = serde_json::json!("");
    std::fs::write(&path, json.to_string()).unwrap();
    let stencils = json["uops"].as_array().unwrap().len();
    assert_eq!(
        manifest::load(&path).unwrap_err(),
        format!(
            "{}: {stencils} stencils in `uops` is not a whole number of uops of 4 variants",
            path.display()
        )
    );
    std::fs::write(&path, "{").unwrap();
    let error = manifest::load(&path).unwrap_err();
    assert!(
        error.starts_with(&format!("{} is not JSON: ", path.display())),
        "{error}"
    );
}
