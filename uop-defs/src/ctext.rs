//! Scanning of the C text in bodies and preludes: braces and identifiers,
//! skipping string and character literals, comments and numbers.

use crate::source::is_line_break;

/// Something the scanner found in C text. Offsets are bytes into the whole
/// source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Ident {
        start: usize,
        end: usize,
    },
    Open(usize),
    Close(usize),
    /// One of `(`, `)`, `[`, `]`, `;` at an offset.
    Punct(usize, u8),
    /// A literal or comment without its end; `start` is its first character.
    Unterminated {
        what: Unterminated,
        start: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unterminated {
    String,
    Char,
    Comment,
}

impl Unterminated {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Unterminated::String => "unterminated string literal",
            Unterminated::Char => "unterminated character literal",
            Unterminated::Comment => "unterminated block comment",
        }
    }

    /// Length of the opening token, to mark it.
    pub(crate) fn opener_len(self) -> usize {
        match self {
            Unterminated::String | Unterminated::Char => 1,
            Unterminated::Comment => 2,
        }
    }
}

/// Walks C text between two byte offsets.
pub(crate) struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(src: &'a str, start: usize, end: usize) -> Self {
        Scanner {
            bytes: src.as_bytes(),
            pos: start,
            end: end.min(src.len()),
        }
    }

    fn at(&self, i: usize) -> u8 {
        if i < self.end {
            self.bytes[i]
        } else {
            0
        }
    }

    /// Skips a quoted literal starting at `self.pos`. A literal ends at its
    /// closing quote; a line break or the end of the text leaves it
    /// unterminated (and scanning resumes at the line break).
    fn literal(&mut self, quote: u8) -> bool {
        let mut i = self.pos + 1;
        loop {
            if i >= self.end || is_line_break(self.bytes[i]) {
                self.pos = i.min(self.end);
                return false;
            }
            match self.bytes[i] {
                // A line continuation, over any line break.
                b'\\' if self.at(i + 1) == b'\r' && self.at(i + 2) == b'\n' => i += 3,
                // An escape, or a line continuation.
                b'\\' => i += 2,
                c if c == quote => {
                    self.pos = i + 1;
                    return true;
                }
                _ => i += 1,
            }
        }
    }

    /// Skips a `//` comment up to its line break; a backslash before the
    /// line break continues it, as in C.
    fn line_comment(&mut self) {
        let mut i = self.pos + 2;
        while i < self.end {
            if is_line_break(self.bytes[i]) {
                if self.bytes[i - 1] != b'\\' {
                    break;
                }
                // Continued: step over the whole break, `\r\n` included.
                if self.bytes[i] == b'\r' && self.at(i + 1) == b'\n' {
                    i += 1;
                }
            }
            i += 1;
        }
        self.pos = i;
    }

    fn block_comment(&mut self) -> bool {
        let body = &self.bytes[self.pos + 2..self.end];
        match body.windows(2).position(|w| w == b"*/") {
            Some(i) => {
                self.pos += 2 + i + 2;
                true
            }
            None => {
                self.pos = self.end;
                false
            }
        }
    }

    /// Skips a preprocessing number (`0x1p-3`, `1e+9`, `42u`).
    fn number(&mut self) {
        let mut i = self.pos + 1;
        loop {
            let c = self.at(i);
            let exponent_sign =
                matches!(c, b'+' | b'-') && matches!(self.at(i - 1), b'e' | b'E' | b'p' | b'P');
            if !(exponent_sign || c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
                break;
            }
            i += 1;
        }
        self.pos = i;
    }
}

impl Iterator for Scanner<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        while self.pos < self.end {
            let start = self.pos;
            let c = self.bytes[start];
            match c {
                b'{' => {
                    self.pos += 1;
                    return Some(Event::Open(start));
                }
                b'}' => {
                    self.pos += 1;
                    return Some(Event::Close(start));
                }
                b'"' | b'\'' => {
                    if !self.literal(c) {
                        let what = if c == b'"' {
                            Unterminated::String
                        } else {
                            Unterminated::Char
                        };
                        return Some(Event::Unterminated { what, start });
                    }
                }
                b'/' if self.at(start + 1) == b'/' => self.line_comment(),
                b'/' if self.at(start + 1) == b'*' => {
                    if !self.block_comment() {
                        let what = Unterminated::Comment;
                        return Some(Event::Unterminated { what, start });
                    }
                }
                b'(' | b')' | b'[' | b']' | b';' => {
                    self.pos += 1;
                    return Some(Event::Punct(start, c));
                }
                b'0'..=b'9' => self.number(),
                b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                    let mut i = start + 1;
                    while self.at(i).is_ascii_alphanumeric() || self.at(i) == b'_' {
                        i += 1;
                    }
                    self.pos = i;
                    return Some(Event::Ident { start, end: i });
                }
                _ => self.pos += 1,
            }
        }
        None
    }
}

/// The result of scanning a brace-delimited block of C text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Block {
    /// Offset of the closing `}`; `None` if the text ends first.
    pub(crate) close: Option<usize>,
    /// Unterminated literals and comments inside the block.
    pub(crate) problems: Vec<(Unterminated, usize)>,
}

/// Scans from just after the opening `{` at `open` to its matching `}`.
pub(crate) fn block(src: &str, open: usize) -> Block {
    let mut depth = 0usize;
    let mut problems = Vec::new();
    for event in Scanner::new(src, open + 1, src.len()) {
        match event {
            Event::Open(_) => depth += 1,
            Event::Close(at) if depth == 0 => {
                return Block {
                    close: Some(at),
                    problems,
                }
            }
            Event::Close(_) => depth -= 1,
            Event::Unterminated { what, start } => problems.push((what, start)),
            Event::Ident { .. } | Event::Punct(..) => {}
        }
    }
    Block {
        close: None,
        problems,
    }
}

