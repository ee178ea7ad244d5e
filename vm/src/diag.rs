//! Assembly and verifier errors, rendered as `file:line:col: message` with the
//! source line and a caret under the offending text. Invisible characters
//! are shown escaped in both.

use std::fmt;

use crate::program::Span;
use crate::visible::{visible, visible_width};

/// One error at a place in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Span,
    pub message: String,
}

/// All errors found in one source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    pub file: String,
    pub source: String,
    pub errors: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            render(f, &self.file, &self.source, d)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

fn render(f: &mut fmt::Formatter<'_>, file: &str, source: &str, d: &Diagnostic) -> fmt::Result {
    let Span { line, col, len } = d.span;
    writeln!(f, "{file}:{line}:{col}: error: {}", visible(&d.message))?;
    let text = source
        .lines()
        .nth(line.saturating_sub(1) as usize)
        .unwrap_or("");
    let gutter = line.to_string();
    let blank = " ".repeat(gutter.len());
    writeln!(f, "{gutter} | {}", visible(text))?;
    // Reuse the line's own tabs so the caret lines up however tabs render;
    // an escaped character takes the width of its escape.
    let mut chars = text.chars();
    let pad: String = chars
        .by_ref()
        .take(col.saturating_sub(1) as usize)
        .map(|c| match c {
            '\t' => "\t".to_string(),
            c => " ".repeat(visible_width(c)),
        })
        .collect();
    let width: usize = chars.take(len as usize).map(visible_width).sum();
    writeln!(f, "{blank} | {pad}{}", "^".repeat(width.max(1)))
}
