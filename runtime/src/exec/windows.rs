//! Executable memory on Windows: committed read + write pages while the
//! trace is emitted, then `VirtualProtect`ed and the instruction cache
//! flushed (required on AArch64, harmless on x86).

use core::ffi::c_void;
use core::ptr::NonNull;
use std::io;

use windows_sys::Win32::System::Diagnostics::Debug::FlushInstructionCache;
use windows_sys::Win32::System::Memory::{
    VirtualAlloc, VirtualFree, VirtualProtect, MEM_COMMIT, MEM_RELEASE, MEM_RESERVE,
    PAGE_EXECUTE_READ, PAGE_PROTECTION_FLAGS, PAGE_READONLY, PAGE_READWRITE,
};
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

use super::ExecError;

/// Committed pages of our own, released on drop.
#[derive(Debug)]
pub(super) struct Memory {
    start: NonNull<u8>,
    len: usize,
}

impl Memory {
    pub fn page_size() -> Result<usize, ExecError> {
        let mut info = SYSTEM_INFO::default();
        // SAFETY: fills the structure `info` points to; nothing else.
        unsafe { GetSystemInfo(&mut info) };
        match usize::try_from(info.dwPageSize) {
            Ok(page) if page.is_power_of_two() => Ok(page),
            _ => Err(ExecError::PageSize(io::Error::other(
                "GetSystemInfo gave no power of two page size",
            ))),
        }
    }

    /// Commits `len` bytes (a multiple of the page size), readable and
    /// writable.
    pub fn map(len: usize) -> Result<Memory, ExecError> {
        // SAFETY: reserves and commits fresh pages; they alias nothing.
        let start = unsafe {
            VirtualAlloc(
                core::ptr::null(),
                len,
                MEM_COMMIT | MEM_RESERVE,
                PAGE_READWRITE,
            )
        };
        let start = NonNull::new(start.cast::<u8>())
            .ok_or_else(|| ExecError::Map(io::Error::last_os_error()))?;
        Ok(Memory { start, len })
    }

    pub fn start(&self) -> NonNull<u8> {
        self.start
    }

    /// Runs `write` on all the pages (before [`Memory::seal`]).
    pub fn write<R>(&mut self, write: impl FnOnce(&mut [u8]) -> R) -> R {
        // SAFETY: the pages are `len` bytes, committed read + write until
        // sealed, and `&mut self` makes this the only reference to them.
        write(unsafe { core::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) })
    }

    /// Makes the first `code_len` bytes (a multiple of the page size)
    /// execute + read and the rest read-only, then flushes the instruction
    /// cache for the code.
    pub fn seal(&mut self, code_len: usize) -> Result<(), ExecError> {
        self.protect(0, code_len, PAGE_EXECUTE_READ)?;
        self.protect(code_len, self.len - code_len, PAGE_READONLY)?;
        // SAFETY: the range is inside our own pages; flushing changes no
        // memory.
        let flushed = unsafe {
            FlushInstructionCache(
                GetCurrentProcess(),
                self.start.as_ptr().cast::<c_void>(),
                code_len,
            )
        };
        if flushed == 0 {
            return Err(ExecError::Protect(io::Error::last_os_error()));
        }
        Ok(())
    }

    fn protect(
        &self,
        offset: usize,
        len: usize,
        protection: PAGE_PROTECTION_FLAGS,
    ) -> Result<(), ExecError> {
        if len == 0 {
            return Ok(());
        }
        let mut old: PAGE_PROTECTION_FLAGS = 0;
        // SAFETY: `offset..offset + len` is a page-aligned part of our own
        // committed pages; `old` receives the previous protection.
        let result = unsafe {
            VirtualProtect(
                self.start.as_ptr().add(offset).cast::<c_void>(),
                len,
                protection,
                &mut old,
            )
        };
        if result != 0 {
            Ok(())
        } else {
            Err(ExecError::Protect(io::Error::last_os_error()))
        }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: releases exactly the reservation `map` made (size 0 with
        // MEM_RELEASE frees all of it); no reference to it outlives `self`.
        // A failure cannot be reported from `drop` and leaks the pages.
        unsafe {
            VirtualFree(self.start.as_ptr().cast::<c_void>(), 0, MEM_RELEASE);
        }
    }
}
