//! The executable-memory pool on an x86-64 Linux host, with the
//! hand-written stencils: traces share pages and run, blocks are reused
//! and merge, capacity is enforced, W^X holds while threads compile, and
//! chunks are placed near helpers.
#![cfg(all(target_arch = "x86_64", target_os = "linux", feature = "std"))]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use common::table::jump;
use common::*;
use runtime::{Arch, ExecError, ExecPool, PoolConfig, PoolStats, PoolTrace, StencilTable, TraceOp};

const PAGE: usize = 4096;

fn run(trace: &PoolTrace, argument: i64) -> i64 {
    // SAFETY: the shim of `TABLE` follows the C ABI of this signature, and
    // the trace stays in the pool while it runs.
    let entry: extern "C" fn(i64) -> i64 = unsafe { core::mem::transmute(trace.entry()) };
    entry(argument)
}

fn pool(config: PoolConfig) -> ExecPool {
    ExecPool::new(config).unwrap()
}

fn fits_i32(value: i64) -> bool {
    i32::try_from(value).is_ok()
}

fn add_seven_address() -> u64 {
    symbols()[1]
}

/// `arithmetic_trace(10_000)` with `extra` more `add_oparg(oparg)` before
/// the return, and what it computes for `argument`.
fn longer_trace(extra: usize, oparg: u32) -> (Vec<TraceOp>, impl Fn(i64) -> i64) {
    let mut ops = arithmetic_trace(10_000);
    let ret = ops.pop().unwrap();
    ops.extend((0..extra).map(|_| with_oparg(ADD_OPARG, oparg)));
    ops.push(ret);
    let added = extra as i64 * i64::from(oparg);
    (ops, move |argument| {
        (40 + 2 + 100 + CONSTANT) * 3 + 7 + argument + added
    })
}

/// Where the direct call of `call_direct` (op 5) goes.
fn direct_callee(trace: &PoolTrace) -> u64 {
    let call = (trace.op_address(5) - trace.base()) as usize + 5;
    let rel = i32::from_le_bytes(trace.bytes()[call..call + 4].try_into().unwrap());
    (trace.base() + call as u64 + 4).wrapping_add(rel as i64 as u64)
}

/// The bytes of the pool a trace takes: its length rounded up to 16.
fn block_len(trace: &PoolTrace) -> usize {
    trace.len().next_multiple_of(16)
}

fn trampoline_address(trace: &PoolTrace) -> u64 {
    trace.base() + trace.layout().trampoline(1).unwrap() as u64
}

#[test]
fn traces_run_and_share_pages() {
    let pool = pool(PoolConfig::default());
    let traces: Vec<(PoolTrace, [i64; 2])> = (0..8)
        .map(|i| {
            let (ops, expected) = longer_trace(i, 1 + i as u32);
            let trace = pool.compile(&TABLE, &ops, &symbols()).unwrap();
            (trace, [expected(5), expected(-3433)])
        })
        .collect();
    for (trace, expected) in &traces {
        assert_eq!([run(trace, 5), run(trace, -3433)], *expected);
        assert_eq!(trace.entry() as u64, trace.base());
        assert_eq!(trace.base() % 16, 0);
    }
    // All in the first chunk of 64 KiB, packed: eight traces on one page.
    let bases: Vec<u64> = traces.iter().map(|(trace, _)| trace.base()).collect();
    let first = *bases.iter().min().unwrap();
    assert!(
        bases.iter().all(|base| base - first < 64 << 10),
        "{bases:x?}"
    );
    let pages: HashSet<u64> = bases.iter().map(|base| base / PAGE as u64).collect();
    assert_eq!(pages.len(), 1, "{bases:x?}");
    let in_use = traces.iter().map(|(trace, _)| block_len(trace)).sum();
    assert_eq!(
        pool.stats(),
        PoolStats {
            mapped: 64 << 10,
            in_use,
            traces: 8
        }
    );

    // A loop, too.
    let ops = [op(ZERO), jump(COUNT_DOWN, 1), op(RETURN)];
    let trace = pool.compile(&TABLE, &ops, &symbols()).unwrap();
    assert_eq!(run(&trace, 10), 55);
    drop(traces);
    drop(trace);
    assert_eq!(
        pool.stats(),
        PoolStats {
            mapped: 64 << 10,
            in_use: 0,
            traces: 0
        }
    );
}

