//! clang given as a command with arguments (`--clang`): wrapper scripts,
//! zig's layout (`zig clang`, `python3 -m ziglang clang`, the wheel
//! directory) rebuilt around the real clang 19, and llvm-objdump paired
//! with a clang of another version. The real zig wheels are in
//! `zig_clang.rs`.
#![cfg(unix)]

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use stencil_gen::emit_c;
use stencil_gen::target::X86_64_LINUX;
use stencil_gen::toolchain::{ClangSpec, Search, Tool, Toolchain, ToolchainError};

/// The real LLVM 19 tools.
fn real() -> Toolchain {
    Toolchain::find(None, 19).unwrap_or_else(|e| panic!("{e}"))
}

fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The real clang 19's resource directory.
fn resource_dir(real: &Toolchain) -> PathBuf {
    let out = real
        .clang
        .command()
        .arg("-print-resource-dir")
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A `PATH` directory with the real llvm-objdump and llvm-readelf of LLVM
/// 19 as `llvm-objdump-19` and `llvm-readelf-19`, and nothing else.
fn tools_19(dir: &Path, real: &Toolchain) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    symlink(&real.objdump.path, bin.join("llvm-objdump-19")).unwrap();
    symlink(&real.readelf.path, bin.join("llvm-readelf-19")).unwrap();
    bin
}

/// A search for LLVM `major` with only `command` as clang, and llvm-objdump
/// and llvm-readelf 19 in `PATH`.
fn with_command(major: u32, command: &str, path: &Path) -> Search {
    Search {
        clang: Some(ClangSpec::flag(command)),
        path_var: Some(path.as_os_str().to_owned()),
        ..Search::nowhere(major)
    }
}

/// zig's layout around the real clang: `DIR/zig` runs clang when its first
/// argument is `clang`, and `DIR/lib/include` holds clang's headers.
fn fake_zig(dir: &Path, real: &Toolchain) -> PathBuf {
    let zig = dir.join("zig");
    script(
        &zig,
        &format!(
            "[ \"$1\" = clang ] || {{ echo 'not a zig command' >&2; exit 9; }}\nshift\nexec '{}' \"$@\"",
            real.clang.path.display()
        ),
    );
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    symlink(
        resource_dir(real).join("include"),
        dir.join("lib").join("include"),
    )
    .unwrap();
    zig
}

fn neg_unit() -> emit_c::CSource {
    let src = "/// Negates.\nuop neg(a -- r) {\n    r = -a;\n}\n";
    let file = uop_defs::parse(Path::new("defs/a.uop"), src).unwrap_or_else(|d| panic!("{d}"));
    emit_c::emit_uop(reference_abi(), &file, &file.uops[0]).unwrap()
}

#[test]
fn a_wrapper_script_runs_with_its_arguments_before_clangs() {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    // A directory with a space: the command quotes it.
    let wrapper = dir.path().join("my tools").join("clang.sh");
    let log = dir.path().join("args.log");
    script(
        &wrapper,
        &format!(
            "echo \"$*\" >> '{}'\nexec '{}' \"$@\"",
            log.display(),
            real.clang.path.display()
        ),
    );
    let command = format!("'{}' -fno-color-diagnostics", wrapper.display());
    let bin = tools_19(dir.path(), &real);
    let toolchain =
        Toolchain::find_with(&with_command(19, &command, &bin)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(toolchain.clang.path, wrapper);
    assert_eq!(toolchain.clang.args, ["-fno-color-diagnostics"]);
    assert_eq!(toolchain.clang.version, real.clang.version);
    let unit = neg_unit();
    let ours = toolchain.compile(&X86_64_LINUX, &unit).unwrap();
    let theirs = real.compile(&X86_64_LINUX, &unit).unwrap();
    assert_eq!(ours.object, theirs.object);
    // `--version`, then the resource directory, then the two compile steps.
    let log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines[0], "-fno-color-diagnostics --version");
    assert_eq!(lines[1], "-fno-color-diagnostics -print-resource-dir");
    assert!(
        lines[2].starts_with("-fno-color-diagnostics --target=x86_64-unknown-linux-gnu -S "),
        "{log}"
    );
    assert!(
        toolchain
            .compile_command_line(&X86_64_LINUX, &unit)
            .starts_with(&format!(
                "'{}' -fno-color-diagnostics --target=",
                wrapper.display()
            )),
        "{}",
        toolchain.compile_command_line(&X86_64_LINUX, &unit)
    );
}

