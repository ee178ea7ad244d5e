//! Every header, load command, table and section an object file declares
//! must lie within the file. The `object` crate reads lazily and skips
//! some of what it cannot read (a cut Mach-O load command table reads as no
//! sections at all), so a truncated object would lower to a stencil missing
//! its parts; these checks make it an error naming what is cut instead.

mod coff;
mod elf;
mod macho;

use super::ObjError;
use crate::target::Format;

/// Check the extents of a little-endian object of `format` (a 64-bit one
/// for Mach-O: no target reads 32-bit Mach-O).
pub(super) fn check(bytes: &[u8], format: Format) -> Result<(), ObjError> {
    let file = File { bytes };
    match format {
        Format::Elf => elf::check(&file),
        Format::MachO => macho::check(&file),
        Format::Coff => coff::check(&file),
    }
}

/// The file's bytes, every read bounds-checked.
struct File<'a> {
    bytes: &'a [u8],
}

impl<'a> File<'a> {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// `what` spans `size` bytes from `start`: it must lie within the file.
    fn span(&self, what: impl Fn() -> String, start: u64, size: u64) -> Result<(), ObjError> {
        let end = start.checked_add(size).ok_or_else(|| ObjError::Malformed {
            what: what(),
            problem: format!("its offset {start:#x} and size {size:#x} overflow"),
        })?;
        if end > self.len() {
            return Err(ObjError::Truncated {
                what: what(),
                start,
                end,
                file_size: self.len(),
            });
        }
        Ok(())
    }

    /// A table of `count` entries of `entry` bytes from `start`.
    fn table(
        &self,
        what: impl Fn() -> String,
        start: u64,
        count: u64,
        entry: u64,
    ) -> Result<(), ObjError> {
        let size = count
            .checked_mul(entry)
            .ok_or_else(|| ObjError::Malformed {
                what: what(),
                problem: format!("its {count} entries of {entry} bytes overflow"),
            })?;
        self.span(what, start, size)
    }

    /// The `size` bytes of `what` at `start`, once they are known to be in
    /// the file.
    fn record(
        &self,
        what: impl Fn() -> String,
        start: u64,
        size: u64,
    ) -> Result<Record<'a>, ObjError> {
        self.span(what, start, size)?;
        // In bounds: `span` checked `start + size <= len`.
        Ok(Record(&self.bytes[start as usize..(start + size) as usize]))
    }
}

/// A header or entry whose bytes are all in the file; fields are read at
/// offsets within it (little-endian), so a read past its end can only be a
/// mistake in the offsets here and gives 0.
struct Record<'a>(&'a [u8]);

impl Record<'_> {
    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        self.0
            .get(at..at + N)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; N])
    }

    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.bytes(at))
    }

    fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.bytes(at))
    }

    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.bytes(at))
    }

    /// A fixed-size name field, up to its first NUL.
    fn name(&self, at: usize, len: usize) -> String {
        let field = self.0.get(at..at + len).unwrap_or_default();
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).into_owned()
    }
}
