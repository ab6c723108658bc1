/* SPDX-License-Identifier: MIT */
/*
 * test_heap_front.c - the TLSF small-object front (heap_ops.h) keeps every
 * promise of the heap: a freed block of a small size comes straight back,
 * a double free of a parked block is caught, the statistics are exact, an
 * allocation that only parked blocks can satisfy succeeds, and a write
 * after free over a parked block's link is reported and repaired. The
 * tests hold with the front off too (32-bit builds, HK_QUICK_CLASSES 0).
 */
#include "heap/block.h"
#ifndef HK_DBG_EXTRA
#define HK_DBG_EXTRA 0
#endif
#include "heap_test_util.h"

/* The front is sized to the heap (half of it at most): a big heap
 * where the test arena allows, so that the front serves these sizes. */
static hk_heap_t *front_heap(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    /* blocks in allocation order (no top placement): the tests name layouts */
    static const hk_heap_config_t bottom = { .bottom_cut = true };
    return hk_heap_init(mem, sz < ((size_t)1 << 20) ? sz : ((size_t)1 << 20), &bottom);
}

static void test_reuse_and_double_free(void)
{
    hk_heap_t *h = front_heap();
    HK_REQUIRE(h != NULL);
    void *keep = hk_heap_alloc(h, 24); /* a used neighbour on each side */
    void *a = hk_heap_alloc(h, 100);
    void *g = hk_heap_alloc(h, 24);
    HK_REQUIRE(keep && a && g);
    hk_heap_free(h, a);
    hk_test_capture_errors();
    hk_heap_free(h, a); /* parked or free: a double free either way */
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK_EQ(hk_heap_usable_size(h, a), 0); /* not a live block */
    void *b = hk_heap_alloc(h, 100);
    HK_CHECK(b == a); /* the same size comes straight back */
    HK_CHECK_EQ(hk_heap_usable_size(h, b), hk_test_reported(100));
    hk_stats_t s = stats_of(h);
    HK_CHECK_EQ(s.allocs, 4);
    HK_CHECK_EQ(s.frees, 1);
    HK_CHECK_EQ(s.used_blocks, 3);
    HK_CHECK_EQ(s.requested, 2 * hk_test_reported(24) + hk_test_reported(100));
    hk_heap_free(h, b);
    hk_heap_free(h, g);
    hk_heap_free(h, keep);
    s = stats_of(h);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.free_blocks, 1); /* every parked block went back and merged */
    HK_CHECK_EQ(s.largest_free, s.free - HK_W - HK_DBG_EXTRA);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

/* A run of small blocks is freed (parked in the front, not merged) while
 * the rest of the heap is in use: an allocation as big as the run can only
 * be served once the front has given the run back to the block layer. */
static void test_flush_before_failing(void)
{
    hk_heap_t *h = front_heap();
    HK_REQUIRE(h != NULL);
    void *g0 = hk_heap_alloc(h, 40);
    void *p[32];
    for (unsigned i = 0; i < 32; i++)
        HK_REQUIRE((p[i] = hk_heap_alloc(h, 40)) != NULL);
    void *g1 = hk_heap_alloc(h, 40);
    HK_REQUIRE(g0 && g1);
    size_t run = (size_t)((char *)g1 - (char *)p[0]); /* bytes of the 32 blocks */
    size_t rest = stats_of(h).largest_free;
    void *r = hk_heap_alloc(h, rest); /* the rest of the heap, one block */
    HK_REQUIRE(r != NULL);
    hk_heap_free(h, r); /* too big for the front: back in the index */
    for (unsigned i = 0; i < 32; i++)
        hk_heap_free(h, p[i]); /* small and the heap nearly empty: parked */
    r = hk_heap_alloc(h, rest);
    HK_CHECK(r != NULL);
    void *big = hk_heap_alloc(h, run - HK_W - HK_DBG_EXTRA);
    HK_CHECK(big != NULL);
    HK_CHECK(big == p[0]); /* the run, merged back */
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, big);
    hk_heap_free(h, r);
    hk_heap_free(h, g0);
    hk_heap_free(h, g1);
    hk_stats_t s = stats_of(h);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.free_blocks, 1);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

/* A write after free over the link of a freed small block (parked or on a
 * free list): later allocations of that size must not follow it. */
static void test_write_after_free_small(void)
{
    hk_heap_t *h = front_heap();
    HK_REQUIRE(h != NULL);
    void *g0 = hk_heap_alloc(h, 24);
    void *a = hk_heap_alloc(h, 56);
    void *g1 = hk_heap_alloc(h, 24);
    void *b = hk_heap_alloc(h, 56);
    void *g2 = hk_heap_alloc(h, 24);
    HK_REQUIRE(g0 && a && g1 && b && g2);
    hk_heap_free(h, a);
    hk_heap_free(h, b); /* b's link names a */
    hk_test_capture_errors();
    hk_test_memset(b, 0x41, sizeof(void *));
    void *x = hk_heap_alloc(h, 56);
    void *y = hk_heap_alloc(h, 56);
    void *z = hk_heap_alloc(h, 56);
    HK_CHECK(x && y && z && x != y && y != z && x != z);
    HK_CHECK(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, x);
    hk_heap_free(h, y);
    hk_heap_free(h, z);
    hk_heap_free(h, g0);
    hk_heap_free(h, g1);
    hk_heap_free(h, g2);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    HK_CHECK_EQ(stats_of(h).used, 0);
}

