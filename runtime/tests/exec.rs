//! Runs hand-written x86-64 stencils on this host: emission, patching, GOT
//! relaxation, trampolines and W^X end to end.
#![cfg(all(target_arch = "x86_64", unix, feature = "std"))]

mod common;

use common::*;
use runtime::{Arch, ExecError, ExecutableTrace, StencilTable, TraceOp};

fn run(trace: &ExecutableTrace, argument: i64) -> i64 {
    // SAFETY: the shim of `TABLE` follows the C ABI of this signature, and
    // the trace stays mapped while it runs.
    let entry: extern "C" fn(i64) -> i64 = unsafe { core::mem::transmute(trace.entry()) };
    entry(argument)
}

fn fits_i32(value: i64) -> bool {
    i32::try_from(value).is_ok()
}

#[test]
fn arithmetic_trace_runs() {
    let ops = arithmetic_trace(10_000);
    let trace = ExecutableTrace::new(&TABLE, &ops, &symbols()).unwrap();
    let expected = |argument: i64| (40 + 2 + 100 + CONSTANT) * 3 + 7 + argument;
    assert_eq!(run(&trace, 5), expected(5));
    assert_eq!(run(&trace, -3433), expected(-3433));
    assert_eq!(trace.entry() as u64, trace.base());
    assert_eq!(trace.op_address(0), trace.base() + 8);
}

#[test]
fn got_loads_are_relaxed_where_they_can_be() {
    let ops = arithmetic_trace(10_000);
    let trace = ExecutableTrace::new(&TABLE, &ops, &symbols()).unwrap();
    let bytes = trace.bytes();
    let code = |i: usize| &bytes[(trace.op_address(i) - trace.base()) as usize..];

    // Operand 40 and oparg 100 became immediates: movq $40, %rax and
    // movq $100, %rcx.
    assert_eq!(&code(0)[..7], &[0x48, 0xC7, 0xC0, 40, 0, 0, 0]);
    assert_eq!(&code(2)[..7], &[0x48, 0xC7, 0xC1, 100, 0, 0, 0]);
    // The address of the constant is a high address near the trace: lea.
    assert!(trace.base() > u64::from(u32::MAX));
    let constant = trace.base() + trace.layout().op_data_offsets[3] as u64;
    let disp_location = trace.op_address(3) + 3;
    let disp = constant as i64 - (disp_location + 4) as i64;
    let mut lea = vec![0x48, 0x8D, 0x0D];
    lea.extend_from_slice(&(disp as i32).to_le_bytes());
    assert_eq!(&code(3)[..7], &lea[..]);

    // The helper call through the GOT is direct only if the helper is
    // within ±2 GiB of the trace.
    let [triple_address, add_seven_address] = symbols();
    let call_location = trace.op_address(4) + 6;
    if fits_i32(triple_address.wrapping_sub(call_location + 4) as i64) {
        assert_eq!(&code(4)[4..6], &[0x67, 0xE8]);
    } else {
        assert_eq!(&code(4)[4..6], &[0xFF, 0x15]);
    }

    // The direct call goes to the helper, or through its trampoline.
    let call_location = trace.op_address(5) + 5;
    let rel = i32::from_le_bytes(code(5)[5..9].try_into().unwrap());
    let callee = (call_location + 4).wrapping_add(rel as i64 as u64);
    let trampoline = trace.base() + trace.layout().trampoline(1).unwrap() as u64;
    if fits_i32(add_seven_address.wrapping_sub(call_location + 4) as i64) {
        assert_eq!(callee, add_seven_address);
    } else {
        assert_eq!(callee, trampoline);
    }
    let t = (trampoline - trace.base()) as usize;
    assert_eq!(&bytes[t..t + 6], &[0xFF, 0x25, 0, 0, 0, 0]);
    assert_eq!(&bytes[t + 6..t + 14], &add_seven_address.to_le_bytes());
}

