//! The bit arithmetic of every hole kind, checked against encodings from the
//! Intel SDM and the Arm ARM (cross-checked with `llvm-mc -show-encoding`).

use runtime::{patch, HoleKind, PatchError};

/// Patches one little-endian instruction word at `location` and returns it.
fn patch_word(kind: HoleKind, word: u32, location: u64, target: u64) -> Result<u32, PatchError> {
    let mut buf = word.to_le_bytes();
    patch(kind, &mut buf, 0, location, target)?;
    Ok(u32::from_le_bytes(buf))
}

fn out_of_range(kind: HoleKind, location: u64, target: u64) -> Result<u32, PatchError> {
    Err(PatchError::OutOfRange {
        kind,
        location,
        target,
    })
}

fn misaligned(kind: HoleKind, location: u64, target: u64) -> Result<u32, PatchError> {
    Err(PatchError::Misaligned {
        kind,
        location,
        target,
    })
}

/// A hole address far from zero, so that both directions of every range
/// can be reached.
const P: u64 = 0x7F00_0010_0000;

/// Assert that patching `word` as `kind` at `P` refuses each of `targets`
/// as out of range.
fn assert_out_of_range(kind: HoleKind, word: u32, targets: &[u64]) {
    for &target in targets {
        assert_eq!(
            patch_word(kind, word, P, target),
            out_of_range(kind, P, target)
        );
    }
}

#[test]
fn abs64_writes_the_value() {
    let mut buf = [0xAA; 12];
    patch(HoleKind::Abs64, &mut buf, 2, 0, 0x1122_3344_5566_7788).unwrap();
    assert_eq!(
        buf,
        [0xAA, 0xAA, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xAA, 0xAA]
    );
}

