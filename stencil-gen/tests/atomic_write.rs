//! Writing generated files lands as a whole or not at all: a change that
//! fails at any step leaves the old files, a run stopped at any step (and
//! then again while recovering) is recovered to all old or all new files,
//! a directory in place of an output changes nothing, concurrent writers
//! take turns, and no temporary file outlives the next run.

use std::collections::BTreeMap;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use stencil_gen::pipeline::{self, OutputFile};
use stencil_gen::writer::commit::{self, Action, Step};
use stencil_gen::writer::{self, WriteError};

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

fn as_map(files: &[OutputFile]) -> BTreeMap<PathBuf, Vec<u8>> {
    files
        .iter()
        .map(|f| (f.path.clone(), f.bytes.clone()))
        .collect()
}

/// A generation's layout: a module and a manifest per target, and lib.rs;
/// `old.json` only in the old one and `fresh.json` only in the new one, so
/// that files created and files replaced are both covered.
fn generation(tag: &str) -> Vec<OutputFile> {
    let mut files: Vec<OutputFile> = [
        "src/x86_64_unknown_linux_gnu.rs",
        "x86_64_unknown_linux_gnu.json",
        "src/aarch64_unknown_linux_gnu.rs",
        "aarch64_unknown_linux_gnu.json",
        "src/lib.rs",
    ]
    .iter()
    .map(|path| OutputFile {
        path: PathBuf::from(path),
        bytes: format!("// {tag} {path}\n").into_bytes(),
    })
    .collect();
    let only = if tag == "old" {
        "old.json"
    } else {
        "fresh.json"
    };
    files.push(OutputFile {
        path: PathBuf::from(only),
        bytes: format!("{{\"{tag}\": true}}\n").into_bytes(),
    });
    files
}

/// An output directory holding the old generation.
fn old_out() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    for file in generation("old") {
        let path = out.path().join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.bytes).unwrap();
    }
    out
}

/// The old generation and the new one written over it: as `write_outputs`
/// leaves it, everything else (the new one's files only, no old.json) is
/// the old one's.
fn expected() -> (BTreeMap<PathBuf, Vec<u8>>, BTreeMap<PathBuf, Vec<u8>>) {
    let old = as_map(&generation("old"));
    let mut new = old.clone();
    new.extend(as_map(&generation("new")));
    (old, new)
}

fn no_hook(_: &Step) -> io::Result<()> {
    Ok(())
}

/// Every step of writing the new generation over the old one.
fn all_steps() -> Vec<Step> {
    let out = old_out();
    let steps = Mutex::new(Vec::new());
    let record = |step: &Step| {
        steps.lock().unwrap().push(step.clone());
        Ok(())
    };
    commit::write_outputs(&generation("new"), out.path(), &record).unwrap();
    let steps = steps.into_inner().unwrap();
    assert_eq!(snapshot(out.path()), expected().1);
    steps
}

#[test]
fn the_steps_write_every_file_before_the_commit_and_rename_each_after() {
    let steps = all_steps();
    let actions: Vec<Action> = steps.iter().map(|s| s.action).collect();
    let count = |a: Action| actions.iter().filter(|&&x| x == a).count();
    assert_eq!(count(Action::WriteNew), 6);
    // Five of the six files replace an old one.
    assert_eq!(count(Action::KeepOld), 5);
    assert_eq!(count(Action::Commit), 1);
    assert_eq!(count(Action::Rename), 6);
    let commit = actions.iter().position(|&a| a == Action::Commit).unwrap();
    assert!(actions[..commit]
        .iter()
        .all(|a| matches!(a, Action::WriteNew | Action::KeepOld | Action::WriteJournal)));
    assert!(actions[commit + 1..]
        .iter()
        .all(|a| matches!(a, Action::Rename | Action::Remove)));
    for (index, step) in steps.iter().enumerate() {
        assert_eq!(step.index, index);
    }
}

#[test]
fn a_failure_at_any_step_leaves_the_old_files_and_no_temporary_file() {
    let (old, new) = expected();
    let steps = all_steps();
    for failing in &steps {
        let out = old_out();
        let fail = |step: &Step| {
            if step.index == failing.index {
                Err(io::Error::other("injected failure"))
            } else {
                Ok(())
            }
        };
        let error = commit::write_outputs(&generation("new"), out.path(), &fail).unwrap_err();
        let text = error.to_string();
        match failing.action {
            // After every rename, only temporary files are left to remove:
            // the new generation is in place, and the next run tidies up.
            Action::Remove => {
                assert!(matches!(error, WriteError::Cleanup { .. }), "{error:?}");
                assert!(text.contains("injected failure"), "{text}");
                writer::recover(out.path()).unwrap();
                assert_eq!(snapshot(out.path()), new, "failed at {failing:?}");
            }
            _ => {
                assert!(matches!(error, WriteError::Io { .. }), "{error:?}");
                assert_eq!(snapshot(out.path()), old, "failed at {failing:?}: {text}");
            }
        }
    }
}

