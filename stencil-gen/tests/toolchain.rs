//! The toolchain driver against the real LLVM 19 tools.

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

use std::path::{Path, PathBuf};

use stencil_gen::emit_c;
use stencil_gen::target::{self, AARCH64_LINUX, X86_64_LINUX};
use stencil_gen::toolchain::disassembly;
use stencil_gen::toolchain::{
    parse_version, ObjectCode, Search, Tool, Toolchain, ToolchainError, Version, PINNED_LLVM_MAJOR,
};

fn v(major: u32, minor: u32, patch: u32) -> Option<Version> {
    Some(Version {
        major,
        minor,
        patch,
    })
}

#[test]
fn versions_of_real_version_outputs() {
    let cases = [
        (
            "Debian clang version 19.1.7 (3~deb12u1)\nTarget: x86_64-pc-linux-gnu\nThread model: posix\nInstalledDir: /usr/lib/llvm-19/bin\n",
            v(19, 1, 7),
        ),
        ("Debian LLVM version 19.1.7\n  Optimized build.\n", v(19, 1, 7)),
        (
            "Debian LLVM version 14.0.6\n  Optimized build.\n  Default target: x86_64-pc-linux-gnu\n",
            v(14, 0, 6),
        ),
        (
            "LLVM (http://llvm.org/):\n  LLVM version 19.1.7\n  Optimized build.\n",
            v(19, 1, 7),
        ),
        (
            "Homebrew clang version 19.1.7\nTarget: arm64-apple-darwin24.2.0\nThread model: posix\nInstalledDir: /opt/homebrew/Cellar/llvm@19/19.1.7/bin\n",
            v(19, 1, 7),
        ),
        (
            "Ubuntu clang version 19.1.7 (++20250114103320+cd708029e0b2-1~exp1~20250114103432.75)\nTarget: x86_64-pc-linux-gnu\n",
            v(19, 1, 7),
        ),
        (
            "clang version 19.1.0-rc3 (https://github.com/llvm/llvm-project.git 437434df21d8)\n",
            v(19, 1, 0),
        ),
        ("clang version 20.0.0git\n", v(20, 0, 0)),
        (
            "Apple clang version 16.0.0 (clang-1600.0.26.6)\nTarget: arm64-apple-darwin24.1.0\n",
            v(16, 0, 0),
        ),
        ("gcc (Debian 12.2.0-14) 12.2.0\n", None),
        ("", None),
        ("version\n", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_version(text), expected, "{text:?}");
    }
    assert_eq!(v(19, 1, 7).unwrap().to_string(), "19.1.7");
}

#[test]
fn finds_the_installed_llvm_19_tools_and_their_real_versions() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    for tool in [&toolchain.clang, &toolchain.objdump, &toolchain.readelf] {
        assert_eq!(tool.version.major, 19, "{tool:?}");
        // The version the driver parsed is the one the tool prints.
        let out = tool.command().arg("--version").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&tool.version.to_string()), "{text}");
    }
    assert_eq!(toolchain.llvm_version(), toolchain.clang.version);
}

/// A search limited to an explicit bin directory.
fn in_dir(dir: &Path, major: u32) -> Search {
    Search {
        bin_dir: Some(dir.to_path_buf()),
        ..Search::nowhere(major)
    }
}

#[test]
fn a_bad_llvm_bin_dir_gives_the_documented_error() {
    let dir = PathBuf::from("/nonexistent/llvm/bin");
    let error = Toolchain::find(Some(&dir), PINNED_LLVM_MAJOR).unwrap_err();
    assert!(
        matches!(
            error,
            ToolchainError::Missing {
                tool: Tool::Clang,
                major: 19,
                ..
            }
        ),
        "{error:?}"
    );
    let wheels = stencil_gen::toolchain::wheels::wheel_dir().unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "clang of LLVM 19 not found; looked for clang-19, clang in /nonexistent/llvm/bin\n\
             install it: Debian/Ubuntu: `apt-get install clang-19 llvm-19`; macOS: `brew install llvm@19`, \
             then pass `--llvm-bin-dir $(brew --prefix llvm@19)/bin`; any OS with Python: \
             `pip install --target {} ziglang==0.14.1` (clang 19.1.7)",
            wheels.join("zig-0.14.1").display()
        )
    );
}

