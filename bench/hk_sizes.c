/* SPDX-License-Identifier: MIT */
/*
 * hk_sizes.c - heapkit's fixed costs on the build's target width: the
 * control structure of an empty heap, and the bytes a block of a given
 * requested size consumes (header and rounding included). Prints
 * `key value` lines for scripts/bench.sh; build it with -m32 for 32-bit.
 *
 * A block's cost is measured, not computed: 64 blocks of the size are
 * allocated in a fresh heap and the growth of hk_stats_t.used (which counts
 * headers) is divided by 64; the spacing of consecutive pointers must agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "heapkit/heap.h"

static unsigned char arena[1 << 20] __attribute__((aligned(64)));

static const size_t sizes[] = {1, 16, 24, 32, 64, 100, 1000};

int main(void)
{
    int bad = 0;
    printf("pointer_bits %u\n", (unsigned)(sizeof(void *) * 8));
    printf("align %u\n", (unsigned)HK_ALIGN);
    printf("min_heap %zu\n", hk_heap_min_size());
    static const size_t spans[] = {4096, 32768, 65536, 1u << 20};
    const char *fits[3] = {"tlsf", "first", "best"};
    for (int f = 0; f < 3; f++) {
        for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
            hk_heap_config_t cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.fit = (hk_fit_t)f;
            printf("overhead_%s_%zu %zu\n", fits[f], spans[i], hk_heap_overhead(spans[i], &cfg));
        }
        /* the largest class table TLSF can have: a span of the whole address space */
        hk_heap_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.fit = (hk_fit_t)f;
        cfg.class_span = SIZE_MAX / 2;
        printf("overhead_%s_max %zu\n", fits[f], hk_heap_overhead(1u << 20, &cfg));
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        hk_heap_t *h = hk_heap_init(arena, sizeof arena, NULL);
        if (!h)
            return 1;
        hk_stats_t s0, s1;
        hk_heap_get_stats(h, &s0);
        void *p[64];
        for (int k = 0; k < 64; k++)
            p[k] = hk_heap_alloc(h, sizes[i]);
        hk_heap_get_stats(h, &s1);
        size_t per = (s1.used - s0.used) / 64;
        /* the distance between neighbours in address order must agree */
        size_t minstep = SIZE_MAX;
        for (int k = 1; k < 64; k++) {
            uintptr_t a = (uintptr_t)p[k - 1], b = (uintptr_t)p[k];
            size_t d = (size_t)(a > b ? a - b : b - a);
            if (d < minstep)
                minstep = d;
        }
        if (minstep != per) {
            fprintf(stderr, "hk-sizes: block of %zu: stats say %zu, pointers %zu apart\n",
                    sizes[i], per, minstep);
            bad = 1;
        }
        printf("block_%zu %zu\n", sizes[i], per);
    }
    return bad;
}
