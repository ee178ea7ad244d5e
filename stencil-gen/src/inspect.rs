//! A human-readable rendering of the stencil lowering makes from an object
//! file: code and data bytes, their holes, and where each section went.
//!
//! Works on any relocatable object of a target's format and instruction
//! set, not only ours.

use std::fmt::Write;

use runtime::HoleKind;

use crate::lower::{self, Layout, LowerError, Placement};
use crate::model::{DeclaredValues, Hole, StencilGroup, Value};
use crate::target::Target;

/// Bytes per line of a hex dump.
const HEX_WIDTH: usize = 16;

/// Lower `object` as uop `name` with the VM's declared hole `values` and
/// render the result. A `_JIT_*` symbol nobody declared is shown as
/// `undeclared`, never as a helper.
pub fn inspect(
    object: &[u8],
    target: &Target,
    name: &str,
    values: &DeclaredValues,
) -> Result<String, LowerError> {
    let (group, layout) = lower::lower_with_layout(object, target, name, values)?;
    Ok(render(&group, &layout, target))
}

/// Render a lowered stencil and the layout it came from.
pub fn render(group: &StencilGroup, layout: &Layout, target: &Target) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_stencil(&mut out, group, layout, target);
    out
}

fn write_stencil(
    out: &mut String,
    group: &StencilGroup,
    layout: &Layout,
    target: &Target,
) -> std::fmt::Result {
    writeln!(out, "stencil `{}` for {}", group.name, target.triple)?;
    writeln!(out)?;
    writeln!(out, "code: {} bytes", group.code.len())?;
    write_sections(out, &layout.placements, true)?;
    writeln!(
        out,
        "  trailing jump to the continuation: {}",
        if group.trailing_jump_removed {
            "removed"
        } else {
            "none"
        }
    )?;
    write_hex(out, &group.code)?;
    write_holes(out, "code holes", &group.code_holes)?;
    writeln!(out)?;
    writeln!(
        out,
        "data: {} bytes, align {}",
        group.data.len(),
        group.data_align
    )?;
    write_sections(out, &layout.placements, false)?;
    if layout.got_slots > 0 {
        writeln!(
            out,
            "  GOT at {:#06x}, {} slots",
            layout.got_offset, layout.got_slots
        )?;
    }
    write_hex(out, &group.data)?;
    write_holes(out, "data holes", &group.data_holes)
}

fn write_sections(out: &mut String, placements: &[Placement], in_code: bool) -> std::fmt::Result {
    for placement in placements.iter().filter(|p| p.in_code == in_code) {
        writeln!(
            out,
            "  section {} at {:#06x}, {} bytes",
            placement.section, placement.offset, placement.size
        )?;
    }
    Ok(())
}

fn write_hex(out: &mut String, bytes: &[u8]) -> std::fmt::Result {
    if !bytes.is_empty() {
        writeln!(out, "  bytes:")?;
    }
    for (line, chunk) in bytes.chunks(HEX_WIDTH).enumerate() {
        write!(out, "    {:04x}:", line * HEX_WIDTH)?;
        for byte in chunk {
            write!(out, " {byte:02x}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn write_holes(out: &mut String, title: &str, holes: &[Hole]) -> std::fmt::Result {
    writeln!(out, "{title}: {}", holes.len())?;
    if holes.is_empty() {
        return Ok(());
    }
    let rows: Vec<[String; 4]> = holes
        .iter()
        .map(|h| {
            [
                format!("{:#06x}", h.offset),
                kind_name(h.kind),
                value_name(&h.value),
                signed_hex(h.addend),
            ]
        })
        .collect();
    let header = ["offset", "kind", "value", "addend"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut line = |cells: [&str; 4]| {
        let text = format!(
            "  {:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
        writeln!(out, "{}", text.trim_end())
    };
    line(header)?;
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3]])?;
    }
    Ok(())
}

/// Short name of a hole kind.
pub fn kind_name(kind: HoleKind) -> String {
    match kind {
        HoleKind::Abs64 => "abs64".into(),
        HoleKind::Abs32 => "abs32".into(),
        HoleKind::Abs32Signed => "abs32_signed".into(),
        HoleKind::PcRel32 => "pc_rel32".into(),
        HoleKind::X86Branch32 => "x86_branch32".into(),
        HoleKind::PcRel64 => "pc_rel64".into(),
        HoleKind::X86_64GotLoad => "x86_64_got_load".into(),
        HoleKind::X86_64GotLoadNoRex => "x86_64_got_load_no_rex".into(),
        HoleKind::X86_64GotLoadUnrelaxed => "x86_64_got_load_unrelaxed".into(),
        HoleKind::Aarch64Branch26 => "aarch64_branch26".into(),
        HoleKind::Aarch64Branch19 => "aarch64_branch19".into(),
        HoleKind::Aarch64Branch14 => "aarch64_branch14".into(),
        HoleKind::Aarch64AdrpPage21 => "aarch64_adrp_page21".into(),
        HoleKind::Aarch64Adr21 => "aarch64_adr21".into(),
        HoleKind::Aarch64PageOffset12 { scale } => format!("aarch64_page_offset12(scale={scale})"),
        HoleKind::Aarch64MovWide { group } => format!("aarch64_mov_wide(group={group})"),
        HoleKind::Riscv64Hi20 => "riscv64_hi20".into(),
        HoleKind::Riscv64Lo12I => "riscv64_lo12_i".into(),
        HoleKind::Riscv64Lo12S => "riscv64_lo12_s".into(),
        HoleKind::Riscv64PcRelHi20 => "riscv64_pc_rel_hi20".into(),
        HoleKind::Riscv64PcRelLo12I => "riscv64_pc_rel_lo12_i".into(),
        HoleKind::Riscv64PcRelLo12S => "riscv64_pc_rel_lo12_s".into(),
        HoleKind::Riscv64Call => "riscv64_call".into(),
        HoleKind::Riscv64Branch => "riscv64_branch".into(),
        HoleKind::Riscv64Jal => "riscv64_jal".into(),
        HoleKind::Riscv64CBranch => "riscv64_c_branch".into(),
        HoleKind::Riscv64CJump => "riscv64_c_jump".into(),
    }
}

/// Short name of a hole value.
pub fn value_name(value: &Value) -> String {
    match value {
        Value::Code => "code".into(),
        Value::Data => "data".into(),
        Value::Continue => "continue".into(),
        Value::JumpTarget => "jump_target".into(),
        Value::Zero => "zero".into(),
        Value::OpValue(name) => format!("value {name}"),
        Value::Symbol(name) => format!("symbol {name}"),
        Value::Undeclared(name) => format!("undeclared {name}"),
    }
}

fn signed_hex(value: i64) -> String {
    let sign = if value < 0 { '-' } else { '+' };
    format!("{sign}{:#x}", value.unsigned_abs())
}
