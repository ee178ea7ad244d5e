//! Everything that differs between targets, as data in one place.

use runtime::Arch;

/// Object file format of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Elf,
}

/// A target triple the toolchain builds stencils for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// The full triple passed to clang, e.g. `aarch64-unknown-linux-gnu`.
    pub triple: &'static str,
    /// The short name accepted on the command line, e.g. `aarch64`.
    pub short: &'static str,
    pub arch: Arch,
    pub format: Format,
    /// Flags on top of the common ones (see `toolchain`).
    pub clang_flags: &'static [&'static str],
    /// Prefix the format puts before C symbol names (`_` on Mach-O).
    pub symbol_prefix: &'static str,
    /// Alignment of each stencil's code in a trace.
    pub code_align: u32,
    /// Name of the module and manifest in `generated/` (the triple with
    /// `-` replaced by `_`).
    pub module: &'static str,
}

pub const X86_64_LINUX: Target = Target {
    triple: "x86_64-unknown-linux-gnu",
    short: "x86_64",
    arch: Arch::X86_64,
    format: Format::Elf,
    // GOT loads for values and helpers, relaxed by the patcher.
    clang_flags: &["-fpic", "-fno-plt", "-mcmodel=small"],
    symbol_prefix: "",
    code_align: 1,
    module: "x86_64_unknown_linux_gnu",
};

pub const AARCH64_LINUX: Target = Target {
    triple: "aarch64-unknown-linux-gnu",
    short: "aarch64",
    arch: Arch::Aarch64,
    format: Format::Elf,
    clang_flags: &["-fpic", "-fno-plt", "-mno-outline-atomics"],
    symbol_prefix: "",
    code_align: 4,
    module: "aarch64_unknown_linux_gnu",
};

/// Every supported target, in the order output is generated.
pub const ALL: &[Target] = &[AARCH64_LINUX, X86_64_LINUX];

impl Target {
    /// Look a target up by short name or full triple.
    pub fn find(name: &str) -> Option<&'static Target> {
        ALL.iter().find(|t| t.short == name || t.triple == name)
    }
}
