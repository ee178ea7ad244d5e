//! A random trace to emit: the ops, the helpers' addresses, the base
//! address and the buffer, all read from a byte string, so that a fuzzer's
//! input and a seeded generator's output describe cases the same way.

use runtime::{Arch, StencilTable, TraceOp};

/// Everything one emission is given.
#[derive(Clone, Debug)]
pub struct Case {
    pub table: &'static StencilTable,
    pub ops: Vec<TraceOp>,
    /// Address of each of the table's symbols; may be one short.
    pub symbols: Vec<u64>,
    /// Where the trace goes, before it is aligned as its layout requires.
    pub base: u64,
    /// Whether the base is aligned to the layout (or made misaligned on
    /// purpose).
    pub aligned: bool,
    /// Added to the base (then aligned) for a second emission with the same
    /// layout.
    pub rebase: u64,
    /// Whether the layout is recomputed in place of another trace's.
    pub reuse_layout: bool,
    /// Alignment of the start of the data; sometimes not a power of two.
    pub data_start_align: usize,
    /// What the buffer holds before emission.
    pub fill: u8,
    /// Bytes the buffer has past the layout's length, which emission must
    /// not touch.
    pub slack: usize,
}

/// Reads numbers from a byte string, then zeros once it runs out (so a
/// short input makes the common choices: rare ones are the high numbers).
pub struct Bytes<'a> {
    bytes: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Bytes { bytes }
    }

    pub fn u8(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&first, rest)) => {
                self.bytes = rest;
                first
            }
            None => 0,
        }
    }

    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0, |value, _| value << 8 | u64::from(self.u8()))
    }

    /// A number below `n` (which must not be 0).
    pub fn below(&mut self, n: u64) -> u64 {
        let wide = u64::from(self.u8()) << 8 | u64::from(self.u8());
        wide % n
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Address ranges a trace is mapped in: low, in the middle and at the top
/// of a 47-bit user space, just under 4 GiB, and anywhere.
const BASES: &[u64] = &[
    0x0001_0000,
    0x0040_0000,
    0xFFF0_0000,
    0x5555_5555_0000,
    0x7F00_0000_0000,
    0x7FFF_FF00_0000,
];

/// Distances of a helper from the trace, in and out of every branch's reach.
const DISTANCES: &[u64] = &[
    0,
    0x1000,
    0x7FF_0000,     // just inside ±128 MiB
    0x800_1000,     // just outside ±128 MiB
    0x7FFF_0000,    // just inside ±2 GiB
    0x8000_1000,    // just outside ±2 GiB
    0x10_0000_0000, // 64 GiB
];

fn number(bytes: &mut Bytes<'_>, interesting: &[u64]) -> u64 {
    if bytes.below(4) == 3 {
        bytes.u64()
    } else {
        bytes.pick(interesting)
    }
}

impl Case {
    /// A case for `table`, described by `input`.
    pub fn new(table: &'static StencilTable, input: &[u8]) -> Case {
        let mut bytes = Bytes::new(input);
        let uops = table.info.len() as u64;
        let len = bytes.below(24);
        let ops = (0..len)
            .map(|_| TraceOp {
                // Now and then a uop the table does not have.
                uop: match bytes.below(64) {
                    63 => (uops + bytes.below(3)) as u16,
                    _ => bytes.below(uops) as u16,
                },
                // Now and then a variant the uop does not have.
                variant: match bytes.below(64) {
                    63 => table.cache + 1,
                    _ => bytes.below(u64::from(table.cache) + 1) as u8,
                },
                values: [
                    number(
                        &mut bytes,
                        &[0, 1, 7, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF],
                    ),
                    number(
                        &mut bytes,
                        &[
                            0,
                            1,
                            0x7FFF_FFFF,
                            0x8000_0000,
                            0xFFFF_FFFF,
                            u64::MAX,
                            1 << 63,
                        ],
                    ),
                    // By convention a program counter: mostly small.
                    match bytes.below(16) {
                        15 => bytes.u64(),
                        _ => bytes.below(0x1_0000),
                    },
                    bytes.u64(),
                ],
                // Now and then past the last op.
                jump_target: match bytes.below(32) {
                    31 => (len + bytes.below(2)) as u32,
                    _ => bytes.below(len.max(1)) as u32,
                },
            })
            .collect();
        let base = match bytes.below(8) {
            0 => bytes.u64(),
            1 => bytes.u64() & 0xFFFF_FFFF,
            _ => bytes.pick(BASES) + (bytes.below(0x1_0000) << 4),
        };
        // i686 addresses are 32 bits; mostly keep the trace there.
        let base = if table.arch == Arch::I686 && bytes.below(4) != 0 {
            base & 0xFFFF_FFFF
        } else {
            base
        };
        let mut symbols: Vec<u64> = (0..table.symbols.len())
            .map(|_| {
                let distance = bytes.pick(DISTANCES) + (bytes.below(0x100) << 4);
                let address = match bytes.below(6) {
                    5 => bytes.u64(),
                    3 | 4 => base.wrapping_sub(distance),
                    _ => base.wrapping_add(distance),
                };
                if table.arch == Arch::I686 && bytes.below(8) != 7 {
                    address & 0xFFFF_FFFF
                } else {
                    address
                }
            })
            .collect();
        if bytes.below(32) == 31 {
            symbols.pop();
        }
        let data_start_align = match bytes.below(16) {
            15 => 0x1000,
            14 => 1 << bytes.below(20),
            13 => 24,
            _ => 16,
        };
        Case {
            table,
            ops,
            symbols,
            base,
            aligned: bytes.below(32) != 31,
            data_start_align,
            rebase: match bytes.below(4) {
                3 => bytes.u64(),
                2 => bytes.pick(DISTANCES).wrapping_neg(),
                _ => bytes.pick(DISTANCES),
            },
            reuse_layout: bytes.below(2) == 1,
            fill: bytes.u8(),
            slack: bytes.below(16) as usize,
        }
    }

    /// A case for one of `tables`, the first byte choosing which.
    pub fn from_fuzz(tables: &[&'static StencilTable], input: &[u8]) -> Option<Case> {
        let (&first, rest) = input.split_first()?;
        let table = tables.get(usize::from(first) % tables.len())?;
        Some(Case::new(table, rest))
    }
}
