//! C emission: one freestanding translation unit per uop, plus the shim.
//!
//! The layout of the C text is fixed by `docs/stencil-abi.md`; the askama
//! templates in `stencil-gen/templates/` hold it. A `#line` directive before
//! the body makes clang's diagnostics point into the `.uop` file.

use std::fmt;
use std::path::{Component, Path};

use askama::Template;
use uop_defs::ast::{Helper, StackValue, Uop, UopFile, ValueType};

/// Name of the shim's translation unit and stencil.
pub const SHIM_NAME: &str = "shim";

/// Placeholder the uop template puts where the C file's own line number of
/// the line after the body goes; replaced once the text is rendered.
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
struct ShimTemplate;

#[derive(Template)]
#[template(path = "uop.c", escape = "none")]
struct UopTemplate<'a> {
    name: &'a str,
    location: String,
    path: String,
    file_name: String,
    uses_oparg: bool,
    uses_operand: bool,
    uses_jump_target: bool,
    uses_deopt: bool,
    helpers: Vec<String>,
    prelude: &'a str,
    loads: Vec<String>,
    declarations: Vec<String>,
    stores: Vec<String>,
    sp_adjust: Option<String>,
    sp_after_pop: String,
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
pub fn emit_shim() -> Result<CSource, EmitError> {
    let mut text = ShimTemplate.render().map_err(|e| EmitError {
        name: SHIM_NAME.to_string(),
        message: e.to_string(),
    })?;
    text.push('\n');
    Ok(CSource {
        name: SHIM_NAME.to_string(),
        file_name: format!("{SHIM_NAME}.c"),
        location: None,
        text,
    })
}

/// The translation unit of one uop of `file`.
pub fn emit_uop(file: &UopFile, uop: &Uop) -> Result<CSource, EmitError> {
    let n_inputs = uop.inputs.len() as i64;
    let delta = uop.outputs.len() as i64 - n_inputs;
    let path = dsl_path(&file.path);
    let file_name = format!("{}.c", uop.name);

    let mut loads: Vec<String> = uop
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| load(input, i as i64 - n_inputs))
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
        .map(|out| format!("{};", declarator(out.ty, &out.name)))
        .collect();
    let stores = uop
        .outputs
        .iter()
        .enumerate()
        .map(|(i, out)| store(out, i as i64 - n_inputs))
        .collect();
    let sp_adjust = (delta != 0).then(|| format!("sp += {delta};"));
    let sp_after_pop = if n_inputs == 0 {
        "sp".to_string()
    } else {
        format!("sp - {n_inputs}")
    };
    let helpers = uop
        .calls
        .iter()
        .map(|name| match file.helpers.iter().find(|h| &h.name == name) {
            Some(helper) => Ok(prototype(helper)),
            None => Err(EmitError {
                name: uop.name.clone(),
                message: format!("helper `{name}` is not declared in {path}"),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;

    let template = UopTemplate {
        name: &uop.name,
        location: uop_location(file, uop),
        path: path.clone(),
        file_name: file_name.clone(),
        uses_oparg: uop.uses("oparg"),
        uses_operand: uop.uses("operand"),
        uses_jump_target: uop.uses("jump_target"),
        uses_deopt: uop.uses("deopt_target"),
        helpers,
        prelude: file.prelude.trim_matches('\n'),
        loads,
        declarations,
        stores,
        sp_adjust,
        sp_after_pop,
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
        text: number_next_line(&rendered),
    })
}

/// `int64_t a`, `double b`, `int64_t *p`.
fn declarator(ty: ValueType, name: &str) -> String {
    match ty {
        ValueType::Ptr => format!("int64_t *{name}"),
        _ => format!("{} {name}", ty.c_type()),
    }
}

/// The typed load of an input from its stack slot.
fn load(value: &StackValue, slot: i64) -> String {
    let bits = format!("sp[{slot}]");
    let init = match value.ty {
        ValueType::I64 => bits,
        ValueType::F64 => format!("AS_F64({bits})"),
        ValueType::Ptr => format!("(int64_t *)(intptr_t){bits}"),
    };
    format!("{} = {init};", declarator(value.ty, &value.name))
}

/// The store of an output into its stack slot.
fn store(value: &StackValue, slot: i64) -> String {
    let bits = match value.ty {
        ValueType::I64 => value.name.clone(),
        ValueType::F64 => format!("AS_I64({})", value.name),
        ValueType::Ptr => format!("(int64_t)(intptr_t){}", value.name),
    };
    format!("sp[{slot}] = {bits};")
}

/// `extern int64_t vm_hash(int64_t, int64_t);`
fn prototype(helper: &Helper) -> String {
    let params: Vec<&str> = helper.params.iter().map(|t| t.c_type()).collect();
    let params = if params.is_empty() {
        "void".to_string()
    } else {
        params.join(", ")
    };
    format!("extern {} {}({params});", helper.ret.c_type(), helper.name)
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

/// Replace the marker of the `#line` directive after the body with the C
/// file's own number of the following line, and end the text with a newline.
fn number_next_line(rendered: &str) -> String {
    let mut text = rendered.to_string();
    // The directive follows the body, so it is the last occurrence.
    let directive = format!("#line {NEXT_LINE_MARKER}");
    if let Some(at) = text.rfind(&directive) {
        // Lines are 1-based and the directive numbers the line after itself.
        let next = line_breaks(&text[..at]) + 2;
        let marker_at = at + "#line ".len();
        text.replace_range(
            marker_at..marker_at + NEXT_LINE_MARKER.len(),
            &next.to_string(),
        );
    }
    text.push('\n');
    text
}
