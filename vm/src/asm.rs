//! The text assembly of the reference VM.
//!
//! ```text
//! ; sum of 0..n            comments run from `;` to the end of the line
//! .arg n 1000             parameter `n` (the next local slot), default 1000
//! .local i                a named local (the next local slot)
//! .locals 4               at least 4 local slots (for locals used by index)
//! .heap 16                16 zeroed heap cells (or `.heap n`: as many as arg `n`)
//! .result i64             how to print the result: i64 (default) or f64
//! loop:                   a label; an instruction may follow on the same line
//!     load_local i        a uop and its immediates
//! ```
//!
//! A uop takes, in this order, an oparg (an unsigned 32-bit integer, or a
//! local's name), an operand (an integer or float literal: `7`, `-0x10`,
//! `1.5`, `-2e3`, `inf`, `nan`) and a jump target (a label), each exactly
//! when its stencil table entry says it uses one. An integer operand of a
//! uop whose only output is an `f64` means that number as a double; a float
//! operand of a uop whose only output is an integer or pointer is an error.
//!
//! `.locals` is at most [`MAX_LOCALS`] and `.heap` at most [`MAX_HEAP_CELLS`]
//! (a heap sized by an argument is checked when the program starts).

use std::collections::BTreeMap;

use runtime::{UopInfo, ValueType};

use crate::diag::{Diagnostic, Diagnostics};
use crate::program::{ArgDecl, HeapSize, Instr, Program, Span, ValueKind};
use crate::state::{MAX_HEAP_CELLS, MAX_LOCALS};
use crate::uops::{signature_mismatch, Op};
use crate::verify::verify;

/// A whitespace-separated word and where it starts.
#[derive(Clone, Copy, Debug)]
struct Token<'s> {
    text: &'s str,
    line: u32,
    col: u32,
}

impl Token<'_> {
    fn span(&self) -> Span {
        Span {
            line: self.line,
            col: self.col,
            len: self.text.chars().count().max(1) as u32,
        }
    }
}

/// A number as written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Literal {
    Int(i128),
    Float(f64),
}

/// Parses an integer (`-12`, `0x1f`, `0b101`, `0o17`, `1_000`) or a float
/// (`1.5`, `-2e3`, `inf`, `nan`). `None` if `text` is not a number at all.
pub fn parse_literal(text: &str) -> Option<Result<Literal, String>> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        let value = if lower == "nan" {
            f64::NAN
        } else {
            f64::INFINITY
        };
        return Some(Ok(Literal::Float(if negative { -value } else { value })));
    }
    let first = body.chars().next()?;
    if !(first.is_ascii_digit() || first == '.') {
        return None;
    }
    let (radix, digits) = match lower.get(..2) {
        Some("0x") => (16, &body[2..]),
        Some("0b") => (2, &body[2..]),
        Some("0o") => (8, &body[2..]),
        _ => (10, body),
    };
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let bad = || Err(format!("`{text}` is not a valid number"));
    if radix == 10 && clean.contains(['.', 'e', 'E']) {
        if !clean
            .chars()
            .all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
        {
            return Some(bad());
        }
        return Some(match clean.parse::<f64>() {
            Ok(v) => Ok(Literal::Float(if negative { -v } else { v })),
            Err(_) => bad(),
        });
    }
    if clean.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return Some(bad());
    }
    Some(match u128::from_str_radix(&clean, radix) {
        Ok(v) if v <= u64::MAX as u128 => {
            let v = v as i128;
            Ok(Literal::Int(if negative { -v } else { v }))
        }
        Ok(_) => Err(format!("integer `{text}` does not fit in 64 bits")),
        Err(_) => bad(),
    })
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value given for a parameter, read as `kind`: an integer for a float
/// parameter means that number as a double.
pub fn parse_value(text: &str, kind: ValueKind) -> Result<i64, String> {
    match parse_literal(text) {
        None => Err(format!("`{text}` is not an integer or float literal")),
        Some(Err(e)) => Err(e),
        Some(Ok(lit)) => literal_bits(text, lit, Some(kind)),
    }
}

