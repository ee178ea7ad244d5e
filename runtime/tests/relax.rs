//! Relaxation of x86-64 GOT loads; expected bytes from the Intel SDM,
//! cross-checked with `llvm-mc -show-encoding`.

use runtime::relax_x86_64_got_load;

/// Address of the disp32 field in the tests: high, like a mapping of the OS.
const LOCATION: u64 = 0x7F12_3456_0003;

/// Relaxes the disp32 at `at` of `bytes` and returns the result.
fn relax(bytes: &[u8], at: usize, slot_value: u64) -> (bool, Vec<u8>) {
    let mut buf = bytes.to_vec();
    let relaxed = relax_x86_64_got_load(&mut buf, at, LOCATION, slot_value);
    (relaxed, buf)
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
fn call_becomes_addr32_call() {
    // call *0(%rip) -> addr32 call rel32
    let call = [0x41, 0xFF, 0x15, 0xAA, 0xAA, 0xAA, 0xAA];
    assert_eq!(
        relax(&call, 3, LOCATION + 4 + 0x100),
        (true, vec![0x41, 0x67, 0xE8, 0x00, 0x01, 0x00, 0x00])
    );
    assert_eq!(
        relax(&call[1..], 2, LOCATION + 4 - 0x10),
        (true, vec![0x67, 0xE8, 0xF0, 0xFF, 0xFF, 0xFF])
    );
    assert_eq!(
        relax(&call, 3, LOCATION + 4 + 0x8000_0000),
        (false, call.to_vec())
    );
    // A small absolute value is no help for a call: it is out of reach.
    assert_eq!(relax(&call, 3, 0x1000), (false, call.to_vec()));
}

#[test]
fn jmp_becomes_nop_jmp() {
    // jmp *0(%rip) -> nop; jmp rel32, the rel32 still at `at`.
    let jmp = [0xFF, 0x25, 0xAA, 0xAA, 0xAA, 0xAA, 0xC3];
    assert_eq!(
        relax(&jmp, 2, LOCATION + 4 + 0x100),
        (true, vec![0x90, 0xE9, 0x00, 0x01, 0x00, 0x00, 0xC3])
    );
    assert_eq!(
        relax(&jmp, 2, LOCATION + 4 - 0x8000_0001),
        (false, jmp.to_vec())
    );
}

#[test]
fn other_instructions_are_left_alone() {
    let cases: &[(&[u8], usize)] = &[
        // pushq 0(%rip)
        (&[0xFF, 0x35, 0, 0, 0, 0], 2),
        // addq 0(%rip), %rax
        (&[0x48, 0x03, 0x05, 0, 0, 0, 0], 3),
        // movl 0(%rip), %eax: no REX.W, a 32-bit load.
        (&[0x90, 0x8B, 0x05, 0, 0, 0, 0], 3),
        // movq 0(%rax), %rax has mod 00 rm 000: not RIP-relative.
        (&[0x48, 0x8B, 0x00, 0, 0, 0, 0], 3),
        // movq 8(%rax), %rax has mod 01: a disp8.
        (&[0x48, 0x8B, 0x40, 0, 0, 0, 0], 3),
        // Too few bytes before the hole for a mov.
        (&[0x8B, 0x05, 0, 0, 0, 0], 2),
        // Too few bytes before the hole at all.
        (&[0x15, 0, 0, 0, 0], 1),
        (&[0, 0, 0, 0], 0),
        // The hole runs past the end.
        (&[0xFF, 0x15, 0, 0, 0], 2),
        (&[0xFF, 0x15, 0, 0, 0, 0], usize::MAX - 1),
    ];
    for &(bytes, at) in cases {
        assert_eq!(
            relax(bytes, at, 0x10),
            (false, bytes.to_vec()),
            "{bytes:x?}"
        );
    }
}
