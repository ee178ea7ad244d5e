#include <stdint.h>

/* Stencils tail-call each other; preserve_none (clang 19+, x86-64 and
   aarch64 only) frees every register for them. */
#if defined(__clang_major__) && __clang_major__ >= 19 && (defined(__x86_64__) || defined(__aarch64__))
#define JIT_CC __attribute__((preserve_none))
#else
#define JIT_CC
#endif

/* A symbol's name as the assembler sees it, with the format's prefix. */
#define JIT_NAME(prefix) JIT_STRING(prefix)
#define JIT_STRING(prefix) #prefix

/* The VM's types, from its stencil ABI. */
#line {{ abi.types_line }} "{{ abi_path }}"
{{ abi.types }}
#line @NEXT_LINE@ "{{ file_name }}"

/* A stack slot holds 64 bits: an i64, the bits of an f64, or a pointer. */
_Static_assert(sizeof({{ abi.slot }}) == 8, "a stack slot holds 64 bits");
static inline __attribute__((unused)) double jit_slot_to_f64({{ abi.slot }} bits) {
    double value;
    __builtin_memcpy(&value, &bits, sizeof value);
    return value;
}
static inline __attribute__((unused)) {{ abi.slot }} jit_f64_to_slot(double value) {
    {{ abi.slot }} bits;
    __builtin_memcpy(&bits, &value, sizeof bits);
    return bits;
}

/* The continuation: the next uop's code, a hidden symbol so the jump is direct. */
extern JIT_CC {{ abi.ret }} _JIT_CONTINUE({{ abi.params }}) __attribute__((visibility("hidden")));
