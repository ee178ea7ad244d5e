//! Runs foreign traces under qemu-user: builds the freestanding harness
//! (`harness.c`) for a guest with clang 19 and lld, patches programs'
//! traces for the address the harness maps them at, runs a batch of them in
//! one emulator process, and reads back the VM state of each.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use object::{Object, ObjectSymbol};
use runtime::emit::{emit, layout, TraceOp};
use runtime::{Arch, StencilTable};

const REQUEST_MAGIC: u64 = 0x5145_5255_504f_5453;
const REPLY_MAGIC: u64 = 0x594c_5045_5250_4f54;

/// Offset of the locals in the state region (after the frame).
const LOCALS_OFFSET: u64 = 64;

/// How long one trace may run under emulation before it is taken to hang.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A guest instruction set the harness runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Guest {
    Aarch64,
    Riscv64,
    I386,
}

impl Guest {
    /// The guest that runs code of `arch`, if the harness has one.
    pub fn for_arch(arch: Arch) -> Option<Guest> {
        match arch {
            Arch::Aarch64 => Some(Guest::Aarch64),
            Arch::Riscv64 => Some(Guest::Riscv64),
            Arch::I686 => Some(Guest::I386),
            Arch::X86_64 => None,
        }
    }

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

    pub fn qemu(self) -> &'static str {
        match self {
            Guest::Aarch64 => "qemu-aarch64",
            Guest::Riscv64 => "qemu-riscv64",
            Guest::I386 => "qemu-i386",
        }
    }

    /// Bytes in a guest pointer.
    pub fn pointer_bytes(self) -> u32 {
        match self {
            Guest::Aarch64 | Guest::Riscv64 => 8,
            Guest::I386 => 4,
        }
    }

    /// Where the trace is mapped. On aarch64 and riscv64, far (> 4 GiB)
    /// from the harness's helpers, so calls to them go through trampolines
    /// (a `bl` reaches ±128 MiB, an `auipc`+`jalr` pair ±2 GiB).
    pub fn code_base(self) -> u64 {
        match self {
            Guest::Aarch64 | Guest::Riscv64 => 0x4000_0000_0000,
            Guest::I386 => 0x6000_0000,
        }
    }

    /// Where the frame, locals, heap and stack are mapped. On the 32-bit
    /// guest it is below 2^31, so a pointer reads the same whether a slot
    /// holds it sign- or zero-extended.
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

    /// The guest address a 64-bit slot holds, if it can hold one: 32-bit
    /// pointers are stored sign-extended (`(int64_t)(intptr_t)p`).
    fn address_in_slot(self, value: i64) -> Option<u64> {
        match self.pointer_bytes() {
            4 => (i64::from(value as i32) == value).then_some(u64::from(value as u32)),
            _ => Some(value as u64),
        }
    }

    /// Moves a slot value that points at a heap cell (or one past the
    /// last) of the emulated process to the same cell of the host's heap
    /// at `host_heap`; any other value is kept. The state region is at a
    /// fixed, otherwise unused address, where computed integers do not
    /// land by chance, and heap pointers are whole cells from its start.
    pub fn to_host_pointer(
        self,
        value: i64,
        n_locals: usize,
        heap_len: usize,
        host_heap: u64,
    ) -> i64 {
        let base = self.heap_base(n_locals);
        match self.address_in_slot(value) {
            Some(addr)
                if addr >= base
                    && addr - base <= 8 * heap_len as u64
                    && (addr - base).is_multiple_of(8) =>
            {
                host_heap.wrapping_add(addr - base) as i64
            }
            _ => value,
        }
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

/// The harness for `guest`, built once per test binary.
pub fn harness(guest: Guest) -> Result<&'static Harness, String> {
    type Built = Vec<(Guest, Result<&'static Harness, String>)>;
    static HARNESSES: OnceLock<Mutex<Built>> = OnceLock::new();
    let mut built = HARNESSES.get_or_init(Default::default).lock().unwrap();
    if let Some((_, h)) = built.iter().find(|(g, _)| *g == guest) {
        return h.clone();
    }
    let h = build(guest).map(|h| &*Box::leak(Box::new(h)));
    built.push((guest, h.clone()));
    h
}

fn build(guest: Guest) -> Result<Harness, String> {
    let clang = find_tool(&["clang-19", "/usr/lib/llvm-19/bin/clang"])
        .ok_or("clang 19 is needed to build the harness (apt-get install clang-19 lld-19)")?;
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulation/harness.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("harness_{guest:?}"));
    let output = Command::new(clang)
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
        .output()
        .map_err(|e| format!("cannot run clang: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the {guest:?} harness failed (is lld-19 installed?):\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let bytes = std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    let symbols = file
        .symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
        .collect();
    Ok(Harness {
        guest,
        path: out,
        symbols,
    })
}

/// One trace, patched for the guest, and the state it starts on.
pub struct Request {
    code: Vec<u8>,
    locals: Vec<i64>,
    heap: Vec<i64>,
    stack_cap: usize,
}

impl Request {
    /// Code already patched for the guest's code base, as it is.
    pub fn from_code(code: Vec<u8>, locals: &[i64], heap: &[i64], stack_cap: usize) -> Request {
        Request {
            code,
            locals: locals.to_vec(),
            heap: heap.to_vec(),
            stack_cap: stack_cap.max(1),
        }
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

/// What the harness's exit codes mean (see `die` in harness.c).
fn exit_reason(code: i32) -> &'static str {
    match code {
        10 => "stdin ended inside a request",
        11 => "cannot write the reply",
        12 => "cannot map the trace or the state at its fixed address",
        13 => "bad request magic",
        14 => "the request's stack is deeper than its capacity",
        15 => "cannot make the trace executable",
        16 => "the trace left the stack pointer outside the stack",
        17 => "an address does not fit the guest's pointers",
        18 => "cannot unmap the trace or the state",
        _ => "unknown exit code",
    }
}

impl Harness {
    /// Address of each of the table's external symbols in the harness. A
    /// leading underscore (Mach-O, i686 Windows) is dropped if the name as
    /// given is not defined.
    pub fn resolve(&self, table: &StencilTable) -> Result<Vec<u64>, String> {
        let find = |n: &str| self.symbols.iter().find(|(s, _)| s == n).map(|(_, a)| *a);
        table
            .symbols
            .iter()
            .map(|name| {
                find(name)
                    .or_else(|| name.strip_prefix('_').and_then(find))
                    .ok_or_else(|| {
                        format!(
                            "the {:?} harness does not define `{name}`, which {} calls",
                            self.guest, table.target
                        )
                    })
            })
            .collect()
    }

    /// Patches `ops` with `table` for the guest's code base, to run on the
    /// given locals and heap with an empty stack of `stack_cap` slots.
    pub fn request(
        &self,
        table: &StencilTable,
        ops: &[TraceOp],
        locals: &[i64],
        heap: &[i64],
        stack_cap: usize,
    ) -> Result<Request, String> {
        let symbols = self.resolve(table)?;
        let layout = layout(table, ops).map_err(|e| format!("layout: {e}"))?;
        let mut code = vec![0u8; layout.len];
        emit(
            table,
            ops,
            &layout,
            &symbols,
            &mut code,
            self.guest.code_base(),
        )
        .map_err(|e| format!("emit: {e}"))?;
        Ok(Request::from_code(code, locals, heap, stack_cap))
    }

    /// Runs every request, in order, in as few emulator processes as
    /// possible: a request that crashes or hangs gets the error and the
    /// ones after it run in a new process.
    pub fn run(&self, requests: &[Request]) -> Vec<Result<Reply, String>> {
        let mut results = Vec::with_capacity(requests.len());
        while results.len() < requests.len() {
            let start = results.len();
            match self.run_some(&requests[start..], &mut results) {
                Ok(()) => {}
                Err(e) => {
                    // Not even the emulator started: every request fails alike.
                    results.extend(requests[start..].iter().map(|_| Err(e.clone())));
                }
            }
        }
        results
    }

    /// Runs `requests` in one process until they are done or one fails.
    fn run_some(
        &self,
        requests: &[Request],
        results: &mut Vec<Result<Reply, String>>,
    ) -> Result<(), String> {
        let qemu = self.guest.qemu();
        let mut child = Command::new(qemu)
            .arg(&self.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{qemu} is needed (apt-get install qemu-user): {e}"))?;
        let input = encode(self.guest, requests);
        let mut stdin = child.stdin.take().unwrap();
        // A write error only means the harness stopped early; its replies say where.
        let writer = std::thread::spawn(move || drop(stdin.write_all(&input)));
        let mut stderr = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            drop(stderr.read_to_string(&mut text));
            text
        });
        let stdout = child.stdout.take().unwrap();
        let shapes: Vec<_> = requests
            .iter()
            .map(|r| (r.locals.len(), r.heap.len(), r.stack_cap))
            .collect();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || read_replies(stdout, &shapes, &tx));
        let mut failed = None;
        for _ in requests {
            match rx.recv_timeout(REPLY_TIMEOUT) {
                Ok(reply) => results.push(Ok(reply)),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // Only this process's own child is killed.
                    drop(child.kill());
                    failed = Some(format!(
                        "no reply within {} s: the trace does not finish",
                        REPLY_TIMEOUT.as_secs()
                    ));
                    break;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    failed = Some(String::new());
                    break;
                }
            }
        }
        let status = wait(&mut child);
        writer.join().unwrap();
        reader.join().unwrap();
        let stderr = errors.join().unwrap();
        if let Some(why) = failed {
            let why = if why.is_empty() {
                match status.code() {
                    Some(code) => format!(
                        "the harness exited with {code} ({}) before replying",
                        exit_reason(code)
                    ),
                    None => format!("the harness was stopped: {status}"),
                }
            } else {
                why
            };
            results.push(Err(format!("{why}\n{}", stderr.trim_end())));
        }
        Ok(())
    }
}

