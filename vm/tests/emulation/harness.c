/*
 * Freestanding Linux program that runs patched traces under qemu-user, for
 * aarch64, riscv64 and i386 guests. For each request on stdin it maps the
 * trace's bytes at the address they were patched for, enters the shim,
 * writes the VM state back to stdout and unmaps both again; it exits when
 * stdin ends between requests. No libc: raw system calls only, so it
 * builds with clang and lld alone.
 *
 * Request (little-endian u64 words):
 *   magic, code_base, code_len, state_base, n_locals, heap_len, stack_cap,
 *   depth, locals[n_locals], heap[heap_len], stack[depth], code bytes.
 * Reply: magic, status, result, depth, locals, heap, stack[depth].
 *
 * The state region (frame, locals, heap, stack) is mapped at state_base, a
 * fixed address, so that the host knows which values point into the heap.
 */
#include <stdint.h>

#define REQUEST_MAGIC 0x51455255504f5453ull /* "STOPUREQ" */
#define REPLY_MAGIC 0x594c504552504f54ull   /* "TOPREPLY" */

/* Every field on 8 bytes whatever the pointer size (docs/stencil-abi.md). */
typedef struct vm_frame {
    int64_t *locals __attribute__((aligned(8)));
    int64_t *heap __attribute__((aligned(8)));
    int64_t heap_len __attribute__((aligned(8)));
    int64_t *sp __attribute__((aligned(8)));
    int64_t result __attribute__((aligned(8)));
} vm_frame;

#if defined(__aarch64__)
#define SYS_READ 63
#define SYS_WRITE 64
#define SYS_EXIT_GROUP 94
#define SYS_MMAP 222
#define SYS_MPROTECT 226
#define SYS_MUNMAP 215
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#elif defined(__riscv) && __riscv_xlen == 64
#define SYS_READ 63
#define SYS_WRITE 64
#define SYS_EXIT_GROUP 94
#define SYS_MMAP 222
#define SYS_MPROTECT 226
#define SYS_MUNMAP 215
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long a7 __asm__("a7") = n;
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d;
    register long a4 __asm__("a4") = e;
    register long a5 __asm__("a5") = f;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a7), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5)
                     : "memory");
    return a0;
}
#elif defined(__i386__)
#define SYS_READ 3
#define SYS_WRITE 4
#define SYS_EXIT_GROUP 252
#define SYS_MMAP 192 /* mmap2: the offset is in pages; always 0 here */
#define SYS_MPROTECT 125
#define SYS_MUNMAP 91
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    (void)f;
    /* The sixth argument goes in %ebp, which is only ever 0 here. */
    __asm__ volatile("push %%ebp\n\txor %%ebp, %%ebp\n\tint $0x80\n\tpop %%ebp"
                     : "=a"(ret)
                     : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                     : "memory");
    return ret;
}
#else
#error "unsupported guest"
#endif

__attribute__((noreturn)) static void die(int code) {
    sys6(SYS_EXIT_GROUP, code, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}

/* Reads len bytes; returns 0 if stdin ends before the first one. */
static int read_or_end(void *dst, uint64_t len) {
    char *p = dst;
    uint64_t done = 0;
    while (done < len) {
        long n = sys6(SYS_READ, 0, (long)(p + done), (long)(len - done), 0, 0, 0);
        if (n == 0 && done == 0)
            return 0;
        if (n <= 0)
            die(10);
        done += (uint64_t)n;
    }
    return 1;
}

static void read_all(void *dst, uint64_t len) {
    if (len > 0 && !read_or_end(dst, len))
        die(10);
}

static void write_all(const void *src, uint64_t len) {
    const char *p = src;
    while (len > 0) {
        long n = sys6(SYS_WRITE, 1, (long)p, (long)len, 0, 0, 0);
        if (n <= 0)
            die(11);
        p += n;
        len -= (uint64_t)n;
    }
}

static uint64_t read_word(void) {
    uint64_t w;
    read_all(&w, 8);
    return w;
}

static void write_word(uint64_t w) { write_all(&w, 8); }

static char *map_fixed(uint64_t addr, uint64_t len) {
    const long prot_rw = 3, map_private_anon_fixed_noreplace = 0x02 | 0x20 | 0x100000;
    if ((uint64_t)(uintptr_t)addr != addr || (uint64_t)(unsigned long)len != len)
        die(17);
    long p = sys6(SYS_MMAP, (long)(uintptr_t)addr, (long)len, prot_rw,
                  map_private_anon_fixed_noreplace, -1, 0);
    if ((uint64_t)(uintptr_t)p != addr)
        die(12);
    return (char *)(uintptr_t)p;
}

static void unmap(char *addr, uint64_t len) {
    if (sys6(SYS_MUNMAP, (long)(uintptr_t)addr, (long)len, 0, 0, 0, 0) != 0)
        die(18);
}

static uint64_t page_round(uint64_t n) { return (n + 0xffff) & ~(uint64_t)0xffff; }

/* Helpers are entered from stencils built for other OSes too (i686 Windows
   keeps the stack only 4-byte aligned), so on i386 they realign it. */
#if defined(__i386__)
#define HELPER __attribute__((used, noinline, force_align_arg_pointer))
#else
#define HELPER __attribute__((used, noinline))
#endif

/* The helpers the VM provides, with the reference VM's semantics. */
HELPER int64_t vm_hash(int64_t a, int64_t b) {
    uint64_t x = (uint64_t)a * 0x9E3779B97F4A7C15ull ^ (uint64_t)b;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return (int64_t)x;
}

/* IEEE square root, correctly rounded, in the guest's own instruction. */
HELPER double vm_sqrt(double a) {
    double r;
#if defined(__aarch64__)
    __asm__("fsqrt %d0, %d1" : "=w"(r) : "w"(a));
#elif defined(__riscv)
    __asm__("fsqrt.d %0, %1" : "=f"(r) : "f"(a));
#else
    __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(a));
#endif
    return r;
}

