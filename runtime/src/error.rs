//! Errors of laying out and emitting a trace.

use core::fmt;

use crate::hole::{HoleKind, HoleValue};
use crate::patch::PatchError;

/// Part of a stencil a hole is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Code,
    Data,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::Code => "code",
            Section::Data => "data",
        })
    }
}

/// Which hole of which op an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoleSite {
    /// Index of the op in the trace; `None` for the shim.
    pub op: Option<usize>,
    /// Name of the uop (`shim` for the shim).
    pub uop: &'static str,
    pub section: Section,
    /// Offset of the hole in the stencil's code or data.
    pub offset: u32,
    pub kind: HoleKind,
}

impl fmt::Display for HoleSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Some(op) => write!(f, "op {op} ({})", self.uop)?,
            None => f.write_str("shim")?,
        }
        write!(
            f,
            ", {:?} {} hole at +{:#x}",
            self.kind, self.section, self.offset
        )
    }
}

/// Why a trace could not be laid out or emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// An op's uop id is not in the stencil table.
    UnknownUop { op: usize, uop: u16 },
    /// The op's variant is not one of its uop's (`0..=cache`).
    UnknownVariant {
        op: usize,
        uop: u16,
        variant: u8,
        cache: u8,
    },
    /// An alignment in the stencil table (or the requested data alignment)
    /// is not a power of two.
    BadAlignment {
        op: Option<usize>,
        uop: &'static str,
        section: Section,
        align: u64,
    },
    /// The trace would be 4 GiB or more.
    TooLarge,
    /// The buffer is shorter than the layout.
    BufferTooSmall { needed: usize, len: usize },
    /// The base address is not aligned as the layout requires.
    MisalignedBase { base: u64, align: usize },
    /// The trace would run past the last address of the 64-bit address
    /// space: `base + len` overflows.
    AddressOverflow { base: u64, len: usize },
    /// The layout was not computed for these ops and this table.
    LayoutMismatch,
    /// A `JumpTarget` hole of an op whose jump target is not an op index.
    JumpTargetOutOfRange {
        site: HoleSite,
        jump_target: u32,
        ops: usize,
    },
    /// No address was given for a symbol a hole (or a trampoline) uses.
    MissingSymbol {
        site: Option<HoleSite>,
        symbol: u16,
        name: Option<&'static str>,
    },
    /// A shim hole wants a value only an op has (a per-op value or the
    /// jump target), or a per-op value beyond those a trace op carries.
    ValueOutsideOp { site: HoleSite, value: HoleValue },
    /// The GOT slot of a GOT load is not inside the stencil's data.
    GotSlotOutsideData { site: HoleSite, slot: u64 },
    /// The value does not fit the hole.
    Patch {
        site: HoleSite,
        value: HoleValue,
        /// The declared name of a per-op value or a symbol's name.
        name: Option<&'static str>,
        error: PatchError,
    },
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::UnknownUop { op, uop } => {
                write!(f, "op {op}: uop id {uop} is not in the stencil table")
            }
            EmitError::UnknownVariant {
                op,
                uop,
                variant,
                cache,
            } => write!(
                f,
                "op {op}: uop id {uop} has no variant {variant}; the table caches up to {cache} \
                 stack values, so its variants are 0..={cache}"
            ),
            EmitError::BadAlignment {
                op,
                uop,
                section,
                align,
            } => {
                match op {
                    Some(op) => write!(f, "op {op} ({uop})")?,
                    None => f.write_str(uop)?,
                }
                write!(f, ": {section} alignment {align} is not a power of two")
            }
            EmitError::TooLarge => f.write_str("the trace would be 4 GiB or larger"),
            EmitError::BufferTooSmall { needed, len } => {
                write!(f, "the trace needs {needed} bytes but the buffer has {len}")
            }
            EmitError::MisalignedBase { base, align } => {
                write!(f, "base address {base:#x} is not aligned to {align} bytes")
            }
            EmitError::AddressOverflow { base, len } => write!(
                f,
                "a trace of {len} bytes at base address {base:#x} would wrap past the end of \
                 the 64-bit address space; map it at a lower address"
            ),
            EmitError::LayoutMismatch => {
                f.write_str("the layout was not computed for these ops and this stencil table")
            }
            EmitError::JumpTargetOutOfRange {
                site,
                jump_target,
                ops,
            } => write!(
                f,
                "{site}: jump target {jump_target} is not an op of the trace ({ops} ops)"
            ),
            EmitError::MissingSymbol { site, symbol, name } => {
                if let Some(site) = site {
                    write!(f, "{site}: ")?;
                }
                write!(f, "no address for symbol {symbol}")?;
                if let Some(name) = name {
                    write!(f, " ({name})")?;
                }
                Ok(())
            }
            EmitError::ValueOutsideOp { site, value } => {
                write!(f, "{site}: hole value {value:?} only exists for an op")
            }
            EmitError::GotSlotOutsideData { site, slot } => write!(
                f,
                "{site}: GOT slot at {slot:#x} is not inside the stencil's data"
            ),
            EmitError::Patch {
                site,
                value,
                name,
                error,
            } => {
                write!(f, "{site}, value {value:?}")?;
                if let Some(name) = name {
                    write!(f, " ({name})")?;
                }
                write!(f, ": {error}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmitError::Patch { error, .. } => Some(error),
            _ => None,
        }
    }
}
