/* SPDX-License-Identifier: MIT */
/*
 * basic.c - a heap on a static array: allocate, free, print statistics.
 */
#include <stdio.h>
#include <string.h>

#include "heapkit/heap.h"

static unsigned char arena[64 * 1024];

static void print_stats(const char *when, const hk_heap_t *h)
{
    hk_stats_t s;
    hk_heap_get_stats(h, &s);
    printf("%-18s used %6zu  free %6zu  largest %6zu  blocks %zu/%zu  frag %u permille\n",
           when, s.used, s.free, s.largest_free, s.used_blocks, s.free_blocks,
           hk_stats_frag_permille(&s));
}

int main(void)
{
    hk_heap_t *h = hk_heap_init(arena, sizeof arena, NULL);
    if (!h) {
        fprintf(stderr, "hk_heap_init failed\n");
        return 1;
    }
    print_stats("empty", h);

    void *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = hk_heap_alloc(h, (size_t)(16 + i * 24));
        memset(p[i], i, (size_t)(16 + i * 24));
    }
    print_stats("64 blocks", h);
    for (int i = 0; i < 64; i += 2)
        hk_heap_free(h, p[i]);
    print_stats("every other freed", h);
    for (int i = 1; i < 64; i += 2)
        hk_heap_free(h, p[i]);
    print_stats("all freed", h);
    return hk_heap_validate(h) == 0 ? 0 : 1;
}
