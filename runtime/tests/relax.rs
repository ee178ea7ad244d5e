//! Relaxation of x86-64 GOT loads; expected bytes from the Intel SDM,
//! cross-checked with `llvm-mc -show-encoding`.

use runtime::relax_x86_64_got_load;
use runtime::HoleKind::{self, X86_64GotLoad, X86_64GotLoadNoRex, X86_64GotLoadUnrelaxed};

/// Address of the disp32 field in the tests: high, like a mapping of the OS.
const LOCATION: u64 = 0x7F12_3456_0003;

/// Relaxes the disp32 at `at` of `bytes`, a hole of `kind`, and returns the
/// result.
fn relax_kind(kind: HoleKind, bytes: &[u8], at: usize, slot_value: u64) -> (bool, Vec<u8>) {
    let mut buf = bytes.to_vec();
    let relaxed = relax_x86_64_got_load(kind, &mut buf, at, LOCATION, slot_value);
    (relaxed, buf)
}

/// Relaxes a REX-prefixed GOT load (`R_X86_64_REX_GOTPCRELX`).
fn relax(bytes: &[u8], at: usize, slot_value: u64) -> (bool, Vec<u8>) {
    relax_kind(X86_64GotLoad, bytes, at, slot_value)
}

/// Relaxes a GOT load without a REX prefix (`R_X86_64_GOTPCRELX`).
fn relax_no_rex(bytes: &[u8], at: usize, slot_value: u64) -> (bool, Vec<u8>) {
    relax_kind(X86_64GotLoadNoRex, bytes, at, slot_value)
}

// movq 0(%rip), %rax and movq 0(%rip), %r9, with a byte before them.
const MOV_RAX: [u8; 8] = [0x90, 0x48, 0x8B, 0x05, 0xAA, 0xAA, 0xAA, 0xAA];
const MOV_R9: [u8; 7] = [0x4C, 0x8B, 0x0D, 0xAA, 0xAA, 0xAA, 0xAA];

#[test]
fn mov_becomes_sign_extended_immediate() {
    // movq $0x1234, %rax
    assert_eq!(
        relax(&MOV_RAX, 4, 0x1234),
        (true, vec![0x90, 0x48, 0xC7, 0xC0, 0x34, 0x12, 0x00, 0x00])
    );
    // movq $-2, %r9: REX.R of the load becomes REX.B.
    assert_eq!(
        relax(&MOV_R9, 3, (-2i64) as u64),
        (true, vec![0x49, 0xC7, 0xC1, 0xFE, 0xFF, 0xFF, 0xFF])
    );
    // movq $0x7fffffff, %r9: the largest positive immediate.
    assert_eq!(
        relax(&MOV_R9, 3, 0x7FFF_FFFF),
        (true, vec![0x49, 0xC7, 0xC1, 0xFF, 0xFF, 0xFF, 0x7F])
    );
}

#[test]
fn mov_becomes_zero_extending_immediate() {
    // movl $0x80000000, %r9d (zero-extends into %r9).
    assert_eq!(
        relax(&MOV_R9, 3, 0x8000_0000),
        (true, vec![0x41, 0xC7, 0xC1, 0x00, 0x00, 0x00, 0x80])
    );
    // movl $0xffffffff, %eax
    assert_eq!(
        relax(&MOV_RAX, 4, 0xFFFF_FFFF),
        (true, vec![0x90, 0x40, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF])
    );
}

#[test]
fn mov_becomes_lea_within_two_gib() {
    // leaq 0x100(%rip), %r9: the instruction ends at LOCATION + 4.
    assert_eq!(
        relax(&MOV_R9, 3, LOCATION + 4 + 0x100),
        (true, vec![0x4C, 0x8D, 0x0D, 0x00, 0x01, 0x00, 0x00])
    );
    // leaq -0x80000000(%rip), %rax: the furthest back.
    assert_eq!(
        relax(&MOV_RAX, 4, LOCATION + 4 - 0x8000_0000),
        (true, vec![0x90, 0x48, 0x8D, 0x05, 0x00, 0x00, 0x00, 0x80])
    );
    // The furthest forward.
    assert_eq!(
        relax(&MOV_RAX, 4, LOCATION + 4 + 0x7FFF_FFFF),
        (true, vec![0x90, 0x48, 0x8D, 0x05, 0xFF, 0xFF, 0xFF, 0x7F])
    );
}

