//! The stencil optimizer: rewrites the assembly clang writes for one
//! stencil before it is assembled, so that the hot path falls into the
//! next stencil. Branches whose taken side is the continuation are
//! inverted, jumps to jumps threaded, the block that jumps to the
//! continuation moved last, and jumps to the continuation inside the
//! stencil aimed at its final jump, which lowering removes. What is not
//! understood (an unknown instruction set form, data in the code, more
//! than one function) leaves the assembly unchanged.

use sha2::{Digest, Sha256};

use crate::target::{Format, Target};
use runtime::Arch;

mod blocks;
mod isa;
mod passes;

use blocks::Syntax;
use passes::Names;

/// Bumped whenever the passes change what they write: part of the stencil
/// cache key and of the generated files' input digests, with the tables.
pub const VERSION: u32 = 1;

/// Name of the optimizer entry among the input digests.
pub const DIGEST_INPUT: &str = "stencil optimizer";

/// What the optimizer did to one stencil.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Branches and jumps retargeted past a jump.
    pub threaded: usize,
    /// Conditional branches inverted.
    pub inverted: usize,
    /// Blocks moved to the end to fall into the continuation.
    pub moved: usize,
    /// Jumps and branches to the instruction after them removed.
    pub removed: usize,
    /// Jumps to the continuation that became jumps inside the stencil.
    pub local_continuations: usize,
}

/// The result of optimizing one stencil's assembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Optimized {
    pub text: String,
    /// `None` when the assembly was left as it was.
    pub stats: Option<Stats>,
}

/// The digest of the optimizer: its version and every table.
pub fn digest() -> String {
    let mut hasher = Sha256::new();
    hasher.update(VERSION.to_le_bytes());
    for arch in [Arch::X86_64, Arch::Aarch64, Arch::Riscv64] {
        hasher.update(format!("{:?}", isa::of(arch)).as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The prefix of assembler-local labels on `target`.
fn local_prefix(target: &Target) -> &'static str {
    match (target.format, target.arch) {
        (Format::MachO, _) | (Format::Coff, Arch::I686) => "L",
        _ => ".L",
    }
}

/// Optimize `text`, the assembly of one stencil for `target`.
pub fn optimize(target: &Target, text: &str) -> Optimized {
    let unchanged = || Optimized {
        text: text.to_string(),
        stats: None,
    };
    let isa = isa::of(target.arch);
    let local_prefix = local_prefix(target);
    let entry = format!("{}_JIT_ENTRY", target.symbol_prefix);
    let syntax = Syntax {
        isa,
        local_prefix,
        entry: &entry,
    };
    let Some(mut function) = blocks::parse(&syntax, text) else {
        return unchanged();
    };
    let continuation = format!("{}_JIT_CONTINUE", target.symbol_prefix);
    let continue_label = format!("{local_prefix}stencil_continue");
    // A label of that name already would be a clash.
    if text.contains(&continue_label) {
        return unchanged();
    }
    let names = Names {
        isa,
        local_prefix,
        continuation: &continuation,
        continue_label: &continue_label,
    };
    let mut stats = Stats::default();
    let blocks = &mut function.blocks;
    if passes::route_continuations(blocks, &names) {
        stats.local_continuations = blocks
            .iter()
            .filter(|b| b.target() == Some(continue_label.as_str()))
            .count();
    }
    loop {
        let before = stats;
        passes::thread_jumps(blocks, &names, &mut stats);
        passes::invert_branches(blocks, &names, &mut stats);
        passes::move_continuation_blocks(blocks, &names, &mut stats);
        passes::remove_redundant_jumps(blocks, &names, &mut stats);
        if stats == before {
            break;
        }
    }
    Optimized {
        text: blocks::render(isa, local_prefix, &function),
        stats: Some(stats),
    }
}