#[test]
fn an_llvm_bin_dir_that_is_a_file_says_so_and_what_to_pass() {
    let found = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    // The clang binary itself, as one might pass by mistake.
    let clang = &found.clang.path;
    let error = Toolchain::find(Some(clang), PINNED_LLVM_MAJOR).unwrap_err();
    assert!(
        matches!(error, ToolchainError::BinDirIsFile { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "the LLVM bin directory {} (--llvm-bin-dir or STENCIL_LLVM_BIN_DIR) is a file, \
             not a directory; pass the directory that holds clang-19, llvm-objdump-19 and \
             llvm-readelf-19, e.g. `--llvm-bin-dir {}`",
            clang.display(),
            clang.parent().unwrap().display()
        )
    );
}

#[test]
fn an_explicit_bin_dir_is_the_only_place_searched() {
    // clang-19 is in PATH, but not in an empty directory.
    let dir = tempfile::tempdir().unwrap();
    let error = Toolchain::find_with(&in_dir(dir.path(), 19)).unwrap_err();
    assert!(
        matches!(
            error,
            ToolchainError::Missing {
                tool: Tool::Clang,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_tool_of_another_major_version_is_refused_with_both_versions() {
    let found = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    // The real directory holds an unversioned `clang` (`/usr/lib/llvm-19/bin`).
    let real = std::fs::canonicalize(&found.clang.path).unwrap();
    let bin = real.parent().unwrap().to_path_buf();
    let error = Toolchain::find_with(&in_dir(&bin, 18)).unwrap_err();
    let ToolchainError::WrongVersion {
        tool,
        path,
        found: version,
        major,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((*tool, *major), (Tool::Clang, 18));
    assert_eq!(version, &found.clang.version.to_string());
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "clang at {} is LLVM {}, but LLVM 18 is needed\n",
            path.display(),
            found.clang.version
        )),
        "{text}"
    );
    assert!(text.contains("apt-get install clang-18 llvm-18"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_mismatched_tool_in_the_bin_dir_is_named() {
    // A real LLVM 14 llvm-objdump next to the real clang 19.
    let objdump14 = Path::new("/usr/lib/llvm-14/bin/llvm-objdump");
    if !objdump14.is_file() {
        eprintln!("skipped: no LLVM 14 installed");
        return;
    }
    let found = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&found.clang.path, dir.path().join("clang")).unwrap();
    std::os::unix::fs::symlink(objdump14, dir.path().join("llvm-objdump")).unwrap();
    let error = Toolchain::find_with(&in_dir(dir.path(), 19)).unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "llvm-objdump at {} is LLVM 14.0.6, but LLVM 19 is needed",
            dir.path().join("llvm-objdump").display()
        )),
        "{text}"
    );
}

#[test]
fn a_c_error_names_the_uop_its_file_and_line_and_clangs_message() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let src = "helper vm_hash(i64, i64) -> i64;\n\n/// Broken.\nuop broken(a -- r) {\n    r = a;\n    r += undeclared_thing;\n}\n";
    let file = uop_defs::parse(Path::new("defs/broken.uop"), src).unwrap_or_else(|d| panic!("{d}"));
    let unit = emit_c::emit_uop(reference_abi(), &file, &file.uops[0]).unwrap();
    for target in target::ALL {
        let error = toolchain.compile(target, &unit).unwrap_err();
        assert!(matches!(error, ToolchainError::Compile { .. }), "{error:?}");
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "clang failed on uop `broken` (defs/broken.uop:4:5) in variant r01 for {}:\n",
                target.triple
            )),
            "{text}"
        );
        // clang's own message, pointing into the .uop file.
        assert!(
            text.contains(
                "defs/broken.uop:6:10: error: use of undeclared identifier 'undeclared_thing'"
            ),
            "{text}"
        );
        // No temporary path.
        let tmp = std::env::temp_dir();
        assert!(!text.contains(tmp.to_str().unwrap()), "{text}");
    }
}

