//! What a file is, from its header alone: its format and instruction set,
//! so that an object built for another target is named as such before any
//! of its sections or relocations is read.

use std::fmt;

use object::elf::{EM_386, EM_AARCH64, EM_ARM, EM_RISCV, EM_X86_64};
use object::macho::{
    CPU_TYPE_ARM, CPU_TYPE_ARM64, CPU_TYPE_ARM64_32, CPU_TYPE_X86, CPU_TYPE_X86_64,
};
use object::pe::{
    ANON_OBJECT_HEADER_BIGOBJ_CLASS_ID, IMAGE_FILE_MACHINE_AMD64, IMAGE_FILE_MACHINE_ARM64,
    IMAGE_FILE_MACHINE_ARM64EC, IMAGE_FILE_MACHINE_ARMNT, IMAGE_FILE_MACHINE_I386,
};
use runtime::Arch;

use super::ObjError;
use crate::target::{Format, Target};

/// The format and instruction set a file's header declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The object format, when the file is a relocatable object of one
    /// this reader knows.
    pub format: Option<Format>,
    /// `ELF`, `Mach-O`, `COFF`, or what else the file is (`a static
    /// archive`, `a PE image`).
    pub format_name: &'static str,
    /// The instruction set, when it is one a target uses and the file is
    /// little-endian with the word size that instruction set needs.
    pub arch: Option<Arch>,
    /// The instruction set as the header names it (`x86-64`, `AArch64
    /// big-endian`, `ELF machine 0x28`); `None` for files that are no
    /// object of one instruction set.
    pub arch_name: Option<String>,
}

impl Identity {
    /// Whether this is an object of `target`'s format and instruction set.
    pub fn fits(&self, target: &Target) -> bool {
        self.format == Some(target.format) && self.arch == Some(target.arch)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arch_name {
            Some(arch) => write!(f, "{}/{arch}", self.format_name),
            None => f.write_str(self.format_name),
        }
    }
}

/// How messages name a format.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Elf => "ELF",
        Format::MachO => "Mach-O",
        Format::Coff => "COFF",
    }
}

/// How messages name an instruction set.
pub fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86-64",
        Arch::Aarch64 => "AArch64",
        Arch::I686 => "i686",
        Arch::Riscv64 => "RISC-V 64",
    }
}

/// `FORMAT/ARCH` of what `target` needs, e.g. `Mach-O/AArch64`.
pub fn target_identity(target: &Target) -> String {
    format!("{}/{}", format_name(target.format), arch_name(target.arch))
}

/// Identify `bytes` from their header.
pub fn identify(bytes: &[u8]) -> Result<Identity, ObjError> {
    if bytes.len() < 4 {
        return Err(ObjError::Parse(format!(
            "the file is {} bytes, too short for any object file header",
            bytes.len()
        )));
    }
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x7fELF") {
        elf(bytes)
    } else if let Some(big) = macho_magic(bytes) {
        macho(bytes, big)
    } else if starts(b"!<arch>\n") || starts(b"!<thin>\n") {
        Ok(other("a static archive"))
    } else if starts(&[0xca, 0xfe, 0xba, 0xbe]) || starts(&[0xca, 0xfe, 0xba, 0xbf]) {
        Ok(other("a universal (fat) Mach-O file"))
    } else if starts(b"MZ") {
        Ok(other("a PE image (an executable or DLL)"))
    } else if starts(b"\0asm") {
        Ok(other("a WebAssembly module"))
    } else if starts(&[0x00, 0x00, 0xff, 0xff]) {
        coff_anonymous(bytes)
    } else if let Some(arch) = coff_machine(u16_at(bytes, 0).unwrap_or(0)) {
        coff(bytes, arch)
    } else {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Err(ObjError::Parse(format!(
            "its first bytes ({}) start no ELF, Mach-O or COFF header",
            head.join(" ")
        )))
    }
}

