//! What the optimizer knows of each instruction set's assembly, as data:
//! branch mnemonics and their inverses, jumps, terminators, comment syntax.

use runtime::Arch;

/// The assembly syntax and control flow instructions of one instruction set.
#[derive(Debug)]
pub struct Isa {
    /// Conditional branches, each with the branch taken exactly when it is
    /// not.
    pub branches: &'static [(&'static str, &'static str)],
    /// The unconditional jump to a label in the same stencil.
    pub local_jump: &'static str,
    /// The unconditional jump to a symbol (a tail call).
    pub far_jump: &'static str,
    /// Every mnemonic that is an unconditional direct jump.
    pub jumps: &'static [&'static str],
    /// Instructions after which control never falls through.
    pub terminators: &'static [&'static str],
    /// Mnemonic prefixes of control flow the optimizer does not model: a
    /// stencil using one is left as it is.
    pub unknown_control: &'static [&'static str],
    /// Whether a conditional branch may target a symbol outside the stencil
    /// (the lowering has a hole kind for it).
    pub branch_to_symbol: bool,
    /// Line comment markers.
    pub comments: &'static [&'static str],
}

impl Isa {
    /// The inverse of conditional branch `mnemonic`, if it is one.
    pub fn inverse(&self, mnemonic: &str) -> Option<&'static str> {
        self.branches
            .iter()
            .find_map(|&(m, inv)| (m == mnemonic).then_some(inv))
    }
}

pub const X86: Isa = Isa {
    branches: &[
        ("ja", "jbe"),
        ("jae", "jb"),
        ("jb", "jae"),
        ("jbe", "ja"),
        ("jc", "jnc"),
        ("jnc", "jc"),
        ("je", "jne"),
        ("jne", "je"),
        ("jz", "jnz"),
        ("jnz", "jz"),
        ("jg", "jle"),
        ("jge", "jl"),
        ("jl", "jge"),
        ("jle", "jg"),
        ("jo", "jno"),
        ("jno", "jo"),
        ("jp", "jnp"),
        ("jnp", "jp"),
        ("js", "jns"),
        ("jns", "js"),
    ],
    local_jump: "jmp",
    far_jump: "jmp",
    jumps: &["jmp"],
    terminators: &["ret", "retq", "retl", "ud2", "hlt"],
    // `jmp *%rax`, `jrcxz`, `loop` and any other `j` form.
    unknown_control: &["j", "loop"],
    branch_to_symbol: true,
    comments: &["#"],
};

pub const AARCH64: Isa = Isa {
    branches: &[
        ("b.eq", "b.ne"),
        ("b.ne", "b.eq"),
        ("b.hs", "b.lo"),
        ("b.lo", "b.hs"),
        ("b.cs", "b.cc"),
        ("b.cc", "b.cs"),
        ("b.mi", "b.pl"),
        ("b.pl", "b.mi"),
        ("b.vs", "b.vc"),
        ("b.vc", "b.vs"),
        ("b.hi", "b.ls"),
        ("b.ls", "b.hi"),
        ("b.ge", "b.lt"),
        ("b.lt", "b.ge"),
        ("b.gt", "b.le"),
        ("b.le", "b.gt"),
        ("cbz", "cbnz"),
        ("cbnz", "cbz"),
        ("tbz", "tbnz"),
        ("tbnz", "tbz"),
    ],
    local_jump: "b",
    far_jump: "b",
    jumps: &["b"],
    terminators: &["ret", "br", "brk", "udf", "hlt"],
    unknown_control: &["b.", "bc.", "braa", "brab", "reta"],
    // A conditional branch to a symbol would need a 19-bit hole.
    branch_to_symbol: false,
    comments: &["//", ";"],
};

pub const RISCV64: Isa = Isa {
    branches: &[
        ("beq", "bne"),
        ("bne", "beq"),
        ("blt", "bge"),
        ("bge", "blt"),
        ("bltu", "bgeu"),
        ("bgeu", "bltu"),
        ("bgt", "ble"),
        ("ble", "bgt"),
        ("bgtu", "bleu"),
        ("bleu", "bgtu"),
        ("beqz", "bnez"),
        ("bnez", "beqz"),
        ("bltz", "bgez"),
        ("bgez", "bltz"),
        ("blez", "bgtz"),
        ("bgtz", "blez"),
    ],
    // `tail` to a label would leave a call relocation against it.
    local_jump: "j",
    far_jump: "tail",
    jumps: &["j", "tail"],
    terminators: &["ret", "jr", "ebreak", "unimp"],
    // `jal`/`jalr` with a destination register are calls; the forms that
    // jump without linking, and compressed mnemonics, are not modelled.
    unknown_control: &["jal zero", "jal x0", "jalr zero", "jalr x0", "c."],
    branch_to_symbol: false,
    comments: &["#"],
};

/// The table of `arch`.
pub fn of(arch: Arch) -> &'static Isa {
    match arch {
        Arch::X86_64 | Arch::I686 => &X86,
        Arch::Aarch64 => &AARCH64,
        Arch::Riscv64 => &RISCV64,
    }
}
