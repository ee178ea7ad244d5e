//! The committed `generated/` is exactly what the current inputs and the
//! pinned LLVM produce (the CI freshness check), generation is
//! deterministic, and a failed generation writes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stencil_gen::pipeline::{self, GenError, GenOptions, OutputFile};
use stencil_gen::target::{self, X86_64_LINUX};
use stencil_gen::writer;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn reference_options(jobs: Option<usize>) -> GenOptions {
    let mut opts = GenOptions::new(workspace_root(), "uop-defs/defs");
    opts.jobs = jobs;
    opts
}

fn generate(opts: &GenOptions) -> Vec<OutputFile> {
    pipeline::generate(opts)
        .unwrap_or_else(|e| panic!("{e}"))
        .files
}

#[test]
fn committed_output_is_fresh() {
    let files = generate(&reference_options(None));
    let out = workspace_root().join("generated");
    let mut stale = Vec::new();
    for file in &files {
        let committed = std::fs::read(out.join(&file.path)).unwrap_or_default();
        if committed != file.bytes {
            stale.push(file.path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "generated/ is stale: {} differ from what the inputs produce; run `cargo xtask gen-stencils`",
        stale.join(", ")
    );
    let mut paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    paths.sort();
    let mut expected = vec![PathBuf::from("src/lib.rs")];
    for t in target::ALL {
        expected.push(writer::module_path(t));
        expected.push(writer::manifest_path(t));
    }
    expected.sort();
    assert_eq!(
        paths,
        expected.iter().map(PathBuf::as_path).collect::<Vec<_>>()
    );
}

#[test]
fn output_is_the_same_whatever_the_job_count_and_path_spelling() {
    let one = generate(&reference_options(Some(1)));
    let mut opts = reference_options(Some(3));
    // The same defs directory, spelled absolutely and with a detour.
    opts.defs_dir = workspace_root()
        .join("uop-defs")
        .join("..")
        .join("uop-defs/defs");
    let three = generate(&opts);
    assert_eq!(one.len(), three.len());
    for (a, b) in one.iter().zip(&three) {
        assert_eq!(a.path, b.path);
        assert!(a.bytes == b.bytes, "{} differs", a.path.display());
    }
    // Nothing machine-specific in any output.
    let root = workspace_root();
    let root = root.to_str().unwrap();
    for file in &one {
        let text = String::from_utf8(file.bytes.clone()).unwrap();
        assert!(!text.contains(root), "{} names {root}", file.path.display());
        assert!(text.contains("@generated"), "{}", file.path.display());
    }
}

/// Every file under `dir`, with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let content = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), content);
            }
        }
    }
    files
}

/// An output directory holding an older generation.
fn prefilled_out() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(out.path().join("src")).unwrap();
    std::fs::write(out.path().join("src/lib.rs"), "// old lib\n").unwrap();
    std::fs::write(
        out.path().join(writer::module_path(&X86_64_LINUX)),
        "// old module\n",
    )
    .unwrap();
    std::fs::write(
        out.path().join(writer::manifest_path(&X86_64_LINUX)),
        "{\"old\": true}\n",
    )
    .unwrap();
    out
}

const GOOD: &str = "/// Negates.\nuop neg(a -- r) {\n    r = -a;\n}\n";

/// A root whose `defs` holds `files` and the workspace's stencil ABI.
fn defs_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("defs")).unwrap();
    let abi = workspace_root().join("uop-defs/defs/abi.uop");
    std::fs::copy(abi, root.path().join("defs").join("abi.uop")).unwrap();
    for (name, src) in files {
        std::fs::write(root.path().join("defs").join(name), src).unwrap();
    }
    root
}

#[test]
fn a_c_error_in_one_uop_leaves_the_out_dir_untouched() {
    // `a.uop` compiles; `z.uop` parses but is not valid C.
    let root = defs_with(&[
        ("a.uop", GOOD),
        ("z.uop", "uop bad(a -- r) {\n    r = a +;\n}\n"),
    ]);
    let out = prefilled_out();
    let before = snapshot(out.path());
    let opts = GenOptions::new(root.path(), "defs");
    let error = pipeline::run(&opts, out.path()).unwrap_err();
    assert!(matches!(error, GenError::Build(_)), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("uop `bad` (defs/z.uop:1:5)"), "{text}");
    assert!(
        text.contains("defs/z.uop:2:12: error: expected expression"),
        "{text}"
    );
    assert_eq!(snapshot(out.path()), before);
}

