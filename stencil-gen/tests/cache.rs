//! The stencil cache with the real LLVM 19 tools: a warm cache runs no tool
//! and gives the same bytes, a changed uop is recompiled alone on each
//! target, unsound entries are rebuilt, and an entry made by another clang
//! build is never used.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use stencil_gen::cache;
use stencil_gen::pipeline::{
    self, Event, GenError, GenOptions, Generation, OutputFile, Progress, UnitId,
};
use stencil_gen::target::{self, X86_64_LINUX};
use stencil_gen::toolchain::{Tool, Toolchain, PINNED_LLVM_MAJOR};

const DEFS: &str = "uop-defs/defs";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every tool command and every compiled unit a generation reported.
#[derive(Default)]
struct Recorder {
    commands: Mutex<Vec<Tool>>,
    compiled: Mutex<Vec<UnitId>>,
}

impl Progress for Recorder {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Command { tool, .. } => self.commands.lock().unwrap().push(*tool),
            Event::Compiled { unit, .. } => self.compiled.lock().unwrap().push((*unit).clone()),
            Event::Planned { .. } => {}
        }
    }
}

impl Recorder {
    fn count(&self, tool: Tool) -> usize {
        self.commands
            .lock()
            .unwrap()
            .iter()
            .filter(|t| **t == tool)
            .count()
    }
}

/// A workspace-like root holding a copy of the uop definitions, so that
/// the C of every unit (its `#line` paths included) is the workspace's.
fn copy_of_defs() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let to = root.path().join(DEFS);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(workspace_root().join(DEFS)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
    root
}

/// Copy the workspace's stencil ABI into `defs`, which needs one.
fn copy_abi(defs: &Path) {
    let abi = workspace_root().join(DEFS).join("abi.uop");
    std::fs::copy(abi, defs.join("abi.uop")).unwrap();
}

/// Insert `;` (an empty statement) at the start of `uop`'s body under
/// `root`: its C changes and no line moves.
fn change_uop(root: &Path, uop: &str) {
    let files = uop_defs::load_dir(&root.join(DEFS))
        .unwrap_or_else(|d| panic!("{d}"))
        .files;
    let (file, found) = files
        .iter()
        .find_map(|f| f.uops.iter().find(|u| u.name == uop).map(|u| (f, u)))
        .unwrap_or_else(|| panic!("no uop {uop}"));
    let mut text = std::fs::read_to_string(&file.path).unwrap();
    text.insert(found.body_span.offset, ';');
    std::fs::write(&file.path, text).unwrap();
}

fn options(root: &Path, cache: Option<&Path>) -> GenOptions {
    let mut opts = GenOptions::new(root, DEFS);
    opts.cache_dir = cache.map(Path::to_path_buf);
    opts
}

fn generate(opts: &GenOptions, progress: &dyn Progress) -> Generation {
    pipeline::generate_with(opts, progress).unwrap_or_else(|e| panic!("{e}"))
}

/// The files of `generated/` as committed.
fn committed(files: &[OutputFile]) -> Vec<OutputFile> {
    let out = workspace_root().join("generated");
    files
        .iter()
        .map(|f| OutputFile {
            path: f.path.clone(),
            bytes: std::fs::read(out.join(&f.path)).unwrap_or_default(),
        })
        .collect()
}

fn assert_same_files(a: &[OutputFile], b: &[OutputFile]) {
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(b) {
        assert_eq!(a.path, b.path);
        assert!(a.bytes == b.bytes, "{} differs", a.path.display());
    }
}

/// One cold generation of the workspace's definitions, shared by the
/// tests: its cache (under this test binary's scratch directory), its
/// result and what it ran. Each test copies the cache before using it.
struct Cold {
    cache: PathBuf,
    generation: Generation,
    clang_runs: usize,
    objdump_runs: usize,
    compiled: Vec<UnitId>,
}

fn cold() -> &'static Cold {
    static COLD: OnceLock<Cold> = OnceLock::new();
    COLD.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cold-stencil-cache");
        if cache.exists() {
            std::fs::remove_dir_all(&cache).unwrap();
        }
        let recorder = Recorder::default();
        let generation = generate(&options(&workspace_root(), Some(&cache)), &recorder);
        Cold {
            cache,
            clang_runs: recorder.count(Tool::Clang),
            objdump_runs: recorder.count(Tool::Objdump),
            compiled: recorder.compiled.into_inner().unwrap(),
            generation,
        }
    })
}