#[test]
fn a_rename_that_fails_half_way_through_the_commit_is_undone() {
    let (old, _) = expected();
    let steps = all_steps();
    let third_rename = steps
        .iter()
        .filter(|s| s.action == Action::Rename)
        .nth(2)
        .unwrap()
        .clone();
    let out = old_out();
    let undone = Mutex::new(Vec::new());
    let fail = |step: &Step| {
        if step.action == Action::Undo {
            undone.lock().unwrap().push(step.path.clone());
        }
        if step.index == third_rename.index {
            Err(io::Error::other("injected failure"))
        } else {
            Ok(())
        }
    };
    let error = commit::write_outputs(&generation("new"), out.path(), &fail).unwrap_err();
    // Renamed in the order given.
    let third = "src/aarch64_unknown_linux_gnu.rs";
    assert!(third_rename.path.ends_with(third), "{third_rename:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "cannot write {}: injected failure",
            out.path().join(third).display()
        )
    );
    assert_eq!(snapshot(out.path()), old);
    // The two files renamed before were put back.
    assert!(undone.lock().unwrap().len() >= 2, "{undone:?}");
}

/// Write the new generation over `out`, stopped at step `stop` as a killed
/// process would be: no code of the writer runs after it.
fn write_stopped_at(out: &Path, stop: usize) -> bool {
    stopped(
        |hook| commit::write_outputs(&generation("new"), out, hook),
        stop,
    )
}

/// Recover `out`, stopped at step `stop`.
fn recover_stopped_at(out: &Path, stop: usize) -> bool {
    stopped(|hook| commit::recover(out, hook), stop)
}

/// Whether `run` was stopped at step `stop` (by a panic from the hook)
/// rather than finishing.
fn stopped(run: impl FnOnce(commit::Hook<'_>) -> Result<(), WriteError>, stop: usize) -> bool {
    let hook = move |step: &Step| -> io::Result<()> {
        if step.index == stop {
            panic::panic_any(Stopped);
        }
        Ok(())
    };
    match panic::catch_unwind(AssertUnwindSafe(|| run(&hook))) {
        Ok(result) => {
            result.unwrap_or_else(|e| panic!("{e}"));
            false
        }
        Err(payload) if payload.is::<Stopped>() => true,
        Err(payload) => panic::resume_unwind(payload),
    }
}

struct Stopped;

/// Quiet the panic message of the simulated kills.
fn quiet_stops() {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Stopped>() {
            default(info);
        }
    }));
}

#[test]
fn a_run_stopped_at_any_step_then_at_any_step_of_recovery_is_recovered_whole() {
    quiet_stops();
    let (old, new) = expected();
    let steps = all_steps();
    let commit_step = steps
        .iter()
        .position(|s| s.action == Action::Commit)
        .unwrap();
    let mut stops_in_recovery = 0;
    for stop in 0..steps.len() {
        // Before the commit point, the old generation is kept; after it,
        // recovery finishes the new one.
        let whole = if stop <= commit_step { &old } else { &new };
        for recovery_stop in 0.. {
            let out = old_out();
            assert!(write_stopped_at(out.path(), stop));
            if !recover_stopped_at(out.path(), recovery_stop) {
                assert_eq!(&snapshot(out.path()), whole, "stopped at {stop}");
                break;
            }
            stops_in_recovery += 1;
            writer::recover(out.path()).unwrap();
            assert_eq!(
                &snapshot(out.path()),
                whole,
                "stopped at {stop}, then at {recovery_stop} of the recovery"
            );
        }
    }
    assert!(stops_in_recovery > steps.len(), "{stops_in_recovery}");
}

