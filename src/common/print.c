/* SPDX-License-Identifier: MIT */
/*
 * print.c - heapkit's statistics line (heapkit/print.h).
 *
 * Decimal without division: for each power of ten from 10^19 down, count
 * how many times it can be subtracted (at most 9 per digit), so a 64-bit
 * value costs at most 20 * 9 subtractions and the code needs no
 * __aeabi_uldivmod / __udivdi3 on cores without a divider.
 */
#include "common/hk_internal.h"
#include "heapkit/print.h"

static const uint64_t pow10_table[20] = {
    10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
    10000000000000000ull, 1000000000000000ull, 100000000000000ull, 10000000000000ull,
    1000000000000ull, 100000000000ull, 10000000000ull, 1000000000ull, 100000000ull,
    10000000ull, 1000000ull, 100000ull, 10000ull, 1000ull, 100ull, 10ull, 1ull,
};

void hk_print_str(const char *s, hk_putc_fn putc, void *ctx)
{
    if (!s || !putc)
        return;
    while (*s)
        putc(ctx, *s++);
}

void hk_print_u64(uint64_t v, hk_putc_fn putc, void *ctx)
{
    if (!putc)
        return;
    int started = 0;
    for (unsigned i = 0; i < 20; i++) {
        uint64_t p = pow10_table[i];
        char d = '0';
        while (v >= p) {
            v -= p;
            d++;
        }
        if (d != '0' || started || i == 19) {
            putc(ctx, d);
            started = 1;
        }
    }
}

static void field(const char *label, uint64_t v, hk_putc_fn putc, void *ctx)
{
    putc(ctx, ' ');
    hk_print_str(label, putc, ctx);
    putc(ctx, ' ');
    hk_print_u64(v, putc, ctx);
}

void hk_print_stats(const char *name, const hk_stats_t *s, hk_putc_fn putc, void *ctx)
{
    if (!s || !putc)
        return;
    hk_print_str(name ? name : "heapkit", putc, ctx);
    putc(ctx, ':');
    field("total", s->total, putc, ctx);
    field("used", s->used, putc, ctx);
    field("free", s->free, putc, ctx);
    field("largest", s->largest_free, putc, ctx);
    field("smallest", s->smallest_free, putc, ctx);
    field("blocks", s->used_blocks, putc, ctx);
    putc(ctx, '/');
    hk_print_u64(s->free_blocks, putc, ctx);
    field("peak", s->peak_used, putc, ctx);
    field("min-free", s->min_ever_free, putc, ctx);
    field("requested", s->requested, putc, ctx);
    field("allocs", s->allocs, putc, ctx);
    field("frees", s->frees, putc, ctx);
    field("failed", s->failed_allocs, putc, ctx);
    putc(ctx, '\n');
}

void hk_print_heap(const hk_heap_t *h, const char *name, hk_putc_fn putc, void *ctx)
{
    if (!h || !putc)
        return;
    hk_stats_t st;
    hk_heap_get_stats(h, &st);
    hk_print_stats(name, &st, putc, ctx);
}
