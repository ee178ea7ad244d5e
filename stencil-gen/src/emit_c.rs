//! C emission: one freestanding translation unit per uop, plus the shim.
//!
//! The askama templates in `stencil-gen/templates/` hold the layout of the
//! C text, which `docs/stencil-abi.md` describes; every type, argument,
//! value and exit in it comes from the VM's `abi` item ([`abi::CAbi`]).
//! `#line` directives make clang's diagnostics point into the `.uop` files.

mod abi;
mod variant;

use std::fmt;
use std::path::{Component, Path};

use askama::Template;
use uop_defs::ast::{Helper, Uop, UopFile};

pub use abi::{declarator, CAbi};
use variant::c_type;
pub use variant::Variant;

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
    call_args: String,
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

/// The translation unit of one uop of `file`, entered with nothing in
/// registers.
pub fn emit_uop(abi: &CAbi, file: &UopFile, uop: &Uop) -> Result<CSource, EmitError> {
    let variant = Variant::of(0, uop.inputs.len(), uop.outputs.len(), abi.cache);
    emit_variant(abi, file, uop, variant)
}

/// One translation unit per variant of a uop of `file`, in variant order
/// (`k_in` = 0..=cache).
pub fn emit_variants(abi: &CAbi, file: &UopFile, uop: &Uop) -> Result<Vec<CSource>, EmitError> {
    (0..=abi.cache)
        .map(|k| {
            let variant = Variant::of(k, uop.inputs.len(), uop.outputs.len(), abi.cache);
            emit_variant(abi, file, uop, variant)
        })
        .collect()
}

/// The variants of [`runtime::CACHE_SPILL`], which store the values in
/// registers to the memory stack; none when nothing is cached.
pub fn emit_cache_spill(abi: &CAbi) -> Result<Vec<CSource>, EmitError> {
    if abi.cache == 0 {
        return Ok(Vec::new());
    }
    let file = UopFile {
        path: "<generated>".into(),
        prelude: String::new(),
        helpers: Vec::new(),
        uops: Vec::new(),
        abi: None,
    };
    let at = uop_defs::ast::Span {
        line: 1,
        col: 1,
        offset: 0,
        len: 0,
    };
    let uop = Uop {
        name: runtime::CACHE_SPILL.to_string(),
        doc: "Stores the values in registers to the memory stack.".to_string(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        uses: Vec::new(),
        calls: Vec::new(),
        body: String::new(),
        body_span: at.clone(),
        span: at,
    };
    (0..=abi.cache)
        .map(|k_in| emit_variant(abi, &file, &uop, Variant { k_in, k_out: 0 }))
        .collect()
}

/// The name of a uop's variant's unit: the uop's own without a cache.
pub fn unit_name(abi: &CAbi, uop: &str, variant: Variant) -> String {
    if abi.cache == 0 {
        uop.to_string()
    } else {
        format!("{uop}.{}", variant.name())
    }
}

/// A unit name split into its uop and, for a variant, the variant's name
/// (`add.r01` is `add` and `r01`; uop names hold no `.`).
pub fn split_unit_name(name: &str) -> (&str, Option<&str>) {
    match name.split_once('.') {
        Some((uop, variant)) => (uop, Some(variant)),
        None => (name, None),
    }
}

/// The translation unit of `variant` of a uop of `file`.
fn emit_variant(
    abi: &CAbi,
    file: &UopFile,
    uop: &Uop,
    variant: Variant,
) -> Result<CSource, EmitError> {
    let path = dsl_path(&file.path);
    let name = unit_name(abi, &uop.name, variant);
    let file_name = format!("{name}.c");
    let plan = variant::plan(abi, variant, &uop.inputs, &uop.outputs);

    let mut loads = plan.loads.clone();
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
    let call_args = std::iter::once(abi.args.clone())
        .chain(plan.registers_out.iter().cloned())
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let exits = abi.exit_macros(uop, variant.k_in, &plan);

    let location = uop_location(file, uop);
    let template = UopTemplate {
        abi,
        abi_path: c_string_content(&abi.abi_path),
        name: &name,
        location: location.clone(),
        path: path.clone(),
        file_name: file_name.clone(),
        uses_jump_target: uop.uses(JUMP_TARGET),
        values: abi.value_decls(uop),
        exits,
        helpers,
        prelude: file.prelude.trim_matches('\n'),
        loads,
        declarations,
        stores: plan.stores,
        sp_adjust: plan.sp_adjust,
        call_args,
        body_line: uop.body_span.line,
        body_path: c_string_content(&path),
        body: &uop.body,
    };
    let rendered = template.render().map_err(|e| EmitError {
        name: name.clone(),
        message: e.to_string(),
    })?;
    Ok(CSource {
        name,
        file_name,
        location: Some(location),
        text: number_next_lines(&rendered),
    })
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
