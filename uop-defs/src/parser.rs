//! Syntax: tokens and C text to the AST, recovering after errors.

mod abi;

use std::path::Path;

pub(crate) use abi::{duplicate_abi, AbiExtras};

use crate::ast::{Helper, Span, StackValue, Uop, UopFile, ValueType};
use crate::ctext;
use crate::diagnostic::Diagnostic;
use crate::lexer::{Kind, Lexer, Token};
use crate::source::LineIndex;

/// What the checks need beyond the AST: where each clause entry was
/// written.
#[derive(Debug, Default)]
pub(crate) struct Clauses {
    /// Names in `uses` with their spans, first occurrences only.
    pub(crate) uses: Vec<(String, Span)>,
    /// Helper names with their spans, first occurrences only.
    pub(crate) calls: Vec<(String, Span)>,
}

/// A file's AST; `clauses[i]` belongs to `file.uops[i]`.
pub(crate) struct ParsedFile {
    pub(crate) file: UopFile,
    pub(crate) clauses: Vec<Clauses>,
    /// What the checks of `file.abi` need beyond the AST.
    pub(crate) abi_extras: Option<AbiExtras>,
    /// The file has an `abi` keyword where an item starts, even if the
    /// item did not parse: a missing ABI would then be a repeated error.
    pub(crate) abi_started: bool,
}

/// Parses a whole file, reporting every syntax error.
pub(crate) fn parse_file(
    path: &Path,
    src: &str,
    index: &LineIndex<'_>,
) -> (ParsedFile, Vec<Diagnostic>) {
    let mut p = Parser {
        path,
        src,
        index,
        lexer: Lexer::new(src),
        peeked: None,
        errors: Vec::new(),
        file: UopFile {
            path: path.to_path_buf(),
            prelude: String::new(),
            helpers: Vec::new(),
            uops: Vec::new(),
            abi: None,
        },
        clauses: Vec::new(),
        abi_extras: None,
        abi_started: false,
    };
    while p.peek().kind != Kind::Eof {
        if p.item().is_err() {
            p.recover();
        }
    }
    for (what, start) in std::mem::take(&mut p.lexer.unterminated) {
        p.error(start, what.opener_len(), what.message().to_string());
    }
    let parsed = ParsedFile {
        file: p.file,
        clauses: p.clauses,
        abi_extras: p.abi_extras,
        abi_started: p.abi_started,
    };
    (parsed, p.errors)
}

/// A syntax error was reported; parsing resumes at the next item.
struct Fatal;

struct Parser<'a> {
    path: &'a Path,
    src: &'a str,
    index: &'a LineIndex<'a>,
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    errors: Vec<Diagnostic>,
    file: UopFile,
    clauses: Vec<Clauses>,
    abi_extras: Option<AbiExtras>,
    abi_started: bool,
}

