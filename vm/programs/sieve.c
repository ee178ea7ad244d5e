/* Native baseline of sieve.uasm: the sum of the primes below n, with the
   sieve of Eratosthenes on a heap of n cells, every access bounds-checked
   as the VM's heap uops check it. heap[i] != 0 marks i composite; each
   prime found is also copied to heap[count]. */

#include "native.h"

static int64_t sieve(struct heap *h, int64_t n) {
    const int64_t *base = heap_ptr(h, 0);
    int64_t count = 0;
    for (int64_t i = 2; i < n; i = add_wrapping(i, 1)) {
        if (load_ptr(h, base, i) != 0)
            continue;
        store_heap(h, i, count);
        count = add_wrapping(count, 1);
        for (int64_t j = mul_i64(i, i); j < n; j = add_i64(j, i))
            store_ptr(h, 1, base, j);
    }
    int64_t sum = 0;
    for (int64_t j = 0; j < count; j = add_wrapping(j, 1))
        sum = add_i64(sum, load_heap(h, j));
    return sum;
}

int main(int argc, char **argv) {
    expect_params(argc, argv, 1, "N");
    int64_t n = param_i64(argv[1], "n");
    struct heap h = heap_new(n, "n");
    uint64_t start = now_ns();
    OPAQUE(n);
    OPAQUE(h);
    int64_t result = sieve(&h, n);
    OPAQUE(result);
    return report(result, start, now_ns());
}
