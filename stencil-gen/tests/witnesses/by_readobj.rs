//! Witness (b): the object file as `llvm-readobj` prints it.
//!
//! ELF is read from its JSON output (`--elf-output-style=JSON`). LLVM 19
//! has no JSON output for Mach-O and COFF, so for them the default LLVM
//! style (an indented `Key: value` / `Name { ... }` listing) is parsed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use super::listing::{self, Node};
use super::report::{elf_role, format_of, Format, Machine, Referent, Report, Section, Seen};

const READOBJ_ARGS: [&str; 4] = [
    "--sections",
    "--symbols",
    "--relocations",
    "--expand-relocs",
];

/// llvm-readobj of the toolchain's LLVM.
pub struct Readobj {
    pub path: PathBuf,
}

impl Readobj {
    /// llvm-readobj beside the toolchain's llvm-readelf (same directory,
    /// same version suffix).
    pub fn beside(readelf: &Path) -> Readobj {
        let name = readelf
            .file_name()
            .map(|n| n.to_string_lossy().replace("llvm-readelf", "llvm-readobj"))
            .unwrap_or_else(|| "llvm-readobj".to_string());
        Readobj {
            path: readelf.with_file_name(name),
        }
    }

    /// Read every object (named for messages) with one run of the tool.
    pub fn read_all(&self, objects: &[(String, Vec<u8>)]) -> Vec<Result<Report, String>> {
        match self.try_read_all(objects) {
            Ok(reports) => reports,
            Err(error) => objects.iter().map(|_| Err(error.clone())).collect(),
        }
    }

    fn try_read_all(
        &self,
        objects: &[(String, Vec<u8>)],
    ) -> Result<Vec<Result<Report, String>>, String> {
        let Some((_, first)) = objects.first() else {
            return Ok(Vec::new());
        };
        let format = format_of(first)?;
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let mut files = Vec::new();
        for (position, (_, bytes)) in objects.iter().enumerate() {
            let file = format!("{position}.o");
            std::fs::write(dir.path().join(&file), bytes)
                .map_err(|e| format!("write {file}: {e}"))?;
            files.push(file);
        }
        let mut command = Command::new(&self.path);
        command.current_dir(dir.path());
        if format == Format::Elf {
            command.arg("--elf-output-style=JSON");
        }
        command.args(READOBJ_ARGS).args(&files);
        let output = command
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.path.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} failed: {}",
                self.path.display(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let mut reports: Vec<Result<Report, String>> = files
            .iter()
            .map(|f| Err(format!("llvm-readobj printed nothing for {f}")))
            .collect();
        match format {
            Format::Elf => {
                let json: Json =
                    serde_json::from_str(&text).map_err(|e| format!("llvm-readobj JSON: {e}"))?;
                for entry in json.as_array().ok_or("llvm-readobj JSON is not an array")? {
                    let file = entry["FileSummary"]["File"].as_str().unwrap_or_default();
                    if let Some(position) = files.iter().position(|f| f == file) {
                        reports[position] = elf(entry);
                    }
                }
            }
            Format::MachO | Format::Coff => {
                for (file, text) in listing::split_files(&text) {
                    if let Some(position) = files.iter().position(|f| *f == file) {
                        let tree = Node::parse(&text);
                        reports[position] = match format {
                            Format::MachO => listing::mach_o(&tree),
                            _ => listing::coff(&tree),
                        };
                    }
                }
            }
        }
        Ok(reports)
    }
}

fn number(json: &Json, what: &str) -> Result<u64, String> {
    json.as_u64()
        .ok_or_else(|| format!("llvm-readobj JSON: {what} is not a number: {json}"))
}

fn elf(entry: &Json) -> Result<Report, String> {
    let machine = match entry["FileSummary"]["Arch"].as_str() {
        Some("x86_64") => Machine::X86_64,
        Some("aarch64") => Machine::Aarch64,
        Some("riscv64") => Machine::Riscv64,
        other => return Err(format!("llvm-readobj: ELF arch {other:?}")),
    };
    let mut sections = Vec::new();
    let mut targets = Vec::new();
    for item in entry["Sections"]
        .as_array()
        .ok_or("llvm-readobj JSON: no Sections")?
    {
        let section = &item["Section"];
        let name = section["Name"]["Name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let sh_type = number(&section["Type"]["Value"], "section type")? as u32;
        let flags = number(&section["Flags"]["Value"], "section flags")?;
        let index = number(&section["Index"], "section index")? as usize;
        targets.push((index, number(&section["Info"], "section info")? as usize));
        sections.push(Section {
            index,
            role: elf_role(&name, sh_type, flags),
            name,
            size: number(&section["Size"], "section size")?,
            segment: String::new(),
            address: 0,
            bytes: Vec::new(),
        });
    }
    let symbols = entry["Symbols"]
        .as_array()
        .ok_or("llvm-readobj JSON: no Symbols")?;
    let mut relocations = Vec::new();
    for table in entry["Relocations"]
        .as_array()
        .ok_or("llvm-readobj JSON: no Relocations")?
    {
        let table_index = number(&table["SectionIndex"], "relocation section")? as usize;
        let section = targets
            .iter()
            .find(|(index, _)| *index == table_index)
            .map(|(_, info)| *info)
            .ok_or_else(|| format!("llvm-readobj JSON: no section {table_index}"))?;
        for item in table["Relocs"]
            .as_array()
            .ok_or("llvm-readobj JSON: no Relocs")?
        {
            let relocation = &item["Relocation"];
            let symbol_index = number(&relocation["Symbol"]["Value"], "symbol index")? as usize;
            let symbol_name = relocation["Symbol"]["Name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let symbol = &symbols
                .get(symbol_index)
                .ok_or_else(|| format!("llvm-readobj JSON: no symbol {symbol_index}"))?["Symbol"];
            let value = number(&symbol["Value"], "symbol value")?;
            let referent = match number(&symbol["Section"]["Value"], "symbol section")? {
                _ if symbol_index == 0 => Referent::Absolute(0),
                0 => Referent::External(symbol_name.clone()),
                0xfff1 => Referent::Absolute(value),
                0xfff2 => Referent::Common(symbol_name.clone()),
                index => Referent::Defined {
                    section: index as usize,
                    offset: value,
                },
            };
            relocations.push(Seen {
                section,
                offset: number(&relocation["Offset"], "relocation offset")?,
                type_name: relocation["Type"]["Name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                symbol: symbol_name,
                referent,
                addend: relocation
                    .get("Addend")
                    .map(|a| a.as_u64().unwrap_or(0) as i64),
                mach: None,
            });
        }
    }
    Ok(Report {
        format: Format::Elf,
        machine,
        sections,
        relocations,
    })
}