fn wait(child: &mut Child) -> std::process::ExitStatus {
    child.wait().expect("wait for the emulator")
}

fn encode(guest: Guest, requests: &[Request]) -> Vec<u8> {
    let mut out = Vec::new();
    let word = |out: &mut Vec<u8>, w: u64| out.extend_from_slice(&w.to_le_bytes());
    for r in requests {
        for w in [
            REQUEST_MAGIC,
            guest.code_base(),
            r.code.len() as u64,
            guest.state_base(),
            r.locals.len() as u64,
            r.heap.len() as u64,
            r.stack_cap as u64,
            0,
        ] {
            word(&mut out, w);
        }
        for &v in r.locals.iter().chain(&r.heap) {
            word(&mut out, v as u64);
        }
        out.extend_from_slice(&r.code);
    }
    out
}

/// Reads one reply per shape `(locals, heap cells, stack capacity)` and
/// sends each on; stops at the end of the output or at a malformed reply.
fn read_replies(mut out: impl Read, shapes: &[(usize, usize, usize)], tx: &mpsc::Sender<Reply>) {
    let mut words = |n: usize| -> Option<Vec<i64>> {
        let mut bytes = vec![0u8; 8 * n];
        out.read_exact(&mut bytes).ok()?;
        Some(
            bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        )
    };
    for &(n_locals, heap_len, stack_cap) in shapes {
        let Some(header) = words(4) else { return };
        let depth = header[3] as u64 as usize;
        if header[0] as u64 != REPLY_MAGIC || depth > stack_cap {
            return;
        }
        let (Some(locals), Some(heap), Some(stack)) =
            (words(n_locals), words(heap_len), words(depth))
        else {
            return;
        };
        let reply = Reply {
            status: header[1],
            result: header[2],
            locals,
            heap,
            stack,
        };
        if tx.send(reply).is_err() {
            return;
        }
    }
}
