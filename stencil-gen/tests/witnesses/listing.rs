//! llvm-readobj's LLVM-style listing (what it prints for Mach-O and COFF,
//! which have no JSON output in LLVM 19): indented `Key: value` lines and
//! `Name {` / `Name [` blocks, read into a tree, then into a [`Report`].

use super::by_goblin::{paired_addend, sign_extend_24, unpaired_addend};
use super::report::{coff_role, mach_o_role, Format, Machine, Referent, Report, Section, Seen};

/// The listing of each file in the tool's output, by file name.
pub fn split_files(text: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("File: ") {
            files.push((name.trim().to_string(), String::new()));
        } else if let Some((_, listing)) = files.last_mut() {
            listing.push_str(line);
            listing.push('\n');
        }
    }
    files
}

/// One line or block of an LLVM-style listing: `head: value`, or
/// `head {` / `head [ (value)` with children.
#[derive(Debug, Default)]
pub struct Node {
    head: String,
    value: String,
    children: Vec<Node>,
}

impl Node {
    pub fn parse(text: &str) -> Node {
        let mut stack = vec![Node::default()];
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line == "}" || line == "]" {
                if stack.len() > 1 {
                    let done = stack.pop().unwrap_or_default();
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(done);
                    }
                }
            } else if let Some(head) = line.strip_suffix('{') {
                stack.push(Node {
                    head: head.trim().to_string(),
                    ..Node::default()
                });
            } else if let Some((head, value)) = list_opening(line) {
                stack.push(Node {
                    head,
                    value,
                    ..Node::default()
                });
            } else {
                let (head, value) = line.split_once(':').unwrap_or((line, ""));
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node {
                        head: head.trim().to_string(),
                        value: value.trim().to_string(),
                        children: Vec::new(),
                    });
                }
            }
        }
        while stack.len() > 1 {
            let done = stack.pop().unwrap_or_default();
            if let Some(parent) = stack.last_mut() {
                parent.children.push(done);
            }
        }
        stack.pop().unwrap_or_default()
    }

    fn child(&self, head: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.head == head)
    }

    fn children<'a>(&'a self, head: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.head == head)
    }

    fn get(&self, head: &str) -> Result<&str, String> {
        self.child(head)
            .map(|c| c.value.as_str())
            .ok_or_else(|| format!("llvm-readobj: `{}` has no `{head}`", self.head))
    }

    fn number(&self, head: &str) -> Result<i64, String> {
        parse_number(self.get(head)?)
    }
}

/// `Name [` or `Name [ (0x12)`: a list, with the value in parentheses.
fn list_opening(line: &str) -> Option<(String, String)> {
    let (head, rest) = line.split_once(" [")?;
    let rest = rest.trim();
    if rest.is_empty() || (rest.starts_with('(') && rest.ends_with(')')) {
        Some((head.trim().to_string(), rest.to_string()))
    } else {
        None
    }
}

fn parse_number(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    }
    .map_err(|e| format!("llvm-readobj: `{text}` is not a number: {e}"))?
        as i64;
    Ok(if negative { -magnitude } else { magnitude })
}

/// `name (detail)` to `name`.
fn name_part(value: &str) -> &str {
    match value.rfind(" (") {
        Some(at) if value.ends_with(')') => &value[..at],
        _ => value,
    }
}

/// `name (123)` to 123.
fn paren_number(value: &str) -> Result<i64, String> {
    let inner = value
        .rfind('(')
        .and_then(|at| value[at + 1..].strip_suffix(')'))
        .ok_or_else(|| format!("llvm-readobj: no number in `{value}`"))?;
    parse_number(inner)
}

fn machine_of(tree: &Node) -> Result<Machine, String> {
    match tree.get("Arch")? {
        "x86_64" => Ok(Machine::X86_64),
        "aarch64" => Ok(Machine::Aarch64),
        "i386" | "x86" => Ok(Machine::I386),
        other => Err(format!("llvm-readobj: arch {other}")),
    }
}

