//! Executable memory on Apple silicon macOS. The hardened runtime forbids
//! making pages executable with `mprotect`; code goes in a `MAP_JIT`
//! mapping instead, which is read + write + execute, with writes allowed
//! only to a thread that lifts its own JIT write protection. The trace is
//! emitted inside that window and the instruction cache invalidated after.
//! (A hardened app needs the `com.apple.security.cs.allow-jit`
//! entitlement.)

use core::ptr::NonNull;
use std::io;

use super::ExecError;

extern "C" {
    /// `libkern/OSCacheControl.h`: makes `len` bytes at `start` coherent
    /// for instruction fetch. The `libc` crate does not declare it.
    fn sys_icache_invalidate(start: *mut libc::c_void, len: libc::size_t);
}

/// A `MAP_JIT` mapping, unmapped on drop.
#[derive(Debug)]
pub(super) struct Memory {
    start: NonNull<u8>,
    len: usize,
}

/// Restores this thread's JIT write protection when dropped, so it comes
/// back even if the emission panics.
struct WriteWindow;

impl WriteWindow {
    fn open() -> WriteWindow {
        // SAFETY: only changes whether this thread may write (and not
        // execute) MAP_JIT pages; no memory is touched.
        unsafe { libc::pthread_jit_write_protect_np(0) };
        WriteWindow
    }
}

impl Drop for WriteWindow {
    fn drop(&mut self) {
        // SAFETY: as in `open`: MAP_JIT pages become executable, and not
        // writable, for this thread again.
        unsafe { libc::pthread_jit_write_protect_np(1) };
    }
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

    /// Maps `len` bytes (a multiple of the page size) for JIT code.
    pub fn map(len: usize) -> Result<Memory, ExecError> {
        // SAFETY: a fresh private anonymous mapping; it aliases nothing.
        let start = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_JIT,
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

    /// Runs `write` on the whole mapping with this thread's JIT write
    /// protection lifted; it is restored before returning.
    pub fn write<R>(&mut self, write: impl FnOnce(&mut [u8]) -> R) -> R {
        let _window = WriteWindow::open();
        // SAFETY: the mapping is `len` bytes, writable by this thread while
        // `_window` lives, and `&mut self` makes this the only reference to
        // it.
        write(unsafe { core::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) })
    }

    /// Invalidates the instruction cache for the first `code_len` bytes.
    /// Protection needs no change: outside [`Memory::write`] MAP_JIT pages
    /// are read + execute for every thread.
    pub fn seal(&mut self, code_len: usize) -> Result<(), ExecError> {
        // SAFETY: the range is inside our own mapping; invalidating the
        // instruction cache changes no memory.
        unsafe { sys_icache_invalidate(self.start.as_ptr().cast::<libc::c_void>(), code_len) };
        Ok(())
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
