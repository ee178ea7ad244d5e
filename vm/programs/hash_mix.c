/* Native baseline of hash_mix.uasm: folds 0..n into a hash,
   h = vm_hash(h, i) ^ (h >> 17). */

#include "native.h"

static int64_t hash_mix(int64_t n, int64_t seed) {
    int64_t h = seed;
    for (int64_t i = 0; i < n; i = add_wrapping(i, 1))
        h = vm_hash(h, i) ^ shr_i64(h, 17);
    return h;
}

int main(int argc, char **argv) {
    expect_params(argc, argv, 2, "N SEED");
    int64_t n = param_i64(argv[1], "n");
    int64_t seed = param_i64(argv[2], "seed");
    uint64_t start = now_ns();
    OPAQUE(n);
    OPAQUE(seed);
    int64_t result = hash_mix(n, seed);
    OPAQUE(result);
    return report(result, start, now_ns());
}
