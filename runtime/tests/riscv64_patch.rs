//! The bit arithmetic of the RISC-V hole kinds. Every patched instruction
//! is compared with what `llvm-mc-19` encodes for the same instruction
//! written with the expected immediate.

use std::io::Write;
use std::process::{Command, Stdio};

use runtime::patch::width;
use runtime::{patch, trampoline, Arch, HoleKind, PatchError};

/// A hole address far from zero, so that both directions of every range
/// can be reached.
const P: u64 = 0x7F00_0010_0000;

/// Patching `template` (one instruction, or the two of a call) as a hole of
/// `kind` at `location` for `target` gives the encoding of `expected`.
struct Case {
    kind: HoleKind,
    template: &'static str,
    location: u64,
    target: u64,
    expected: &'static str,
}

const fn case(
    kind: HoleKind,
    template: &'static str,
    location: u64,
    target: u64,
    expected: &'static str,
) -> Case {
    Case {
        kind,
        template,
        location,
        target,
        expected,
    }
}

fn compressed(kind: HoleKind) -> bool {
    matches!(kind, HoleKind::Riscv64CBranch | HoleKind::Riscv64CJump)
}

/// The encodings of `sources` (each one or more instructions separated by
/// newlines; `true` for compressed ones), concatenated per source.
fn assemble(sources: &[(bool, &str)]) -> Vec<Vec<u8>> {
    let mut input = String::new();
    for (rvc, source) in sources {
        // Without `norvc`, llvm-mc would compress every instruction it can.
        input.push_str(if *rvc {
            ".option rvc\n"
        } else {
            ".option norvc\n"
        });
        input.push_str(source);
        input.push('\n');
    }
    let llvm_mc = ["llvm-mc-19", "/usr/lib/llvm-19/bin/llvm-mc"]
        .into_iter()
        .find(|tool| Command::new(tool).arg("--version").output().is_ok())
        .expect("llvm-mc-19 is needed to check RISC-V encodings");
    let mut child = Command::new(llvm_mc)
        .args(["--triple=riscv64", "-mattr=+c,+d", "-show-encoding"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "llvm-mc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut encodings = stdout.lines().filter_map(|line| {
        let list = line.split("encoding: [").nth(1)?.strip_suffix(']')?;
        Some(
            list.split(',')
                .map(|byte| u8::from_str_radix(byte.trim_start_matches("0x"), 16).unwrap())
                .collect::<Vec<u8>>(),
        )
    });
    let assembled: Vec<Vec<u8>> = sources
        .iter()
        .map(|(_, source)| {
            source
                .lines()
                .flat_map(|_| encodings.next().expect("an encoding per instruction"))
                .collect()
        })
        .collect();
    assert!(
        encodings.next().is_none(),
        "more encodings than instructions"
    );
    assembled
}

const fn neg(value: i64) -> u64 {
    value as u64
}

