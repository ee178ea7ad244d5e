//! Compiling traces: emission with the generated emit functions against
//! the table-driven emitter, a per-stencil copy and one memcpy; the whole
//! compile (layout, emission, executable) in the pool against a mapping
//! per trace; and the memory traces take.

use std::hint::black_box;
use std::time::Duration;

use runtime::emit::{emit, emit_reference, layout, Layout, TraceOp};
use runtime::exec::ExecutableTrace;
use runtime::pool::ExecPool;
use runtime::StencilTable;

use super::{geomean, per_call, Loaded};
use crate::jit::{compile_ops, helper_symbols, jit_pool, pool_config};

/// Emission of each program's trace into a buffer, four ways.
pub fn emission(table: &StencilTable, programs: &[Loaded]) -> Result<(), String> {
    println!(
        "== emission ({}): copy + patch a program's trace into a buffer",
        table.target
    );
    println!(
        "   emit: generated emit functions; table: the table-driven emitter; copy: each stencil \
         copied to its place, no patching; memcpy: one copy of the finished trace"
    );
    println!(
        "{:<10} {:>5} {:>7} {:>8} {:>7} {:>8} {:>8} {:>8} {:>10} {:>11} {:>10}",
        "program",
        "uops",
        "bytes",
        "emit ns",
        "ns/uop",
        "table ns",
        "copy ns",
        "memcpy ns",
        "emit/table",
        "emit/copy",
        "emit/memcpy"
    );
    let symbols = helper_symbols(table).map_err(|e| e.to_string())?;
    let (mut per_uop, mut vs_table, mut vs_copy, mut vs_memcpy) = (vec![], vec![], vec![], vec![]);
    for p in programs {
        let ops: Vec<TraceOp> = compile_ops(table, &p.program).map_err(|e| e.to_string())?;
        let lay = layout(table, &ops).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; lay.len];
        let base = 0x7000_0000_0000u64;
        emit(table, &ops, &lay, &symbols, &mut buf, base).map_err(|e| e.to_string())?;
        let source = buf.clone();
        let mut check = vec![0u8; lay.len];
        emit_reference(table, &ops, &lay, &symbols, &mut check, base).map_err(|e| e.to_string())?;
        if check != source {
            return Err(format!("{}: the two emitters disagree", p.name));
        }
        let pieces = stencil_pieces(table, &ops, &lay);
        let t_emit = per_call(|| {
            emit(
                table,
                black_box(&ops),
                &lay,
                &symbols,
                black_box(&mut buf),
                base,
            )
            .ok();
        });
        let t_table = per_call(|| {
            emit_reference(
                table,
                black_box(&ops),
                &lay,
                &symbols,
                black_box(&mut buf),
                base,
            )
            .ok();
        });
        let t_memcpy = per_call(|| {
            black_box(&mut buf).copy_from_slice(black_box(&source));
        });
        let t_copy = per_call(|| {
            let buf = black_box(&mut buf);
            for &(at, bytes) in black_box(&pieces) {
                buf[at..at + bytes.len()].copy_from_slice(bytes);
            }
        });
        let ns = |t: Duration| t.as_secs_f64() * 1e9;
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        per_uop.push(ns(t_emit) / ops.len() as f64);
        vs_table.push(ratio(t_emit, t_table));
        vs_copy.push(ratio(t_emit, t_copy));
        vs_memcpy.push(ratio(t_emit, t_memcpy));
        println!(
            "{:<10} {:>5} {:>7} {:>8.0} {:>7.2} {:>8.0} {:>8.0} {:>9.0} {:>9.2}x {:>10.2}x {:>10.2}x",
            p.name,
            ops.len(),
            lay.len,
            ns(t_emit),
            ns(t_emit) / ops.len() as f64,
            ns(t_table),
            ns(t_copy),
            ns(t_memcpy),
            ratio(t_emit, t_table),
            ratio(t_emit, t_copy),
            ratio(t_emit, t_memcpy),
        );
    }
    println!(
        "geometric means: {:.2} ns/uop (target: at most 8); emit/table {:.2}x; emit/copy {:.2}x \
         (target: at most 1.5x); emit/memcpy {:.2}x\n",
        geomean(&per_uop),
        geomean(&vs_table),
        geomean(&vs_copy),
        geomean(&vs_memcpy)
    );
    Ok(())
}

