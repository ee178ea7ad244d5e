//! Everything that differs between targets, as data in one place.

use runtime::Arch;

/// Object file format of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Elf,
    MachO,
    Coff,
}

/// The C calling convention of a target: how the shim is entered and how
/// helpers are called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallingConvention {
    /// System V AMD64 (Linux, macOS on x86-64).
    SysV,
    /// Microsoft x64.
    Win64,
    /// AAPCS64 (Linux and Windows on aarch64).
    Aapcs64,
    /// Apple's variant of AAPCS64.
    Aapcs64Apple,
    /// RISC-V LP64D: 64-bit integers and doubles in registers.
    RiscvLp64d,
    /// 32-bit x86 cdecl: arguments on the stack, 64-bit results in
    /// `edx:eax`.
    I686Cdecl,
}

/// A target triple the toolchain builds stencils for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// The full triple, e.g. `aarch64-unknown-linux-gnu`, as Rust spells
    /// it: it names the stencil table.
    pub triple: &'static str,
    /// The triple passed to clang (`--target`): `triple` but where clang
    /// spells it differently (`riscv64gc` is `riscv64` to clang, the `gc`
    /// going to `-march`).
    pub clang_triple: &'static str,
    /// The short name accepted on the command line, e.g. `aarch64`.
    pub short: &'static str,
    pub arch: Arch,
    pub format: Format,
    /// Flags on top of the common ones (see `toolchain`).
    pub clang_flags: &'static [&'static str],
    /// Prefix the format puts before C symbol names (`_` on Mach-O and on
    /// 32-bit x86 COFF).
    pub symbol_prefix: &'static str,
    pub calling_convention: CallingConvention,
    /// Alignment of each stencil's code in a trace.
    pub code_align: u32,
    /// Name of the module and manifest in `generated/` (the triple with
    /// `-` replaced by `_`).
    pub module: &'static str,
}

pub const X86_64_LINUX: Target = Target {
    triple: "x86_64-unknown-linux-gnu",
    clang_triple: "x86_64-unknown-linux-gnu",
    short: "x86_64",
    arch: Arch::X86_64,
    format: Format::Elf,
    // GOT loads for values and helpers, relaxed by the patcher.
    clang_flags: &["-fpic", "-fno-plt", "-mcmodel=small"],
    symbol_prefix: "",
    calling_convention: CallingConvention::SysV,
    code_align: 1,
    module: "x86_64_unknown_linux_gnu",
};

pub const AARCH64_LINUX: Target = Target {
    triple: "aarch64-unknown-linux-gnu",
    clang_triple: "aarch64-unknown-linux-gnu",
    short: "aarch64",
    arch: Arch::Aarch64,
    format: Format::Elf,
    clang_flags: &["-fpic", "-fno-plt", "-mno-outline-atomics"],
    symbol_prefix: "",
    calling_convention: CallingConvention::Aapcs64,
    code_align: 4,
    module: "aarch64_unknown_linux_gnu",
};

pub const X86_64_APPLE: Target = Target {
    triple: "x86_64-apple-darwin",
    clang_triple: "x86_64-apple-darwin",
    short: "x86_64-macos",
    arch: Arch::X86_64,
    format: Format::MachO,
    // Mach-O code is always position independent: values are GOT loads,
    // helpers direct calls. The minimum OS is pinned, or clang would take
    // it from $MACOSX_DEPLOYMENT_TARGET.
    clang_flags: &["-mmacos-version-min=11.0"],
    symbol_prefix: "_",
    calling_convention: CallingConvention::SysV,
    code_align: 1,
    module: "x86_64_apple_darwin",
};

pub const AARCH64_APPLE: Target = Target {
    triple: "aarch64-apple-darwin",
    clang_triple: "aarch64-apple-darwin",
    short: "aarch64-macos",
    arch: Arch::Aarch64,
    format: Format::MachO,
    clang_flags: &["-mmacos-version-min=11.0", "-mno-outline-atomics"],
    symbol_prefix: "_",
    calling_convention: CallingConvention::Aapcs64Apple,
    code_align: 4,
    module: "aarch64_apple_darwin",
};

pub const X86_64_WINDOWS: Target = Target {
    triple: "x86_64-pc-windows-msvc",
    clang_triple: "x86_64-pc-windows-msvc",
    short: "x86_64-windows",
    arch: Arch::X86_64,
    format: Format::Coff,
    // COFF code is RIP-relative, so position independent without `-fpic`
    // (which clang rejects here); values are read from `.refptr` slots,
    // helpers called directly. No `__chkstk` calls: the VM has none.
    clang_flags: &["-mno-stack-arg-probe"],
    symbol_prefix: "",
    calling_convention: CallingConvention::Win64,
    code_align: 1,
    module: "x86_64_pc_windows_msvc",
};