const CASES: &[Case] = &[
    // B-type: ±4 KiB, any even offset.
    case(
        HoleKind::Riscv64Branch,
        "beq a0, a1, -2",
        P,
        P + 8,
        "beq a0, a1, 8",
    ),
    case(
        HoleKind::Riscv64Branch,
        "bne s2, t0, 8",
        P,
        P + 4094,
        "bne s2, t0, 4094",
    ),
    case(
        HoleKind::Riscv64Branch,
        "blt a0, zero, 8",
        P,
        P - 4096,
        "blt a0, zero, -4096",
    ),
    case(
        HoleKind::Riscv64Branch,
        "bgeu a5, a4, 0",
        P + 2,
        P,
        "bgeu a5, a4, -2",
    ),
    case(
        HoleKind::Riscv64Branch,
        "bge t1, t2, 0",
        P,
        P + 0x556,
        "bge t1, t2, 1366",
    ),
    // J-type: ±1 MiB.
    case(
        HoleKind::Riscv64Jal,
        "jal zero, 0",
        P,
        P + 0xF_FFFE,
        "jal zero, 1048574",
    ),
    case(
        HoleKind::Riscv64Jal,
        "jal ra, 2",
        P,
        P - 0x10_0000,
        "jal ra, -1048576",
    ),
    case(
        HoleKind::Riscv64Jal,
        "jal zero, 0",
        P,
        P + 0x1_2346,
        "jal zero, 74566",
    ),
    case(
        HoleKind::Riscv64Jal,
        "jal t0, 0",
        P,
        P - 0xAAA,
        "jal t0, -2730",
    ),
    // Compressed: C.BEQZ/C.BNEZ ±256 bytes, C.J ±2 KiB.
    case(
        HoleKind::Riscv64CBranch,
        "c.bnez a0, 0",
        P,
        P + 254,
        "c.bnez a0, 254",
    ),
    case(
        HoleKind::Riscv64CBranch,
        "c.beqz s1, 2",
        P,
        P - 256,
        "c.beqz s1, -256",
    ),
    case(
        HoleKind::Riscv64CBranch,
        "c.beqz a5, 0",
        P,
        P + 86,
        "c.beqz a5, 86",
    ),
    case(
        HoleKind::Riscv64CBranch,
        "c.bnez a2, 0",
        P,
        P - 170,
        "c.bnez a2, -170",
    ),
    case(HoleKind::Riscv64CJump, "c.j 0", P, P + 2046, "c.j 2046"),
    case(HoleKind::Riscv64CJump, "c.j 4", P, P - 2048, "c.j -2048"),
    case(HoleKind::Riscv64CJump, "c.j 0", P, P + 682, "c.j 682"),
    case(HoleKind::Riscv64CJump, "c.j 0", P, P - 1366, "c.j -1366"),
    // LUI: rounded so that the sign-extended low part adds up.
    case(
        HoleKind::Riscv64Hi20,
        "lui a1, 1",
        P,
        0x1234_5FFF,
        "lui a1, 0x12346",
    ),
    case(
        HoleKind::Riscv64Hi20,
        "lui a1, 0",
        P,
        0x1234_57FF,
        "lui a1, 0x12345",
    ),
    case(
        HoleKind::Riscv64Hi20,
        "lui a1, 0",
        P,
        0x1234_5800,
        "lui a1, 0x12346",
    ),
    case(
        HoleKind::Riscv64Hi20,
        "lui t0, 0xfffff",
        P,
        0x7FFF_F7FF,
        "lui t0, 0x7ffff",
    ),
    case(
        HoleKind::Riscv64Hi20,
        "lui a1, 0",
        P,
        neg(-0x8000_0800),
        "lui a1, 0x80000",
    ),
    case(
        HoleKind::Riscv64Hi20,
        "lui a1, 5",
        P,
        neg(-0x800),
        "lui a1, 0",
    ),
    case(
        HoleKind::Riscv64Hi20,
        "lui a1, 5",
        P,
        neg(-0x801),
        "lui a1, 0xfffff",
    ),
    // I-type low parts.
    case(
        HoleKind::Riscv64Lo12I,
        "addi a1, a1, 5",
        P,
        0x1234_5FFF,
        "addi a1, a1, -1",
    ),
    case(
        HoleKind::Riscv64Lo12I,
        "ld a2, 0(a1)",
        P,
        0x1234_5800,
        "ld a2, -2048(a1)",
    ),
    case(
        HoleKind::Riscv64Lo12I,
        "lw a0, -1(a1)",
        P,
        0x1234_57FF,
        "lw a0, 2047(a1)",
    ),
    case(
        HoleKind::Riscv64Lo12I,
        "fld fa0, 0(a1)",
        P,
        0x1234_5010,
        "fld fa0, 16(a1)",
    ),
    case(
        HoleKind::Riscv64Lo12I,
        "addi a1, a1, 0",
        P,
        neg(-0x800),
        "addi a1, a1, -2048",
    ),
    // S-type low parts: the immediate is split around rs2 and rs1.
    case(
        HoleKind::Riscv64Lo12S,
        "sd a0, 0(a1)",
        P,
        0x1234_5FFF,
        "sd a0, -1(a1)",
    ),
    case(
        HoleKind::Riscv64Lo12S,
        "sw t2, -1(a5)",
        P,
        0x1234_5800,
        "sw t2, -2048(a5)",
    ),
    case(
        HoleKind::Riscv64Lo12S,
        "sb a0, 0(a1)",
        P,
        0x1234_57FF,
        "sb a0, 2047(a1)",
    ),
    case(
        HoleKind::Riscv64Lo12S,
        "fsd fa0, 0(a1)",
        P,
        0x1234_5010,
        "fsd fa0, 16(a1)",
    ),
    case(
        HoleKind::Riscv64Lo12S,
        "sh s1, 0(sp)",
        P,
        0x1234_5555,
        "sh s1, 1365(sp)",
    ),
    // AUIPC: ±2 GiB from the hole, rounded as LUI.
    case(
        HoleKind::Riscv64PcRelHi20,
        "auipc a1, 0",
        P,
        P + 0x1234_5FFF,
        "auipc a1, 0x12346",
    ),
    case(
        HoleKind::Riscv64PcRelHi20,
        "auipc a1, 7",
        P,
        P - 8,
        "auipc a1, 0",
    ),
    case(
        HoleKind::Riscv64PcRelHi20,
        "auipc a1, 0",
        P,
        P + 0x7FFF_F7FF,
        "auipc a1, 0x7ffff",
    ),
    case(
        HoleKind::Riscv64PcRelHi20,
        "auipc a1, 0",
        P,
        P - 0x8000_0800,
        "auipc a1, 0x80000",
    ),
    case(
        HoleKind::Riscv64PcRelHi20,
        "auipc a1, 0",
        P,
        P - 0x1000,
        "auipc a1, 0xfffff",
    ),
    case(
        HoleKind::Riscv64PcRelHi20,
        "auipc t3, 0",
        P,
        P + 0x800,
        "auipc t3, 1",
    ),
    // The low parts of `S - P`.
    case(
        HoleKind::Riscv64PcRelLo12I,
        "addi a1, a1, 0",
        P,
        P + 0x1234_5FFF,
        "addi a1, a1, -1",
    ),
    case(
        HoleKind::Riscv64PcRelLo12I,
        "ld a0, 8(a1)",
        P,
        P - 8,
        "ld a0, -8(a1)",
    ),
    case(
        HoleKind::Riscv64PcRelLo12I,
        "fld fa0, 0(a1)",
        P,
        P + 0x800,
        "fld fa0, -2048(a1)",
    ),
    case(
        HoleKind::Riscv64PcRelLo12I,
        "lw a0, 0(a1)",
        P,
        P + 0x7FF,
        "lw a0, 2047(a1)",
    ),
    case(
        HoleKind::Riscv64PcRelLo12S,
        "sd a0, 0(a1)",
        P,
        P + 0x1234_5FFF,
        "sd a0, -1(a1)",
    ),
    case(
        HoleKind::Riscv64PcRelLo12S,
        "sw a0, 0(a1)",
        P,
        P + 0x7FF,
        "sw a0, 2047(a1)",
    ),
    case(
        HoleKind::Riscv64PcRelLo12S,
        "fsd fa1, 8(t0)",
        P,
        P - 0x8000_0800,
        "fsd fa1, -2048(t0)",
    ),
    // AUIPC + JALR: a call (`ra`) or a tail call (`t1`, no link).
    case(
        HoleKind::Riscv64Call,
        "auipc ra, 0\njalr ra, 0(ra)",
        P,
        P + 0x1234_5FFF,
        "auipc ra, 0x12346\njalr ra, -1(ra)",
    ),
    case(
        HoleKind::Riscv64Call,
        "auipc ra, 5\njalr ra, 5(ra)",
        P,
        P - 8,
        "auipc ra, 0\njalr ra, -8(ra)",
    ),
    case(
        HoleKind::Riscv64Call,
        "auipc t1, 0\njalr zero, 0(t1)",
        P,
        P - 0x8000_0800,
        "auipc t1, 0x80000\njalr zero, -2048(t1)",
    ),
    case(
        HoleKind::Riscv64Call,
        "auipc ra, 0\njalr ra, 0(ra)",
        P,
        P + 0x7FFF_F7FF,
        "auipc ra, 0x7ffff\njalr ra, 2047(ra)",
    ),
];