#[test]
fn a_recovery_that_cannot_finish_the_commit_undoes_it_even_when_stopped() {
    quiet_stops();
    let (old, new) = expected();
    let steps = all_steps();
    // Stopped after two of the six renames.
    let stop = steps
        .iter()
        .filter(|s| s.action == Action::Rename)
        .nth(2)
        .unwrap()
        .index;
    let mut undo_stops = 0;
    for undo_stop in 0.. {
        let out = old_out();
        assert!(write_stopped_at(out.path(), stop));
        // The first rename of the recovery fails, so it undoes the commit;
        // and is itself stopped at a step of the undo.
        let failed_at = Mutex::new(None);
        let stopped_at = Mutex::new(None);
        let hook = |step: &Step| -> io::Result<()> {
            let mut failed_at = failed_at.lock().unwrap();
            match *failed_at {
                None if step.action == Action::Rename => {
                    *failed_at = Some(step.index);
                    Err(io::Error::other("injected failure"))
                }
                Some(at) if step.index == at + 1 + undo_stop => {
                    *stopped_at.lock().unwrap() = Some(step.action);
                    panic::panic_any(Stopped)
                }
                _ => Ok(()),
            }
        };
        let stopped = panic::catch_unwind(AssertUnwindSafe(|| commit::recover(out.path(), &hook)));
        match stopped {
            Ok(result) => {
                result.unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(snapshot(out.path()), old);
                break;
            }
            Err(_) => {
                undo_stops += 1;
                writer::recover(out.path()).unwrap();
                // Until the undo journal is in place, the commit journal
                // stands, and the next recovery finishes the commit.
                let action = stopped_at.lock().unwrap().unwrap();
                let whole = match action {
                    Action::WriteJournal | Action::MarkUndo => &new,
                    _ => &old,
                };
                assert_eq!(
                    &snapshot(out.path()),
                    whole,
                    "undo stopped at {undo_stop}, {action:?}"
                );
            }
        }
    }
    assert!(undo_stops > 3, "{undo_stops}");
}

#[test]
fn a_stopped_run_is_recovered_by_the_next_write() {
    quiet_stops();
    let (_, new) = expected();
    for stop in 0..all_steps().len() {
        let out = old_out();
        assert!(write_stopped_at(out.path(), stop));
        pipeline::write_outputs(&generation("new"), out.path()).unwrap();
        assert_eq!(snapshot(out.path()), new, "stopped at {stop}");
    }
}

#[test]
fn a_directory_in_place_of_an_output_changes_nothing_and_is_named() {
    let out = old_out();
    let blocked = out.path().join("src/aarch64_unknown_linux_gnu.rs");
    std::fs::remove_file(&blocked).unwrap();
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("inside"), "kept\n").unwrap();
    let before = snapshot(out.path());
    let error = pipeline::write_outputs(&generation("new"), out.path()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "cannot write {}: a directory is in its place; move it away and run again",
            blocked.display()
        )
    );
    assert_eq!(snapshot(out.path()), before);
}

#[test]
fn a_file_in_place_of_an_output_directory_changes_nothing_and_is_named() {
    let out = old_out();
    let src = out.path().join("src");
    std::fs::remove_dir_all(&src).unwrap();
    std::fs::write(&src, "not a directory\n").unwrap();
    let before = snapshot(out.path());
    let error = pipeline::write_outputs(&generation("new"), out.path()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "cannot write {}: {} is a file, not a directory; move it away and run again",
            src.join("x86_64_unknown_linux_gnu.rs").display(),
            src.display()
        )
    );
    assert_eq!(snapshot(out.path()), before);
}

#[test]
fn concurrent_writers_take_turns_and_each_lands_whole() {
    let out = old_out();
    let (old, new) = expected();
    let mut other = old;
    other.extend(as_map(&generation("other")));
    for _ in 0..4 {
        std::thread::scope(|scope| {
            for tag in ["new", "other"] {
                let out = out.path();
                scope.spawn(move || {
                    for _ in 0..4 {
                        pipeline::write_outputs(&generation(tag), out)
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                });
            }
        });
        let after = snapshot(out.path());
        assert!(after == new || after == other, "{after:#?}");
    }
}

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn temporary_files_of_earlier_writers_are_removed_once_their_process_is_gone() {
    let out = old_out();
    let (_, new) = expected();
    let dead = out
        .path()
        .join(format!(".x86_64_unknown_linux_gnu.json.tmp-{}", dead_pid()));
    let dead_in_src = out
        .path()
        .join("src")
        .join(format!(".lib.rs.tmp-{}", dead_pid()));
    let live = out.path().join(format!(
        ".x86_64_unknown_linux_gnu.json.tmp-{}",
        std::process::id()
    ));
    for path in [&dead, &dead_in_src, &live] {
        std::fs::write(path, "half\n").unwrap();
    }
    pipeline::write_outputs(&generation("new"), out.path()).unwrap();
    let mut after = snapshot(out.path());
    assert!(after
        .remove(live.strip_prefix(out.path()).unwrap())
        .is_some());
    assert_eq!(after, new);
}

#[test]
fn recovery_with_nothing_left_over_changes_nothing() {
    let out = old_out();
    let before = snapshot(out.path());
    let count = Mutex::new(0);
    let counting = |_: &Step| {
        *count.lock().unwrap() += 1;
        Ok(())
    };
    commit::recover(out.path(), &counting).unwrap();
    commit::recover(&out.path().join("missing"), &no_hook).unwrap();
    assert_eq!(*count.lock().unwrap(), 0);
    assert_eq!(snapshot(out.path()), before);
}
