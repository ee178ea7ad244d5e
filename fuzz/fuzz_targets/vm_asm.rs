//! The VM assembler and verifier: any text assembles to a program the
//! verifier's promises hold for, or to errors at real lines of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vm::{assemble, UOPS};

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let lines = source.lines().count().max(1) as u32;
    match assemble("fuzz.uasm", &source, UOPS) {
        Ok(program) => {
            let len = program.instrs.len();
            assert!(len > 0);
            assert_eq!(program.spans.len(), len);
            assert_eq!(program.layout.depth.len(), len);
            assert_eq!(program.layout.depth[0], Some(0), "the entry starts empty");
            for (pc, instr) in program.instrs.iter().enumerate() {
                let info = instr.op.info();
                if info.uses_value("jump_target") {
                    assert!((instr.target as usize) < len, "pc {pc} jumps out");
                }
                if instr.op.uses_local() {
                    assert!(instr.oparg < program.locals, "pc {pc} local out of range");
                }
                if let Some(depth) = program.layout.depth[pc] {
                    assert!(depth as usize >= info.inputs.len(), "pc {pc} underflows");
                    assert!(depth <= program.layout.max_depth);
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for d in &errors.errors {
                assert!(d.span.line >= 1 && d.span.line <= lines, "{d:?}");
                assert!(d.span.col >= 1 && d.span.len >= 1, "{d:?}");
            }
            let text = errors.to_string();
            assert!(text.starts_with("fuzz.uasm:"), "{text}");
        }
    }
});
