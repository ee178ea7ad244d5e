//! `cargo xtask gen-stencils --check --format json`: the regeneration
//! check's report as JSON on stdout (the summary on stderr), fresh and
//! stale, with the real LLVM 19 tools.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn check_json(out: &Path, cache: &Path) -> (Output, serde_json::Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["gen-stencils", "--check", "--format", "json"])
        .args(["--target", "x86_64"])
        .arg("--out")
        .arg(out)
        .arg("--cache-dir")
        .arg(cache)
        .env("CI", "true")
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    });
    (output, json)
}

#[test]
fn check_report_as_json_fresh_and_stale() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    copy_dir(&workspace_root().join("generated"), out.path());

    let (fresh, json) = check_json(out.path(), cache.path());
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));
    assert_eq!(json["schema"], 1);
    assert_eq!(json["fresh"], true);
    assert_eq!(json["stale"], serde_json::json!([]));
    assert_eq!(json["fix"], serde_json::Value::Null);
    // The summary moved to stderr.
    assert!(
        text(&fresh.stderr).contains("generated "),
        "{}",
        text(&fresh.stderr)
    );

    // One code byte of one uop edited by hand.
    let manifest = out.path().join("x86_64_unknown_linux_gnu.json");
    let mut committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let uop = committed["uops"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|u| u["name"] == "add_i64.r01")
        .unwrap();
    let code = uop["stencil"]["code"].as_str().unwrap().to_string();
    let flipped = if code.starts_with('0') { "1" } else { "0" };
    uop["stencil"]["code"] = format!("{flipped}{}", &code[1..]).into();
    std::fs::write(&manifest, serde_json::to_string_pretty(&committed).unwrap()).unwrap();

    let (stale, json) = check_json(out.path(), cache.path());
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale.stderr));
    assert!(text(&stale.stderr).contains("are stale"));
    assert_eq!(json["fresh"], false);
    assert_eq!(
        json["stale"],
        serde_json::json!([
            { "path": "x86_64_unknown_linux_gnu.json", "state": "changed", "reason": null }
        ])
    );
    assert_eq!(json["fix"], "cargo xtask gen-stencils --target all");
    let target = &json["targets"][0];
    assert_eq!(target["target"], "x86_64-unknown-linux-gnu");
    assert_eq!(
        target["hand_edited"],
        serde_json::json!(["x86_64_unknown_linux_gnu.json"])
    );
    assert_eq!(
        target["uops"],
        serde_json::json!([{
            "name": "add_i64.r01",
            "changes": [{ "change": "code_bytes", "len": code.len() / 2, "differing": 1 }],
        }])
    );
}
