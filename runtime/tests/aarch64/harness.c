/* Runs an emitted AArch64 trace under qemu-aarch64, with no C library:
 * system calls are made with `svc 0`, so the harness builds with clang and
 * lld alone, for any AArch64 Linux.
 *
 * It reads one request from stdin, maps the trace and the helpers at the
 * addresses they were emitted for (read + execute), calls the trace's shim
 * as `int64_t (*)(int64_t)` once per argument, and writes the results to
 * stdout. All words are 64-bit little-endian:
 *
 *   request: "TRACERUN", trace base, trace length, helpers base,
 *            helpers length, argument count, arguments...,
 *            then the trace's bytes and the helpers' bytes
 *   reply:   "RESULTS!", result count, results...
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

enum { SYS_READ = 63, SYS_WRITE = 64, SYS_EXIT_GROUP = 94, SYS_MMAP = 222, SYS_MPROTECT = 226 };

enum {
    PROT_READ_WRITE = 1 | 2,
    PROT_READ_EXEC = 1 | 4,
    /* MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE */
    MAP_AT_ADDRESS = 0x02 | 0x20 | 0x100000,
};

/* The largest page size of AArch64 Linux: mappings are rounded up to it. */
#define MAP_GRANULE 0x10000ull
#define MAX_ARGUMENTS 64

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

/* Maps `len` bytes of stdin at `address`, readable and executable. */
static void map_code(uint64_t address, uint64_t len) {
    if (address % MAP_GRANULE != 0 || len == 0)
        quit(BAD_REQUEST);
    uint64_t map_len = (len + MAP_GRANULE - 1) & ~(MAP_GRANULE - 1);
    long mapped = syscall6(SYS_MMAP, (long)address, (long)map_len, PROT_READ_WRITE,
                           MAP_AT_ADDRESS, -1, 0);
    if (mapped != (long)address)
        quit(MAP_FAILED);
    receive((void *)address, len);
    if (syscall6(SYS_MPROTECT, (long)address, (long)map_len, PROT_READ_EXEC, 0, 0, 0) != 0)
        quit(PROTECT_FAILED);
    sync_instructions(address, len);
}

__attribute__((noreturn)) void _start(void) {
    static int64_t arguments[MAX_ARGUMENTS];
    static int64_t results[MAX_ARGUMENTS];

    if (receive_word() != REQUEST)
        quit(BAD_REQUEST);
    uint64_t trace_base = receive_word();
    uint64_t trace_len = receive_word();
    uint64_t helpers_base = receive_word();
    uint64_t helpers_len = receive_word();
    uint64_t count = receive_word();
    if (count > MAX_ARGUMENTS)
        quit(TOO_MANY_ARGUMENTS);
    receive(arguments, count * sizeof arguments[0]);
    map_code(trace_base, trace_len);
    map_code(helpers_base, helpers_len);

    int64_t (*shim)(int64_t) = (int64_t (*)(int64_t))trace_base;
    for (uint64_t i = 0; i < count; i++)
        results[i] = shim(arguments[i]);

    uint64_t header[2] = {REPLY, count};
    send(header, sizeof header);
    send(results, count * sizeof results[0]);
    quit(0);
}
