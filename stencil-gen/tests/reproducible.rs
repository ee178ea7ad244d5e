//! Generation is byte-for-byte reproducible: the output is the same
//! whatever the job count, current directory, temporary directory, target
//! order and location of the uop definitions, and carries nothing of the
//! machine (workspace path, temporary path, user name, host name).
//!
//! The tests change the process's current directory and environment, so
//! each holds one lock for its whole run.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use stencil_gen::pipeline::{self, GenOptions};
use stencil_gen::target;

type Files = BTreeMap<PathBuf, Vec<u8>>;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Held by each test: the process state they change is shared.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn generate(opts: &GenOptions) -> Files {
    pipeline::generate(opts)
        .unwrap_or_else(|e| panic!("{e}"))
        .files
        .into_iter()
        .map(|f| (f.path, f.bytes))
        .collect()
}

/// Options for `root` that compile everything afresh: a cached object
/// would not show what clang does under the condition tested.
fn options_for(root: &Path) -> GenOptions {
    let mut opts = GenOptions::new(root, "uop-defs/defs");
    opts.cache_dir = None;
    opts
}

/// Copies the workspace's uop definitions to `root`'s `uop-defs/defs`,
/// with a cache of 1 rather than the reference's: every uop and target,
/// with and without values in registers, in half the translation units
/// (the conditions tested here do not depend on how many variants there
/// are).
fn copy_defs(root: &Path) {
    let defs = root.join("uop-defs").join("defs");
    std::fs::create_dir_all(&defs).unwrap();
    for entry in std::fs::read_dir(workspace_root().join("uop-defs/defs")).unwrap() {
        let entry = entry.unwrap();
        let mut text = std::fs::read_to_string(entry.path()).unwrap();
        if entry.file_name() == "abi.uop" {
            assert!(
                text.contains("\n    cache 3;\n"),
                "the reference cache moved"
            );
            text = text.replace("\n    cache 3;\n", "\n    cache 1;\n");
        }
        std::fs::write(defs.join(entry.file_name()), text).unwrap();
    }
}

/// A checkout of the definitions that the tests generate from.
fn checkout() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = tempfile::tempdir().unwrap();
        copy_defs(root.path());
        root
    })
    .path()
}

fn options() -> GenOptions {
    options_for(checkout())
}

/// The output with the default options, generated once.
fn baseline() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| generate(&options()))
}

fn assert_same(what: &str, files: &Files) {
    let base = baseline();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        base.keys().collect::<Vec<_>>(),
        "{what}: other files"
    );
    for (path, bytes) in files {
        assert!(bytes == &base[path], "{what}: {} differs", path.display());
    }
}

/// Restores an environment variable when dropped.
struct EnvVar {
    name: &'static str,
    old: Option<OsString>,
}

impl EnvVar {
    fn set(name: &'static str, value: &Path) -> EnvVar {
        let old = std::env::var_os(name);
        std::env::set_var(name, value);
        EnvVar { name, old }
    }
}

impl Drop for EnvVar {
    fn drop(&mut self) {
        match &self.old {
            Some(v) => std::env::set_var(self.name, v),
            None => std::env::remove_var(self.name),
        }
    }
}

/// Restores the current directory when dropped.
struct Cwd(PathBuf);

impl Cwd {
    fn change(to: &Path) -> Cwd {
        let old = std::env::current_dir().unwrap();
        std::env::set_current_dir(to).unwrap();
        Cwd(old)
    }
}

impl Drop for Cwd {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir(&self.0);
    }
}

#[test]
fn one_job_and_two_jobs_give_the_same_bytes() {
    let _serial = serial();
    for jobs in [1, 2] {
        let mut opts = options();
        opts.jobs = Some(jobs);
        assert_same(&format!("{jobs} jobs"), &generate(&opts));
    }
}

#[test]
fn another_current_directory_gives_the_same_bytes() {
    let _serial = serial();
    baseline();
    let elsewhere = tempfile::tempdir().unwrap();
    let files = {
        let _cwd = Cwd::change(elsewhere.path());
        generate(&options())
    };
    assert_same("another current directory", &files);
    assert_no_machine_details(&files, &[elsewhere.path()]);
}