#[test]
fn a_freed_block_is_reused_and_freed_neighbours_merge() {
    let pool = pool(PoolConfig::default());
    let ops = arithmetic_trace(10_000);
    let a = pool.compile(&TABLE, &ops, &symbols()).unwrap();
    let b = pool.compile(&TABLE, &ops, &symbols()).unwrap();
    let c = pool.compile(&TABLE, &ops, &symbols()).unwrap();
    let (a_base, b_base) = (a.base(), b.base());
    assert_eq!(b_base, a_base + a.len().next_multiple_of(16) as u64);
    assert_eq!(c.base(), b_base + b.len().next_multiple_of(16) as u64);

    drop(b);
    let again = pool.compile(&TABLE, &ops, &symbols()).unwrap();
    assert_eq!(again.base(), b_base);
    assert_eq!(run(&again, 1), run(&a, 1));

    // A trace longer than one block but shorter than two fits where `a`
    // and `again` were only if their blocks merged.
    drop(a);
    drop(again);
    let (longer, expected) = longer_trace(12, 3);
    let longer = pool.compile(&TABLE, &longer, &symbols()).unwrap();
    assert!(longer.len() > (b_base - a_base) as usize);
    assert!(longer.len() <= (c.base() - a_base) as usize);
    assert_eq!(longer.base(), a_base);
    assert_eq!(run(&longer, 9), expected(9));
    assert_eq!(run(&c, 9), expected(9) - 36);
}