/// Where each stencil's code and data go in a trace, as the emitter places
/// them: the work of copying without patching.
pub fn stencil_pieces<'t>(
    table: &'t StencilTable,
    ops: &[TraceOp],
    layout: &Layout,
) -> Vec<(usize, &'t [u8])> {
    std::iter::once(&table.shim)
        .chain(
            ops.iter()
                .filter_map(|op| table.stencil(op.uop, op.variant)),
        )
        .zip(std::iter::once(0).chain(layout.op_offsets.iter().map(|&o| o as usize)))
        .map(|(stencil, at)| (at, stencil.code))
        .chain(
            ops.iter()
                .zip(&layout.op_data_offsets)
                .filter_map(|(op, &at)| {
                    Some((at as usize, table.stencil(op.uop, op.variant)?.data))
                }),
        )
        .collect()
}

/// The whole compile of each program's trace, from trace ops to code that
/// can run: in the VM's shared pool, and with a mapping of its own.
pub fn compile_time(table: &StencilTable, programs: &[Loaded]) -> Result<(), String> {
    println!(
        "== whole compile ({}): layout + emit + executable, median",
        table.target
    );
    println!(
        "{:<10} {:>5} {:>7} {:>9} {:>12} {:>8}",
        "program", "uops", "bytes", "pool µs", "own map µs", "ratio"
    );
    let symbols = helper_symbols(table).map_err(|e| e.to_string())?;
    let pool = jit_pool().map_err(|e| e.to_string())?;
    let mut pool_times = Vec::new();
    for p in programs {
        let ops: Vec<TraceOp> = compile_ops(table, &p.program).map_err(|e| e.to_string())?;
        // Each trace is dropped at once: the next takes its block again.
        let t_pool = per_call(|| {
            black_box(pool.compile(table, black_box(&ops), &symbols).ok());
        });
        let t_own = per_call(|| {
            black_box(ExecutableTrace::new(table, black_box(&ops), &symbols).ok());
        });
        let len = layout(table, &ops).map_err(|e| e.to_string())?.len;
        let us = |t: Duration| t.as_secs_f64() * 1e6;
        pool_times.push(t_pool);
        println!(
            "{:<10} {:>5} {:>7} {:>9.2} {:>12.2} {:>7.1}x",
            p.name,
            ops.len(),
            len,
            us(t_pool),
            us(t_own),
            t_own.as_secs_f64() / t_pool.as_secs_f64()
        );
    }
    pool_times.sort();
    println!(
        "median whole compile in the pool: {:.2} µs (target: at most 3)\n",
        pool_times[pool_times.len() / 2].as_secs_f64() * 1e6
    );
    Ok(())
}

/// Bytes mapped for traces against their code and data bytes.
pub fn memory(table: &StencilTable, programs: &[Loaded]) -> Result<(), String> {
    const KEPT: usize = 1000;
    println!(
        "== memory ({}): bytes mapped against code + data bytes",
        table.target
    );
    let symbols = helper_symbols(table).map_err(|e| e.to_string())?;
    let config = pool_config();
    println!(
        "{:<10} {:>11} {:>14} {:>15} {:>14}",
        "program", "code+data", "own mapping", "pool block", "own/pool"
    );
    let mut smallest: Option<(&str, Vec<TraceOp>)> = None;
    for p in programs {
        let ops: Vec<TraceOp> = compile_ops(table, &p.program).map_err(|e| e.to_string())?;
        let own = ExecutableTrace::new(table, &ops, &symbols).map_err(|e| e.to_string())?;
        let pool = ExecPool::new(config).map_err(|e| e.to_string())?;
        let trace = pool
            .compile(table, &ops, &symbols)
            .map_err(|e| e.to_string())?;
        let own_mapped = own.len().next_multiple_of(page_size());
        let block = pool.stats().in_use;
        println!(
            "{:<10} {:>11} {:>14} {:>15} {:>13.1}x",
            p.name,
            trace.len(),
            own_mapped,
            block,
            own_mapped as f64 / block as f64
        );
        if smallest.as_ref().is_none_or(|(_, s)| ops.len() < s.len()) {
            smallest = Some((p.name, ops));
        }
    }
    let Some((name, ops)) = smallest else {
        return Ok(());
    };
    let pool = ExecPool::new(config).map_err(|e| e.to_string())?;
    let traces = (0..KEPT)
        .map(|_| pool.compile(table, &ops, &symbols))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let bytes: usize = traces.iter().map(|t| t.len()).sum();
    let stats = pool.stats();
    println!(
        "{KEPT} traces of {name} kept: {} bytes mapped for {bytes} bytes of code and data: \
         {:.3}x (target: at most 1.25x); with a mapping each: {:.2}x\n",
        stats.mapped,
        stats.mapped as f64 / bytes as f64,
        (traces[0].len().next_multiple_of(page_size()) * KEPT) as f64 / bytes as f64,
    );
    Ok(())
}

/// The page size the per-trace mapping rounds to.
fn page_size() -> usize {
    runtime::exec::page_size().unwrap_or(4096)
}
