//! C emission: golden text of a few translation units, and every reference
//! uop compiling with the real clang for every target.

#[path = "support/abi.rs"]
mod abi_support;
#[allow(unused_imports)]
use abi_support::{reference_abi, reference_values};

use std::path::{Path, PathBuf};

use object::{Object, ObjectSymbol};
use stencil_gen::emit_c::{self, CSource};
use stencil_gen::target::{self, Format};
use stencil_gen::toolchain::{Toolchain, PINNED_LLVM_MAJOR};
use uop_defs::ast::{Helper, Span, StackValue, Uop, UopFile, ValueType};

fn span(line: u32, col: u32) -> Span {
    Span {
        line,
        col,
        offset: 0,
        len: 0,
    }
}

fn value(name: &str, ty: ValueType) -> StackValue {
    StackValue {
        name: name.to_string(),
        ty,
        span: span(1, 1),
    }
}

/// A uop using every immediate, a helper, a prelude and all value types.
fn hand_made_file() -> UopFile {
    UopFile {
        path: PathBuf::from("defs/demo.uop"),
        prelude: "\nstatic inline int64_t twice(int64_t x) { return 2 * x; }\n".to_string(),
        helpers: vec![Helper {
            name: "vm_mix".to_string(),
            params: vec![ValueType::I64, ValueType::F64],
            ret: ValueType::I64,
            span: span(2, 1),
        }],
        uops: vec![Uop {
            name: "mix".to_string(),
            doc: "Mixes things.".to_string(),
            inputs: vec![
                value("p", ValueType::Ptr),
                value("a", ValueType::I64),
                value("b", ValueType::F64),
            ],
            outputs: vec![value("r", ValueType::I64), value("d", ValueType::F64)],
            uses: ["oparg", "operand", "jump_target", "deopt_target"]
                .map(String::from)
                .to_vec(),
            calls: vec!["vm_mix".to_string()],
            body: "\n    DEOPT_IF(b < 0);\n    r = vm_mix(twice(a) + p[OPARG], b);\n    d = OPERAND_F64;\n    if (r == 0) JUMP();\n    if (r == 1) RETURN(r);\n".to_string(),
            body_span: span(7, 40),
            span: span(7, 5),
        }],
        abi: None,
    }
}

/// Compares `text` with the golden file `tests/fixtures/emit_c/NAME`;
/// `UPDATE_GOLDEN=1` rewrites it instead.
fn assert_golden(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/emit_c")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; create it with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        text,
        expected,
        "{} differs (rerun with UPDATE_GOLDEN=1 to accept)",
        path.display()
    );
}

#[test]
fn golden_uop_with_every_feature() {
    let file = hand_made_file();
    let abi = abi_support::reference_abi_with_cache(3);
    let unit = emit_c::emit_uop(&abi, &file, &file.uops[0]).unwrap();
    assert_golden("mix.c", &unit.text);
    assert_eq!(unit.name, "mix.r02");
    assert_eq!(unit.file_name, "mix.r02.c");
    assert_eq!(unit.location.as_deref(), Some("defs/demo.uop:7:5"));
}

#[test]
fn golden_parsed_uop_reuses_no_hole_it_does_not_use() {
    let src = "/// Duplicates the top.\nuop dup(a -- a1, a2) {\n    a1 = a;\n    a2 = a;\n}\n";
    let file = uop_defs::parse(Path::new("defs/stack.uop"), src).unwrap();
    let unit = emit_c::emit_uop(reference_abi(), &file, &file.uops[0]).unwrap();
    assert_golden("dup.c", &unit.text);
}

#[test]
fn golden_variants_take_inputs_from_registers_and_spill_the_deepest() {
    let src = "/// Duplicates the top.\nuop dup(a -- a1, a2) {\n    a1 = a;\n    a2 = a;\n}\n";
    let file = uop_defs::parse(Path::new("defs/stack.uop"), src).unwrap();
    let abi = abi_support::reference_abi_with_cache(3);
    let units = emit_c::emit_variants(&abi, &file, &file.uops[0]).unwrap();
    let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["dup.r02", "dup.r12", "dup.r23", "dup.r33"]);
    // Three values arrive, four leave: the deepest goes to memory.
    assert_golden("dup.r33.c", &units[3].text);
    let spills = emit_c::emit_cache_spill(&abi).unwrap();
    let names: Vec<&str> = spills.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cache_spill.r00",
            "cache_spill.r10",
            "cache_spill.r20",
            "cache_spill.r30"
        ]
    );
    assert_golden("cache_spill.r20.c", &spills[2].text);
}

