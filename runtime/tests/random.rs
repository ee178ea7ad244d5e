//! Emission of random stencil tables: never a panic, and every byte of the
//! trace written.

use runtime::{
    emit, layout, Arch, Hole, HoleKind, HoleValue, Stencil, StencilTable, TraceOp, UopInfo,
    ValueInfo,
};

static OP_VALUES: [ValueInfo; 3] = [
    ValueInfo {
        name: "a",
        bits: 32,
    },
    ValueInfo {
        name: "b",
        bits: 64,
    },
    ValueInfo {
        name: "c",
        bits: 64,
    },
];

/// xorshift64*: deterministic, so a failure always reproduces.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const KINDS: &[HoleKind] = &[
    HoleKind::Abs64,
    HoleKind::Abs32,
    HoleKind::Abs32Signed,
    HoleKind::PcRel32,
    HoleKind::X86Branch32,
    HoleKind::PcRel64,
    HoleKind::X86_64GotLoad,
    HoleKind::X86_64GotLoadNoRex,
    HoleKind::X86_64GotLoadUnrelaxed,
    HoleKind::Aarch64Branch26,
    HoleKind::Aarch64Branch19,
    HoleKind::Aarch64Branch14,
    HoleKind::Aarch64AdrpPage21,
    HoleKind::Aarch64Adr21,
    HoleKind::Aarch64PageOffset12 { scale: 0 },
    HoleKind::Aarch64PageOffset12 { scale: 3 },
    HoleKind::Aarch64PageOffset12 { scale: 5 },
    HoleKind::Aarch64MovWide { group: 1 },
    HoleKind::Aarch64MovWide { group: 4 },
    HoleKind::Riscv64Hi20,
    HoleKind::Riscv64Lo12I,
    HoleKind::Riscv64Lo12S,
    HoleKind::Riscv64PcRelHi20,
    HoleKind::Riscv64PcRelLo12I,
    HoleKind::Riscv64PcRelLo12S,
    HoleKind::Riscv64Call,
    HoleKind::Riscv64Branch,
    HoleKind::Riscv64Jal,
    HoleKind::Riscv64CBranch,
    HoleKind::Riscv64CJump,
];

const VALUES: &[HoleValue] = &[
    HoleValue::Code,
    HoleValue::Data,
    HoleValue::Continue,
    HoleValue::OpValue(0),
    HoleValue::OpValue(1),
    HoleValue::JumpTarget,
    HoleValue::OpValue(2),
    // Beyond the values a trace op carries: an error, never a panic.
    HoleValue::OpValue(7),
    HoleValue::Symbol(0),
    HoleValue::Symbol(1),
    HoleValue::Symbol(2),
    HoleValue::Zero,
];

/// Instruction bytes a GOT load of each kind may follow: mov (64 and 32
/// bits), call, jmp, or an instruction that is not relaxed.
const GOT_LOAD_PREFIXES: &[(HoleKind, &[u8])] = &[
    (HoleKind::X86_64GotLoad, &[0x48, 0x8B, 0x05]),
    (HoleKind::X86_64GotLoad, &[0x4C, 0x8B, 0x1D]),
    (HoleKind::X86_64GotLoad, &[0x44, 0x8B, 0x05]),
    (HoleKind::X86_64GotLoad, &[0x48, 0x03, 0x05]),
    (HoleKind::X86_64GotLoadNoRex, &[0x48, 0x8B, 0x0D]),
    (HoleKind::X86_64GotLoadNoRex, &[0x8B, 0x05]),
    (HoleKind::X86_64GotLoadNoRex, &[0xFF, 0x15]),
    (HoleKind::X86_64GotLoadNoRex, &[0xFF, 0x25]),
    (HoleKind::X86_64GotLoadNoRex, &[0x03, 0x05]),
    (HoleKind::X86_64GotLoadUnrelaxed, &[0x48, 0x8B, 0x05]),
];

fn is_got_load(kind: HoleKind) -> bool {
    matches!(
        kind,
        HoleKind::X86_64GotLoad | HoleKind::X86_64GotLoadNoRex | HoleKind::X86_64GotLoadUnrelaxed
    )
}

fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

