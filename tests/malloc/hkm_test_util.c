/* SPDX-License-Identifier: MIT */
/*
 * hkm_test_util.c - helpers shared by the malloc test suites (hosted).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>

#include "hkm_test_util.h"
#include "heapkit/malloc.h"

size_t hkm_test_usable(const void *p)
{
#ifdef HKM_TEST_PRELOADED
    /* The allocator is the preloaded libheapkit_malloc.so: find it there. */
    static size_t (*fn)(const void *);
    if (!fn)
        *(void **)&fn = dlsym(RTLD_DEFAULT, "hk_malloc_usable_size");
    return fn ? fn(p) : 0;
#else
    return hk_malloc_usable_size(p);
#endif
}

/* The first 16 KiB of a block carry the pattern in every byte, the rest in
 * the first and last byte of every 512 (enough to see a lost page or a bad
 * copy, cheap for multi-megabyte blocks). Which bytes are covered does not
 * depend on n, so a block checked after a shrinking realloc still matches. */
static int covered(size_t i)
{
    return i < 16384 || (i & 511) == 0 || (i & 511) == 511;
}

static unsigned char pattern(size_t i, unsigned seed)
{
    return (unsigned char)(seed * 31u + i * 7u + (i >> 8));
}

void hkm_test_fill(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (covered(i))
            b[i] = pattern(i, seed);
        else
            i += 510 - (i & 511); /* on to the next covered byte */
    }
}

int hkm_test_check(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (covered(i)) {
            if (b[i] != pattern(i, seed))
                return 0;
        } else {
            i += 510 - (i & 511);
        }
    }
    return 1;
}