#if defined(__i386__)
/* The 64-bit division routines i686 Windows code calls (MSVC's runtime
   names them _alldiv and _allrem): stdcall, so the callee pops the two
   64-bit arguments, and the result is in edx:eax. Written out bit by bit
   because no compiler runtime is linked. Stencils never divide by zero or
   INT64_MIN by -1: they deopt first. */
static uint64_t udivmod64(uint64_t n, uint64_t d, uint64_t *rem) {
    uint64_t q = 0, r = 0;
    for (int bit = 63; bit >= 0; bit--) {
        r = (r << 1) | ((n >> bit) & 1);
        if (r >= d) {
            r -= d;
            q |= (uint64_t)1 << bit;
        }
    }
    *rem = r;
    return q;
}

static uint64_t magnitude(int64_t v) { return v < 0 ? 0 - (uint64_t)v : (uint64_t)v; }

HELPER __attribute__((stdcall)) int64_t _alldiv(int64_t a, int64_t b) {
    uint64_t r, q = udivmod64(magnitude(a), magnitude(b), &r);
    return (int64_t)((a < 0) != (b < 0) ? 0 - q : q);
}

HELPER __attribute__((stdcall)) int64_t _allrem(int64_t a, int64_t b) {
    uint64_t r;
    udivmod64(magnitude(a), magnitude(b), &r);
    return (int64_t)(a < 0 ? 0 - r : r);
}
#endif

/* Make freshly written code visible to instruction fetch. */
static void flush_icache(char *start, uint64_t len) {
#if defined(__aarch64__)
    for (uint64_t off = 0; off < len; off += 4)
        __asm__ volatile("dc cvau, %0" ::"r"(start + off) : "memory");
    __asm__ volatile("dsb ish" ::: "memory");
    for (uint64_t off = 0; off < len; off += 4)
        __asm__ volatile("ic ivau, %0" ::"r"(start + off) : "memory");
    __asm__ volatile("dsb ish\n\tisb" ::: "memory");
#elif defined(__riscv)
    (void)start, (void)len;
    __asm__ volatile("fence.i" ::: "memory");
#else
    (void)start, (void)len; /* x86 keeps instruction fetch coherent */
#endif
}

typedef int64_t (*shim_fn)(vm_frame *, int64_t *);

/* Runs one request; returns 0 when stdin has ended instead. */
static int serve(void) {
    uint64_t magic;
    if (!read_or_end(&magic, 8))
        return 0;
    if (magic != REQUEST_MAGIC)
        die(13);
    uint64_t code_base = read_word(), code_len = read_word();
    uint64_t state_base = read_word(), n_locals = read_word();
    uint64_t heap_len = read_word(), stack_cap = read_word(), depth = read_word();
    if (depth > stack_cap)
        die(14);

    uint64_t cells = n_locals + heap_len + stack_cap;
    uint64_t state_len = page_round(sizeof(vm_frame) + 8 * cells + 64);
    char *state = map_fixed(state_base, state_len);
    vm_frame *frame = (vm_frame *)state;
    int64_t *locals = (int64_t *)(state + 64);
    int64_t *heap = locals + n_locals;
    int64_t *stack = heap + heap_len;
    read_all(locals, 8 * n_locals);
    read_all(heap, 8 * heap_len);
    read_all(stack, 8 * depth);

    uint64_t code_map_len = page_round(code_len);
    char *code = map_fixed(code_base, code_map_len);
    read_all(code, code_len);
    const long prot_rx = 5;
    if (sys6(SYS_MPROTECT, (long)(uintptr_t)code, (long)code_map_len, prot_rx, 0, 0, 0) != 0)
        die(15);
    flush_icache(code, code_len);

    frame->locals = locals;
    frame->heap = heap;
    frame->heap_len = (int64_t)heap_len;
    frame->sp = 0;
    frame->result = 0;
    int64_t status = ((shim_fn)(uintptr_t)code)(frame, stack + depth);
    int64_t *sp = frame->sp;
    if (sp < stack || sp > stack + stack_cap)
        die(16);
    uint64_t out_depth = (uint64_t)(sp - stack);

    write_word(REPLY_MAGIC);
    write_word((uint64_t)status);
    write_word((uint64_t)frame->result);
    write_word(out_depth);
    write_all(locals, 8 * n_locals);
    write_all(heap, 8 * heap_len);
    write_all(stack, 8 * out_depth);
    unmap(code, code_map_len);
    unmap(state, state_len);
    return 1;
}

#if defined(__i386__)
/* The kernel enters with %esp 16-byte aligned and no return address. */
__attribute__((force_align_arg_pointer))
#endif
__attribute__((noreturn)) void _start(void) {
    while (serve())
        ;
    die(0);
}
