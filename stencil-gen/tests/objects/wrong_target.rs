//! An object of one target given to another is named by its format and
//! instruction set, and so is one no target builds, before any of its
//! sections or relocations is read.

#[allow(unused_imports)]
use crate::abi_support::{reference_abi, reference_values};
use runtime::Arch;
use stencil_gen::inspect::inspect;
use stencil_gen::lower::lower;
use stencil_gen::obj::{self, ObjError};
use stencil_gen::target::{CallingConvention, Format, Target, ALL, I686_WINDOWS};

use crate::real::uop_object;

/// What each target's objects are, as the messages spell it.
fn identity(target: &Target) -> &'static str {
    match target.triple {
        "aarch64-unknown-linux-gnu" => "ELF/AArch64",
        "x86_64-unknown-linux-gnu" => "ELF/x86-64",
        "aarch64-apple-darwin" => "Mach-O/AArch64",
        "x86_64-apple-darwin" => "Mach-O/x86-64",
        "aarch64-pc-windows-msvc" => "COFF/AArch64",
        "x86_64-pc-windows-msvc" => "COFF/x86-64",
        "i686-pc-windows-msvc" => "COFF/i686",
        "riscv64gc-unknown-linux-gnu" => "ELF/RISC-V 64",
        other => panic!("no identity for {other}"),
    }
}

#[test]
fn each_targets_object_is_named_to_every_other_target() {
    let objects: Vec<Vec<u8>> = ALL
        .iter()
        .map(|t| uop_object(t, "int.uop", "hash_i64"))
        .collect();
    for (built_for, object) in ALL.iter().zip(&objects) {
        assert!(inspect(object, built_for, "hash_i64", reference_values()).is_ok());
        obj::check_target(object, built_for).unwrap();
        for target in ALL.iter().filter(|t| t.triple != built_for.triple) {
            let expected = format!(
                "this is {}, the target {} needs {}",
                identity(built_for),
                target.triple,
                identity(target)
            );
            assert_eq!(
                obj::check_target(object, target).unwrap_err().to_string(),
                expected
            );
            assert_eq!(
                inspect(object, target, "hash_i64", reference_values())
                    .unwrap_err()
                    .to_string(),
                format!("uop `hash_i64` ({}): {expected}", target.triple)
            );
            // Lowering, which also reads the object first, fails too.
            assert!(lower(object, target, "hash_i64", reference_values()).is_err());
        }
    }
}

#[test]
fn an_object_no_target_builds_is_named_not_read() {
    // ELF for 32-bit x86: its relocations keep their addends in place
    // (REL), which no target reads; it is named for what it is instead of
    // failing on its first relocation.
    let i686_linux = Target {
        triple: "i686-unknown-linux-gnu",
        clang_triple: "i686-unknown-linux-gnu",
        short: "i686-linux",
        arch: Arch::I686,
        format: Format::Elf,
        clang_flags: &["-msse2", "-mfpmath=sse"],
        symbol_prefix: "",
        calling_convention: CallingConvention::I686Cdecl,
        code_align: 1,
        module: "i686_unknown_linux_gnu",
    };
    let object = uop_object(&i686_linux, "int.uop", "hash_i64");
    assert_eq!(
        inspect(&object, &I686_WINDOWS, "hash_i64", reference_values())
            .unwrap_err()
            .to_string(),
        "uop `hash_i64` (i686-pc-windows-msvc): this is ELF/i686, the target \
         i686-pc-windows-msvc needs COFF/i686"
    );
    assert_eq!(
        obj::read(&object).unwrap_err(),
        ObjError::NoTarget("ELF/i686".to_string())
    );
    assert_eq!(
        obj::read(&object).unwrap_err().to_string(),
        "this is ELF/i686, which no target builds (they build ELF/AArch64, ELF/x86-64, \
         Mach-O/AArch64, Mach-O/x86-64, COFF/AArch64, COFF/x86-64, COFF/i686, ELF/RISC-V 64)"
    );
    for target in ALL {
        let error = inspect(&object, target, "hash_i64", reference_values())
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with(&format!(
                "this is ELF/i686, the target {} needs {}",
                target.triple,
                identity(target)
            )),
            "{error}"
        );
    }
}

#[test]
fn files_that_are_no_object_of_a_target_are_named() {
    let read = |bytes: &[u8]| obj::read(bytes).unwrap_err().to_string();
    assert_eq!(
        read(b"!<arch>\nstencil.o/      0           0     0     644     8         `\n"),
        "this is a static archive, not a relocatable object file (ELF, Mach-O or COFF)"
    );
    assert_eq!(
        read(b"MZ\x90\x00 a PE image's DOS stub"),
        "this is a PE image (an executable or DLL), not a relocatable object file \
         (ELF, Mach-O or COFF)"
    );
    assert_eq!(
        read(b"\x7fE"),
        "not a readable object file: the file is 2 bytes, too short for any object file header"
    );
    assert_eq!(
        read(b"#!/bin/sh\n"),
        "not a readable object file: its first bytes (23 21 2f 62) start no ELF, Mach-O or COFF \
         header"
    );
    // A big-endian 64-bit ELF header for AArch64 (machine 183).
    let mut header = vec![0u8; 64];
    header[..6].copy_from_slice(b"\x7fELF\x02\x02");
    header[18..20].copy_from_slice(&183u16.to_be_bytes());
    assert_eq!(
        obj::identify(&header).unwrap().to_string(),
        "ELF/AArch64 big-endian"
    );
    assert_eq!(
        obj::check_target(&header, &stencil_gen::target::AARCH64_LINUX)
            .unwrap_err()
            .to_string(),
        "this is ELF/AArch64 big-endian, the target aarch64-unknown-linux-gnu needs ELF/AArch64"
    );
    assert!(read(&header).starts_with("this is ELF/AArch64 big-endian, which no target builds"));
    // An ELF header cut short is named before its machine is read.
    assert_eq!(
        read(&header[..40]),
        "the file (40 bytes) ends before the end of the ELF file header (bytes 0x0..0x40): \
         the object is truncated or corrupt; rebuild it"
    );
}
