//! The stencil lowering makes from an object file, for a reader: code and
//! data bytes, their holes, where each section went and what was removed,
//! as text ([`inspect`]) or as JSON ([`inspect_json`], the schema in
//! `docs/json-output.md`).
//!
//! Works on any relocatable object of a target's format and instruction
//! set, not only ours; one of another target's is named as such first.

mod json;

use std::fmt::Write;

use runtime::{Arch, HoleKind};

use crate::lower::{self, Layout, LowerError, LowerErrorKind, Placement};
use crate::model::{DeclaredValues, Hole, StencilGroup, Value};
use crate::obj::{self, SectionKind};
use crate::target::Target;

/// Bytes per line of a hex dump.
const HEX_WIDTH: usize = 16;

/// A lowered object, with what lowering removed from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub group: StencilGroup,
    pub layout: Layout,
    /// The jump to the continuation that ended the code, when lowering
    /// removed it.
    pub trailing_jump: Option<RemovedJump>,
    /// Size of the object file in bytes.
    pub object_size: u64,
    /// SHA-256 of the object file, in hex.
    pub object_sha256: String,
}

/// A removed trailing jump: its code offset (the code's length after
/// removal) and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemovedJump {
    pub offset: u64,
    pub bytes: Vec<u8>,
}

impl Inspection {
    /// Check that `object` is one of `target`'s format and instruction set,
    /// then lower it as uop `name` with the VM's declared hole `values`. A
    /// `_JIT_*` symbol nobody declared is kept as undeclared, never taken
    /// for a helper.
    pub fn new(
        object: &[u8],
        target: &Target,
        name: &str,
        values: &DeclaredValues,
    ) -> Result<Inspection, LowerError> {
        obj::check_target(object, target).map_err(|e| LowerError {
            uop: name.to_string(),
            target: target.triple,
            kind: Box::new(LowerErrorKind::Object(e)),
        })?;
        let (group, layout) = lower::lower_with_layout(object, target, name, values)?;
        let trailing_jump = group
            .trailing_jump_removed
            .then(|| removed_jump(object, target, &group, &layout))
            .flatten();
        Ok(Inspection {
            group,
            layout,
            trailing_jump,
            object_size: object.len() as u64,
            object_sha256: crate::digest::sha256_hex(object),
        })
    }
}

/// Lower `object` as uop `name` and render the result as text.
pub fn inspect(
    object: &[u8],
    target: &Target,
    name: &str,
    values: &DeclaredValues,
) -> Result<String, LowerError> {
    let inspection = Inspection::new(object, target, name, values)?;
    Ok(render(&inspection.group, &inspection.layout, target))
}

/// Lower `object` as uop `name` and render the result as JSON.
pub fn inspect_json(
    object: &[u8],
    target: &Target,
    name: &str,
    values: &DeclaredValues,
) -> Result<String, LowerError> {
    let inspection = Inspection::new(object, target, name, values)?;
    Ok(json::render(&inspection, target))
}

/// The bytes lowering cut off the end of the code: the code as laid out
/// before removal (code sections at their placements, padded as lowering
/// pads them) past the code's final length.
fn removed_jump(
    object: &[u8],
    target: &Target,
    group: &StencilGroup,
    layout: &Layout,
) -> Option<RemovedJump> {
    let file = obj::read(object).ok()?;
    // Placements follow the sections lowering placed, in file order.
    let placed = file
        .sections
        .iter()
        .filter(|s| s.kind != SectionKind::Other);
    let fill = match target.arch {
        Arch::X86_64 | Arch::I686 => 0xcc,
        Arch::Aarch64 | Arch::Riscv64 => 0x00,
    };
    let mut code = Vec::new();
    for (section, placement) in placed.zip(&layout.placements) {
        if !placement.in_code {
            continue;
        }
        code.resize(usize::try_from(placement.offset).ok()?, fill);
        code.extend_from_slice(&section.data);
    }
    let offset = group.code.len();
    Some(RemovedJump {
        offset: offset as u64,
        bytes: code.get(offset..)?.to_vec(),
    })
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