/// The result of scanning a C expression up to its terminating `;`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Expression {
    /// `Ok` with the offset of the `;` outside every bracket; `Err` with
    /// where the expression ended without one: a closing bracket or brace
    /// with nothing open, or the end of the text.
    pub(crate) end: Result<usize, usize>,
    /// Unterminated literals and comments inside the expression.
    pub(crate) problems: Vec<(Unterminated, usize)>,
}

/// Scans from `start` to the first `;` outside parentheses, brackets and
/// braces.
pub(crate) fn expression(src: &str, start: usize) -> Expression {
    let mut depth = 0usize;
    let mut problems = Vec::new();
    for event in Scanner::new(src, start, src.len()) {
        match event {
            Event::Punct(at, b';') if depth == 0 => {
                return Expression {
                    end: Ok(at),
                    problems,
                }
            }
            Event::Open(_) | Event::Punct(_, b'(' | b'[') => depth += 1,
            Event::Close(at) | Event::Punct(at, b')' | b']') => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => {
                    return Expression {
                        end: Err(at),
                        problems,
                    }
                }
            },
            Event::Unterminated { what, start } => problems.push((what, start)),
            Event::Ident { .. } | Event::Punct(..) => {}
        }
    }
    Expression {
        end: Err(src.len()),
        problems,
    }
}

/// Whether C text holds nothing but whitespace and comments.
pub(crate) fn is_blank(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if let Some(comment) = rest.strip_prefix("/*") {
            match comment.find("*/") {
                Some(end) => rest = comment[end + 2..].trim_start(),
                None => return true,
            }
        } else if let Some(comment) = rest.strip_prefix("//") {
            match comment.find(['\n', '\r']) {
                Some(end) => rest = comment[end..].trim_start(),
                None => return true,
            }
        } else {
            return rest.is_empty();
        }
    }
}

/// The identifiers of C text between two offsets, with their offsets.
pub(crate) fn identifiers(
    src: &str,
    start: usize,
    end: usize,
) -> impl Iterator<Item = (usize, &str)> {
    Scanner::new(src, start, end).filter_map(move |event| match event {
        Event::Ident { start, end } => Some((start, &src[start..end])),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(text: &str) -> Vec<&str> {
        identifiers(text, 0, text.len()).map(|(_, s)| s).collect()
    }

    #[test]
    fn identifiers_skip_literals_comments_and_numbers() {
        let text = r#"a = "OPARG \" }" + 'x' + '\'' /* DEOPT } */ // JUMP {
            b = 0x1p-3 + 1e+9 + 42u + c1;"#;
        assert_eq!(idents(text), ["a", "b", "c1"]);
    }

    #[test]
    fn line_comment_continues_after_backslash() {
        assert_eq!(idents("// x \\\n y\nz"), ["z"]);
    }

    #[test]
    fn lone_carriage_returns_end_comments_and_literals() {
        assert_eq!(idents("// x\ry\r// \\\rz\rw"), ["y", "w"]);
        assert_eq!(idents("// x \\\r\n y\r\nz"), ["z"]);
        let text = "{ s = \"abc\r t = '\\\r\n'\r}";
        let b = block(text, 0);
        assert_eq!(b.close, Some(text.len() - 1));
        assert_eq!(b.problems, [(Unterminated::String, 6)]);
    }

    #[test]
    fn block_finds_the_matching_brace() {
        let text = "{ if (x) { s = \"}\"; } /* } */ }\nrest";
        let b = block(text, 0);
        assert_eq!(b.close, text.find("}\nrest"));
        assert!(b.problems.is_empty());
    }

    #[test]
    fn unterminated_literals_end_at_the_line_break() {
        let text = "{ s = \"abc\n t = 'q\n}";
        let b = block(text, 0);
        assert_eq!(b.close, Some(text.len() - 1));
        assert_eq!(
            b.problems,
            [(Unterminated::String, 6), (Unterminated::Char, 16)]
        );
    }

    #[test]
    fn expression_ends_at_the_outer_semicolon() {
        let text = "f(a; b)[\";\"] + /* ; */ x ; rest";
        let e = expression(text, 0);
        assert_eq!(e.end, Ok(text.find(" ; rest").unwrap() + 1));
        assert!(e.problems.is_empty());
        // A closer with nothing open ends it without a `;`.
        let text = "a + (b) }";
        assert_eq!(expression(text, 0).end, Err(text.len() - 1));
        assert_eq!(expression("a + (b;", 0).end, Err(7));
        let e = expression("\"a;\n;", 0);
        assert_eq!(e.end, Ok(4));
        assert_eq!(e.problems, [(Unterminated::String, 0)]);
    }

    #[test]
    fn blank_text_is_whitespace_and_comments() {
        assert!(is_blank(" /* a */ // b\n\t/* c"));
        assert!(is_blank(""));
        assert!(!is_blank("/* a */ x"));
        assert!(!is_blank("// a\rx"));
    }

    #[test]
    fn unclosed_block_and_comment() {
        assert_eq!(
            block("{ { }", 0),
            Block {
                close: None,
                problems: vec![]
            }
        );
        assert_eq!(
            block("{ /* }", 0),
            Block {
                close: None,
                problems: vec![(Unterminated::Comment, 2)]
            }
        );
    }
}
