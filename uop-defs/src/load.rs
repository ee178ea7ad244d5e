//! Reading `.uop` files from disk.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::string::FromUtf8Error;

use crate::ast::{Abi, Span, UopFile};
use crate::check::duplicate_uop;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::parse_collecting;
use crate::parser::{duplicate_abi, ParsedFile};
use crate::source::LineIndex;
use crate::uses;

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

/// A defs directory: the stencil ABI and every `.uop` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defs {
    /// The directory's one `abi` item.
    pub abi: Abi,
    /// The file that declares it (also one of `files`).
    pub abi_path: PathBuf,
    /// Every `.uop` file, sorted by file name.
    pub files: Vec<UopFile>,
}

/// One `.uop` entry: read and parsed, or not readable.
struct Loaded {
    path: PathBuf,
    src: String,
    /// `None` if the file could not be read.
    parsed: Option<ParsedFile>,
    errors: Vec<Diagnostic>,
}

impl Loaded {
    fn read(path: PathBuf) -> Self {
        match read(&path) {
            Ok(src) => {
                let index = LineIndex::new(&src);
                let (parsed, errors) = parse_collecting(&path, &index);
                Loaded {
                    path,
                    src,
                    parsed: Some(parsed),
                    errors,
                }
            }
            Err(d) => Loaded {
                path,
                src: String::new(),
                parsed: None,
                errors: vec![d],
            },
        }
    }

    fn error(&mut self, span: &Span, message: String) {
        let index = LineIndex::new(&self.src);
        let d = Diagnostic::located(&self.path, &index, span.clone(), message);
        self.errors.push(d);
    }
}

/// Loads, parses and checks every `*.uop` file in `dir` (not recursive),
/// sorted by file name: uop names are unique across files, exactly one
/// file declares the `abi`, and every uop is checked against it. A
/// directory without `.uop` files, without any uop or without an `abi`
/// item, and a `.uop` entry that is not a regular file (or a link to one),
/// are errors.
pub fn load_dir(dir: &Path) -> Result<Defs, Diagnostics> {
    let paths = uop_paths(dir).map_err(|d| Diagnostics::new(vec![d]))?;
    let mut loaded: Vec<Loaded> = paths.into_iter().map(Loaded::read).collect();
    unique_uops(&mut loaded);
    let abi_at = the_abi(&mut loaded);
    if let Some(i) = abi_at {
        let abi = loaded[i].parsed.as_ref().and_then(|p| p.file.abi.clone());
        for file in &mut loaded {
            let (Some(parsed), Some(abi)) = (&file.parsed, &abi) else {
                continue;
            };
            let index = LineIndex::new(&file.src);
            let found = uses::check_uses(&file.path, &index, parsed, abi);
            file.errors.extend(found);
        }
    }
    // An unreadable file or an `abi` item that did not parse may hold the
    // missing ABI, and has an error of its own.
    let abi_elsewhere = loaded.iter().any(|f| match &f.parsed {
        Some(parsed) => parsed.abi_started,
        None => true,
    });
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for mut file in loaded {
        file.errors.sort_by_key(Diagnostic::sort_key);
        errors.append(&mut file.errors);
        files.extend(file.parsed.map(|p| p.file));
    }
    if errors.is_empty() && files.iter().all(|f| f.uops.is_empty()) {
        errors.push(Diagnostic::whole_file(
            dir,
            "the `.uop` files in this directory define no uop; \
             give the directory that holds the uop definitions, such as uop-defs/defs",
        ));
    }
    if abi_at.is_none() && !abi_elsewhere {
        let message = format!(
            "no `abi` item in {}: declare the stencil ABI (see docs/stencil-abi.md)",
            dir.display()
        );
        errors.push(Diagnostic::whole_file(dir, message));
    }
    let abi = files
        .iter()
        .find_map(|f| Some((f.abi.clone()?, f.path.clone())));
    match abi {
        Some((abi, abi_path)) if errors.is_empty() => Ok(Defs {
            abi,
            abi_path,
            files,
        }),
        _ => Err(Diagnostics::new(errors)),
    }
}

/// Reports a uop defined in two files, at the later definition.
fn unique_uops(loaded: &mut [Loaded]) {
    // First definition of each uop name: (file, span).
    let mut defined: BTreeMap<String, (PathBuf, Span)> = BTreeMap::new();
    for file in loaded {
        let Some(parsed) = &file.parsed else {
            continue;
        };
        let mut local = BTreeMap::new();
        let mut found = Vec::new();
        for uop in &parsed.file.uops {
            if local.insert(uop.name.as_str(), ()).is_some() {
                continue; // reported by the file's own checks
            }
            match defined.get(&uop.name) {
                Some((first_path, first)) => {
                    found.push((
                        uop.span.clone(),
                        duplicate_uop(&uop.name, first_path, first),
                    ));
                }
                None => {
                    defined.insert(uop.name.clone(), (file.path.clone(), uop.span.clone()));
                }
            }
        }
        for (span, message) in found {
            file.error(&span, message);
        }
    }
}

/// The index of the file whose `abi` item is the directory's; any other
/// `abi` item is reported.
fn the_abi(loaded: &mut [Loaded]) -> Option<usize> {
    let mut first: Option<(usize, PathBuf, Span)> = None;
    for (i, file) in loaded.iter_mut().enumerate() {
        let Some(span) = file
            .parsed
            .as_ref()
            .and_then(|p| Some(p.file.abi.as_ref()?.span.clone()))
        else {
            continue;
        };
        match &first {
            Some((_, first_path, first_span)) => {
                let message = duplicate_abi(first_path, first_span);
                file.error(&span, message);
            }
            None => first = Some((i, file.path.clone(), span)),
        }
    }
    first.map(|(i, _, _)| i)
}
