//! clang from PyPI, as `cargo xtask install-llvm` installs it in the wheel
//! directory. The `ziglang` wheel whose clang is the pinned LLVM's
//! regenerates the committed stencils of every target byte for byte, run
//! as `python3 -m ziglang clang` with Debian's llvm-objdump beside it, and
//! is found there with no flag at all; the wheel of LLVM 22 is diffed
//! against the pinned LLVM on every target.

#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use stencil_gen::emit_c;
use stencil_gen::target::AARCH64_LINUX;
use stencil_gen::toolchain::{wheels, Search, Toolchain, PINNED_LLVM_MAJOR};

/// The directory the wheel of LLVM `major` is installed in.
fn installed(major: u32) -> PathBuf {
    let wheel = wheels::wheel_for(major).expect("a wheel carries this LLVM");
    let dir = wheels::wheel_dir().expect("a wheel directory");
    assert!(
        wheel.zig(&dir).is_file(),
        "no ziglang {} in {}; install it: `cargo xtask install-llvm --llvm {major}` (or `{}`)",
        wheel.zig,
        wheel.install_dir(&dir).display(),
        wheel.pip_command(&dir)
    );
    wheel.install_dir(&dir)
}

/// The directory the pinned version's wheel is installed in.
fn wheel_install_dir() -> PathBuf {
    installed(PINNED_LLVM_MAJOR)
}

#[test]
fn pips_clang_regenerates_the_committed_stencils_of_every_target() {
    let site = wheel_install_dir();
    let clang = format!("env PYTHONPATH={} python3 -m ziglang clang", site.display());
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "gen-stencils",
            "--check",
            "--target",
            "all",
            "--clang",
            &clang,
        ])
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = std::fs::canonicalize(&site)
        .unwrap()
        .join("ziglang")
        .join("lib");
    assert!(
        stdout.contains(&format!(
            "with clang {} (/usr/bin/env PYTHONPATH={} python3 -m ziglang clang -resource-dir {})",
            wheels::wheel_for(PINNED_LLVM_MAJOR).unwrap().clang,
            site.display(),
            lib.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("all 17 generated files are fresh"),
        "{stdout}"
    );
}

#[test]
fn the_wheel_is_found_in_the_wheel_directory_and_compiles_as_debian_clang_does() {
    let site = wheel_install_dir();
    let debian = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    // Only llvm-objdump and llvm-readelf in PATH: clang can only be zig's.
    let bin = tempfile::tempdir().unwrap();
    symlink(&debian.objdump.path, bin.path().join("llvm-objdump")).unwrap();
    symlink(&debian.readelf.path, bin.path().join("llvm-readelf")).unwrap();
    let search = Search {
        path_var: Some(bin.path().as_os_str().to_owned()),
        wheel_dir: site.parent().map(Path::to_path_buf),
        ..Search::nowhere(PINNED_LLVM_MAJOR)
    };
    let zig = Toolchain::find_with(&search).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(zig.clang.path, site.join("ziglang/zig"));
    assert_eq!(zig.clang.args[..2], ["clang", "-resource-dir"]);
    assert_eq!(zig.llvm_version(), debian.llvm_version());
    assert_eq!(zig.other_objdump_version(), None);

    let src = "/// Adds.\nuop add(a, b -- r) {\n    r = a + b;\n}\n";
    let file = uop_defs::parse(Path::new("defs/a.uop"), src).unwrap_or_else(|d| panic!("{d}"));
    let defs = uop_defs::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../uop-defs/defs"))
        .unwrap_or_else(|d| panic!("{d}"));
    let abi = emit_c::CAbi::new(&defs.abi, "defs/abi.uop".to_string());
    // The objects differ in their `.comment` (clang's version line) only:
    // the code and its relocations are the same.
    for unit in emit_c::emit_variants(&abi, &file, &file.uops[0]).unwrap() {
        let listing = |toolchain: &Toolchain| {
            let object = toolchain
                .compile(&AARCH64_LINUX, &unit)
                .unwrap_or_else(|e| panic!("{e}"))
                .object;
            debian
                .disassemble(&AARCH64_LINUX, &unit.name, &object, object.len())
                .unwrap()
        };
        let ours = listing(&zig);
        assert!(ours.iter().any(|l| l.contains("R_AARCH64")), "{ours:?}");
        assert_eq!(ours, listing(&debian), "{}", unit.name);
    }
}

#[test]
fn diff_stencils_against_llvm_22_covers_every_target_in_every_format() {
    installed(22);
    let diff = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["diff-stencils", "--llvm", &PINNED_LLVM_MAJOR.to_string()])
            .args(["--llvm", "22", "--target", "all", "--format", format])
            .env("CI", "true")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&diff("json")).unwrap();
    let pinned = json["a"]
        .as_str()
        .unwrap()
        .strip_prefix("LLVM ")
        .unwrap()
        .to_string();
    assert!(
        pinned.starts_with(&format!("{PINNED_LLVM_MAJOR}.")),
        "{pinned}"
    );
    assert_eq!(json["b"], "LLVM 22.1.8");
    let targets = json["targets"].as_array().unwrap();
    let triples: Vec<&str> = targets
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    let all: Vec<&str> = stencil_gen::target::ALL.iter().map(|t| t.triple).collect();
    assert_eq!(triples, all);
    for t in targets {
        assert_eq!(t["llvm_a"], pinned.as_str());
        assert_eq!(t["llvm_b"], "22.1.8");
        let rows = t["rows"].as_array().unwrap();
        // The shim and every variant of every uop, on both sides.
        assert_eq!(rows.len(), 205, "{}", t["target"]);
        assert!(rows.iter().all(|r| !r["a"].is_null() && !r["b"].is_null()));
    }
    let text = diff("text");
    assert!(
        text.starts_with(&format!(
            "stencil diff: A = LLVM {pinned}, B = LLVM 22.1.8\n"
        )),
        "{text}"
    );
    let markdown = diff("markdown");
    for triple in all {
        let sides = format!("(A: LLVM {pinned}, B: LLVM 22.1.8)");
        assert!(text.contains(&format!("\n{triple} {sides}\n")), "{triple}");
        assert!(
            markdown.contains(&format!("\n### `{triple}` {sides}\n")),
            "{triple}"
        );
    }
}