#[test]
fn compiles_for_the_asked_target_with_the_common_and_target_flags() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let args = stencil_gen::toolchain::compile_args(&AARCH64_LINUX);
    assert_eq!(args[0], "--target=aarch64-unknown-linux-gnu");
    for flag in stencil_gen::toolchain::COMMON_FLAGS
        .iter()
        .chain(AARCH64_LINUX.clang_flags)
    {
        assert!(args.iter().any(|a| a == flag), "{flag}");
    }
    let shim = emit_c::emit_shim(reference_abi()).unwrap();
    let compiled = toolchain.compile(&AARCH64_LINUX, &shim).unwrap();
    // ELF, 64-bit, little-endian, machine EM_AARCH64 (183).
    assert_eq!(&compiled.object[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([compiled.object[18], compiled.object[19]]),
        183
    );
    assert!(compiled.clang_time.as_nanos() > 0);
}

#[test]
fn disassembly_is_tidy_and_cut_at_the_code_length() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let shim = emit_c::emit_shim(reference_abi()).unwrap();
    let object = toolchain.compile(&X86_64_LINUX, &shim).unwrap().object;
    let group =
        stencil_gen::lower::lower(&object, &X86_64_LINUX, "shim", reference_values()).unwrap();
    let full = toolchain
        .disassemble(&X86_64_LINUX, "shim", &object, group.code.len())
        .unwrap();
    assert_eq!(full[0], "<_JIT_ENTRY>:");
    let text = full.join("\n");
    assert!(!text.contains("file format"), "{text}");
    assert!(!text.contains("Disassembly of section"), "{text}");
    assert!(!text.contains('\t'), "{text}");
    assert!(text.contains("R_X86_64_PLT32 _JIT_CONTINUE-0x4"), "{text}");
    // The shim calls the continuation and returns.
    assert!(full.iter().any(|l| l.contains("callq")), "{text}");
    assert!(full.last().unwrap().contains("retq"), "{text}");

    // Cut after the first 4 bytes: only instructions starting before 4.
    let cut = toolchain
        .disassemble(&X86_64_LINUX, "shim", &object, 4)
        .unwrap();
    assert!(cut.len() > 1 && cut.len() < full.len(), "{cut:?}");
    for line in &cut[1..] {
        let offset = line.split(':').next().unwrap().trim();
        assert!(u64::from_str_radix(offset, 16).unwrap() < 4, "{line}");
    }
}

#[test]
fn readelf_shows_the_sections_symbols_and_relocations() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let shim = emit_c::emit_shim(reference_abi()).unwrap();
    let object = toolchain.compile(&AARCH64_LINUX, &shim).unwrap().object;
    let text = toolchain.readelf(&AARCH64_LINUX, "shim", &object).unwrap();
    assert!(text.contains(".rela.text"), "{text}");
    assert!(text.contains("_JIT_ENTRY"), "{text}");
    assert!(text.contains("R_AARCH64_CALL26"), "{text}");
}

/// The shim and every uop of `control.uop`, compiled and lowered for
/// `target`: (name, object, code length).
fn compiled_units(toolchain: &Toolchain, target: &target::Target) -> Vec<(String, Vec<u8>, usize)> {
    let defs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../uop-defs/defs/control.uop");
    let src = std::fs::read_to_string(&defs).unwrap();
    let file =
        uop_defs::parse(Path::new("defs/control.uop"), &src).unwrap_or_else(|d| panic!("{d}"));
    let mut units = vec![emit_c::emit_shim(reference_abi()).unwrap()];
    units.extend(
        file.uops
            .iter()
            .map(|uop| emit_c::emit_uop(reference_abi(), &file, uop).unwrap()),
    );
    units
        .iter()
        .map(|unit| {
            let object = toolchain.compile(target, unit).unwrap().object;
            let group =
                stencil_gen::lower::lower(&object, target, &unit.name, reference_values()).unwrap();
            (unit.name.clone(), object, group.code.len())
        })
        .collect()
}

