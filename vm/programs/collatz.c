/* Native baseline of collatz.uasm: the total Collatz steps to reach 1 from
   every start in 1..=n, with the checked `mul_i64` of the VM. */

#include "native.h"

static int64_t collatz(int64_t n) {
    int64_t total = 0;
    for (int64_t k = 1; !(n < k); k = add_wrapping(k, 1)) {
        int64_t x = k;
        while (x != 1) {
            total = add_wrapping(total, 1);
            if ((x & 1) != 0)
                x = add_wrapping(mul_i64(x, 3), 1);
            else
                x = shr_i64(x, 1);
        }
    }
    return total;
}

int main(int argc, char **argv) {
    expect_params(argc, argv, 1, "N");
    int64_t n = param_i64(argv[1], "n");
    uint64_t start = now_ns();
    OPAQUE(n);
    int64_t result = collatz(n);
    OPAQUE(result);
    return report(result, start, now_ns());
}
