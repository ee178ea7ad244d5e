//! Real uops compiled by clang 19 the way the generator compiles them.

#[allow(unused_imports)]
use crate::abi_support::{reference_abi_with_cache, reference_values};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use stencil_gen::emit_c;
use stencil_gen::target::Target;
use stencil_gen::toolchain::{Toolchain, PINNED_LLVM_MAJOR};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn toolchain() -> &'static Toolchain {
    static TOOLCHAIN: OnceLock<Toolchain> = OnceLock::new();
    TOOLCHAIN
        .get_or_init(|| Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}")))
}

/// The object clang 19 makes of uop `name` of `uop-defs/defs/<file>` for
/// `target`.
pub fn uop_object(target: &Target, file: &str, name: &str) -> Vec<u8> {
    let path = workspace_root().join("uop-defs/defs").join(file);
    let text = std::fs::read_to_string(&path).expect("read the uop definitions");
    let mut defs = uop_defs::parse(&path, &text).unwrap_or_else(|d| panic!("{d}"));
    // As the pipeline does: paths relative to the workspace root.
    defs.path = Path::new("uop-defs/defs").join(file);
    let uop = defs
        .uops
        .iter()
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("no uop {name} in {file}"));
    // The stack all in memory: the stencils these tests describe byte by
    // byte are the uops' plain form, without registers carried across.
    let abi = reference_abi_with_cache(0);
    let unit = emit_c::emit_uop(&abi, &defs, uop).unwrap_or_else(|e| panic!("{e}"));
    toolchain()
        .compile(target, &unit)
        .unwrap_or_else(|e| panic!("{e}"))
        .object
}
