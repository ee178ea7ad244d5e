//! Writing a generation's files into the output directory as one whole.
//!
//! The guarantee: when [`write_outputs`] returns, and after a run that was
//! killed while writing is followed by another writing run (or by
//! [`recover`]), the directory holds the files of exactly one generation,
//! all old or all new, and no temporary file. Generations writing one
//! directory at once take turns (see [`lock`](super::lock)).
//!
//! How, all under the directory's lock:
//!
//! 1. Recover what a killed run left (below).
//! 2. Check that each destination can take a file: no directory in its
//!    place, no file in place of one of its parent directories.
//! 3. Write each new file beside its destination as `.NAME.stencil-gen-new`
//!    and flush it to disk.
//! 4. Hard-link each existing destination to `.NAME.stencil-gen-old`, the
//!    copy that undoes the commit.
//! 5. Write the journal `.stencil-gen-journal` (to a temporary name, flushed,
//!    then renamed into place), which lists every destination. This is the
//!    commit point: before it the old files are untouched, after it the
//!    generation is finished by whoever gets there.
//! 6. Rename each new file over its destination.
//! 7. Remove the undo copies, then the journal.
//!
//! A rename that fails in step 6 turns the journal into an undo journal and
//! puts every undo copy back: the directory is as it was. On recovery, a
//! journal is rolled forward (its remaining new files renamed into place),
//! or, when that fails or it is an undo journal, rolled back; then every
//! temporary file is removed. Both are safe to repeat, so a run killed
//! while recovering is recovered by the next.

use std::cell::Cell;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::lock::{self, DirLock, LockError};
use super::{OutputFile, WriteError};

/// The journal's name in the output directory.
pub const JOURNAL: &str = ".stencil-gen-journal";
/// The journal before it is renamed into place.
const JOURNAL_TEMP: &str = ".stencil-gen-journal.new";
const JOURNAL_HEADER: &str = "stencil-gen journal 1";
const NEW_SUFFIX: &str = ".stencil-gen-new";
const OLD_SUFFIX: &str = ".stencil-gen-old";

/// Directories of the output directory that get files, relative to it:
/// where a killed run's temporary files are looked for.
const OUTPUT_DIRS: [&str; 2] = ["", "src"];

/// How long to wait for another generation writing the same directory.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Environment variable that stops the process at one step of the write,
/// for the tests of what a killed generation leaves: `STENCIL_GEN_FAIL_AT=N`
/// exits with [`STOPPED_EXIT_CODE`] just before step `N` (from 0).
pub const FAIL_AT_ENV: &str = "STENCIL_GEN_FAIL_AT";
/// The exit status of a process stopped by [`FAIL_AT_ENV`].
pub const STOPPED_EXIT_CODE: i32 = 86;

/// One change to the output directory, as told to a [`Hook`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Counts every change of one call, from 0.
    pub index: usize,
    pub action: Action,
    pub path: PathBuf,
}

/// What a [`Step`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write and flush a new file beside its destination.
    WriteNew,
    /// Link an existing file to its undo copy.
    KeepOld,
    /// Write and flush the journal under its temporary name.
    WriteJournal,
    /// Rename the journal into place: the commit point.
    Commit,
    /// Rename a new file over its destination.
    Rename,
    /// Replace the journal by an undo journal.
    MarkUndo,
    /// Put an undo copy back, or remove a file that did not exist before.
    Undo,
    /// Remove a temporary file, an undo copy or the journal.
    Remove,
}

/// Called before each change; an error stops the write as if the change
/// had failed. For tests of failures and of killed runs.
pub type Hook<'a> = &'a dyn Fn(&Step) -> io::Result<()>;

/// The hook of a normal run: none, unless [`FAIL_AT_ENV`] is set.
pub fn env_hook(step: &Step) -> io::Result<()> {
    let stop_at = std::env::var(FAIL_AT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if stop_at == Some(step.index) {
        eprintln!(
            "stopped before step {} ({:?} {}), as {FAIL_AT_ENV} asks",
            step.index,
            step.action,
            step.path.display()
        );
        std::process::exit(STOPPED_EXIT_CODE);
    }
    Ok(())
}

/// Numbers the changes and calls the hook before each.
struct Steps<'a> {
    hook: Hook<'a>,
    next: Cell<usize>,
}

