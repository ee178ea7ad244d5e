//! Byte offsets to lines and columns.
//!
//! A line ends at `\n`, `\r\n` or a lone `\r` (old Mac OS text), the same
//! line breaks C compilers accept.

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
            .chain(line_breaks(src).map(|(_, end)| end))
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
        let end = self.starts.get(i + 1).map_or(self.src.len(), |&next| next);
        let text = &self.src[start..end];
        let text = text.strip_suffix('\n').unwrap_or(text);
        text.strip_suffix('\r').unwrap_or(text)
    }

    /// The source text a span covers, clamped to character boundaries.
    pub(crate) fn text(&self, span: &Span) -> &'a str {
        let start = floor_char_boundary(self.src, span.offset.min(self.src.len()));
        let end = floor_char_boundary(self.src, (span.offset + span.len).min(self.src.len()));
        &self.src[start..end.max(start)]
    }
}

/// Every line break of `src` as (start, end) byte offsets: `\n`, `\r\n`,
/// or a `\r` not followed by `\n`.
pub(crate) fn line_breaks(src: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = src.as_bytes();
    bytes.iter().enumerate().filter_map(move |(i, &c)| match c {
        b'\n' if i > 0 && bytes[i - 1] == b'\r' => None,
        b'\n' => Some((i, i + 1)),
        b'\r' if bytes.get(i + 1) == Some(&b'\n') => Some((i, i + 2)),
        b'\r' => Some((i, i + 1)),
        _ => None,
    })
}

/// Whether `c` ends a line (alone, or as the `\r` of `\r\n`).
pub(crate) fn is_line_break(c: u8) -> bool {
    c == b'\n' || c == b'\r'
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

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        let idx = LineIndex::new("a\rbc\r\rd\r\ne\n");
        let s = idx.span(3, 1); // `c`
        assert_eq!((s.line, s.col), (2, 2));
        let s = idx.span(6, 1); // `d`
        assert_eq!((s.line, s.col), (4, 1));
        let texts: Vec<_> = (1..=6).map(|l| idx.line_text(l)).collect();
        assert_eq!(texts, ["a", "bc", "", "d", "e", ""]);
    }
}