pub const AARCH64_WINDOWS: Target = Target {
    triple: "aarch64-pc-windows-msvc",
    clang_triple: "aarch64-pc-windows-msvc",
    short: "aarch64-windows",
    arch: Arch::Aarch64,
    format: Format::Coff,
    clang_flags: &["-mno-stack-arg-probe", "-mno-outline-atomics"],
    symbol_prefix: "",
    calling_convention: CallingConvention::Aapcs64,
    code_align: 4,
    module: "aarch64_pc_windows_msvc",
};

pub const I686_WINDOWS: Target = Target {
    triple: "i686-pc-windows-msvc",
    clang_triple: "i686-pc-windows-msvc",
    short: "i686-windows",
    arch: Arch::I686,
    format: Format::Coff,
    // SSE2 doubles round exactly as IEEE double; x87 would not. Code is
    // absolute (no PIC on i686 COFF): addresses are 32-bit absolute holes.
    clang_flags: &["-msse2", "-mfpmath=sse", "-mno-stack-arg-probe"],
    symbol_prefix: "_",
    calling_convention: CallingConvention::I686Cdecl,
    code_align: 1,
    module: "i686_pc_windows_msvc",
};

pub const RISCV64_LINUX: Target = Target {
    triple: "riscv64gc-unknown-linux-gnu",
    clang_triple: "riscv64-unknown-linux-gnu",
    short: "riscv64",
    arch: Arch::Riscv64,
    format: Format::Elf,
    // No linker relaxation: every relocation stays a plain hole. Values
    // through the GOT, calls as `auipc`+`jalr` pairs.
    clang_flags: &[
        "-march=rv64gc",
        "-mabi=lp64d",
        "-mno-relax",
        "-fpic",
        "-fno-plt",
        "-mcmodel=medany",
    ],
    symbol_prefix: "",
    calling_convention: CallingConvention::RiscvLp64d,
    // Compressed instructions make code 2-byte granular; stencils fall
    // through into each other, so no padding may come between them.
    code_align: 2,
    module: "riscv64gc_unknown_linux_gnu",
};

/// Every supported target, in the order output is generated.
pub const ALL: &[Target] = &[
    AARCH64_LINUX,
    X86_64_LINUX,
    AARCH64_APPLE,
    X86_64_APPLE,
    AARCH64_WINDOWS,
    X86_64_WINDOWS,
    I686_WINDOWS,
    RISCV64_LINUX,
];

impl Target {
    /// Look a target up by short name or full triple.
    pub fn find(name: &str) -> Option<&'static Target> {
        ALL.iter().find(|t| t.short == name || t.triple == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_modules_follow_the_triples() {
        for (i, target) in ALL.iter().enumerate() {
            assert_eq!(target.module, target.triple.replace('-', "_"));
            for other in &ALL[i + 1..] {
                assert_ne!(target.short, other.short);
                assert_ne!(target.triple, other.triple);
            }
            assert_eq!(Target::find(target.short), Some(target));
            assert_eq!(Target::find(target.triple), Some(target));
        }
        // The short names of the Linux targets stay what they were.
        assert_eq!(Target::find("x86_64"), Some(&X86_64_LINUX));
        assert_eq!(Target::find("aarch64"), Some(&AARCH64_LINUX));
        assert_eq!(Target::find("riscv64-unknown-linux-gnu"), None);
    }

    #[test]
    fn conventions_and_prefixes_fit_the_format_and_instruction_set() {
        for target in ALL {
            let prefix = match (target.format, target.arch) {
                (Format::MachO, _) | (Format::Coff, Arch::I686) => "_",
                _ => "",
            };
            assert_eq!(target.symbol_prefix, prefix, "{}", target.triple);
            let convention = match (target.arch, target.format) {
                (Arch::X86_64, Format::Coff) => CallingConvention::Win64,
                (Arch::X86_64, _) => CallingConvention::SysV,
                (Arch::Aarch64, Format::MachO) => CallingConvention::Aapcs64Apple,
                (Arch::Aarch64, _) => CallingConvention::Aapcs64,
                (Arch::I686, _) => CallingConvention::I686Cdecl,
                (Arch::Riscv64, _) => CallingConvention::RiscvLp64d,
            };
            assert_eq!(target.calling_convention, convention, "{}", target.triple);
            // Fixed-size instructions keep their alignment.
            let align = match target.arch {
                Arch::X86_64 | Arch::I686 => 1,
                Arch::Aarch64 => 4,
                Arch::Riscv64 => 2,
            };
            assert_eq!(target.code_align, align, "{}", target.triple);
        }
    }
}
