//! The `abi` item: the stencil ABI a VM declares.

use crate::ast::{
    Abi, CParam, CType, Entry, Exit, ExitStack, Span, StackDecl, ThreadedArg, ValueDecl,
    ValueSource, ValueWidth,
};
use crate::ctext;
use crate::diagnostic::position;
use crate::lexer::{Kind, Token};

use super::{Fatal, Parser};

/// The most top-of-stack values an ABI may keep in registers.
pub(crate) const MAX_CACHE: u32 = 8;

/// What the checks of an `abi` item need beyond the AST.
#[derive(Debug, Default)]
pub(crate) struct AbiExtras {
    /// Whether `stack` was declared (else `Abi::stack` is a placeholder).
    pub(crate) has_stack: bool,
    /// Per exit: its parameters and the names in its `uses`, with spans.
    pub(crate) exit_params: Vec<Vec<(String, Span)>>,
    pub(crate) exit_uses: Vec<Vec<(String, Span)>>,
}

/// The statements read so far; the first of each kind wins.
#[derive(Default)]
struct Statements {
    types: Option<(String, Span, Span)>,
    entry: Option<Entry>,
    stack: Option<(StackDecl, Span)>,
    pointer: Option<(CType, Span)>,
    cache: Option<(u32, Span)>,
    args: Vec<ThreadedArg>,
    values: Vec<ValueDecl>,
    exits: Vec<Exit>,
    extras: AbiExtras,
}

const STATEMENTS: &str =
    "`types`, `entry`, `arg`, `stack`, `pointer`, `cache`, `value`, `exit` or `}`";