/* An overflow from a small block into its free right neighbour's header,
 * then a free of the small block: parking it would touch no neighbour, so
 * the front may take it without looking; the damaged neighbour must still
 * be reported before anything believes it (at the free, or when the front
 * gives the block back, here in hk_heap_validate), and the heap must stay
 * usable with validate telling the truth. */
static void test_parked_next_to_damaged_free(void)
{
    hk_heap_t *h = front_heap();
    HK_REQUIRE(h != NULL);
    void *g0 = hk_heap_alloc(h, 24);
    void *a = hk_heap_alloc(h, 56);
    void *c = hk_heap_alloc(h, 4000); /* above every front size: really freed */
    void *g1 = hk_heap_alloc(h, 24);
    HK_REQUIRE(g0 && a && c && g1);
    const hk_block_t *ab = block_from_payload(a);
    unsigned char *end = (unsigned char *)(uintptr_t)ab + block_size(ab);
    HK_REQUIRE(end == (unsigned char *)c - HK_W); /* a's right neighbour is c */
    hk_heap_free(h, c);
    hk_test_capture_errors();
    hk_test_memset(end, 0x41, 12); /* c's header and the start of its link */
    hk_heap_free(h, a);
    HK_CHECK_EQ(hk_heap_validate(h), HK_ECORRUPT);
    HK_CHECK(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    /* still usable: no fault, no wild write (the memory behind the damaged
     * header is left out of the index, so an allocation may fail) */
    for (unsigned r = 0; r < 4; r++) {
        void *x = hk_heap_alloc(h, 56), *y = hk_heap_alloc(h, 300);
        if (x)
            hk_test_memset(x, 0x5A, 56);
        if (y)
            hk_test_memset(y, 0x5A, 300);
        hk_heap_free(h, x);
        hk_heap_free(h, y);
    }
    HK_CHECK_EQ(hk_heap_usable_size(h, g0), hk_test_reported(24)); /* g1 sits behind the damage */
    HK_CHECK_EQ(hk_heap_validate(h), HK_ECORRUPT); /* the damage is not hidden */
    hk_heap_free(h, g0);
    hk_heap_free(h, g1);
}

/* A run of allocations of one small size in a fresh heap: each time the
 * size's LIFO is empty, HK_QUICK_REFILL blocks are cut at once from the
 * top of the free block, the lowest handed out and the others parked, so
 * the run comes out in address order, one cut below the last; the
 * statistics count only the blocks handed out, and the parked rest merge
 * back when the front is flushed. With the front off (32-bit, the debug
 * levels) each block is cut alone and the statistics hold the same. */
static void test_refill_runs(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_t *h = hk_heap_init(mem, sz < ((size_t)1 << 20) ? sz : ((size_t)1 << 20), NULL);
    HK_REQUIRE(h != NULL);
    enum { R = HK_QUICK_REFILL, N = 2 * R + 1 };
    unsigned char *p[N];
    for (unsigned i = 0; i < N; i++) {
        p[i] = hk_heap_alloc(h, 40);
        HK_REQUIRE(p[i] != NULL);
        hk_test_memset(p[i], (int)i, 40);
    }
    size_t bs = block_size(block_from_payload(p[0]));
    bool refill = HK_QUICK_CLASSES > 0 && HK_DEBUG == 0 && bs <= HK_HEAP_TOP_CUT;
    if (refill) {
        for (unsigned i = 0; i < N; i++) {
            unsigned run = i / R, at = i % R;
            HK_CHECK(p[i] == p[run * R] + at * bs); /* in order inside a run */
            if (run && !at) /* the next cut lies right below the last */
                HK_CHECK(p[i] == p[(run - 1) * R] - R * bs);
        }
        for (unsigned k = 1; k < R; k++) /* the rest of the last cut waits */
            HK_CHECK(block_is_parked_of(block_from_payload(p[N - 1] + k * bs), bs));
    }
    /* the flush frees the parked rest: one free block between used ones */
    size_t rest = refill ? (R - 1) * bs : 0;
    hk_stats_t s = stats_of(h);
    HK_CHECK_EQ(s.used, N * bs);
    HK_CHECK_EQ(s.used_blocks, N);
    HK_CHECK_EQ(s.requested, N * hk_test_reported(40));
    HK_CHECK_EQ(s.free_blocks, refill ? 2u : 1u);
    HK_CHECK_EQ(s.largest_free, s.free - rest - HK_W - HK_DBG_EXTRA);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    for (unsigned i = 0; i < N; i++) {
        for (unsigned j = 0; j < 40; j++)
            HK_CHECK_EQ(p[i][j], i);
        hk_heap_free(h, p[i]);
    }
    s = stats_of(h);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.free_blocks, 1);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

HK_SUITE(heap_front)
{
    HK_RUN(test_refill_runs);
    HK_RUN(test_reuse_and_double_free);
    HK_RUN(test_flush_before_failing);
    HK_RUN(test_write_after_free_small);
    HK_RUN(test_parked_next_to_damaged_free);
}