/// The 64 bits of a literal. `kind` is how the slot will be read, if known.
fn literal_bits(text: &str, lit: Literal, kind: Option<ValueKind>) -> Result<i64, String> {
    match (lit, kind) {
        (Literal::Int(v), Some(ValueKind::F64)) => Ok((v as f64).to_bits() as i64),
        (Literal::Int(v), _) => {
            if v < i64::MIN as i128 {
                Err(format!("integer `{text}` does not fit in 64 bits"))
            } else {
                Ok(v as u64 as i64)
            }
        }
        (Literal::Float(_), Some(ValueKind::I64)) => Err(format!(
            "`{text}` is a float literal where an integer is expected"
        )),
        (Literal::Float(v), _) => Ok(v.to_bits() as i64),
    }
}

/// One parsed instruction before its labels and local names are resolved.
struct RawInstr<'s> {
    op: Op,
    name: Token<'s>,
    oparg: Option<Token<'s>>,
    operand: u64,
    target: Option<Token<'s>>,
}

/// A named local: an `.arg` or a `.local`.
struct LocalDecl<'s> {
    token: Token<'s>,
    arg: Option<(i64, ValueKind)>,
}

#[derive(Default)]
struct Parser<'s> {
    errors: Vec<Diagnostic>,
    instrs: Vec<RawInstr<'s>>,
    labels: BTreeMap<&'s str, (u32, Token<'s>)>,
    locals: Vec<LocalDecl<'s>>,
    min_locals: Option<(u32, Token<'s>)>,
    heap: Option<(Token<'s>, Token<'s>)>,
    result: Option<(ValueKind, Token<'s>)>,
}

impl<'s> Parser<'s> {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            span,
            message: message.into(),
        });
    }

    fn line(&mut self, tokens: &[Token<'s>], table: &[UopInfo]) {
        let mut rest = tokens;
        while let Some((first, tail)) = rest.split_first() {
            let Some(name) = first.text.strip_suffix(':') else {
                break;
            };
            let span = first.span();
            if !is_identifier(name) {
                self.error(span, format!("invalid label name `{name}`"));
            } else if let Some((_, earlier)) = self.labels.get(name) {
                let line = earlier.line;
                self.error(
                    span,
                    format!("label `{name}` is already defined at line {line}"),
                );
            } else {
                self.labels.insert(name, (self.instrs.len() as u32, *first));
            }
            rest = tail;
        }
        let Some((head, args)) = rest.split_first() else {
            return;
        };
        if head.text.starts_with('.') {
            self.directive(*head, args);
        } else {
            self.instruction(*head, args, table);
        }
    }

    /// Checks a directive has exactly `n` arguments.
    fn arity(&mut self, head: Token<'s>, args: &[Token<'s>], n: usize, usage: &str) -> bool {
        if args.len() == n {
            return true;
        }
        match args.get(n) {
            Some(extra) => self.error(
                extra.span(),
                format!("unexpected `{}`: usage is `{usage}`", extra.text),
            ),
            None => self.error(head.span(), format!("missing argument: usage is `{usage}`")),
        }
        false
    }

    fn directive(&mut self, head: Token<'s>, args: &[Token<'s>]) {
        match head.text {
            ".locals" => {
                if self.arity(head, args, 1, ".locals COUNT") {
                    let count = args[0];
                    match parse_literal(count.text) {
                        Some(Ok(Literal::Int(n))) if (0..=i128::from(MAX_LOCALS)).contains(&n) => {
                            self.set_once_locals(head, n as u32, count)
                        }
                        Some(Ok(Literal::Int(n))) if n > 0 => self.error(
                            count.span(),
                            format!("`.locals {}` exceeds the limit of {MAX_LOCALS} locals", count.text),
                        ),
                        _ => self.error(
                            count.span(),
                            format!("`{}` is not a local count (an unsigned 32-bit integer)", count.text),
                        ),
                    }
                }
            }
            ".heap" => {
                if self.arity(head, args, 1, ".heap CELLS") {
                    if let Some((earlier, _)) = self.heap {
                        let line = earlier.line;
                        self.error(head.span(), format!("`.heap` is already set at line {line}"));
                    } else {
                        self.heap = Some((head, args[0]));
                    }
                }
            }
            ".arg" => {
                if self.arity(head, args, 2, ".arg NAME DEFAULT") {
                    let default = args[1];
                    let value = match parse_literal(default.text) {
                        None => Err(format!("`{}` is not an integer or float literal", default.text)),
                        Some(Err(e)) => Err(e),
                        Some(Ok(lit)) => {
                            let kind = match lit {
                                Literal::Int(_) => ValueKind::I64,
                                Literal::Float(_) => ValueKind::F64,
                            };
                            literal_bits(default.text, lit, Some(kind)).map(|bits| (bits, kind))
                        }
                    };
                    match value {
                        Ok(arg) => self.declare_local(args[0], Some(arg)),
                        Err(e) => self.error(default.span(), e),
                    }
                }
            }
            ".local" => {
                if self.arity(head, args, 1, ".local NAME") {
                    self.declare_local(args[0], None);
                }
            }
            ".result" => {
                if self.arity(head, args, 1, ".result i64|f64") {
                    let kind = match args[0].text {
                        "i64" => ValueKind::I64,
                        "f64" => ValueKind::F64,
                        other => {
                            return self.error(
                                args[0].span(),
                                format!("unknown result type `{other}`: expected `i64` or `f64`"),
                            )
                        }
                    };
                    if let Some((_, earlier)) = self.result {
                        let line = earlier.line;
                        self.error(head.span(), format!("`.result` is already set at line {line}"));
                    } else {
                        self.result = Some((kind, head));
                    }
                }
            }
            other => self.error(
                head.span(),
                format!("unknown directive `{other}`: expected `.arg`, `.local`, `.locals`, `.heap` or `.result`"),
            ),
        }
    }

    fn set_once_locals(&mut self, head: Token<'s>, n: u32, count: Token<'s>) {
        if let Some((_, earlier)) = self.min_locals {
            let line = earlier.line;
            self.error(
                head.span(),
                format!("`.locals` is already set at line {line}"),
            );
        } else {
            self.min_locals = Some((n, count));
        }
    }

    fn declare_local(&mut self, name: Token<'s>, arg: Option<(i64, ValueKind)>) {
        if !is_identifier(name.text) {
            return self.error(name.span(), format!("invalid local name `{}`", name.text));
        }
        if let Some(earlier) = self.locals.iter().find(|l| l.token.text == name.text) {
            let line = earlier.token.line;
            return self.error(
                name.span(),
                format!("local `{}` is already declared at line {line}", name.text),
            );
        }
        self.locals.push(LocalDecl { token: name, arg });
    }

    fn instruction(&mut self, head: Token<'s>, args: &[Token<'s>], table: &[UopInfo]) {
        let Some(info) = table.iter().find(|u| u.name == head.text) else {
            return self.error(head.span(), format!("unknown uop `{}`", head.text));
        };
        let Some(op) = Op::from_name(head.text) else {
            return self.error(
                head.span(),
                format!("uop `{}` has no interpreter semantics", head.text),
            );
        };
        if let Some(diff) = signature_mismatch(info, op) {
            return self.error(
                head.span(),
                format!(
                    "uop `{}` in the stencil table differs from the interpreter's: {diff}",
                    head.text
                ),
            );
        }
        let wanted: Vec<&str> = [
            (
                info.uses_value("oparg"),
                "an oparg (an unsigned 32-bit integer or a local name)",
            ),
            (
                info.uses_value("operand"),
                "an operand (an integer or float literal)",
            ),
            (info.uses_value("jump_target"), "a jump target (a label)"),
        ]
        .into_iter()
        .filter_map(|(used, what)| used.then_some(what))
        .collect();
        if args.len() < wanted.len() {
            let what = wanted[args.len()];
            return self.error(head.span(), format!("`{}` expects {what}", head.text));
        }
        if let Some(extra) = args.get(wanted.len()) {
            let takes = match wanted.len() {
                0 => "no immediate".to_string(),
                1 => "1 immediate".to_string(),
                n => format!("{n} immediates"),
            };
            return self.error(
                extra.span(),
                format!("unexpected `{}`: `{}` takes {takes}", extra.text, head.text),
            );
        }
        let mut args = args.iter().copied();
        let oparg = if info.uses_value("oparg") {
            args.next()
        } else {
            None
        };
        let mut operand = 0;
        if info.uses_value("operand") {
            if let Some(token) = args.next() {
                match self.operand(info, token) {
                    Ok(bits) => operand = bits,
                    Err(e) => return self.error(token.span(), e),
                }
            }
        }
        let target = if info.uses_value("jump_target") {
            args.next()
        } else {
            None
        };
        self.instrs.push(RawInstr {
            op,
            name: head,
            oparg,
            operand,
            target,
        });
    }

    fn operand(&self, info: &UopInfo, token: Token<'s>) -> Result<u64, String> {
        let kind = match info.outputs {
            [ValueType::F64] => Some(ValueKind::F64),
            [ValueType::I64] | [ValueType::Ptr] => Some(ValueKind::I64),
            _ => None,
        };
        match parse_literal(token.text) {
            None => Err(format!(
                "`{}` is not an integer or float literal",
                token.text
            )),
            Some(Err(e)) => Err(e),
            Some(Ok(lit)) => literal_bits(token.text, lit, kind)
                .map(|bits| bits as u64)
                .map_err(|e| match lit {
                    Literal::Float(_) => format!(
                        "`{}` is a float literal, but `{}` takes an integer operand",
                        token.text, info.name
                    ),
                    Literal::Int(_) => e,
                }),
        }
    }
}