/// A hole kind and value that usually patch fine on `arch`.
fn plausible(random: &mut Random, arch: Arch, shim: bool) -> (HoleKind, HoleValue, i64) {
    let in_trace = random.pick(if shim {
        &[HoleValue::Code, HoleValue::Data, HoleValue::Continue][..]
    } else {
        &[
            HoleValue::Code,
            HoleValue::Data,
            HoleValue::Continue,
            HoleValue::JumpTarget,
        ][..]
    });
    let number = random.pick(if shim {
        &[HoleValue::Zero][..]
    } else {
        &[
            HoleValue::OpValue(0),
            HoleValue::OpValue(2),
            HoleValue::Zero,
        ][..]
    });
    let symbol = HoleValue::Symbol(random.below(3) as u16);
    let target = random.pick(&[in_trace, symbol]);
    match (arch, random.below(5)) {
        (Arch::X86_64, 0) => (HoleKind::Abs64, random.pick(VALUES), 0),
        (Arch::X86_64, 1) => (HoleKind::X86Branch32, target, -4),
        (Arch::X86_64, 2) => (HoleKind::Abs32Signed, number, 0),
        (Arch::X86_64, _) => (random.pick(GOT_LOAD_PREFIXES).0, HoleValue::Data, -4),
        (Arch::Aarch64, 0) => (HoleKind::Aarch64Branch26, target, 0),
        (Arch::Aarch64, 1) => (
            random.pick(&[HoleKind::Aarch64Branch19, HoleKind::Aarch64Branch14]),
            in_trace,
            0,
        ),
        (Arch::Aarch64, 2) => (
            random.pick(&[HoleKind::Aarch64AdrpPage21, HoleKind::Aarch64Adr21]),
            random.pick(&[HoleValue::Data, HoleValue::Code]),
            random.pick(&[0, 8]),
        ),
        (Arch::Aarch64, 3) => (
            HoleKind::Aarch64PageOffset12 {
                scale: random.pick(&[0, 3]),
            },
            random.pick(&[HoleValue::Data, symbol]),
            random.pick(&[0, 8]),
        ),
        (Arch::Aarch64, _) => (
            HoleKind::Aarch64MovWide {
                group: random.below(4) as u8,
            },
            random.pick(VALUES),
            0,
        ),
        (Arch::I686, 0 | 1) => (HoleKind::Abs32, random.pick(&[in_trace, number]), 0),
        (Arch::I686, _) => (HoleKind::X86Branch32, target, -4),
        (Arch::Riscv64, 0) => (HoleKind::Riscv64Call, target, 0),
        (Arch::Riscv64, 1) => (
            random.pick(&[
                HoleKind::Riscv64Branch,
                HoleKind::Riscv64Jal,
                HoleKind::Riscv64CBranch,
                HoleKind::Riscv64CJump,
            ]),
            in_trace,
            0,
        ),
        (Arch::Riscv64, 2) => (
            random.pick(&[
                HoleKind::Riscv64PcRelHi20,
                HoleKind::Riscv64PcRelLo12I,
                HoleKind::Riscv64PcRelLo12S,
            ]),
            random.pick(&[HoleValue::Data, HoleValue::Code, symbol]),
            random.pick(&[0, 8, -4]),
        ),
        (Arch::Riscv64, _) => (
            random.pick(&[
                HoleKind::Riscv64Hi20,
                HoleKind::Riscv64Lo12I,
                HoleKind::Riscv64Lo12S,
            ]),
            random.pick(&[number, symbol, in_trace]),
            0,
        ),
    }
}

/// Holes that do not overlap (as a generator produces them), sometimes
/// running past the end of `bytes`; mostly plausible ones.
fn holes(
    random: &mut Random,
    arch: Arch,
    shim: bool,
    bytes: &mut [u8],
    data_len: usize,
    code: bool,
) -> Vec<Hole> {
    let mut holes = Vec::new();
    let mut at = 4 * random.below(2) as usize;
    let end = if random.below(10) == 0 {
        bytes.len() + 2
    } else {
        bytes.len().saturating_sub(7)
    };
    while at < end && holes.len() < 3 {
        let (kind, mut value, mut addend) = if random.below(10) == 0 {
            let addend = random.pick(&[0, -4, 4, 8, 0x7FFF_FFFF, i64::MIN]);
            (random.pick(KINDS), random.pick(VALUES), addend)
        } else {
            plausible(random, arch, shim)
        };
        if !code && is_got_load(kind) {
            value = HoleValue::Zero;
        }
        if code && is_got_load(kind) {
            // Mostly an instruction written for the kind, sometimes one
            // written for another.
            let prefixes: Vec<&[u8]> = GOT_LOAD_PREFIXES
                .iter()
                .filter(|(k, _)| *k == kind || random.below(8) == 0)
                .map(|&(_, prefix)| prefix)
                .collect();
            let prefix = random.pick(&prefixes);
            at += prefix.len();
            if at + 4 <= bytes.len() {
                bytes[at - prefix.len()..at].copy_from_slice(prefix);
            }
            // Mostly a slot of the stencil's data, sometimes not.
            if random.below(8) != 0 && data_len >= 8 {
                addend = 8 * random.below(data_len as u64 / 8) as i64 - 4;
            }
        }
        holes.push(Hole {
            offset: at as u32,
            kind,
            value,
            addend,
        });
        at = (at + 8 + random.below(8) as usize) & !3;
    }
    holes
}

