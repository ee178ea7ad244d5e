//! Runs foreign traces under qemu-user: builds the freestanding harness
//! (`harness.c`) for a guest with clang 19 and lld, patches a program's
//! trace for the address the harness maps it at, and reads back the VM
//! state.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use object::{Object, ObjectSymbol};
use runtime::emit::{emit, layout, TraceOp};
use runtime::StencilTable;

const REQUEST_MAGIC: u64 = 0x5145_5255_504f_5453;
const REPLY_MAGIC: u64 = 0x594c_5045_5250_4f54;

/// Offset of the locals in the state region (after the frame).
const LOCALS_OFFSET: u64 = 64;

/// A guest instruction set the harness runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Guest {
    Aarch64,
    Riscv64,
    I386,
}

impl Guest {
    fn clang_target(self) -> &'static [&'static str] {
        match self {
            Guest::Aarch64 => &["--target=aarch64-unknown-linux-gnu"],
            Guest::Riscv64 => &[
                "--target=riscv64-unknown-linux-gnu",
                "-march=rv64gc",
                "-mabi=lp64d",
                "-mno-relax",
            ],
            Guest::I386 => &["--target=i386-unknown-linux-gnu", "-msse2", "-mfpmath=sse"],
        }
    }

    fn qemu(self) -> &'static str {
        match self {
            Guest::Aarch64 => "qemu-aarch64",
            Guest::Riscv64 => "qemu-riscv64",
            Guest::I386 => "qemu-i386",
        }
    }

    /// Where the trace is mapped: far (> 4 GiB, on 64-bit guests) from the
    /// harness's helpers, so calls to them cannot be short branches.
    pub fn code_base(self) -> u64 {
        match self {
            Guest::Aarch64 | Guest::Riscv64 => 0x4000_0000_0000,
            Guest::I386 => 0x6000_0000,
        }
    }

    /// Where the frame, locals, heap and stack are mapped.
    pub fn state_base(self) -> u64 {
        match self {
            Guest::Aarch64 | Guest::Riscv64 => 0x4800_0000_0000,
            Guest::I386 => 0x7000_0000,
        }
    }

    /// Address of heap cell 0 in the emulated process.
    pub fn heap_base(self, n_locals: usize) -> u64 {
        self.state_base() + LOCALS_OFFSET + 8 * n_locals as u64
    }
}

/// The harness executable and the addresses of the helpers it provides.
pub struct Harness {
    pub guest: Guest,
    pub path: PathBuf,
    pub symbols: Vec<(String, u64)>,
}

fn find_tool(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| {
        if p.is_absolute() {
            p.exists()
        } else {
            Command::new(p).arg("--version").output().is_ok()
        }
    })
}

/// Builds the harness for `guest` once per test binary.
pub fn harness(guest: Guest) -> &'static Harness {
    static HARNESSES: OnceLock<Mutex<Vec<&'static Harness>>> = OnceLock::new();
    let mut built = HARNESSES.get_or_init(Default::default).lock().unwrap();
    if let Some(h) = built.iter().find(|h| h.guest == guest) {
        return h;
    }
    let h = Box::leak(Box::new(build(guest)));
    built.push(h);
    h
}

fn build(guest: Guest) -> Harness {
    let clang = find_tool(&["clang-19", "/usr/lib/llvm-19/bin/clang"])
        .expect("clang 19 is needed to build the harness (apt-get install clang-19 lld-19)");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulation/harness.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("harness_{guest:?}"));
    let status = Command::new(clang)
        .args(guest.clang_target())
        .args([
            "-O2",
            "-ffreestanding",
            "-nostdlib",
            "-static",
            "-fno-pic",
            "-fno-stack-protector",
            "-fuse-ld=lld",
            "-o",
        ])
        .arg(&out)
        .arg(&source)
        .status()
        .expect("run clang");
    assert!(
        status.success(),
        "building the {guest:?} harness failed (is lld-19 installed?)"
    );
    let bytes = std::fs::read(&out).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let symbols = file
        .symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
        .collect();
    Harness {
        guest,
        path: out,
        symbols,
    }
}

impl Harness {
    /// Address of each of the table's external symbols in the harness.
    pub fn resolve(&self, table: &StencilTable) -> Vec<u64> {
        table
            .symbols
            .iter()
            .map(|name| {
                self.symbols
                    .iter()
                    .find(|(n, _)| n == name)
                    .unwrap_or_else(|| panic!("the harness does not define `{name}`"))
                    .1
            })
            .collect()
    }
}

/// The VM state after a trace ran under emulation.
#[derive(Debug)]
pub struct Reply {
    /// -1 for a return, else the pc the trace deopted at.
    pub status: i64,
    pub result: i64,
    pub locals: Vec<i64>,
    pub heap: Vec<i64>,
    pub stack: Vec<i64>,
}

/// Patches `ops` with `table` for the guest's code base and runs them on
/// the given state under qemu-user.
pub fn run(
    guest: Guest,
    table: &StencilTable,
    ops: &[TraceOp],
    locals: &[i64],
    heap: &[i64],
    stack_cap: usize,
) -> Reply {
    let h = harness(guest);
    let (code_base, state_base) = (guest.code_base(), guest.state_base());
    let symbols = h.resolve(table);
    let layout = layout(table, ops).expect("layout");
    let mut code = vec![0u8; layout.len];
    emit(table, ops, &layout, &symbols, &mut code, code_base).expect("emit");

    let mut request = Vec::new();
    let mut word = |w: u64| request.extend_from_slice(&w.to_le_bytes());
    for w in [
        REQUEST_MAGIC,
        code_base,
        code.len() as u64,
        state_base,
        locals.len() as u64,
        heap.len() as u64,
        stack_cap.max(1) as u64,
        0,
    ] {
        word(w);
    }
    for &v in locals.iter().chain(heap) {
        word(v as u64);
    }
    request.extend_from_slice(&code);

    let mut child = Command::new(guest.qemu())
        .arg(&h.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{} is needed (apt-get install qemu-user): {e}",
                guest.qemu()
            )
        });
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&request));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "harness failed: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let words: Vec<i64> = out
        .stdout
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(words[0] as u64, REPLY_MAGIC, "bad reply");
    let (status, result, depth) = (words[1], words[2], words[3] as usize);
    let mut rest = &words[4..];
    let mut take = |n: usize| {
        let (a, b) = rest.split_at(n);
        rest = b;
        a.to_vec()
    };
    let locals = take(locals.len());
    let heap = take(heap.len());
    let stack = take(depth);
    Reply {
        status,
        result,
        locals,
        heap,
        stack,
    }
}