const ITEM_KEYWORDS: [&str; 4] = ["uop", "helper", "prelude", "abi"];

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Token {
        *self.peeked.get_or_insert_with(|| self.lexer.next_token())
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        self.peeked = None;
        t
    }

    fn text(&self, t: Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    fn span(&self, t: Token) -> Span {
        self.index.span(t.start, t.len())
    }

    fn error(&mut self, offset: usize, len: usize, message: String) {
        let span = self.index.span(offset, len);
        self.errors
            .push(Diagnostic::located(self.path, self.index, span, message));
    }

    fn error_at(&mut self, t: Token, message: String) {
        self.error(t.start, t.len(), message);
    }

    fn describe(&self, t: Token) -> String {
        match t.kind {
            Kind::Eof => "end of file".to_string(),
            Kind::Doc => "doc comment".to_string(),
            _ => format!("`{}`", self.text(t)),
        }
    }

    /// Reports "expected X, found Y" at the next token.
    fn unexpected(&mut self, expected: &str) -> Fatal {
        let t = self.peek();
        let message = format!("expected {expected}, found {}", self.describe(t));
        self.error_at(t, message);
        Fatal
    }

    fn expect(&mut self, kind: Kind, expected: &str) -> Result<Token, Fatal> {
        if self.peek().kind == kind {
            Ok(self.bump())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn is_keyword(&mut self, keyword: &str) -> bool {
        let t = self.peek();
        t.kind == Kind::Ident && self.text(t) == keyword
    }

    /// Skips to the next item keyword or doc comment. Braces met on the way
    /// open C text, which is skipped whole so that nothing in it is read as
    /// an item.
    fn recover(&mut self) {
        loop {
            let t = self.peek();
            match t.kind {
                Kind::Eof | Kind::Doc => return,
                Kind::Ident if ITEM_KEYWORDS.contains(&self.text(t)) => return,
                Kind::LBrace => {
                    self.bump();
                    // An unclosed block ends the file: nothing to resume.
                    let _ = self.c_text(t, "this block");
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    fn item(&mut self) -> Result<(), Fatal> {
        let mut docs = Vec::new();
        while self.peek().kind == Kind::Doc {
            docs.push(self.bump());
        }
        if self.is_keyword("uop") {
            return self.uop(&docs);
        }
        if self.is_keyword("abi") {
            return self.abi(&docs);
        }
        let t = self.peek();
        let at_item = t.kind == Kind::Eof || ITEM_KEYWORDS.iter().any(|k| self.is_keyword(k));
        if let (Some(&first), true) = (docs.first(), at_item) {
            self.error_at(
                first,
                "doc comment is not followed by a uop or an `abi` item".to_string(),
            );
        }
        if self.is_keyword("helper") {
            self.helper()
        } else if self.is_keyword("prelude") {
            self.prelude()
        } else if t.kind == Kind::Eof {
            Ok(())
        } else if t.kind == Kind::RBrace {
            self.error_at(t, "unmatched `}`".to_string());
            self.bump();
            Err(Fatal)
        } else {
            Err(self.unexpected("`uop`, `helper`, `prelude` or `abi`"))
        }
    }

    /// `prelude { C-TEXT }`
    fn prelude(&mut self) -> Result<(), Fatal> {
        self.bump();
        let open = self.expect(Kind::LBrace, "`{`")?;
        let (start, close) = self.c_text(open, "the prelude")?;
        let text = &self.src[start..close];
        self.file.prelude.push_str(text);
        if !text.ends_with('\n') {
            self.file.prelude.push('\n');
        }
        Ok(())
    }

    /// `helper NAME(TYPES) -> TYPE;`
    fn helper(&mut self) -> Result<(), Fatal> {
        self.bump();
        let name = self.expect(Kind::Ident, "helper name")?;
        self.expect(Kind::LParen, "`(`")?;
        let mut params = Vec::new();
        if self.peek().kind != Kind::RParen {
            params.push(self.value_type()?);
            while self.peek().kind == Kind::Comma {
                self.bump();
                params.push(self.value_type()?);
            }
        }
        self.expect(Kind::RParen, "`,` or `)`")?;
        self.expect(Kind::Arrow, "`->`")?;
        let ret = self.value_type()?;
        self.expect(Kind::Semi, "`;`")?;
        self.file.helpers.push(Helper {
            name: self.text(name).to_string(),
            params,
            ret,
            span: self.span(name),
        });
        Ok(())
    }

    /// `uop NAME(STACK-EFFECT) CLAUSES { C-TEXT }`, after its doc comments.
    fn uop(&mut self, docs: &[Token]) -> Result<(), Fatal> {
        self.bump();
        let name = self.expect(Kind::Ident, "uop name")?;
        let open = self.expect(Kind::LParen, "`(`")?;
        let (inputs, outputs) = self.stack_effect(open)?;
        let mut clauses = Clauses::default();
        loop {
            if self.is_keyword("uses") {
                self.bump();
                let names = self.names("value name")?;
                self.uses_list(&names, &mut clauses.uses);
            } else if self.is_keyword("calls") {
                self.bump();
                for t in self.names("helper name")? {
                    let (name, span) = (self.text(t), self.span(t));
                    if clauses.calls.iter().any(|(n, _)| n == name) {
                        self.error_at(t, format!("helper `{name}` is listed twice in `calls`"));
                    } else {
                        clauses.calls.push((name.to_string(), span));
                    }
                }
            } else if self.peek().kind == Kind::LBrace {
                break;
            } else {
                return Err(self.unexpected("`uses`, `calls` or `{`"));
            }
        }
        let lbrace = self.bump();
        let name_text = self.text(name);
        let (start, close) = self.c_text(lbrace, &format!("the body of uop `{name_text}`"))?;
        let doc = self.doc(docs);
        self.file.uops.push(Uop {
            name: name_text.to_string(),
            doc,
            inputs,
            outputs,
            uses: clauses.uses.iter().map(|(n, _)| n.clone()).collect(),
            calls: clauses.calls.iter().map(|(n, _)| n.clone()).collect(),
            body: self.src[start..close].to_string(),
            body_span: self.index.span(start, close - start),
            span: self.span(name),
        });
        self.clauses.push(clauses);
        Ok(())
    }

    /// Adds the names of one `uses` clause to `uses`; which names the ABI
    /// knows is checked once the ABI is known.
    fn uses_list(&mut self, names: &[Token], uses: &mut Vec<(String, Span)>) {
        for &t in names {
            let name = self.text(t);
            if uses.iter().any(|(n, _)| n == name) {
                self.error_at(t, format!("value `{name}` is listed twice in `uses`"));
            } else {
                uses.push((name.to_string(), self.span(t)));
            }
        }
    }

    /// The text of `///` lines, joined with `\n`.
    fn doc(&self, docs: &[Token]) -> String {
        docs.iter()
            .map(|&t| doc_text(self.text(t)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `IDENT (',' IDENT)*`
    fn names(&mut self, what: &str) -> Result<Vec<Token>, Fatal> {
        let mut names = vec![self.expect(Kind::Ident, what)?];
        while self.peek().kind == Kind::Comma {
            self.bump();
            names.push(self.expect(Kind::Ident, what)?);
        }
        Ok(names)
    }

    /// `values -- values )`, after the `(`. Missing or extra `--` and
    /// missing commas are reported without giving up on the uop.
    fn stack_effect(&mut self, open: Token) -> Result<(Vec<StackValue>, Vec<StackValue>), Fatal> {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let mut seen_dashes = false;
        // Whether the next value needs no comma before it.
        let mut at_list_start = true;
        let mut after_comma = false;
        loop {
            let t = self.peek();
            match t.kind {
                Kind::RParen | Kind::DashDash if after_comma => {
                    let message = format!("expected stack value, found {}", self.describe(t));
                    self.error_at(t, message);
                    after_comma = false;
                }
                Kind::Comma if at_list_start || after_comma => {
                    return Err(self.unexpected("stack value"));
                }
                Kind::RParen => {
                    let close = self.bump();
                    if !seen_dashes {
                        self.error(
                            open.start,
                            close.end - open.start,
                            "stack effect has no `--` between inputs and outputs".to_string(),
                        );
                    }
                    return Ok((inputs, outputs));
                }
                Kind::DashDash => {
                    self.bump();
                    if seen_dashes {
                        self.error_at(t, "stack effect has more than one `--`".to_string());
                    }
                    seen_dashes = true;
                    at_list_start = true;
                }
                Kind::Comma => {
                    self.bump();
                    after_comma = true;
                }
                Kind::Ident => {
                    if !(at_list_start || after_comma) {
                        let message = format!(
                            "expected `,` between stack values, found {}",
                            self.describe(t)
                        );
                        self.error_at(t, message);
                    }
                    let value = self.stack_value()?;
                    if seen_dashes {
                        outputs.push(value);
                    } else {
                        inputs.push(value);
                    }
                    at_list_start = false;
                    after_comma = false;
                }
                _ => {
                    let expected = if at_list_start || after_comma {
                        "stack value, `--` or `)`"
                    } else {
                        "`,`, `--` or `)`"
                    };
                    return Err(self.unexpected(expected));
                }
            }
        }
    }

    /// `IDENT [':' type]`
    fn stack_value(&mut self) -> Result<StackValue, Fatal> {
        let name = self.bump();
        let ty = if self.peek().kind == Kind::Colon {
            self.bump();
            self.value_type()?
        } else {
            ValueType::I64
        };
        Ok(StackValue {
            name: self.text(name).to_string(),
            ty,
            span: self.span(name),
        })
    }

    /// `i64 | f64 | ptr`; an unknown name is reported and read as `i64`.
    fn value_type(&mut self) -> Result<ValueType, Fatal> {
        let t = self.expect(Kind::Ident, "type")?;
        let ty = match self.text(t) {
            "i64" => ValueType::I64,
            "f64" => ValueType::F64,
            "ptr" => ValueType::Ptr,
            other => {
                let message = format!("unknown type `{other}`; expected `i64`, `f64` or `ptr`");
                self.error_at(t, message);
                ValueType::I64
            }
        };
        Ok(ty)
    }

    /// Scans the C text after the `{` token `open` (just consumed) up to
    /// its matching `}`; returns the text's start and the `}`'s offset.
    fn c_text(&mut self, open: Token, owner: &str) -> Result<(usize, usize), Fatal> {
        debug_assert!(self.peeked.is_none());
        let block = ctext::block(self.src, open.start);
        for (what, start) in block.problems {
            self.error(start, what.opener_len(), what.message().to_string());
        }
        match block.close {
            Some(close) => {
                self.lexer.seek(close + 1);
                Ok((open.end, close))
            }
            None => {
                self.error_at(open, format!("unclosed `{{`: {owner} has no matching `}}`"));
                self.lexer.seek(self.src.len());
                Err(Fatal)
            }
        }
    }
}

/// The text of a `///` line without the slashes and one leading space.
fn doc_text(line: &str) -> &str {
    let text = line.strip_prefix("///").unwrap_or(line);
    let text = text.strip_suffix('\r').unwrap_or(text);
    text.strip_prefix(' ').unwrap_or(text)
}