impl Steps<'_> {
    fn run<T>(
        &self,
        action: Action,
        path: &Path,
        change: impl FnOnce() -> io::Result<T>,
    ) -> io::Result<T> {
        let index = self.next.get();
        self.next.set(index + 1);
        (self.hook)(&Step {
            index,
            action,
            path: path.to_path_buf(),
        })?;
        change()
    }
}

/// One destination of a commit.
#[derive(Clone, Debug)]
struct Destination {
    /// Relative to the output directory, `/`-separated.
    relative: String,
    dest: PathBuf,
    /// Whether a file was there before, and so has an undo copy.
    existed: bool,
}

impl Destination {
    fn new_file(&self) -> PathBuf {
        beside(&self.dest, NEW_SUFFIX)
    }

    fn old_file(&self) -> PathBuf {
        beside(&self.dest, OLD_SUFFIX)
    }
}

/// `dir/.NAME{suffix}` for `dir/NAME`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{suffix}"))
}

/// Write `files` under `out_dir` as one whole (see the module
/// documentation), calling `hook` before each change.
pub fn write_outputs(
    files: &[OutputFile],
    out_dir: &Path,
    hook: Hook<'_>,
) -> Result<(), WriteError> {
    fs::create_dir_all(out_dir).map_err(|error| WriteError::Io {
        path: out_dir.to_path_buf(),
        error,
    })?;
    let _lock = DirLock::acquire(out_dir, LOCK_WAIT).map_err(|e| lock_error(out_dir, e))?;
    let steps = Steps {
        hook,
        next: Cell::new(0),
    };
    let mut dirs: Vec<PathBuf> = OUTPUT_DIRS.iter().map(|d| out_dir.join(d)).collect();
    for file in files {
        if let Some(parent) = out_dir.join(&file.path).parent() {
            dirs.push(parent.to_path_buf());
        }
    }
    recover_locked(out_dir, &dirs, &steps)?;
    let destinations = check_destinations(files, out_dir)?;

    if let Err(error) = stage(files, &destinations, &steps) {
        remove_temporaries(&destinations);
        return Err(error);
    }
    let journal = out_dir.join(JOURNAL);
    let committed = write_journal(
        out_dir,
        &destinations,
        State::Commit,
        &steps,
        Action::Commit,
    );
    if let Err(error) = committed {
        // The rename may have happened before the directory failed to
        // flush: the journal goes last, so that a crash in between leaves
        // a journal with no new file to finish, and the old files.
        remove_temporaries(&destinations);
        let _ = fs::remove_file(out_dir.join(JOURNAL_TEMP));
        let _ = fs::remove_file(&journal);
        return Err(WriteError::Io {
            path: journal,
            error,
        });
    }

    for destination in &destinations {
        let renamed = steps.run(Action::Rename, &destination.dest, || {
            fs::rename(destination.new_file(), &destination.dest)
        });
        if let Err(error) = renamed {
            // Undo what was renamed, so that nothing changed. Temporary
            // files that cannot be removed now are removed by the next run.
            undo(out_dir, &destinations, &steps)?;
            let _ = finish(out_dir, &destinations, &steps);
            return Err(WriteError::Io {
                path: destination.dest.clone(),
                error,
            });
        }
    }
    // Committed: a failure from here on leaves the new files in place,
    // and the journal for the next run to settle.
    sync_dirs(destinations.iter().map(|t| t.dest.as_path()))
        .map_err(|(path, error)| WriteError::Flush { path, error })?;
    finish(out_dir, &destinations, &steps)
}

/// Finish or undo a generation that a killed run left in `out_dir`, and
/// remove its temporary files, unless another generation is writing
/// there now (it does the same before it writes). Nothing is done, and
/// nothing locked, when nothing was left.
pub fn recover(out_dir: &Path, hook: Hook<'_>) -> Result<(), WriteError> {
    let dirs: Vec<PathBuf> = OUTPUT_DIRS.iter().map(|d| out_dir.join(d)).collect();
    let anything_left = out_dir.join(JOURNAL).exists()
        || out_dir.join(lock::LOCK_NAME).exists()
        || !leftovers(&dirs).is_empty();
    if !anything_left {
        return Ok(());
    }
    let Some(_lock) = DirLock::try_acquire(out_dir).map_err(|e| lock_error(out_dir, e))? else {
        return Ok(());
    };
    let steps = Steps {
        hook,
        next: Cell::new(0),
    };
    recover_locked(out_dir, &dirs, &steps)
}

