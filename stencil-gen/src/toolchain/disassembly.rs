//! Tidying llvm-objdump's output into stable, readable lines.

/// Cut the output of one llvm-objdump run into the part of each of
/// `names`, which objdump handled in that order. A part starts at the
/// `NAME:\tfile format ...` line objdump prints for every object, even one
/// without code; a name whose line is missing ends the list early.
pub fn split<'a>(objdump: &'a str, names: &[String]) -> Vec<&'a str> {
    let mut starts = Vec::with_capacity(names.len());
    let mut offset = 0;
    for line in objdump.split_inclusive('\n') {
        if let Some(name) = names.get(starts.len()) {
            let header = line
                .strip_prefix(name.as_str())
                .and_then(|rest| rest.strip_prefix(":\tfile format "));
            if header.is_some() {
                starts.push(offset);
            }
        }
        offset += line.len();
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).copied().unwrap_or(objdump.len());
            &objdump[start..end]
        })
        .collect()
}

/// Keep the instructions and relocations of `section` below
/// `code_len`, without objdump's header and file name, in fixed
/// columns.
pub fn tidy(objdump: &str, section: &str, code_len: usize) -> Vec<String> {
    let header = format!("Disassembly of section {section}:");
    let mut in_section = false;
    let mut rows = Vec::new();
    for line in objdump.lines() {
        if let Some(rest) = line.strip_prefix("Disassembly of section ") {
            in_section = line == header || rest == section;
            continue;
        }
        if !in_section || line.trim().is_empty() {
            continue;
        }
        if let Some(row) = parse_row(line) {
            rows.push(row);
        }
    }
    let kept: Vec<&Row> = rows
        .iter()
        .filter(|row| match row {
            Row::Label(_) => true,
            Row::Instruction { offset, .. } | Row::Relocation { offset, .. } => {
                *offset < code_len as u64
            }
        })
        .collect();
    let bytes_width = kept
        .iter()
        .filter_map(|row| match row {
            Row::Instruction { bytes, .. } => Some(bytes.len()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut lines: Vec<String> = kept
        .iter()
        .map(|row| match row {
            Row::Label(label) => label.clone(),
            Row::Instruction {
                offset,
                bytes,
                text,
            } => format!("{offset:>4x}: {bytes:<bytes_width$}  {text}")
                .trim_end()
                .to_string(),
            Row::Relocation { offset, text } => format!("{:>4}  {offset:04x}: {text}", ""),
        })
        .collect();
    // A label with nothing after it was cut off with the trailing jump.
    while lines.last().is_some_and(|l| l.ends_with(">:")) {
        lines.pop();
    }
    lines
}

enum Row {
    Label(String),
    Instruction {
        offset: u64,
        bytes: String,
        text: String,
    },
    Relocation {
        offset: u64,
        text: String,
    },
}

fn parse_row(line: &str) -> Option<Row> {
    let trimmed = line.trim();
    // `0000000000000000 <_JIT_ENTRY>:`
    if let Some((address, label)) = trimmed.split_once(' ') {
        if label.starts_with('<') && label.ends_with(">:") && is_hex(address) {
            return Some(Row::Label(label.to_string()));
        }
    }
    let (offset, rest) = trimmed.split_once(':')?;
    let offset = u64::from_str_radix(offset.trim(), 16).ok()?;
    // Relocations are indented with tabs and start with `R_`.
    if line.starts_with('\t') {
        let text = squeeze(rest);
        return Some(Row::Relocation { offset, text });
    }
    // `       0: 49 8b 75 f0      \tmovq\t-0x10(%r13), %rsi`
    let mut fields = rest.splitn(2, '\t');
    let bytes = squeeze(fields.next().unwrap_or(""));
    let text = fields.next().map(squeeze_instruction).unwrap_or_default();
    Some(Row::Instruction {
        offset,
        bytes,
        text,
    })
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Collapse runs of whitespace into one space.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `movq\t-0x10(%r13), %rsi` as `movq    -0x10(%r13), %rsi`.
fn squeeze_instruction(s: &str) -> String {
    let mut parts = s.trim().splitn(2, '\t');
    let mnemonic = parts.next().unwrap_or("").trim();
    let operands = parts.next().map(squeeze).unwrap_or_default();
    if operands.is_empty() {
        mnemonic.to_string()
    } else {
        format!("{mnemonic:<7} {operands}")
    }
}
