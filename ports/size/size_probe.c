/* SPDX-License-Identifier: MIT */
/*
 * size_probe.c - the program scripts/size.sh links to measure what the heap
 * costs in flash and RAM once the linker has dropped everything unused
 * (-ffunction-sections, --gc-sections). Never run; only measured.
 *   HK_SIZE_API=1  the core API: init, alloc, free, realloc
 *   HK_SIZE_API=2  every public heap call (calloc, aligned_alloc, regions,
 *                  usable_size, stats, validate, walk) and every fit policy
 *                  compiled in, chosen at run time
 *   HK_SIZE_API=3  a minimal configuration: init, alloc, free, calloc and
 *                  stats on one region (what a FreeRTOS heap port needs)
 * The probe's own code is not counted: size.sh sums only the sections that
 * come from libheapkit.a and libgcc.a.
 */
#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"

void entry(void);

static unsigned char mem[4096] __attribute__((aligned(8)));
volatile size_t sink;
volatile int pick;

#if HK_SIZE_API >= 2
static void walker(void *p, size_t size, bool used, void *ctx)
{
    (void)p;
    (void)used;
    (void)ctx;
    sink += size;
}
#endif

#if HK_SIZE_API == 3
void entry(void)
{
    hk_heap_t *h = hk_heap_init(mem, sizeof mem, NULL);
    void *p = hk_heap_alloc(h, sink);
    void *q = hk_heap_calloc(h, sink, 3);
    hk_stats_t st;
    hk_heap_get_stats(h, &st);
    sink += st.free + st.smallest_free + st.free_blocks;
    hk_heap_free(h, p);
    hk_heap_free(h, q);
}
#else
void entry(void)
{
    hk_heap_config_t cfg = { 0 };
    cfg.fit = (hk_fit_t)pick; /* run time, so every compiled policy stays */
    hk_heap_t *h = hk_heap_init(mem, sizeof mem / 2, &cfg);
    void *p = hk_heap_alloc(h, sink);
    p = hk_heap_realloc(h, p, sink * 2u);
    hk_heap_free(h, p);
#if HK_SIZE_API >= 2
    hk_stats_t st;
    sink += (size_t)hk_heap_add_region(h, mem + sizeof mem / 2, sizeof mem / 2);
    void *q = hk_heap_calloc(h, sink, 3);
    void *r = hk_heap_aligned_alloc(h, 64, sink);
    sink += hk_heap_usable_size(h, q);
    hk_heap_get_stats(h, &st);
    sink += st.used + (size_t)hk_heap_validate(h) + hk_heap_min_size() +
            hk_heap_overhead(sizeof mem, &cfg) + (size_t)hk_heap_fit(h);
    hk_heap_walk(h, walker, NULL);
    hk_heap_free(h, q);
    hk_heap_free(h, r);
#endif
}
#endif