fn lock_error(out_dir: &Path, error: LockError) -> WriteError {
    match error {
        LockError::Io { path, error } => WriteError::Io { path, error },
        LockError::Busy { holder } => WriteError::Locked {
            dir: out_dir.to_path_buf(),
            holder,
            waited: LOCK_WAIT,
        },
    }
}

/// Every destination, checked to be able to take a file.
fn check_destinations(
    files: &[OutputFile],
    out_dir: &Path,
) -> Result<Vec<Destination>, WriteError> {
    files
        .iter()
        .map(|file| {
            let dest = out_dir.join(&file.path);
            let unwritable = |reason: String| WriteError::Unwritable {
                path: dest.clone(),
                reason,
            };
            let mut dir = out_dir.to_path_buf();
            for part in file.path.parent().into_iter().flat_map(Path::components) {
                dir.push(part);
                if dir.exists() && !dir.is_dir() {
                    return Err(unwritable(format!(
                        "{} is a file, not a directory; move it away and run again",
                        dir.display()
                    )));
                }
            }
            let existed = match fs::symlink_metadata(&dest) {
                Ok(m) if m.is_dir() => {
                    return Err(unwritable(
                        "a directory is in its place; move it away and run again".to_string(),
                    ))
                }
                Ok(_) => true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(error) => {
                    return Err(WriteError::Io {
                        path: dest.clone(),
                        error,
                    })
                }
            };
            Ok(Destination {
                relative: relative_text(&file.path).ok_or_else(|| {
                    unwritable("not a plain relative path under the output directory".to_string())
                })?,
                dest,
                existed,
            })
        })
        .collect()
}

/// `path` with `/` separators, if it is relative and stays inside.
fn relative_text(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?.to_string()),
            _ => return None,
        }
    }
    (!parts.is_empty() && parts.iter().all(|p| !p.contains('\n'))).then(|| parts.join("/"))
}

/// Steps 3 and 4: the new files and the undo copies, flushed with their
/// directories.
fn stage(
    files: &[OutputFile],
    destinations: &[Destination],
    steps: &Steps<'_>,
) -> Result<(), WriteError> {
    for (file, destination) in files.iter().zip(destinations) {
        let io_error = |error| WriteError::Io {
            path: destination.dest.clone(),
            error,
        };
        if let Some(dir) = destination.dest.parent() {
            fs::create_dir_all(dir).map_err(io_error)?;
        }
        steps
            .run(Action::WriteNew, &destination.new_file(), || {
                write_synced(&destination.new_file(), &file.bytes)
            })
            .map_err(io_error)?;
    }
    for destination in destinations.iter().filter(|t| t.existed) {
        steps
            .run(Action::KeepOld, &destination.old_file(), || {
                keep_old(&destination.dest, &destination.old_file())
            })
            .map_err(|error| WriteError::Io {
                path: destination.dest.clone(),
                error,
            })?;
    }
    sync_dirs(destinations.iter().map(|t| t.dest.as_path()))
        .map_err(|(path, error)| WriteError::Io { path, error })
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A second name for `dest`'s file; a copy where links are not supported.
fn keep_old(dest: &Path, old: &Path) -> io::Result<()> {
    match fs::remove_file(old) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    if fs::hard_link(dest, old).is_ok() {
        return Ok(());
    }
    fs::copy(dest, old)?;
    File::open(old)?.sync_all()
}

/// Remove the new files and undo copies of `destinations`, as far as possible;
/// what stays is removed by the next run's recovery.
fn remove_temporaries(destinations: &[Destination]) {
    for destination in destinations {
        let _ = fs::remove_file(destination.new_file());
        let _ = fs::remove_file(destination.old_file());
    }
}

/// Whether a journal asks for the commit to be finished or undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Commit,
    Undo,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Commit => "commit",
            State::Undo => "undo",
        }
    }
}

