/* Runs an emitted trace under qemu-user (qemu-aarch64, qemu-riscv64 or
 * qemu-i386), with no C library: system calls are made directly (`svc 0`
 * on AArch64, `ecall` on RISC-V, `int $0x80` on i386), so the harness
 * builds with clang and lld alone.
 *
 * It reads one request from stdin, maps the trace and the helpers at the
 * addresses they were emitted for, calls the trace's shim as
 * `int64_t (*)(int64_t)` once per argument, and writes the results to
 * stdout. All words are 64-bit little-endian:
 *
 *   request: "TRACERUN", trace base, trace length, trace code length,
 *            helpers base, helpers length, argument count, arguments...,
 *            then the trace's bytes and the helpers' bytes
 *   reply:   "RESULTS!", result count, results...
 *
 * The trace's code (its first `code length` bytes, rounded up to whole
 * granules) is mapped read + execute, the rest of the trace read + write;
 * the helpers are read + execute.
 *
 * On failure it exits with a status naming the step (see `enum failure`). */
#include <stdint.h>

#define REQUEST 0x4e55524543415254ull /* "TRACERUN" */
#define REPLY 0x2153544c55534552ull   /* "RESULTS!" */

enum failure {
    BAD_REQUEST = 2,
    SHORT_READ = 3,
    SHORT_WRITE = 4,
    MAP_FAILED = 5,
    PROTECT_FAILED = 6,
    TOO_MANY_ARGUMENTS = 7,
};

enum {
    PROT_READ_WRITE = 1 | 2,
    PROT_READ_EXEC = 1 | 4,
    /* MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE */
    MAP_AT_ADDRESS = 0x02 | 0x20 | 0x100000,
};

/* The largest page size of AArch64 Linux: mappings are rounded up to it. */
#define MAP_GRANULE 0x10000ull
#define MAX_ARGUMENTS 64

#if defined(__aarch64__)
/* The generic Linux system call numbers. */
enum { SYS_READ = 63, SYS_WRITE = 64, SYS_EXIT_GROUP = 94, SYS_MMAP = 222, SYS_MPROTECT = 226 };

static long syscall6(long number, long a0, long a1, long a2, long a3, long a4, long a5) {
    register long x0 __asm__("x0") = a0;
    register long x1 __asm__("x1") = a1;
    register long x2 __asm__("x2") = a2;
    register long x3 __asm__("x3") = a3;
    register long x4 __asm__("x4") = a4;
    register long x5 __asm__("x5") = a5;
    register long x8 __asm__("x8") = number;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5), "r"(x8)
                     : "memory", "cc");
    return x0;
}

/* Makes the `len` bytes just written at `start` visible to instruction
 * fetch, with the cache line sizes CTR_EL0 gives. */
static void sync_instructions(uint64_t start, uint64_t len) {
    uint64_t ctr;
    __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
    uint64_t data_line = 4ull << ((ctr >> 16) & 0xf);
    uint64_t code_line = 4ull << (ctr & 0xf);
    uint64_t end = start + len;
    for (uint64_t line = start & ~(data_line - 1); line < end; line += data_line)
        __asm__ volatile("dc cvau, %0" : : "r"(line) : "memory");
    __asm__ volatile("dsb ish" : : : "memory");
    for (uint64_t line = start & ~(code_line - 1); line < end; line += code_line)
        __asm__ volatile("ic ivau, %0" : : "r"(line) : "memory");
    __asm__ volatile("dsb ish\n\tisb" : : : "memory");
}
#elif defined(__riscv) && __riscv_xlen == 64
/* The generic Linux system call numbers. */
enum { SYS_READ = 63, SYS_WRITE = 64, SYS_EXIT_GROUP = 94, SYS_MMAP = 222, SYS_MPROTECT = 226 };

static long syscall6(long number, long a0, long a1, long a2, long a3, long a4, long a5) {
    register long r0 __asm__("a0") = a0;
    register long r1 __asm__("a1") = a1;
    register long r2 __asm__("a2") = a2;
    register long r3 __asm__("a3") = a3;
    register long r4 __asm__("a4") = a4;
    register long r5 __asm__("a5") = a5;
    register long r7 __asm__("a7") = number;
    __asm__ volatile("ecall"
                     : "+r"(r0)
                     : "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r7)
                     : "memory");
    return r0;
}

/* The harness is single-threaded: a `fence.i` on this hart orders the
 * stores before every later instruction fetch. */
static void sync_instructions(uint64_t start, uint64_t len) {
    (void)start;
    (void)len;
    __asm__ volatile("fence.i" : : : "memory");
}
#elif defined(__i386__)
/* The i386 numbers. `SYS_MMAP` is the old `mmap`, which takes its six
 * arguments in memory: three registers are enough for every call. */
