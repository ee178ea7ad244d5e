//! The oracle's decoders on instruction encodings from `llvm-mc
//! -show-encoding` (LLVM 19), so that they are checked against the
//! assembler rather than against the patcher they judge.

use emit_oracle::decode::{decode, field_mask};
use emit_oracle::got::{check_relaxed, Effect};
use emit_oracle::reach::reaches;
use emit_oracle::trampoline;
use runtime::{Arch, HoleKind};

/// The hole's bytes at `location` encode `target`, and not `wrong`.
fn encodes(kind: HoleKind, arch: Arch, bytes: &[u8], location: u64, target: u64, wrong: u64) {
    let decoded = decode(kind, arch, bytes, location).expect("the kind has an encoding");
    assert!(
        decoded.holds(location, target),
        "{kind:?} {bytes:02x?} at {location:#x} should encode {target:#x}: {decoded:x?}"
    );
    assert!(
        !decoded.holds(location, wrong),
        "{kind:?} {bytes:02x?} at {location:#x} encodes {wrong:#x} too: {decoded:x?}"
    );
}

const P: u64 = 0x7F00_0012_3458;

#[test]
fn aarch64_encodings() {
    use HoleKind::*;
    let a = Arch::Aarch64;
    // b #4096; bl #-8; b.ne #-4; tbz w1, #3, #64
    encodes(
        Aarch64Branch26,
        a,
        &[0x00, 0x04, 0x00, 0x14],
        P,
        P + 4096,
        P + 4100,
    );
    encodes(
        Aarch64Branch26,
        a,
        &[0xfe, 0xff, 0xff, 0x97],
        P,
        P - 8,
        P + 8,
    );
    encodes(Aarch64Branch19, a, &[0xe1, 0xff, 0xff, 0x54], P, P - 4, P);
    encodes(
        Aarch64Branch14,
        a,
        &[0x01, 0x02, 0x18, 0x36],
        P,
        P + 64,
        P - 64,
    );
    // adr x0, #-1048576; adrp x2, #-4096: any address of the page before.
    encodes(
        Aarch64Adr21,
        a,
        &[0x00, 0x00, 0x80, 0x10],
        P,
        P - 0x10_0000,
        P + 0x10_0000,
    );
    let page = (P & !0xFFF) - 0x1000;
    encodes(
        Aarch64AdrpPage21,
        a,
        &[0xe2, 0xff, 0xff, 0xf0],
        P,
        page + 0xABC,
        page + 0x1ABC,
    );
    // ldr x3, [x4, #4088] (scaled by 8); add x5, x6, #4095
    let scaled = Aarch64PageOffset12 { scale: 3 };
    encodes(
        scaled,
        a,
        &[0x83, 0xfc, 0x47, 0xf9],
        P,
        0x7000_0FF8,
        0x7000_0FF0,
    );
    let unscaled = Aarch64PageOffset12 { scale: 0 };
    encodes(unscaled, a, &[0xc5, 0xfc, 0x3f, 0x91], P, 0x1FFF, 0x1FFE);
    // movk x7, #0xbeef, lsl #32
    let group2 = Aarch64MovWide { group: 2 };
    encodes(
        group2,
        a,
        &[0xe7, 0xdd, 0xd7, 0xf2],
        P,
        0x1234_BEEF_5678_9ABC,
        0x1234_BEEE_5678_9ABC,
    );
    assert_eq!(decode(Aarch64MovWide { group: 4 }, a, &[0; 4], P), None);
    assert_eq!(
        decode(Aarch64PageOffset12 { scale: 5 }, a, &[0; 4], P),
        None
    );
}