#[test]
fn a_dsl_error_leaves_the_out_dir_untouched() {
    let root = defs_with(&[("a.uop", GOOD), ("b.uop", "uop broken(a b -- r) {\n}\n")]);
    let out = prefilled_out();
    let before = snapshot(out.path());
    let opts = GenOptions::new(root.path(), "defs");
    let error = pipeline::run(&opts, out.path()).unwrap_err();
    assert!(matches!(error, GenError::Defs(_)), "{error:?}");
    assert!(error.to_string().contains("b.uop:1:"), "{error}");
    assert_eq!(snapshot(out.path()), before);
}

#[test]
fn a_successful_run_replaces_the_files_and_leaves_no_temporary_file() {
    let root = defs_with(&[("a.uop", GOOD)]);
    let out = prefilled_out();
    let mut opts = GenOptions::new(root.path(), "defs");
    opts.targets = vec![&X86_64_LINUX];
    let generation = pipeline::run(&opts, out.path()).unwrap_or_else(|e| panic!("{e}"));
    let after = snapshot(out.path());
    // Exactly the generated files (the x86-64 pair and lib.rs).
    let expected: BTreeMap<PathBuf, Vec<u8>> = generation
        .files
        .iter()
        .map(|f| (f.path.clone(), f.bytes.clone()))
        .collect();
    assert_eq!(after, expected);
    let module = String::from_utf8(after[&writer::module_path(&X86_64_LINUX)].clone()).unwrap();
    assert!(module.contains("pub const NEG: u16 = 0;"), "{module}");
    assert!(module.contains("defs/a.uop"), "{module}");
    // `neg`, and the `cache_spill` the cache of 3 adds.
    assert_eq!(generation.report.uops, 2);
    assert_eq!(generation.report.variants, 4);
    assert!(generation.report.clang_time > std::time::Duration::ZERO);
}

#[test]
fn an_unwritable_file_replaces_no_file() {
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("first.json"), "old\n").unwrap();
    // `src` is a file, so nothing can be written under it.
    std::fs::write(out.path().join("src"), "not a directory\n").unwrap();
    let files = vec![
        OutputFile {
            path: PathBuf::from("first.json"),
            bytes: b"new\n".to_vec(),
        },
        OutputFile {
            path: PathBuf::from("src/lib.rs"),
            bytes: b"// new\n".to_vec(),
        },
    ];
    let before = snapshot(out.path());
    let error = pipeline::write_outputs(&files, out.path()).unwrap_err();
    assert!(error.to_string().contains("src/lib.rs"), "{error}");
    assert_eq!(snapshot(out.path()), before);
}

#[test]
fn every_template_file_is_a_digested_input() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let on_disk = snapshot(&dir);
    let digested: BTreeMap<PathBuf, Vec<u8>> = stencil_gen::digest::TEMPLATES
        .iter()
        .map(|(path, source)| {
            let name = Path::new(path)
                .strip_prefix("stencil-gen/templates")
                .unwrap();
            (name.to_path_buf(), source.as_bytes().to_vec())
        })
        .collect();
    assert_eq!(on_disk, digested);
}

#[test]
fn every_input_changes_the_inputs_digest() {
    use stencil_gen::digest::{InputDigests, FLAGS_INPUT, LLVM_INPUT};
    let dsl = vec![("defs/a.uop".to_string(), GOOD.as_bytes().to_vec())];
    let base = InputDigests::for_target(&dsl, &X86_64_LINUX, "19.1.7");
    assert_eq!(
        base,
        InputDigests::for_target(&dsl, &X86_64_LINUX, "19.1.7")
    );
    assert_eq!(base.combined.len(), 64);
    assert!(base.inputs.contains_key(FLAGS_INPUT) && base.inputs.contains_key(LLVM_INPUT));

    let edited = vec![("defs/a.uop".to_string(), b"uop nop( -- ) {}\n".to_vec())];
    let moved = vec![("defs/b.uop".to_string(), GOOD.as_bytes().to_vec())];
    let others = [
        InputDigests::for_target(&edited, &X86_64_LINUX, "19.1.7"),
        InputDigests::for_target(&moved, &X86_64_LINUX, "19.1.7"),
        InputDigests::for_target(&dsl, &X86_64_LINUX, "19.1.6"),
        InputDigests::for_target(&dsl, &target::AARCH64_LINUX, "19.1.7"),
    ];
    for other in &others {
        assert_ne!(other.combined, base.combined);
    }
    // Only the flags differ between targets.
    let aarch64 = &others[3];
    for (name, digest) in &base.inputs {
        assert_eq!(
            aarch64.inputs[name] == *digest,
            name != FLAGS_INPUT,
            "{name}"
        );
    }
}