#[test]
fn golden_shim() {
    let unit = emit_c::emit_shim(reference_abi()).unwrap();
    assert_golden("shim.c", &unit.text);
    assert_eq!(unit.location, None);
}

#[test]
fn no_stack_adjustment_when_the_stack_depth_is_unchanged() {
    let src = "uop neg(a -- r) {\n    r = -a;\n}\n";
    let file = uop_defs::parse(Path::new("defs/x.uop"), src).unwrap();
    let abi = abi_support::reference_abi_with_cache(3);
    let units = emit_c::emit_variants(&abi, &file, &file.uops[0]).unwrap();
    // In memory, out in a register: the stack shrinks by one.
    assert!(
        units[0].text.contains("    sp += -1;\n"),
        "{}",
        units[0].text
    );
    // In a register, out in one: memory is not touched.
    let text = &units[1].text;
    assert!(!text.contains("sp +="), "{text}");
    assert!(!text.contains("sp["), "{text}");
    assert!(
        text.contains(
            "    __attribute__((musttail)) return _JIT_CONTINUE(frame, sp, locals, (int64_t)r, jit_c1, jit_c2);\n"
        ),
        "{text}"
    );
    // Only the continuation is declared: no value hole is used.
    assert!(!text.contains("_JIT_OPARG"));
    assert!(!text.contains("_JIT_DEOPT_TARGET"));
    assert!(!text.contains("_JIT_JUMP_TARGET"));
}

#[test]
fn windows_style_paths_are_written_with_slashes_and_escaped() {
    let mut file = hand_made_file();
    file.path = PathBuf::from("defs").join("we\"ird").join("demo.uop");
    let text = emit_c::emit_uop(reference_abi(), &file, &file.uops[0])
        .unwrap()
        .text;
    assert!(
        text.contains("#line 7 \"defs/we\\\"ird/demo.uop\"\n"),
        "{text}"
    );
}

fn reference_defs() -> Vec<UopFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("uop-defs").join("defs");
    let mut files = uop_defs::load_dir(&dir)
        .unwrap_or_else(|d| panic!("{d}"))
        .files;
    for file in &mut files {
        // As the pipeline does: paths relative to the workspace root.
        let name = file.path.file_name().unwrap().to_owned();
        file.path = Path::new("uop-defs/defs").join(name);
    }
    assert!(!files.is_empty());
    files
}

#[test]
fn line_directives_number_the_right_lines_for_every_reference_uop() {
    for file in reference_defs() {
        for uop in &file.uops {
            let unit = emit_c::emit_uop(reference_abi(), &file, uop).unwrap();
            let (text, unit_file) = (unit.text, unit.file_name);
            let lines: Vec<&str> = text.lines().collect();
            let body = format!(
                "#line {} \"{}\"",
                uop.body_span.line,
                emit_c::dsl_path(&file.path)
            );
            assert_eq!(lines.iter().filter(|l| **l == body).count(), 1, "{text}");
            let after: Vec<(usize, &&str)> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    l.starts_with("#line ") && l.ends_with(&format!("\"{}\"", unit_file))
                })
                .collect();
            // One after the ABI's types, one after the body.
            assert_eq!(after.len(), 2, "{text}");
            for (index, line) in after {
                // The directive on (1-based) line index+1 names the next line.
                assert_eq!(*line, &format!("#line {} \"{}\"", index + 2, unit_file));
            }
            // The ABI's types start on the line of `abi.uop` their
            // directive names.
            let abi =
                std::fs::read_to_string(abi_support::reference_defs_dir().join("abi.uop")).unwrap();
            let (at, directive) = lines
                .iter()
                .enumerate()
                .find(|(_, l)| l.ends_with("\"uop-defs/defs/abi.uop\""))
                .expect("a #line into abi.uop");
            let number: usize = directive.split(' ').nth(1).unwrap().parse().unwrap();
            assert_eq!(abi.lines().nth(number - 1), Some(lines[at + 1]), "{text}");
            assert!(
                !text.contains("/work/") && !text.contains("/home/"),
                "{text}"
            );
        }
    }
}

