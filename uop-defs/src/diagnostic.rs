//! Errors with a file position, rendered like rustc's.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::ast::Span;
use crate::source::LineIndex;

/// One error in a `.uop` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    path: PathBuf,
    message: String,
    location: Option<Location>,
}

/// Where in the file an error is, with what rendering needs of the source.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Location {
    span: Span,
    line_text: String,
    /// How many `^` go under the line.
    marker_width: usize,
}

impl Diagnostic {
    /// An error at `span` of `src` (the text of the file at `path`).
    pub fn at(path: &Path, src: &str, span: Span, message: impl Into<String>) -> Self {
        Self::located(path, &LineIndex::new(src), span, message.into())
    }

    /// An error about a whole file or directory, e.g. one that cannot be
    /// read.
    pub fn whole_file(path: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            message: message.into(),
            location: None,
        }
    }

    pub(crate) fn located(path: &Path, index: &LineIndex<'_>, span: Span, message: String) -> Self {
        let line_text = index.line_text(span.line).to_string();
        let text = index.text(&span);
        let marker_width = if text.contains(['\n', '\r']) {
            1
        } else {
            text.chars().count().max(1)
        };
        Diagnostic {
            path: path.to_path_buf(),
            message,
            location: Some(Location {
                span,
                line_text,
                marker_width,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The position of the error; `None` for errors about a whole file.
    pub fn span(&self) -> Option<&Span> {
        self.location.as_ref().map(|l| &l.span)
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte offset used to order a file's errors; file-wide errors first.
    pub(crate) fn sort_key(&self) -> usize {
        self.location.as_ref().map_or(0, |l| l.span.offset)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let Some(loc) = &self.location else {
            return write!(f, " --> {}", self.path.display());
        };
        let number = loc.span.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(
            f,
            "{pad}--> {}:{}:{}",
            self.path.display(),
            loc.span.line,
            loc.span.col
        )?;
        writeln!(f, "{pad} |")?;
        if loc.line_text.is_empty() {
            writeln!(f, "{number} |")?;
        } else {
            writeln!(f, "{number} | {}", loc.line_text)?;
        }
        // Tabs stay tabs so that the marker lines up under the source.
        let indent: String = loc
            .line_text
            .chars()
            .take(loc.span.col.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "{pad} | {indent}{}", "^".repeat(loc.marker_width))
    }
}

/// `path:line:col` of a span, to name where something was first declared.
pub(crate) fn position(path: &Path, span: &Span) -> String {
    format!("{}:{}:{}", path.display(), span.line, span.col)
}

/// Every error found in one or more `.uop` files, in file order and, within
/// a file, in source order.
#[derive(Clone, PartialEq, Eq)]
pub struct Diagnostics {
    errors: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(errors: Vec<Diagnostic>) -> Self {
        Diagnostics { errors }
    }

    pub fn errors(&self) -> &[Diagnostic] {
        &self.errors
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.errors.iter()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.errors
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

// `fn main() -> Result<_, Diagnostics>` and `unwrap` print `Debug`: show the
// rendered errors there too.
impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}
