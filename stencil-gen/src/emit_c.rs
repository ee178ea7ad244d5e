//! C emission: one freestanding translation unit per uop, plus the shim.
//!
//! The askama templates in `stencil-gen/templates/` hold the layout of the
//! C text, which `docs/stencil-abi.md` describes; every type, argument,
//! value and exit in it comes from the VM's `abi` item ([`abi::CAbi`]).
//! `#line` directives make clang's diagnostics point into the `.uop` files.

mod abi;

use std::fmt;
use std::path::{Component, Path};

use askama::Template;
use uop_defs::ast::{Helper, StackValue, Uop, UopFile, ValueType};

pub use abi::{declarator, CAbi};

/// The built-in value of a uop that jumps.
pub const JUMP_TARGET: &str = "jump_target";

/// Name of the shim's translation unit and stencil.
pub const SHIM_NAME: &str = "shim";

/// Placeholder the templates put where the C file's own line number of the
/// line after a block from the defs goes; replaced once the text is
/// rendered.
const NEXT_LINE_MARKER: &str = "@NEXT_LINE@";

/// One C translation unit, ready for clang.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSource {
    /// Uop name, or [`SHIM_NAME`].
    pub name: String,
    /// File name clang sees (`<name>.c`); stable so diagnostics and objects
    /// never mention a temporary path.
    pub file_name: String,
    /// Where the uop is defined (`path:line:col` of its name); `None` for
    /// the shim.
    pub location: Option<String>,
    pub text: String,
}

/// The C text could not be rendered.
#[derive(Debug)]
pub struct EmitError {
    pub name: String,
    pub message: String,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot emit C for `{}`: {}", self.name, self.message)
    }
}

impl std::error::Error for EmitError {}

#[derive(Template)]
#[template(path = "shim.c", escape = "none")]
struct ShimTemplate<'a> {
    abi: &'a CAbi,
    abi_path: String,
    file_name: String,
}

#[derive(Template)]
#[template(path = "uop.c", escape = "none")]
struct UopTemplate<'a> {
    abi: &'a CAbi,
    abi_path: String,
    name: &'a str,
    location: String,
    path: String,
    file_name: String,
    uses_jump_target: bool,
    values: Vec<String>,
    exits: Vec<String>,
    helpers: Vec<String>,
    prelude: &'a str,
    loads: Vec<String>,
    declarations: Vec<String>,
    stores: Vec<String>,
    sp_adjust: Option<String>,
    body_line: u32,
    body_path: String,
    body: &'a str,
}

/// A DSL path as written into generated text: `/`-separated, whatever the
/// host. The caller keeps it relative so nothing machine-specific leaks.
pub fn dsl_path(path: &Path) -> String {
    let mut out = String::new();
    for component in path.components() {
        match component {
            Component::Prefix(prefix) => out.push_str(&prefix.as_os_str().to_string_lossy()),
            Component::RootDir => out.push('/'),
            Component::CurDir => {}
            Component::ParentDir | Component::Normal(_) => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&component.as_os_str().to_string_lossy());
            }
        }
    }
    out
}

/// `path:line:col` of a uop's name.
pub fn uop_location(file: &UopFile, uop: &Uop) -> String {
    format!(
        "{}:{}:{}",
        dsl_path(&file.path),
        uop.span.line,
        uop.span.col
    )
}

/// The translation unit of the shim.
pub fn emit_shim(abi: &CAbi) -> Result<CSource, EmitError> {
    let file_name = format!("{SHIM_NAME}.c");
    let template = ShimTemplate {
        abi,
        abi_path: c_string_content(&abi.abi_path),
        file_name: file_name.clone(),
    };
    let rendered = template.render().map_err(|e| EmitError {
        name: SHIM_NAME.to_string(),
        message: e.to_string(),
    })?;
    Ok(CSource {
        name: SHIM_NAME.to_string(),
        file_name,
        location: None,
        text: number_next_lines(&rendered),
    })
}

