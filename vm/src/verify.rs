//! Static checks on a program: a consistent stack depth at every pc, no
//! underflow, locals and jump targets in range, and no way to run past the
//! last instruction. It also finds the deepest stack, which sizes the stack
//! the JIT runs on.

use crate::program::{Instr, StackLayout};

/// A program the verifier rejects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// The instruction at fault; `None` for the program as a whole.
    pub pc: Option<usize>,
    pub message: String,
}

fn values(n: u32) -> String {
    if n == 1 {
        "1 value".to_string()
    } else {
        format!("{n} values")
    }
}

/// Checks `instrs`; `place` names a pc in messages (e.g. `line 7`).
pub fn verify(
    instrs: &[Instr],
    locals: u32,
    place: &dyn Fn(usize) -> String,
) -> Result<StackLayout, Vec<VerifyError>> {
    let mut errors = Vec::new();
    let Some(last) = instrs.last() else {
        return Err(vec![VerifyError {
            pc: None,
            message: "the program has no instructions".to_string(),
        }]);
    };
    let mut bad_target = false;
    for (pc, instr) in instrs.iter().enumerate() {
        let info = instr.op.info();
        if instr.op.uses_local() && instr.oparg >= locals {
            errors.push(VerifyError {
                pc: Some(pc),
                message: format!(
                    "local {} is out of range: the program has {} (declare more with `.locals N`)",
                    instr.oparg,
                    if locals == 1 {
                        "1 local".to_string()
                    } else {
                        format!("{locals} locals")
                    }
                ),
            });
        }
        if info.uses_value("jump_target") && instr.target as usize >= instrs.len() {
            bad_target = true;
            errors.push(VerifyError {
                pc: Some(pc),
                message: format!(
                    "jump target {} is past the end of the program",
                    instr.target
                ),
            });
        }
    }
    if !last.op.is_terminator() {
        errors.push(VerifyError {
            pc: Some(instrs.len() - 1),
            message: "control runs past the end of the program: the last instruction must be `return` or `jump`"
                .to_string(),
        });
    }
    // Without valid targets there is no control flow to follow.
    if bad_target {
        return Err(errors);
    }

    // depth[pc] is the depth before pc; from[pc] is the first pc seen flowing into it.
    let mut depth: Vec<Option<u32>> = vec![None; instrs.len()];
    let mut from: Vec<Option<usize>> = vec![None; instrs.len()];
    let mut reported = vec![false; instrs.len()];
    let mut max_depth = 0;
    let mut work = vec![0usize];
    depth[0] = Some(0);
    while let Some(pc) = work.pop() {
        let instr = instrs[pc];
        let info = instr.op.info();
        let before = depth[pc].unwrap_or(0);
        let inputs = info.inputs.len() as u32;
        if before < inputs {
            if !reported[pc] {
                reported[pc] = true;
                errors.push(VerifyError {
                    pc: Some(pc),
                    message: format!(
                        "stack underflow: `{}` takes {} but the stack holds {}",
                        instr.op.name(),
                        values(inputs),
                        values(before)
                    ),
                });
            }
            continue;
        }
        let after = before - inputs + info.outputs.len() as u32;
        max_depth = max_depth.max(after).max(before);
        let mut successors = Vec::with_capacity(2);
        if !instr.op.is_terminator() {
            successors.push(pc + 1);
        }
        if info.uses_value("jump_target") {
            successors.push(instr.target as usize);
        }
        for next in successors {
            if next >= instrs.len() {
                continue; // running past the end is reported above
            }
            match depth[next] {
                None => {
                    depth[next] = Some(after);
                    from[next] = Some(pc);
                    work.push(next);
                }
                Some(seen) if seen != after => {
                    if !reported[next] {
                        reported[next] = true;
                        let first = from[next].map_or_else(|| "the start".to_string(), place);
                        errors.push(VerifyError {
                            pc: Some(next),
                            message: format!(
                                "inconsistent stack depth: {} when reached from {first}, {} when reached from {}",
                                values(seen),
                                values(after),
                                place(pc)
                            ),
                        });
                    }
                }
                Some(_) => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(StackLayout { depth, max_depth })
    } else {
        errors.sort_by_key(|e| e.pc);
        Err(errors)
    }
}