#[test]
fn mov_out_of_reach_stays_a_load() {
    for value in [
        LOCATION + 4 + 0x8000_0000,
        LOCATION + 4 - 0x8000_0001,
        0xFFFF_8000_0000_0000,
    ] {
        assert_eq!(relax(&MOV_RAX, 4, value), (false, MOV_RAX.to_vec()));
    }
}

#[test]
fn rex_mov32_becomes_immediate_of_the_low_half() {
    // movl 0(%rip), %r9d (REX.R, no W) -> movl $low32, %r9d: the load
    // reads the slot's low 32 bits, whatever the high ones.
    let movl_r9d = [0x44, 0x8B, 0x0D, 0xAA, 0xAA, 0xAA, 0xAA];
    assert_eq!(
        relax(&movl_r9d, 3, 0x1234_5678_9ABC_DEF0),
        (true, vec![0x41, 0xC7, 0xC1, 0xF0, 0xDE, 0xBC, 0x9A])
    );
    // movl 0(%rip), %eax with an empty REX prefix.
    assert_eq!(
        relax(&[0x40, 0x8B, 0x05, 0, 0, 0, 0], 3, 7),
        (true, vec![0x40, 0xC7, 0xC0, 7, 0, 0, 0])
    );
}

#[test]
fn no_rex_mov32_becomes_immediate_of_the_low_half() {
    // movl 0(%rip), %ecx -> movl $0x80000000, %ecx
    let movl_ecx = [0x8B, 0x0D, 0xAA, 0xAA, 0xAA, 0xAA];
    assert_eq!(
        relax_no_rex(&movl_ecx, 2, 0x8000_0000),
        (true, vec![0xC7, 0xC1, 0x00, 0x00, 0x00, 0x80])
    );
    // movl 0(%rip), %edi -> movl $0x9abcdef0, %edi: any value, as only its
    // low 32 bits are loaded.
    let movl_edi = [0x8B, 0x3D, 0xAA, 0xAA, 0xAA, 0xAA];
    assert_eq!(
        relax_no_rex(&movl_edi, 2, 0x1234_5678_9ABC_DEF0),
        (true, vec![0xC7, 0xC7, 0xF0, 0xDE, 0xBC, 0x9A])
    );
}

