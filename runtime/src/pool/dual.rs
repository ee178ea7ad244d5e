//! A chunk of the pool on Linux and Android: an anonymous memory file
//! (`memfd_create`) mapped twice, shared, once read + write (where traces
//! are emitted) and once read + execute (where they run). Neither mapping
//! is ever writable and executable, and no protection ever changes.

use core::ptr::NonNull;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::exec::ExecError;

/// The executable view of a chunk placed near an address lies wholly within
/// this distance of it. It leaves half a gibibyte of the ±2 GiB a
/// pc-relative branch reaches for helpers elsewhere in the same image.
pub(crate) const NEAR_WINDOW: u64 = 3 << 29;
/// Distance between the addresses tried when placing a chunk near one.
const NEAR_STEP: u64 = 1 << 26;
/// Addresses below this are not tried: the kernel keeps the lowest pages
/// unmappable (`vm.mmap_min_addr`).
const LOWEST_HINT: u64 = 1 << 24;

/// One shared mapping of the memory file, unmapped on drop.
#[derive(Debug)]
struct View {
    start: NonNull<u8>,
    len: usize,
}

impl View {
    /// Maps `len` bytes of `file` with `protection`, at `hint` if the
    /// kernel agrees (it is only a hint), anywhere otherwise.
    fn map(
        file: &OwnedFd,
        len: usize,
        protection: libc::c_int,
        hint: u64,
    ) -> Result<View, ExecError> {
        // SAFETY: a new shared mapping of our own memory file; without
        // MAP_FIXED the kernel never replaces an existing mapping, so it
        // aliases nothing but the file's other view.
        let start = unsafe {
            libc::mmap(
                hint as usize as *mut libc::c_void,
                len,
                protection,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(ExecError::Map(io::Error::last_os_error()));
        }
        let start = NonNull::new(start.cast::<u8>())
            .ok_or_else(|| ExecError::Map(io::Error::other("mmap returned null")))?;
        Ok(View { start, len })
    }

    fn address(&self) -> u64 {
        self.start.as_ptr() as u64
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the view `map` created; no reference into
        // it outlives the chunk that owns it. A failure cannot be reported
        // from `drop` and leaves the memory mapped, which is harmless.
        unsafe {
            libc::munmap(self.start.as_ptr().cast::<libc::c_void>(), self.len);
        }
    }
}

/// A chunk: the same `len` bytes, writable at one address and executable
/// at another. Both views are unmapped on drop.
#[derive(Debug)]
pub(crate) struct DualChunk {
    write: View,
    exec: View,
}

// SAFETY: the chunk owns both views; which bytes a thread may write is
// decided by the pool's allocator under its lock, so the views themselves
// may move between threads.
unsafe impl Send for DualChunk {}

impl DualChunk {
    /// Maps a chunk of `len` bytes (a multiple of the page size). `hints`
    /// are addresses to try for the executable view, in order; the first
    /// the kernel honours for which `accept` holds is taken, else any.
    pub fn map(
        len: usize,
        hints: impl Iterator<Item = u64>,
        accept: impl Fn(u64) -> bool,
    ) -> Result<DualChunk, ExecError> {
        let file = memory_file(len)?;
        let write = View::map(&file, len, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let exec_protection = libc::PROT_READ | libc::PROT_EXEC;
        for hint in hints {
            let exec = View::map(&file, len, exec_protection, hint)?;
            if accept(exec.address()) {
                return Ok(DualChunk { write, exec });
            }
        }
        let exec = View::map(&file, len, exec_protection, 0)?;
        // The views keep the file alive; its descriptor closes here.
        Ok(DualChunk { write, exec })
    }

    /// Address code in the chunk runs at.
    pub fn exec_base(&self) -> u64 {
        self.exec.address()
    }

    /// The writable view of the chunk's start.
    pub fn write_start(&self) -> NonNull<u8> {
        self.write.start
    }

    pub fn len(&self) -> usize {
        self.write.len
    }
}

/// A new anonymous memory file of `len` bytes, closed on exec.
fn memory_file(len: usize) -> Result<OwnedFd, ExecError> {
    let map_error = |_| ExecError::Map(io::Error::last_os_error());
    // SAFETY: the name is a NUL-terminated string; the call only creates
    // a file descriptor.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_memfd_create,
            c"trace-pool".as_ptr(),
            libc::MFD_CLOEXEC,
        )
    };
    let fd = libc::c_int::try_from(fd).map_err(map_error)?;
    if fd < 0 {
        return Err(ExecError::Map(io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let file = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = libc::off_t::try_from(len)
        .map_err(|_| ExecError::Map(io::Error::other("chunk larger than a file can be")))?;
    // SAFETY: sizes our own file; no memory is touched.
    if unsafe { libc::ftruncate(file.as_raw_fd(), len) } != 0 {
        return Err(ExecError::Map(io::Error::last_os_error()));
    }
    Ok(file)
}

/// Addresses to try for a chunk of `len` bytes (a multiple of `page`) that
/// should lie within [`NEAR_WINDOW`] of `near`: right below `below` (the
/// lowest chunk placed near it so far) if given, then below `near` going
/// down, then above it going up.
pub(crate) fn near_hints(
    near: u64,
    below: Option<u64>,
    len: usize,
    page: usize,
) -> impl Iterator<Item = u64> {
    let len = len as u64;
    let page = page as u64;
    let low = near.saturating_sub(NEAR_WINDOW).max(LOWEST_HINT);
    let high = near.saturating_add(NEAR_WINDOW);
    let page_down = move |address: u64| address & !(page - 1);
    let fits = move |start: &u64| *start >= low && start.saturating_add(len) <= high;
    let first = below
        .and_then(|below| below.checked_sub(len))
        .map(page_down);
    let start_below = near.checked_sub(len).map(page_down);
    let downwards = (0..).map_while(move |k: u64| start_below?.checked_sub(k * NEAR_STEP));
    let start_above = page_down(near).checked_add(NEAR_STEP);
    let upwards = (0..).map_while(move |k: u64| start_above?.checked_add(k * NEAR_STEP));
    first
        .into_iter()
        .filter(fits)
        .chain(downwards.take_while(fits))
        .chain(upwards.take_while(fits))
}

/// Whether a chunk of `len` bytes at `start` lies within [`NEAR_WINDOW`]
/// of `near`.
pub(crate) fn is_near(near: u64, start: u64, len: usize) -> bool {
    start >= near.saturating_sub(NEAR_WINDOW)
        && start.saturating_add(len as u64) <= near.saturating_add(NEAR_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 4096;

    #[test]
    fn hints_go_down_then_up_within_the_window() {
        let near = 0x5555_0000_1234;
        let hints: Vec<u64> = near_hints(near, None, 0x10000, PAGE).collect();
        assert_eq!(hints[0], 0x5554_FFFF_1000);
        assert_eq!(hints[1], 0x5554_FFFF_1000 - NEAR_STEP);
        assert!(hints
            .iter()
            .all(|&start| start % PAGE as u64 == 0 && is_near(near, start, 0x10000)));
        let below = hints.iter().filter(|&&start| start < near).count();
        let above = hints.iter().filter(|&&start| start > near).count();
        assert_eq!((below, above), (24, 23));
        assert!(hints[..below].windows(2).all(|pair| pair[0] > pair[1]));
        assert!(hints[below..].windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn the_chunk_below_the_last_comes_first() {
        let near = 0x5555_0000_0000;
        let hints: Vec<u64> = near_hints(near, Some(0x5554_F000_0000), 0x10000, PAGE).collect();
        assert_eq!(hints[0], 0x5554_EFFF_0000);
        // Once the window below is used up, that hint is not tried.
        let far = near - NEAR_WINDOW;
        let hints: Vec<u64> = near_hints(near, Some(far), 0x10000, PAGE).collect();
        assert!(hints[0] >= far);
    }

    #[test]
    fn hints_never_wrap_or_go_below_the_lowest_address() {
        for near in [0, 0x1000, LOWEST_HINT + 0x1000, u64::MAX - 0x1000] {
            for start in near_hints(near, Some(0x2000), 0x10000, PAGE) {
                assert!(start >= LOWEST_HINT, "{start:#x} for {near:#x}");
                assert!(is_near(near, start, 0x10000), "{start:#x} for {near:#x}");
            }
        }
        assert_eq!(near_hints(0x8000_0000, None, 1 << 32, PAGE).count(), 0);
    }
}