#[test]
fn large_operand_keeps_the_got_load() {
    let operand = 0x4000_0000_0000_0001u64;
    let ops = [
        with_operand(LOAD_OPERAND, operand),
        with_oparg(ADD_OPARG, 1),
        op(RETURN),
    ];
    let trace = ExecutableTrace::new(&TABLE, &ops, &symbols()).unwrap();
    assert_eq!(run(&trace, 0), (operand + 1) as i64);
    let load = (trace.op_address(0) - trace.base()) as usize;
    assert_eq!(&trace.bytes()[load..load + 3], &[0x48, 0x8B, 0x05]);
}

#[test]
fn movl_of_the_oparg_becomes_an_immediate_and_leaves_the_byte_before() {
    for oparg in [100, 0x8000_0000, u32::MAX] {
        let ops = [
            with_operand(LOAD_OPERAND, 40),
            with_oparg(ADD_OPARG_MOVL, oparg),
            op(RETURN),
        ];
        let trace = ExecutableTrace::new(&TABLE, &ops, &symbols()).unwrap();
        assert_eq!(run(&trace, 0), 40 + i64::from(oparg), "oparg {oparg:#x}");
        let start = (trace.op_address(1) - trace.base()) as usize;
        let code = &trace.bytes()[start..start + 17];
        // addq $0x48, %rax, untouched; movl $oparg, %ecx; the rest as is.
        let mut expected = vec![0x48, 0x83, 0xC0, 0x48, 0xC7, 0xC1];
        expected.extend_from_slice(&oparg.to_le_bytes());
        expected.extend_from_slice(&[0x48, 0x01, 0xC8, 0x48, 0x83, 0xE8, 0x48]);
        assert_eq!(code, &expected[..], "oparg {oparg:#x}");
    }
}

#[test]
fn guard_deopts_with_its_target() {
    let trace = ExecutableTrace::new(&TABLE, &arithmetic_trace(100), &symbols()).unwrap();
    assert_eq!(run(&trace, 5), 6);
}

#[test]
fn jump_target_loops() {
    // zero; count_down (jumps to itself while %rdi != 0); return
    let ops = [
        op(ZERO),
        TraceOp {
            jump_target: 1,
            ..op(COUNT_DOWN)
        },
        op(RETURN),
    ];
    let trace = ExecutableTrace::new(&TABLE, &ops, &symbols()).unwrap();
    assert_eq!(run(&trace, 10), 55);
    assert_eq!(run(&trace, 1), 1);
}

#[test]
fn code_is_executable_and_nothing_is_writable() {
    let trace = ExecutableTrace::new(&TABLE, &arithmetic_trace(10_000), &symbols()).unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut seen = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let range = fields.next().unwrap();
        let perms = fields.next().unwrap();
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        if start < trace.base() + trace.len() as u64 && end > trace.base() {
            seen.push((start, end, perms.to_owned()));
        }
    }
    assert!(!seen.is_empty(), "the trace is not in /proc/self/maps");
    for (start, _, perms) in &seen {
        assert!(!perms.contains('w'), "{perms} at {start:#x}");
        if *start == trace.base() {
            assert!(perms.starts_with("r-x"), "{perms}");
        }
    }
    let data = trace.base() + trace.layout().data_offset as u64;
    assert!(seen
        .iter()
        .any(|(start, end, perms)| (*start..*end).contains(&data) && perms.starts_with("r--")));
}

#[test]
fn other_arch_is_refused() {
    let table = StencilTable {
        arch: Arch::Aarch64,
        ..TABLE
    };
    match ExecutableTrace::new(&table, &arithmetic_trace(0), &symbols()) {
        Err(ExecError::ArchMismatch {
            table: Arch::Aarch64,
            host: Some(Arch::X86_64),
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn emission_errors_are_reported() {
    match ExecutableTrace::new(&TABLE, &arithmetic_trace(0), &symbols()[..1]) {
        Err(error @ ExecError::Emit(_)) => {
            let text = error.to_string();
            assert!(
                text.contains("add_seven") && text.contains("op 5"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}