#[test]
fn riscv64_encodings() {
    use HoleKind::*;
    let r = Arch::Riscv64;
    // lui a0, 0x80000: the upper part of -2 GiB.
    encodes(
        Riscv64Hi20,
        r,
        &[0x37, 0x05, 0x00, 0x80],
        P,
        0xFFFF_FFFF_7FFF_F800,
        0x8000_0000,
    );
    // auipc a1, 0xfffff: S - P rounds to -4096.
    encodes(
        Riscv64PcRelHi20,
        r,
        &[0x97, 0xf5, 0xff, 0xff],
        P,
        P - 0x1800,
        P - 0x1801,
    );
    // addi a2, a2, -2048; sd a3, 2047(a4)
    encodes(
        Riscv64Lo12I,
        r,
        &[0x13, 0x06, 0x06, 0x80],
        P,
        0x1800,
        0x1000,
    );
    encodes(
        Riscv64PcRelLo12I,
        r,
        &[0x13, 0x06, 0x06, 0x80],
        P,
        P + 0x800,
        P,
    );
    encodes(
        Riscv64Lo12S,
        r,
        &[0xa3, 0x3f, 0xd7, 0x7e],
        P,
        0x47FF,
        0x47FE,
    );
    encodes(
        Riscv64PcRelLo12S,
        r,
        &[0xa3, 0x3f, 0xd7, 0x7e],
        P,
        P + 0x7FF,
        P + 0x800,
    );
    // beq a0, a1, -4096; j 1048574; c.beqz a0, -256; c.j 2046
    encodes(
        Riscv64Branch,
        r,
        &[0x63, 0x00, 0xb5, 0x80],
        P,
        P - 4096,
        P + 4096,
    );
    encodes(
        Riscv64Jal,
        r,
        &[0x6f, 0xf0, 0xff, 0x7f],
        P,
        P + 1_048_574,
        P - 2,
    );
    encodes(Riscv64CBranch, r, &[0x01, 0xd1], P, P - 256, P + 256);
    encodes(Riscv64CJump, r, &[0xfd, 0xaf], P, P + 2046, P - 2);
    // auipc a1, 0xfffff; jalr ra, -1(t0): the pair adds up.
    let call = [0x97, 0xf5, 0xff, 0xff, 0xe7, 0x80, 0xf2, 0xff];
    encodes(Riscv64Call, r, &call, P, P - 0x1001, P - 0x1000);
}

#[test]
fn x86_encodings() {
    use HoleKind::*;
    let x = Arch::X86_64;
    encodes(
        PcRel32,
        x,
        &[0xfc, 0xff, 0xff, 0xff],
        P,
        P - 4,
        P + 0xFFFF_FFFC,
    );
    encodes(X86_64GotLoad, x, &[0x10, 0, 0, 0], P, P + 16, P);
    encodes(
        Abs32Signed,
        x,
        &[0xff, 0xff, 0xff, 0xff],
        P,
        u64::MAX,
        0xFFFF_FFFF,
    );
    encodes(
        Abs32,
        x,
        &[0xff, 0xff, 0xff, 0xff],
        P,
        0xFFFF_FFFF,
        u64::MAX,
    );
    encodes(PcRel64, x, &(-16i64).to_le_bytes(), P, P - 16, P + 16);
    // On i686 a rel32 wraps around the 32-bit address space.
    let i = Arch::I686;
    encodes(PcRel32, i, &[0, 0, 0, 0x80], 0x1000, 0x8000_1000, 0x1000);
    encodes(
        PcRel32,
        i,
        &[0, 0, 0, 0x80],
        0x1000,
        0xFFFF_FFFF_8000_1000,
        0x8000_1004,
    );
}

#[test]
fn field_masks_keep_opcodes_and_registers() {
    assert_eq!(field_mask(HoleKind::Aarch64Branch26), 0x03FF_FFFF);
    assert_eq!(field_mask(HoleKind::Riscv64Call), 0xFFF0_0000_FFFF_F000);
    assert_eq!(field_mask(HoleKind::Riscv64CJump), 0x1FFC);
    assert_eq!(field_mask(HoleKind::X86_64GotLoadNoRex), 0xFFFF_FFFF);
}