/// Every object given to one llvm-objdump, in order.
fn disassemble_all(
    toolchain: &Toolchain,
    target: &target::Target,
    objects: &[ObjectCode],
) -> Result<Vec<Vec<String>>, ToolchainError> {
    let mut disassembler = toolchain.start_disassembler(target)?;
    for object in objects {
        disassembler.add(*object);
    }
    disassembler.finish()
}

fn object_codes(units: &[(String, Vec<u8>, usize)]) -> Vec<ObjectCode<'_>> {
    units
        .iter()
        .map(|(name, object, code_len)| ObjectCode {
            name,
            object,
            code_len: *code_len,
        })
        .collect()
}

#[test]
fn one_objdump_run_over_many_objects_gives_each_objects_own_disassembly() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    for target in target::ALL {
        let units = compiled_units(&toolchain, target);
        assert!(units.len() > 3, "{}", units.len());
        let all = disassemble_all(&toolchain, target, &object_codes(&units)).unwrap();
        assert_eq!(all.len(), units.len());
        let dir = tempfile::tempdir().unwrap();
        for ((name, object, code_len), listing) in units.iter().zip(&all) {
            // llvm-objdump run the plain way, on this object alone.
            let path = dir.path().join(format!("{name}.o"));
            std::fs::write(&path, object).unwrap();
            let out = toolchain
                .objdump
                .command()
                .args(["--disassemble", "--reloc"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}");
            let alone = disassembly::tidy(
                &String::from_utf8_lossy(&out.stdout),
                stencil_gen::toolchain::code_section(target),
                *code_len,
            );
            assert_eq!(listing, &alone, "{name} on {}", target.triple);
            assert_eq!(
                toolchain
                    .disassemble(target, name, object, *code_len)
                    .unwrap(),
                alone
            );
            // A stencil whose only instruction was the trailing jump has
            // no listing left; arm64 Mach-O labels the code's start with a
            // local `ltmp0` before the entry.
            if let Some(label) = listing.first() {
                let entry = format!("<{}_JIT_ENTRY>:", target.symbol_prefix);
                assert!(*label == entry || *label == "<ltmp0>:", "{name}: {label}");
            }
            assert!(!listing.join("\n").contains("file format"), "{name}");
        }
        // Different stencils, so no listing was taken from a neighbour.
        assert_ne!(all[0], all[1]);
        // The same object twice, cut at different lengths (not the shim,
        // which is only a jump to the continuation on cdecl targets).
        let index = units.iter().position(|u| u.2 > 4).unwrap();
        let (name, object, code_len) = &units[index];
        let twice = [
            ObjectCode {
                name,
                object,
                code_len: *code_len,
            },
            ObjectCode {
                name,
                object,
                code_len: 4,
            },
        ];
        let listings = disassemble_all(&toolchain, target, &twice).unwrap();
        assert_eq!(listings[0], all[index]);
        assert!(listings[1].len() < listings[0].len(), "{listings:?}");
    }
    assert!(disassemble_all(&toolchain, &X86_64_LINUX, &[])
        .unwrap()
        .is_empty());
}

#[test]
fn an_object_objdump_rejects_is_named_among_good_ones() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let units = compiled_units(&toolchain, &X86_64_LINUX);
    let mut objects = object_codes(&units[..2]);
    objects.insert(
        1,
        ObjectCode {
            name: "garbled",
            // An odd length, so the next member is padded.
            object: b"\x7fELF, but not really an object file",
            code_len: 16,
        },
    );
    let error = disassemble_all(&toolchain, &X86_64_LINUX, &objects).unwrap_err();
    let ToolchainError::ToolFailed {
        tool,
        name,
        target,
        stderr,
    } = &error
    else {
        panic!("{error:?}");
    };
    // objdump's own complaint about the object.
    assert!(stderr.contains("error"), "{stderr}");
    assert_eq!(
        (*tool, name.as_str(), *target),
        (Tool::Objdump, "garbled", X86_64_LINUX.triple)
    );
    let text = error.to_string();
    assert!(
        text.starts_with(
            "llvm-objdump failed on the object of `garbled` for x86_64-unknown-linux-gnu:\n"
        ),
        "{text}"
    );
    let tmp = std::env::temp_dir();
    assert!(!text.contains(tmp.to_str().unwrap()), "{text}");
}

