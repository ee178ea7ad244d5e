//! `cargo xtask gen-stencils --defs DIR` with unusual definition
//! directories: one without `.uop` files fails before compiling anything,
//! and files with old Mac OS line endings (a lone `\r`) generate the same
//! stencils as the committed definitions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn gen_stencils(defs: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["gen-stencils", "--target", "x86_64", "--no-cache"])
        .arg("--defs")
        .arg(defs)
        .arg("--out")
        .arg(out)
        .env("CI", "true")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_directory_without_uop_files_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let defs = dir.path().join("defs");
    std::fs::create_dir_all(defs.join("nested")).unwrap();
    std::fs::write(defs.join("nested").join("int.uop"), "uop a( -- ) {}\n").unwrap();
    let out = dir.path().join("out");
    let run = gen_stencils(&defs, &out);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    assert_eq!(
        text(&run.stderr),
        format!(
            "error: no `.uop` files in this directory (subdirectories are not searched); \
             give the directory that holds the uop definitions, such as uop-defs/defs\n \
             --> {}\n",
            defs.display()
        )
    );
    assert_eq!(text(&run.stdout), "");
    assert!(!out.exists());
}

/// The committed definitions copied into `to`, each `\n` replaced by `eol`.
fn copy_defs(to: &Path, eol: &str) {
    std::fs::create_dir(to).unwrap();
    let from = workspace_root().join("uop-defs").join("defs");
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(to.join(path.file_name().unwrap()), text.replace('\n', eol)).unwrap();
    }
}

/// The summary line of a generation for x86-64 Linux, and its manifest
/// without the digests of the `.uop` files (their bytes differ) and with
/// `defs` written as `DEFS`.
fn generate(defs: &Path, out: &Path) -> (String, String) {
    let run = gen_stencils(defs, out);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    let summary = stdout.lines().next().unwrap_or_default().to_string();
    let json = std::fs::read_to_string(out.join("x86_64_unknown_linux_gnu.json")).unwrap();
    let defs = defs.to_str().unwrap();
    let manifest = json
        .lines()
        .filter(|l| !l.contains(".uop\": \"") && !l.contains("\"inputs_digest\""))
        .map(|l| l.replace(defs, "DEFS") + "\n")
        .collect();
    (summary, manifest)
}

#[test]
fn carriage_return_line_endings_generate_the_same_stencils() {
    let dir = tempfile::tempdir().unwrap();
    let (unix, mac) = (dir.path().join("unix"), dir.path().join("mac"));
    copy_defs(&unix, "\n");
    copy_defs(&mac, "\r");
    let (summary, manifest) = generate(&unix, &dir.path().join("out-unix"));
    assert!(
        summary.starts_with("generated ") && !summary.starts_with("generated 0 "),
        "{summary}"
    );
    assert!(manifest.contains("\"location\": \"DEFS/int.uop:"));
    let (mac_summary, mac_manifest) = generate(&mac, &dir.path().join("out-mac"));
    assert_eq!(mac_summary, summary);
    let first_difference = manifest
        .lines()
        .zip(mac_manifest.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b);
    assert!(
        mac_manifest == manifest,
        "manifests differ (line, LF, CR): {first_difference:?}"
    );
}
