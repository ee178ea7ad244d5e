//! Digests of every input that decides the generated output: the DSL files,
//! the templates, the clang flags, the LLVM version and the stencil optimizer. The written files
//! record them so a stale output is visible in review and in CI.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::optimize;
use crate::target::Target;
use crate::toolchain;

/// Every template the generator renders, by its path in the repository.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "stencil-gen/templates/lib.rs",
        include_str!("../templates/lib.rs"),
    ),
    (
        "stencil-gen/templates/prologue.c",
        include_str!("../templates/prologue.c"),
    ),
    (
        "stencil-gen/templates/shim.c",
        include_str!("../templates/shim.c"),
    ),
    (
        "stencil-gen/templates/table.rs",
        include_str!("../templates/table.rs"),
    ),
    (
        "stencil-gen/templates/uop.c",
        include_str!("../templates/uop.c"),
    ),
];

/// Name of the flags entry among the input digests.
pub const FLAGS_INPUT: &str = "clang flags";
/// Name of the LLVM version entry among the input digests.
pub const LLVM_INPUT: &str = "llvm version";

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of each input and of all of them together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputDigests {
    /// Input name (a repository path, or [`FLAGS_INPUT`] / [`LLVM_INPUT`])
    /// to its digest.
    pub inputs: BTreeMap<String, String>,
    /// The digest over every entry of `inputs`.
    pub combined: String,
}

impl InputDigests {
    /// The digests for one target. `dsl_files` are (path as written into the
    /// output, content); `llvm_version` is clang's full version, e.g.
    /// `19.1.7`, followed by llvm-objdump's when that is another
    /// (`22.1.8, llvm-objdump 19.1.7`).
    pub fn for_target(
        dsl_files: &[(String, Vec<u8>)],
        target: &Target,
        llvm_version: &str,
    ) -> InputDigests {
        let mut inputs = BTreeMap::new();
        for (path, content) in dsl_files {
            // The path is part of the input: it reaches `#line` and the output.
            let mut hasher = Sha256::new();
            hasher.update(path.as_bytes());
            hasher.update([0]);
            hasher.update(content);
            inputs.insert(path.clone(), hex(&hasher.finalize()));
        }
        for (path, source) in TEMPLATES {
            inputs.insert(path.to_string(), sha256_hex(source.as_bytes()));
        }
        let flags = toolchain::compile_args(target).join("\n");
        inputs.insert(FLAGS_INPUT.to_string(), sha256_hex(flags.as_bytes()));
        inputs.insert(LLVM_INPUT.to_string(), sha256_hex(llvm_version.as_bytes()));
        inputs.insert(optimize::DIGEST_INPUT.to_string(), optimize::digest());
        let combined = combine(&inputs);
        InputDigests { inputs, combined }
    }
}

/// One digest over named digests, in name order.
fn combine(inputs: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (name, digest) in inputs {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(digest.as_bytes());
        hasher.update([b'\n']);
    }
    hex(&hasher.finalize())
}