fn compile_everything(toolchain: &Toolchain, units: &[CSource]) {
    for target in target::ALL {
        for unit in units {
            let compiled = toolchain
                .compile(target, unit)
                .unwrap_or_else(|e| panic!("{e}\n{}", unit.text));
            assert!(
                compiled.warnings.trim().is_empty(),
                "clang warned on {}: {}",
                unit.name,
                compiled.warnings
            );
            let file = object::File::parse(&*compiled.object).unwrap();
            let arch = match target.arch {
                runtime::Arch::X86_64 => object::Architecture::X86_64,
                runtime::Arch::Aarch64 => object::Architecture::Aarch64,
                runtime::Arch::I686 => object::Architecture::I386,
                runtime::Arch::Riscv64 => object::Architecture::Riscv64,
            };
            assert_eq!(file.architecture(), arch, "{}", unit.name);
            let expected = match target.format {
                Format::Elf => object::BinaryFormat::Elf,
                Format::MachO => object::BinaryFormat::MachO,
                Format::Coff => object::BinaryFormat::Coff,
            };
            assert_eq!(file.format(), expected, "{}", unit.name);
            let name = format!("{}_JIT_ENTRY", target.symbol_prefix);
            let entry = file
                .symbols()
                .find(|s| s.name() == Ok(name.as_str()))
                .unwrap_or_else(|| panic!("no {name} in {} for {}", unit.name, target.triple));
            assert!(entry.is_definition());
        }
    }
}

#[test]
fn every_reference_uop_compiles_with_clang_for_every_target() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let mut units = vec![emit_c::emit_shim(reference_abi()).unwrap()];
    for file in reference_defs() {
        for uop in &file.uops {
            units.push(emit_c::emit_uop(reference_abi(), &file, uop).unwrap());
        }
    }
    assert!(units.len() > 40, "only {} units", units.len());
    compile_everything(&toolchain, &units);
}

#[test]
fn the_hand_made_uop_compiles_with_clang_for_every_target() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let file = hand_made_file();
    compile_everything(
        &toolchain,
        &[emit_c::emit_uop(reference_abi(), &file, &file.uops[0]).unwrap()],
    );
}

#[test]
fn dsl_paths_use_slashes_and_keep_their_root() {
    assert_eq!(emit_c::dsl_path(Path::new("./defs/a.uop")), "defs/a.uop");
    assert_eq!(emit_c::dsl_path(Path::new("/tmp/x/a.uop")), "/tmp/x/a.uop");
    assert_eq!(
        emit_c::dsl_path(Path::new("defs/../x/a.uop")),
        "defs/../x/a.uop"
    );
    assert_eq!(
        emit_c::dsl_path(&Path::new("uop-defs").join("defs").join("int.uop")),
        "uop-defs/defs/int.uop"
    );
}

/// The shim's translation unit with `extra` C appended, run through
/// clang's preprocessor and compiler for `target`; the preprocessed text.
fn preprocess_with(toolchain: &Toolchain, target: &target::Target, extra: &str) -> String {
    let shim = emit_c::emit_shim(reference_abi()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("probe.c");
    std::fs::write(&source, format!("{}\n{extra}\n", shim.text)).unwrap();
    // Compiling checks the static assertions; preprocessing shows the
    // attributes the macros became.
    let mut args = stencil_gen::toolchain::compile_args(target);
    args.retain(|a| a != "-c");
    let run = |mode: &str, output: &str| {
        let out = toolchain
            .clang
            .command()
            .args(&args)
            .arg(mode)
            .arg(&source)
            .arg("-o")
            .arg(dir.path().join(output))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} for {}: {}",
            mode,
            target.triple,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run("-c", "probe.o");
    run("-E", "probe.i");
    std::fs::read_to_string(dir.path().join("probe.i")).unwrap()
}

#[test]
fn the_frame_has_the_same_layout_on_every_target() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    // The VM's `#[repr(C)]` frame: five 8-byte fields, even where pointers
    // take 4 bytes.
    let layout = "_Static_assert(__builtin_offsetof(vm_frame, locals) == 0, \"locals\");\n\
                  _Static_assert(__builtin_offsetof(vm_frame, heap) == 8, \"heap\");\n\
                  _Static_assert(__builtin_offsetof(vm_frame, heap_len) == 16, \"heap_len\");\n\
                  _Static_assert(__builtin_offsetof(vm_frame, sp) == 24, \"sp\");\n\
                  _Static_assert(__builtin_offsetof(vm_frame, result) == 32, \"result\");\n\
                  _Static_assert(sizeof(vm_frame) == 40 && _Alignof(vm_frame) == 8, \"size\");";
    for target in target::ALL {
        // The assertions hold where pointers take 4 bytes too.
        let pointer = if target.arch == runtime::Arch::I686 {
            4
        } else {
            8
        };
        let pointer_size =
            format!("_Static_assert(sizeof(void *) == {pointer}, \"pointer size\");");
        preprocess_with(&toolchain, target, &format!("{layout}\n{pointer_size}"));
    }
}

