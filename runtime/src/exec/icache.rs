//! Making freshly written code visible to instruction fetch.
//!
//! x86 keeps its instruction cache coherent with stores. AArch64 needs the
//! data cache cleaned to the point of unification and the instruction
//! cache invalidated; RISC-V needs the kernel to order the stores before
//! fetches on every hart the thread may run on.
//!
//! The code may have been written through one mapping (`written`) and run
//! through another of the same memory (`executed`): the data cache is
//! cleaned by the address the stores went to, the instruction cache
//! invalidated by the address instructions are fetched from. With a single
//! mapping both are the same.

#[cfg(not(any(target_arch = "aarch64", target_arch = "riscv64")))]
pub(crate) fn flush(_written: *const u8, _executed: *const u8, _len: usize) {}

#[cfg(target_arch = "riscv64")]
pub(crate) fn flush(_written: *const u8, executed: *const u8, len: usize) {
    /// `__NR_riscv_flush_icache` (`__NR_arch_specific_syscall + 15`), which
    /// the `libc` crate does not name.
    const SYS_RISCV_FLUSH_ICACHE: libc::c_long = 259;
    // SAFETY: the system call only synchronises instruction fetch for the
    // range (flags 0: for all threads); it reads and writes no memory. It
    // cannot fail for a valid range, and there is nothing to undo if it did.
    unsafe {
        libc::syscall(SYS_RISCV_FLUSH_ICACHE, executed, executed.add(len), 0usize);
    }
}

#[cfg(target_arch = "aarch64")]
pub(crate) fn flush(written: *const u8, executed: *const u8, len: usize) {
    use core::arch::asm;

    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effect; Linux and the BSDs allow
    // it at EL0 (or emulate it).
    unsafe { asm!("mrs {0}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    // Line sizes are log2 of the number of 4-byte words.
    let data_line = 4usize << ((ctr >> 16) & 0xf);
    let instruction_line = 4usize << (ctr & 0xf);

    let start = written as usize;
    let mut line = start & !(data_line - 1);
    while line < start + len {
        // SAFETY: cleaning a cache line of our own readable mapping changes
        // no memory contents.
        unsafe { asm!("dc cvau, {0}", in(reg) line, options(nostack, preserves_flags)) };
        line += data_line;
    }
    // SAFETY: a barrier has no effect on memory contents.
    unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    let start = executed as usize;
    let mut line = start & !(instruction_line - 1);
    while line < start + len {
        // SAFETY: invalidating instruction cache lines changes no memory.
        unsafe { asm!("ic ivau, {0}", in(reg) line, options(nostack, preserves_flags)) };
        line += instruction_line;
    }
    // SAFETY: barriers have no effect on memory contents.
    unsafe { asm!("dsb ish", "isb", options(nostack, preserves_flags)) };
}
