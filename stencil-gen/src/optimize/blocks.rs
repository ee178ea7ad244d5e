//! A stencil's assembly as basic blocks: parsed from clang's `-S` output
//! and written back. Anything not understood makes [`parse`] give `None`,
//! and the stencil's assembly is then left as it is.

use super::isa::Isa;

/// One line of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A comment, directive or instruction that does not change control
    /// flow; kept as written.
    Line(String),
    /// A conditional branch: `mnemonic operands target`, where `operands`
    /// is everything before the target (`x8, ` for `cbz x8, .L1`).
    Branch {
        mnemonic: String,
        operands: String,
        target: String,
    },
    /// An unconditional direct jump.
    Jump { target: String },
    /// An instruction control never falls through (`ret`, indirect jump).
    Stop(String),
}

/// Labels, then items; only the last item may change control flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Block {
    pub labels: Vec<String>,
    pub items: Vec<Item>,
}

impl Block {
    /// Whether control may run off the end of the block into the next.
    pub fn falls_through(&self) -> bool {
        !matches!(self.last(), Some(Item::Jump { .. } | Item::Stop(_)))
    }

    /// The index of the last instruction (comments after it aside).
    pub fn last_index(&self) -> Option<usize> {
        self.items
            .iter()
            .rposition(|i| !matches!(i, Item::Line(l) if !is_instruction_text(l)))
    }

    /// The last instruction.
    pub fn last(&self) -> Option<&Item> {
        self.last_index().map(|i| &self.items[i])
    }

    /// Whether the block holds no instruction (comments and labels only).
    pub fn is_empty(&self) -> bool {
        self.items
            .iter()
            .all(|i| matches!(i, Item::Line(l) if !is_instruction_text(l)))
    }

    /// The target of the branch or jump that ends the block.
    pub fn target(&self) -> Option<&str> {
        match self.last() {
            Some(Item::Branch { target, .. } | Item::Jump { target }) => Some(target),
            _ => None,
        }
    }
}

/// A parsed stencil: the lines before its function, its blocks, the lines
/// after.
#[derive(Clone, Debug)]
pub struct Function {
    pub head: Vec<String>,
    pub blocks: Vec<Block>,
    pub tail: Vec<String>,
}

/// How labels and symbols are spelled for one target.
pub struct Syntax<'a> {
    pub isa: &'a Isa,
    /// The prefix of assembler-local labels (`.L`, or `L` on Mach-O and
    /// 32-bit x86 COFF).
    pub local_prefix: &'a str,
    /// The entry symbol as written (`_JIT_ENTRY`, `__JIT_ENTRY`).
    pub entry: &'a str,
}

/// Lines that are part of a function's body but not instructions: comments
/// only (a marker of the ISA), or empty.
pub fn is_instruction_text(line: &str) -> bool {
    let t = line.trim();
    !(t.is_empty()
        || t.starts_with('.')
        || t.starts_with('#')
        || t.starts_with("//")
        || t.starts_with(';'))
}

/// The label a line defines, if it is a label line.
fn label_of(line: &str) -> Option<&str> {
    let t = line.trim_end();
    let t = strip_comment_any(t).trim();
    let name = t.strip_suffix(':')?;
    (!name.is_empty() && name.chars().all(is_label_char)).then_some(name)
}

pub fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$' | '@')
}

fn strip_comment_any(line: &str) -> &str {
    // Label lines carry `# @_JIT_ENTRY`-style comments after the colon.
    match line.find(':') {
        Some(colon) => &line[..=colon],
        None => line,
    }
}

fn strip_comment<'l>(isa: &Isa, line: &'l str) -> &'l str {
    let end = isa
        .comments
        .iter()
        .filter_map(|c| line.find(c))
        .min()
        .unwrap_or(line.len());
    &line[..end]
}

/// Whether `operand` is a plain symbol or label, maybe with `@PLT`.
fn is_simple_target(operand: &str) -> bool {
    !operand.is_empty() && operand.chars().all(is_label_char)
}

/// One instruction line as an item; `None` if it is control flow the
/// optimizer does not model.
fn parse_instruction(isa: &Isa, line: &str) -> Option<Item> {
    let code = strip_comment(isa, line).trim();
    let (mnemonic, operands) = match code.split_once(char::is_whitespace) {
        Some((m, o)) => (m, o.trim()),
        None => (code, ""),
    };
    if isa.inverse(mnemonic).is_some() {
        let (before, target) = match operands.rfind(',') {
            Some(comma) => (&operands[..=comma], operands[comma + 1..].trim()),
            None => ("", operands),
        };
        if !is_simple_target(target) {
            return None;
        }
        let operands = if before.is_empty() {
            String::new()
        } else {
            format!("{before} ")
        };
        return Some(Item::Branch {
            mnemonic: mnemonic.to_string(),
            operands,
            target: target.to_string(),
        });
    }
    if isa.jumps.contains(&mnemonic) && is_simple_target(operands) {
        return Some(Item::Jump {
            target: operands.to_string(),
        });
    }
    if isa.terminators.contains(&mnemonic) {
        return Some(Item::Stop(line.to_string()));
    }
    let spelled = format!("{mnemonic} {operands}");
    if isa.unknown_control.iter().any(|p| spelled.starts_with(p)) {
        return None;
    }
    Some(Item::Line(line.to_string()))
}