#[test]
fn no_rex_mov32_leaves_the_byte_before_untouched() {
    // addq $0x48, %rax; movl 0(%rip), %ecx; the 0x48 before the `movl`
    // looks like REX.W but is the `addq`'s immediate. So are 0x4C (REX.WR)
    // and 0x4F.
    for previous in [0x48, 0x4C, 0x4F] {
        let bytes = [
            0x48, 0x83, 0xC0, previous, 0x8B, 0x0D, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        for (value, imm) in [
            (0x64, [0x64, 0, 0, 0]),
            (0x8000_0000, [0x00, 0x00, 0x00, 0x80]),
            (LOCATION + 4 + 0x100, [0x07, 0x01, 0x56, 0x34]),
            (0xFFFF_8000_0000_0000, [0, 0, 0, 0]),
        ] {
            let mut expected = vec![0x48, 0x83, 0xC0, previous, 0xC7, 0xC1];
            expected.extend_from_slice(&imm);
            assert_eq!(
                relax_no_rex(&bytes, 6, value),
                (true, expected),
                "{previous:#x} {value:#x}"
            );
        }
    }
}

#[test]
fn call_becomes_addr32_call() {
    // call *0(%rip) -> addr32 call rel32, the byte before left alone.
    let call = [0x41, 0xFF, 0x15, 0xAA, 0xAA, 0xAA, 0xAA];
    assert_eq!(
        relax_no_rex(&call, 3, LOCATION + 4 + 0x100),
        (true, vec![0x41, 0x67, 0xE8, 0x00, 0x01, 0x00, 0x00])
    );
    assert_eq!(
        relax_no_rex(&call[1..], 2, LOCATION + 4 - 0x10),
        (true, vec![0x67, 0xE8, 0xF0, 0xFF, 0xFF, 0xFF])
    );
    assert_eq!(
        relax_no_rex(&call, 3, LOCATION + 4 + 0x8000_0000),
        (false, call.to_vec())
    );
    // A small absolute value is no help for a call: it is out of reach.
    assert_eq!(relax_no_rex(&call, 3, 0x1000), (false, call.to_vec()));
}

#[test]
fn jmp_becomes_nop_jmp() {
    // jmp *0(%rip) -> nop; jmp rel32, the rel32 still at `at`.
    let jmp = [0xFF, 0x25, 0xAA, 0xAA, 0xAA, 0xAA, 0xC3];
    assert_eq!(
        relax_no_rex(&jmp, 2, LOCATION + 4 + 0x100),
        (true, vec![0x90, 0xE9, 0x00, 0x01, 0x00, 0x00, 0xC3])
    );
    assert_eq!(
        relax_no_rex(&jmp, 2, LOCATION + 4 - 0x8000_0001),
        (false, jmp.to_vec())
    );
}

#[test]
fn unrelaxed_got_load_is_never_rewritten() {
    let cases: &[(&[u8], usize)] = &[
        (&MOV_RAX, 4),
        (&MOV_R9, 3),
        (&[0x8B, 0x0D, 0, 0, 0, 0], 2),
        (&[0xFF, 0x15, 0, 0, 0, 0], 2),
        (&[0xFF, 0x25, 0, 0, 0, 0], 2),
    ];
    for &(bytes, at) in cases {
        for value in [0x10, LOCATION + 4 + 0x100] {
            assert_eq!(
                relax_kind(X86_64GotLoadUnrelaxed, bytes, at, value),
                (false, bytes.to_vec()),
                "{bytes:x?}"
            );
        }
    }
}

#[test]
fn other_kinds_are_never_rewritten() {
    for kind in [HoleKind::PcRel32, HoleKind::Abs32, HoleKind::Abs64] {
        assert_eq!(relax_kind(kind, &MOV_R9, 3, 0x10), (false, MOV_R9.to_vec()));
        assert_eq!(
            relax_kind(kind, &[0xFF, 0x15, 0, 0, 0, 0], 2, LOCATION + 4),
            (false, vec![0xFF, 0x15, 0, 0, 0, 0])
        );
    }
}

#[test]
fn other_instructions_are_left_alone() {
    let rex_cases: &[(&[u8], usize)] = &[
        // addq 0(%rip), %rax
        (&[0x48, 0x03, 0x05, 0, 0, 0, 0], 3),
        // movq 0(%rax), %rax has mod 00 rm 000: not RIP-relative.
        (&[0x48, 0x8B, 0x00, 0, 0, 0, 0], 3),
        // movq 8(%rax), %rax has mod 01: a disp8.
        (&[0x48, 0x8B, 0x40, 0, 0, 0, 0], 3),
        // Not a REX prefix where the relocation puts one.
        (&[0x90, 0x8B, 0x05, 0, 0, 0, 0], 3),
        (&[0x58, 0x8B, 0x05, 0, 0, 0, 0], 3),
        // A call or jmp is no REX-prefixed GOT load.
        (&[0x48, 0xFF, 0x15, 0, 0, 0, 0], 3),
        // Too few bytes before the hole for a REX prefix.
        (&[0x8B, 0x05, 0, 0, 0, 0], 2),
        // The hole runs past the end.
        (&[0x48, 0x8B, 0x05, 0, 0, 0], 3),
        (&[0x48, 0x8B, 0x05, 0, 0, 0, 0], usize::MAX - 1),
    ];
    let no_rex_cases: &[(&[u8], usize)] = &[
        // pushq 0(%rip)
        (&[0xFF, 0x35, 0, 0, 0, 0], 2),
        // addl 0(%rip), %eax
        (&[0x03, 0x05, 0, 0, 0, 0], 2),
        // movl 0(%rax), %eax and movl 8(%rax), %eax: not RIP-relative.
        (&[0x8B, 0x00, 0, 0, 0, 0], 2),
        (&[0x8B, 0x40, 0, 0, 0, 0], 2),
        // Too few bytes before the hole at all.
        (&[0x15, 0, 0, 0, 0], 1),
        (&[0, 0, 0, 0], 0),
        // The hole runs past the end.
        (&[0xFF, 0x15, 0, 0, 0], 2),
        (&[0xFF, 0x15, 0, 0, 0, 0], usize::MAX - 1),
    ];
    for (kind, cases) in [
        (X86_64GotLoad, rex_cases),
        (X86_64GotLoadNoRex, no_rex_cases),
    ] {
        for &(bytes, at) in cases {
            assert_eq!(
                relax_kind(kind, bytes, at, 0x10),
                (false, bytes.to_vec()),
                "{kind:?} {bytes:x?}"
            );
        }
    }
}
