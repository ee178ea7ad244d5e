//! Every truncation of a real object is an error from the object reader,
//! never a stencil, and says the object is truncated.

#[allow(unused_imports)]
use crate::abi_support::{reference_abi, reference_values};
use stencil_gen::inspect::inspect;
use stencil_gen::lower::{lower, LowerErrorKind};
use stencil_gen::obj::ObjError;
use stencil_gen::target::ALL;

use crate::coverage::structures_end;
use crate::real::uop_object;

/// Uops with code, data, GOT slots, a helper call or a deopt branch.
const UOPS: &[(&str, &str)] = &[("float.uop", "sqrt_f64"), ("memory.uop", "load_heap")];

#[test]
fn every_truncation_of_a_real_object_is_an_error() {
    for target in ALL {
        for (file, name) in UOPS {
            let object = uop_object(target, file, name);
            // The witness: the file's last byte belongs to a structure, so
            // every truncation cuts a header, a load command, a table,
            // section contents, relocations, symbols or strings.
            assert_eq!(
                structures_end(&object),
                object.len() as u64,
                "{name} for {}",
                target.triple
            );
            lower(&object, target, name, reference_values()).unwrap_or_else(|e| panic!("{e}"));
            for len in 0..object.len() {
                let cut = &object[..len];
                let error = match lower(cut, target, name, reference_values()) {
                    Ok(group) => panic!(
                        "{name} for {} cut to {len} of {} bytes lowers to a stencil of {} code bytes",
                        target.triple,
                        object.len(),
                        group.code.len()
                    ),
                    Err(error) => error,
                };
                let LowerErrorKind::Object(reason) = &*error.kind else {
                    panic!("{name} cut to {len} bytes: not an object error: {error}");
                };
                // Four bytes tell the format; past them the message names the
                // cut structure.
                let expected = if len < 4 {
                    matches!(reason, ObjError::Parse(_))
                } else {
                    matches!(reason, ObjError::Truncated { .. })
                };
                assert!(
                    expected,
                    "{name} for {} cut to {len} bytes: {error}",
                    target.triple
                );
                if let ObjError::Truncated { file_size, .. } = reason {
                    assert_eq!(*file_size, len as u64);
                    assert!(error.to_string().contains("truncated or corrupt"));
                }
                assert!(inspect(cut, target, name, reference_values()).is_err());
            }
        }
    }
}

#[test]
fn truncated_mach_o_names_what_is_cut() {
    let target = stencil_gen::target::Target::find("aarch64-macos").unwrap();
    let object = uop_object(target, "float.uop", "sqrt_f64");
    // Past the header, inside the load commands: the object crate alone
    // reads this as an object without sections.
    let error = lower(&object[..100], target, "sqrt_f64", reference_values()).unwrap_err();
    let sizeofcmds = u32::from_le_bytes(object[20..24].try_into().unwrap());
    let ncmds = u32::from_le_bytes(object[16..20].try_into().unwrap());
    assert_eq!(
        error.to_string(),
        format!(
            "uop `sqrt_f64` (aarch64-apple-darwin): the file (100 bytes) ends before the end of \
             the {ncmds} Mach-O load commands (bytes 0x20..{:#x}): the object is truncated or \
             corrupt; rebuild it",
            32 + sizeofcmds
        )
    );
    let error = lower(&object[..10], target, "sqrt_f64", reference_values()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "uop `sqrt_f64` (aarch64-apple-darwin): the file (10 bytes) ends before the end of \
         the Mach-O header (bytes 0x0..0x20): the object is truncated or corrupt; rebuild it"
    );
}

