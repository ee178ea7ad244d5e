//! The reference VM's stencil ABI, read from `uop-defs/defs` as the
//! generator reads it: what tests lower and emit C with.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use stencil_gen::emit_c::{dsl_path, CAbi};
use stencil_gen::model::DeclaredValues;
use uop_defs::Defs;

/// The reference definitions directory.
pub fn reference_defs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../uop-defs/defs")
}

fn defs() -> &'static Defs {
    static DEFS: OnceLock<Defs> = OnceLock::new();
    DEFS.get_or_init(|| {
        uop_defs::load_dir(&reference_defs_dir()).unwrap_or_else(|d| panic!("reference defs: {d}"))
    })
}

/// The hole values the reference VM declares: `oparg`, `operand` and
/// `deopt_target`, per op.
pub fn reference_values() -> &'static DeclaredValues {
    static VALUES: OnceLock<DeclaredValues> = OnceLock::new();
    VALUES.get_or_init(|| CAbi::declared_values(&defs().abi))
}

/// The reference ABI with `cache` stack values in registers.
pub fn reference_abi_with_cache(cache: u32) -> CAbi {
    let mut abi = defs().abi.clone();
    abi.cache = cache;
    CAbi::new(&abi, dsl_path(Path::new("uop-defs/defs/abi.uop")))
}

/// The reference ABI as the C templates use it.
pub fn reference_abi() -> &'static CAbi {
    static ABI: OnceLock<CAbi> = OnceLock::new();
    ABI.get_or_init(|| CAbi::new(&defs().abi, dsl_path(Path::new("uop-defs/defs/abi.uop"))))
}
