//! Object reading on real objects (uops of `uop-defs/defs` compiled by
//! clang 19 through the generator's toolchain, for every target): every
//! truncation is an error naming what is cut, an object of another target
//! is named with its format and instruction set, and the JSON rendering
//! of `inspect-object --format json` has the documented fields and values.

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

#[path = "objects/coverage.rs"]
mod coverage;
#[path = "objects/json.rs"]
mod json;
#[path = "objects/real.rs"]
mod real;
#[path = "objects/truncated.rs"]
mod truncated;
#[path = "objects/wrong_target.rs"]
mod wrong_target;