#[test]
fn abs32_must_fit_unsigned() {
    // movl $imm32, %eax: B8 imm32.
    let mut buf = [0xB8, 0, 0, 0, 0];
    patch(HoleKind::Abs32, &mut buf, 1, 0, 0xDEAD_BEEF).unwrap();
    assert_eq!(buf, [0xB8, 0xEF, 0xBE, 0xAD, 0xDE]);
    patch(HoleKind::Abs32, &mut buf, 1, 0, 0xFFFF_FFFF).unwrap();
    assert_eq!(buf, [0xB8, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(
        patch(HoleKind::Abs32, &mut buf, 1, 7, 0x1_0000_0000),
        Err(PatchError::OutOfRange {
            kind: HoleKind::Abs32,
            location: 7,
            target: 0x1_0000_0000
        })
    );
    assert!(patch(HoleKind::Abs32, &mut buf, 1, 0, u64::MAX).is_err());
    assert_eq!(
        buf,
        [0xB8, 0xFF, 0xFF, 0xFF, 0xFF],
        "an error writes nothing"
    );
}

#[test]
fn abs32_signed_must_fit_signed() {
    // movq $imm32, %rax: 48 C7 C0 imm32, sign-extended.
    let mut buf = [0x48, 0xC7, 0xC0, 0, 0, 0, 0];
    patch(HoleKind::Abs32Signed, &mut buf, 3, 0, u64::MAX).unwrap();
    assert_eq!(buf, [0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF]);
    patch(HoleKind::Abs32Signed, &mut buf, 3, 0, 0x7FFF_FFFF).unwrap();
    assert_eq!(buf, [0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0x7F]);
    patch(
        HoleKind::Abs32Signed,
        &mut buf,
        3,
        0,
        (-0x8000_0000i64) as u64,
    )
    .unwrap();
    assert_eq!(buf, [0x48, 0xC7, 0xC0, 0x00, 0x00, 0x00, 0x80]);
    assert!(patch(HoleKind::Abs32Signed, &mut buf, 3, 0, 0x8000_0000).is_err());
    assert!(patch(
        HoleKind::Abs32Signed,
        &mut buf,
        3,
        0,
        (-0x8000_0001i64) as u64
    )
    .is_err());
    assert_eq!(buf, [0x48, 0xC7, 0xC0, 0x00, 0x00, 0x00, 0x80]);
}

#[test]
fn pc_rel32_reaches_two_gib_both_ways() {
    for kind in [
        HoleKind::PcRel32,
        HoleKind::X86_64GotLoad,
        HoleKind::X86_64GotLoadNoRex,
        HoleKind::X86_64GotLoadUnrelaxed,
    ] {
        // call rel32 at 0x1000: E8 rel32, the field at 0x1001, S = callee - 4.
        let mut buf = [0xE8, 0, 0, 0, 0];
        let callee = 0x2000u64;
        patch(kind, &mut buf, 1, 0x1001, callee - 4).unwrap();
        assert_eq!(buf, [0xE8, 0xFB, 0x0F, 0, 0], "{kind:?}");
        patch(kind, &mut buf, 1, 0x1001, 0x1001 - 0x10).unwrap();
        assert_eq!(buf, [0xE8, 0xF0, 0xFF, 0xFF, 0xFF], "{kind:?}");

        let top = P + 0x7FFF_FFFF;
        patch(kind, &mut buf, 1, P, top).unwrap();
        assert_eq!(buf, [0xE8, 0xFF, 0xFF, 0xFF, 0x7F]);
        let bottom = P.wrapping_sub(0x8000_0000);
        patch(kind, &mut buf, 1, P, bottom).unwrap();
        assert_eq!(buf, [0xE8, 0x00, 0x00, 0x00, 0x80]);
        assert_eq!(
            patch(kind, &mut buf, 1, P, top + 1),
            Err(PatchError::OutOfRange {
                kind,
                location: P,
                target: top + 1
            })
        );
        assert!(patch(kind, &mut buf, 1, P, bottom.wrapping_sub(1)).is_err());
        assert_eq!(buf, [0xE8, 0x00, 0x00, 0x00, 0x80]);
    }
}

#[test]
fn pc_rel64_wraps() {
    let mut buf = [0; 8];
    patch(HoleKind::PcRel64, &mut buf, 0, 0x1000, 0x0FF8).unwrap();
    assert_eq!(buf, (-8i64).to_le_bytes());
    patch(HoleKind::PcRel64, &mut buf, 0, 0x10, 0xFFFF_0000_0000_0010).unwrap();
    assert_eq!(buf, 0xFFFF_0000_0000_0000u64.to_le_bytes());
}

#[test]
fn holes_past_the_end_are_refused() {
    let mut buf = [0u8; 8];
    for (kind, at) in [
        (HoleKind::Abs64, 1),
        (HoleKind::PcRel64, 4),
        (HoleKind::Abs32, 5),
        (HoleKind::Aarch64Branch26, 6),
        (HoleKind::Abs32, usize::MAX - 1),
        (HoleKind::Abs64, 9),
    ] {
        assert_eq!(
            patch(kind, &mut buf, at, 0, 0),
            Err(PatchError::OutOfBounds { kind, at, len: 8 })
        );
    }
    assert_eq!(buf, [0; 8]);
    // The last fitting position works.
    patch(HoleKind::Abs32, &mut buf, 4, 0, 0x0403_0201).unwrap();
    assert_eq!(buf, [0, 0, 0, 0, 1, 2, 3, 4]);
}

#[test]
fn branch26() {
    let k = HoleKind::Aarch64Branch26;
    // b #0 is 0x14000000, bl #0 is 0x94000000.
    assert_eq!(patch_word(k, 0x1400_0000, P, P + 0x40), Ok(0x1400_0010));
    assert_eq!(patch_word(k, 0x1400_0000, P, P - 4), Ok(0x17FF_FFFF));
    assert_eq!(patch_word(k, 0x9400_0000, P, P + 8), Ok(0x9400_0002));
    // Existing imm26 bits are replaced, the opcode kept.
    assert_eq!(patch_word(k, 0x97FF_FFFF, P, P + 8), Ok(0x9400_0002));
    // ±128 MiB.
    assert_eq!(
        patch_word(k, 0x1400_0000, P, P + 0x7FF_FFFC),
        Ok(0x15FF_FFFF)
    );
    assert_eq!(
        patch_word(k, 0x1400_0000, P, P - 0x800_0000),
        Ok(0x1600_0000)
    );
    assert_out_of_range(k, 0x1400_0000, &[P + 0x800_0000, P - 0x800_0004]);
    assert_eq!(
        patch_word(k, 0x1400_0000, P, P + 2),
        misaligned(k, P, P + 2)
    );
    assert_eq!(
        patch_word(k, 0x1400_0000, P + 1, P + 8),
        misaligned(k, P + 1, P + 8)
    );
}

#[test]
fn branch19() {
    let k = HoleKind::Aarch64Branch19;
    // b.eq #0 is 0x54000000, cbz x0, #0 is 0xb4000000, ldr x1, #0 is 0x58000001.
    assert_eq!(patch_word(k, 0x5400_0000, P, P + 8), Ok(0x5400_0040));
    assert_eq!(patch_word(k, 0x5400_0000, P, P - 4), Ok(0x54FF_FFE0));
    assert_eq!(patch_word(k, 0xB400_0000, P, P + 8), Ok(0xB400_0040));
    assert_eq!(patch_word(k, 0x5800_0001, P, P - 8), Ok(0x58FF_FFC1));
    // ±1 MiB.
    assert_eq!(patch_word(k, 0x5400_0000, P, P + 0xF_FFFC), Ok(0x547F_FFE0));
    assert_eq!(
        patch_word(k, 0x5400_0000, P, P - 0x10_0000),
        Ok(0x5480_0000)
    );
    assert_out_of_range(k, 0x5400_0000, &[P + 0x10_0000, P - 0x10_0004]);
    assert_eq!(
        patch_word(k, 0x5400_0000, P, P + 6),
        misaligned(k, P, P + 6)
    );
}

#[test]
fn branch14() {
    let k = HoleKind::Aarch64Branch14;
    // tbz w0, #0, #0 is 0x36000000.
    assert_eq!(patch_word(k, 0x3600_0000, P, P + 8), Ok(0x3600_0040));
    assert_eq!(patch_word(k, 0x3600_0000, P, P - 4), Ok(0x3607_FFE0));
    // ±32 KiB.
    assert_eq!(patch_word(k, 0x3600_0000, P, P + 0x7FFC), Ok(0x3603_FFE0));
    assert_eq!(patch_word(k, 0x3600_0000, P, P - 0x8000), Ok(0x3604_0000));
    assert_out_of_range(k, 0x3600_0000, &[P + 0x8000, P - 0x8004]);
    assert_eq!(
        patch_word(k, 0x3600_0000, P, P + 1),
        misaligned(k, P, P + 1)
    );
}

#[test]
fn adrp_page21() {
    let k = HoleKind::Aarch64AdrpPage21;
    // adrp x0, #0 is 0x90000000. From page 0x10000 to page 0x12345000:
    // 0x12335 pages, immlo 0b01, immhi 0x48cd.
    assert_eq!(
        patch_word(k, 0x9000_0000, 0x1_0abc, 0x1234_5678),
        Ok(0xB009_19A0)
    );
    // Same page: zero, whatever the offsets within the page.
    assert_eq!(patch_word(k, 0xB0FF_FFE0, 0x5008, 0x5FFF), Ok(0x9000_0000));
    // One page back: -1 is all ones in both fields.
    assert_eq!(patch_word(k, 0x9000_0000, 0x5000, 0x4FFF), Ok(0xF0FF_FFE0));
    // ±4 GiB in pages.
    let top = P + 0xFFFF_F000;
    assert_eq!(patch_word(k, 0x9000_0000, P, top), Ok(0xF07F_FFE0));
    let bottom = P - 0x1_0000_0000;
    assert_eq!(
        patch_word(k, 0x9000_0000, P, bottom | 0xFFF),
        Ok(0x9080_0000)
    );
    assert_out_of_range(k, 0x9000_0000, &[top + 0x1000, bottom - 1]);
}

#[test]
fn adr21() {
    let k = HoleKind::Aarch64Adr21;
    // adr x1, #0 is 0x10000001; any byte offset is fine.
    assert_eq!(patch_word(k, 0x1000_0001, P, P + 0x12345), Ok(0x3009_1A21));
    assert_eq!(patch_word(k, 0x1000_0001, P, P - 1), Ok(0x70FF_FFE1));
    // ±1 MiB.
    assert_eq!(patch_word(k, 0x1000_0001, P, P + 0xF_FFFF), Ok(0x707F_FFE1));
    assert_eq!(
        patch_word(k, 0x1000_0001, P, P - 0x10_0000),
        Ok(0x1080_0001)
    );
    assert_out_of_range(k, 0x1000_0001, &[P + 0x10_0000, P - 0x10_0001]);
}

#[test]
fn page_offset12() {
    let k = |scale| HoleKind::Aarch64PageOffset12 { scale };
    // add x0, x0, #0 is 0x91000000: #0x678.
    assert_eq!(
        patch_word(k(0), 0x9100_0000, P, 0x1234_5678),
        Ok(0x9119_E000)
    );
    // ldr x0, [x0] is 0xf9400000: scale 3, #0x678 is 0xcf doublewords.
    assert_eq!(
        patch_word(k(3), 0xF940_0000, P, 0x1234_5678),
        Ok(0xF943_3C00)
    );
    // ldr q0, [x0] is 0x3dc00000: scale 4, #0x670.
    assert_eq!(
        patch_word(k(4), 0x3DC0_0000, P, 0x1234_5670),
        Ok(0x3DC1_9C00)
    );
    // ldrh w0, [x0] is 0x79400000: scale 1, #0xffe.
    assert_eq!(patch_word(k(1), 0x7940_0000, P, 0xFFE), Ok(0x795F_FC00));
    // Old imm12 bits are replaced; the page part of S is ignored.
    assert_eq!(
        patch_word(k(0), 0x913F_FC00, P, 0xABC0_0000),
        Ok(0x9100_0000)
    );
    // The low `scale` bits of the page offset must be zero.
    assert_eq!(
        patch_word(k(3), 0xF940_0000, P, 0x1234_567C),
        misaligned(k(3), P, 0x1234_567C)
    );
    assert_eq!(
        patch_word(k(4), 0x3DC0_0000, P, 0x1234_5678),
        misaligned(k(4), P, 0x1234_5678)
    );
    assert_eq!(
        patch_word(k(1), 0x7940_0000, P, 0x1),
        misaligned(k(1), P, 0x1)
    );
    assert_eq!(
        patch_word(k(5), 0x3DC0_0000, P, 0),
        Err(PatchError::InvalidKind { kind: k(5) })
    );
}

#[test]
fn mov_wide() {
    let k = |group| HoleKind::Aarch64MovWide { group };
    let s = 0x1122_3344_5566_7788;
    // movz x0, #0 and movk x0, #0, lsl #16/#32/#48.
    assert_eq!(patch_word(k(0), 0xD280_0000, P, s), Ok(0xD28E_F100));
    assert_eq!(patch_word(k(1), 0xF2A0_0000, P, s), Ok(0xF2AA_ACC0));
    assert_eq!(patch_word(k(2), 0xF2C0_0000, P, s), Ok(0xF2C6_6880));
    assert_eq!(patch_word(k(3), 0xF2E0_0000, P, s), Ok(0xF2E2_2440));
    // Old imm16 bits are replaced.
    assert_eq!(patch_word(k(0), 0xD29F_FFE0, P, 0), Ok(0xD280_0000));
    assert_eq!(
        patch_word(k(4), 0xD280_0000, P, s),
        Err(PatchError::InvalidKind { kind: k(4) })
    );
}

#[test]
fn errors_name_kind_and_values() {
    let error = patch(HoleKind::Aarch64Branch19, &mut [0; 4], 0, 0x1000, 0x20_0000).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("Aarch64Branch19"), "{text}");
    assert!(
        text.contains("0x1000") && text.contains("0x200000"),
        "{text}"
    );
}