pub fn mach_o(tree: &Node) -> Result<Report, String> {
    let machine = machine_of(tree)?;
    let mut sections = Vec::new();
    let mut relocated = Vec::new();
    for node in tree
        .child("Sections")
        .map(|s| s.children("Section"))
        .into_iter()
        .flatten()
    {
        let index = node.number("Index")? as usize + 1;
        let name = name_part(node.get("Name")?).to_string();
        let segment = name_part(node.get("Segment")?).to_string();
        let attributes = node
            .child("Attributes")
            .map_or(Ok(0), |a| paren_number(&a.value))?;
        let section_type = paren_number(node.get("Type")?)?;
        // The listing shows the attribute bits shifted down by 8.
        let flags = ((attributes << 8) | section_type) as u32;
        if node.number("RelocationCount")? > 0 {
            relocated.push(index);
        }
        sections.push(Section {
            index,
            role: mach_o_role(&segment, &name, flags),
            name,
            size: node.number("Size")? as u64,
            segment,
            address: node.number("Address")? as u64,
            bytes: Vec::new(),
        });
    }
    let mut symbols = Vec::new();
    for node in tree
        .child("Symbols")
        .map(|s| s.children("Symbol"))
        .into_iter()
        .flatten()
    {
        let name = name_part(node.get("Name")?).to_string();
        let value = node.number("Value")? as u64;
        let referent = match paren_number(node.get("Type")?)? {
            0x0 if value == 0 => Referent::External(name.clone()),
            0x0 => Referent::Common(name.clone()),
            0x2 => Referent::Absolute(value),
            0xe => {
                let ordinal = paren_number(node.get("Section")?)? as usize;
                let address = sections
                    .iter()
                    .find(|s| s.index == ordinal)
                    .map_or(0, |s| s.address);
                Referent::Defined {
                    section: ordinal,
                    offset: value.wrapping_sub(address),
                }
            }
            _ => Referent::External(name.clone()),
        };
        symbols.push((name, referent));
    }
    let mut relocations = Vec::new();
    let blocks = tree
        .child("Relocations")
        .map(|r| r.children.as_slice())
        .unwrap_or_default();
    if blocks.len() != relocated.len() {
        return Err(format!(
            "llvm-readobj: {} relocation blocks for {} sections with relocations",
            blocks.len(),
            relocated.len()
        ));
    }
    for (block, &section) in blocks.iter().zip(&relocated) {
        let block_name = block.head.strip_prefix("Section ").unwrap_or_default();
        if sections
            .iter()
            .find(|s| s.index == section)
            .map(|s| s.name.as_str())
            != Some(block_name)
        {
            return Err(format!(
                "llvm-readobj: relocation block `{}` out of order",
                block.head
            ));
        }
        let mut pending_addend = None;
        for node in block.children("Relocation") {
            let offset = node.number("Offset")? as u64;
            let type_text = node.get("Type")?;
            let type_name = name_part(type_text).to_string();
            let pcrel = node.number("PCRel")? != 0;
            let length = node.number("Length")? as u8;
            let (symbol, referent) = match (node.child("Symbol"), node.child("Section")) {
                (Some(symbol), _) => {
                    let index = paren_number(&symbol.value)? as usize;
                    let (name, referent) = symbols
                        .get(index)
                        .cloned()
                        .ok_or_else(|| format!("llvm-readobj: no symbol {index}"))?;
                    (name, referent)
                }
                (None, Some(section)) => {
                    let ordinal = paren_number(&section.value)? as usize;
                    (
                        name_part(&section.value).to_string(),
                        Referent::SectionOrdinal(ordinal),
                    )
                }
                (None, None) => return Err("llvm-readobj: relocation without a referent".into()),
            };
            if type_name == "ARM64_RELOC_ADDEND" {
                let Referent::SectionOrdinal(raw) = referent else {
                    return Err("llvm-readobj: ARM64_RELOC_ADDEND names a symbol".into());
                };
                pending_addend = Some((offset, sign_extend_24(raw)));
                continue;
            }
            let addend = paired_addend(&mut pending_addend, section, offset, &mut relocations);
            relocations.push(Seen {
                section,
                offset,
                type_name,
                symbol,
                referent,
                addend,
                mach: Some((pcrel, length)),
            });
        }
        if let Some((at, addend)) = pending_addend {
            relocations.push(unpaired_addend(section, at, addend));
        }
    }
    Ok(Report {
        format: Format::MachO,
        machine,
        sections,
        relocations,
    })
}

pub fn coff(tree: &Node) -> Result<Report, String> {
    let machine = machine_of(tree)?;
    let mut sections = Vec::new();
    for node in tree
        .child("Sections")
        .map(|s| s.children("Section"))
        .into_iter()
        .flatten()
    {
        let name = name_part(node.get("Name")?).to_string();
        let characteristics = node
            .child("Characteristics")
            .map_or(Ok(0), |c| paren_number(&c.value))? as u32;
        sections.push(Section {
            index: node.number("Number")? as usize,
            role: coff_role(&name, characteristics),
            name,
            size: node.number("RawDataSize")? as u64,
            segment: String::new(),
            address: 0,
            bytes: Vec::new(),
        });
    }
    // Symbol indices count auxiliary records too.
    let mut symbols = Vec::new();
    let mut next_index = 0;
    for node in tree
        .child("Symbols")
        .map(|s| s.children("Symbol"))
        .into_iter()
        .flatten()
    {
        let name = node.get("Name")?.to_string();
        let value = node.number("Value")? as u64;
        let storage_class = paren_number(node.get("StorageClass")?)?;
        let referent = match paren_number(node.get("Section")?)? {
            0 if value != 0 && storage_class == 2 => Referent::Common(name.clone()),
            0 => Referent::External(name.clone()),
            number if number > 0 => Referent::Defined {
                section: number as usize,
                offset: value,
            },
            _ => Referent::Absolute(value),
        };
        symbols.push((next_index, referent));
        next_index += 1 + node.number("AuxSymbolCount")? as usize;
    }
    let mut relocations = Vec::new();
    for block in tree
        .child("Relocations")
        .map(|r| r.children.as_slice())
        .unwrap_or_default()
    {
        // `Section (1) .text`
        let section = block
            .head
            .strip_prefix("Section (")
            .and_then(|rest| rest.split_once(')'))
            .map(|(number, _)| parse_number(number))
            .ok_or_else(|| format!("llvm-readobj: relocation block `{}`", block.head))??
            as usize;
        for node in block.children("Relocation") {
            let index = node.number("SymbolIndex")? as usize;
            let referent = symbols
                .iter()
                .find(|(at, _)| *at == index)
                .map(|(_, referent)| referent.clone())
                .ok_or_else(|| format!("llvm-readobj: no symbol {index}"))?;
            relocations.push(Seen {
                section,
                offset: node.number("Offset")? as u64,
                type_name: name_part(node.get("Type")?).to_string(),
                symbol: node.get("Symbol")?.to_string(),
                referent,
                addend: None,
                mach: None,
            });
        }
    }
    Ok(Report {
        format: Format::Coff,
        machine,
        sections,
        relocations,
    })
}