/// A private copy of the cold run's (now warm) cache.
fn warm_cache() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&cold().cache).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_cold_cache_compiles_every_unit_and_a_warm_one_runs_no_tool() {
    let cold = cold();
    let report = &cold.generation.report;
    let units = target::ALL.len() * (report.uops * report.variants + 1);
    assert_eq!(report.units, units);
    assert_eq!(report.recompiled.len(), units);
    assert_eq!(report.cached, 0);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert!(report.clang_time > std::time::Duration::ZERO);
    assert_eq!(cold.clang_runs, units);
    assert_eq!(cold.objdump_runs, target::ALL.len());
    let mut compiled = cold.compiled.clone();
    compiled.sort();
    let mut listed = report.recompiled.clone();
    listed.sort();
    assert_eq!(compiled, listed);
    // One entry per unit, and no temporary file left.
    let stored = entries(&cold.cache);
    assert_eq!(stored.len(), units);
    for path in &stored {
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
    }
    assert_same_files(&cold.generation.files, &committed(&cold.generation.files));

    let cache = warm_cache();
    let recorder = Recorder::default();
    let warm = generate(&options(&workspace_root(), Some(cache.path())), &recorder);
    assert!(
        warm.report.recompiled.is_empty(),
        "{:?}",
        warm.report.recompiled
    );
    assert_eq!(warm.report.cached, units);
    assert_eq!(warm.report.clang_time, std::time::Duration::ZERO);
    assert!(recorder.commands.lock().unwrap().is_empty());
    assert!(recorder.compiled.lock().unwrap().is_empty());
    assert_same_files(&warm.files, &cold.generation.files);
    // Warnings come back from the cache as clang gave them.
    assert_eq!(warm.report.warnings, report.warnings);
}

#[test]
fn a_changed_uop_is_recompiled_alone_on_each_target() {
    let cache = warm_cache();
    let root = copy_of_defs();
    // The copy is laid out as the workspace: nothing to compile.
    let same = generate(&options(root.path(), Some(cache.path())), &pipeline::Quiet);
    assert!(
        same.report.recompiled.is_empty(),
        "{:?}",
        same.report.recompiled
    );

    change_uop(root.path(), "add_i64");
    let recorder = Recorder::default();
    let changed = generate(&options(root.path(), Some(cache.path())), &recorder);
    // add_i64 (a, b -- r) has a variant per number of values in registers
    // on entry; each is a unit of its own.
    let variants = ["r01", "r11", "r21", "r32"];
    let expected: Vec<UnitId> = target::ALL
        .iter()
        .flat_map(|t| {
            variants.iter().map(|v| UnitId {
                uop: format!("add_i64.{v}"),
                target: t.triple,
            })
        })
        .collect();
    assert_eq!(changed.report.recompiled, expected);
    assert_eq!(changed.report.cached, changed.report.units - expected.len());
    assert_eq!(recorder.count(Tool::Clang), expected.len());
    assert_eq!(recorder.count(Tool::Objdump), target::ALL.len());
    assert_eq!(
        entries(cache.path()).len(),
        cold().generation.report.units + expected.len()
    );

    // Cached and fresh units together make what compiling all makes.
    let fresh = generate(&options(root.path(), None), &pipeline::Quiet);
    assert_eq!(fresh.report.recompiled.len(), fresh.report.units);
    assert_same_files(&changed.files, &fresh.files);
}

#[test]
fn a_corrupt_and_a_truncated_entry_are_rebuilt_never_used() {
    let cache = warm_cache();
    let stored = entries(cache.path());
    let (flipped, truncated) = (&stored[3], &stored[stored.len() - 5]);
    let mut bytes = std::fs::read(flipped).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    std::fs::write(flipped, &bytes).unwrap();
    let bytes = std::fs::read(truncated).unwrap();
    std::fs::write(truncated, &bytes[..bytes.len() / 2]).unwrap();

    let opts = options(&workspace_root(), Some(cache.path()));
    let rebuilt = generate(&opts, &pipeline::Quiet);
    let report = &rebuilt.report;
    assert_eq!(report.rejected.len(), 2, "{:?}", report.rejected);
    let reasons: Vec<&str> = report
        .rejected
        .iter()
        .map(|(_, why)| why.as_str())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("digest")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("truncated")),
        "{reasons:?}"
    );
    let rejected: Vec<UnitId> = report.rejected.iter().map(|(u, _)| u.clone()).collect();
    assert_eq!(report.recompiled, rejected);
    assert_eq!(report.cached, report.units - 2);
    assert_same_files(&rebuilt.files, &cold().generation.files);

    // Both entries were replaced by sound ones.
    let again = generate(&opts, &pipeline::Quiet);
    assert!(
        again.report.recompiled.is_empty(),
        "{:?}",
        again.report.recompiled
    );
    assert!(
        again.report.rejected.is_empty(),
        "{:?}",
        again.report.rejected
    );
    assert_eq!(entries(cache.path()), stored);
}

