//! The checks of an `abi` item on its own: names that would clash in the
//! C of a stencil, and the stack declaration.

use std::collections::BTreeMap;

use crate::ast::{Abi, Span};
use crate::check::Checker;
use crate::diagnostic::position;
use crate::names::{self, BUILTIN_VALUES, JUMP, JUMP_TARGET};
use crate::parser::AbiExtras;

pub(crate) fn check_abi(c: &mut Checker<'_>, abi: &Abi, extras: &AbiExtras) {
    let params = abi.entry.params.iter().map(|p| (p.name.as_str(), &p.span));
    unique_names(c, "entry parameter", params);
    let args = abi.args.iter().map(|a| (a.name.as_str(), &a.span));
    unique_names(c, "arg", args.clone());
    let values = abi.values.iter().map(|v| (v.name.as_str(), &v.span));
    unique_names(c, "value", values.clone());
    let exit_names = abi.exits.iter().map(|e| (e.name.as_str(), &e.span));
    unique_names(c, "exit", exit_names);
    // Built-in values need no declaration, and their names would be
    // ambiguous in `uses` and in generated code.
    let why = [
        ("arg", "is also a built-in hole value; choose another name"),
        (
            "value",
            "is a built-in hole value, which needs no declaration",
        ),
    ];
    let named = args.map(|a| (why[0], a)).chain(values.map(|v| (why[1], v)));
    for ((what, why), (name, span)) in named {
        if BUILTIN_VALUES.contains(&name) {
            c.error(span, format!("{what} name `{name}` {why}"));
        }
    }
    value_macros(c, abi);
    exits(c, abi, extras);
    if extras.has_stack {
        stack(c, abi);
    }
}

/// Reserved names and duplicates among one kind of declaration.
fn unique_names<'a>(
    c: &mut Checker<'_>,
    what: &str,
    names: impl Iterator<Item = (&'a str, &'a Span)>,
) {
    let mut seen: BTreeMap<&str, &Span> = BTreeMap::new();
    for (name, span) in names {
        if let Some(why) = names::reserved(name) {
            c.error(span, format!("{what} name `{name}` {why}"));
        }
        match seen.get(name) {
            Some(first) => {
                let message = format!(
                    "duplicate {what} `{name}` (first declared at {})",
                    position(c.path, first)
                );
                c.error(span, message);
            }
            None => {
                seen.insert(name, span);
            }
        }
    }
}

/// A value's macro (its name uppercased) must name nothing else.
fn value_macros(c: &mut Checker<'_>, abi: &Abi) {
    let mut macros: BTreeMap<String, (&str, &Span)> = BTreeMap::new();
    for value in &abi.values {
        let name = &value.name;
        let m = value.macro_name();
        let clash = if let Some(exit) = abi.exit(&m) {
            Some(format!(
                "is also the name of an exit (declared at {})",
                position(c.path, &exit.span)
            ))
        } else if m == JUMP {
            Some(format!("is the built-in macro of `{JUMP_TARGET}`"))
        } else {
            match macros.get(&m) {
                Some(&(other, span)) if other != name => Some(format!(
                    "is also the macro of value `{other}` (declared at {})",
                    position(c.path, span)
                )),
                _ => None,
            }
        };
        if let Some(clash) = clash {
            let message = format!("the macro `{m}` of value `{name}` {clash}");
            c.error(&value.span, message);
        }
        macros.entry(m).or_insert((name, &value.span));
    }
}

fn exits(c: &mut Checker<'_>, abi: &Abi, extras: &AbiExtras) {
    for (i, exit) in abi.exits.iter().enumerate() {
        let name = &exit.name;
        let uppercase = name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !uppercase {
            let message = format!(
                "exit name `{name}` must be an uppercase identifier, such as `{}`: \
                 an exit is a macro",
                name.to_ascii_uppercase()
            );
            c.error(&exit.span, message);
        } else if name == JUMP {
            let message = format!("exit name `{JUMP}` is the built-in macro of `{JUMP_TARGET}`");
            c.error(&exit.span, message);
        }
        let params = extras.exit_params.get(i).map_or(&[][..], Vec::as_slice);
        for (j, (param, span)) in params.iter().enumerate() {
            if params[..j].iter().any(|(p, _)| p == param) {
                let message = format!("duplicate parameter `{param}` of exit `{name}`");
                c.error(span, message);
            }
        }
        let uses = extras.exit_uses.get(i).map_or(&[][..], Vec::as_slice);
        for (value, span) in uses {
            if abi.value(value).is_none() {
                let message = format!(
                    "exit `{name}` uses `{value}`, which is not a declared value; {}",
                    declared_values(abi)
                );
                c.error(span, message);
            }
        }
    }
}

/// "the ABI declares `a`, `b`" for messages about value names.
pub(crate) fn declared_values(abi: &Abi) -> String {
    if abi.values.is_empty() {
        "the ABI declares no value".to_string()
    } else {
        let names: Vec<String> = abi.values.iter().map(|v| format!("`{}`", v.name)).collect();
        format!("the ABI declares {}", names.join(", "))
    }
}

/// `stack ARG: SLOT;` names an arg whose type is `SLOT *`.
fn stack(c: &mut Checker<'_>, abi: &Abi) {
    let stack = &abi.stack;
    let Some(arg) = abi.arg(&stack.arg) else {
        let args: Vec<String> = abi.args.iter().map(|a| format!("`{}`", a.name)).collect();
        let declared = if args.is_empty() {
            "the ABI declares no arg".to_string()
        } else {
            format!("the ABI declares args {}", args.join(", "))
        };
        let message = format!(
            "`stack` names `{}`, which is not a declared arg; {declared}",
            stack.arg
        );
        c.error(&stack.span, message);
        return;
    };
    let slot = &stack.slot.text;
    let expected = if slot.ends_with('*') {
        format!("{slot}*")
    } else {
        format!("{slot} *")
    };
    if arg.ty.text != expected {
        let message = format!(
            "the stack arg `{}` has type `{}`, but `stack {}: {slot}` needs `{expected}` \
             (a pointer to one stack slot)",
            arg.name, arg.ty.text, stack.arg
        );
        c.error(&arg.ty.span, message);
    }
}
