//! The checks that need a whole parsed file but not the ABI: duplicate
//! names, reserved names, and whether bodies call exactly the helpers their
//! clauses declare.

use std::collections::BTreeMap;
use std::path::Path;

use crate::ast::{Span, Uop};
use crate::ctext;
use crate::diagnostic::{position, Diagnostic};
use crate::names;
use crate::parser::{Clauses, ParsedFile};
use crate::source::LineIndex;

pub(crate) struct Checker<'a> {
    pub(crate) path: &'a Path,
    pub(crate) index: &'a LineIndex<'a>,
    pub(crate) errors: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(path: &'a Path, index: &'a LineIndex<'a>) -> Self {
        Checker {
            path,
            index,
            errors: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, span: &Span, message: String) {
        self.errors.push(Diagnostic::located(
            self.path,
            self.index,
            span.clone(),
            message,
        ));
    }
}

pub(crate) fn check_file(
    path: &Path,
    index: &LineIndex<'_>,
    parsed: &ParsedFile,
) -> Vec<Diagnostic> {
    let mut c = Checker::new(path, index);
    let file = &parsed.file;
    if let (Some(abi), Some(extras)) = (&file.abi, &parsed.abi_extras) {
        crate::check_abi::check_abi(&mut c, abi, extras);
    }
    let mut helpers: BTreeMap<&str, &Span> = BTreeMap::new();
    for h in &file.helpers {
        if let Some(why) = names::reserved(&h.name) {
            c.error(&h.span, format!("helper name `{}` {why}", h.name));
        }
        if let Some(first) = helpers.get(h.name.as_str()) {
            let message = format!(
                "duplicate helper `{}` (first declared at {})",
                h.name,
                position(path, first)
            );
            c.error(&h.span, message);
        } else {
            helpers.insert(h.name.as_str(), &h.span);
        }
    }
    let mut uops: BTreeMap<&str, &Span> = BTreeMap::new();
    for (uop, clauses) in file.uops.iter().zip(&parsed.clauses) {
        if let Some(first) = uops.get(uop.name.as_str()) {
            let message = duplicate_uop(&uop.name, path, first);
            c.error(&uop.span, message);
        } else {
            uops.insert(uop.name.as_str(), &uop.span);
        }
        stack_names(&mut c, uop);
        let body_idents = body_identifiers(index, uop);
        calls(&mut c, clauses, &helpers, &body_idents);
    }
    c.errors
}

/// The message for a uop defined a second time.
pub(crate) fn duplicate_uop(name: &str, first_path: &Path, first: &Span) -> String {
    format!(
        "duplicate uop `{name}` (first defined at {})",
        position(first_path, first)
    )
}

/// The identifiers of a uop's body with their offsets in the file.
pub(crate) fn body_identifiers<'s>(index: &LineIndex<'s>, uop: &Uop) -> Vec<(usize, &'s str)> {
    let start = uop.body_span.offset;
    ctext::identifiers(index.src(), start, start + uop.body_span.len).collect()
}

/// Inputs and outputs share one namespace: every stack value is one C
/// variable of the body.
fn stack_names(c: &mut Checker<'_>, uop: &Uop) {
    let mut seen = BTreeMap::new();
    for value in uop.inputs.iter().chain(&uop.outputs) {
        if let Some(why) = names::reserved(&value.name) {
            c.error(
                &value.span,
                format!("stack value name `{}` {why}", value.name),
            );
        }
        if seen.insert(value.name.as_str(), ()).is_some() {
            let message = format!(
                "duplicate stack value `{}` (inputs and outputs share one namespace)",
                value.name
            );
            c.error(&value.span, message);
        }
    }
}

fn calls(
    c: &mut Checker<'_>,
    clauses: &Clauses,
    helpers: &BTreeMap<&str, &Span>,
    body: &[(usize, &str)],
) {
    for (name, span) in &clauses.calls {
        if !helpers.contains_key(name.as_str()) {
            c.error(
                span,
                format!("`{name}` is not a helper declared in this file"),
            );
        } else if !body.iter().any(|(_, w)| w == name) {
            let message = format!("`calls {name}` is declared, but the body never uses `{name}`");
            c.error(span, message);
        }
    }
    for &name in helpers.keys() {
        let listed = clauses.calls.iter().any(|(n, _)| n == name);
        if let (Some(&(offset, _)), false) = (body.iter().find(|(_, w)| *w == name), listed) {
            let span = c.index.span(offset, name.len());
            let message =
                format!("helper `{name}` is called, but the uop does not declare `calls {name}`");
            c.error(&span, message);
        }
    }
}
