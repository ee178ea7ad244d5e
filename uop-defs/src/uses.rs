//! The checks of uops against the ABI: `uses` names declared values, bodies
//! use exactly the values their `uses` declare, and no stack value or
//! helper takes a name the ABI gives a meaning.
//!
//! A body identifier refers to a macro `M` (a value's macro, an exit, or
//! the built-in `JUMP`) if it is `M` or starts with `M_`, the longest such
//! `M` winning: `OPERAND_F64` uses `operand`, `DEOPT_IF` uses exit `DEOPT`,
//! and `DEOPT_TARGET` uses value `deopt_target`, not exit `DEOPT`.

use std::path::Path;

use crate::ast::{Abi, Exit, Uop};
use crate::check::{body_identifiers, Checker};
use crate::check_abi::declared_values;
use crate::diagnostic::Diagnostic;
use crate::names::{self, JUMP, JUMP_TARGET};
use crate::parser::{Clauses, ParsedFile};
use crate::source::LineIndex;

/// What a body macro stands for.
#[derive(Clone, Copy)]
enum Meaning<'a> {
    Value(&'a str),
    Exit(&'a Exit),
    Jump,
}

impl<'a> Meaning<'a> {
    /// The values a use of the macro needs in `uses`.
    fn needs(self) -> Vec<&'a str> {
        match self {
            Meaning::Value(name) => vec![name],
            Meaning::Exit(exit) => exit.uses.iter().map(String::as_str).collect(),
            Meaning::Jump => vec![JUMP_TARGET],
        }
    }
}

/// The body macros of an ABI that need values.
struct Macros<'a> {
    list: Vec<(String, Meaning<'a>)>,
}

impl<'a> Macros<'a> {
    fn new(abi: &'a Abi) -> Self {
        let values = abi
            .values
            .iter()
            .map(|v| (v.macro_name(), Meaning::Value(&v.name)));
        let exits = abi.exits.iter().map(|e| (e.name.clone(), Meaning::Exit(e)));
        let jump = std::iter::once((JUMP.to_string(), Meaning::Jump));
        Macros {
            list: values.chain(exits).chain(jump).collect(),
        }
    }

    /// The macro `word` refers to: the longest `M` with `word` equal to `M`
    /// or starting with `M_`.
    fn resolve(&self, word: &str) -> Option<(&str, Meaning<'a>)> {
        self.list
            .iter()
            .filter(|(m, _)| {
                word.strip_prefix(m.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
            })
            .max_by_key(|(m, _)| m.len())
            .map(|(m, meaning)| (m.as_str(), *meaning))
    }

    /// How a body may use `value`: "`M` or exit `E`", and the prefixes.
    fn spellings(&self, value: &str) -> (String, String) {
        let mut names = Vec::new();
        let mut prefixes = Vec::new();
        for (m, meaning) in &self.list {
            if meaning.needs().contains(&value) {
                match meaning {
                    Meaning::Exit(_) => names.push(format!("exit `{m}`")),
                    _ => names.push(format!("`{m}`")),
                }
                prefixes.push(format!("`{m}_`"));
            }
        }
        (names.join(" or "), prefixes.join(" or "))
    }
}

pub(crate) fn check_uses(
    path: &Path,
    index: &LineIndex<'_>,
    parsed: &ParsedFile,
    abi: &Abi,
) -> Vec<Diagnostic> {
    let mut c = Checker::new(path, index);
    let macros = Macros::new(abi);
    for helper in &parsed.file.helpers {
        if let Some(why) = names::taken_by_abi(abi, &helper.name) {
            c.error(&helper.span, format!("helper name `{}` {why}", helper.name));
        }
    }
    for (uop, clauses) in parsed.file.uops.iter().zip(&parsed.clauses) {
        for value in uop.inputs.iter().chain(&uop.outputs) {
            if let Some(why) = names::taken_by_abi(abi, &value.name) {
                c.error(
                    &value.span,
                    format!("stack value name `{}` {why}", value.name),
                );
            }
        }
        let body = body_identifiers(index, uop);
        uses(&mut c, abi, &macros, uop, clauses, &body);
    }
    c.errors
}

fn uses(
    c: &mut Checker<'_>,
    abi: &Abi,
    macros: &Macros<'_>,
    uop: &Uop,
    clauses: &Clauses,
    body: &[(usize, &str)],
) {
    let mut unknown = false;
    for (name, span) in &clauses.uses {
        if name != JUMP_TARGET && abi.value(name).is_none() {
            unknown = true;
            let declared = if abi.values.is_empty() {
                format!("the ABI declares no value (only the built-in `{JUMP_TARGET}`)")
            } else {
                format!(
                    "{} (and the built-in `{JUMP_TARGET}`)",
                    declared_values(abi)
                )
            };
            c.error(
                span,
                format!("unknown value `{name}` in `uses`; {declared}"),
            );
        }
    }
    let mut used: Vec<&str> = Vec::new();
    let mut reported: Vec<&str> = Vec::new();
    for &(offset, word) in body {
        let Some((m, meaning)) = macros.resolve(word) else {
            continue;
        };
        for value in meaning.needs() {
            if !used.contains(&value) {
                used.push(value);
            }
            // An unknown name in `uses` was reported; what it was meant to
            // declare would only repeat that error.
            if uop.uses(value) || unknown || reported.contains(&value) {
                continue;
            }
            reported.push(value);
            let message = match meaning {
                Meaning::Exit(_) if word == m => format!(
                    "exit `{m}` is used, but the uop does not declare `uses {value}`, \
                     which the exit needs"
                ),
                Meaning::Exit(_) => format!(
                    "`{word}` uses exit `{m}`, but the uop does not declare `uses {value}`, \
                     which the exit needs"
                ),
                _ => format!("`{word}` is used, but the uop does not declare `uses {value}`"),
            };
            let span = c.index.span(offset, word.len());
            c.error(&span, message);
        }
    }
    for (name, span) in &clauses.uses {
        let known = name == JUMP_TARGET || abi.value(name).is_some();
        if known && !used.contains(&name.as_str()) {
            let (names, prefixes) = macros.spellings(name);
            let message = format!(
                "`uses {name}` is declared, but the body never uses {names} \
                 (nor a name that starts with {prefixes})"
            );
            c.error(span, message);
        }
    }
}
