//! A tool that never exits is killed at the timeout, with whatever it
//! started, and the error names the tool, the uop and the target. The hung
//! tools are shell scripts in an explicit bin directory that answer
//! `--version` as the real LLVM 19 tool does and then hang.

#![cfg(unix)]

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stencil_gen::emit_c;
use stencil_gen::pipeline::{self, GenError, GenOptions};
use stencil_gen::target::X86_64_LINUX;
use stencil_gen::toolchain::{Search, Tool, Toolchain, ToolchainError, PINNED_LLVM_MAJOR};

const TIMEOUT: Duration = Duration::from_secs(1);

/// Far below the `sleep` of the hung tools: a run that waited for them
/// would take minutes.
const FAST_ENOUGH: Duration = Duration::from_secs(30);

fn real() -> Toolchain {
    Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"))
}

/// A bin directory with the real tools, but `hung` replaced by a script
/// that hangs (in a child `sleep`, whose pid it writes to `sleep.pid`)
/// after answering `--version`, or on `--version` too when `at_version`.
fn bin_with_hung(hung: Tool, at_version: bool) -> tempfile::TempDir {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    for tool in [&real.clang, &real.objdump, &real.readelf] {
        let path = dir.path().join(tool.tool.name());
        if tool.tool != hung {
            symlink(&tool.path, path).unwrap();
            continue;
        }
        let answer = if at_version {
            String::new()
        } else {
            format!(
                "if [ \"$1\" = --version ]; then exec '{}' --version; fi\n",
                tool.path.display()
            )
        };
        let script = format!(
            "#!/bin/sh\n{answer}sleep 600 &\necho $! > '{}'\nwait\n",
            dir.path().join("sleep.pid").display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn search(bin: &Path) -> Search {
    Search {
        bin_dir: Some(bin.to_path_buf()),
        timeout: Some(TIMEOUT),
        ..Search::nowhere(PINNED_LLVM_MAJOR)
    }
}

/// The `sleep` the hung script started is gone: the whole process group
/// was killed, not only the script. (Linux: read from `/proc`.)
fn assert_sleep_killed(bin: &Path) {
    let pid = std::fs::read_to_string(bin.join("sleep.pid")).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    // Dead once gone or a zombie not yet reaped by its new parent.
    let running = || {
        std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!running(), "sleep {} still runs", pid.trim());
}

fn neg_unit() -> emit_c::CSource {
    let src = "/// Negates.\nuop neg(a -- r) {\n    r = -a;\n}\n";
    let file = uop_defs::parse(Path::new("defs/a.uop"), src).unwrap_or_else(|d| panic!("{d}"));
    emit_c::emit_uop(reference_abi(), &file, &file.uops[0]).unwrap()
}

#[test]
fn a_clang_that_never_exits_is_killed_and_named_with_the_uop_and_target() {
    let bin = bin_with_hung(Tool::Clang, false);
    let toolchain = Toolchain::find_with(&search(bin.path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(toolchain.timeout, TIMEOUT);
    let start = Instant::now();
    let error = toolchain.compile(&X86_64_LINUX, &neg_unit()).unwrap_err();
    assert!(start.elapsed() < FAST_ENOUGH, "{:?}", start.elapsed());
    assert!(start.elapsed() >= TIMEOUT, "{:?}", start.elapsed());
    assert!(matches!(error, ToolchainError::Timeout { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "clang ({}) did not finish compiling uop `neg` in variant r01 for x86_64-unknown-linux-gnu \
             within 1 s and was stopped; if it needs longer, pass `--tool-timeout SECS` or \
             set STENCIL_TOOL_TIMEOUT",
            bin.path().join("clang").display()
        )
    );
    assert_sleep_killed(bin.path());
}

#[test]
fn an_llvm_objdump_that_never_exits_is_killed_and_named_with_the_uops_and_target() {
    let bin = bin_with_hung(Tool::Objdump, false);
    let toolchain = Toolchain::find_with(&search(bin.path())).unwrap_or_else(|e| panic!("{e}"));
    let object = toolchain
        .compile(&X86_64_LINUX, &neg_unit())
        .unwrap_or_else(|e| panic!("{e}"))
        .object;
    let start = Instant::now();
    let error = toolchain
        .disassemble(&X86_64_LINUX, "neg", &object, 4)
        .unwrap_err();
    assert!(start.elapsed() < FAST_ENOUGH, "{:?}", start.elapsed());
    assert_eq!(
        error.to_string(),
        format!(
            "llvm-objdump ({}) did not finish disassembling the objects of `neg` for \
             x86_64-unknown-linux-gnu within 1 s and was stopped; if it needs longer, pass \
             `--tool-timeout SECS` or set STENCIL_TOOL_TIMEOUT",
            bin.path().join("llvm-objdump").display()
        )
    );
    assert_sleep_killed(bin.path());
}

#[test]
fn an_llvm_readelf_that_never_exits_is_killed() {
    let bin = bin_with_hung(Tool::Readelf, false);
    let toolchain = Toolchain::find_with(&search(bin.path())).unwrap_or_else(|e| panic!("{e}"));
    let object = toolchain
        .compile(&X86_64_LINUX, &neg_unit())
        .unwrap_or_else(|e| panic!("{e}"))
        .object;
    let start = Instant::now();
    let error = toolchain
        .readelf(&X86_64_LINUX, "neg", &object)
        .unwrap_err();
    assert!(start.elapsed() < FAST_ENOUGH, "{:?}", start.elapsed());
    assert!(
        error.to_string().starts_with(&format!(
            "llvm-readelf ({}) did not finish reading the object of `neg` for \
             x86_64-unknown-linux-gnu within 1 s",
            bin.path().join("llvm-readelf").display()
        )),
        "{error}"
    );
    assert_sleep_killed(bin.path());
}

#[test]
fn a_tool_that_hangs_on_version_is_killed_while_being_looked_for() {
    let bin = bin_with_hung(Tool::Clang, true);
    let start = Instant::now();
    let error = Toolchain::find_with(&search(bin.path())).unwrap_err();
    assert!(start.elapsed() < FAST_ENOUGH, "{:?}", start.elapsed());
    assert!(
        error.to_string().starts_with(&format!(
            "clang ({}) did not finish answering `--version` within 1 s and was stopped",
            bin.path().join("clang").display()
        )),
        "{error}"
    );
    assert_sleep_killed(bin.path());
}

#[test]
fn a_generation_with_a_hung_clang_fails_at_the_timeout_naming_each_unit() {
    let bin = bin_with_hung(Tool::Clang, false);
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("defs")).unwrap();
    let abi = abi_support::reference_defs_dir().join("abi.uop");
    std::fs::copy(abi, root.path().join("defs/abi.uop")).unwrap();
    std::fs::write(
        root.path().join("defs/a.uop"),
        "/// Negates.\nuop neg(a -- r) {\n    r = -a;\n}\n",
    )
    .unwrap();
    let mut opts = GenOptions::new(root.path(), "defs");
    opts.targets = vec![&X86_64_LINUX];
    opts.cache_dir = None;
    opts.llvm_bin_dir = Some(bin.path().to_path_buf());
    opts.tool_timeout = Some(TIMEOUT);
    opts.jobs = Some(2);
    let start = Instant::now();
    let error = pipeline::generate(&opts).unwrap_err();
    assert!(start.elapsed() < FAST_ENOUGH, "{:?}", start.elapsed());
    assert!(matches!(error, GenError::Build(_)), "{error:?}");
    let text = error.to_string();
    let mut units = vec!["compiling the shim for x86_64-unknown-linux-gnu".to_string()];
    for (uop, variants) in [
        ("neg", ["r01", "r11", "r22", "r33"]),
        ("cache_spill", ["r00", "r10", "r20", "r30"]),
    ] {
        for variant in variants {
            units.push(format!(
                "compiling uop `{uop}` in variant {variant} for x86_64-unknown-linux-gnu"
            ));
        }
    }
    for unit in &units {
        assert!(
            text.contains(&format!("did not finish {unit} within 1 s")),
            "{text}"
        );
    }
    assert_eq!(text.lines().count(), units.len(), "{text}");
}