impl Parser<'_> {
    /// `abi { STATEMENT* }`, after its doc comments.
    pub(super) fn abi(&mut self, docs: &[Token]) -> Result<(), Fatal> {
        let keyword = self.bump();
        self.abi_started = true;
        let open = self.expect(Kind::LBrace, "`{`")?;
        let mut st = Statements::default();
        loop {
            let mut docs = Vec::new();
            while self.peek().kind == Kind::Doc {
                docs.push(self.bump());
            }
            let t = self.peek();
            if t.kind == Kind::RBrace || t.kind == Kind::Eof {
                if let Some(&first) = docs.first() {
                    let message = "doc comment is not followed by an abi statement".to_string();
                    self.error_at(first, message);
                }
                if t.kind == Kind::Eof {
                    let message = "unclosed `{`: the abi has no matching `}`".to_string();
                    self.error_at(open, message);
                    return Err(Fatal);
                }
                self.bump();
                break;
            }
            if self.statement(&mut st, &docs).is_err() {
                self.recover_statement();
            }
        }
        self.finish_abi(keyword, docs, st);
        Ok(())
    }

    fn statement(&mut self, st: &mut Statements, docs: &[Token]) -> Result<(), Fatal> {
        let t = self.peek();
        let word = if t.kind == Kind::Ident {
            self.text(t)
        } else {
            ""
        };
        match word {
            "types" => self.types(st),
            "entry" => self.entry(st),
            "arg" => self.arg(st, docs),
            "stack" => self.stack(st),
            "pointer" => self.pointer(st),
            "cache" => self.cache(st),
            "value" => self.value(st, docs),
            "exit" => self.exit(st, docs),
            _ => Err(self.unexpected(STATEMENTS)),
        }
    }

    /// Skips the rest of a statement: up to its `;` or C block, or to the
    /// abi's `}`.
    fn recover_statement(&mut self) {
        loop {
            let t = self.peek();
            match t.kind {
                Kind::Eof | Kind::Doc | Kind::RBrace => return,
                Kind::Semi => {
                    self.bump();
                    return;
                }
                Kind::LBrace => {
                    self.bump();
                    let _ = self.c_text(t, "this block");
                    return;
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// Reports a statement given twice, at the second.
    fn duplicate_statement(&mut self, t: Token, first: &Span) {
        let message = format!(
            "duplicate `{}` in the abi (first declared at {})",
            self.text(t),
            position(self.path, first)
        );
        self.error_at(t, message);
    }

    /// `types { C-TEXT }`
    fn types(&mut self, st: &mut Statements) -> Result<(), Fatal> {
        let keyword = self.bump();
        let open = self.expect(Kind::LBrace, "`{`")?;
        let (start, close) = self.c_text(open, "the `types` of the abi")?;
        match &st.types {
            Some((_, _, first)) => {
                let first = first.clone();
                self.duplicate_statement(keyword, &first);
            }
            None => {
                let text = self.src[start..close].to_string();
                let span = self.index.span(start, close - start);
                st.types = Some((text, span, self.span(keyword)));
            }
        }
        Ok(())
    }

    /// `entry ( [PARAM (',' PARAM)*] ) -> CTYPE ;` where a parameter is a C
    /// type followed by its name.
    fn entry(&mut self, st: &mut Statements) -> Result<(), Fatal> {
        let keyword = self.bump();
        self.expect(Kind::LParen, "`(`")?;
        let mut params = Vec::new();
        if self.peek().kind != Kind::RParen {
            params.push(self.entry_param()?);
            while self.peek().kind == Kind::Comma {
                self.bump();
                params.push(self.entry_param()?);
            }
        }
        self.expect(Kind::RParen, "`,` or `)`")?;
        self.expect(Kind::Arrow, "`->` and the entry's C return type")?;
        let ret = self.c_type("the entry's C return type")?;
        self.expect(Kind::Semi, "`;`")?;
        match &st.entry {
            Some(first) => {
                let first = first.span.clone();
                self.duplicate_statement(keyword, &first);
            }
            None => {
                st.entry = Some(Entry {
                    params,
                    ret,
                    span: self.span(keyword),
                })
            }
        }
        Ok(())
    }

    fn entry_param(&mut self) -> Result<CParam, Fatal> {
        let words = self.c_words();
        let Some((&name, ty)) = words.split_last() else {
            return Err(self.unexpected("parameter type and name"));
        };
        if name.kind != Kind::Ident {
            return Err(self.unexpected("parameter name"));
        }
        if ty.is_empty() {
            let text = self.text(name);
            let message = if text == "void" {
                "write `entry()` for an entry without parameters".to_string()
            } else {
                format!("parameter `{text}` has no C type; write it as `TYPE {text}`")
            };
            self.error_at(name, message);
            return Err(Fatal);
        }
        if ty[0].kind != Kind::Ident {
            self.error_at(ty[0], "expected parameter type, found `*`".to_string());
            return Err(Fatal);
        }
        Ok(CParam {
            name: self.text(name).to_string(),
            ty: self.make_c_type(ty),
            span: self.span(name),
        })
    }

    /// `arg NAME : CTYPE = EXPR ;`
    fn arg(&mut self, st: &mut Statements, docs: &[Token]) -> Result<(), Fatal> {
        self.bump();
        let name = self.expect(Kind::Ident, "arg name")?;
        self.expect(Kind::Colon, "`:` and the arg's C type")?;
        let ty = self.c_type("the arg's C type")?;
        let name_text = self.text(name);
        if self.peek().kind != Kind::Eq {
            let expected = format!(
                "`=` and the initialiser of arg `{name_text}` (the C expression over the \
                 entry parameters that the shim computes it with)"
            );
            return Err(self.unexpected(&expected));
        }
        let eq = self.bump();
        let init = self.initialiser(eq, name_text)?;
        let init_span = self.index.span(init.0, init.1 - init.0);
        st.args.push(ThreadedArg {
            name: name_text.to_string(),
            ty,
            init: self.src[init.0..init.1].to_string(),
            init_span,
            span: self.span(name),
            doc: self.doc(docs),
        });
        Ok(())
    }

    /// The C text after `=` up to its `;`, trimmed, as (start, end); the
    /// lexer continues after the `;`.
    fn initialiser(&mut self, eq: Token, arg: &str) -> Result<(usize, usize), Fatal> {
        debug_assert!(self.peeked.is_none());
        let expr = ctext::expression(self.src, eq.end);
        for (what, start) in expr.problems {
            self.error(start, what.opener_len(), what.message().to_string());
        }
        let semi = match expr.end {
            Ok(semi) => semi,
            Err(at) => {
                let found = self.src[at..].chars().next();
                let message = match found {
                    Some(c @ (')' | ']')) => {
                        format!("unmatched `{c}` in the initialiser of arg `{arg}`")
                    }
                    Some(c) => {
                        format!("expected `;` after the initialiser of arg `{arg}`, found `{c}`")
                    }
                    None => format!(
                        "expected `;` after the initialiser of arg `{arg}`, found end of file"
                    ),
                };
                self.error(at, found.map_or(0, char::len_utf8), message);
                // Resume after a stray closer, at the abi's `}` otherwise.
                let resume = if matches!(found, Some(')' | ']')) {
                    at + 1
                } else {
                    at
                };
                self.lexer.seek(resume);
                return Err(Fatal);
            }
        };
        self.lexer.seek(semi + 1);
        let text = &self.src[eq.end..semi];
        let start = eq.end + (text.len() - text.trim_start().len());
        let end = start + text.trim().len();
        if ctext::is_blank(text) {
            let message = format!(
                "arg `{arg}` has an empty initialiser; write the C expression the shim \
                 computes it with between `=` and `;`"
            );
            self.error_at(eq, message);
        }
        Ok((start, end))
    }

    /// `stack ARG : CTYPE ;`
    fn stack(&mut self, st: &mut Statements) -> Result<(), Fatal> {
        let keyword = self.bump();
        let arg = self.expect(Kind::Ident, "the name of the stack pointer arg")?;
        self.expect(Kind::Colon, "`:` and the C type of one stack slot")?;
        let slot = self.c_type("the C type of one stack slot")?;
        self.expect(Kind::Semi, "`;`")?;
        match &st.stack {
            Some((_, first)) => {
                let first = first.clone();
                self.duplicate_statement(keyword, &first);
            }
            None => {
                let decl = StackDecl {
                    arg: self.text(arg).to_string(),
                    slot,
                    span: self.span(arg),
                };
                st.stack = Some((decl, self.span(keyword)));
            }
        }
        Ok(())
    }

    /// `pointer CTYPE ;`
    fn pointer(&mut self, st: &mut Statements) -> Result<(), Fatal> {
        let keyword = self.bump();
        let ty = self.c_type("the C type of `ptr` stack values")?;
        self.expect(Kind::Semi, "`;`")?;
        match &st.pointer {
            Some((_, first)) => {
                let first = first.clone();
                self.duplicate_statement(keyword, &first);
            }
            None => st.pointer = Some((ty, self.span(keyword))),
        }
        Ok(())
    }

    /// `cache NUMBER ;`
    fn cache(&mut self, st: &mut Statements) -> Result<(), Fatal> {
        let keyword = self.bump();
        let t = self.peek();
        let text = self.text(t);
        if t.kind != Kind::Number || !text.bytes().all(|c| c.is_ascii_digit()) {
            return Err(self.unexpected("the number of stack values kept in registers"));
        }
        self.bump();
        let n = match text.parse::<u32>() {
            Ok(n) if n <= MAX_CACHE => n,
            _ => {
                let message = format!(
                    "cache {text} is too large: at most {MAX_CACHE} top-of-stack values may \
                     be kept in registers"
                );
                self.error_at(t, message);
                MAX_CACHE
            }
        };
        self.expect(Kind::Semi, "`;`")?;
        match &st.cache {
            Some((_, first)) => {
                let first = first.clone();
                self.duplicate_statement(keyword, &first);
            }
            None => st.cache = Some((n, self.span(keyword))),
        }
        Ok(())
    }

    /// `value NAME : WIDTH SOURCE ;`
    fn value(&mut self, st: &mut Statements, docs: &[Token]) -> Result<(), Fatal> {
        self.bump();
        let name = self.expect(Kind::Ident, "value name")?;
        self.expect(Kind::Colon, "`:` and the value's width")?;
        let name_text = self.text(name);
        let width_word = self.expect(Kind::Ident, "the value's width (`u32` or `u64`)")?;
        let width = match self.text(width_word) {
            "u32" => ValueWidth::U32,
            "u64" => ValueWidth::U64,
            other => {
                let message = format!(
                    "unknown width `{other}` of value `{name_text}`; expected `u32` or `u64`"
                );
                self.error_at(width_word, message);
                ValueWidth::U64
            }
        };
        let source_word =
            self.expect(Kind::Ident, "the value's source (`per_op` or `per_trace`)")?;
        let source = match self.text(source_word) {
            "per_op" => ValueSource::PerOp,
            "per_trace" => ValueSource::PerTrace,
            other => {
                let message = format!(
                    "unknown source `{other}` of value `{name_text}`; expected `per_op` \
                     (an immediate of each trace op) or `per_trace` (one value per trace)"
                );
                self.error_at(source_word, message);
                ValueSource::PerOp
            }
        };
        self.expect(Kind::Semi, "`;`")?;
        st.values.push(ValueDecl {
            name: name_text.to_string(),
            width,
            source,
            span: self.span(name),
            doc: self.doc(docs),
        });
        Ok(())
    }

    /// `exit NAME ( [IDENT (',' IDENT)*] ) (keeps|pops) inputs
    /// [uses IDENT (',' IDENT)*] { C-TEXT }`
    fn exit(&mut self, st: &mut Statements, docs: &[Token]) -> Result<(), Fatal> {
        self.bump();
        let name = self.expect(Kind::Ident, "exit name")?;
        self.expect(Kind::LParen, "`(`")?;
        let mut params = Vec::new();
        if self.peek().kind != Kind::RParen {
            params = self.names("macro parameter name")?;
        }
        self.expect(Kind::RParen, "`,` or `)`")?;
        let stack = if self.is_keyword("keeps") {
            ExitStack::KeepsInputs
        } else if self.is_keyword("pops") {
            ExitStack::PopsInputs
        } else {
            return Err(self.unexpected("`keeps inputs` or `pops inputs`"));
        };
        self.bump();
        if !self.is_keyword("inputs") {
            return Err(self.unexpected("`inputs`"));
        }
        self.bump();
        let mut uses = Vec::new();
        if self.is_keyword("uses") {
            self.bump();
            let names = self.names("value name")?;
            self.uses_list(&names, &mut uses);
        }
        let open = self.expect(Kind::LBrace, "`uses` or `{`")?;
        let name_text = self.text(name);
        let (start, close) = self.c_text(open, &format!("the body of exit `{name_text}`"))?;
        let params: Vec<(String, Span)> = params
            .iter()
            .map(|&t| (self.text(t).to_string(), self.span(t)))
            .collect();
        st.exits.push(Exit {
            name: name_text.to_string(),
            params: params.iter().map(|(n, _)| n.clone()).collect(),
            stack,
            uses: uses.iter().map(|(n, _)| n.clone()).collect(),
            body: self.src[start..close].to_string(),
            body_span: self.index.span(start, close - start),
            span: self.span(name),
            doc: self.doc(docs),
        });
        st.extras.exit_params.push(params);
        st.extras.exit_uses.push(uses);
        Ok(())
    }

    /// Identifier and `*` tokens, as many as follow.
    fn c_words(&mut self) -> Vec<Token> {
        let mut words = Vec::new();
        while matches!(self.peek().kind, Kind::Ident | Kind::Star) {
            words.push(self.bump());
        }
        words
    }

    /// A C type: identifiers and `*`, starting with an identifier.
    fn c_type(&mut self, expected: &str) -> Result<CType, Fatal> {
        if self.peek().kind != Kind::Ident {
            return Err(self.unexpected(expected));
        }
        let words = self.c_words();
        Ok(self.make_c_type(&words))
    }

    /// The normalised text of C type tokens: single spaces between words, a
    /// space before the first `*` of a run and none inside it.
    fn make_c_type(&self, words: &[Token]) -> CType {
        let mut text = String::new();
        for (i, &t) in words.iter().enumerate() {
            let in_star_run = t.kind == Kind::Star && i > 0 && words[i - 1].kind == Kind::Star;
            if i > 0 && !in_star_run {
                text.push(' ');
            }
            text.push_str(self.text(t));
        }
        let (first, last) = (words[0], words[words.len() - 1]);
        CType {
            text,
            span: self.index.span(first.start, last.end - first.start),
        }
    }

    /// Checks the required statements and stores the ABI in the file.
    fn finish_abi(&mut self, keyword: Token, docs: &[Token], st: Statements) {
        let span = self.span(keyword);
        let missing = [
            (
                st.types.is_none(),
                "types",
                "declare the C types every stencil sees with `types { ... }`",
            ),
            (
                st.entry.is_none(),
                "entry",
                "declare the shim's C signature with `entry(PARAMS) -> TYPE;`",
            ),
            (
                st.stack.is_none(),
                "stack",
                "name the operand stack pointer with `stack ARG: SLOT-TYPE;`",
            ),
        ];
        for (absent, what, how) in missing {
            if absent {
                let message = format!("the abi has no `{what}` statement: {how}");
                self.error_at(keyword, message);
            }
        }
        let placeholder = |text: &str| CType {
            text: text.to_string(),
            span: span.clone(),
        };
        let (types, types_span) = match st.types {
            Some((text, text_span, _)) => (text, text_span),
            None => (String::new(), span.clone()),
        };
        let mut extras = st.extras;
        extras.has_stack = st.stack.is_some();
        let abi = Abi {
            doc: self.doc(docs),
            span: span.clone(),
            types,
            types_span,
            entry: st.entry.unwrap_or_else(|| Entry {
                params: Vec::new(),
                ret: placeholder(""),
                span: span.clone(),
            }),
            args: st.args,
            stack: st.stack.map_or_else(
                || StackDecl {
                    arg: String::new(),
                    slot: placeholder(""),
                    span: span.clone(),
                },
                |(decl, _)| decl,
            ),
            pointer: st
                .pointer
                .map_or_else(|| placeholder("void *"), |(ty, _)| ty),
            cache: st.cache.map_or(0, |(n, _)| n),
            values: st.values,
            exits: st.exits,
        };
        match &self.file.abi {
            Some(first) => {
                let message = duplicate_abi(self.path, &first.span);
                self.error_at(keyword, message);
            }
            None => {
                self.file.abi = Some(abi);
                self.abi_extras = Some(extras);
            }
        }
    }
}

/// The message for a second `abi` item.
pub(crate) fn duplicate_abi(first_path: &std::path::Path, first: &Span) -> String {
    format!(
        "duplicate `abi` item (first declared at {}); a defs directory declares one stencil ABI",
        position(first_path, first)
    )
}
