//! Writers: the stencils of a target as a Rust module (askama) and a JSON
//! manifest (serde_json), the `generated` crate's `lib.rs`, and the writing
//! of all of them as one whole ([`commit`]).
//!
//! Everything is rendered in memory first; files reach the disk only when
//! every one of them rendered.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use askama::Template;
use runtime::{Arch, HoleValue, ValueType};
use serde_json::{json, Value as Json};
use uop_defs::ast::{self, Uop, UopFile};

use crate::digest::{self, InputDigests};
use crate::emit_c;
use crate::model::{DeclaredValue, DeclaredValues, Hole, StencilGroup, Value};
use crate::target::{self, Target};

pub mod commit;
mod emitters;
pub(crate) mod lock;

/// Bytes per line of a byte array in the Rust module.
const BYTES_PER_LINE: usize = 16;

/// Who wrote the output: the `@generated` marker's text.
const GENERATED_BY: &str = "by `cargo xtask gen-stencils`; do not edit.";

/// A file to write, relative to the output directory (`generated/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Why output could not be rendered or written.
#[derive(Debug)]
pub enum WriteError {
    /// Two uops whose names give the same Rust constant.
    NameClash {
        target: &'static str,
        first: String,
        second: String,
        constant: String,
    },
    /// More external symbols than a `HoleValue::Symbol` index can hold.
    TooManySymbols { target: &'static str, count: usize },
    /// A template failed to render.
    Render { file: String, message: String },
    /// A file could not be written; the output directory is unchanged.
    Io { path: PathBuf, error: io::Error },
    /// A destination cannot take a file; nothing was written.
    Unwritable { path: PathBuf, reason: String },
    /// Another generation kept the output directory locked.
    Locked {
        dir: PathBuf,
        holder: Option<u32>,
        waited: std::time::Duration,
    },
    /// A generation cut short could be neither finished nor undone.
    Unfinished {
        dir: PathBuf,
        path: PathBuf,
        error: io::Error,
    },
    /// The journal of a generation cut short cannot be read.
    Journal { path: PathBuf, reason: String },
    /// Every file was written, but a temporary file could not be removed.
    Cleanup { path: PathBuf, error: io::Error },
    /// Every file was written, but a directory could not be flushed to
    /// disk; the next run settles the write.
    Flush { path: PathBuf, error: io::Error },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::NameClash {
                target,
                first,
                second,
                constant,
            } => write!(
                f,
                "uops `{first}` and `{second}` both become the constant `{constant}` in the module of {target}; rename one"
            ),
            WriteError::TooManySymbols { target, count } => write!(
                f,
                "{count} external symbols for {target}; at most {} fit a hole value",
                u16::MAX as usize + 1
            ),
            WriteError::Render { file, message } => write!(f, "cannot render {file}: {message}"),
            WriteError::Io { path, error } => write!(f, "cannot write {}: {error}", path.display()),
            WriteError::Unwritable { path, reason } => {
                write!(f, "cannot write {}: {reason}", path.display())
            }
            WriteError::Locked {
                dir,
                holder,
                waited,
            } => {
                let who = match holder {
                    Some(pid) => format!("process {pid}"),
                    None => "another process".to_string(),
                };
                write!(
                    f,
                    "{who} has been writing generated files to {} for over {} s; \
                     wait for it to finish, then run again",
                    dir.display(),
                    waited.as_secs()
                )
            }
            WriteError::Unfinished { dir, path, error } => write!(
                f,
                "{} holds a generation that was cut short, and it can be neither finished \
                 nor undone: {}: {error}; fix that and run again",
                dir.display(),
                path.display()
            ),
            WriteError::Journal { path, reason } => write!(
                f,
                "cannot read {}, the journal of a generation that was cut short: {reason}; \
                 check the files beside it, remove it and run again",
                path.display()
            ),
            WriteError::Cleanup { path, error } => write!(
                f,
                "wrote every file, but cannot remove the temporary file {}: {error}; \
                 the next run removes it",
                path.display()
            ),
            WriteError::Flush { path, error } => write!(
                f,
                "wrote every file, but cannot flush {} to disk: {error}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for WriteError {}

/// What the stencil table needs to know about a uop, from its definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UopMeta {
    pub name: String,
    /// `path:line:col` of the uop's name.
    pub location: String,
    pub doc: String,
    pub inputs: Vec<ValueType>,
    pub outputs: Vec<ValueType>,
    /// Declared values and `jump_target`, as the uop's `uses` lists them.
    pub uses: Vec<String>,
    pub helpers: Vec<String>,
}

impl UopMeta {
    pub fn new(file: &UopFile, uop: &Uop) -> UopMeta {
        let types = |values: &[ast::StackValue]| values.iter().map(|v| value_type(v.ty)).collect();
        UopMeta {
            name: uop.name.clone(),
            location: emit_c::uop_location(file, uop),
            doc: uop.doc.clone(),
            inputs: types(&uop.inputs),
            outputs: types(&uop.outputs),
            uses: uop.uses.clone(),
            helpers: uop.calls.clone(),
        }
    }
}

impl UopMeta {
    /// The uop the generator adds to store the values in registers to
    /// the memory stack.
    pub fn cache_spill() -> UopMeta {
        UopMeta {
            name: runtime::CACHE_SPILL.to_string(),
            location: "<generated>".to_string(),
            doc: "Stores the values in registers to the memory stack.".to_string(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            uses: Vec::new(),
            helpers: Vec::new(),
        }
    }
}

fn value_type(ty: ast::ValueType) -> ValueType {
    match ty {
        ast::ValueType::I64 => ValueType::I64,
        ast::ValueType::F64 => ValueType::F64,
        ast::ValueType::Ptr => ValueType::Ptr,
    }
}

/// Everything built for one target.
#[derive(Clone, Debug)]
pub struct TargetStencils {
    pub target: &'static Target,
    /// Full LLVM version of clang, e.g. `19.1.7`.
    pub llvm_version: String,
    /// Full version of llvm-objdump, which wrote the disassembly, when it
    /// is not clang's; `None` when it is (as for the committed output).
    pub objdump_version: Option<String>,
    pub digests: InputDigests,
    /// The hole values the VM declared.
    pub values: DeclaredValues,
    /// How many stack values variants keep in registers: each uop has
    /// `cache + 1` variants.
    pub cache: u32,
    pub shim: StencilGroup,
    /// In uop id order, then variant order: `cache + 1` entries per uop,
    /// each group named after its variant's unit.
    pub uops: Vec<(UopMeta, StencilGroup)>,
}

/// Module name of a target in `generated/src/` and of its manifest.
pub fn module_path(target: &Target) -> PathBuf {
    PathBuf::from("src").join(format!("{}.rs", target.module))
}

/// Path of a target's JSON manifest in `generated/`.
pub fn manifest_path(target: &Target) -> PathBuf {
    PathBuf::from(format!("{}.json", target.module))
}

/// The Rust module and the JSON manifest of one target.
pub fn render_target(stencils: &TargetStencils) -> Result<Vec<OutputFile>, WriteError> {
    let symbols = symbols(stencils)?;
    let module = render_module(stencils, &symbols)?;
    let manifest = render_manifest(stencils, &symbols);
    Ok(vec![
        OutputFile {
            path: module_path(stencils.target),
            bytes: module.into_bytes(),
        },
        OutputFile {
            path: manifest_path(stencils.target),
            bytes: manifest.into_bytes(),
        },
    ])
}

/// External symbols of all stencils of a target, sorted, without
/// duplicates: `HoleValue::Symbol(i)` indexes this list.
fn symbols(stencils: &TargetStencils) -> Result<Vec<String>, WriteError> {
    let groups = std::iter::once(&stencils.shim).chain(stencils.uops.iter().map(|(_, g)| g));
    let names: BTreeSet<&str> = groups
        .flat_map(|g| g.code_holes.iter().chain(&g.data_holes))
        .filter_map(|h| match &h.value {
            Value::Symbol(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    if names.len() > u16::MAX as usize + 1 {
        return Err(WriteError::TooManySymbols {
            target: stencils.target.triple,
            count: names.len(),
        });
    }
    Ok(names.into_iter().map(str::to_string).collect())
}

/// A model hole as the runtime's hole.
fn runtime_hole(hole: &Hole, symbols: &[String], values: &DeclaredValues) -> runtime::Hole {
    let value = match &hole.value {
        Value::Code => HoleValue::Code,
        Value::Data => HoleValue::Data,
        Value::Continue => HoleValue::Continue,
        Value::JumpTarget => HoleValue::JumpTarget,
        Value::Zero => HoleValue::Zero,
        // The pipeline refuses values the ABI does not declare, and the
        // ABI declares at most `MAX_OP_VALUES` per-op values.
        Value::OpValue(name) => HoleValue::OpValue(
            values
                .per_op
                .iter()
                .position(|v| &v.name == name)
                .unwrap_or_default() as u8,
        ),
        // `symbols` holds every symbol name and fits u16 (checked above).
        Value::Symbol(name) | Value::Undeclared(name) => {
            HoleValue::Symbol(symbols.iter().position(|s| s == name).unwrap_or_default() as u16)
        }
    };
    runtime::Hole {
        offset: hole.offset,
        kind: hole.kind,
        value,
        addend: hole.addend,
    }
}

fn header_lines(stencils: &TargetStencils) -> Vec<String> {
    let mut lines = vec![
        format!("@generated {GENERATED_BY}"),
        String::new(),
        match &stencils.objdump_version {
            None => format!(
                "Stencils for {}, built by LLVM {}.",
                stencils.target.triple, stencils.llvm_version
            ),
            Some(objdump) => format!(
                "Stencils for {}, built by clang {}, disassembled by llvm-objdump {objdump}.",
                stencils.target.triple, stencils.llvm_version
            ),
        },
        format!("Inputs digest: {}", stencils.digests.combined),
        "Input digests (SHA-256):".to_string(),
    ];
    let width = stencils
        .digests
        .inputs
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0);
    for (name, digest) in &stencils.digests.inputs {
        lines.push(format!("  {name:<width$}  {digest}"));
    }
    lines
}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "X86_64",
        Arch::Aarch64 => "Aarch64",
        Arch::I686 => "I686",
        Arch::Riscv64 => "Riscv64",
    }
}

#[derive(Template)]
#[template(path = "table.rs", escape = "none")]
struct TableTemplate {
    header: Vec<String>,
    imports: String,
    emit_imports: &'static str,
    target: &'static str,
    arch: &'static str,
    llvm_version: String,
    code_align: u32,
    shim: StencilView,
    cache: u32,
    /// Every uop's every variant.
    stencil_count: usize,
    uops: Vec<UopView>,
    stencils: Vec<StencilView>,
    symbols: String,
    op_values: String,
    trace_values: String,
}

/// A stencil's arrays, ready for the template.
#[derive(Clone)]
struct StencilView {
    title: String,
    comment: Vec<String>,
    ident: String,
    disassembly: Vec<String>,
    code_len: usize,
    code: Vec<String>,
    code_holes: Vec<String>,
    data_len: usize,
    data: Vec<String>,
    data_holes: Vec<String>,
    data_align: u32,
    code_ref: String,
    code_holes_ref: String,
    data_ref: String,
    data_holes_ref: String,
    /// The generated emit function: its name, parameter and body lines.
    emit_fn: String,
    emit_param: &'static str,
    emit_body: Vec<String>,
}

struct UopView {
    id: usize,
    name: String,
    const_name: String,
    /// One stencil per variant.
    variants: Vec<StencilView>,
    inputs: String,
    outputs: String,
    uses: String,
    helpers: String,
}

fn stencil_view(
    arch: Arch,
    title: String,
    comment: Vec<String>,
    ident: String,
    group: &StencilGroup,
    symbols: &[String],
    values: &DeclaredValues,
) -> StencilView {
    let runtime_holes = |holes: &[Hole]| -> Vec<runtime::Hole> {
        holes
            .iter()
            .map(|hole| runtime_hole(hole, symbols, values))
            .collect()
    };
    let (code_holes, data_holes) = (
        runtime_holes(&group.code_holes),
        runtime_holes(&group.data_holes),
    );
    let emit_body = emitters::body(
        arch,
        &emitters::Arrays {
            ident: &ident,
            code_len: group.code.len(),
            data_len: group.data.len(),
        },
        &code_holes,
        &data_holes,
    );
    let emit_param = if emitters::uses_place(&code_holes, &data_holes) {
        "at"
    } else {
        "_at"
    };
    let holes = |holes: &[Hole]| -> Vec<String> {
        holes
            .iter()
            .map(|hole| {
                let h = runtime_hole(hole, symbols, values);
                let mut line = format!(
                    "Hole {{ offset: {}, kind: HoleKind::{:?}, value: HoleValue::{:?}, addend: {} }},",
                    h.offset, h.kind, h.value, h.addend
                );
                if let Value::Symbol(name) | Value::OpValue(name) = &hole.value {
                    line.push_str(&format!(" // {name}"));
                }
                line
            })
            .collect()
    };
    let reference = |empty: bool, suffix: &str| {
        if empty {
            "&[]".to_string()
        } else {
            format!("&{ident}_{suffix}")
        }
    };
    StencilView {
        code_ref: reference(group.code.is_empty(), "CODE"),
        code_holes_ref: reference(group.code_holes.is_empty(), "CODE_HOLES"),
        data_ref: reference(group.data.is_empty(), "DATA"),
        data_holes_ref: reference(group.data_holes.is_empty(), "DATA_HOLES"),
        title,
        comment,
        disassembly: group.disassembly.clone(),
        code_len: group.code.len(),
        code: byte_lines(&group.code),
        code_holes: holes(&group.code_holes),
        data_len: group.data.len(),
        data: byte_lines(&group.data),
        data_holes: holes(&group.data_holes),
        data_align: group.data_align.max(1),
        emit_fn: format!("emit_{}", ident.to_ascii_lowercase()),
        emit_param,
        emit_body,
        ident,
    }
}

fn byte_lines(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(BYTES_PER_LINE)
        .map(|chunk| {
            chunk
                .iter()
                .map(|b| format!("0x{b:02x},"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn value_types(types: &[ValueType]) -> String {
    types
        .iter()
        .map(|t| format!("ValueType::{t:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn string_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Rust constant of a uop id: its name in upper case.
fn const_name(name: &str) -> String {
    name.to_ascii_uppercase()
}

fn render_module(stencils: &TargetStencils, symbols: &[String]) -> Result<String, WriteError> {
    let target = stencils.target;
    let shim = stencil_view(
        target.arch,
        "shim".to_string(),
        vec!["The C-ABI entry of a trace.".to_string()],
        "SHIM".to_string(),
        &stencils.shim,
        symbols,
        &stencils.values,
    );
    let per_uop = stencils.cache as usize + 1;
    let mut uops: Vec<UopView> = Vec::with_capacity(stencils.uops.len());
    for (id, variants) in stencils.uops.chunks(per_uop).enumerate() {
        let meta = &variants[0].0;
        let uop_const = const_name(&meta.name);
        if let Some(other) = uops.iter().find(|u| u.const_name == uop_const) {
            return Err(WriteError::NameClash {
                target: target.triple,
                first: other.name.clone(),
                second: meta.name.clone(),
                constant: uop_const,
            });
        }
        let mut comment = vec![format!("Defined at {}.", meta.location)];
        if !meta.doc.trim().is_empty() {
            comment.push(String::new());
            comment.extend(meta.doc.lines().map(|l| l.trim_end().to_string()));
        }
        let variant_views = variants
            .iter()
            .map(|(_, group)| {
                let (title, ident) = if per_uop == 1 {
                    (
                        format!("uop {id}: {}", meta.name),
                        format!("UOP_{uop_const}"),
                    )
                } else {
                    (
                        format!("uop {id}: {}", group.name),
                        format!("UOP_{}", const_name(&group.name.replace('.', "_"))),
                    )
                };
                stencil_view(
                    target.arch,
                    title,
                    comment.clone(),
                    ident,
                    group,
                    symbols,
                    &stencils.values,
                )
            })
            .collect();
        uops.push(UopView {
            id,
            name: meta.name.clone(),
            const_name: uop_const,
            variants: variant_views,
            inputs: value_types(&meta.inputs),
            outputs: value_types(&meta.outputs),
            uses: string_list(&meta.uses),
            helpers: string_list(&meta.helpers),
        });
    }
    let stencils_views: Vec<StencilView> = std::iter::once(shim.clone())
        .chain(uops.iter().flat_map(|u| u.variants.iter().cloned()))
        .collect();
    let template = TableTemplate {
        header: header_lines(stencils),
        imports: imports(stencils),
        emit_imports: if any_hole(stencils) {
            "self as hole, Emitters, Place"
        } else {
            "Emitters, Place"
        },
        target: target.triple,
        arch: arch_name(target.arch),
        llvm_version: stencils.llvm_version.clone(),
        code_align: target.code_align,
        shim,
        cache: stencils.cache,
        stencil_count: stencils.uops.len(),
        uops,
        stencils: stencils_views,
        symbols: string_list(symbols),
        op_values: value_infos(&stencils.values.per_op),
        trace_values: value_infos(&stencils.values.per_trace),
    };
    render(&template, &module_path(target))
}

/// `ValueInfo { name: "oparg", bits: 32 }, ...`
fn value_infos(values: &[DeclaredValue]) -> String {
    values
        .iter()
        .map(|v| format!("ValueInfo {{ name: {:?}, bits: {} }}", v.name, v.bits))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether any stencil of the target has a hole.
fn any_hole(stencils: &TargetStencils) -> bool {
    std::iter::once(&stencils.shim)
        .chain(stencils.uops.iter().map(|(_, g)| g))
        .any(|g| !g.code_holes.is_empty() || !g.data_holes.is_empty())
}

/// The `runtime` items the module uses, so it has no unused import.
fn imports(stencils: &TargetStencils) -> String {
    let any_hole = any_hole(stencils);
    let any_type = stencils
        .uops
        .iter()
        .any(|(m, _)| !m.inputs.is_empty() || !m.outputs.is_empty());
    let mut names = vec!["Arch"];
    if any_hole {
        names.extend(["Hole", "HoleKind", "HoleValue"]);
    }
    names.extend(["Stencil", "StencilTable", "UopInfo"]);
    if !stencils.values.per_op.is_empty() || !stencils.values.per_trace.is_empty() {
        names.push("ValueInfo");
    }
    if any_type {
        names.push("ValueType");
    }
    names.join(", ")
}

fn render(template: &impl Template, path: &Path) -> Result<String, WriteError> {
    let mut text = template.render().map_err(|e| WriteError::Render {
        file: path.display().to_string(),
        message: e.to_string(),
    })?;
    // askama drops the template's final newline.
    text.push('\n');
    Ok(text)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn stencil_json(group: &StencilGroup, symbols: &[String], values: &DeclaredValues) -> Json {
    let holes = |holes: &[Hole]| -> Vec<runtime::Hole> {
        holes
            .iter()
            .map(|h| runtime_hole(h, symbols, values))
            .collect()
    };
    json!({
        "code": hex(&group.code),
        "code_holes": holes(&group.code_holes),
        "data": hex(&group.data),
        "data_holes": holes(&group.data_holes),
        "data_align": group.data_align.max(1),
        "disassembly": group.disassembly,
        "trailing_jump_removed": group.trailing_jump_removed,
    })
}

fn value_json(values: &[DeclaredValue]) -> Json {
    values
        .iter()
        .map(|v| json!({ "name": v.name, "bits": v.bits }))
        .collect()
}

fn render_manifest(stencils: &TargetStencils, symbols: &[String]) -> String {
    let uops: Vec<Json> = stencils
        .uops
        .iter()
        .enumerate()
        .map(|(id, (meta, group))| {
            json!({
                "id": id,
                "name": group.name,
                "uop": meta.name,
                "location": meta.location,
                "doc": meta.doc,
                "inputs": meta.inputs,
                "outputs": meta.outputs,
                "uses": meta.uses,
                "helpers": meta.helpers,
                "stencil": stencil_json(group, symbols, &stencils.values),
            })
        })
        .collect();
    let target = stencils.target;
    let manifest = json!({
        "@generated": GENERATED_BY,
        "llvm_version": stencils.llvm_version,
        "inputs_digest": stencils.digests.combined,
        "input_digests": stencils.digests.inputs,
        "target": target.triple,
        "arch": target.arch,
        "code_align": target.code_align,
        "cache": stencils.cache,
        "symbols": symbols,
        "op_values": value_json(&stencils.values.per_op),
        "trace_values": value_json(&stencils.values.per_trace),
        "shim": stencil_json(&stencils.shim, symbols, &stencils.values),
        "uops": uops,
    });
    let mut manifest = manifest;
    if let (Some(objdump), Json::Object(map)) = (&stencils.objdump_version, &mut manifest) {
        map.insert("objdump_version".to_string(), json!(objdump));
    }
    // Serialising a `Value` cannot fail; an empty document would not parse
    // and so could not go unnoticed.
    let mut text = serde_json::to_string_pretty(&sort_keys(manifest)).unwrap_or_default();
    text.push('\n');
    text
}

/// The same JSON with every object's keys in order, whatever map type
/// serde_json was built with.
fn sort_keys(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[derive(Template)]
#[template(path = "lib.rs", escape = "none")]
struct LibTemplate {
    header: Vec<String>,
    targets: Vec<LibTarget>,
}

struct LibTarget {
    module: &'static str,
    short: &'static str,
    triple: &'static str,
    cfg: String,
}

/// The `cfg` predicate of the machines a target runs on.
fn host_cfg(target: &Target) -> String {
    let arch = match target.arch {
        Arch::X86_64 => "x86_64",
        Arch::Aarch64 => "aarch64",
        Arch::I686 => "x86",
        Arch::Riscv64 => "riscv64",
    };
    let os = if target.triple.contains("-linux") {
        "linux"
    } else if target.triple.contains("-darwin") {
        "macos"
    } else if target.triple.contains("-windows") {
        "windows"
    } else {
        "none"
    };
    format!("all(target_arch = \"{arch}\", target_os = \"{os}\")")
}

/// `generated/src/lib.rs`: a module per target of [`target::ALL`].
pub fn render_lib() -> Result<OutputFile, WriteError> {
    let path = PathBuf::from("src").join("lib.rs");
    let template = LibTemplate {
        header: vec![
            format!("@generated {GENERATED_BY}"),
            format!(
                "Template digest (SHA-256): {}",
                digest::sha256_hex(LIB_TEMPLATE.as_bytes())
            ),
        ],
        targets: target::ALL
            .iter()
            .map(|t| LibTarget {
                module: t.module,
                short: t.short,
                triple: t.triple,
                cfg: host_cfg(t),
            })
            .collect(),
    };
    Ok(OutputFile {
        bytes: render(&template, &path)?.into_bytes(),
        path,
    })
}

const LIB_TEMPLATE: &str = include_str!("../templates/lib.rs");

/// Write `files` under `out_dir` as one whole: afterwards it holds all of
/// them, or, on an error, none (see [`commit`]).
pub fn write_outputs(files: &[OutputFile], out_dir: &Path) -> Result<(), WriteError> {
    commit::write_outputs(files, out_dir, &commit::env_hook)
}

/// Finish or undo a write of `out_dir` that a killed run left, and remove
/// its temporary files (see [`commit::recover`]).
pub fn recover(out_dir: &Path) -> Result<(), WriteError> {
    commit::recover(out_dir, &commit::env_hook)
}
