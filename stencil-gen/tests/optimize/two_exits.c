/* Two guards that both continue, and a jump target: several jumps to the
 * continuation inside the stencil. */
#include "stencil.h"

JIT_CC int64_t _JIT_ENTRY(vm_frame *frame, int64_t *sp) {
    int64_t a = sp[-2], b = sp[-1];
    if (a == b) {
        CONTINUE(sp - 2);
    }
    if (a < b) {
        sp[-2] = a * 3 + b;
        CONTINUE(sp - 1);
    }
    if (b == 7) {
        JUMP(sp);
    }
    frame->sp = sp;
    return (int64_t)(uintptr_t)_JIT_DEOPT_TARGET;
}