fn stencil(random: &mut Random, arch: Arch, shim: bool) -> Stencil {
    let data_len = random.pick(&[0, 8, 16, 24]);
    let mut code: Vec<u8> = (0..4 * random.below(12))
        .map(|_| random.next() as u8)
        .collect();
    let code_holes = holes(random, arch, shim, &mut code, data_len, true);
    let mut data = vec![0; data_len];
    let data_holes = holes(random, arch, shim, &mut data, data_len, false);
    Stencil {
        code: leak(code),
        code_holes: leak(code_holes),
        data: leak(data),
        data_holes: leak(data_holes),
        data_align: random.pick(&[1, 8, 16, 32]),
    }
}

fn table(random: &mut Random) -> StencilTable {
    let arch = random.pick(&[Arch::X86_64, Arch::Aarch64, Arch::I686, Arch::Riscv64]);
    let uops: Vec<Stencil> = (0..4).map(|_| stencil(random, arch, false)).collect();
    let info: Vec<UopInfo> = ["a", "b", "c", "d"]
        .iter()
        .map(|&name| UopInfo {
            name,
            inputs: &[],
            outputs: &[],
            uses: &[],
            helpers: &[],
        })
        .collect();
    StencilTable {
        target: "random",
        arch,
        llvm_version: "none",
        code_align: random.pick(&[4, 16]),
        shim: if random.below(10) == 0 {
            stencil(random, arch, true)
        } else {
            // A call of the continuation: call rel32, bl, or auipc + jalr.
            let (code, kind, addend): (&[u8], _, _) = match arch {
                Arch::X86_64 | Arch::I686 => (
                    &[0xE8, 0, 0, 0, 0, 0xC3, 0x90, 0x90],
                    HoleKind::X86Branch32,
                    -4,
                ),
                Arch::Aarch64 => (
                    &[0, 0, 0, 0x94, 0xC0, 0x03, 0x5F, 0xD6],
                    HoleKind::Aarch64Branch26,
                    0,
                ),
                Arch::Riscv64 => (
                    &[0x97, 0, 0, 0, 0xE7, 0x80, 0, 0, 0x82, 0x80, 0x01, 0x00],
                    HoleKind::Riscv64Call,
                    0,
                ),
            };
            let offset = u32::from(matches!(arch, Arch::X86_64 | Arch::I686));
            Stencil {
                code,
                code_holes: leak(vec![Hole {
                    offset,
                    kind,
                    value: HoleValue::Continue,
                    addend,
                }]),
                data: &[],
                data_holes: &[],
                data_align: 8,
            }
        },
        cache: 0,
        uops: leak(uops),
        info: leak(info),
        symbols: &["f", "g", "h"],
        op_values: &OP_VALUES,
        trace_values: &[],
        emitters: None,
    }
}

fn ops(random: &mut Random) -> Vec<TraceOp> {
    let len = random.below(8);
    (0..len)
        .map(|_| TraceOp {
            uop: random.below(4) as u16,
            variant: 0,
            jump_target: random.below(len + 1) as u32,
            values: [
                u64::from(random.pick(&[0, 7, 0x8000_0000, u32::MAX])),
                random.pick(&[0, 0x1234, 0xFFFF_FFFF_FFFF_FFF0, 0x7F00_0000_1000]),
                random.below(100),
                0,
            ],
        })
        .collect()
}

#[test]
fn random_tables_emit_every_byte_or_fail_cleanly() {
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let mut emitted = 0;
    for _ in 0..3000 {
        let table = table(&mut random);
        let ops = ops(&mut random);
        let symbols: Vec<u64> = (0..random.pick(&[0, 3, 3, 3]))
            .map(|_| random.pick(&[0x1000, 0x10_0000, 0x7F00_0000_0000, 0x7F00_1000_0004]))
            .collect();
        let Ok(layout) = layout(&table, &ops) else {
            continue;
        };
        for _ in 0..4 {
            let base = random.pick(&[0x10_0000, 0x7F00_0000_0000, 0x7FFF_F000_0000])
                + random.below(0x400) * 16;
            // Buffers filled differently before: the same trace after.
            let mut zeros = vec![0; layout.len];
            let result = emit(&table, &ops, &layout, &symbols, &mut zeros, base);
            let mut ones = vec![0xFF; layout.len];
            let again = emit(&table, &ops, &layout, &symbols, &mut ones, base);
            assert_eq!(again, result, "base {base:#x}");
            if result.is_ok() {
                assert_eq!(zeros, ones, "base {base:#x}, table {table:#?}");
                emitted += 1;
            }
        }
    }
    // The sample is not all errors.
    assert!(emitted > 500, "only {emitted} traces emitted");
}
