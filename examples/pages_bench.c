/* SPDX-License-Identifier: MIT */
/*
 * pages_bench.c - drives the page-frame allocator for instruction counting:
 *     valgrind --tool=callgrind ./hk_example_pages_bench
 *     callgrind_annotate --inclusive=yes callgrind.out.* | grep hk_pages_
 * Inclusive instructions of hk_pages_alloc / hk_pages_free divided by their
 * call counts (printed below) give the cost per call. The workload: 1 GiB of
 * 4 KiB frames described by a PC-like memory map, 4096 live blocks
 * of random orders 0..3, then 200000 random free-and-reallocate steps.
 */
#include <stdio.h>
#include <stdlib.h>

#include "heapkit/pages.h"

#define LIVE 4096

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    unsigned long steps = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000ul;
    int order0 = argc > 2; /* "pages_bench N 0": order 0 only */
    hk_mem_range_t map[] = {
        {0, 0x9fc00, HK_MEM_USABLE},
        {0x100000, (1ull << 30) - 0x100000, HK_MEM_USABLE},
        {0xf0000, 0x10000, HK_MEM_RESERVED},
    };
    hk_pages_config_t c = {0};
    c.map = map;
    c.map_len = 3;
    c.meta_size = hk_pages_meta_size(&c);
    c.meta = malloc(c.meta_size);
    hk_pages_t *p = hk_pages_init(&c);
    if (!p)
        return 1;
    static hk_paddr_t addr[LIVE];
    static unsigned ord[LIVE];
    for (unsigned i = 0; i < LIVE; i++) {
        ord[i] = order0 ? 0u : (unsigned)(next() % 4u);
        addr[i] = hk_pages_alloc(p, ord[i]);
    }
    unsigned long allocs = LIVE, frees = 0;
    for (unsigned long s = 0; s < steps; s++) {
        unsigned i = (unsigned)(next() % LIVE);
        if (addr[i] != HK_PADDR_NONE) {
            hk_pages_free(p, addr[i], ord[i]);
            frees++;
        }
        ord[i] = order0 ? 0u : (unsigned)(next() % 4u);
        addr[i] = hk_pages_alloc(p, ord[i]);
        allocs++;
    }
    int rc = hk_pages_validate(p);
    hk_stats_t st;
    hk_pages_get_stats(p, &st);
    printf("pages_bench: %lu allocs, %lu frees, %zu KiB metadata for %llu frames, validate %d, "
           "%zu MiB used\n",
           allocs, frees, c.meta_size >> 10, (unsigned long long)hk_pages_total_frames(p), rc,
           st.used >> 20);
    free(c.meta);
    return rc != 0;
}
