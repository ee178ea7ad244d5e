//! The state a program runs on: operand stack, locals and heap, and how
//! parameters given on the command line become the initial state.

use crate::asm::parse_value;
use crate::program::{HeapSize, Program};
use crate::visible::visible;

/// The largest heap a program may ask for (1 GiB of cells).
pub const MAX_HEAP_CELLS: u64 = 1 << 27;

/// The most local slots a program may declare (8 MiB of them).
pub const MAX_LOCALS: u32 = 1 << 20;

/// Everything a uop reads or writes. The interpreter resumes from any pc
/// with a state like this; a deopt rebuilds one from the JIT's frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmState {
    /// Operand stack, bottom first.
    pub stack: Vec<i64>,
    pub locals: Vec<i64>,
    /// Never resized while a program runs: pointer values are addresses into it.
    pub heap: Vec<i64>,
}

impl VmState {
    /// The initial state of `program` with its parameters set to `values`
    /// (bits, in `.arg` order; see [`bind_args`]).
    pub fn new(program: &Program, values: &[i64]) -> Result<VmState, String> {
        if values.len() != program.args.len() {
            return Err(format!(
                "the program takes {} arguments, {} given",
                program.args.len(),
                values.len()
            ));
        }
        // The assembler refuses more; a program built by hand may not.
        if program.locals > MAX_LOCALS {
            return Err(format!(
                "{} locals exceed the limit of {MAX_LOCALS}",
                program.locals
            ));
        }
        let mut locals = vec![0; program.locals as usize];
        for (arg, value) in program.args.iter().zip(values) {
            locals[arg.local as usize] = *value;
        }
        let cells = match program.heap {
            HeapSize::Cells(n) => n,
            HeapSize::Arg(i) => {
                let n = values[i];
                u64::try_from(n).map_err(|_| {
                    format!(
                        "argument `{}` sizes the heap and must not be negative, got {n}",
                        program.args[i].name
                    )
                })?
            }
        };
        if cells > MAX_HEAP_CELLS {
            return Err(format!(
                "a heap of {cells} cells exceeds the limit of {MAX_HEAP_CELLS}"
            ));
        }
        Ok(VmState {
            stack: Vec::with_capacity(program.layout.max_depth as usize),
            locals,
            heap: vec![0; cells as usize],
        })
    }
}

/// Reads parameters: each item is `NAME=VALUE` or a bare `VALUE`, bare ones
/// filling the parameters in `.arg` order. Missing ones take their default.
/// Errors quote the items with invisible characters escaped.
pub fn bind_args(program: &Program, items: &[String]) -> Result<Vec<i64>, String> {
    bind(program, items).map_err(|e| visible(&e))
}

fn bind(program: &Program, items: &[String]) -> Result<Vec<i64>, String> {
    let mut values: Vec<Option<i64>> = vec![None; program.args.len()];
    let mut next_positional = 0;
    for item in items {
        let (index, text) = match item.split_once('=') {
            Some((name, text)) => match program.args.iter().position(|a| a.name == name) {
                Some(i) => (i, text),
                None => {
                    let known: Vec<&str> = program.args.iter().map(|a| a.name.as_str()).collect();
                    return Err(if known.is_empty() {
                        format!("unknown argument `{name}`: the program takes no arguments")
                    } else {
                        format!(
                            "unknown argument `{name}`: the program takes {}",
                            known.join(", ")
                        )
                    });
                }
            },
            None => {
                if next_positional >= program.args.len() {
                    return Err(format!(
                        "too many arguments: the program takes {}",
                        program.args.len()
                    ));
                }
                next_positional += 1;
                (next_positional - 1, item.as_str())
            }
        };
        let arg = &program.args[index];
        if values[index].is_some() {
            return Err(format!("argument `{}` is given twice", arg.name));
        }
        let bits =
            parse_value(text, arg.kind).map_err(|e| format!("argument `{}`: {e}", arg.name))?;
        values[index] = Some(bits);
    }
    Ok(values
        .iter()
        .zip(&program.args)
        .map(|(v, arg)| v.unwrap_or(arg.default))
        .collect())
}