#[test]
fn a_zig_command_gets_the_lib_directory_beside_the_real_zig_as_resource_dir() {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    let zig = fake_zig(&dir.path().join("dist"), &real);
    // Reached through a symlink, as a `zig` in PATH often is.
    let link = dir.path().join("links").join("zig");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    symlink(&zig, &link).unwrap();
    let bin = tools_19(dir.path(), &real);
    let command = format!("{} clang", link.display());
    let toolchain =
        Toolchain::find_with(&with_command(19, &command, &bin)).unwrap_or_else(|e| panic!("{e}"));
    let lib = std::fs::canonicalize(dir.path().join("dist"))
        .unwrap()
        .join("lib");
    assert_eq!(toolchain.clang.path, link);
    assert_eq!(
        toolchain.clang.args,
        ["clang", "-resource-dir", lib.to_str().unwrap()]
    );
    let unit = neg_unit();
    let ours = toolchain.compile(&X86_64_LINUX, &unit).unwrap();
    assert_eq!(
        ours.object,
        real.compile(&X86_64_LINUX, &unit).unwrap().object
    );

    // One given by the command is kept.
    let own = format!("{} clang -resource-dir {}", zig.display(), lib.display());
    let toolchain = Toolchain::find_with(&with_command(19, &own, &bin)).unwrap();
    assert_eq!(
        toolchain.clang.args,
        ["clang", "-resource-dir", lib.to_str().unwrap()]
    );
}

#[test]
fn python_running_the_ziglang_module_is_asked_where_it_is() {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    // The wheel's layout: the module, its `__main__` running `zig` beside it.
    let module = dir.path().join("site").join("ziglang");
    fake_zig(&module, &real);
    std::fs::write(module.join("__init__.py"), "").unwrap();
    std::fs::write(
        module.join("__main__.py"),
        "import os, sys\nzig = os.path.join(os.path.dirname(__file__), 'zig')\nos.execv(zig, [zig, *sys.argv[1:]])\n",
    )
    .unwrap();
    let bin = tools_19(dir.path(), &real);
    let site = dir.path().join("site");
    let path = std::env::join_paths([
        bin.clone(),
        PathBuf::from("/usr/bin"),
        PathBuf::from("/bin"),
    ])
    .unwrap();
    let command = format!("env PYTHONPATH={} python3 -m ziglang clang", site.display());
    let search = Search {
        path_var: Some(path),
        ..with_command(19, &command, &bin)
    };
    let toolchain = Toolchain::find_with(&search).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(toolchain.clang.path, Path::new("/usr/bin/env"));
    let lib = module.join("lib");
    assert_eq!(
        toolchain.clang.args,
        [
            &format!("PYTHONPATH={}", site.display()),
            "python3",
            "-m",
            "ziglang",
            "clang",
            "-resource-dir",
            lib.to_str().unwrap()
        ]
    );
    let unit = neg_unit();
    assert_eq!(
        toolchain.compile(&X86_64_LINUX, &unit).unwrap().object,
        real.compile(&X86_64_LINUX, &unit).unwrap().object
    );

    // A Python that does not have the module.
    let command = "env PYTHONPATH=/nonexistent python3 -m ziglang clang";
    let search = Search {
        path_var: search.path_var.clone(),
        ..with_command(19, command, &bin)
    };
    let error = Toolchain::find_with(&search).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the clang command `env PYTHONPATH=/nonexistent python3 -m ziglang clang` (--clang) runs \
         the ziglang module, but its Python cannot import it (ModuleNotFoundError: No module \
         named 'ziglang'); install it with that Python: `pip install ziglang==VERSION`"
    );
}

#[test]
fn a_clang_command_without_its_headers_is_refused() {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    let zig = fake_zig(&dir.path().join("dist"), &real);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let bin = tools_19(dir.path(), &real);
    let command = format!("{} clang -resource-dir {}", zig.display(), empty.display());
    let error = Toolchain::find_with(&with_command(19, &command, &bin)).unwrap_err();
    assert!(
        matches!(error, ToolchainError::NoBuiltinHeaders { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "clang `{command}` finds no stdint.h of its own: its resource directory {} has no \
             include/stdint.h; pass `-resource-dir DIR` in the command (for zig's clang, DIR is \
             the `lib` directory beside the zig executable)",
            empty.display()
        )
    );
}

#[test]
fn a_clang_command_of_another_version_names_both_versions() {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    let bin = tools_19(dir.path(), &real);
    let command = real.clang.path.display().to_string();
    let error = Toolchain::find_with(&with_command(22, &command, &bin)).unwrap_err();
    let wheels = stencil_gen::toolchain::wheels::wheel_dir().unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "clang `{command}` (--clang) is LLVM {}, but LLVM 22 is needed; give --clang a clang \
             of LLVM 22, or unset it to search the usual places\n\
             install it: Debian/Ubuntu: `apt-get install clang-22 llvm-22`; macOS: `brew install \
             llvm@22`, then pass `--llvm-bin-dir $(brew --prefix llvm@22)/bin`; any OS with \
             Python: `pip install --target {} ziglang==0.17.0` (clang 22.1.8)",
            real.clang.version,
            wheels.join("zig-0.17.0").display()
        )
    );
}

