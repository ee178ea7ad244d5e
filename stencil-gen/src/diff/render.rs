//! A [`StencilDiff`] as plain text and as Markdown.

use std::fmt::Write;

use super::{Change, Figures, StencilDiff, StencilRow, TargetDiff};

/// Column groups of the table, each with A, B and the change.
const GROUPS: [&str; 4] = ["code bytes", "data bytes", "holes", "instructions"];

fn values(f: Figures) -> [u64; 4] {
    [f.code_bytes, f.data_bytes, f.holes, f.instructions]
}

fn changes(c: Change) -> [i64; 4] {
    [c.code_bytes, c.data_bytes, c.holes, c.instructions]
}

/// The twelve number cells of a row: A, B and change per group; `-` for a
/// side without the stencil.
fn cells(a: Option<Figures>, b: Option<Figures>, change: Change) -> Vec<String> {
    let side =
        |f: Option<Figures>, i: usize| f.map_or("-".to_string(), |f| values(f)[i].to_string());
    (0..GROUPS.len())
        .flat_map(|i| [side(a, i), side(b, i), signed(changes(change)[i])])
        .collect()
}

fn signed(n: i64) -> String {
    if n == 0 {
        "0".to_string()
    } else {
        format!("{n:+}")
    }
}

fn side_name(llvm: &Option<String>) -> String {
    match llvm {
        Some(version) => format!("LLVM {version}"),
        None => "no manifest".to_string(),
    }
}