/// Directives allowed inside a function's body: they move with their
/// block without changing its meaning.
const BODY_DIRECTIVES: &[&str] = &[".p2align", ".align", ".balign"];

/// The stencil's function as blocks; `None` if the assembly holds anything
/// the optimizer cannot reason about (more than one function, data or
/// unknown directives in the code, unmodelled control flow).
pub fn parse(syntax: &Syntax<'_>, text: &str) -> Option<Function> {
    let lines: Vec<&str> = text.lines().collect();
    let begins = lines
        .iter()
        .filter(|l| l.contains("-- Begin function"))
        .count();
    if begins != 1 {
        return None;
    }
    let start = lines
        .iter()
        .position(|l| label_of(l) == Some(syntax.entry))?;
    let mut end = start + 1;
    while end < lines.len() {
        let line = lines[end];
        let t = line.trim();
        if let Some(label) = label_of(line) {
            if !label.starts_with(syntax.local_prefix) || label.contains("func_end") {
                break;
            }
        } else if t.contains("-- End function")
            || (t.starts_with('.') && !BODY_DIRECTIVES.iter().any(|d| t.starts_with(d)))
        {
            break;
        }
        end += 1;
    }
    // Code after the function would sit between it and the continuation.
    if lines[end..].iter().any(|l| {
        let t = l.trim();
        is_instruction_text(l) && label_of(l).is_none() && !t.starts_with('@')
    }) {
        return None;
    }
    let mut blocks = vec![Block::default()];
    for line in &lines[start..end] {
        if let Some(label) = label_of(line) {
            let current = blocks.last_mut()?;
            if current.items.is_empty() {
                current.labels.push(label.to_string());
            } else {
                blocks.push(Block {
                    labels: vec![label.to_string()],
                    items: Vec::new(),
                });
            }
            continue;
        }
        let item = if is_instruction_text(line) {
            parse_instruction(syntax.isa, line)?
        } else {
            Item::Line(line.to_string())
        };
        let current = blocks.last_mut()?;
        let ends = !current.falls_through() || matches!(current.last(), Some(Item::Branch { .. }));
        if ends && is_instruction_text(line) {
            blocks.push(Block {
                labels: Vec::new(),
                items: vec![item],
            });
        } else {
            current.items.push(item);
        }
    }
    let function = Function {
        head: lines[..start].iter().map(|l| l.to_string()).collect(),
        blocks,
        tail: lines[end..].iter().map(|l| l.to_string()).collect(),
    };
    targets_defined(syntax, &function).then_some(function)
}

/// Whether every local branch target is a label of the body. Labels used
/// otherwise (`%pcrel_lo`, Mach-O `.loh`) are fine: blocks move with their
/// labels and no labelled block is ever removed.
fn targets_defined(syntax: &Syntax<'_>, function: &Function) -> bool {
    let defined: Vec<&str> = function
        .blocks
        .iter()
        .flat_map(|b| b.labels.iter().map(String::as_str))
        .collect();
    function.blocks.iter().all(|block| match block.target() {
        Some(target) if target.starts_with(syntax.local_prefix) => defined.contains(&target),
        _ => true,
    })
}

/// The assembly of `function`, mnemonics spelled with `isa`.
pub fn render(isa: &Isa, local_prefix: &str, function: &Function) -> String {
    let mut out: Vec<String> = function.head.clone();
    for block in &function.blocks {
        for label in &block.labels {
            out.push(format!("{label}:"));
        }
        for item in &block.items {
            match item {
                Item::Line(line) | Item::Stop(line) => out.push(line.clone()),
                Item::Branch {
                    mnemonic,
                    operands,
                    target,
                } => out.push(format!("\t{mnemonic}\t{operands}{target}")),
                Item::Jump { target } => {
                    let mnemonic = if target.starts_with(local_prefix) {
                        isa.local_jump
                    } else {
                        isa.far_jump
                    };
                    out.push(format!("\t{mnemonic}\t{target}"));
                }
            }
        }
    }
    out.extend(function.tail.iter().cloned());
    let mut text = out.join("\n");
    text.push('\n');
    text
}
