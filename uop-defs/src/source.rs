//! Byte offsets to lines and columns.

use crate::ast::Span;

/// The start of every line of one source text.
pub(crate) struct LineIndex<'a> {
    src: &'a str,
    /// Byte offset of the first character of each line.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { src, starts }
    }

    /// The span of `len` bytes at `offset` (clamped to the text).
    pub(crate) fn span(&self, offset: usize, len: usize) -> Span {
        let offset = floor_char_boundary(self.src, offset.min(self.src.len()));
        let len = len.min(self.src.len() - offset);
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = self.src[start..offset].chars().count() + 1;
        Span {
            line: to_u32(line),
            col: to_u32(col),
            offset,
            len,
        }
    }

    pub(crate) fn src(&self) -> &'a str {
        self.src
    }

    /// The text of a 1-based line, without its line break.
    pub(crate) fn line_text(&self, line: u32) -> &'a str {
        let i = (line as usize).saturating_sub(1).min(self.starts.len() - 1);
        let start = self.starts[i];
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.src.len(), |&next| next - 1);
        let text = &self.src[start..end];
        text.strip_suffix('\r').unwrap_or(text)
    }

    /// The source text a span covers, clamped to character boundaries.
    pub(crate) fn text(&self, span: &Span) -> &'a str {
        let start = floor_char_boundary(self.src, span.offset.min(self.src.len()));
        let end = floor_char_boundary(self.src, (span.offset + span.len).min(self.src.len()));
        &self.src[start..end.max(start)]
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let idx = LineIndex::new("ab\r\né x\n\nz");
        let s = idx.span(7, 1); // `x` after "é " (é is two bytes)
        assert_eq!((s.line, s.col, s.offset, s.len), (2, 3, 7, 1));
        assert_eq!(idx.line_text(1), "ab");
        assert_eq!(idx.line_text(2), "é x");
        assert_eq!(idx.line_text(3), "");
        assert_eq!(idx.line_text(4), "z");
        let end = idx.span(100, 5);
        assert_eq!((end.line, end.col, end.offset, end.len), (4, 2, 11, 0));
    }
}