/// A bin directory whose clang is the real one, but says one more line on
/// `--version`, as another build of the same release would.
fn other_clang_build() -> tempfile::TempDir {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let real = Toolchain::find(None, PINNED_LLVM_MAJOR).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let clang = std::fs::canonicalize(&real.clang.path).unwrap();
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --version ]; then\n  '{0}' --version\n  echo 'Built with other patches'\n  exit 0\nfi\nexec '{0}' \"$@\"\n",
        clang.display()
    );
    let path = dir.path().join("clang");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    symlink(&real.objdump.path, dir.path().join("llvm-objdump")).unwrap();
    symlink(&real.readelf.path, dir.path().join("llvm-readelf")).unwrap();
    dir
}

#[test]
fn an_entry_of_another_clang_build_is_not_used() {
    let cache = warm_cache();
    let bin = other_clang_build();
    let mut opts = options(&workspace_root(), Some(cache.path()));
    opts.llvm_bin_dir = Some(bin.path().to_path_buf());
    let toolchain = Toolchain::find(Some(bin.path()), PINNED_LLVM_MAJOR).unwrap();
    assert!(toolchain
        .clang
        .version_text
        .contains("Built with other patches"));

    let other = generate(&opts, &pipeline::Quiet);
    assert_eq!(other.report.cached, 0);
    assert_eq!(other.report.recompiled.len(), other.report.units);
    // The same release makes the same stencils.
    assert_same_files(&other.files, &cold().generation.files);

    // Each build keeps its own entries.
    assert_eq!(entries(cache.path()).len(), 2 * other.report.units);
    let real = generate(
        &options(&workspace_root(), Some(cache.path())),
        &pipeline::Quiet,
    );
    assert!(real.report.recompiled.is_empty());
    let again = generate(&opts, &pipeline::Quiet);
    assert!(again.report.recompiled.is_empty());
}

#[test]
fn a_failed_generation_still_caches_the_units_that_built() {
    let root = tempfile::tempdir().unwrap();
    let defs = root.path().join("defs");
    std::fs::create_dir(&defs).unwrap();
    let good = "/// Negates.\nuop neg(a -- r) {\n    r = -a;\n}\n";
    let bad = "/// Adds.\nuop add(a, b -- r) {\n    r = a +;\n}\n";
    std::fs::write(defs.join("a.uop"), format!("{good}\n{bad}")).unwrap();
    copy_abi(&defs);
    let cache = tempfile::tempdir().unwrap();
    let mut opts = GenOptions::new(root.path(), "defs");
    opts.targets = vec![&X86_64_LINUX];
    opts.cache_dir = Some(cache.path().to_path_buf());

    let error = pipeline::generate(&opts).unwrap_err();
    assert!(matches!(error, GenError::Build(_)), "{error}");
    // Every variant of `add` fails alike: one message names them all.
    assert!(
        error
            .to_string()
            .contains("uop `add` (defs/a.uop:7:5) in variants r01, r11, r21, r32 for"),
        "{error}"
    );
    assert_eq!(error.to_string().matches("expected expression").count(), 1);
    // The shim, the 4 variants of `neg` and of `cache_spill` are stored.
    assert_eq!(entries(cache.path()).len(), 9);

    let fixed = bad.replace("a +;", "a + b;");
    std::fs::write(defs.join("a.uop"), format!("{good}\n{fixed}")).unwrap();
    let generation = pipeline::generate(&opts).unwrap_or_else(|e| panic!("{e}"));
    let add: Vec<UnitId> = ["r01", "r11", "r21", "r32"]
        .iter()
        .map(|v| UnitId {
            uop: format!("add.{v}"),
            target: X86_64_LINUX.triple,
        })
        .collect();
    assert_eq!(generation.report.recompiled, add);
    assert_eq!(generation.report.cached, 9);
}

