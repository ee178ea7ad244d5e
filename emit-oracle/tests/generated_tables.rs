//! The emission oracle over every committed stencil table: a few thousand
//! random traces each, from a fixed seed, so every run checks the same
//! traces and a failure reproduces.

use std::collections::BTreeSet;

use emit_oracle::{check, Case, Outcome, Stats};
use runtime::{Arch, HoleKind, HoleValue, StencilTable};

/// xorshift64*.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const CASES: usize = 3000;

/// Every hole kind the table's stencils use.
fn kinds(table: &StencilTable) -> BTreeSet<HoleKind> {
    std::iter::once(&table.shim)
        .chain(table.uops)
        .flat_map(|stencil| stencil.code_holes.iter().chain(stencil.data_holes))
        .map(|hole| hole.kind)
        .collect()
}

/// Whether a code hole calls a symbol with a branch that has a trampoline
/// (not through a GOT slot).
fn calls_symbols_directly(table: &StencilTable) -> bool {
    let kind = match table.arch {
        Arch::X86_64 => HoleKind::PcRel32,
        Arch::Aarch64 => HoleKind::Aarch64Branch26,
        Arch::Riscv64 => HoleKind::Riscv64Call,
        Arch::I686 => return false,
    };
    std::iter::once(&table.shim)
        .chain(table.uops)
        .flat_map(|stencil| stencil.code_holes)
        .any(|hole| hole.kind == kind && matches!(hole.value, HoleValue::Symbol(_)))
}

fn run(table: &'static StencilTable, seed: u64) {
    let mut random = Random(seed);
    let mut stats = Stats::default();
    let mut emitted = 0;
    for _ in 0..CASES {
        let case = Case::new(table, &random.bytes(400));
        match check(&case, &mut stats) {
            Ok(Outcome::Emitted) => emitted += 1,
            Ok(Outcome::Refused(_) | Outcome::NoLayout(_)) => {}
            Err(failure) => panic!("{failure}"),
        }
    }
    // The oracle checked something: most traces emit, every hole kind of
    // the table was read back, trampolines and GOT relaxations were taken.
    assert!(
        emitted > CASES / 3,
        "{}: only {emitted} of {CASES} traces emitted",
        table.target
    );
    for kind in kinds(table) {
        assert!(
            stats.holes.contains_key(&kind),
            "{}: no {kind:?} hole checked",
            table.target
        );
    }
    if calls_symbols_directly(table) {
        assert!(
            stats.trampolines > 0,
            "{}: no trampoline taken",
            table.target
        );
    }
    let kinds = kinds(table);
    if kinds.contains(&HoleKind::X86_64GotLoad) || kinds.contains(&HoleKind::X86_64GotLoadNoRex) {
        assert!(stats.relaxed > 0, "{}: no GOT load relaxed", table.target);
    }
}

macro_rules! tables {
    ($($test:ident: $module:ident,)*) => {$(
        #[test]
        fn $test() {
            run(&generated::$module::TABLE, 0x5EED_0000 ^ stringify!($module).len() as u64);
        }
    )*};
}

tables! {
    aarch64_linux: aarch64_unknown_linux_gnu,
    x86_64_linux: x86_64_unknown_linux_gnu,
    aarch64_macos: aarch64_apple_darwin,
    x86_64_macos: x86_64_apple_darwin,
    aarch64_windows: aarch64_pc_windows_msvc,
    x86_64_windows: x86_64_pc_windows_msvc,
    i686_windows: i686_pc_windows_msvc,
    riscv64_linux: riscv64gc_unknown_linux_gnu,
}

#[test]
fn every_table_is_tested() {
    // Each table above is one test; a new target needs a line there.
    assert_eq!(generated::TABLES.len(), 8);
}
