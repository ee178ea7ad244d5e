/* Runs an emitted AArch64 trace under qemu-aarch64.
 *
 * usage: harness TRACE BASE HELPERS HELPERS_BASE ARG...
 *
 * Maps the bytes of TRACE at address BASE and those of HELPERS at
 * HELPERS_BASE (read + execute), then calls the trace's shim as
 * `int64_t (*)(int64_t)` once per ARG and prints each result on a line. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void load(const char *path, uint64_t address) {
    static unsigned char bytes[1 << 20];
    FILE *file = fopen(path, "rb");
    if (!file) {
        perror(path);
        exit(2);
    }
    size_t len = fread(bytes, 1, sizeof bytes, file);
    fclose(file);
    size_t map_len = (len + 0xffff) & ~(size_t)0xffff;
    void *start = mmap((void *)(uintptr_t)address, map_len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (start != (void *)(uintptr_t)address) {
        perror("mmap");
        exit(2);
    }
    memcpy(start, bytes, len);
    if (mprotect(start, map_len, PROT_READ | PROT_EXEC) != 0) {
        perror("mprotect");
        exit(2);
    }
    __builtin___clear_cache((char *)start, (char *)start + len);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: harness TRACE BASE HELPERS HELPERS_BASE ARG...\n");
        return 2;
    }
    uint64_t base = strtoull(argv[2], NULL, 0);
    load(argv[1], base);
    load(argv[3], strtoull(argv[4], NULL, 0));
    int64_t (*entry)(int64_t) = (int64_t (*)(int64_t))(uintptr_t)base;
    for (int i = 5; i < argc; i++) {
        printf("%lld\n", (long long)entry(strtoll(argv[i], NULL, 0)));
    }
    return 0;
}