#[test]
fn no_cache_dir_means_every_unit_compiles_and_nothing_is_stored() {
    let root = tempfile::tempdir().unwrap();
    let defs = root.path().join("defs");
    std::fs::create_dir(&defs).unwrap();
    std::fs::write(defs.join("a.uop"), "uop nop( -- ) {\n}\n").unwrap();
    copy_abi(&defs);
    let mut opts = GenOptions::new(root.path(), "defs");
    opts.targets = vec![&X86_64_LINUX];
    // By default the cache is under the root.
    assert_eq!(
        opts.cache_dir.as_deref(),
        Some(root.path().join(cache::DEFAULT_DIR).as_path())
    );
    opts.cache_dir = None;
    for _ in 0..2 {
        let generation = pipeline::generate(&opts).unwrap_or_else(|e| panic!("{e}"));
        // The shim, and 4 variants each of `nop` and `cache_spill`.
        assert_eq!(generation.report.recompiled.len(), 9);
        assert_eq!(generation.report.cache_dir, None);
    }
    assert!(!root.path().join("target").exists());
}

/// `generate`, failing rather than hanging when it does not end within
/// two minutes (a warm generation takes seconds).
fn generate_or_hang(opts: GenOptions) -> Generation {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(pipeline::generate(&opts).map_err(|e| e.to_string()));
    });
    rx.recv_timeout(std::time::Duration::from_secs(120))
        .expect("the generation hangs")
        .unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(unix)]
#[test]
fn a_fifo_a_directory_or_a_huge_file_in_place_of_an_entry_is_rejected_unread() {
    let cache = warm_cache();
    let stored = entries(cache.path());
    let (fifo, dir, huge) = (&stored[1], &stored[2], &stored[4]);
    for path in [fifo, dir, huge] {
        std::fs::remove_file(path).unwrap();
    }
    // A FIFO with no writer blocks whoever opens it for reading.
    let made = std::process::Command::new("mkfifo")
        .arg(fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir(dir).unwrap();
    // Sparse: no disk space taken.
    let file = std::fs::File::create(huge).unwrap();
    file.set_len(cache::MAX_ENTRY_LEN + 1).unwrap();
    drop(file);

    let opts = options(&workspace_root(), Some(cache.path()));
    let rebuilt = generate_or_hang(opts.clone());
    let mut reasons: Vec<&str> = rebuilt
        .report
        .rejected
        .iter()
        .map(|(_, why)| why.as_str())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "67108865 bytes, larger than any entry (at most 67108864)",
            "not a regular file but a FIFO",
            "not a regular file but a directory",
        ]
    );
    assert_eq!(rebuilt.report.recompiled.len(), 3);
    assert_same_files(&rebuilt.files, &cold().generation.files);
    // The FIFO and the huge file were replaced by sound entries; the
    // directory cannot be, and says so.
    assert!(std::fs::metadata(fifo).unwrap().is_file());
    assert!(std::fs::metadata(huge).unwrap().len() < 1 << 20);
    let store_errors: Vec<&String> = rebuilt
        .report
        .warnings
        .iter()
        .filter(|w| w.starts_with("cannot store "))
        .collect();
    assert_eq!(store_errors.len(), 1, "{:?}", rebuilt.report.warnings);
    assert!(
        store_errors[0].contains(&format!(
            "in the stencil cache at {}",
            cache.path().display()
        )),
        "{}",
        store_errors[0]
    );

    let again = generate_or_hang(opts);
    let reasons: Vec<&str> = again
        .report
        .rejected
        .iter()
        .map(|(_, why)| why.as_str())
        .collect();
    assert_eq!(reasons, ["not a regular file but a directory"]);
}

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn temporary_entries_of_dead_writers_are_removed_and_those_of_live_ones_kept() {
    let cache = warm_cache();
    let dead = cache.path().join(format!(".entry-{}-a1b2c3", dead_pid()));
    let live = cache
        .path()
        .join(format!(".entry-{}-d4e5f6", std::process::id()));
    // Without a pid (as written before pids were in the name): removed
    // only once old.
    let old = cache.path().join(".entry-OLDabc");
    let recent = cache.path().join(".entry-NEWabc");
    for path in [&dead, &live, &old, &recent] {
        std::fs::write(path, b"STENCIL\0half an entry").unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();

    let generation = generate(
        &options(&workspace_root(), Some(cache.path())),
        &pipeline::Quiet,
    );
    assert!(generation.report.recompiled.is_empty());
    assert!(!dead.exists() && !old.exists());
    assert!(live.exists() && recent.exists());
}