#[test]
fn patched_instructions_match_llvm_mc() {
    let mut sources = Vec::new();
    for case in CASES {
        sources.push((compressed(case.kind), case.template));
        sources.push((compressed(case.kind), case.expected));
    }
    let encodings = assemble(&sources);
    for (case, pair) in CASES.iter().zip(encodings.chunks(2)) {
        let (template, expected) = (&pair[0], &pair[1]);
        assert_eq!(template.len(), width(case.kind), "{}", case.template);
        let mut buf = template.clone();
        patch(case.kind, &mut buf, 0, case.location, case.target)
            .unwrap_or_else(|error| panic!("{:?} for `{}`: {error}", case.kind, case.expected));
        assert_eq!(
            &buf, expected,
            "{:?} at {:#x} to {:#x}: `{}`",
            case.kind, case.location, case.target, case.expected
        );
    }
}

/// Patching `bytes` at 0 fails with `error`, and leaves them as they were.
fn refused(
    kind: HoleKind,
    location: u64,
    target: u64,
    error: fn(HoleKind, u64, u64) -> PatchError,
) {
    let before: Vec<u8> = (0..width(kind) as u8).map(|i| 0x11 * (i + 1)).collect();
    let mut buf = before.clone();
    assert_eq!(
        patch(kind, &mut buf, 0, location, target),
        Err(error(kind, location, target)),
        "{kind:?} at {location:#x} to {target:#x}"
    );
    assert_eq!(buf, before, "an error writes nothing");
}