#[test]
fn preserve_none_is_used_exactly_on_x86_64_and_aarch64() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    for target in target::ALL {
        let text = preprocess_with(&toolchain, target, "");
        let continuation = text
            .lines()
            .find(|l| l.contains("_JIT_CONTINUE(vm_frame *frame"))
            .unwrap_or_else(|| panic!("no continuation for {}", target.triple));
        let expected = matches!(target.arch, runtime::Arch::X86_64 | runtime::Arch::Aarch64);
        assert_eq!(
            continuation.contains("__attribute__((preserve_none))"),
            expected,
            "{}: {continuation}",
            target.triple
        );
    }
}

#[test]
fn a_32_bit_target_reads_the_operand_from_its_import_slot() {
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let file = hand_made_file();
    let unit = emit_c::emit_uop(reference_abi(), &file, &file.uops[0]).unwrap();
    for target in target::ALL {
        let object = toolchain.compile(target, &unit).unwrap().object;
        let file = object::File::parse(&*object).unwrap();
        let slot = format!("__imp_{}_JIT_OPERAND", target.symbol_prefix);
        let uses_slot = file.symbols().any(|s| s.name() == Ok(slot.as_str()));
        assert_eq!(
            uses_slot,
            target.arch == runtime::Arch::I686,
            "{}",
            target.triple
        );
    }
}

/// The `file:line` of clang's first error on `unit`, with or without
/// following the `#line` directives.
fn first_error_line(toolchain: &Toolchain, unit: &CSource, presumed: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(&unit.file_name), &unit.text).unwrap();
    let target = target::Target::find("x86_64").unwrap();
    let mut args = stencil_gen::toolchain::compile_args(target);
    args.retain(|a| a != "-c");
    let out = toolchain
        .clang
        .command()
        .current_dir(dir.path())
        .args(&args)
        .arg("-fsyntax-only")
        .args(
            ["-Xclang", "-fno-diagnostics-use-presumed-location"]
                .iter()
                .filter(|_| !presumed),
        )
        .arg(&unit.file_name)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = stderr
        .lines()
        .find(|l| l.contains(": error: "))
        .unwrap_or_else(|| panic!("no error:\n{stderr}"));
    let mut parts = error.splitn(3, ':');
    format!("{}:{}", parts.next().unwrap(), parts.next().unwrap())
}

#[test]
fn lines_after_a_body_with_carriage_return_line_endings_keep_their_numbers() {
    // The output `r` becomes a macro naming nothing, so clang's error is in
    // the store after the body, where the C file's own numbering resumes.
    let src = "// Old Mac OS line endings.\r\
               uop bad( -- r) {\r\
               #define r not_declared_anywhere\r\
               \r\
               }\r";
    let file = uop_defs::parse(Path::new("defs/mac.uop"), src).unwrap_or_else(|d| panic!("{d}"));
    let unit = emit_c::emit_uop(reference_abi(), &file, &file.uops[0]).unwrap();
    let toolchain = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let physical = first_error_line(&toolchain, &unit, false);
    assert!(
        physical.starts_with(&format!("{}:", unit.file_name)),
        "{physical}\n{}",
        unit.text
    );
    assert_eq!(first_error_line(&toolchain, &unit, true), physical);
}
