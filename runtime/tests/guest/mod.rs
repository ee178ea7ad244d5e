//! Running emitted traces in an emulator: a freestanding C harness
//! (`tests/guest/harness.c`), built by `clang-19` and `lld` for the guest
//! and run under `qemu-user`, maps a trace at the address it was emitted
//! for and calls its shim once per argument.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use runtime::{emit, EmitError, Layout, StencilTable, TraceOp};

/// An instruction set the harness runs under qemu-user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guest {
    Aarch64,
    Riscv64,
    I686,
}

/// Every harness mapping starts at a multiple of this (the largest page
/// size of AArch64 Linux).
pub const MAP_GRANULE: usize = 0x10000;

impl Guest {
    fn clang_flags(self) -> &'static [&'static str] {
        match self {
            Guest::Aarch64 => &["--target=aarch64-unknown-linux-gnu"],
            // No linker relaxation: the harness must not depend on `gp`.
            Guest::Riscv64 => &[
                "--target=riscv64-unknown-linux-gnu",
                "-march=rv64gc",
                "-mabi=lp64d",
                "-mno-relax",
            ],
            Guest::I686 => &["--target=i686-unknown-linux-gnu"],
        }
    }

    fn qemu(self) -> &'static str {
        match self {
            Guest::Aarch64 => "qemu-aarch64",
            Guest::Riscv64 => "qemu-riscv64",
            Guest::I686 => "qemu-i386",
        }
    }

    /// The harness for this guest, built once per test run.
    fn harness(self) -> &'static Path {
        static AARCH64: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
        static RISCV64: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
        static I686: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
        let cell = match self {
            Guest::Aarch64 => &AARCH64,
            Guest::Riscv64 => &RISCV64,
            Guest::I686 => &I686,
        };
        let (_, path) = cell.get_or_init(|| self.build_harness());
        path
    }

    fn build_harness(self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("harness");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest/harness.c");
        let clang = ["clang-19", "/usr/lib/llvm-19/bin/clang"]
            .into_iter()
            .find(|clang| Command::new(clang).arg("--version").output().is_ok())
            .expect("clang-19 is needed to build the harness");
        let output = Command::new(clang)
            .args(self.clang_flags())
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
            .arg(&path)
            .arg(&source)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "building the {self:?} harness failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        (dir, path)
    }
}

/// A trace emitted at `base`, with the helpers it calls emitted at
/// `helpers_base`.
pub struct Run<'a> {
    pub base: u64,
    pub trace: &'a [u8],
    /// The first `code_len` bytes of the trace are executable; from the
    /// next granule on, the trace is writable.
    pub code_len: usize,
    pub helpers_base: u64,
    pub helpers: &'a [u8],
}

/// What the harness reads: see `tests/guest/harness.c`.
fn request(run: &Run<'_>, arguments: &[i64]) -> Vec<u8> {
    let mut words = vec![
        u64::from_le_bytes(*b"TRACERUN"),
        run.base,
        run.trace.len() as u64,
        run.code_len as u64,
        run.helpers_base,
        run.helpers.len() as u64,
        arguments.len() as u64,
    ];
    words.extend(arguments.iter().map(|&argument| argument as u64));
    let mut request: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
    request.extend_from_slice(run.trace);
    request.extend_from_slice(run.helpers);
    request
}

/// The results in the harness's reply.
fn results(reply: &[u8]) -> Vec<i64> {
    let words: Vec<u64> = reply
        .chunks(8)
        .map(|word| u64::from_le_bytes(word.try_into().expect("a reply of whole words")))
        .collect();
    assert_eq!(words.first(), Some(&u64::from_le_bytes(*b"RESULTS!")));
    assert_eq!(words.get(1), Some(&(words.len() as u64 - 2)));
    words[2..].iter().map(|&word| word as i64).collect()
}

/// Runs the shim of `run.trace` once per argument under qemu-user and
/// returns the results.
pub fn run(guest: Guest, run: &Run<'_>, arguments: &[i64]) -> Vec<i64> {
    let mut child = Command::new(guest.qemu())
        .arg(guest.harness())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{} is needed: {error}", guest.qemu()));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&request(run, arguments)).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "harness failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results = results(&output.stdout);
    assert_eq!(results.len(), arguments.len());
    results
}

/// The layout the harness needs for `ops` of `table`: the data starts on a
/// fresh granule, which it maps writable.
pub fn trace_layout(table: &StencilTable, ops: &[TraceOp]) -> Layout {
    Layout::with_data_start_align(table, ops, MAP_GRANULE).unwrap()
}

/// Emits `ops` of `table` in [`trace_layout`] at `base`, with the one
/// symbol at `helper`.
pub fn emit_at(
    table: &StencilTable,
    ops: &[TraceOp],
    helper: u64,
    base: u64,
) -> Result<Vec<u8>, EmitError> {
    let layout = trace_layout(table, ops);
    let mut buf = vec![0xA5; layout.len];
    emit(table, ops, &layout, &[helper], &mut buf, base)?;
    Ok(buf)
}

/// Emits `ops` of `table` at `base` with `helpers` (the one symbol) at
/// `helper`, runs the shim under qemu-user once per argument and returns
/// the results.
pub fn run_trace(
    guest: Guest,
    table: &StencilTable,
    helpers: &[u8],
    ops: &[TraceOp],
    base: u64,
    helper: u64,
    arguments: &[i64],
) -> Vec<i64> {
    let trace = emit_at(table, ops, helper, base).unwrap();
    let run = Run {
        base,
        trace: &trace,
        code_len: trace_layout(table, ops).data_offset,
        helpers_base: helper,
        helpers,
    };
    self::run(guest, &run, arguments)
}
