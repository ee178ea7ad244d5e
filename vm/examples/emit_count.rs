//! Emits a benchmark program's trace many times, for counting instructions
//! with callgrind (see vm/README.md, "Benchmarks"):
//! `emit_count PROGRAM emit|table|copy TIMES`. Run it with TIMES and with
//! 0 and subtract: the difference over TIMES is the cost of one emission.

use std::hint::black_box;
use std::process::ExitCode;

use runtime::emit::{emit, emit_reference, layout};
use vm::jit::{compile_ops, helper_symbols, host_table};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, program, mode, times] = &args[..] else {
        eprintln!("usage: emit_count PROGRAM.uasm emit|table|copy TIMES");
        return ExitCode::FAILURE;
    };
    match run(program, mode, times) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("emit_count: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str, mode: &str, times: &str) -> Result<(), String> {
    let times: usize = times.parse().map_err(|e| format!("TIMES: {e}"))?;
    let table = host_table().ok_or("this host has no stencil table")?;
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let source = vm::source::decode(path, bytes).map_err(|d| d.to_string())?;
    let program = vm::assemble(path, &source, table.info).map_err(|d| d.to_string())?;
    let ops = compile_ops(table, &program).map_err(|e| e.to_string())?;
    let symbols = helper_symbols(table).map_err(|e| e.to_string())?;
    let lay = layout(table, &ops).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; lay.len];
    let base = 0x7000_0000_0000u64;
    let pieces = vm::bench::stencil_pieces(table, &ops, &lay);
    for _ in 0..times {
        match mode {
            "emit" => emit(
                table,
                black_box(&ops),
                &lay,
                &symbols,
                black_box(&mut buf),
                base,
            )
            .map_err(|e| e.to_string())?,
            "table" => emit_reference(
                table,
                black_box(&ops),
                &lay,
                &symbols,
                black_box(&mut buf),
                base,
            )
            .map_err(|e| e.to_string())?,
            "copy" => {
                let buf = black_box(&mut buf);
                for &(at, bytes) in black_box(&pieces) {
                    buf[at..at + bytes.len()].copy_from_slice(bytes);
                }
            }
            _ => return Err(format!("unknown mode {mode}")),
        }
    }
    black_box(&buf);
    println!("{} ops", ops.len());
    Ok(())
}