/// Write the journal under its temporary name, flush it, and rename it into
/// place as one step (`action`), then flush the directory.
fn write_journal(
    out_dir: &Path,
    destinations: &[Destination],
    state: State,
    steps: &Steps<'_>,
    action: Action,
) -> io::Result<()> {
    let mut text = format!("{JOURNAL_HEADER}\n{}\n", state.word());
    for destination in destinations {
        let kind = if destination.existed {
            "replace"
        } else {
            "create"
        };
        text.push_str(&format!("{kind} {}\n", destination.relative));
    }
    text.push_str("end\n");
    let temp = out_dir.join(JOURNAL_TEMP);
    let journal = out_dir.join(JOURNAL);
    steps.run(Action::WriteJournal, &temp, || {
        write_synced(&temp, text.as_bytes())
    })?;
    steps.run(action, &journal, || fs::rename(&temp, &journal))?;
    sync_dir(out_dir)
}

/// The journal in `out_dir`, if there is one.
fn read_journal(out_dir: &Path) -> Result<Option<(State, Vec<Destination>)>, WriteError> {
    let path = out_dir.join(JOURNAL);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(WriteError::Io { path, error }),
    };
    let bad = |why: &str| WriteError::Journal {
        path: path.clone(),
        reason: why.to_string(),
    };
    let mut lines = text.lines();
    if lines.next() != Some(JOURNAL_HEADER) {
        return Err(bad("it does not start with the journal header"));
    }
    let state = match lines.next() {
        Some("commit") => State::Commit,
        Some("undo") => State::Undo,
        _ => return Err(bad("its second line is neither `commit` nor `undo`")),
    };
    let mut destinations = Vec::new();
    for line in lines.by_ref() {
        if line == "end" {
            return Ok(Some((state, destinations)));
        }
        let (kind, relative) = line
            .split_once(' ')
            .ok_or_else(|| bad(&format!("unreadable line {line:?}")))?;
        let existed = match kind {
            "replace" => true,
            "create" => false,
            _ => return Err(bad(&format!("unreadable line {line:?}"))),
        };
        if relative_text(Path::new(relative)).as_deref() != Some(relative) {
            return Err(bad(&format!(
                "{relative:?} is not a path inside the directory"
            )));
        }
        destinations.push(Destination {
            relative: relative.to_string(),
            dest: out_dir.join(relative),
            existed,
        });
    }
    Err(bad("it ends before its `end` line"))
}

/// Step 1: finish or undo a journal's commit, then remove every temporary
/// file in `dirs` and those the journal names.
fn recover_locked(out_dir: &Path, dirs: &[PathBuf], steps: &Steps<'_>) -> Result<(), WriteError> {
    let mut dirs = dirs.to_vec();
    if let Some((state, destinations)) = read_journal(out_dir)? {
        match state {
            State::Commit => {
                let forward = destinations.iter().try_for_each(|destination| {
                    if destination.new_file().exists() {
                        if let Some(dir) = destination.dest.parent() {
                            fs::create_dir_all(dir)?;
                        }
                        steps.run(Action::Rename, &destination.dest, || {
                            fs::rename(destination.new_file(), &destination.dest)
                        })?;
                    }
                    Ok::<(), io::Error>(())
                });
                if forward.is_err() {
                    undo(out_dir, &destinations, steps)?;
                } else {
                    sync_dirs(destinations.iter().map(|t| t.dest.as_path()))
                        .map_err(|(path, error)| WriteError::Flush { path, error })?;
                }
            }
            State::Undo => undo(out_dir, &destinations, steps)?,
        }
        finish(out_dir, &destinations, steps)?;
        dirs.extend(
            destinations
                .iter()
                .filter_map(|t| t.dest.parent().map(Path::to_path_buf)),
        );
    }
    for path in leftovers(&dirs) {
        steps
            .run(Action::Remove, &path, || remove_if_there(&path))
            .map_err(|error| WriteError::Io { path, error })?;
    }
    Ok(())
}

