//! `cargo xtask inspect-object` as a user runs it: only regular files are
//! read, up to a size limit (a device or FIFO is refused at once, never
//! read or opened), truncated and foreign objects are errors, and
//! `--format json` prints the documented JSON of a real uop.

#[path = "../../stencil-gen/tests/support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi_with_cache, reference_values};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use stencil_gen::target::Target;
use stencil_gen::toolchain::{Toolchain, PINNED_LLVM_MAJOR};

/// Longest any of these runs may take; a run still going then is killed
/// and fails the test (a FIFO once blocked the command forever).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Run `cargo xtask inspect-object ARGS` with its address space capped at
/// 4 GiB, so that reading a device without bound fails fast instead of
/// taking the machine's memory.
fn inspect_object(args: &[&str]) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$0\" inspect-object \"$@\"")
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > TIMEOUT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("inspect-object {args:?} still ran after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Assert the run failed with exactly `message` after `error: `.
fn assert_error(output: &Output, message: &str) {
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr), format!("error: {message}\n"));
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
}

#[test]
fn a_character_device_is_refused_without_reading_it() {
    let output = inspect_object(&["/dev/zero", "--target", "x86_64"]);
    assert_error(
        &output,
        "/dev/zero is a character device, not a regular file: pass a relocatable object file",
    );
}

#[test]
fn a_fifo_is_refused_without_opening_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("stencil.o");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Nobody writes to it: opening it would block.
    let output = inspect_object(&[fifo.to_str().unwrap(), "--target", "x86_64"]);
    assert_error(
        &output,
        &format!(
            "{} is a FIFO, not a regular file: pass a relocatable object file",
            fifo.display()
        ),
    );
}

#[test]
fn a_directory_a_missing_file_and_a_huge_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    assert_error(
        &inspect_object(&[path, "--target", "x86_64"]),
        &format!("{path} is a directory, not a regular file: pass a relocatable object file"),
    );
    let missing = dir.path().join("missing.o");
    let output = inspect_object(&[missing.to_str().unwrap(), "--target", "x86_64"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).starts_with(&format!("error: cannot read {}: ", missing.display())),
        "{}",
        text(&output.stderr)
    );
    // Sparse: one byte over the limit takes no disk space.
    let huge = dir.path().join("huge.o");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len((64 << 20) + 1)
        .unwrap();
    assert_error(
        &inspect_object(&[huge.to_str().unwrap(), "--target", "x86_64"]),
        &format!(
            "{} is at least 67108865 bytes, more than the 64 MiB (67108864 bytes) an object \
             file may have",
            huge.display()
        ),
    );
}

/// The object clang 19 makes of uop `name` of `uop-defs/defs/<file>`.
fn uop_object(target: &Target, file: &str, name: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let path = root.join("uop-defs/defs").join(file);
    let source = std::fs::read_to_string(&path).unwrap();
    let mut defs = uop_defs::parse(&path, &source).unwrap_or_else(|d| panic!("{d}"));
    defs.path = Path::new("uop-defs/defs").join(file);
    let uop = defs.uops.iter().find(|u| u.name == name).unwrap();
    // The uop's plain form, every stack value in memory.
    let abi = reference_abi_with_cache(0);
    let unit = stencil_gen::emit_c::emit_uop(&abi, &defs, uop).unwrap();
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    toolchain.compile(target, &unit).unwrap().object
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn truncated_and_foreign_objects_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let macos = Target::find("aarch64-macos").unwrap();
    let object = uop_object(macos, "int.uop", "add_imm");
    // Inside the load commands: once read as an empty stencil, exit 0.
    let cut = write(dir.path(), "add_imm.o", &object[..200]);
    let sizeofcmds = u32::from_le_bytes(object[20..24].try_into().unwrap());
    let ncmds = u32::from_le_bytes(object[16..20].try_into().unwrap());
    assert_error(
        &inspect_object(&[cut.to_str().unwrap(), "--target", "aarch64-macos"]),
        &format!(
            "uop `add_imm` (aarch64-apple-darwin): the file (200 bytes) ends before the end of \
             the {ncmds} Mach-O load commands (bytes 0x20..{:#x}): the object is truncated or \
             corrupt; rebuild it",
            32 + sizeofcmds
        ),
    );
    let linux = Target::find("x86_64").unwrap();
    let elf = write(
        dir.path(),
        "add_imm.o",
        &uop_object(linux, "int.uop", "add_imm"),
    );
    assert_error(
        &inspect_object(&[elf.to_str().unwrap(), "--target", "aarch64-apple-darwin"]),
        "uop `add_imm` (aarch64-apple-darwin): this is ELF/x86-64, the target \
         aarch64-apple-darwin needs Mach-O/AArch64",
    );
}

