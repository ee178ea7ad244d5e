//! The command line with LLVM versions other than the pinned one:
//! `gen-stencils --llvm N` writes elsewhere and records the tools that
//! made the output, `STENCIL_CLANG_<N>` and `--clang` name the clang,
//! `install-llvm` gives the pip commands, and the pinned major is written
//! in one place only.

#![cfg(unix)]

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use stencil_gen::toolchain::{Toolchain, PINNED_LLVM_MAJOR};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn xtask(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .env("CI", "true")
        .env_remove(format!("STENCIL_CLANG_{PINNED_LLVM_MAJOR}"))
        .env_remove("STENCIL_CLANG_16")
        .env_remove("STENCIL_LLVM_BIN_DIR")
        .stdin(Stdio::null());
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The committed files of one target.
fn committed(module: &str) -> (Vec<u8>, Vec<u8>) {
    let generated = root().join("generated");
    (
        std::fs::read(generated.join(format!("src/{module}.rs"))).unwrap(),
        std::fs::read(generated.join(format!("{module}.json"))).unwrap(),
    )
}

fn manifest(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The third line of a module: `// Stencils for ..., built by ...`.
fn built_by(module: &Path) -> String {
    let text = std::fs::read_to_string(module).unwrap();
    text.lines().nth(2).unwrap().to_string()
}

#[test]
fn another_llvm_writes_elsewhere_and_records_its_version() {
    let before = committed("x86_64_unknown_linux_gnu");
    let out = tempfile::tempdir().unwrap();
    let run = xtask(
        &[
            "gen-stencils",
            "--llvm",
            "16",
            "--target",
            "x86_64",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let m = manifest(&out.path().join("x86_64_unknown_linux_gnu.json"));
    let version = m["llvm_version"].as_str().unwrap();
    assert!(version.starts_with("16."), "{version}");
    // Both tools are LLVM 16: no second version is named.
    assert!(m.get("objdump_version").is_none());
    assert_eq!(
        built_by(&out.path().join("src/x86_64_unknown_linux_gnu.rs")),
        format!("// Stencils for x86_64-unknown-linux-gnu, built by LLVM {version}.")
    );
    assert!(text(&run.stdout).contains(&format!("with clang {version} (")));

    // Without --out, generated/ is refused and left alone.
    let run = xtask(&["gen-stencils", "--llvm", "16", "--target", "x86_64"], &[]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        text(&run.stderr),
        format!(
            "error: generated/ holds the stencils of the pinned LLVM {PINNED_LLVM_MAJOR}; to \
             generate with LLVM 16, pass `--out DIR` to write them elsewhere (moving the pin is \
             described in README.md, \"Moving the pinned LLVM\")\n"
        )
    );
    assert_eq!(committed("x86_64_unknown_linux_gnu"), before);
}

#[test]
fn an_llvm_objdump_of_another_version_is_recorded_in_the_header_and_manifest() {
    let real16 = Toolchain::find(None, 16).unwrap_or_else(|e| panic!("{e}"));
    let real19 = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let bin = tempfile::tempdir().unwrap();
    symlink(&real16.clang.path, bin.path().join("clang")).unwrap();
    symlink(&real19.objdump.path, bin.path().join("llvm-objdump")).unwrap();
    symlink(&real19.readelf.path, bin.path().join("llvm-readelf")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = xtask(
        &[
            "gen-stencils",
            "--llvm",
            "16",
            "--llvm-bin-dir",
            bin.path().to_str().unwrap(),
            "--target",
            "riscv64",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let (clang, objdump) = (real16.clang.version, real19.objdump.version);
    let m = manifest(&out.path().join("riscv64gc_unknown_linux_gnu.json"));
    assert_eq!(m["llvm_version"], clang.to_string());
    assert_eq!(m["objdump_version"], objdump.to_string());
    assert_eq!(
        built_by(&out.path().join("src/riscv64gc_unknown_linux_gnu.rs")),
        format!(
            "// Stencils for riscv64gc-unknown-linux-gnu, built by clang {clang}, disassembled by \
             llvm-objdump {objdump}."
        )
    );
    assert!(
        text(&run.stdout).contains(&format!(
            "disassembled with llvm-objdump {objdump} ({})",
            bin.path().join("llvm-objdump").display()
        )),
        "{}",
        text(&run.stdout)
    );
}

/// A wrapper script around the real clang 19, for `STENCIL_CLANG_19`.
fn wrapper(dir: &Path) -> PathBuf {
    let real = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("clang-wrapper");
    std::fs::write(
        &path,
        format!("#!/bin/sh\nexec '{}' \"$@\"\n", real.clang.path.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn the_clang_of_stencil_clang_major_is_used_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = wrapper(dir.path());
    let var = format!("STENCIL_CLANG_{PINNED_LLVM_MAJOR}");
    let run = xtask(
        &["gen-stencils", "--check", "--target", "x86_64"],
        &[(&var, wrapper.to_str().unwrap())],
    );
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", text(&run.stderr));
    assert!(
        stdout.contains(&format!(" ({})\n", wrapper.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("all 3 generated files are fresh"),
        "{stdout}"
    );

    // One of another version is refused, naming the variable.
    let clang16 = Toolchain::find(None, 16).unwrap_or_else(|e| panic!("{e}"));
    let run = xtask(
        &["gen-stencils", "--check", "--target", "x86_64"],
        &[(&var, clang16.clang.path.to_str().unwrap())],
    );
    assert_eq!(run.status.code(), Some(1));
    let stderr = text(&run.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: clang `{}` ({var}) is LLVM {}, but LLVM {PINNED_LLVM_MAJOR} is needed; give \
             {var} a clang of LLVM {PINNED_LLVM_MAJOR}, or unset it to search the usual places\n",
            clang16.clang.path.display(),
            clang16.clang.version
        )),
        "{stderr}"
    );
    // --clang comes first.
    let run = xtask(
        &[
            "gen-stencils",
            "--check",
            "--target",
            "x86_64",
            "--clang",
            wrapper.to_str().unwrap(),
        ],
        &[(&var, clang16.clang.path.to_str().unwrap())],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
}

#[test]
fn install_llvm_prints_one_pip_command_per_wheel_directory() {
    let run = xtask(
        &["install-llvm", "--llvm", "19", "--llvm", "22", "--print"],
        &[("STENCIL_ZIG_DIR", "/w"), ("STENCIL_PYTHON", "python3")],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(
        text(&run.stdout),
        "python3 -m pip install --quiet --target /w/zig-0.14.1 ziglang==0.14.1\n\
         python3 -m pip install --quiet --target /w/zig-0.17.0 ziglang==0.17.0\n"
    );
    let run = xtask(&["install-llvm", "--llvm", "16", "--print"], &[]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        text(&run.stderr),
        "error: no ziglang wheel carries LLVM 16 (they carry 19, 20, 21, 22); install clang-16 \
         and llvm-16 from your system's packages instead\n"
    );
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn the_pinned_major_is_written_in_one_place() {
    let root = root();
    let mut files = Vec::new();
    for crate_dir in [
        "stencil-gen",
        "xtask",
        "vm",
        "runtime",
        "uop-defs",
        "emit-oracle",
    ] {
        rust_files(&root.join(crate_dir), &mut files);
    }
    // Spelled in two parts, so this file does not match itself.
    let definition = concat!("pub const PINNED_LLVM_", "MAJOR: u32 =");
    let definitions: Vec<&PathBuf> = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(definition))
        .collect();
    assert_eq!(
        definitions,
        [&root.join("stencil-gen/src/toolchain.rs")],
        "PINNED_LLVM_MAJOR is defined once"
    );
    // The generator and the command line name no tool of the pinned
    // version but through the constant (test modules, at the end of a
    // file, and comments aside).
    let n = PINNED_LLVM_MAJOR;
    let names = [
        format!("clang-{n}"),
        format!("llvm-{n}"),
        format!("llvm@{n}"),
        format!("objdump-{n}"),
        format!("readelf-{n}"),
        format!("llvm_major = {n}"),
    ];
    let mut found = Vec::new();
    let mut sources = Vec::new();
    rust_files(&root.join("stencil-gen/src"), &mut sources);
    rust_files(&root.join("xtask/src"), &mut sources);
    for file in &sources {
        let text = std::fs::read_to_string(file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (i, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            if names.iter().any(|name| line.contains(name.as_str())) {
                found.push(format!("{}:{}: {line}", file.display(), i + 1));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
