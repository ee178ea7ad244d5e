//! Golden tests of the stencil optimizer: small C stencils compiled for one
//! target of each instruction set (x86-64, i686, AArch64, RISC-V 64), with
//! their assembly before and after the optimizer and the disassembly of the
//! lowered stencil assembled from each; plus the cases it must leave alone.
//!
//! `UPDATE_GOLDEN=1 cargo test -p stencil-gen --test optimize` rewrites the
//! golden files under `tests/optimize/`.

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use stencil_gen::lower::lower;
use stencil_gen::optimize::{optimize, Stats};
use stencil_gen::target::{
    Target, AARCH64_APPLE, AARCH64_LINUX, I686_WINDOWS, RISCV64_LINUX, X86_64_APPLE, X86_64_LINUX,
};
use stencil_gen::toolchain::{compile_args, Toolchain, PINNED_LLVM_MAJOR};

fn toolchain() -> &'static Toolchain {
    static TOOLCHAIN: OnceLock<Toolchain> = OnceLock::new();
    TOOLCHAIN
        .get_or_init(|| Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}")))
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/optimize")
}

fn clang(args: &[String]) {
    let output = toolchain()
        .clang
        .command()
        .args(args)
        .output()
        .expect("run clang");
    assert!(
        output.status.success(),
        "clang {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// clang's assembly of `tests/optimize/<name>.c` for `target`, with the
/// generator's flags.
fn assembly(target: &Target, name: &str) -> String {
    let temp = tempfile::tempdir().expect("temporary directory");
    let out = temp.path().join("out.s");
    let mut args: Vec<String> = compile_args(target)
        .into_iter()
        .map(|a| if a == "-c" { "-S".to_string() } else { a })
        .collect();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    args.extend([
        "-I".to_string(),
        include.display().to_string(),
        dir().join(format!("{name}.c")).display().to_string(),
        "-o".to_string(),
        out.display().to_string(),
    ]);
    clang(&args);
    std::fs::read_to_string(out).expect("read assembly")
}

/// The object clang assembles from `source`.
fn assemble(target: &Target, source: &str) -> Vec<u8> {
    let temp = tempfile::tempdir().expect("temporary directory");
    let input = temp.path().join("in.s");
    let out = temp.path().join("out.o");
    std::fs::write(&input, source).expect("write assembly");
    let mut args = vec![format!("--target={}", target.clang_triple)];
    args.extend(target.clang_flags.iter().map(|f| f.to_string()));
    args.extend([
        "-Wno-unused-command-line-argument".to_string(),
        "-c".to_string(),
        input.display().to_string(),
        "-o".to_string(),
        out.display().to_string(),
    ]);
    clang(&args);
    std::fs::read(out).expect("read object")
}

/// The lowered stencil's disassembly and code size.
fn lowered(target: &Target, source: &str) -> (Vec<String>, usize) {
    let object = assemble(target, source);
    let group =
        lower(&object, target, "test_uop", reference_values()).unwrap_or_else(|e| panic!("{e}"));
    let lines = toolchain()
        .disassemble(target, "test_uop", &object, group.code.len())
        .unwrap_or_else(|e| panic!("{e}"));
    (lines, group.code.len())
}

/// The function's lines of `assembly`: from the entry label to the end of
/// the function, directives of the file aside.
fn body(assembly: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in assembly.lines() {
        if line.starts_with("_JIT_ENTRY:") || line.starts_with("__JIT_ENTRY:") {
            inside = true;
        }
        if inside && (line.contains("-- End function") || line.contains("func_end")) {
            break;
        }
        if inside {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

fn check_golden(file: &str, actual: &str) {
    let path = dir().join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; create it with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the optimizer's output (rerun with UPDATE_GOLDEN=1 to accept):\n\
         --- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Optimize `name` for `target`, check the golden file and return the
/// stats and the code sizes before and after.
fn golden(target: &Target, name: &str) -> (Stats, usize, usize) {
    let before = assembly(target, name);
    let optimized = optimize(target, &before);
    let stats = optimized
        .stats
        .unwrap_or_else(|| panic!("{name} for {} was left unchanged", target.triple));
    let (dis_before, size_before) = lowered(target, &before);
    let (dis_after, size_after) = lowered(target, &optimized.text);
    let text = format!(
        "# {name} for {}: {stats:?}\n\n## assembly before\n{}\n## assembly after\n{}\n\
         ## stencil before ({size_before} bytes)\n{}\n\n## stencil after ({size_after} bytes)\n{}\n",
        target.triple,
        body(&before),
        body(&optimized.text),
        dis_before.join("\n"),
        dis_after.join("\n"),
    );
    check_golden(&format!("{name}.{}.txt", target.short), &text);
    (stats, size_before, size_after)
}

const TARGETS: [&Target; 4] = [&X86_64_LINUX, &I686_WINDOWS, &AARCH64_LINUX, &RISCV64_LINUX];

#[test]
fn a_branch_to_the_continuation_is_inverted() {
    for target in TARGETS {
        let (stats, before, after) = golden(target, "branch_if_zero");
        assert!(stats.inverted >= 1, "{}: {stats:?}", target.triple);
        assert!(after < before, "{}: {before} -> {after}", target.triple);
    }
}

#[test]
fn the_block_that_continues_moves_last() {
    for target in TARGETS {
        let (stats, before, after) = golden(target, "guard_heap");
        assert!(stats.moved >= 1, "{}: {stats:?}", target.triple);
        assert!(after < before, "{}: {before} -> {after}", target.triple);
    }
}

#[test]
fn jumps_to_the_continuation_inside_the_stencil_stay_inside() {
    for target in TARGETS {
        let (stats, before, after) = golden(target, "two_exits");
        assert!(
            stats.local_continuations >= 1,
            "{}: {stats:?}",
            target.triple
        );
        assert!(after <= before, "{}: {before} -> {after}", target.triple);
    }
}

#[test]
fn mach_o_targets_optimize_with_their_prefixes() {
    for target in [&X86_64_APPLE, &AARCH64_APPLE] {
        let before = assembly(target, "branch_if_zero");
        let optimized = optimize(target, &before);
        assert!(
            optimized.stats.is_some_and(|s| s.inverted == 1),
            "{}",
            target.triple
        );
        let (_, size_before) = lowered(target, &before);
        let (_, size_after) = lowered(target, &optimized.text);
        assert!(size_after < size_before, "{}", target.triple);
    }
}

/// A function of hand-written x86-64 assembly, as clang lays one out.
fn x86_function(body: &str) -> String {
    format!(
        "\t.text\n\t.globl\t_JIT_ENTRY # -- Begin function _JIT_ENTRY\n_JIT_ENTRY:\n{body}.Lfunc_end0:\n\t.size\t_JIT_ENTRY, .Lfunc_end0-_JIT_ENTRY\n # -- End function\n"
    )
}

#[test]
fn jumps_to_jumps_are_threaded() {
    let source = x86_function(
        "\ttestq\t%rax, %rax\n\tjne\t.LBB0_1\n\tmovq\t%rax, %rcx\n\tretq\n\
         .LBB0_1:\n\tjmp\t.LBB0_2\n.LBB0_2:\n\tjmp\t_JIT_JUMP_TARGET\n",
    );
    let optimized = optimize(&X86_64_LINUX, &source);
    let stats = optimized.stats.expect("optimized");
    // `jne` twice, then the jump of `.LBB0_1` itself.
    assert_eq!(stats.threaded, 3, "{stats:?}");
    assert!(
        optimized.text.contains("\tjne\t_JIT_JUMP_TARGET\n"),
        "{}",
        optimized.text
    );
    // The code still assembles and lowers.
    let (_, size) = lowered(&X86_64_LINUX, &optimized.text);
    assert!(size > 0);
}

#[test]
fn control_flow_it_does_not_model_is_left_alone() {
    for body in [
        "\tjrcxz\t.LBB0_1\n\tjmp\t_JIT_CONTINUE\n.LBB0_1:\n\tretq\n",
        "\tjmp\t*%rax\n",
        "\tjne\t.LBB0_1\n\tjmp\t_JIT_CONTINUE\n.LBB0_1:\n\t.byte\t0x90\n\tretq\n",
    ] {
        let source = x86_function(body);
        let optimized = optimize(&X86_64_LINUX, &source);
        assert_eq!(optimized.stats, None, "{body}");
        assert_eq!(optimized.text, source);
    }
    // Two functions: the continuation is not the end of the code.
    let two = format!("{}{}", x86_function("\tretq\n"), x86_function("\tretq\n"));
    assert_eq!(optimize(&X86_64_LINUX, &two).stats, None);
}