fn other(format_name: &'static str) -> Identity {
    Identity {
        format: None,
        format_name,
        arch: None,
        arch_name: None,
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// The whole header must be there before any field of it is believed.
fn require(bytes: &[u8], what: &str, size: u64) -> Result<(), ObjError> {
    let len = bytes.len() as u64;
    if len < size {
        return Err(ObjError::Truncated {
            what: what.to_string(),
            start: 0,
            end: size,
            file_size: len,
        });
    }
    Ok(())
}

fn elf(bytes: &[u8]) -> Result<Identity, ObjError> {
    require(bytes, "the ELF identification", 16)?;
    let wide = match bytes[4] {
        1 => false,
        2 => true,
        class => {
            return Err(ObjError::Malformed {
                what: "the ELF identification".to_string(),
                problem: format!("its class is {class}, neither 32- nor 64-bit"),
            })
        }
    };
    let big = match bytes[5] {
        1 => false,
        2 => true,
        data => {
            return Err(ObjError::Malformed {
                what: "the ELF identification".to_string(),
                problem: format!("its data encoding is {data}, neither little- nor big-endian"),
            })
        }
    };
    require(bytes, "the ELF file header", if wide { 64 } else { 52 })?;
    let raw = [bytes[18], bytes[19]];
    let machine = if big {
        u16::from_be_bytes(raw)
    } else {
        u16::from_le_bytes(raw)
    };
    let (arch, name) = match (machine, wide) {
        (EM_X86_64, true) => (Some(Arch::X86_64), "x86-64"),
        (EM_X86_64, false) => (None, "x86-64 (x32)"),
        (EM_AARCH64, true) => (Some(Arch::Aarch64), "AArch64"),
        (EM_AARCH64, false) => (None, "AArch64 (ILP32)"),
        (EM_RISCV, true) => (Some(Arch::Riscv64), "RISC-V 64"),
        (EM_RISCV, false) => (None, "RISC-V 32"),
        (EM_386, false) => (Some(Arch::I686), "i686"),
        (EM_ARM, false) => (None, "ARM"),
        _ => {
            return Ok(with_machine(
                "ELF",
                Format::Elf,
                "ELF machine",
                machine,
                big,
            ))
        }
    };
    Ok(known("ELF", Format::Elf, arch, name, big))
}

/// An identity whose instruction set is a target's unless the file is
/// big-endian.
fn known(
    format_name: &'static str,
    format: Format,
    arch: Option<Arch>,
    name: &str,
    big: bool,
) -> Identity {
    Identity {
        format: Some(format),
        format_name,
        arch: if big { None } else { arch },
        arch_name: Some(if big {
            format!("{name} big-endian")
        } else {
            name.to_string()
        }),
    }
}

/// An identity of an instruction set no target uses, by its number.
fn with_machine(
    format_name: &'static str,
    format: Format,
    label: &str,
    machine: impl fmt::LowerHex,
    big: bool,
) -> Identity {
    known(
        format_name,
        format,
        None,
        &format!("{label} {machine:#x}"),
        big,
    )
}

/// Whether a Mach-O header is big-endian, if `bytes` start with one: the
/// magic says the width and byte order.
fn macho_magic(bytes: &[u8]) -> Option<(bool, bool)> {
    match bytes.get(..4)? {
        [0xfe, 0xed, 0xfa, 0xce] => Some((false, true)),
        [0xce, 0xfa, 0xed, 0xfe] => Some((false, false)),
        [0xfe, 0xed, 0xfa, 0xcf] => Some((true, true)),
        [0xcf, 0xfa, 0xed, 0xfe] => Some((true, false)),
        _ => None,
    }
}

fn macho(bytes: &[u8], (wide, big): (bool, bool)) -> Result<Identity, ObjError> {
    require(bytes, "the Mach-O header", if wide { 32 } else { 28 })?;
    let raw: [u8; 4] = bytes[4..8].try_into().unwrap_or_default();
    let cputype = if big {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    };
    let (arch, name) = match (cputype, wide) {
        (CPU_TYPE_X86_64, true) => (Some(Arch::X86_64), "x86-64"),
        (CPU_TYPE_ARM64, true) => (Some(Arch::Aarch64), "AArch64"),
        (CPU_TYPE_ARM64_32, false) => (None, "arm64_32"),
        (CPU_TYPE_X86, false) => (None, "i386"),
        (CPU_TYPE_ARM, false) => (None, "ARM"),
        _ => {
            let label = if wide { "cpu type" } else { "32-bit cpu type" };
            return Ok(with_machine("Mach-O", Format::MachO, label, cputype, big));
        }
    };
    Ok(known("Mach-O", Format::MachO, arch, name, big))
}

/// The instruction set of a COFF machine number, when it is one COFF
/// objects are read for; its name otherwise.
fn coff_machine(machine: u16) -> Option<(Option<Arch>, &'static str)> {
    Some(match machine {
        IMAGE_FILE_MACHINE_AMD64 => (Some(Arch::X86_64), "x86-64"),
        IMAGE_FILE_MACHINE_ARM64 => (Some(Arch::Aarch64), "AArch64"),
        IMAGE_FILE_MACHINE_I386 => (Some(Arch::I686), "i686"),
        IMAGE_FILE_MACHINE_ARM64EC => (None, "ARM64EC"),
        IMAGE_FILE_MACHINE_ARMNT => (None, "ARM"),
        _ => return None,
    })
}

fn coff(bytes: &[u8], (arch, name): (Option<Arch>, &'static str)) -> Result<Identity, ObjError> {
    require(bytes, "the COFF file header", 20)?;
    Ok(known("COFF", Format::Coff, arch, name, false))
}

/// A COFF file starting with an anonymous header: a big object (`/bigobj`)
/// or a short import entry.
fn coff_anonymous(bytes: &[u8]) -> Result<Identity, ObjError> {
    require(bytes, "the COFF anonymous header", 6)?;
    if u16_at(bytes, 4) != Some(2) {
        return Ok(other("a COFF import library entry"));
    }
    require(bytes, "the COFF big object header", 56)?;
    if bytes[12..28] != ANON_OBJECT_HEADER_BIGOBJ_CLASS_ID.0 {
        return Err(ObjError::Malformed {
            what: "the COFF anonymous header".to_string(),
            problem: "its class id is not that of a big object".to_string(),
        });
    }
    let machine = u16_at(bytes, 6).unwrap_or(0);
    Ok(match coff_machine(machine) {
        Some((arch, name)) => known("COFF", Format::Coff, arch, name, false),
        None => with_machine("COFF", Format::Coff, "COFF machine", machine, false),
    })
}