/// A uop whose name is `len` letters long, in a file of its own.
fn uop_named(len: usize) -> (uop_defs::ast::UopFile, String) {
    let name: String = "long_"
        .chars()
        .chain(std::iter::repeat('x'))
        .take(len)
        .collect();
    let src = format!("/// Doubles.\nuop {name}(a -- r) {{\n    r = a + a;\n}}\n");
    let file = uop_defs::parse(Path::new("defs/long.uop"), &src).unwrap_or_else(|d| panic!("{d}"));
    (file, name)
}

#[test]
fn a_uop_name_too_long_for_a_file_name_still_compiles() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    // 300 bytes: longer than a file name may be (255 on Linux and macOS).
    let (file, name) = uop_named(300);
    let unit = emit_c::emit_uop(reference_abi(), &file, &file.uops[0]).unwrap();
    let compiled = toolchain
        .compile(&X86_64_LINUX, &unit)
        .unwrap_or_else(|e| panic!("{e}"));
    let group =
        stencil_gen::lower::lower(&compiled.object, &X86_64_LINUX, &name, reference_values())
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(!group.code.is_empty());
    // clang is given short names, each kept apart by a digest of the name.
    let args = stencil_gen::toolchain::unit_args(&X86_64_LINUX, &unit);
    let (source, object) = (&args[args.len() - 3], &args[args.len() - 1]);
    assert!(source.len() <= 128 && object.len() <= 128, "{args:?}");
    assert!(
        source.starts_with("long_xxx") && source.ends_with(".c"),
        "{source}"
    );
    assert!(object.ends_with(".s"), "{object}");
    let assemble = stencil_gen::toolchain::assemble_args(&X86_64_LINUX, &unit);
    let object = &assemble[assemble.len() - 1];
    assert!(
        object.len() <= 128 && object.ends_with(".o"),
        "{assemble:?}"
    );
    let (other_file, _) = uop_named(301);
    let other = emit_c::emit_uop(reference_abi(), &other_file, &other_file.uops[0]).unwrap();
    let other_args = stencil_gen::toolchain::unit_args(&X86_64_LINUX, &other);
    assert_ne!(other_args[args.len() - 3], *source);

    // A name that fits keeps its own file names.
    let (short_file, short_name) = uop_named(100);
    let short = emit_c::emit_uop(reference_abi(), &short_file, &short_file.uops[0]).unwrap();
    let short_args = stencil_gen::toolchain::unit_args(&X86_64_LINUX, &short);
    assert_eq!(
        short_args[short_args.len() - 3..],
        [
            format!("{short_name}.r01.c"),
            "-o".to_string(),
            format!("{short_name}.r01.s")
        ]
    );
}

#[test]
fn a_generation_with_a_very_long_uop_name_writes_its_stencil() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("defs")).unwrap();
    let abi = abi_support::reference_defs_dir().join("abi.uop");
    std::fs::copy(abi, root.path().join("defs/abi.uop")).unwrap();
    let (_, name) = uop_named(300);
    let src = format!("/// Doubles.\nuop {name}(a -- r) {{\n    r = a + a;\n}}\n");
    std::fs::write(root.path().join("defs/long.uop"), src).unwrap();
    let mut opts = stencil_gen::pipeline::GenOptions::new(root.path(), "defs");
    opts.targets = vec![&X86_64_LINUX];
    opts.cache_dir = None;
    let generation = stencil_gen::pipeline::generate(&opts).unwrap_or_else(|e| panic!("{e}"));
    let module = generation
        .files
        .iter()
        .find(|f| f.path == stencil_gen::writer::module_path(&X86_64_LINUX))
        .unwrap();
    let text = String::from_utf8(module.bytes.clone()).unwrap();
    assert!(
        text.contains(&format!(
            "pub const {}: u16 = 0;",
            name.to_ascii_uppercase()
        )),
        "{text}"
    );
}
