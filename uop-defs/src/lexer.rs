//! Tokens of the `.uop` language outside C text.

use crate::ctext::Unterminated;
use crate::source::is_line_break;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Ident,
    /// A `///` line; its text starts after the slashes.
    Doc,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Semi,
    /// `--`, between inputs and outputs.
    DashDash,
    /// `->`, before a helper's return type.
    Arrow,
    /// `*`, in a C type of the ABI.
    Star,
    /// `=`, before a threaded argument's initialiser.
    Eq,
    /// Digits, with any letters that follow them (`8`, `3x`).
    Number,
    /// A character that starts no token.
    Unknown,
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Token {
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Block comments without `*/`, by start offset.
    pub(crate) unterminated: Vec<(Unterminated, usize)>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            unterminated: Vec::new(),
        }
    }

    /// Continues lexing at `pos` (after C text the parser scanned itself).
    pub(crate) fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.src.len());
    }

    fn rest(&self) -> &'a [u8] {
        &self.src.as_bytes()[self.pos..]
    }

    /// Skips whitespace and plain comments (not `///` doc comments).
    fn skip_trivia(&mut self) {
        loop {
            let rest = self.rest();
            if rest.first().is_some_and(u8::is_ascii_whitespace) {
                self.pos += 1;
            } else if rest.starts_with(b"//") && !is_doc(rest) {
                self.pos += line_len(rest);
            } else if rest.starts_with(b"/*") {
                match rest[2..].windows(2).position(|w| w == b"*/") {
                    Some(i) => self.pos += 2 + i + 2,
                    None => {
                        self.unterminated.push((Unterminated::Comment, self.pos));
                        self.pos = self.src.len();
                    }
                }
            } else {
                return;
            }
        }
    }

    pub(crate) fn next_token(&mut self) -> Token {
        self.skip_trivia();
        let start = self.pos;
        let rest = self.rest();
        let (kind, len) = match rest {
            [] => (Kind::Eof, 0),
            _ if is_doc(rest) => (Kind::Doc, line_len(rest)),
            [b'-', b'-', ..] => (Kind::DashDash, 2),
            [b'-', b'>', ..] => (Kind::Arrow, 2),
            [b'(', ..] => (Kind::LParen, 1),
            [b')', ..] => (Kind::RParen, 1),
            [b'{', ..] => (Kind::LBrace, 1),
            [b'}', ..] => (Kind::RBrace, 1),
            [b',', ..] => (Kind::Comma, 1),
            [b':', ..] => (Kind::Colon, 1),
            [b';', ..] => (Kind::Semi, 1),
            [b'*', ..] => (Kind::Star, 1),
            [b'=', ..] => (Kind::Eq, 1),
            [c, ..] if c.is_ascii_digit() => (Kind::Number, word_len(rest)),
            [c, ..] if c.is_ascii_alphabetic() || *c == b'_' => (Kind::Ident, word_len(rest)),
            _ => {
                let c = self.src[start..].chars().next().map_or(1, char::len_utf8);
                (Kind::Unknown, c)
            }
        };
        self.pos += len;
        Token {
            kind,
            start,
            end: start + len,
        }
    }
}

/// Length of the run of letters, digits and `_` that starts `rest`.
fn word_len(rest: &[u8]) -> usize {
    rest.iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .unwrap_or(rest.len())
}

/// Length of `rest` up to its first line break.
fn line_len(rest: &[u8]) -> usize {
    rest.iter()
        .position(|&c| is_line_break(c))
        .unwrap_or(rest.len())
}

/// `///` starts a doc comment; `////` is a plain comment, as in Rust.
fn is_doc(rest: &[u8]) -> bool {
    rest.starts_with(b"///") && !rest.starts_with(b"////")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token();
            if t.kind == Kind::Eof {
                return out;
            }
            out.push((t.kind, &src[t.start..t.end]));
        }
    }

    #[test]
    fn tokens_comments_and_docs() {
        let src =
            "/// doc\n// plain\n//// plain\n/* block */ uop a_1(x: f64 -- y) -> ; @é * = 8 12u";
        assert_eq!(
            kinds(src),
            [
                (Kind::Doc, "/// doc"),
                (Kind::Ident, "uop"),
                (Kind::Ident, "a_1"),
                (Kind::LParen, "("),
                (Kind::Ident, "x"),
                (Kind::Colon, ":"),
                (Kind::Ident, "f64"),
                (Kind::DashDash, "--"),
                (Kind::Ident, "y"),
                (Kind::RParen, ")"),
                (Kind::Arrow, "->"),
                (Kind::Semi, ";"),
                (Kind::Unknown, "@"),
                (Kind::Unknown, "é"),
                (Kind::Star, "*"),
                (Kind::Eq, "="),
                (Kind::Number, "8"),
                (Kind::Number, "12u"),
            ]
        );
    }

    #[test]
    fn comments_end_at_a_lone_carriage_return() {
        let src = "// plain\ruop /// doc\ra\r\n";
        assert_eq!(
            kinds(src),
            [
                (Kind::Ident, "uop"),
                (Kind::Doc, "/// doc"),
                (Kind::Ident, "a")
            ]
        );
    }

    #[test]
    fn unterminated_block_comment_is_recorded() {
        let mut lexer = Lexer::new("uop /* never closed");
        assert_eq!(lexer.next_token().kind, Kind::Ident);
        assert_eq!(lexer.next_token().kind, Kind::Eof);
        assert_eq!(lexer.unterminated, [(Unterminated::Comment, 4)]);
    }
}