enum { SYS_READ = 3, SYS_WRITE = 4, SYS_EXIT_GROUP = 252, SYS_MMAP = 90, SYS_MPROTECT = 125 };

static long syscall3(long number, long a0, long a1, long a2) {
    long result;
    __asm__ volatile("int $0x80"
                     : "=a"(result)
                     : "a"(number), "b"(a0), "c"(a1), "d"(a2)
                     : "memory", "cc");
    return result;
}

static long syscall6(long number, long a0, long a1, long a2, long a3, long a4, long a5) {
    if (number != SYS_MMAP)
        return syscall3(number, a0, a1, a2);
    long arguments[6] = {a0, a1, a2, a3, a4, a5};
    return syscall3(SYS_MMAP, (long)arguments, 0, 0);
}

/* x86 keeps instruction fetch coherent with stores. */
static void sync_instructions(uint64_t start, uint64_t len) {
    (void)start;
    (void)len;
}
#else
#error "the harness runs AArch64, RV64 and i386 traces only"
#endif

__attribute__((noreturn)) static void quit(long status) {
    for (;;)
        syscall6(SYS_EXIT_GROUP, status, 0, 0, 0, 0, 0);
}

/* Reads exactly `len` bytes of stdin into `to`. */
static void receive(void *to, uint64_t len) {
    unsigned char *at = to;
    while (len > 0) {
        long got = syscall6(SYS_READ, 0, (long)at, (long)len, 0, 0, 0);
        if (got <= 0)
            quit(SHORT_READ);
        at += got;
        len -= (uint64_t)got;
    }
}

/* Writes exactly `len` bytes of `from` to stdout. */
static void send(const void *from, uint64_t len) {
    const unsigned char *at = from;
    while (len > 0) {
        long put = syscall6(SYS_WRITE, 1, (long)at, (long)len, 0, 0, 0);
        if (put <= 0)
            quit(SHORT_WRITE);
        at += put;
        len -= (uint64_t)put;
    }
}

static uint64_t receive_word(void) {
    uint64_t word;
    receive(&word, sizeof word);
    return word;
}

static uint64_t granules(uint64_t len) {
    return (len + MAP_GRANULE - 1) & ~(MAP_GRANULE - 1);
}

/* Maps `len` bytes of stdin at `address`; the first `code_len` of them
 * (rounded up to whole granules) become read + execute, the rest stays
 * read + write. */
static void map(uint64_t address, uint64_t len, uint64_t code_len) {
    if (address % MAP_GRANULE != 0 || len == 0 || code_len > len)
        quit(BAD_REQUEST);
    uint64_t map_len = granules(len);
    if (address + map_len - 1 > (uintptr_t)-1)
        quit(BAD_REQUEST);
    long mapped = syscall6(SYS_MMAP, (long)address, (long)map_len, PROT_READ_WRITE,
                           MAP_AT_ADDRESS, -1, 0);
    if (mapped != (long)address)
        quit(MAP_FAILED);
    receive((void *)(uintptr_t)address, len);
    uint64_t code_map_len = granules(code_len);
    if (code_map_len > 0 &&
        syscall6(SYS_MPROTECT, (long)address, (long)code_map_len, PROT_READ_EXEC, 0, 0, 0) != 0)
        quit(PROTECT_FAILED);
    sync_instructions(address, code_len);
}

/* Linux enters `_start` with the stack 16-byte aligned but no return
 * address pushed; on i386 the compiler must not assume the usual skew. */
#if defined(__i386__)
__attribute__((force_align_arg_pointer))
#endif
__attribute__((noreturn)) void _start(void) {
    static int64_t arguments[MAX_ARGUMENTS];
    static int64_t results[MAX_ARGUMENTS];

    if (receive_word() != REQUEST)
        quit(BAD_REQUEST);
    uint64_t trace_base = receive_word();
    uint64_t trace_len = receive_word();
    uint64_t trace_code_len = receive_word();
    uint64_t helpers_base = receive_word();
    uint64_t helpers_len = receive_word();
    uint64_t count = receive_word();
    if (count > MAX_ARGUMENTS)
        quit(TOO_MANY_ARGUMENTS);
    receive(arguments, count * sizeof arguments[0]);
    map(trace_base, trace_len, trace_code_len);
    map(helpers_base, helpers_len, helpers_len);

    int64_t (*shim)(int64_t) = (int64_t (*)(int64_t))(uintptr_t)trace_base;
    for (uint64_t i = 0; i < count; i++)
        results[i] = shim(arguments[i]);

    uint64_t header[2] = {REPLY, count};
    send(header, sizeof header);
    send(results, count * sizeof results[0]);
    quit(0);
}
