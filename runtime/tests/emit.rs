//! Trace layout and emission into plain buffers (pure, any host).

mod common;

use common::*;
use runtime::{
    emit, layout, Arch, EmitError, Hole, HoleKind, HoleValue, Layout, PatchError, Section, Stencil,
    StencilTable, TraceOp,
};

fn emit_at(table: &StencilTable, ops: &[TraceOp], symbols: &[u64], base: u64) -> Vec<u8> {
    let layout = layout(table, ops).unwrap();
    // Junk in the buffer must not leak into the trace.
    let mut buf = vec![0x5A; layout.len + 3];
    emit(table, ops, &layout, symbols, &mut buf, base).unwrap();
    assert_eq!(&buf[layout.len..], &[0x5A; 3], "wrote past layout.len");
    buf.truncate(layout.len);
    buf
}

fn rel32(bytes: &[u8], at: usize) -> i64 {
    i64::from(i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn layout_places_code_trampolines_and_data() {
    let ops = arithmetic_trace(1);
    let layout = layout(&TABLE, &ops).unwrap();
    // Code sizes: shim 8, then 7 6 15 10 11 10 24 3 1 bytes back to back.
    assert_eq!(layout.op_offsets, [8, 15, 21, 36, 46, 57, 67, 91, 94]);
    assert_eq!(layout.code_end, 95);
    // One trampoline: call_direct's rel32 to symbol 1. The GOT call's
    // symbol goes through a data slot instead.
    assert_eq!(layout.trampoline_symbols, [1]);
    assert_eq!(layout.trampoline_offset, 96);
    assert_eq!(layout.trampoline(1), Some(96));
    assert_eq!(layout.trampoline(0), None);
    assert_eq!(layout.code_len, 112);
    assert_eq!(layout.data_offset, 112);
    // Data: load_operand 8, add_oparg_got 8, add_constant 16 (16-aligned),
    // call_got 8; the others have none (8-aligned, empty).
    assert_eq!(
        layout.op_data_offsets,
        [112, 120, 120, 128, 144, 152, 152, 152, 152]
    );
    assert_eq!(layout.len, 152);
    assert_eq!(layout.align, 16);
}

#[test]
fn layout_aligns_code_and_data_start() {
    let table = StencilTable {
        code_align: 16,
        ..TABLE
    };
    let ops = [op(ZERO), op(ADD_ARGUMENT), op(RETURN)];
    let layout = Layout::with_data_start_align(&table, &ops, 4096).unwrap();
    assert_eq!(layout.op_offsets, [16, 32, 48]);
    assert_eq!(layout.code_end, 49);
    assert!(layout.trampoline_symbols.is_empty());
    assert_eq!(layout.code_len, 49);
    assert_eq!(layout.data_offset, 4096);
    assert_eq!(layout.len, 4096);
    assert_eq!(layout.align, 4096);

    let bytes = emit_at(&table, &ops, &symbols(), 0x40_0000);
    // Padding in code is int3, in data zero.
    assert_eq!(&bytes[8..16], &[0xCC; 8]);
    assert_eq!(&bytes[16..18], &[0x31, 0xC0]);
    assert_eq!(&bytes[18..32], &[0xCC; 14]);
    assert!(bytes[49..].iter().all(|&b| b == 0xCC));
    // The shim calls op 0, 16 bytes in: rel32 from the end of the call (6).
    assert_eq!(rel32(&bytes, 2), 10);
}

#[test]
fn layout_reuses_its_vectors() {
    let mut layout = layout(&TABLE, &arithmetic_trace(1)).unwrap();
    let ops = [op(ZERO), op(RETURN)];
    layout.recompute(&TABLE, &ops, 16).unwrap();
    assert_eq!(layout, runtime::layout(&TABLE, &ops).unwrap());
    assert_eq!(layout.op_offsets, [8, 10]);
}

#[test]
fn holes_get_their_values() {
    let base = 0x7000_0000_0000;
    let symbols = [0x7000_1000_0000, 0x7000_2000_0000];
    let ops = arithmetic_trace(0x1234);
    let layout = layout(&TABLE, &ops).unwrap();
    let bytes = emit_at(&TABLE, &ops, &symbols, base);
    let code = |i: usize| layout.op_offsets[i] as usize;
    let data = |i: usize| layout.op_data_offsets[i] as usize;

    // Shim: call to op 0.
    assert_eq!(&bytes[..2], &[0x53, 0xE8]);
    assert_eq!(6 + rel32(&bytes, 2), code(0) as i64);
    // GOT slots hold their values.
    assert_eq!(u64_at(&bytes, data(0)), 40);
    assert_eq!(u64_at(&bytes, data(1)), 100);
    assert_eq!(u64_at(&bytes, data(3)), 1000);
    assert_eq!(u64_at(&bytes, data(3) + 8), base + data(3) as u64);
    assert_eq!(u64_at(&bytes, data(4)), symbols[0]);
    // add_oparg's immediate.
    assert_eq!(&bytes[code(1)..code(2)], &[0x48, 0x05, 2, 0, 0, 0]);
    // add_oparg_got's jmp to its continuation, op 3, right after it.
    assert_eq!(bytes[code(2) + 10], 0xE9);
    assert_eq!(rel32(&bytes, code(2) + 11), 0);
    // The GOT call stays a load: symbol 0 is 256 MiB away from the slot but
    // the relaxed call would need it within 2 GiB of the code, which it is.
    let call = code(4) + 6;
    assert_eq!(&bytes[call - 2..call], &[0x67, 0xE8]);
    assert_eq!(
        (base + call as u64 + 4).wrapping_add(rel32(&bytes, call) as u64),
        symbols[0]
    );
    // The direct call reaches symbol 1 without the trampoline.
    let call = code(5) + 5;
    assert_eq!(
        (base + call as u64 + 4).wrapping_add(rel32(&bytes, call) as u64),
        symbols[1]
    );
    // guard_below: oparg, continuation, deopt target.
    let guard = code(6);
    assert_eq!(&bytes[guard + 2..guard + 6], &0x1234u32.to_le_bytes());
    assert_eq!(guard + 13 + rel32(&bytes, guard + 9) as usize, code(7));
    assert_eq!(u64_at(&bytes, guard + 15), 6);
    // The trampoline is there anyway, for symbol 1.
    let t = layout.trampoline_offset;
    assert_eq!(&bytes[t..t + 6], &[0xFF, 0x25, 0, 0, 0, 0]);
    assert_eq!(u64_at(&bytes, t + 6), symbols[1]);
    assert_eq!(&bytes[t + 14..t + 16], &[0xCC, 0xCC]);
}

#[test]
fn far_symbol_goes_through_the_trampoline() {
    let base = 0x7000_0000_0000;
    let symbols = [0x10_0000, 0x10_0040];
    let ops = arithmetic_trace(1);
    let layout = layout(&TABLE, &ops).unwrap();
    let bytes = emit_at(&TABLE, &ops, &symbols, base);
    let call = layout.op_offsets[5] as usize + 5;
    assert_eq!(
        call as i64 + 4 + rel32(&bytes, call),
        layout.trampoline_offset as i64
    );
    assert_eq!(u64_at(&bytes, layout.trampoline_offset + 6), symbols[1]);
    // The GOT call to the far symbol 0 stays a load through its slot.
    let call = layout.op_offsets[4] as usize + 6;
    assert_eq!(&bytes[call - 2..call], &[0xFF, 0x15]);
    let slot = layout.op_data_offsets[4] as i64;
    assert_eq!(call as i64 + 4 + rel32(&bytes, call), slot);
}

#[test]
fn two_bases_differ_only_in_position_dependent_holes() {
    let symbols = [0x1800_0000, 0x1800_0100];
    let ops = arithmetic_trace(1);
    let layout = layout(&TABLE, &ops).unwrap();
    let (a, b) = (0x1000_0000u64, 0x2000_0000u64);
    let at_a = emit_at(&TABLE, &ops, &symbols, a);
    let at_b = emit_at(&TABLE, &ops, &symbols, b);
    assert_eq!(at_a.len(), at_b.len());
    // Position dependent: the slot holding add_constant's data address and
    // its GOT load (relaxed to an immediate: both bases are below 2 GiB),
    // and the rel32s of the calls to the symbols (relaxed GOT call included).
    let slot = layout.op_data_offsets[3] as usize + 8;
    let load = layout.op_offsets[3] as usize + 3;
    let got_call = layout.op_offsets[4] as usize + 6;
    let direct_call = layout.op_offsets[5] as usize + 5;
    let dependent = [
        slot..slot + 8,
        load..load + 4,
        got_call..got_call + 4,
        direct_call..direct_call + 4,
    ];
    for (i, (x, y)) in at_a.iter().zip(&at_b).enumerate() {
        if x != y {
            assert!(
                dependent.iter().any(|range| range.contains(&i)),
                "byte {i} differs: {x:#x} vs {y:#x}"
            );
        }
    }
    assert_eq!(u64_at(&at_a, slot), a + slot as u64 - 8);
    assert_eq!(u64_at(&at_b, slot), b + slot as u64 - 8);
    for (bytes, base) in [(&at_a, a), (&at_b, b)] {
        assert_eq!(&bytes[load - 3..load], &[0x48, 0xC7, 0xC1]);
        assert_eq!(rel32(bytes, load) as u64, base + slot as u64 - 8);
    }
    for call in [got_call, direct_call] {
        assert_ne!(rel32(&at_a, call), rel32(&at_b, call));
        assert_eq!(rel32(&at_a, call) - rel32(&at_b, call), (b - a) as i64);
    }
}

#[test]
fn short_buffer_is_refused() {
    let ops = arithmetic_trace(1);
    let layout = layout(&TABLE, &ops).unwrap();
    let mut buf = vec![0; layout.len - 1];
    assert_eq!(
        emit(&TABLE, &ops, &layout, &symbols(), &mut buf, 0x10000),
        Err(EmitError::BufferTooSmall {
            needed: layout.len,
            len: layout.len - 1
        })
    );
    assert!(buf.iter().all(|&b| b == 0));
}

fn emit_error(table: &StencilTable, ops: &[TraceOp], symbols: &[u64]) -> EmitError {
    let layout = layout(table, ops).unwrap();
    let mut buf = vec![0; layout.len];
    emit(table, ops, &layout, symbols, &mut buf, 0x7000_0000_0000).unwrap_err()
}

#[test]
fn missing_symbol_is_named() {
    let error = emit_error(&TABLE, &arithmetic_trace(1), &symbols()[..1]);
    match error {
        EmitError::MissingSymbol {
            site: Some(site),
            symbol: 1,
            name: Some("add_seven"),
        } => {
            assert_eq!(site.op, Some(5));
            assert_eq!(site.uop, "call_direct");
            assert_eq!(site.offset, 5);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "op 5 (call_direct), X86Branch32 code hole at +0x5: no address for symbol 1 (add_seven)"
    );
    // A GOT slot's symbol is missing too when none are given.
    let error = emit_error(&TABLE, &arithmetic_trace(1), &[]);
    assert!(
        matches!(error, EmitError::MissingSymbol { site: Some(site), symbol: 0, .. }
            if site.section == Section::Data && site.op == Some(4)),
        "{error:?}"
    );
}

#[test]
fn bad_jump_target_is_refused() {
    let ops = [
        op(ZERO),
        TraceOp {
            jump_target: 3,
            ..op(COUNT_DOWN)
        },
        op(RETURN),
    ];
    let error = emit_error(&TABLE, &ops, &symbols());
    assert!(
        matches!(error, EmitError::JumpTargetOutOfRange { jump_target: 3, ops: 3, site }
            if site.op == Some(1) && site.uop == "count_down"),
        "{error:?}"
    );
    assert!(error.to_string().contains("jump target 3"), "{error}");
    // An op without a JumpTarget hole may carry any jump target.
    let ops = [
        TraceOp {
            jump_target: 99,
            ..op(ZERO)
        },
        op(RETURN),
    ];
    let layout = layout(&TABLE, &ops).unwrap();
    let mut buf = vec![0; layout.len];
    emit(&TABLE, &ops, &layout, &symbols(), &mut buf, 0x1000).unwrap();
}

#[test]
fn unknown_uop_is_refused() {
    // One past the last uop of the table.
    let unknown = TABLE.uops.len() as u16;
    assert_eq!(
        layout(&TABLE, &[op(ZERO), op(unknown)]),
        Err(EmitError::UnknownUop {
            op: 1,
            uop: unknown
        })
    );
    // A layout whose recomputation failed is fit for no trace.
    let mut layout = layout(&TABLE, &[op(ZERO), op(RETURN)]).unwrap();
    let error = layout.recompute(&TABLE, &[op(ZERO), op(unknown)], 16);
    assert_eq!(
        error,
        Err(EmitError::UnknownUop {
            op: 1,
            uop: unknown
        })
    );
    let mut buf = vec![0; 4096];
    for ops in [&[op(ZERO)][..], &[op(ZERO), op(RETURN)], &[]] {
        assert_eq!(
            emit(&TABLE, ops, &layout, &[], &mut buf, 0x1000),
            Err(EmitError::LayoutMismatch)
        );
    }
}

#[test]
fn value_out_of_range_names_the_hole() {
    // add_oparg's imm32 is sign-extended: 2^31 does not fit.
    let error = emit_error(
        &TABLE,
        &[with_oparg(ADD_OPARG, 0x8000_0000), op(RETURN)],
        &[],
    );
    assert_eq!(
        error,
        EmitError::Patch {
            site: runtime::HoleSite {
                op: Some(0),
                uop: "add_oparg",
                section: Section::Code,
                offset: 2,
                kind: HoleKind::Abs32Signed,
            },
            value: HoleValue::OpValue(0),
            name: Some("oparg"),
            error: PatchError::OutOfRange {
                kind: HoleKind::Abs32Signed,
                location: 0x7000_0000_0000 + 8 + 2,
                target: 0x8000_0000,
            },
        }
    );
    let text = error.to_string();
    assert!(text
        .starts_with("op 0 (add_oparg), Abs32Signed code hole at +0x2, value OpValue(0) (oparg):"));
}

#[test]
fn misaligned_base_and_mismatched_layout_are_refused() {
    let ops = arithmetic_trace(1);
    let layout = layout(&TABLE, &ops).unwrap();
    let mut buf = vec![0; layout.len];
    assert_eq!(
        emit(&TABLE, &ops, &layout, &symbols(), &mut buf, 0x1008),
        Err(EmitError::MisalignedBase {
            base: 0x1008,
            align: 16
        })
    );
    assert_eq!(
        emit(&TABLE, &ops[1..], &layout, &symbols(), &mut buf, 0x1000),
        Err(EmitError::LayoutMismatch)
    );
    let aarch64 = StencilTable {
        arch: Arch::Aarch64,
        ..TABLE
    };
    assert_eq!(
        emit(&aarch64, &ops, &layout, &symbols(), &mut buf, 0x1000),
        Err(EmitError::LayoutMismatch)
    );
}

#[test]
fn bad_alignments_are_refused() {
    let table = StencilTable {
        code_align: 3,
        ..TABLE
    };
    assert!(matches!(
        layout(&table, &[op(ZERO)]),
        Err(EmitError::BadAlignment {
            section: Section::Code,
            align: 3,
            ..
        })
    ));
    static BAD_DATA: [Stencil; 1] = [Stencil {
        code: &[0xC3],
        code_holes: &[],
        data: &[0; 8],
        data_holes: &[],
        data_align: 0,
    }];
    let table = StencilTable {
        cache: 0,
        uops: &BAD_DATA,
        ..TABLE
    };
    let error = layout(&table, &[op(0)]).unwrap_err();
    assert_eq!(
        error,
        EmitError::BadAlignment {
            op: Some(0),
            uop: "load_operand",
            section: Section::Data,
            align: 0
        }
    );
}

#[test]
fn shim_cannot_use_op_values() {
    static SHIM_HOLES: [Hole; 1] = [Hole {
        offset: 2,
        kind: HoleKind::Abs32,
        value: HoleValue::OpValue(0),
        addend: 0,
    }];
    let table = StencilTable {
        shim: Stencil {
            code_holes: &SHIM_HOLES,
            ..TABLE.shim
        },
        ..TABLE
    };
    let error = emit_error(&table, &[op(RETURN)], &[]);
    assert!(
        matches!(error, EmitError::ValueOutsideOp { site, value: HoleValue::OpValue(0) }
            if site.op.is_none() && site.uop == "shim"),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("shim, Abs32 code hole"),
        "{error}"
    );
}

#[test]
fn got_slot_outside_the_data_is_refused() {
    // A GOT load whose slot would be past the end of the stencil's data.
    static UOPS: [Stencil; 1] = [Stencil {
        code: &[0x48, 0x8B, 0x05, 0, 0, 0, 0, 0xC3],
        code_holes: &[Hole {
            offset: 3,
            kind: HoleKind::X86_64GotLoad,
            value: HoleValue::Data,
            addend: 4,
        }],
        data: &[0; 8],
        data_holes: &[],
        data_align: 8,
    }];
    let table = StencilTable {
        cache: 0,
        uops: &UOPS,
        ..TABLE
    };
    let error = emit_error(&table, &[op(0)], &[]);
    assert!(
        matches!(error, EmitError::GotSlotOutsideData { site, .. } if site.op == Some(0)),
        "{error:?}"
    );
}

#[test]
fn empty_trace_is_just_the_shim() {
    let layout = layout(&TABLE, &[]).unwrap();
    assert!(layout.op_offsets.is_empty());
    assert_eq!(layout.code_end, 8);
    let bytes = emit_at(&TABLE, &[], &[], 0x1000);
    // The shim's continuation is the end of its code.
    assert_eq!(rel32(&bytes, 2), 2);
}

/// A stencil that takes symbol 0's address with a RIP-relative `lea`, and
/// one that calls symbol 0, behind a shim that is only a `ret`.
static ADDRESS_TAKEN: [Stencil; 2] = [
    // leaq SYMBOL0(%rip), %rax
    table::code_only(
        &[0x48, 0x8D, 0x05, 0, 0, 0, 0],
        &[table::hole(3, HoleKind::PcRel32, HoleValue::Symbol(0), -4)],
    ),
    // callq SYMBOL0
    table::code_only(
        &[0xE8, 0, 0, 0, 0],
        &[table::hole(
            1,
            HoleKind::X86Branch32,
            HoleValue::Symbol(0),
            -4,
        )],
    ),
];

static ADDRESS_TAKEN_TABLE: StencilTable = StencilTable {
    target: "x86_64-unknown-linux-gnu",
    arch: Arch::X86_64,
    llvm_version: "hand-written",
    code_align: 1,
    shim: table::code_only(&[0xC3], &[]),
    cache: 0,
    uops: &ADDRESS_TAKEN,
    info: &[table::info("take_address"), table::info("call")],
    symbols: &["helper"],
    op_values: &OP_VALUES,
    trace_values: &[],
    emitters: None,
};

#[test]
fn far_address_operand_is_an_error_not_a_trampoline() {
    let base = 0x7000_0000_0000;
    let far = base + 0x1_0000_0000;
    let ops = [op(0)];
    let layout = layout(&ADDRESS_TAKEN_TABLE, &ops).unwrap();
    // A `lea` cannot go through a trampoline: none is reserved for it.
    assert!(layout.trampoline_symbols.is_empty());
    let mut buf = vec![0; layout.len];
    let error = emit(&ADDRESS_TAKEN_TABLE, &ops, &layout, &[far], &mut buf, base).unwrap_err();
    match &error {
        EmitError::Patch {
            site, value, error, ..
        } => {
            assert_eq!(
                (site.op, site.uop, site.offset),
                (Some(0), "take_address", 3)
            );
            assert_eq!(site.kind, HoleKind::PcRel32);
            assert_eq!(*value, HoleValue::Symbol(0));
            assert!(matches!(error, PatchError::OutOfRange { .. }), "{error:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error.to_string().starts_with(
            "op 0 (take_address), PcRel32 code hole at +0x3, value Symbol(0) (helper): "
        ),
        "{error}"
    );
    // In reach, the same `lea` computes the symbol's address.
    let near = base + 0x1000;
    let bytes = emit_at(&ADDRESS_TAKEN_TABLE, &ops, &[near], base);
    let lea = layout.op_offsets[0] as usize;
    let end = base + lea as u64 + 7;
    assert_eq!(end.wrapping_add(rel32(&bytes, lea + 3) as u64), near);
}

#[test]
fn far_call_goes_through_a_trampoline_beside_an_address_operand() {
    let base = 0x7000_0000_0000;
    let far = base + 0x1_0000_0000;
    let ops = [op(1), op(0)];
    let two = layout(&ADDRESS_TAKEN_TABLE, &ops).unwrap();
    assert_eq!(two.trampoline_symbols, [0]);
    // The call reaches its trampoline, but the `lea` after it still fails.
    let mut buf = vec![0; two.len];
    let error = emit(&ADDRESS_TAKEN_TABLE, &ops, &two, &[far], &mut buf, base).unwrap_err();
    assert!(
        matches!(&error, EmitError::Patch { site, .. } if site.op == Some(1) && site.kind == HoleKind::PcRel32),
        "{error:?}"
    );
    let ops = [op(1)];
    let layout = layout(&ADDRESS_TAKEN_TABLE, &ops).unwrap();
    let bytes = emit_at(&ADDRESS_TAKEN_TABLE, &ops, &[far], base);
    let call = layout.op_offsets[0] as usize;
    let trampoline = layout.trampoline(0).unwrap();
    let end = base + call as u64 + 5;
    assert_eq!(
        end.wrapping_add(rel32(&bytes, call + 1) as u64),
        base + trampoline as u64
    );
    assert_eq!(u64_at(&bytes, trampoline + 6), far);
}

#[test]
fn a_trace_wrapping_past_the_top_of_the_address_space_is_refused() {
    let ops = arithmetic_trace(1);
    let trace = layout(&TABLE, &ops).unwrap();
    let mut buf = vec![0; trace.len];
    // Aligned, and 16 bytes below the top: the trace is 152.
    let base = u64::MAX - 15;
    let error = emit(&TABLE, &ops, &trace, &symbols(), &mut buf, base).unwrap_err();
    assert_eq!(
        error,
        EmitError::AddressOverflow {
            base,
            len: trace.len
        }
    );
    assert_eq!(
        error.to_string(),
        "a trace of 152 bytes at base address 0xfffffffffffffff0 would wrap past the end of \
         the 64-bit address space; map it at a lower address"
    );
    assert!(buf.iter().all(|&b| b == 0), "nothing is written");

    // The last trace that fits ends one byte below 2^64, so that its end
    // address is representable too.
    let shim_only = layout(&TABLE, &[]).unwrap();
    assert_eq!(shim_only.len, 16);
    let mut buf = vec![0; 16];
    let top = u64::MAX - 31;
    emit(&TABLE, &[], &shim_only, &[], &mut buf, top).unwrap();
    assert_eq!(
        emit(&TABLE, &[], &shim_only, &[], &mut buf, top + 16),
        Err(EmitError::AddressOverflow {
            base: top + 16,
            len: 16
        })
    );
}

#[test]
fn a_hand_built_layout_with_an_overflowing_trampoline_has_none() {
    let layout = Layout {
        trampoline_offset: usize::MAX - 8,
        trampoline_symbols: vec![0, 1],
        arch: Some(Arch::X86_64),
        ..Layout::default()
    };
    assert_eq!(layout.trampoline(0), Some(usize::MAX - 8));
    assert_eq!(layout.trampoline(1), None);
    assert_eq!(layout.trampolines_end(), None);
}

#[test]
fn a_variant_beyond_the_cache_is_refused() {
    let ops = [TraceOp {
        variant: 1,
        ..op(ZERO)
    }];
    let error = layout(&TABLE, &ops).unwrap_err();
    assert_eq!(
        error,
        EmitError::UnknownVariant {
            op: 0,
            uop: ZERO,
            variant: 1,
            cache: 0
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "op 0: uop id {ZERO} has no variant 1; the table caches up to 0 stack values, so its \
             variants are 0..=0"
        )
    );
}
