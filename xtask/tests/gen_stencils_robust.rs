//! `cargo xtask gen-stencils` against what can go wrong around it: the
//! process killed at every step of writing `generated/`, a clang that never
//! exits, a FIFO in the stencil cache, with the real LLVM 19 tools.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use stencil_gen::toolchain::{Toolchain, PINNED_LLVM_MAJOR};
use stencil_gen::writer::commit::{FAIL_AT_ENV, STOPPED_EXIT_CODE};

/// Far more than any run here needs with a warm cache; a run that takes
/// longer hangs.
const LIMIT: Duration = Duration::from_secs(120);

/// Run `cargo xtask ARGS` with `envs`; fail when it is still running after
/// [`LIMIT`] (it is killed then).
fn xtask(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .env("CI", "true")
        .env_remove(FAIL_AT_ENV)
        .env_remove("STENCIL_TOOL_TIMEOUT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    let child = command.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("`xtask {}` hangs", args.join(" "));
        }
    }
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

fn write_all(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) {
    for (path, bytes) in files {
        let to = dir.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
}

const NEG: &str = "/// Negates.\nuop neg(a -- r) {\n    r = -a;\n}\n";
const DOUBLE: &str = "/// Doubles.\nuop double(a -- r) {\n    r = a + a;\n}\n";

/// A scratch root with a defs directory, a stencil cache and the arguments
/// to generate x86-64 stencils from them into `out`.
struct Scratch {
    root: tempfile::TempDir,
}

impl Scratch {
    fn new(defs: &str) -> Scratch {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("defs")).unwrap();
        let abi = Path::new(env!("CARGO_MANIFEST_DIR")).join("../uop-defs/defs/abi.uop");
        std::fs::copy(abi, root.path().join("defs/abi.uop")).unwrap();
        std::fs::write(root.path().join("defs/a.uop"), defs).unwrap();
        Scratch { root }
    }

    fn path(&self, name: &str) -> String {
        self.root.path().join(name).to_str().unwrap().to_string()
    }

    fn args(&self, out: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "gen-stencils",
            "--target",
            "x86_64",
            "--defs",
            &self.path("defs"),
            "--cache-dir",
            &self.path("cache"),
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn run(&self, out: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
        let args = self.args(out, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        xtask(&args, envs)
    }
}

#[test]
fn a_generation_killed_at_any_step_of_the_write_is_whole_after_the_next_run() {
    // The old generation: one uop; the new one: two.
    let scratch = Scratch::new(NEG);
    let made = tempfile::tempdir().unwrap();
    let run = scratch.run(made.path(), &[], &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let old = snapshot(made.path());
    std::fs::write(
        scratch.root.path().join("defs/a.uop"),
        format!("{NEG}\n{DOUBLE}"),
    )
    .unwrap();
    let run = scratch.run(made.path(), &[], &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let new = snapshot(made.path());
    assert_ne!(old, new);

    let mut outcomes = Vec::new();
    for step in 0.. {
        let out = tempfile::tempdir().unwrap();
        write_all(out.path(), &old);
        let stop = step.to_string();
        let killed = scratch.run(out.path(), &[], &[(FAIL_AT_ENV, &stop)]);
        let stderr = text(&killed.stderr);
        if killed.status.success() {
            assert_eq!(snapshot(out.path()), new);
            assert!(step > 10, "only {step} steps");
            break;
        }
        assert_eq!(killed.status.code(), Some(STOPPED_EXIT_CODE), "{stderr}");
        assert!(
            stderr.contains(&format!("stopped before step {step} (")),
            "{stderr}"
        );
        // Killed, it left its lock file and temporary files behind.
        assert_ne!(snapshot(out.path()), old, "step {step}");

        // Recovered on its own: all old files or all new ones, and nothing
        // else.
        let recovered = tempfile::tempdir().unwrap();
        write_all(recovered.path(), &snapshot(out.path()));
        stencil_gen::writer::recover(recovered.path()).unwrap_or_else(|e| panic!("{e}"));
        let after = snapshot(recovered.path());
        assert!(
            after == old || after == new,
            "step {step}: {:?}",
            after.keys()
        );
        outcomes.push(after == new);

        // And the next run writes the new generation whole.
        let again = scratch.run(out.path(), &[], &[]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(snapshot(out.path()), new, "step {step}");
    }
    // Old before the commit point, new after it.
    let first_new = outcomes.iter().position(|&n| n).unwrap();
    assert!(first_new > 0, "{outcomes:?}");
    assert!(outcomes[first_new..].iter().all(|&n| n), "{outcomes:?}");
}

/// A bin directory whose clang answers `--version` as the real one and
/// then hangs; the real llvm-objdump and llvm-readelf.
fn bin_with_hung_clang() -> tempfile::TempDir {
    let real = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --version ]; then exec '{}' --version; fi\nsleep 600\n",
        real.clang.path.display()
    );
    let path = dir.path().join("clang");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    symlink(&real.objdump.path, dir.path().join("llvm-objdump")).unwrap();
    symlink(&real.readelf.path, dir.path().join("llvm-readelf")).unwrap();
    dir
}

#[test]
fn a_hung_clang_is_stopped_at_the_tool_timeout_naming_tool_uop_and_target() {
    let scratch = Scratch::new(NEG);
    let bin = bin_with_hung_clang();
    let bin_arg = bin.path().to_str().unwrap();
    let out = scratch.root.path().join("out");
    let expected = format!(
        "clang ({}) did not finish compiling uop `neg` in variant r01 for x86_64-unknown-linux-gnu within 1 s \
         and was stopped; if it needs longer, pass `--tool-timeout SECS` or set \
         STENCIL_TOOL_TIMEOUT",
        bin.path().join("clang").display()
    );
    let runs = [
        (
            vec!["--llvm-bin-dir", bin_arg, "--tool-timeout", "1"],
            vec![],
        ),
        (
            vec![],
            vec![
                ("STENCIL_LLVM_BIN_DIR", bin_arg),
                ("STENCIL_TOOL_TIMEOUT", "1"),
            ],
        ),
    ];
    for (args, envs) in runs {
        let start = Instant::now();
        let run = scratch.run(&out, &args, &envs);
        let stderr = text(&run.stderr);
        assert!(start.elapsed() < Duration::from_secs(60), "{stderr}");
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&expected), "{stderr}");
        assert!(!out.exists());
    }

    let bad = scratch.run(&out, &[], &[("STENCIL_TOOL_TIMEOUT", "soon")]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        text(&bad.stderr).trim_end(),
        "error: STENCIL_TOOL_TIMEOUT=\"soon\" is not a whole number of seconds; set it to one, \
         e.g. STENCIL_TOOL_TIMEOUT=120"
    );
    let zero = scratch.run(&out, &["--tool-timeout", "0"], &[]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        text(&zero.stderr).contains("--tool-timeout"),
        "{}",
        text(&zero.stderr)
    );
}

#[test]
fn a_fifo_in_the_stencil_cache_does_not_block_check() {
    let scratch = Scratch::new(NEG);
    let out = scratch.root.path().join("out");
    let run = scratch.run(&out, &[], &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let cache = scratch.root.path().join("cache");
    let entry = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.file_name().unwrap().to_str().unwrap().starts_with('.'))
        .unwrap();
    std::fs::remove_file(&entry).unwrap();
    let made = Command::new("mkfifo").arg(&entry).status().unwrap();
    assert!(made.success());

    let check = scratch.run(&out, &["--check"], &[]);
    let (stdout, stderr) = (text(&check.stdout), text(&check.stderr));
    assert!(check.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("stencil cache entry of `")
            && stderr.contains(": not a regular file but a FIFO"),
        "{stderr}"
    );
    assert!(stdout.contains("are fresh"), "{stdout}");
    assert!(std::fs::metadata(&entry).unwrap().is_file());
}
