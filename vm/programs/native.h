/* Shared by the native baselines of the benchmark programs (`NAME.c`
   beside `NAME.uasm`): parameters from the command line, the checks the
   VM's uops make, and timing of the kernel alone.

   Each baseline is the program's algorithm written in C with the same
   checks: where a uop deopts (a checked add overflows, a heap index is out
   of bounds), the baseline aborts, as it has no slower path to resume on.
   It prints

       result <the result's 64 bits, as a signed integer>
       time_ns <nanoseconds the kernel took>

   The time is taken with CLOCK_MONOTONIC around the kernel only, so
   process start-up, argument parsing and the heap's allocation are not
   counted (the VM's timings leave them out too). */

#ifndef VM_NATIVE_H
#define VM_NATIVE_H

/* clock_gettime under -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Not every baseline uses every function. */
#define NATIVE_FN static inline __attribute__((unused))

/* The most heap cells a program may have, as in the VM. */
#define MAX_HEAP_CELLS ((int64_t)1 << 27)

/* What the JIT would deopt on: the baseline stops here. */
NATIVE_FN __attribute__((noreturn, cold)) void deopt(const char *uop) {
    fprintf(stderr, "deopt: `%s` would leave the fast path; stopping\n", uop);
    abort();
}

#define DEOPT_IF(cond, uop)                                                   \
    do {                                                                      \
        if (__builtin_expect(!!(cond), 0))                                    \
            deopt(uop);                                                       \
    } while (0)

/* Keeps the compiler from moving work across this point: the value is
   treated as read and rewritten here. The timed region starts and ends
   with one, so the kernel can be neither hoisted above the first clock
   read nor sunk below the second. */
#define OPAQUE(x) __asm__ volatile("" : : "r"(&(x)) : "memory")

NATIVE_FN __attribute__((noreturn)) void usage(const char *program, const char *params) {
    fprintf(stderr, "usage: %s %s\n", program, params);
    exit(2);
}

/* The command line must hold exactly `count` parameters. */
NATIVE_FN void expect_params(int argc, char **argv, int count, const char *params) {
    if (argc != count + 1)
        usage(argv[0], params);
}

NATIVE_FN int64_t param_i64(const char *text, const char *name) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        fprintf(stderr, "error: parameter `%s`: `%s` is not a 64-bit decimal integer\n", name,
                text);
        exit(2);
    }
    return (int64_t)v;
}

NATIVE_FN double param_f64(const char *text, const char *name) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    /* ERANGE on underflow still gives the correctly rounded value. */
    if (end == text || *end != '\0' || (errno == ERANGE && isinf(v))) {
        fprintf(stderr, "error: parameter `%s`: `%s` is not a number\n", name, text);
        exit(2);
    }
    return v;
}

NATIVE_FN uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

NATIVE_FN int report(int64_t result, uint64_t start, uint64_t end) {
    printf("result %" PRId64 "\ntime_ns %" PRIu64 "\n", result, end - start);
    return 0;
}

/* A double's bits, as the VM keeps it in a slot. */
NATIVE_FN int64_t f64_bits(double v) {
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

/* Integer uops (uop-defs/defs/int.uop, stack.uop). */

NATIVE_FN int64_t add_i64(int64_t a, int64_t b) {
    int64_t r;
    DEOPT_IF(__builtin_add_overflow(a, b, &r), "add_i64");
    return r;
}

NATIVE_FN int64_t mul_i64(int64_t a, int64_t b) {
    int64_t r;
    DEOPT_IF(__builtin_mul_overflow(a, b, &r), "mul_i64");
    return r;
}

NATIVE_FN int64_t rem_i64(int64_t a, int64_t b) {
    DEOPT_IF(b == 0 || (a == INT64_MIN && b == -1), "rem_i64");
    return a % b;
}

/* `add_imm` and `inc_local` wrap. */
NATIVE_FN int64_t add_wrapping(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

NATIVE_FN int64_t shr_i64(int64_t a, int64_t b) {
    return a >> (b & 63);
}

/* The VM's `vm_hash` helper (vm/src/helpers.rs). */
NATIVE_FN int64_t vm_hash(int64_t a, int64_t b) {
    uint64_t x = (uint64_t)a * 0x9E3779B97F4A7C15u ^ (uint64_t)b;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9u;
    x ^= x >> 32;
    return (int64_t)x;
}

/* Heap uops (uop-defs/defs/memory.uop): every access is bounds-checked. */

struct heap {
    int64_t *cells;
    int64_t len;
};

/* A zeroed heap of `len` cells, refused as the VM refuses it. */
NATIVE_FN struct heap heap_new(int64_t len, const char *name) {
    if (len < 0 || len > MAX_HEAP_CELLS) {
        fprintf(stderr,
                "error: parameter `%s` sizes the heap and must be 0 to %" PRId64
                ", got %" PRId64 "\n",
                name, MAX_HEAP_CELLS, len);
        exit(2);
    }
    int64_t *cells = calloc(len > 0 ? (size_t)len : 1, sizeof *cells);
    if (cells == NULL) {
        fprintf(stderr, "error: cannot allocate %" PRId64 " heap cells\n", len);
        exit(2);
    }
    return (struct heap){cells, len};
}

NATIVE_FN int heap_index_ok(int64_t k, int64_t len) {
    return (uint64_t)k < (uint64_t)len;
}

NATIVE_FN int64_t heap_cell(const int64_t *heap, const int64_t *p, int64_t i) {
    int64_t base = (int64_t)((intptr_t)((uintptr_t)p - (uintptr_t)heap) >> 3);
    return (int64_t)((uint64_t)base + (uint64_t)i);
}

NATIVE_FN int64_t load_heap(const struct heap *h, int64_t i) {
    DEOPT_IF(!heap_index_ok(i, h->len), "load_heap");
    return h->cells[i];
}

NATIVE_FN void store_heap(struct heap *h, int64_t v, int64_t i) {
    DEOPT_IF(!heap_index_ok(i, h->len), "store_heap");
    h->cells[i] = v;
}

NATIVE_FN int64_t *heap_ptr(struct heap *h, int64_t i) {
    DEOPT_IF((uint64_t)i > (uint64_t)h->len, "heap_ptr");
    return h->cells + i;
}

NATIVE_FN int64_t load_ptr(const struct heap *h, const int64_t *p, int64_t i) {
    int64_t k = heap_cell(h->cells, p, i);
    DEOPT_IF(!heap_index_ok(k, h->len), "load_ptr");
    return h->cells[k];
}

NATIVE_FN void store_ptr(struct heap *h, int64_t v, const int64_t *p, int64_t i) {
    int64_t k = heap_cell(h->cells, p, i);
    DEOPT_IF(!heap_index_ok(k, h->len), "store_ptr");
    h->cells[k] = v;
}

#endif
