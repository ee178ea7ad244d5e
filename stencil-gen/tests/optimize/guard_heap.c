/* Loads from the heap, deopting when the index is out of range: the hot
 * block that continues moves last. */
#include "stencil.h"

JIT_CC int64_t _JIT_ENTRY(vm_frame *frame, int64_t *sp) {
    int64_t index = sp[-1];
    if (index < 0 || index >= frame->heap_len) {
        frame->sp = sp;
        return (int64_t)(uintptr_t)_JIT_DEOPT_TARGET;
    }
    sp[-1] = frame->heap[index];
    CONTINUE(sp);
}
