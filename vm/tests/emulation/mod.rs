//! Runs aarch64 traces under qemu-user: builds the freestanding harness
//! (`harness_aarch64.c`) with clang 19 and lld, patches a program's trace
//! for the address the harness maps it at, and reads back the VM state.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use object::{Object, ObjectSymbol};
use runtime::emit::{emit, layout, TraceOp};
use runtime::StencilTable;

const REQUEST_MAGIC: u64 = 0x5145_5255_504f_5453;
const REPLY_MAGIC: u64 = 0x594c_5045_5250_4f54;

/// Where the trace is mapped: far (> 4 GiB) from the harness's helpers, so
/// calls to them cannot be direct branches.
pub const CODE_BASE: u64 = 0x4000_0000_0000;
/// Where the frame, locals, heap and stack are mapped.
pub const STATE_BASE: u64 = 0x4800_0000_0000;
/// Offset of the locals in the state region (after the frame).
const LOCALS_OFFSET: u64 = 64;

/// The harness executable and the addresses of the helpers it provides.
pub struct Harness {
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

/// Builds the harness once per test binary.
pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let clang = find_tool(&["clang-19", "/usr/lib/llvm-19/bin/clang"]).expect(
            "clang 19 is needed to build the aarch64 harness (apt-get install clang-19 lld-19)",
        );
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulation/harness_aarch64.c");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("harness_aarch64");
        let status = Command::new(clang)
            .args([
                "--target=aarch64-unknown-linux-gnu",
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
            "building the aarch64 harness failed (is lld-19 installed?)"
        );
        let bytes = std::fs::read(&out).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let symbols = file
            .symbols()
            .filter(|s| s.is_definition())
            .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
            .collect();
        Harness { path: out, symbols }
    })
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

impl Reply {
    /// Address of heap cell 0 in the emulated process.
    pub fn heap_base(n_locals: usize) -> u64 {
        STATE_BASE + LOCALS_OFFSET + 8 * n_locals as u64
    }
}

/// Patches `ops` with `table` for `CODE_BASE` and runs them on the given
/// state under qemu-aarch64.
pub fn run(
    table: &StencilTable,
    ops: &[TraceOp],
    locals: &[i64],
    heap: &[i64],
    stack_cap: usize,
) -> Reply {
    let h = harness();
    let symbols = h.resolve(table);
    let layout = layout(table, ops).expect("layout");
    let mut code = vec![0u8; layout.len];
    emit(table, ops, &layout, &symbols, &mut code, CODE_BASE).expect("emit");

    let mut request = Vec::new();
    let mut word = |w: u64| request.extend_from_slice(&w.to_le_bytes());
    for w in [
        REQUEST_MAGIC,
        CODE_BASE,
        code.len() as u64,
        STATE_BASE,
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

    let mut child = Command::new("qemu-aarch64")
        .arg(&h.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-aarch64 is needed (apt-get install qemu-user)");
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
