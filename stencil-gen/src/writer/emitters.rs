//! The body of each stencil's generated emit function: a copy of its code
//! and data as fixed-size arrays, then one patch per hole with the kind,
//! offset and addend as constants (see `runtime::emit::generated`).

use runtime::{Arch, Hole, HoleKind, HoleValue};

/// The stencil's arrays, as the template names them.
pub struct Arrays<'a> {
    pub ident: &'a str,
    pub code_len: usize,
    pub data_len: usize,
}

/// The lines of the function's body, without indentation.
pub fn body(
    arch: Arch,
    arrays: &Arrays<'_>,
    code_holes: &[Hole],
    data_holes: &[Hole],
) -> Vec<String> {
    let mut lines = Vec::new();
    let ident = arrays.ident;
    for (part, len) in [("code", arrays.code_len), ("data", arrays.data_len)] {
        let upper = part.to_ascii_uppercase();
        if len == 0 {
            lines.push(format!("if !{part}.is_empty() {{ return false; }}"));
        } else {
            lines.push(format!(
                "let Ok({part}) = <&mut [u8; {len}]>::try_from({part}) else {{ return false; }};"
            ));
            lines.push(format!("*{part} = {ident}_{upper};"));
        }
    }
    // Data first: a GOT load's relaxation reads the patched slot.
    for hole in data_holes {
        lines.extend(patch_lines(arch, hole, "data", arrays.data_len));
    }
    for hole in code_holes {
        lines.extend(patch_lines(arch, hole, "code", arrays.data_len));
    }
    lines.push("true".to_string());
    lines
}

/// Whether the function reads its place (any hole at all).
pub fn uses_place(code_holes: &[Hole], data_holes: &[Hole]) -> bool {
    !code_holes.is_empty() || !data_holes.is_empty()
}

/// The lines that patch one hole of `part` ("code" or "data").
fn patch_lines(arch: Arch, hole: &Hole, part: &str, data_len: usize) -> Vec<String> {
    let mut lines = vec![format!("let value = {};", value(hole.value))];
    let location = if hole.offset == 0 {
        format!("at.{part}")
    } else {
        format!("at.{part}.wrapping_add({})", hole.offset)
    };
    let mut target = if hole.addend == 0 {
        "value".to_string()
    } else {
        format!("value.wrapping_add({}_i64 as u64)", hole.addend)
    };
    if arch == Arch::I686 && matches!(hole.kind, HoleKind::PcRel32 | HoleKind::X86Branch32) {
        target = format!("hole::wrap_rel32({location}, {target})");
    }
    let kind = format!("HoleKind::{:?}", hole.kind);
    let call = if part == "code"
        && matches!(
            hole.kind,
            HoleKind::X86_64GotLoad | HoleKind::X86_64GotLoadNoRex
        ) {
        let data = if data_len == 0 { "&[]" } else { "data" };
        format!(
            "hole::got_load({kind}, code, {data}, at.data, {}, {location}, {target})",
            hole.offset
        )
    } else {
        format!(
            "hole::patch({kind}, {part}, {}, {location}, {target})",
            hole.offset
        )
    };
    lines.push(format!("if !{call} {{ return false; }}"));
    lines
}

/// The expression of a hole's value (before its addend).
fn value(value: HoleValue) -> String {
    match value {
        HoleValue::Code => "at.code".to_string(),
        HoleValue::Data => "at.data".to_string(),
        HoleValue::Continue => "at.continuation".to_string(),
        HoleValue::Zero => "0_u64".to_string(),
        HoleValue::JumpTarget => {
            "match at.jump_target { Some(value) => value, None => return false }".to_string()
        }
        HoleValue::OpValue(i) => {
            format!("match at.values {{ Some(values) => values[{i}], None => return false }}")
        }
        HoleValue::Symbol(i) => {
            let symbol = if i == 0 {
                "at.symbols.first()".to_string()
            } else {
                format!("at.symbols.get({i})")
            };
            format!("match {symbol} {{ Some(&value) => value, None => return false }}")
        }
    }
}
