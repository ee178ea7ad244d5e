//! Reading `.uop` files from disk.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::string::FromUtf8Error;

use crate::ast::{Span, UopFile};
use crate::check::duplicate_uop;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::parse_collecting;
use crate::source::LineIndex;

/// Every `*.uop` entry directly in `dir`, sorted by file name, whatever its
/// file type: an entry that is not a readable file is reported, not skipped.
fn uop_paths(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let cannot =
        |e: std::io::Error| Diagnostic::whole_file(dir, format!("cannot read directory: {e}"));
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        if Path::new(&entry.file_name())
            .extension()
            .is_some_and(|e| e == "uop")
        {
            names.push(entry.file_name());
        }
    }
    if names.is_empty() {
        return Err(Diagnostic::whole_file(
            dir,
            "no `.uop` files in this directory (subdirectories are not searched); \
             give the directory that holds the uop definitions, such as uop-defs/defs",
        ));
    }
    names.sort();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// Reads a `.uop` file as UTF-8 text.
fn read(path: &Path) -> Result<String, Diagnostic> {
    check_file_type(path)?;
    let bytes = fs::read(path)
        .map_err(|e| Diagnostic::whole_file(path, format!("cannot read file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| invalid_utf8(path, &e))
}

/// Refuses anything but a regular file (or a link to one), looking only at
/// the file type: opening a FIFO would wait for a writer.
fn check_file_type(path: &Path) -> Result<(), Diagnostic> {
    let refuse = |message: String| Err(Diagnostic::whole_file(path, message));
    let file_type = match fs::metadata(path) {
        Ok(meta) => meta.file_type(),
        Err(e) => {
            return match fs::read_link(path) {
                Ok(target) if e.kind() == ErrorKind::NotFound => refuse(format!(
                    "this `.uop` entry is a symbolic link to `{}`, which does not exist; \
                     fix the link or remove it",
                    target.display()
                )),
                _ => refuse(format!("cannot read file: {e}")),
            };
        }
    };
    if file_type.is_file() {
        Ok(())
    } else if file_type.is_dir() {
        refuse(
            "this `.uop` entry is a directory, not a file of uop definitions; \
             rename it or move it out of the definitions directory"
                .to_string(),
        )
    } else {
        refuse(format!(
            "this `.uop` entry is {}, not a regular file, and was not opened; \
             replace it with a regular file or remove it",
            special_file(&file_type)
        ))
    }
}

#[cfg(unix)]
fn special_file(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a named pipe (FIFO)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_char_device() {
        "a character device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_file(_: &fs::FileType) -> &'static str {
    "a special file"
}

/// An error at the first byte that is not UTF-8, shown in the line as
/// U+FFFD.
fn invalid_utf8(path: &Path, error: &FromUtf8Error) -> Diagnostic {
    let at = error.utf8_error().valid_up_to();
    let byte = error.as_bytes()[at];
    let text = String::from_utf8_lossy(error.as_bytes());
    let index = LineIndex::new(&text);
    // The prefix is valid, so `at` is where the replacement character starts.
    let span = index.span(at, char::REPLACEMENT_CHARACTER.len_utf8());
    Diagnostic::located(
        path,
        &index,
        span,
        format!(
            "byte {byte:#04x} is not valid UTF-8; `.uop` files must be UTF-8 text: \
             save the file as UTF-8"
        ),
    )
}

/// Loads, parses and checks every `*.uop` file in `dir` (not recursive),
/// sorted by file name, and checks that uop names are unique across files.
/// A directory without `.uop` files or without any uop, and a `.uop` entry
/// that is not a regular file (or a link to one), are errors.
pub fn load_dir(dir: &Path) -> Result<Vec<UopFile>, Diagnostics> {
    let paths = uop_paths(dir).map_err(|d| Diagnostics::new(vec![d]))?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    // First definition of each uop name: (file, span).
    let mut defined: BTreeMap<String, (PathBuf, Span)> = BTreeMap::new();
    for path in paths {
        let src = match read(&path) {
            Ok(src) => src,
            Err(d) => {
                errors.push(d);
                continue;
            }
        };
        let (file, mut file_errors) = parse_collecting(&path, &src);
        let index = LineIndex::new(&src);
        let mut local = BTreeMap::new();
        for uop in &file.uops {
            if local.contains_key(uop.name.as_str()) {
                continue; // reported by the file's own checks
            }
            local.insert(uop.name.as_str(), ());
            match defined.get(&uop.name) {
                Some((first_path, first)) => {
                    let message = duplicate_uop(&uop.name, first_path, first);
                    file_errors.push(Diagnostic::located(
                        &path,
                        &index,
                        uop.span.clone(),
                        message,
                    ));
                }
                None => {
                    defined.insert(uop.name.clone(), (path.clone(), uop.span.clone()));
                }
            }
        }
        file_errors.sort_by_key(Diagnostic::sort_key);
        errors.extend(file_errors);
        files.push(file);
    }
    if errors.is_empty() && files.iter().all(|f| f.uops.is_empty()) {
        errors.push(Diagnostic::whole_file(
            dir,
            "the `.uop` files in this directory define no uop; \
             give the directory that holds the uop definitions, such as uop-defs/defs",
        ));
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(Diagnostics::new(errors))
    }
}