/// The translation unit of one uop of `file`.
pub fn emit_uop(abi: &CAbi, file: &UopFile, uop: &Uop) -> Result<CSource, EmitError> {
    let n_inputs = uop.inputs.len() as i64;
    let delta = uop.outputs.len() as i64 - n_inputs;
    let path = dsl_path(&file.path);
    let file_name = format!("{}.c", uop.name);
    let sp = abi.stack.as_str();

    let mut loads: Vec<String> = uop
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| load(abi, input, i as i64 - n_inputs))
        .collect();
    if !uop.inputs.is_empty() {
        // A body may ignore an input (`drop`); that is not worth a warning.
        let voids: Vec<String> = uop
            .inputs
            .iter()
            .map(|v| format!("(void){};", v.name))
            .collect();
        loads.push(voids.join(" "));
    }
    let declarations = uop
        .outputs
        .iter()
        .filter(|out| !uop.inputs.iter().any(|input| input.name == out.name))
        .map(|out| format!("{};", declarator(&c_type(abi, out.ty), &out.name)))
        .collect();
    let stores = uop
        .outputs
        .iter()
        .enumerate()
        .map(|(i, out)| store(abi, out, i as i64 - n_inputs))
        .collect();
    let sp_adjust = (delta != 0).then(|| format!("{sp} += {delta};"));
    let helpers = uop
        .calls
        .iter()
        .map(|name| match file.helpers.iter().find(|h| &h.name == name) {
            Some(helper) => Ok(prototype(abi, helper)),
            None => Err(EmitError {
                name: uop.name.clone(),
                message: format!("helper `{name}` is not declared in {path}"),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;

    let template = UopTemplate {
        abi,
        abi_path: c_string_content(&abi.abi_path),
        name: &uop.name,
        location: uop_location(file, uop),
        path: path.clone(),
        file_name: file_name.clone(),
        uses_jump_target: uop.uses(JUMP_TARGET),
        values: abi.value_decls(uop),
        exits: abi.exit_macros(uop),
        helpers,
        prelude: file.prelude.trim_matches('\n'),
        loads,
        declarations,
        stores,
        sp_adjust,
        body_line: uop.body_span.line,
        body_path: c_string_content(&path),
        body: &uop.body,
    };
    let rendered = template.render().map_err(|e| EmitError {
        name: uop.name.clone(),
        message: e.to_string(),
    })?;
    Ok(CSource {
        name: uop.name.clone(),
        file_name,
        location: Some(uop_location(file, uop)),
        text: number_next_lines(&rendered),
    })
}

/// The C type a stack value of type `ty` has in a body.
fn c_type(abi: &CAbi, ty: ValueType) -> String {
    match ty {
        ValueType::I64 => "int64_t".to_string(),
        ValueType::F64 => "double".to_string(),
        ValueType::Ptr => abi.pointer.clone(),
    }
}

/// The typed load of an input from its stack slot.
fn load(abi: &CAbi, value: &StackValue, slot: i64) -> String {
    let bits = format!("{}[{slot}]", abi.stack);
    let ty = c_type(abi, value.ty);
    let init = match value.ty {
        ValueType::I64 => format!("(int64_t){bits}"),
        ValueType::F64 => format!("jit_slot_to_f64({bits})"),
        ValueType::Ptr => format!("({ty})(intptr_t){bits}"),
    };
    format!("{} = {init};", declarator(&ty, &value.name))
}

/// The store of an output into its stack slot.
fn store(abi: &CAbi, value: &StackValue, slot: i64) -> String {
    let bits = match value.ty {
        ValueType::I64 => format!("({}){}", abi.slot, value.name),
        ValueType::F64 => format!("jit_f64_to_slot({})", value.name),
        ValueType::Ptr => format!("({})(intptr_t){}", abi.slot, value.name),
    };
    format!("{}[{slot}] = {bits};", abi.stack)
}

/// `extern int64_t vm_hash(int64_t, int64_t);`
fn prototype(abi: &CAbi, helper: &Helper) -> String {
    let params: Vec<String> = helper.params.iter().map(|&t| c_type(abi, t)).collect();
    let params = if params.is_empty() {
        "void".to_string()
    } else {
        params.join(", ")
    };
    format!(
        "extern {};",
        declarator(
            &c_type(abi, helper.ret),
            &format!("{}({params})", helper.name)
        )
    )
}

/// Escape a string for the inside of a C string literal.
fn c_string_content(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The line breaks of `text` as clang counts them: `\n`, `\r\n`, and a
/// lone `\r` (a `.uop` file may end its lines so).
fn line_breaks(text: &str) -> usize {
    let bytes = text.as_bytes();
    let lone_cr = |i: usize| bytes.get(i + 1) != Some(&b'\n');
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'\n' || (bytes[i] == b'\r' && lone_cr(i)))
        .count()
}

/// Replace every `#line` marker with the C file's own number of the line
/// after it, and end the text with a newline.
fn number_next_lines(rendered: &str) -> String {
    let directive = format!("#line {NEXT_LINE_MARKER}");
    let mut text = String::with_capacity(rendered.len() + 1);
    let mut rest = rendered;
    while let Some(at) = rest.find(&directive) {
        text.push_str(&rest[..at]);
        // Lines are 1-based and the directive numbers the line after itself.
        let next = line_breaks(&text) + 2;
        text.push_str(&format!("#line {next}"));
        rest = &rest[at + directive.len()..];
    }
    text.push_str(rest);
    text.push('\n');
    text
}