#[test]
fn another_temporary_directory_gives_the_same_bytes() {
    let _serial = serial();
    baseline();
    let tmp = tempfile::tempdir().unwrap();
    let tmp_dir = tmp.path().join("stencil-tmpdir-marker");
    std::fs::create_dir(&tmp_dir).unwrap();
    let files = {
        let _tmpdir = EnvVar::set("TMPDIR", &tmp_dir);
        generate(&options())
    };
    assert_same("another TMPDIR", &files);
    assert_no_machine_details(&files, &[&tmp_dir]);
    // The condition is real: clang's files go to TMPDIR, so a TMPDIR that
    // does not exist makes the generation fail.
    let missing = tmp.path().join("missing");
    let _tmpdir = EnvVar::set("TMPDIR", &missing);
    assert!(pipeline::generate(&options()).is_err());
}

#[test]
fn targets_in_another_order_give_the_same_bytes() {
    let _serial = serial();
    let mut opts = options();
    opts.targets = target::ALL.iter().rev().collect();
    assert_eq!(opts.targets.len(), target::ALL.len());
    assert_ne!(opts.targets[0].triple, target::ALL[0].triple);
    assert_same("targets reversed", &generate(&opts));
}

#[test]
fn definitions_elsewhere_under_another_root_give_the_same_bytes() {
    let _serial = serial();
    let other = tempfile::tempdir().unwrap();
    let root = other.path().join("another-checkout");
    copy_defs(&root);
    let files = generate(&options_for(&root));
    assert_same("definitions copied to another root", &files);
    assert_no_machine_details(&files, &[&root]);
}

#[test]
fn no_output_carries_the_machine() {
    let _serial = serial();
    assert_no_machine_details(baseline(), &[&std::env::temp_dir()]);
}

/// No file holds the workspace path, any of `paths`, or the user or host
/// name.
fn assert_no_machine_details(files: &Files, paths: &[&Path]) {
    let root = workspace_root();
    let mut forbidden: Vec<String> = vec![root.display().to_string()];
    if let Ok(canonical) = root.canonicalize() {
        forbidden.push(canonical.display().to_string());
    }
    for path in paths.iter().chain([&checkout()]) {
        forbidden.push(path.display().to_string());
        if let Ok(canonical) = path.canonicalize() {
            forbidden.push(canonical.display().to_string());
        }
    }
    forbidden.retain(|p| p.len() > 1);
    let inputs = input_text();
    let names = identity_names();
    assert!(
        !names.is_empty(),
        "neither the user nor the host name is known"
    );
    for (path, bytes) in files {
        let text = String::from_utf8_lossy(bytes);
        for p in &forbidden {
            assert!(!text.contains(p.as_str()), "{} holds {p}", path.display());
        }
        for name in &names {
            for form in [
                format!("/{name}/"),
                format!("\\{name}\\"),
                format!("{name}@"),
                format!("@{name}"),
            ] {
                assert!(!text.contains(&form), "{} holds {form}", path.display());
            }
            // As a word, the name may only come from what the inputs say
            // (a user called `root` against the doc of a square root).
            if !has_word(&inputs, name) {
                assert!(
                    !has_word(&text, name),
                    "{} holds the word {name}",
                    path.display()
                );
            }
        }
    }
}

/// Every DSL file and template, which may legitimately contain any word.
fn input_text() -> String {
    let root = workspace_root();
    let mut text = String::new();
    for dir in ["uop-defs/defs", "stencil-gen/templates"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
        }
    }
    text
}

/// Whether `word` occurs in `text` delimited by non-identifier characters.
fn has_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The user's and the host's names, as far as the machine tells them.
fn identity_names() -> Vec<String> {
    let mut names = vec![
        std::env::var("USER").unwrap_or_default(),
        command_output("whoami").unwrap_or_default(),
        command_output("hostname").unwrap_or_default(),
        std::fs::read_to_string("/etc/hostname").unwrap_or_default(),
    ];
    for name in &mut names {
        *name = name.trim().to_string();
    }
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    names
}

fn command_output(program: &str) -> Option<String> {
    let output = std::process::Command::new(program).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}
