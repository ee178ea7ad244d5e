//! How a target's code is entered and how it calls the VM's helpers: the
//! calling convention of the shim and of helper calls, chosen from the
//! stencil table's target in one place.

use runtime::{Arch, StencilTable};

/// The calling convention of a target's shim and of its calls to helpers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryAbi {
    /// The platform's C convention: System V on x86-64 Linux and macOS,
    /// AAPCS64 (and Apple's and Windows' variants, which agree for these
    /// signatures), RISC-V LP64D, i686 cdecl.
    C,
    /// The Windows x64 convention.
    Win64,
}

/// The targets whose convention is not C, by architecture and by a `-`
/// separated component of the triple (the OS).
const NON_C_ABIS: &[(Arch, &str, EntryAbi)] = &[(Arch::X86_64, "windows", EntryAbi::Win64)];

impl EntryAbi {
    /// The convention of code built for `triple` on `arch`.
    pub fn for_target(arch: Arch, triple: &str) -> EntryAbi {
        NON_C_ABIS
            .iter()
            .find(|(a, os, _)| *a == arch && triple.split('-').any(|part| part == *os))
            .map_or(EntryAbi::C, |(_, _, abi)| *abi)
    }

    /// The convention of `table`'s code.
    pub fn of(table: &StencilTable) -> EntryAbi {
        EntryAbi::for_target(table.arch, table.target)
    }

    /// Whether code of this convention can be called on this host (given
    /// code for its instruction set).
    pub fn callable_here(self) -> bool {
        match self {
            EntryAbi::C => true,
            EntryAbi::Win64 => cfg!(target_arch = "x86_64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_x64_alone_is_win64() {
        let cases = [
            (Arch::X86_64, "x86_64-unknown-linux-gnu", EntryAbi::C),
            (Arch::X86_64, "x86_64-apple-darwin", EntryAbi::C),
            (Arch::X86_64, "x86_64-pc-windows-msvc", EntryAbi::Win64),
            (Arch::Aarch64, "aarch64-pc-windows-msvc", EntryAbi::C),
            (Arch::Aarch64, "aarch64-apple-darwin", EntryAbi::C),
            (Arch::I686, "i686-pc-windows-msvc", EntryAbi::C),
            (Arch::Riscv64, "riscv64gc-unknown-linux-gnu", EntryAbi::C),
        ];
        for (arch, triple, abi) in cases {
            assert_eq!(EntryAbi::for_target(arch, triple), abi, "{triple}");
        }
    }
}