/// `shim` for the shim, the uop name otherwise, and where only one side has
/// the stencil.
fn row_name(row: &StencilRow) -> String {
    let name = if row.shim {
        "(shim)".to_string()
    } else {
        row.name.clone()
    };
    match (row.a.is_some(), row.b.is_some()) {
        (true, false) => format!("{name} (only in A)"),
        (false, true) => format!("{name} (only in B)"),
        _ => name,
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn changed_count(t: &TargetDiff) -> usize {
    t.rows.iter().filter(|r| r.changed).count()
}

pub fn text(diff: &StencilDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "stencil diff: A = {}, B = {}", diff.a, diff.b);
    for note in &diff.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for t in &diff.targets {
        let _ = writeln!(
            out,
            "\n{} (A: {}, B: {})",
            t.target,
            side_name(&t.llvm_a),
            side_name(&t.llvm_b)
        );
        text_table(&mut out, t);
        let _ = writeln!(
            out,
            "hole kinds appeared: {}; vanished: {}",
            list(&t.hole_kinds_appeared),
            list(&t.hole_kinds_vanished)
        );
        let _ = writeln!(
            out,
            "{} of {} stencils changed",
            changed_count(t),
            t.rows.len()
        );
        for row in t.rows.iter().filter(|r| r.changed) {
            let _ = writeln!(out, "\n{}: {}", row_name(row), row_summary(row));
            if let Some(d) = &row.disassembly_diff {
                out.push_str(d);
            }
        }
    }
    out
}

/// What changed in a stencil, in words.
fn row_summary(row: &StencilRow) -> String {
    let mut parts = Vec::new();
    if let (Some(a), Some(b)) = (row.a, row.b) {
        for (i, group) in GROUPS.iter().enumerate() {
            let (x, y) = (values(a)[i], values(b)[i]);
            if x != y {
                parts.push(format!("{group} {x} -> {y}"));
            }
        }
    }
    if !row.hole_kinds_appeared.is_empty() {
        parts.push(format!(
            "hole kinds appeared: {}",
            row.hole_kinds_appeared.join(", ")
        ));
    }
    if !row.hole_kinds_vanished.is_empty() {
        parts.push(format!(
            "hole kinds vanished: {}",
            row.hole_kinds_vanished.join(", ")
        ));
    }
    if row.a.is_some() && row.b.is_some() && row.disassembly_diff.is_none() {
        parts.push("same disassembly; data or holes differ".to_string());
    }
    if parts.is_empty() {
        parts.push("same sizes; bytes differ".to_string());
    }
    parts.join("; ")
}

fn text_table(out: &mut String, t: &TargetDiff) {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec![String::new()];
    let mut sub = vec!["stencil".to_string()];
    for group in GROUPS {
        header.extend([group.to_string(), String::new(), String::new()]);
        sub.extend(["A", "B", "change"].map(String::from));
    }
    for row in &t.rows {
        let marker = if row.changed { "* " } else { "  " };
        let mut line = vec![format!("{marker}{}", row_name(row))];
        line.extend(cells(row.a, row.b, row.change));
        rows.push(line);
    }
    let mut total = vec!["  total".to_string()];
    total.extend(cells(Some(t.total_a), Some(t.total_b), t.total_change));
    let width = |col: usize| {
        rows.iter()
            .chain([&sub, &total])
            .map(|r| r[col].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..sub.len()).map(width).collect();
    // The group titles span their three columns.
    let mut title = format!("{:w$}", "", w = widths[0]);
    for (g, group) in GROUPS.iter().enumerate() {
        // Three columns, each after two spaces.
        let span: usize = widths[1 + 3 * g..4 + 3 * g].iter().sum::<usize>() + 6;
        let _ = write!(title, "  {group:<span$}", span = span - 2);
    }
    let _ = writeln!(out, "{}", title.trim_end());
    let line = |out: &mut String, cells: &[String]| {
        let mut text = format!("{:<w$}", cells[0], w = widths[0]);
        for (i, cell) in cells.iter().enumerate().skip(1) {
            let _ = write!(text, "  {cell:>w$}", w = widths[i]);
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(out, &sub);
    for row in &rows {
        line(out, row);
    }
    line(out, &total);
}

pub fn markdown(diff: &StencilDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Stencil diff: A = {}, B = {}\n", diff.a, diff.b);
    for note in &diff.notes {
        let _ = writeln!(out, "> **Note:** {note}\n");
    }
    for t in &diff.targets {
        let _ = writeln!(
            out,
            "### `{}` (A: {}, B: {})\n",
            t.target,
            side_name(&t.llvm_a),
            side_name(&t.llvm_b)
        );
        let mut head = vec!["stencil".to_string()];
        for group in GROUPS {
            head.extend([format!("{group} A"), format!("{group} B"), "Δ".to_string()]);
        }
        let _ = writeln!(out, "| {} |", head.join(" | "));
        let align: Vec<&str> = std::iter::once(":--")
            .chain(std::iter::repeat_n("--:", head.len() - 1))
            .collect();
        let _ = writeln!(out, "|{}|", align.join("|"));
        for row in &t.rows {
            let name = format!("`{}`", row_name(row));
            let name = if row.changed {
                format!("**{name}**")
            } else {
                name
            };
            let mut cols = vec![name];
            cols.extend(cells(row.a, row.b, row.change));
            let _ = writeln!(out, "| {} |", cols.join(" | "));
        }
        let mut cols = vec!["**total**".to_string()];
        cols.extend(cells(Some(t.total_a), Some(t.total_b), t.total_change));
        let _ = writeln!(out, "| {} |\n", cols.join(" | "));
        let code = |items: &[String]| -> String {
            if items.is_empty() {
                "none".to_string()
            } else {
                items
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(
            out,
            "Hole kinds appeared: {}. Vanished: {}. {} of {} stencils changed.\n",
            code(&t.hole_kinds_appeared),
            code(&t.hole_kinds_vanished),
            changed_count(t),
            t.rows.len()
        );
        for row in t.rows.iter().filter(|r| r.changed) {
            let _ = writeln!(
                out,
                "<details><summary><code>{}</code>: {}</summary>\n",
                html_escape(&row_name(row)),
                html_escape(&row_summary(row))
            );
            if let Some(d) = &row.disassembly_diff {
                let _ = writeln!(out, "```diff\n{}```\n", d);
            }
            let _ = writeln!(out, "</details>\n");
        }
    }
    out
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
