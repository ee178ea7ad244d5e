//! COFF relocation type names, from the PE/COFF specification (goblin
//! has numbers only, and not all of them).

use super::report::Machine;

pub fn coff(machine: Machine, r_type: u16) -> String {
    let name = match machine {
        Machine::X86_64 => match r_type {
            0x0 => "IMAGE_REL_AMD64_ABSOLUTE",
            0x1 => "IMAGE_REL_AMD64_ADDR64",
            0x2 => "IMAGE_REL_AMD64_ADDR32",
            0x3 => "IMAGE_REL_AMD64_ADDR32NB",
            0x4 => "IMAGE_REL_AMD64_REL32",
            0x5 => "IMAGE_REL_AMD64_REL32_1",
            0x6 => "IMAGE_REL_AMD64_REL32_2",
            0x7 => "IMAGE_REL_AMD64_REL32_3",
            0x8 => "IMAGE_REL_AMD64_REL32_4",
            0x9 => "IMAGE_REL_AMD64_REL32_5",
            0xa => "IMAGE_REL_AMD64_SECTION",
            0xb => "IMAGE_REL_AMD64_SECREL",
            0xc => "IMAGE_REL_AMD64_SECREL7",
            0xd => "IMAGE_REL_AMD64_TOKEN",
            0xe => "IMAGE_REL_AMD64_SREL32",
            0xf => "IMAGE_REL_AMD64_PAIR",
            0x10 => "IMAGE_REL_AMD64_SSPAN32",
            _ => "",
        },
        Machine::Aarch64 => match r_type {
            0x0 => "IMAGE_REL_ARM64_ABSOLUTE",
            0x1 => "IMAGE_REL_ARM64_ADDR32",
            0x2 => "IMAGE_REL_ARM64_ADDR32NB",
            0x3 => "IMAGE_REL_ARM64_BRANCH26",
            0x4 => "IMAGE_REL_ARM64_PAGEBASE_REL21",
            0x5 => "IMAGE_REL_ARM64_REL21",
            0x6 => "IMAGE_REL_ARM64_PAGEOFFSET_12A",
            0x7 => "IMAGE_REL_ARM64_PAGEOFFSET_12L",
            0x8 => "IMAGE_REL_ARM64_SECREL",
            0x9 => "IMAGE_REL_ARM64_SECREL_LOW12A",
            0xa => "IMAGE_REL_ARM64_SECREL_HIGH12A",
            0xb => "IMAGE_REL_ARM64_SECREL_LOW12L",
            0xc => "IMAGE_REL_ARM64_TOKEN",
            0xd => "IMAGE_REL_ARM64_SECTION",
            0xe => "IMAGE_REL_ARM64_ADDR64",
            0xf => "IMAGE_REL_ARM64_BRANCH19",
            0x10 => "IMAGE_REL_ARM64_BRANCH14",
            0x11 => "IMAGE_REL_ARM64_REL32",
            _ => "",
        },
        Machine::I386 => match r_type {
            0x0 => "IMAGE_REL_I386_ABSOLUTE",
            0x1 => "IMAGE_REL_I386_DIR16",
            0x2 => "IMAGE_REL_I386_REL16",
            0x6 => "IMAGE_REL_I386_DIR32",
            0x7 => "IMAGE_REL_I386_DIR32NB",
            0x9 => "IMAGE_REL_I386_SEG12",
            0xa => "IMAGE_REL_I386_SECTION",
            0xb => "IMAGE_REL_I386_SECREL",
            0xc => "IMAGE_REL_I386_TOKEN",
            0xd => "IMAGE_REL_I386_SECREL7",
            0x14 => "IMAGE_REL_I386_REL32",
            _ => "",
        },
        Machine::Riscv64 => "",
    };
    if name.is_empty() {
        format!("<unknown COFF relocation {r_type:#x}>")
    } else {
        name.to_string()
    }
}
