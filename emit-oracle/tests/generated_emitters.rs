//! The generated per-stencil emit functions against the table-driven
//! emitter: random traces over every committed table, at random bases,
//! give the same bytes and the same errors both ways.

use emit_oracle::Case;
use runtime::{emit, emit_reference, EmitError, Layout, StencilTable};

const CASES: usize = 4000;

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

/// Emits `case` with both emitters into buffers filled alike.
fn both(case: &Case, layout: &Layout, base: u64) -> [(Result<(), EmitError>, Vec<u8>); 2] {
    let run = |generated: bool| {
        let mut buf = vec![case.fill; layout.len + case.slack];
        let result = if generated {
            emit(case.table, &case.ops, layout, &case.symbols, &mut buf, base)
        } else {
            emit_reference(case.table, &case.ops, layout, &case.symbols, &mut buf, base)
        };
        (result, buf)
    };
    [run(true), run(false)]
}

fn run(table: &'static StencilTable, seed: u64) {
    assert!(table.emitters.is_some(), "{} has no emitters", table.target);
    let mut random = Random(seed);
    let (mut emitted, mut refused) = (0, 0);
    for i in 0..CASES {
        let case = Case::new(table, &random.bytes(400));
        let Ok(layout) = Layout::with_data_start_align(table, &case.ops, case.data_start_align)
        else {
            continue;
        };
        let align = layout.align.max(1) as u64;
        for base in [case.base, case.base.wrapping_add(case.rebase)] {
            let base = if case.aligned {
                base & !(align - 1)
            } else {
                base | 1
            };
            let [(fast, fast_bytes), (reference, reference_bytes)] = both(&case, &layout, base);
            assert_eq!(
                fast, reference,
                "{}: case {i} at {base:#x}: the emitters disagree on the result",
                table.target
            );
            if fast.is_ok() {
                emitted += 1;
                assert!(
                    fast_bytes == reference_bytes,
                    "{}: case {i} at {base:#x}: the emitters wrote different bytes",
                    table.target
                );
            } else {
                refused += 1;
            }
        }
    }
    // Both outcomes were compared many times.
    assert!(
        emitted > CASES / 2,
        "{}: only {emitted} emitted",
        table.target
    );
    assert!(
        refused > CASES / 50,
        "{}: only {refused} refused",
        table.target
    );
}

macro_rules! tables {
    ($($test:ident: $module:ident,)*) => {$(
        #[test]
        fn $test() {
            run(&generated::$module::TABLE, 0xE417_0000 ^ stringify!($module).len() as u64);
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
    assert_eq!(generated::TABLES.len(), 8);
}

/// With every address near and every value small, each generated function
/// patches in place and never defers to the table-driven emitter: the
/// comparison above is between two real emitters.
#[test]
fn every_generated_function_patches_in_place_when_everything_reaches() {
    const BASE: u64 = 0x1000_0000;
    for table in generated::TABLES {
        let emitters = table.emitters.unwrap();
        let symbols = vec![BASE + 0x10_0000; table.symbols.len()];
        let values = [7; runtime::MAX_OP_VALUES];
        let stencils = std::iter::once((&table.shim, emitters.shim, None)).chain(
            table
                .uops
                .iter()
                .zip(emitters.uops)
                .map(|(s, &f)| (s, f, Some(&values))),
        );
        let mut count = 0;
        for (i, (stencil, emit_fn, values)) in stencils.enumerate() {
            let mut code = vec![0; stencil.code.len()];
            let mut data = vec![0; stencil.data.len()];
            let place = runtime::emit::generated::Place {
                code: BASE,
                data: BASE + 0x8000,
                continuation: BASE + 0x100,
                jump_target: Some(BASE + 0x200),
                values,
                symbols: &symbols,
            };
            assert!(
                emit_fn(&mut code, &mut data, &place),
                "{}: stencil {i} deferred to the table-driven emitter",
                table.target
            );
            // A buffer of another length is refused, not overrun.
            let mut longer = vec![0; stencil.code.len() + 1];
            assert!(!emit_fn(&mut longer, &mut data, &place));
            count += 1;
        }
        assert_eq!(count, table.uops.len() + 1);
    }
}
