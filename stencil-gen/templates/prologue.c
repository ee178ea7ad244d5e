#include <stdint.h>

/* The frame the VM passes to every stencil; see docs/stencil-abi.md. Every
   field takes 8 bytes, so the layout is the same with 4-byte pointers. */
#define JIT_SLOT __attribute__((aligned(8)))
typedef struct vm_frame {
    int64_t *locals JIT_SLOT;
    int64_t *heap JIT_SLOT;
    int64_t heap_len JIT_SLOT;
    int64_t *sp JIT_SLOT;
    int64_t result JIT_SLOT;
} vm_frame;

/* Stencils tail-call each other; preserve_none (clang 19+, x86-64 and
   aarch64 only) frees every register for them. */
#if defined(__clang_major__) && __clang_major__ >= 19 && (defined(__x86_64__) || defined(__aarch64__))
#define JIT_CC __attribute__((preserve_none))
#else
#define JIT_CC
#endif

/* The continuation: the next uop's code, a hidden symbol so the jump is direct. */
extern JIT_CC int64_t _JIT_CONTINUE(vm_frame *frame, int64_t *sp) __attribute__((visibility("hidden")));