#[test]
fn exhaustion_is_an_error_until_traces_are_dropped() {
    let pool = pool(PoolConfig {
        capacity: 2 * PAGE,
        chunk: PAGE,
        near: None,
    });
    let ops = arithmetic_trace(10_000);
    let mut traces = Vec::new();
    let error = loop {
        match pool.compile(&TABLE, &ops, &symbols()) {
            Ok(trace) => traces.push(trace),
            Err(error) => break error,
        }
        assert!(traces.len() < 100, "the capacity is not enforced");
    };
    // Two pages of traces of 160 bytes (152 rounded to the alignment).
    assert_eq!(traces.len(), 2 * (PAGE / 160));
    match error {
        ExecError::PoolExhausted {
            needed: 12288,
            capacity: 8192,
        } => {}
        ref other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "the executable-memory pool would need 12288 bytes mapped for this trace, more than \
         its capacity of 8192 bytes; raise `PoolConfig::capacity` or drop traces that no \
         longer run"
    );
    assert_eq!(pool.stats().mapped, 2 * PAGE);

    // Still working: a dropped trace makes room for the next.
    let freed = traces.swap_remove(7).base();
    let trace = pool.compile(&TABLE, &ops, &symbols()).unwrap();
    assert_eq!(trace.base(), freed);
    assert_eq!(run(&trace, 0), run(&traces[0], 0));

    // A trace larger than the whole capacity.
    drop(traces);
    drop(trace);
    let (huge, _) = longer_trace(2000, 1);
    match pool.compile(&TABLE, &huge, &symbols()) {
        Err(ExecError::PoolExhausted {
            needed: 20480,
            capacity: 8192,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_trace_larger_than_a_chunk_gets_a_chunk_of_its_own() {
    let pool = pool(PoolConfig {
        chunk: PAGE,
        ..PoolConfig::default()
    });
    let small = pool
        .compile(&TABLE, &arithmetic_trace(10_000), &symbols())
        .unwrap();
    assert_eq!(pool.stats().mapped, PAGE);
    let (ops, expected) = longer_trace(1000, 5);
    let large = pool.compile(&TABLE, &ops, &symbols()).unwrap();
    assert!(
        large.len() > PAGE && large.len() <= 2 * PAGE,
        "{}",
        large.len()
    );
    assert_eq!(pool.stats().mapped, 3 * PAGE);
    assert_eq!(run(&large, 1), expected(1));
    assert_eq!(run(&small, 1), expected(1) - 5000);
}

#[test]
fn an_emission_error_gives_the_block_back() {
    let pool = pool(PoolConfig::default());
    let ops = arithmetic_trace(10_000);
    let base = pool.compile(&TABLE, &ops, &symbols()).unwrap().base();
    match pool.compile(&TABLE, &ops, &symbols()[..1]) {
        Err(error @ ExecError::Emit(_)) => {
            let text = error.to_string();
            assert!(
                text.contains("add_seven") && text.contains("op 5"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        pool.stats(),
        PoolStats {
            mapped: 64 << 10,
            in_use: 0,
            traces: 0
        }
    );
    let trace = pool.compile(&TABLE, &ops, &symbols()).unwrap();
    assert_eq!(trace.base(), base);
    assert_eq!(pool.stats().in_use, block_len(&trace));
}

#[test]
fn other_arch_is_refused() {
    let table = StencilTable {
        arch: Arch::Aarch64,
        ..TABLE
    };
    let pool = pool(PoolConfig::default());
    match pool.compile(&table, &arithmetic_trace(0), &symbols()) {
        Err(ExecError::ArchMismatch {
            table: Arch::Aarch64,
            host: Some(Arch::X86_64),
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(pool.stats(), PoolStats::default());
}

/// Compiles, runs and checks `count` traces of varying lengths, dropping
/// every third along the way; returns the rest with their results for
/// argument 11.
fn compile_many(pool: &ExecPool, seed: usize, count: usize) -> Vec<(PoolTrace, i64)> {
    let mut kept: Vec<(PoolTrace, i64)> = Vec::new();
    for i in 0..count {
        let (ops, expected) = longer_trace((seed + i) % 23, (seed * 1000 + i) as u32);
        let trace = pool.compile(&TABLE, &ops, &symbols()).unwrap();
        assert_eq!(run(&trace, 11), expected(11), "thread {seed}, trace {i}");
        kept.push((trace, expected(11)));
        if i % 3 == 2 {
            kept.swap_remove((seed + i) % kept.len());
        }
    }
    kept
}

#[test]
fn threads_compile_at_once_into_disjoint_blocks() {
    let pool = pool(PoolConfig::default());
    let handles: Vec<_> = (0..4)
        .map(|seed| {
            let pool = pool.clone();
            thread::spawn(move || compile_many(&pool, seed, 200))
        })
        .collect();
    let mut live: Vec<(PoolTrace, i64)> = handles
        .into_iter()
        .flat_map(|handle| handle.join().unwrap())
        .collect();
    assert_eq!(live.len(), 4 * (200 - 200 / 3));
    // Every trace still computes what it did (no block was written twice),
    // run from threads that borrow them.
    thread::scope(|scope| {
        for part in live.chunks(live.len() / 2) {
            scope.spawn(move || {
                for (trace, expected) in part {
                    assert_eq!(run(trace, 11), *expected);
                }
            });
        }
    });
    live.sort_by_key(|(trace, _)| trace.base());
    for pair in live.windows(2) {
        let (first, second) = (&pair[0].0, &pair[1].0);
        assert!(
            first.base() + first.len() as u64 <= second.base(),
            "{:#x}+{} overlaps {:#x}",
            first.base(),
            first.len(),
            second.base()
        );
    }
    let stats = pool.stats();
    assert_eq!(stats.traces, live.len());
    assert_eq!(
        stats.in_use,
        live.iter()
            .map(|(trace, _)| block_len(trace))
            .sum::<usize>()
    );
}

struct Mapping {
    start: u64,
    end: u64,
    perms: String,
    name: String,
}

fn mappings() -> Vec<Mapping> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (start, end) = fields[0].split_once('-').unwrap();
            Mapping {
                start: u64::from_str_radix(start, 16).unwrap(),
                end: u64::from_str_radix(end, 16).unwrap(),
                perms: fields[1].to_owned(),
                name: fields
                    .get(5..)
                    .map(|name| name.join(" "))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

#[test]
fn no_mapping_is_writable_and_executable_while_threads_compile() {
    let pool = pool(PoolConfig {
        chunk: PAGE,
        ..PoolConfig::default()
    });
    let trace = pool
        .compile(&TABLE, &arithmetic_trace(10_000), &symbols())
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|seed| {
            let (pool, stop) = (pool.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                let mut rounds = 0;
                while !stop.load(Ordering::Relaxed) {
                    compile_many(&pool, seed, 30);
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();

    for _ in 0..300 {
        for mapping in mappings() {
            assert!(
                !(mapping.perms.contains('w') && mapping.perms.contains('x')),
                "{:#x}-{:#x} {} {}",
                mapping.start,
                mapping.end,
                mapping.perms,
                mapping.name
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        assert!(worker.join().unwrap() > 0);
    }

    // The trace runs from a shared read + execute view of the pool's
    // memory file, which is also mapped read + write elsewhere.
    let all = mappings();
    let view = all
        .iter()
        .find(|mapping| (mapping.start..mapping.end).contains(&trace.base()))
        .unwrap();
    assert_eq!(view.perms, "r-xs");
    assert!(view.name.starts_with("/memfd:trace-pool"), "{}", view.name);
    assert!(all
        .iter()
        .any(|mapping| mapping.perms == "rw-s" && mapping.name.starts_with("/memfd:trace-pool")));
    assert_eq!(run(&trace, 0), (40 + 2 + 100 + CONSTANT) * 3 + 7);
}

#[test]
fn near_places_code_where_helper_calls_are_direct() {
    let helper = add_seven_address();
    let pool = pool(PoolConfig {
        chunk: PAGE,
        near: Some(helper),
        ..PoolConfig::default()
    });
    // Forty traces of two pages each: many chunks, all near.
    let (ops, expected) = longer_trace(1000, 1);
    let traces: Vec<PoolTrace> = (0..40)
        .map(|_| pool.compile(&TABLE, &ops, &symbols()).unwrap())
        .collect();
    for trace in &traces {
        let distance = trace.base().abs_diff(helper);
        assert!(distance < 1 << 31, "{:#x} vs {helper:#x}", trace.base());
        assert_eq!(direct_callee(trace), helper);
        assert_ne!(direct_callee(trace), trampoline_address(trace));
        // The GOT call to `triple` became a direct call: addr32 callq.
        let call = (trace.op_address(4) - trace.base()) as usize + 4;
        assert_eq!(&trace.bytes()[call..call + 2], &[0x67, 0xE8]);
        assert_eq!(run(trace, 2), expected(2));
    }
}

#[test]
fn far_code_calls_helpers_through_trampolines() {
    let helper = add_seven_address();
    let far = pool(PoolConfig {
        near: Some(helper + (64 << 30)),
        ..PoolConfig::default()
    });
    let anywhere = pool(PoolConfig::default());
    let ops = arithmetic_trace(10_000);
    let expected = (40 + 2 + 100 + CONSTANT) * 3 + 7 + 3;

    let trace = far.compile(&TABLE, &ops, &symbols()).unwrap();
    assert!(
        trace.base().abs_diff(helper) > 1 << 32,
        "{:#x} vs {helper:#x}",
        trace.base()
    );
    assert_eq!(direct_callee(&trace), trampoline_address(&trace));
    assert_eq!(run(&trace, 3), expected);

    // Anywhere: direct if the kernel happened to map it in reach.
    let trace = anywhere.compile(&TABLE, &ops, &symbols()).unwrap();
    let call_end = trace.op_address(5) + 9;
    if fits_i32(helper.wrapping_sub(call_end) as i64) {
        assert_eq!(direct_callee(&trace), helper);
    } else {
        assert_eq!(direct_callee(&trace), trampoline_address(&trace));
    }
    assert_eq!(run(&trace, 3), expected);
}

#[test]
fn a_thousand_small_traces_map_little_more_than_their_length() {
    let pool = pool(PoolConfig::default());
    let traces: Vec<(PoolTrace, i64)> = (0..1000)
        .map(|i| {
            let (ops, expected) = longer_trace(i % 5, i as u32);
            (pool.compile(&TABLE, &ops, &symbols()).unwrap(), expected(1))
        })
        .collect();
    let len: usize = traces.iter().map(|(trace, _)| trace.len()).sum();
    let stats = pool.stats();
    let ratio = stats.mapped as f64 / len as f64;
    println!(
        "1000 traces, {len} bytes in all: {} bytes mapped, ratio {ratio:.3}",
        stats.mapped
    );
    assert!(ratio <= 1.25, "ratio {ratio:.3}");
    assert_eq!(
        stats.in_use,
        traces
            .iter()
            .map(|(trace, _)| block_len(trace))
            .sum::<usize>()
    );
    for (trace, expected) in traces.iter().step_by(37) {
        assert_eq!(run(trace, 1), *expected);
    }
}
