//! Executable memory on Unix: an anonymous mapping, read + write while the
//! trace is emitted, then `mprotect`ed.

use core::ptr::NonNull;
use std::io;

use super::{icache, ExecError};

/// A private anonymous mapping, unmapped on drop.
#[derive(Debug)]
pub(super) struct Memory {
    start: NonNull<u8>,
    len: usize,
}

impl Memory {
    pub fn page_size() -> Result<usize, ExecError> {
        // SAFETY: sysconf only reads a system constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        match usize::try_from(page) {
            Ok(page) if page.is_power_of_two() => Ok(page),
            _ => Err(ExecError::PageSize(io::Error::last_os_error())),
        }
    }

    /// Maps `len` bytes (a multiple of the page size), readable and
    /// writable.
    pub fn map(len: usize) -> Result<Memory, ExecError> {
        // SAFETY: a fresh private anonymous mapping; it aliases nothing.
        let start = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(ExecError::Map(io::Error::last_os_error()));
        }
        let start = NonNull::new(start.cast::<u8>())
            .ok_or_else(|| ExecError::Map(io::Error::other("mmap returned null")))?;
        Ok(Memory { start, len })
    }

    pub fn start(&self) -> NonNull<u8> {
        self.start
    }

    /// Runs `write` on the whole mapping (before [`Memory::seal`]).
    pub fn write<R>(&mut self, write: impl FnOnce(&mut [u8]) -> R) -> R {
        // SAFETY: the mapping is `len` bytes, readable and writable until
        // sealed, and `&mut self` makes this the only reference to it.
        write(unsafe { core::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) })
    }

    /// Makes the first `code_len` bytes (a multiple of the page size)
    /// read + execute and the rest read-only.
    pub fn seal(&mut self, code_len: usize) -> Result<(), ExecError> {
        self.protect(0, code_len, libc::PROT_READ | libc::PROT_EXEC)?;
        self.protect(code_len, self.len - code_len, libc::PROT_READ)?;
        let start = self.start.as_ptr();
        icache::flush(start, start, code_len);
        Ok(())
    }

    fn protect(&self, offset: usize, len: usize, protection: libc::c_int) -> Result<(), ExecError> {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `offset..offset + len` is a page-aligned part of our own
        // mapping.
        let result = unsafe {
            libc::mprotect(
                self.start.as_ptr().add(offset).cast::<libc::c_void>(),
                len,
                protection,
            )
        };
        if result == 0 {
            Ok(())
        } else {
            Err(ExecError::Protect(io::Error::last_os_error()))
        }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `map` created; no reference to
        // it outlives `self`. A failure cannot be reported from `drop` and
        // leaves the memory mapped, which is harmless.
        unsafe {
            libc::munmap(self.start.as_ptr().cast::<libc::c_void>(), self.len);
        }
    }
}