/// Put the directory back as it was before the commit: mark the journal as
/// an undo journal (so that a run killed now is undone too, never finished
/// half-way), put each undo copy back, and remove each file that did not
/// exist before. The undo journal stays until [`finish`].
fn undo(out_dir: &Path, destinations: &[Destination], steps: &Steps<'_>) -> Result<(), WriteError> {
    let unfinished = |path: PathBuf, error| WriteError::Unfinished {
        dir: out_dir.to_path_buf(),
        path,
        error,
    };
    write_journal(out_dir, destinations, State::Undo, steps, Action::MarkUndo)
        .map_err(|error| unfinished(out_dir.join(JOURNAL), error))?;
    for destination in destinations {
        let (old, new) = (destination.old_file(), destination.new_file());
        if destination.existed {
            // A destination not yet replaced is the undo copy's own file;
            // renaming one name of a file over another changes nothing.
            if old.exists() {
                steps
                    .run(Action::Undo, &destination.dest, || {
                        fs::rename(&old, &destination.dest)
                    })
                    .map_err(|error| unfinished(destination.dest.clone(), error))?;
            }
        } else if !new.exists() && fs::symlink_metadata(&destination.dest).is_ok() {
            steps
                .run(Action::Undo, &destination.dest, || {
                    fs::remove_file(&destination.dest)
                })
                .map_err(|error| unfinished(destination.dest.clone(), error))?;
        }
    }
    sync_dirs(destinations.iter().map(|t| t.dest.as_path()))
        .map_err(|(path, error)| unfinished(path, error))
}

/// Step 7: remove the new files left (after an undo), the undo copies, and
/// last the journal.
fn finish(
    out_dir: &Path,
    destinations: &[Destination],
    steps: &Steps<'_>,
) -> Result<(), WriteError> {
    let mut temporaries: Vec<PathBuf> = destinations
        .iter()
        .flat_map(|t| [t.new_file(), t.old_file()])
        .collect();
    temporaries.push(out_dir.join(JOURNAL_TEMP));
    temporaries.push(out_dir.join(JOURNAL));
    for path in temporaries {
        if fs::symlink_metadata(&path).is_ok() {
            steps
                .run(Action::Remove, &path, || remove_if_there(&path))
                .map_err(|error| WriteError::Cleanup { path, error })?;
        }
    }
    Ok(())
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// The temporary files in `dirs` that a killed run left: new files, undo
/// copies, a journal never renamed into place, and the `.NAME.tmp-PID`
/// files of earlier versions whose process is gone. Only called with no
/// journal left and the lock held (or, by [`recover`], to see whether
/// there is anything to do).
fn leftovers(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for dir in dirs {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let Ok(items) = fs::read_dir(dir) else {
            continue;
        };
        for item in items.flatten() {
            let name = item.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            let ours =
                name.starts_with('.') && (name.ends_with(NEW_SUFFIX) || name.ends_with(OLD_SUFFIX));
            let journal = name == JOURNAL_TEMP;
            let file = item.file_type().is_ok_and(|t| !t.is_dir());
            if file && (ours || journal || old_temporary_is_left(name)) {
                found.push(item.path());
            }
        }
    }
    found.sort();
    found
}

/// Whether `name` is `.NAME.tmp-PID`, as earlier versions named a file
/// being written, with `PID` a process that is gone.
fn old_temporary_is_left(name: &str) -> bool {
    let Some((base, pid)) = name.rsplit_once(".tmp-") else {
        return false;
    };
    let output = base.ends_with(".rs") || base.ends_with(".json");
    name.starts_with('.')
        && output
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && pid.parse().is_ok_and(lock::process_is_gone)
}

/// Flush the directories holding `paths`, so that renames in them last;
/// the directory that could not be flushed, with the error.
fn sync_dirs<'a>(paths: impl Iterator<Item = &'a Path>) -> Result<(), (PathBuf, io::Error)> {
    let mut dirs: Vec<&Path> = paths.filter_map(Path::parent).collect();
    dirs.sort();
    dirs.dedup();
    dirs.into_iter()
        .try_for_each(|dir| sync_dir(dir).map_err(|error| (dir.to_path_buf(), error)))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        match File::open(dir).and_then(|d| d.sync_all()) {
            // Some file systems cannot flush a directory; their renames
            // are as durable as they get.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
