//! Reading `.uop` files from disk.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::ast::{Span, UopFile};
use crate::check::duplicate_uop;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::parse_collecting;
use crate::source::LineIndex;

/// Every `*.uop` file directly in `dir`, sorted by file name.
fn uop_paths(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let cannot =
        |e: std::io::Error| Diagnostic::whole_file(dir, format!("cannot read directory: {e}"));
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "uop") && path.is_file() {
            names.push(entry.file_name());
        }
    }
    names.sort();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

fn read(path: &Path) -> Result<String, Diagnostic> {
    let bytes = fs::read(path)
        .map_err(|e| Diagnostic::whole_file(path, format!("cannot read file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Diagnostic::whole_file(
            path,
            format!("file is not valid UTF-8 (first invalid byte at offset {at})"),
        )
    })
}

/// Loads, parses and checks every `*.uop` file in `dir` (not recursive),
/// sorted by file name, and checks that uop names are unique across files.
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
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(Diagnostics::new(errors))
    }
}