fn out_of_range(kind: HoleKind, location: u64, target: u64) -> PatchError {
    PatchError::OutOfRange {
        kind,
        location,
        target,
    }
}

fn misaligned(kind: HoleKind, location: u64, target: u64) -> PatchError {
    PatchError::Misaligned {
        kind,
        location,
        target,
    }
}

#[test]
fn branches_out_of_reach_are_refused() {
    for (kind, top) in [
        (HoleKind::Riscv64Branch, 0xFFE),
        (HoleKind::Riscv64Jal, 0xF_FFFE),
        (HoleKind::Riscv64CBranch, 0xFE),
        (HoleKind::Riscv64CJump, 0x7FE),
    ] {
        let bottom = P - (top + 2);
        // The last offsets that fit, both ways.
        patch(kind, &mut vec![0; width(kind)], 0, P, P + top).unwrap();
        patch(kind, &mut vec![0; width(kind)], 0, P, bottom).unwrap();
        refused(kind, P, P + top + 2, out_of_range);
        refused(kind, P, bottom - 2, out_of_range);
        refused(kind, P, P + (1 << 40), out_of_range);
        // Bit 0 of an offset has no field.
        refused(kind, P, P + 3, misaligned);
        refused(kind, P + 1, P - 4, misaligned);
        refused(kind, P, P + top + 1, misaligned);
    }
}

#[test]
fn pc_relative_pairs_out_of_reach_are_refused() {
    for kind in [
        HoleKind::Riscv64PcRelHi20,
        HoleKind::Riscv64PcRelLo12I,
        HoleKind::Riscv64PcRelLo12S,
        HoleKind::Riscv64Call,
    ] {
        patch(kind, &mut vec![0; width(kind)], 0, P, P + 0x7FFF_F7FF).unwrap();
        patch(kind, &mut vec![0; width(kind)], 0, P, P - 0x8000_0800).unwrap();
        refused(kind, P, P + 0x7FFF_F800, out_of_range);
        refused(kind, P, P - 0x8000_0801, out_of_range);
        refused(kind, P, 0x1000, out_of_range);
        // Any byte offset is fine: the low part keeps every bit.
        patch(kind, &mut vec![0; width(kind)], 0, P, P + 0x1235).unwrap();
    }
}

