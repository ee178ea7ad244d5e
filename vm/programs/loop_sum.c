/* Native baseline of loop_sum.uasm: the sum of 0..n, with the checked
   `add_i64` of the VM. */

#include "native.h"

static int64_t loop_sum(int64_t n) {
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i = add_wrapping(i, 1))
        sum = add_i64(sum, i);
    return sum;
}

int main(int argc, char **argv) {
    expect_params(argc, argv, 1, "N");
    int64_t n = param_i64(argv[1], "n");
    uint64_t start = now_ns();
    OPAQUE(n);
    int64_t result = loop_sum(n);
    OPAQUE(result);
    return report(result, start, now_ns());
}