#[test]
fn a_clang_command_that_cannot_be_used_says_why() {
    let bin = tempfile::tempdir().unwrap();
    let cases = [
        (
            "  ",
            "the clang command `  ` (--clang) is empty; give the program and its arguments, \
             e.g. `zig clang` or `python3 -m ziglang clang`",
        ),
        (
            "zig 'clang",
            "the clang command `zig 'clang` (--clang) has an unclosed '",
        ),
        (
            "no-such-zig clang",
            "the clang command `no-such-zig clang` (--clang) names `no-such-zig`, which is not \
             in PATH; give its path",
        ),
        (
            "/nonexistent/zig clang",
            "the clang command `/nonexistent/zig clang` (--clang) names /nonexistent/zig, which \
             is not a file",
        ),
    ];
    for (command, expected) in cases {
        let error = Toolchain::find_with(&with_command(19, command, bin.path())).unwrap_err();
        assert_eq!(error.to_string(), expected);
    }
}

/// A clang that says it is LLVM 22 and compiles nothing.
fn clang_22(path: &Path, real: &Toolchain) {
    script(
        path,
        &format!(
            "case \"$*\" in\n*--version*) echo 'clang version 22.1.8';;\n\
             *-print-resource-dir*) echo '{}';;\n*) exit 1;;\nesac",
            resource_dir(real).display()
        ),
    );
}

#[test]
fn llvm_objdump_of_the_pinned_version_reads_another_clangs_objects() {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    let clang = dir.path().join("clang-22");
    clang_22(&clang, &real);
    let bin = tools_19(dir.path(), &real);
    let toolchain = Toolchain::find_with(&with_command(22, clang.to_str().unwrap(), &bin))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(toolchain.clang.version.to_string(), "22.1.8");
    assert_eq!(toolchain.objdump.path, bin.join("llvm-objdump-19"));
    assert_eq!(toolchain.readelf.path, bin.join("llvm-readelf-19"));
    assert_eq!(
        toolchain.other_objdump_version(),
        Some(real.objdump.version)
    );
    assert_eq!(real.other_objdump_version(), None);

    // With neither version's llvm-objdump, every place is named once.
    let empty = tempfile::tempdir().unwrap();
    let search = with_command(22, clang.to_str().unwrap(), empty.path());
    let error = Toolchain::find_with(&search).unwrap_err();
    assert!(
        matches!(
            error,
            ToolchainError::Missing {
                tool: Tool::Objdump,
                major: 22,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(
            "llvm-objdump of LLVM 22 not found; looked for llvm-objdump-22 in PATH; \
             llvm-objdump in PATH; llvm-objdump-19 in PATH\n\
             install it: Debian/Ubuntu: `apt-get install clang-22 llvm-22`"
        ),
        "{error}"
    );
}

#[test]
fn the_wheel_directory_is_searched_after_the_versioned_names() {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    // The layout `pip install --target WHEELS/zig-0.17.0 ziglang==0.17.0` makes.
    let module = wheels.join("zig-0.17.0").join("ziglang");
    std::fs::create_dir_all(module.join("lib")).unwrap();
    symlink(
        resource_dir(&real).join("include"),
        module.join("lib/include"),
    )
    .unwrap();
    script(
        &module.join("zig"),
        "[ \"$1\" = clang ] || exit 9\necho 'clang version 22.1.8 (zig)'",
    );
    let bin = tools_19(dir.path(), &real);
    let search = Search {
        path_var: Some(bin.as_os_str().to_owned()),
        wheel_dir: Some(wheels.clone()),
        ..Search::nowhere(22)
    };
    let toolchain = Toolchain::find_with(&search).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(toolchain.clang.path, module.join("zig"));
    let lib = std::fs::canonicalize(&module).unwrap().join("lib");
    assert_eq!(
        toolchain.clang.args,
        ["clang", "-resource-dir", lib.to_str().unwrap()]
    );
    assert_eq!(toolchain.clang.version_text, "clang version 22.1.8 (zig)\n");

    // `clang-22` in PATH comes first.
    clang_22(&bin.join("clang-22"), &real);
    let toolchain = Toolchain::find_with(&search).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(toolchain.clang.path, bin.join("clang-22"));
    assert!(toolchain.clang.args.is_empty());

    // Not found anywhere: the wheel directory is among the places.
    let error = Toolchain::find_with(&Search {
        path_var: None,
        wheel_dir: Some(dir.path().join("none")),
        ..Search::nowhere(21)
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "clang of LLVM 21 not found; looked for clang-21 in PATH; zig clang in {}; clang in \
             PATH\ninstall it: Debian/Ubuntu: `apt-get install clang-21 llvm-21`; macOS: `brew \
             install llvm@21`, then pass `--llvm-bin-dir $(brew --prefix llvm@21)/bin`; any OS \
             with Python: `pip install --target {} ziglang==0.16.0` (clang 21.1.0)",
            dir.path().join("none/zig-0.16.0/ziglang").display(),
            dir.path().join("none/zig-0.16.0").display()
        )
    );
}
