//! Object reading and relocation lowering: any bytes as a relocatable
//! object of any target (the first byte picks it) lower to a stencil whose
//! holes all lie inside its code or data, in order and apart, or to an
//! error that names the uop and the target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stencil_gen::inspect;
use stencil_gen::lower::lower_with_layout;
use stencil_gen::model::{DeclaredValue, DeclaredValues, Hole};
use stencil_gen::target::ALL;

const NAME: &str = "fuzz";

fn check_holes(holes: &[Hole], len: usize, part: &str) {
    let mut end = 0;
    for hole in holes {
        let start = hole.offset as usize;
        assert!(
            start >= end,
            "{part} hole at {start:#x} overlaps the one before"
        );
        end = start + emit_oracle::decode::width(hole.kind);
        assert!(
            end <= len,
            "{part} hole at {start:#x} runs past the {len} bytes"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, object)) = data.split_first() else {
        return;
    };
    let target = &ALL[usize::from(first) % ALL.len()];
    let values = DeclaredValues {
        per_op: ["oparg", "operand", "deopt_target"]
            .map(|name| DeclaredValue {
                name: name.to_string(),
                bits: 64,
            })
            .to_vec(),
        per_trace: Vec::new(),
    };
    match lower_with_layout(object, target, NAME, &values) {
        Ok((group, _)) => {
            check_holes(&group.code_holes, group.code.len(), "code");
            check_holes(&group.data_holes, group.data.len(), "data");
            assert!(group.data_align.is_power_of_two());
            let text = inspect::inspect(object, target, NAME, &values).expect("lowered once");
            assert!(text.starts_with(&format!("stencil `{NAME}` for {}\n", target.triple)));
        }
        Err(error) => {
            let text = error.to_string();
            let prefix = format!("uop `{NAME}` ({}): ", target.triple);
            assert!(text.starts_with(&prefix), "{text}");
            assert!(text.len() > prefix.len(), "{text}");
        }
    }
});
