//! `inspect-object --format json`: the stencil as JSON, in explicit types
//! so that the schema (`docs/json-output.md`) changes only on purpose.

use serde::Serialize;

use super::{kind_name, Inspection};
use crate::model::{Hole, Value};
use crate::obj::{arch_name, format_name};
use crate::target::Target;

/// Bumped whenever a field changes meaning or goes away.
pub const SCHEMA: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    schema: u32,
    target: TargetJson<'a>,
    object: ObjectJson<'a>,
    stencil: StencilJson<'a>,
}

#[derive(Serialize)]
struct TargetJson<'a> {
    triple: &'a str,
    short: &'a str,
    format: &'static str,
    arch: &'static str,
}

#[derive(Serialize)]
struct ObjectJson<'a> {
    size: u64,
    sha256: &'a str,
}

#[derive(Serialize)]
struct StencilJson<'a> {
    name: &'a str,
    code: String,
    code_holes: Vec<HoleJson>,
    data: String,
    data_align: u32,
    data_holes: Vec<HoleJson>,
    sections: Vec<SectionJson<'a>>,
    got: GotJson,
    removed: RemovedJson,
}

/// A hole: `value` names what it is patched with, `symbol` the external
/// symbol when `value` is `symbol`.
#[derive(Serialize)]
struct HoleJson {
    offset: u64,
    kind: String,
    value: String,
    symbol: Option<String>,
    addend: i64,
}

#[derive(Serialize)]
struct SectionJson<'a> {
    name: &'a str,
    part: &'static str,
    offset: u64,
    size: u64,
}

#[derive(Serialize)]
struct GotJson {
    offset: u64,
    slots: Vec<HoleJson>,
}

#[derive(Serialize)]
struct RemovedJson {
    trailing_jump: Option<RemovedJumpJson>,
}

#[derive(Serialize)]
struct RemovedJumpJson {
    offset: u64,
    bytes: String,
}

/// The inspection as pretty-printed JSON.
pub(super) fn render(inspection: &Inspection, target: &Target) -> String {
    let group = &inspection.group;
    let layout = &inspection.layout;
    let got_end = layout.got_offset + 8 * layout.got_slots as u64;
    let output = Output {
        schema: SCHEMA,
        target: TargetJson {
            triple: target.triple,
            short: target.short,
            format: format_name(target.format),
            arch: arch_name(target.arch),
        },
        object: ObjectJson {
            size: inspection.object_size,
            sha256: &inspection.object_sha256,
        },
        stencil: StencilJson {
            name: &group.name,
            code: hex(&group.code),
            code_holes: group.code_holes.iter().map(hole).collect(),
            data: hex(&group.data),
            data_align: group.data_align,
            data_holes: group.data_holes.iter().map(hole).collect(),
            sections: layout
                .placements
                .iter()
                .map(|p| SectionJson {
                    name: &p.section,
                    part: if p.in_code { "code" } else { "data" },
                    offset: p.offset,
                    size: p.size,
                })
                .collect(),
            got: GotJson {
                offset: layout.got_offset,
                // Each slot is the data hole that fills it.
                slots: group
                    .data_holes
                    .iter()
                    .filter(|h| (layout.got_offset..got_end).contains(&u64::from(h.offset)))
                    .map(hole)
                    .collect(),
            },
            removed: RemovedJson {
                trailing_jump: inspection
                    .trailing_jump
                    .as_ref()
                    .map(|jump| RemovedJumpJson {
                        offset: jump.offset,
                        bytes: hex(&jump.bytes),
                    }),
            },
        },
    };
    // Plain structs of strings and numbers always serialize.
    serde_json::to_string_pretty(&output).unwrap_or_default() + "\n"
}

fn hole(hole: &Hole) -> HoleJson {
    let (value, symbol) = value_parts(&hole.value);
    HoleJson {
        offset: hole.offset.into(),
        kind: kind_name(hole.kind),
        value: value.to_string(),
        symbol,
        addend: hole.addend,
    }
}

/// A hole value's name, and the symbol's name for an external symbol.
fn value_parts(value: &Value) -> (&'static str, Option<String>) {
    match value {
        Value::Code => ("code", None),
        Value::Data => ("data", None),
        Value::Continue => ("continue", None),
        Value::JumpTarget => ("jump_target", None),
        Value::Zero => ("zero", None),
        Value::OpValue(name) => ("op_value", Some(name.clone())),
        Value::Symbol(name) => ("symbol", Some(name.clone())),
        Value::Undeclared(name) => ("undeclared", Some(name.clone())),
    }
}

/// Lower-case hex, two digits a byte, as the manifests write bytes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