fn tokenize(line: &str, number: u32) -> Vec<Token<'_>> {
    let code = line.split(';').next().unwrap_or("");
    let mut tokens = Vec::new();
    let mut start: Option<(usize, u32)> = None;
    let mut col = 0u32;
    for (i, c) in code.char_indices() {
        col += 1;
        if c.is_whitespace() {
            if let Some((s, scol)) = start.take() {
                tokens.push(Token {
                    text: &code[s..i],
                    line: number,
                    col: scol,
                });
            }
        } else if start.is_none() {
            start = Some((i, col));
        }
    }
    if let Some((s, scol)) = start {
        tokens.push(Token {
            text: &code[s..],
            line: number,
            col: scol,
        });
    }
    tokens
}

/// Assembles and verifies `source`. `table` supplies the uop names, stack
/// effects and immediates (a stencil table's `info`, or [`crate::uops::UOPS`]).
/// All errors are reported at once.
pub fn assemble(file: &str, source: &str, table: &[UopInfo]) -> Result<Program, Diagnostics> {
    let mut parser = Parser::default();
    for (i, line) in source.lines().enumerate() {
        let tokens = tokenize(line, i as u32 + 1);
        parser.line(&tokens, table);
    }
    let fail = |errors: Vec<Diagnostic>| Diagnostics {
        file: file.to_string(),
        source: source.to_string(),
        errors,
    };
    let Parser {
        mut errors,
        instrs: raw,
        labels,
        locals: named,
        min_locals,
        heap,
        result,
    } = parser;

    let mut locals = named.len() as u32;
    if let Some((n, token)) = min_locals {
        if n < locals {
            errors.push(Diagnostic {
                span: token.span(),
                message: format!("`.locals {n}` is fewer than the {locals} named locals"),
            });
        }
        locals = locals.max(n);
    }
    let args: Vec<ArgDecl> = named
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            l.arg.map(|(default, kind)| ArgDecl {
                name: l.token.text.to_string(),
                local: i as u32,
                default,
                kind,
            })
        })
        .collect();
    let heap = match heap {
        None => HeapSize::Cells(0),
        Some((_, cells)) => match parse_literal(cells.text) {
            Some(Ok(Literal::Int(n))) if (0..=i128::from(MAX_HEAP_CELLS)).contains(&n) => {
                HeapSize::Cells(n as u64)
            }
            Some(Ok(Literal::Int(n))) if n > 0 => {
                errors.push(Diagnostic {
                    span: cells.span(),
                    message: format!(
                        "`.heap {}` exceeds the limit of {MAX_HEAP_CELLS} cells",
                        cells.text
                    ),
                });
                HeapSize::Cells(0)
            }
            _ => match args.iter().position(|a| a.name == cells.text) {
                Some(i) if args[i].kind == ValueKind::I64 => HeapSize::Arg(i),
                _ => {
                    errors.push(Diagnostic {
                        span: cells.span(),
                        message: format!(
                            "`{}` is neither a cell count nor the name of an integer `.arg`",
                            cells.text
                        ),
                    });
                    HeapSize::Cells(0)
                }
            },
        },
    };

    let mut instrs = Vec::with_capacity(raw.len());
    let mut spans = Vec::with_capacity(raw.len());
    for r in &raw {
        let mut instr = Instr {
            op: r.op,
            oparg: 0,
            operand: r.operand,
            target: 0,
        };
        if let Some(token) = r.oparg {
            if let Some(i) = named.iter().position(|l| l.token.text == token.text) {
                instr.oparg = i as u32;
            } else {
                match parse_literal(token.text) {
                    Some(Ok(Literal::Int(n))) if (0..=u32::MAX as i128).contains(&n) => {
                        instr.oparg = n as u32
                    }
                    Some(Ok(Literal::Int(_))) => errors.push(Diagnostic {
                        span: token.span(),
                        message: format!(
                            "oparg `{}` is not an unsigned 32-bit integer",
                            token.text
                        ),
                    }),
                    _ => errors.push(Diagnostic {
                        span: token.span(),
                        message: format!(
                            "`{}` is neither an unsigned 32-bit integer nor a local name",
                            token.text
                        ),
                    }),
                }
            }
        }
        if let Some(token) = r.target {
            match labels.get(token.text) {
                Some((pc, _)) => instr.target = *pc,
                None => errors.push(Diagnostic {
                    span: token.span(),
                    message: format!("undefined label `{}`", token.text),
                }),
            }
        }
        instrs.push(instr);
        spans.push(r.name.span());
    }
    // A label after the last instruction points nowhere.
    for (name, (pc, token)) in &labels {
        if *pc as usize == instrs.len()
            && raw
                .iter()
                .any(|r| r.target.is_some_and(|t| t.text == *name))
        {
            errors.push(Diagnostic {
                span: token.span(),
                message: format!("label `{name}` marks the end of the program, not an instruction"),
            });
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|d| (d.span.line, d.span.col));
        return Err(fail(errors));
    }

    let place = |pc: usize| format!("line {}", spans[pc].line);
    let layout = match verify(&instrs, locals, &place) {
        Ok(layout) => layout,
        Err(problems) => {
            let errors = problems
                .into_iter()
                .map(|p| Diagnostic {
                    span: p.pc.map_or(
                        Span {
                            line: 1,
                            col: 1,
                            len: 1,
                        },
                        |pc| spans[pc],
                    ),
                    message: p.message,
                })
                .collect();
            return Err(fail(errors));
        }
    };
    Ok(Program {
        file: file.to_string(),
        instrs,
        spans,
        locals,
        heap,
        args,
        result: result.map_or(ValueKind::I64, |(kind, _)| kind),
        labels: labels
            .into_iter()
            .map(|(name, (pc, _))| (name.to_string(), pc))
            .collect(),
        layout,
    })
}