#[test]
fn absolute_pairs_need_a_sign_extended_32_bit_value() {
    for kind in [
        HoleKind::Riscv64Hi20,
        HoleKind::Riscv64Lo12I,
        HoleKind::Riscv64Lo12S,
    ] {
        patch(kind, &mut [0; 4], 0, P, 0x7FFF_F7FF).unwrap();
        patch(kind, &mut [0; 4], 0, P, neg(-0x8000_0800)).unwrap();
        // LUI sign-extends bit 31: no LUI + ADDI pair makes 0x8000_0000.
        refused(kind, P, 0x7FFF_F800, out_of_range);
        refused(kind, P, 0x8000_0000, out_of_range);
        refused(kind, P, 0xFFFF_FFFF, out_of_range);
        refused(kind, P, 0x1_0000_0000, out_of_range);
        refused(kind, P, neg(-0x8000_0801), out_of_range);
    }
}

#[test]
fn widths_and_bounds() {
    assert_eq!(width(HoleKind::Riscv64Call), 8);
    assert_eq!(width(HoleKind::Riscv64CBranch), 2);
    assert_eq!(width(HoleKind::Riscv64CJump), 2);
    for kind in [
        HoleKind::Riscv64Hi20,
        HoleKind::Riscv64Lo12I,
        HoleKind::Riscv64Lo12S,
        HoleKind::Riscv64PcRelHi20,
        HoleKind::Riscv64PcRelLo12I,
        HoleKind::Riscv64PcRelLo12S,
        HoleKind::Riscv64Branch,
        HoleKind::Riscv64Jal,
    ] {
        assert_eq!(width(kind), 4, "{kind:?}");
    }
    let mut buf = [0u8; 8];
    for (kind, at) in [
        (HoleKind::Riscv64Call, 1),
        (HoleKind::Riscv64Call, 4),
        (HoleKind::Riscv64CBranch, 7),
        (HoleKind::Riscv64CJump, 8),
        (HoleKind::Riscv64Branch, 5),
        (HoleKind::Riscv64Hi20, usize::MAX - 2),
    ] {
        assert_eq!(
            patch(kind, &mut buf, at, P, P),
            Err(PatchError::OutOfBounds { kind, at, len: 8 })
        );
    }
    assert_eq!(buf, [0; 8]);
    // The last positions that fit.
    patch(HoleKind::Riscv64Call, &mut buf, 0, P, P).unwrap();
    patch(HoleKind::Riscv64CJump, &mut buf, 6, P, P).unwrap();
}

#[test]
fn trampoline_matches_llvm_mc() {
    let address: u64 = 0x0123_4567_89AB_CDEF;
    let [instructions] = &assemble(&[(false, "auipc t1, 0\nld t1, 16(t1)\njr t1\nnop")])[..] else {
        panic!("one source, one encoding");
    };
    let mut expected = instructions.clone();
    expected.extend_from_slice(&address.to_le_bytes());
    assert_eq!(expected.len(), 24);

    let form = trampoline::form(Arch::Riscv64).unwrap();
    assert_eq!(trampoline::size(Arch::Riscv64), Some(24));
    // `ld` reads the address 16 bytes after the `auipc`, 8-aligned as the
    // trampolines start 8-aligned.
    assert_eq!((form.address_at, form.align), (16, 8));
    assert_eq!(form.serves, [HoleKind::Riscv64Call]);
    let mut slot = [0xA5; 24];
    assert!(trampoline::write(Arch::Riscv64, &mut slot, address));
    assert_eq!(slot.as_slice(), expected.as_slice());

    // A slot of another size is left alone.
    for len in [16, 23, 25] {
        let mut slot = vec![0xA5; len];
        assert!(!trampoline::write(Arch::Riscv64, &mut slot, address));
        assert!(slot.iter().all(|&byte| byte == 0xA5), "{len} bytes");
    }
}