#[test]
fn reach_at_the_edges() {
    use HoleKind::*;
    let a = Arch::Aarch64;
    assert!(reaches(Aarch64Branch26, a, P, P + 0x7FF_FFFC));
    assert!(!reaches(Aarch64Branch26, a, P, P + 0x800_0000));
    assert!(reaches(Aarch64Branch26, a, P, P - 0x800_0000));
    assert!(!reaches(Aarch64Branch26, a, P, P + 2));
    let r = Arch::Riscv64;
    assert!(reaches(Riscv64Call, r, P, P + 0x7FFF_F7FF));
    assert!(!reaches(Riscv64Call, r, P, P + 0x7FFF_F800));
    assert!(reaches(Riscv64Call, r, P, P - 0x8000_0800));
    assert!(!reaches(Riscv64Call, r, P, P - 0x8000_0801));
    assert!(reaches(PcRel32, Arch::I686, 0x1000, 0xFFFF_0000));
    assert!(!reaches(PcRel32, Arch::X86_64, 0x1000, 0xFFFF_0000));
}

#[test]
fn relaxed_got_loads_do_what_the_load_did() {
    let mov = [0x4C, 0x8B, 0x1D, 0, 0, 0, 0]; // movq slot(%rip), %r11
                                              // movq $-1, %r11 (REX.W + REX.B, C7 /0): sign-extended, so the slot held -1.
    let imm = [0x49, 0xC7, 0xC3, 0xFF, 0xFF, 0xFF, 0xFF];
    let kind = HoleKind::X86_64GotLoad;
    assert_eq!(check_relaxed(kind, &mov, &imm, 3, P, u64::MAX), Ok(true));
    assert!(check_relaxed(kind, &mov, &imm, 3, P, 0xFFFF_FFFF).is_err());
    // Unchanged instruction bytes: not relaxed, the disp32 is a plain hole.
    assert_eq!(check_relaxed(kind, &mov, &mov, 3, P, 7), Ok(false));
    // call *slot(%rip) -> addr32 call rel32 to the slot's value.
    let call = [0xFF, 0x15, 0, 0, 0, 0];
    let direct = [0x67, 0xE8, 0x10, 0, 0, 0];
    let no_rex = HoleKind::X86_64GotLoadNoRex;
    assert_eq!(
        check_relaxed(no_rex, &call, &direct, 2, P, P + 0x14),
        Ok(true)
    );
    assert!(check_relaxed(no_rex, &call, &direct, 2, P, P + 0x10).is_err());
    // A call must stay a call.
    let jump = [0x90, 0xE9, 0x10, 0, 0, 0];
    let err = check_relaxed(no_rex, &call, &jump, 2, P, P + 0x14).unwrap_err();
    assert!(
        err.contains(&format!("{:x?}", Effect::Jump(P + 0x14))),
        "{err}"
    );
}

#[test]
fn trampolines_are_followed_to_their_address() {
    let base = 0x7F00_0000_0000;
    // jmp *0(%rip); .quad; int3; int3 at offset 16.
    let mut trace = vec![0xCC; 32];
    trace[16..22].copy_from_slice(&[0xFF, 0x25, 0, 0, 0, 0]);
    trace[22..30].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(
        trampoline::target(Arch::X86_64, &trace, base, 16),
        Ok(0x1122_3344_5566_7788)
    );
    // ldr x16, #8; br x16; .quad
    let mut trace = vec![0; 16];
    trace[..8].copy_from_slice(&[0x50, 0x00, 0x00, 0x58, 0x00, 0x02, 0x1F, 0xD6]);
    trace[8..].copy_from_slice(&0xABCDu64.to_le_bytes());
    assert_eq!(
        trampoline::target(Arch::Aarch64, &trace, base, 0),
        Ok(0xABCD)
    );
    // br x17 after ldr x16: not the register it loads.
    trace[4] = 0x20;
    assert!(trampoline::target(Arch::Aarch64, &trace, base, 0).is_err());
}