#[test]
fn json_format_prints_the_stencil() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::find("x86_64").unwrap();
    let object = uop_object(target, "int.uop", "add_imm");
    let path = write(dir.path(), "add_imm.o", &object);
    let path = path.to_str().unwrap();

    let output = inspect_object(&[path, "--target", "x86_64", "--format", "json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["target"]["triple"], "x86_64-unknown-linux-gnu");
    assert_eq!(json["object"]["size"], object.len());
    let stencil = &json["stencil"];
    assert_eq!(stencil["name"], "add_imm");
    assert_eq!(stencil["code"], "8b0500000000490145f8");
    assert_eq!(
        stencil["code_holes"],
        serde_json::json!([{
            "offset": 2,
            "kind": "x86_64_got_load_no_rex",
            "value": "data",
            "symbol": null,
            "addend": -4,
        }])
    );
    assert_eq!(stencil["got"]["slots"][0]["value"], "op_value");
    assert_eq!(stencil["got"]["slots"][0]["symbol"], "oparg");
    assert_eq!(
        stencil["removed"]["trailing_jump"],
        serde_json::json!({ "offset": 10, "bytes": "e900000000" })
    );
    assert_eq!(
        text(&output.stdout),
        stencil_gen::inspect::inspect_json(&object, target, "add_imm", reference_values()).unwrap()
    );

    // Text stays the default.
    let output = inspect_object(&[path, "--target", "x86_64"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        stencil_gen::inspect::inspect(&object, target, "add_imm", reference_values()).unwrap()
    );
}

/// An object of another VM's stencil, as clang 19 makes it for x86-64
/// Linux: it reads `_JIT_EXECUTOR`, which the reference ABI does not
/// declare, and `_JIT_OPARG`, which it does.
fn foreign_vm_object(dir: &Path) -> PathBuf {
    let source = dir.join("foreign.s");
    std::fs::write(
        &source,
        "movabsq $_JIT_EXECUTOR, %rax\nmovabsq $_JIT_OPARG, %rcx\nretq\n",
    )
    .unwrap();
    let object = dir.join("foreign.o");
    let status = Command::new("clang-19")
        .args(["-c", "--target=x86_64-unknown-linux-gnu"])
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .status()
        .unwrap();
    assert!(status.success());
    object
}

#[test]
fn an_undeclared_value_symbol_is_shown_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let object = foreign_vm_object(dir.path());
    let object = object.to_str().unwrap();
    let output = inspect_object(&[object, "--target", "x86_64"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(shown.contains("undeclared _JIT_EXECUTOR"), "{shown}");
    assert!(shown.contains("value oparg"), "{shown}");
    assert!(!shown.contains("symbol _JIT_EXECUTOR"), "{shown}");
    // With no ABI at all, every value symbol is undeclared.
    let output = inspect_object(&[object, "--target", "x86_64", "--no-defs"]);
    let shown = text(&output.stdout);
    assert!(shown.contains("undeclared _JIT_OPARG"), "{shown}");
    // As JSON, for tools.
    let output = inspect_object(&[object, "--target", "x86_64", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let holes = &json["stencil"]["code_holes"];
    assert_eq!(holes[0]["value"], "undeclared");
    assert_eq!(holes[0]["symbol"], "_JIT_EXECUTOR");
    assert_eq!(holes[1]["value"], "op_value");
    assert_eq!(holes[1]["symbol"], "oparg");
}
