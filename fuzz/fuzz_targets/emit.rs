//! Trace layout and emission over every committed stencil table: a random
//! trace at a random base either fails for a reason that holds or every
//! byte reads back as intended (see `emit-oracle`).
#![no_main]

use emit_oracle::{check, Case, Stats};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::from_fuzz(generated::TABLES, data) else {
        return;
    };
    if let Err(failure) = check(&case, &mut Stats::default()) {
        panic!("{failure}");
    }
});
