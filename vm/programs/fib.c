/* Native baseline of fib.uasm: the n-th Fibonacci number modulo
   1_000_000_007, with the checked `add_i64` and `rem_i64` of the VM. */

#include "native.h"

static int64_t fib(int64_t n) {
    int64_t a = 0;
    int64_t b = 1;
    for (int64_t i = 0; i < n; i = add_wrapping(i, 1)) {
        int64_t sum = add_i64(a, b);
        a = b;
        b = rem_i64(sum, 1000000007);
    }
    return a;
}

int main(int argc, char **argv) {
    expect_params(argc, argv, 1, "N");
    int64_t n = param_i64(argv[1], "n");
    uint64_t start = now_ns();
    OPAQUE(n);
    int64_t result = fib(n);
    OPAQUE(result);
    return report(result, start, now_ns());
}
