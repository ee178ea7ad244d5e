//! A reader that stops early (`cargo xtask ... | head -1`) ends no command
//! with a panic: output to the closed pipe is dropped, the command finishes
//! its work and exits with its own status, saying nothing about the pipe.
//! Any other failure to write stdout is an error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs xtask with `args` and a stdout whose reader is already gone, so
/// every write to it fails with a broken pipe.
fn with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("CI", "true")
        .stdout(writer)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A small object file for x86-64 Linux, built by clang 19 in `dir`.
fn object(dir: &Path) -> PathBuf {
    let source = dir.join("uop.c");
    std::fs::write(
        &source,
        "extern long helper(long);\nlong uop(long x) { return helper(x) + 1; }\n",
    )
    .unwrap();
    let object = dir.join("uop.o");
    let clang = Command::new("clang-19")
        .args(["--target=x86_64-unknown-linux-gnu", "-c", "-O2", "-o"])
        .arg(&object)
        .arg(&source)
        .output()
        .expect("clang-19 is needed (apt-get install clang-19)");
    assert!(clang.status.success(), "{}", text(&clang.stderr));
    object
}

#[test]
fn inspect_object_into_a_closed_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let object = object(dir.path());
    let run = with_closed_stdout(&[
        "inspect-object",
        object.to_str().unwrap(),
        "--target",
        "x86_64",
    ]);
    assert_eq!(text(&run.stderr), "");
    assert_eq!(run.status.code(), Some(0));

    // An error still reaches stderr with status 1.
    let run = with_closed_stdout(&["inspect-object", "/nonexistent.o", "--target", "x86_64"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).starts_with("error: cannot read /nonexistent.o: "),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn any_other_failure_to_write_stdout_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let object = object(dir.path());
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "inspect-object",
            object.to_str().unwrap(),
            "--target",
            "x86_64",
        ])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(
        text(&run.stderr),
        "error: cannot write to stdout: No space left on device (os error 28)\n"
    );
    assert_eq!(run.status.code(), Some(1));
}

#[test]
fn gen_stencils_into_a_closed_pipe_still_writes_every_file() {
    let out = tempfile::tempdir().unwrap();
    let run = with_closed_stdout(&[
        "gen-stencils",
        "--target",
        "x86_64",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    let committed = workspace_root().join("generated");
    for file in [
        "x86_64_unknown_linux_gnu.json",
        "src/x86_64_unknown_linux_gnu.rs",
    ] {
        let written = std::fs::read(out.path().join(file))
            .unwrap_or_else(|e| panic!("{file} was not written: {e}"));
        assert!(
            written == std::fs::read(committed.join(file)).unwrap(),
            "{file} differs from the committed one"
        );
    }
}
