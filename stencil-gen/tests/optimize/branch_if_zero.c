/* Pops a condition; jumps to the jump target if it is zero, else
 * continues: the branch to the continuation is inverted. */
#include "stencil.h"

JIT_CC int64_t _JIT_ENTRY(vm_frame *frame, int64_t *sp) {
    if (sp[-1] == 0) {
        JUMP(sp - 1);
    }
    CONTINUE(sp - 1);
}
