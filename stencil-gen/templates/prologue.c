#include <stdint.h>

/* The frame the VM passes to every stencil; see docs/stencil-abi.md. */
typedef struct vm_frame {
    int64_t *locals;
    int64_t *heap;
    int64_t heap_len;
    int64_t *sp;
    int64_t result;
} vm_frame;

/* Stencils tail-call each other; preserve_none (clang 19+) frees every register for them. */
#if defined(__clang_major__) && __clang_major__ >= 19
#define JIT_CC __attribute__((preserve_none))
#else
#define JIT_CC
#endif

/* The continuation: the next uop's code, a hidden symbol so the jump is direct. */
extern JIT_CC int64_t _JIT_CONTINUE(vm_frame *frame, int64_t *sp) __attribute__((visibility("hidden")));
