//! Assembling, lowering, patching and disassembling for the relocation
//! and format tests.

// Two test crates include this module and each uses a part of it.
#![allow(dead_code)]

#[allow(unused_imports)]
use crate::abi_support::{reference_abi, reference_values};
use std::path::Path;
use std::process::Command;

use runtime::patch::{patch, relax_x86_64_got_load};
use runtime::HoleKind::{self, *};
use stencil_gen::lower::lower;
use stencil_gen::model::{Hole, StencilGroup, Value};
use stencil_gen::target::Target;

const CLANG: &str = "/usr/bin/clang-19";
const LLVM_BIN: &str = "/usr/lib/llvm-19/bin";

/// Assemble `source` for `target` with its clang flags into object bytes.
pub fn assemble(target: &Target, source: &str) -> Vec<u8> {
    assemble_with(target, target.clang_flags, source)
}

/// Assemble `source` for `target` with `flags` (in place of the target's
/// clang flags) into object bytes.
pub fn assemble_with(target: &Target, flags: &[&str], source: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let input = dir.path().join("stencil.s");
    let output = dir.path().join("stencil.o");
    std::fs::write(&input, source).expect("write assembly");
    let result = Command::new(CLANG)
        .arg("-c")
        .arg(format!("--target={}", target.clang_triple))
        .args(flags)
        .arg("-Wno-unused-command-line-argument")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("run clang-19");
    assert!(
        result.status.success(),
        "clang-19 failed on:\n{source}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::read(&output).expect("read object")
}

/// Lower `object` as a uop for `target`, or panic with the error.
pub fn lower_object(target: &Target, object: &[u8]) -> StencilGroup {
    lower(object, target, "test_uop", reference_values()).unwrap_or_else(|e| panic!("{e}"))
}

pub fn lower_asm(target: &Target, source: &str) -> StencilGroup {
    lower_object(target, &assemble(target, source))
}

pub fn lower_asm_with(target: &Target, flags: &[&str], source: &str) -> StencilGroup {
    lower_object(target, &assemble_with(target, flags, source))
}

/// The message of lowering `source`, which must fail.
pub fn lower_error(target: &Target, source: &str) -> String {
    lower(
        &assemble(target, source),
        target,
        "test_uop",
        reference_values(),
    )
    .unwrap_err()
    .to_string()
}

pub fn hole(offset: u32, kind: HoleKind, value: Value, addend: i64) -> Hole {
    Hole {
        offset,
        kind,
        value,
        addend,
    }
}

pub fn helper() -> Value {
    Value::Symbol("helper".to_string())
}

/// The relocation types `llvm-readobj` lists for `object`, in its order:
/// a witness that the object holds the relocation a test is about.
pub fn relocation_types(object: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("object.o");
    std::fs::write(&path, object).expect("write object");
    let listing = run(Command::new(Path::new(LLVM_BIN).join("llvm-readobj"))
        .arg("--relocations")
        .arg(&path));
    listing
        .split_whitespace()
        .filter(|word| {
            ["R_", "IMAGE_REL_", "X86_64_RELOC_", "ARM64_RELOC_"]
                .iter()
                .any(|prefix| word.starts_with(prefix))
        })
        .map(str::to_string)
        .collect()
}

/// Assert that `object` holds a relocation of type `name`.
pub fn assert_has_relocation(object: &[u8], name: &str) {
    let types = relocation_types(object);
    assert!(types.iter().any(|t| t == name), "no {name} among {types:?}");
}

/// Assert that `group`, lowered from data `.quad 5`, `.quad helper+16`,
/// the address of the code at `label`, `.long helper+4` and then the data
/// holes `rest`, has those holes, and that emitting it at `code_base` and
/// `data_base` with `helper` at `helper_at` writes each value. Returns the
/// emitted data.
pub fn assert_absolute_data(
    group: &StencilGroup,
    rest: &[Hole],
    (code_base, data_base): (u64, u64),
    label: u64,
    helper_at: u64,
) -> Vec<u8> {
    let absolute = [
        hole(8, Abs64, helper(), 16),
        hole(16, Abs64, Value::Code, label as i64),
        hole(24, Abs32, helper(), 4),
    ];
    assert_eq!(group.data_holes, [&absolute[..], rest].concat());
    let (_, data) = Emission::new(code_base, data_base)
        .with(helper(), helper_at)
        .emit(group);
    assert_eq!(read_u64(&data, 0), 5);
    assert_eq!(read_u64(&data, 8), helper_at + 16);
    assert_eq!(read_u64(&data, 16), code_base + label);
    assert_eq!(u64::from(read_u32(&data, 24)), helper_at + 4);
    data
}

/// Assert that `group`, lowered from AArch64 `adrp x0, helper+16`, an
/// `add` of the page offset of `helper+16` and loads of 8, 4, 16 and 1
/// bytes at the page offsets of `helper+24`, `+4`, `+32` and `+3`, then
/// `ret`, has a hole per instruction, each page offset scaled by its access
/// size, and that emitting it at `code` and `data` with `helper` at
/// 0x4321_5600 gives instructions that reach those addresses.
pub fn assert_page_offsets(target: &Target, group: &StencilGroup, (code, data): (u64, u64)) {
    assert_eq!(
        group.code_holes,
        [
            hole(0, Aarch64AdrpPage21, helper(), 16),
            hole(4, Aarch64PageOffset12 { scale: 0 }, helper(), 16),
            hole(8, Aarch64PageOffset12 { scale: 3 }, helper(), 24),
            hole(12, Aarch64PageOffset12 { scale: 2 }, helper(), 4),
            hole(16, Aarch64PageOffset12 { scale: 4 }, helper(), 32),
            hole(20, Aarch64PageOffset12 { scale: 0 }, helper(), 3),
        ]
    );
    let (bytes, _) = Emission::new(code, data)
        .with(helper(), 0x4321_5600)
        .emit(group);
    assert_eq!(
        listing(target, &bytes, code),
        [
            "adrp x0, 0x43215000",
            "add x0, x0, #0x610",
            "ldr x1, [x0, #0x618]",
            "ldr w1, [x0, #0x604]",
            "ldr q1, [x0, #0x620]",
            "ldrb w1, [x0, #0x603]",
            "ret",
        ]
    );
}

/// Where code and data go, and what every other hole value is.
pub struct Emission {
    pub code_base: u64,
    pub data_base: u64,
    values: Vec<(Value, u64)>,
}

impl Emission {
    pub fn new(code_base: u64, data_base: u64) -> Self {
        Emission {
            code_base,
            data_base,
            values: Vec::new(),
        }
    }

    pub fn with(mut self, value: Value, address: u64) -> Self {
        self.values.push((value, address));
        self
    }

    fn value(&self, value: &Value) -> u64 {
        match value {
            Value::Code => self.code_base,
            Value::Data => self.data_base,
            Value::Zero => 0,
            other => {
                self.values
                    .iter()
                    .find(|(v, _)| v == other)
                    .unwrap_or_else(|| panic!("no address for {other:?}"))
                    .1
            }
        }
    }

    /// Patch data holes first (GOT slots), then code holes, relaxing
    /// x86-64 GOT loads where the runtime can.
    pub fn emit(&self, group: &StencilGroup) -> (Vec<u8>, Vec<u8>) {
        let mut data = group.data.clone();
        for h in &group.data_holes {
            let target = self.value(&h.value).wrapping_add(h.addend as u64);
            patch(
                h.kind,
                &mut data,
                h.offset as usize,
                self.data_base + u64::from(h.offset),
                target,
            )
            .unwrap_or_else(|e| panic!("data hole {h:?}: {e}"));
        }
        let mut code = group.code.clone();
        for h in &group.code_holes {
            let at = h.offset as usize;
            let location = self.code_base + u64::from(h.offset);
            let target = self.value(&h.value).wrapping_add(h.addend as u64);
            if matches!(h.kind, X86_64GotLoad | X86_64GotLoadNoRex) {
                // The disp32 ends the instruction, so the slot is S + 4.
                let slot = (target + 4 - self.data_base) as usize;
                let slot_value = read_u64(&data, slot);
                if relax_x86_64_got_load(h.kind, &mut code, at, location, slot_value) {
                    continue;
                }
            }
            patch(h.kind, &mut code, at, location, target)
                .unwrap_or_else(|e| panic!("code hole {h:?}: {e}"));
        }
        (code, data)
    }
}

/// Disassemble `bytes` placed at `base`; one `(address, instruction)` per
/// line, with symbolization (`<...>`) dropped and blanks collapsed.
pub fn disassemble(target: &Target, bytes: &[u8], base: u64) -> Vec<(u64, String)> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let raw = dir.path().join("code.bin");
    let wrapped = dir.path().join("code.o");
    let linked = dir.path().join("code.elf");
    std::fs::write(&raw, bytes).expect("write code");
    let (format, features) = match target.arch {
        runtime::Arch::X86_64 => ("elf64-x86-64", None),
        runtime::Arch::Aarch64 => ("elf64-littleaarch64", None),
        runtime::Arch::I686 => ("elf32-i386", None),
        runtime::Arch::Riscv64 => ("elf64-littleriscv", Some("--mattr=+m,+a,+f,+d,+c")),
    };
    run(Command::new(Path::new(LLVM_BIN).join("llvm-objcopy"))
        .args(["-I", "binary", "-O", format])
        .arg(&raw)
        .arg(&wrapped));
    // Linking places the bytes at `base`, so that llvm-objdump computes
    // every address (pc-relative ones included) as the code will run.
    run(Command::new(Path::new(LLVM_BIN).join("ld.lld"))
        .arg(format!("--section-start=.data={base:#x}"))
        .args(["-e", "0"])
        .arg(&wrapped)
        .arg("-o")
        .arg(&linked));
    let listing = run(Command::new(Path::new(LLVM_BIN).join("llvm-objdump"))
        .args(["-D", "-j", ".data", "--no-show-raw-insn"])
        .args(features)
        .arg(&linked));
    listing
        .lines()
        .filter_map(|line| {
            let (address, text) = line.split_once(':')?;
            let address = u64::from_str_radix(address.trim(), 16).ok()?;
            let text = match text.find(" <") {
                Some(symbolized) => &text[..symbolized],
                None => text,
            };
            Some((
                address,
                text.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        })
        .collect()
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run an LLVM tool");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The instructions llvm-objdump decodes in `bytes` placed at `base`.
pub fn listing(target: &Target, bytes: &[u8], base: u64) -> Vec<String> {
    disassemble(target, bytes, base)
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

/// The instruction llvm-objdump decodes at code offset `offset`.
pub fn instruction(target: &Target, code: &[u8], base: u64, offset: u64) -> String {
    disassemble(target, code, base)
        .into_iter()
        .find(|(address, _)| *address == base + offset)
        .unwrap_or_else(|| panic!("no instruction at offset {offset:#x}"))
        .1
}

pub fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

pub fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}