/// Write `value` over the 4 bytes at `at`.
fn put_u32(object: &mut [u8], at: usize, value: u32) {
    object[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn u32_at(object: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(object[at..at + 4].try_into().unwrap())
}

/// What lowering says of `object` for `target`, which must fail.
fn lower_error(object: &[u8], target: &stencil_gen::target::Target, name: &str) -> String {
    lower(object, target, name, reference_values())
        .unwrap_err()
        .to_string()
}

#[test]
fn offsets_past_the_end_of_parts_no_stencil_needs_are_errors_too() {
    use stencil_gen::target::{AARCH64_APPLE, X86_64_LINUX, X86_64_WINDOWS};
    // ELF: `.comment` is no part of the stencil, so its bytes are never
    // read; its header still must not point past the end.
    let mut object = uop_object(&X86_64_LINUX, "int.uop", "hash_i64");
    let shoff = u64::from_le_bytes(object[0x28..0x30].try_into().unwrap()) as usize;
    let shnum = u16::from_le_bytes(object[0x3c..0x3e].try_into().unwrap()) as usize;
    let names_header =
        shoff + 64 * u16::from_le_bytes(object[0x3e..0x40].try_into().unwrap()) as usize;
    let names = u64::from_le_bytes(
        object[names_header + 0x18..names_header + 0x20]
            .try_into()
            .unwrap(),
    ) as usize;
    let comment = (0..shnum)
        .find(|&i| {
            let name = names + u32_at(&object, shoff + 64 * i) as usize;
            object[name..].starts_with(b".comment\0")
        })
        .unwrap();
    let header = shoff + 64 * comment;
    let size = u64::from_le_bytes(object[header + 0x20..header + 0x28].try_into().unwrap());
    object[header + 0x18..header + 0x20].copy_from_slice(&0x10_0000u64.to_le_bytes());
    assert_eq!(
        lower_error(&object, &X86_64_LINUX, "hash_i64"),
        format!(
            "uop `hash_i64` (x86_64-unknown-linux-gnu): the file ({} bytes) ends before the \
             end of ELF section {comment} (.comment) (bytes 0x100000..{:#x}): the object is \
             truncated or corrupt; rebuild it",
            object.len(),
            0x10_0000 + size
        )
    );

    // Mach-O: a string table past the end would leave symbols nameless.
    let mut object = uop_object(&AARCH64_APPLE, "int.uop", "hash_i64");
    let mut at = 32;
    while u32_at(&object, at) != 0x2 {
        at += u32_at(&object, at + 4) as usize;
    }
    let strsize = u32_at(&object, at + 20);
    put_u32(&mut object, at + 16, 0x10_0000);
    assert_eq!(
        lower_error(&object, &AARCH64_APPLE, "hash_i64"),
        format!(
            "uop `hash_i64` (aarch64-apple-darwin): the file ({} bytes) ends before the end of \
             the Mach-O string table (bytes 0x100000..{:#x}): the object is truncated or \
             corrupt; rebuild it",
            object.len(),
            0x10_0000 + strsize
        )
    );

    // COFF: `.llvm_addrsig` (here listing the `.refptr` slots of the
    // oparg) is never read either.
    let mut object = uop_object(&X86_64_WINDOWS, "int.uop", "add_imm");
    let sections = u16::from_le_bytes(object[2..4].try_into().unwrap()) as usize;
    let symbols = u32_at(&object, 8) as usize + 18 * u32_at(&object, 12) as usize;
    let (number, header) = (0..sections)
        .map(|i| (i + 1, 20 + 40 * i))
        .find(|&(_, header)| {
            let name = String::from_utf8_lossy(&object[header..header + 8]).into_owned();
            let offset: usize = name.trim_end_matches('\0')[1..].parse().unwrap_or(0);
            name.starts_with('/') && object[symbols + offset..].starts_with(b".llvm_addrsig\0")
        })
        .unwrap();
    let size = u32_at(&object, header + 16);
    put_u32(&mut object, header + 20, 0x10_0000);
    assert_eq!(
        lower_error(&object, &X86_64_WINDOWS, "add_imm"),
        format!(
            "uop `add_imm` (x86_64-pc-windows-msvc): the file ({} bytes) ends before the end \
             of the contents of COFF section {number} (.llvm_addrsig) (bytes 0x100000..{:#x}): \
             the object is truncated or corrupt; rebuild it",
            object.len(),
            0x10_0000 + size
        )
    );
}
